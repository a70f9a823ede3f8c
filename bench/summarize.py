#!/usr/bin/python3
"""Combine bench_train and torch_peer.py outputs into one small JSON file and a Markdown table.

Usage: summarize.py --machine MACHINE.json --ours OURS.jsonl --torch TORCH.jsonl
                    --json OUT.json --md OUT.md

OURS/TORCH hold one JSON object per line (per arch) as bench_train / torch_peer.py print them.
The combined JSON keeps medians, min, max and the individual runs; the Markdown table has one row
per arch and metric: ours median [min-max], PyTorch median [min-max], ratio of the medians
ours/PyTorch (> 1 means unlearn is faster) and max RSS of each process. Standard library only.
"""
import argparse
import json
import sys

METRICS = [("train_samples_per_s", "training samples/s"), ("infer_samples_per_s", "inference samples/s")]
KEEP = ("version", "params", "batches", "warmup", "reps", "threads", "batch", "final_loss", "max_rss_mib",
        "train_samples_per_s", "infer_samples_per_s")


def read_jsonl(path):
    out = {}
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit("summarize.py: %s:%d: not JSON (%s)" % (path, ln, e))
            out[obj["arch"]] = obj
    return out


def fmt_rate(s):
    return "%s [%s-%s]" % (fmt_num(s["median"]), fmt_num(s["min"]), fmt_num(s["max"]))


def fmt_num(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--machine", required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()
    with open(a.machine) as f:
        machine = json.load(f)
    ours, peer = read_jsonl(a.ours), read_jsonl(a.torch)
    archs = list(ours) + [k for k in peer if k not in ours]

    results = []
    for arch in archs:
        row = {"arch": arch}
        for name, src in (("unlearn", ours), ("pytorch", peer)):
            if arch in src:
                row[name] = {k: src[arch][k] for k in KEEP if k in src[arch]}
        for key, _ in METRICS:
            if arch in ours and arch in peer:
                row[key + "_ratio"] = round(ours[arch][key]["median"] / peer[arch][key]["median"], 3)
        results.append(row)
    combined = {"machine": machine, "dataset": "fashion-mnist (train split)", "results": results}
    with open(a.json, "w") as f:
        json.dump(combined, f, indent=1)
        f.write("\n")

    m = dict(machine)
    first = next((src[k] for src in (ours, peer) for k in src), {})
    for k in ("threads", "batch", "reps"):
        m.setdefault(k, first.get(k, "?"))
    lines = [
        "# Benchmark: unlearn vs PyTorch",
        "",
        "%s; %s cores, %s threads; %s; unlearn %s (commit %s), PyTorch %s. Load average before the run: %s."
        % (m.get("date", "?"), m.get("nproc", "?"), m.get("threads", "?"), m.get("cpu", "?"),
           m.get("unlearn_version", "?"), m.get("git_commit", "?"), m.get("torch_version", "?"),
           m.get("loadavg", "?")),
        "",
        "Fashion-MNIST train split, batch %s, median [min-max] of %s repetitions. Ratio = ours / PyTorch "
        "(medians; above 1 means unlearn is faster). Max RSS per process in MiB."
        % (m.get("batch", "?"), m.get("reps", "?")),
        "",
        "| arch | metric | ours median [min-max] | PyTorch median [min-max] | ours/PyTorch | max RSS ours / PyTorch |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for key, label in METRICS:
            o, p = r.get("unlearn"), r.get("pytorch")
            ratio = r.get(key + "_ratio")
            lines.append("| `%s` | %s | %s | %s | %s | %s / %s |" % (
                r["arch"], label, fmt_rate(o[key]) if o else "-", fmt_rate(p[key]) if p else "-",
                "%.2f" % ratio if ratio is not None else "-",
                "%.0f" % o["max_rss_mib"] if o else "-", "%.0f" % p["max_rss_mib"] if p else "-"))
    lines.append("")
    with open(a.md, "w") as f:
        f.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
