#!/usr/bin/python3
"""Turn bench.py's JSON lines into one small JSON file and a Markdown report of ratios.

Usage: summarize.py --machine MACHINE.json --results RESULTS.jsonl --json OUT.json --md OUT.md

RESULTS holds one object per row group as bench/bench.py writes them (groups train, fisher,
fiun-build, fiun, gemm). The combined JSON keeps medians, min, max and the individual runs of
every measurement; the Markdown has one table per group: ours median [min-max], the reference's,
the ratio of the medians (ours / PyTorch, > 1 means unlearn is faster; for GEMM rows the fraction
of the peak or of OpenBLAS) and the max RSS of each process in MiB. Standard library only.
"""
import argparse
import json
import sys

TRAIN_METRICS = [("train_samples_per_s", "training samples/s"), ("infer_samples_per_s", "inference samples/s")]
# targets of issue 6 (ours / PyTorch, medians)
TARGETS = {("train", "mlp"): 3.0, ("train", "cnn"): 2.0, ("train", "resnet18"): 1.2,
           ("infer", "mlp"): 3.0, ("infer", "cnn"): 3.0, ("infer", "resnet18"): 3.0,
           ("fisher", "last"): 100.0, ("fisher", "all"): 10.0}
FIUN_TARGET = 1.8
LAYER_TARGET = 0.6


def family(arch):
    return arch.split(":")[0].split("@")[0]


def fnum(v):
    return "%.0f" % v if abs(v) >= 100 else "%.1f" % v if abs(v) >= 10 else "%.2f" % v if abs(v) >= 1 else "%.3f" % v


def frate(s):
    return "%s [%s-%s]" % (fnum(s["median"]), fnum(s["min"]), fnum(s["max"]))


def fratio(r, target):
    if r is None:
        return "-"
    mark = "" if target is None else (" (target %s: %s)" % (fnum(target), "met" if r >= target else "missed"))
    return "%.2f%s" % (r, mark)


def read_jsonl(path):
    out = []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit("summarize.py: %s:%d: not JSON (%s)" % (path, ln, e))
    return out


def peak(machine):
    """Theoretical single-precision FMA peak (GFLOP/s) of the machine at its nominal clock:
    cores x GHz x FMA units x 8 lanes (AVX2, 256-bit) x 2 flops per FMA."""
    cores, ghz = machine.get("nproc"), machine.get("ghz")
    if not cores or not ghz:
        return None
    return cores * ghz * 2 * 8 * 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--machine", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()
    with open(a.machine) as f:
        m = json.load(f)
    rows = read_jsonl(a.results)
    pk = peak(m)
    for r in rows:  # ratios of the medians
        if r["group"] == "train":
            for key, _ in TRAIN_METRICS:
                r[key + "_ratio"] = round(r["ours"][key]["median"] / r["peers"]["pytorch"][key]["median"], 3)
        elif r["group"] == "fisher":
            r["ratios"] = {k: round(r["ours"]["fisher_samples_per_s"]["median"] / v["fisher_samples_per_s"]["median"], 3)
                           for k, v in r["peers"].items()}
        elif r["group"] == "fiun":
            ms = r["makespan_s"]
            r["speedup"] = round(ms["1"]["median"] / ms["2"]["median"], 3)
    with open(a.json, "w") as f:
        json.dump({"machine": m, "theoretical_peak_gflops": pk, "results": rows}, f, indent=1)
        f.write("\n")

    first = next((r["ours"] for r in rows if r["group"] == "train"), {})
    L = ["# Benchmark: unlearn vs PyTorch", "",
         "%s; %s cores, %s threads; %s; unlearn %s (commit %s), PyTorch %s; OPENBLAS_CORETYPE=%s%s. "
         "Load average before the run: %s.%s"
         % (m.get("date", "?"), m.get("nproc", "?"), first.get("threads", "?"), m.get("cpu", "?"),
            m.get("unlearn_version", "?"), m.get("git_commit", "?"), m.get("torch_version", "?"),
            m.get("openblas_coretype") or "(unset)", ", quick mode" if m.get("quick") else "",
            m.get("loadavg", "?"), " " + m["note"] if m.get("note") else ""),
         "",
         "Median [min-max] over the repetitions; each repetition of ours ran right before the PyTorch one(s) "
         "(bench/bench.py, --lockstep). Ratio = ours / reference (medians; above 1 means unlearn is faster). "
         "Max RSS per process in MiB.", ""]

    tr = [r for r in rows if r["group"] == "train"]
    if tr:
        L += ["## Training and inference (Fashion-MNIST, batch %s)" % tr[0]["ours"].get("batch", "?"), "",
              "| arch | metric | ours median [min-max] | PyTorch median [min-max] | ours/PyTorch | max RSS ours / PyTorch |",
              "|---|---|---|---|---|---|"]
        for r in tr:
            o, p = r["ours"], r["peers"]["pytorch"]
            for key, label in TRAIN_METRICS:
                tgt = TARGETS.get((key.split("_")[0], family(r["arch"])))
                L.append("| `%s` | %s | %s | %s | %s | %.0f / %.0f |" % (
                    r["arch"], label, frate(o[key]), frate(p[key]), fratio(r[key + "_ratio"], tgt),
                    o["max_rss_mib"], p["max_rss_mib"]))
        L.append("")

    fi = [r for r in rows if r["group"] == "fisher"]
    if fi:
        L += ["## Per-sample diagonal Fisher (samples/s, untrained model, eval mode, batch %s)"
              % fi[0]["ours"].get("batch", "?"), "",
              "| arch | scope | ours | PyTorch loop | functorch vmap | ours/loop | ours/vmap | max RSS ours / loop / vmap |",
              "|---|---|---|---|---|---|---|---|"]
        for r in fi:
            o, lp, vm = r["ours"], r["peers"]["pytorch loop"], r["peers"]["functorch vmap"]
            tgt = TARGETS.get(("fisher", r["scope"]))
            L.append("| `%s` | %s | %s | %s | %s | %s | %s | %.0f / %.0f / %.0f |" % (
                r["arch"], r["scope"], frate(o["fisher_samples_per_s"]), frate(lp["fisher_samples_per_s"]),
                frate(vm["fisher_samples_per_s"]), fratio(r["ratios"]["pytorch loop"], tgt),
                fratio(r["ratios"]["functorch vmap"], tgt), o["max_rss_mib"], lp["max_rss_mib"], vm["max_rss_mib"]))
        L.append("")

    fu = [r for r in rows if r["group"] == "fiun"]
    fb = next((r for r in rows if r["group"] == "fiun-build"), None)
    if fu:
        L += ["## FIUn on the 50-model dag network (makespan of the per-model phase, s)", ""]
        if fb:
            L += ["Network `%s`: `net build --scenario dag --depth 50 --arch %s --max-samples %s --epochs 1 "
                  "--seed 1` (this run: %.1f s, 0 when reused). Request: `forget --labels 3 --dry-run`." % (
                      fb["network"], fb["arch"], fb["max_samples"], fb["wall_s"]), ""]
        L += ["| setting | affected models | 1 thread | 2 threads | speedup 1->2 (per-rep min-max) | max RSS 1 / 2 threads |",
              "|---|---|---|---|---|---|"]
        for r in fu:
            ms, sp = r["makespan_s"], r["speedup_runs"]
            L.append("| %s | %d | %s | %s | %s [%.2f-%.2f] | %.0f / %.0f |" % (
                r["setting"], r["models"], frate(ms["1"]), frate(ms["2"]), fratio(r["speedup"], FIUN_TARGET),
                min(sp), max(sp), r["max_rss_mib"]["1"], r["max_rss_mib"]["2"]))
        L.append("")

    sg = [r for r in rows if r["group"] == "gemm" and r["task"] == "sgemm"]
    if sg:
        L += ["## OpenBLAS sgemm (GFLOP/s)", ""]
        if pk:
            L += ["Theoretical peak at the nominal clock: %d cores x %.2f GHz x 2 FMA units x 8 lanes (AVX2) x 2 "
                  "= %.1f GFLOP/s (%.1f per core); see docs/performance.md for why the measured figure can "
                  "exceed it." % (m["nproc"], m["ghz"], pk, pk / m["nproc"]), ""]
        L += ["| n | threads | OpenBLAS core | GFLOP/s | fraction of peak (same cores) | max RSS |", "|---|---|---|---|---|---|"]
        for r in sg:
            frac = r["gflops"]["median"] / (pk / m["nproc"] * r["threads"]) if pk else None
            L.append("| %d | %d | %s | %s | %s | %.0f |" % (r["n"], r["threads"], r["openblas_core"], frate(r["gflops"]),
                                                            fratio(frac, None), r["max_rss_mib"]))
        L.append("")
    ly = [r for r in rows if r["group"] == "gemm" and r["task"] == "layer"]
    if ly:
        L += ["## Per layer: forward + backward vs OpenBLAS sgemm on the same GEMM shapes (GFLOP/s, batch %s, %s threads)"
              % (ly[0]["batch"], ly[0]["threads"]), "",
              "| arch | layer | MFLOP | ours | sgemm | ours/sgemm |", "|---|---|---|---|---|---|"]
        for r in ly:
            L.append("| `%s` | %s | %.0f | %s | %s | %s |" % (r["arch"], r["layer"], r["mflop"], frate(r["ours_gflops"]),
                                                            frate(r["sgemm_gflops"]),
                                                            fratio(r["ratio"]["median"], LAYER_TARGET)))
        L.append("")
    with open(a.md, "w") as f:
        f.write("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
