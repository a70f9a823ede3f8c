#!/usr/bin/python3
"""Run every benchmark row group of docs/performance.md and write one JSON lines file.

Usage: bench.py --build BUILD_DIR --out OUT.jsonl [--quick] [--only GROUPS] [--reps R] [--threads T]

Row groups (each runs in its own processes, so max RSS is per group and implementation):
  train   training + inference samples/s of each arch: bench_train and torch_peer.py
  fisher  per-sample diagonal Fisher samples/s, scopes last and all: bench_train --task fisher,
          torch_peer.py --task fisher --variant loop and --variant vmap
  fiun    FIUn makespan on a 50-model dag network with 1 and 2 threads (unlearn forget --dry-run);
          the network is built once and cached under bench/results/fiun-nets/ (git-ignored)
  gemm    OpenBLAS sgemm GFLOP/s (n=2048, 1..T threads) and per-layer conv/linear GEMM throughput
Interleaving: the processes of one group start together and run with --lockstep. Each prints
{"wait": r} when ready for repetition r and blocks on stdin; the driver then lets them run one at a
time (ours, then the PyTorch variants), so every repetition of ours sits next to one of PyTorch's
under the same machine load. The FIUn runs alternate 1 and 2 threads per repetition. Standard
library only; summarize.py turns the output into the table.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ARCHS = ["mlp:784-256-128-10", "cnn", "resnet18@w=0.25"]
# fisher samples per repetition (ours, loop, vmap), by arch and scope; about a second each on an idle
# 2-core machine
FISHER_SAMPLES = {
    ("mlp", "last"): (32768, 1024, 4096), ("mlp", "all"): (16384, 512, 1024),
    ("cnn", "last"): (8192, 256, 1024), ("cnn", "all"): (2048, 128, 256),
    ("resnet18", "last"): (2048, 64, 256), ("resnet18", "all"): (256, 32, 64),
}
TRAIN_BATCHES = {"mlp": 100, "cnn": 20, "resnet18": 8}


def log(msg):
    sys.stderr.write("bench.py: %s\n" % msg)
    sys.stderr.flush()


def read_until(p, key):
    """Read p's stdout lines until a JSON object with `key`; returns it (None at EOF)."""
    while True:
        line = p.stdout.readline()
        if not line:
            return None
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            if key in obj:
                return obj


def lockstep(cmds, reps, env):
    """Start every command (each run with --lockstep), wait until all are ready, then run the
    repetitions one process at a time in the order given. Returns each process's final JSON object
    (the last line with "impl")."""
    procs = [subprocess.Popen(c, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
             for c in cmds]
    try:
        for r in range(reps):
            for p, c in zip(procs, cmds):
                if read_until(p, "wait") is None:
                    raise RuntimeError("%s exited before repetition %d" % (" ".join(c), r + 1))
            for p, c in zip(procs, cmds):
                p.stdin.write("go\n")
                p.stdin.flush()
                if read_until(p, "rep") is None:
                    raise RuntimeError("%s failed in repetition %d" % (" ".join(c), r + 1))
        out = []
        for p, c in zip(procs, cmds):
            p.stdin.close()
            final = read_until(p, "impl")
            if p.wait() != 0 or final is None:
                raise RuntimeError("%s failed (exit %s)" % (" ".join(c), p.returncode))
            out.append(final)
        return out
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def family(arch):
    return arch.split(":")[0].split("@")[0]


def group_train(a, emit, env):
    for arch in a.archs:
        k = TRAIN_BATCHES[family(arch)]
        if a.quick:
            k = max(2, k // 4)
        common = ["--arch", arch, "--threads", str(a.threads), "--reps", str(a.reps), "--batches", str(k),
                  "--lockstep"]
        log("train %s (%d reps, %d batches)" % (arch, a.reps, k))
        res = lockstep([[a.bench_train] + common, [a.python, os.path.join(HERE, "torch_peer.py")] + common],
                       a.reps, env)
        emit({"group": "train", "arch": arch, "ours": res[0], "peers": {"pytorch": res[1]}})


def group_fisher(a, emit, env):
    for arch in a.archs:
        for scope in ("last", "all"):
            so, sl, sv = FISHER_SAMPLES[(family(arch), scope)]
            if a.quick:
                so, sl, sv = max(128, so // 4), max(16, sl // 4), max(32, sv // 4)
            common = ["--arch", arch, "--threads", str(a.threads), "--reps", str(a.reps), "--task", "fisher",
                      "--scope", scope, "--lockstep"]
            peer = [a.python, os.path.join(HERE, "torch_peer.py")] + common
            log("fisher %s %s (%d reps)" % (arch, scope, a.reps))
            res = lockstep([[a.bench_train] + common + ["--samples", str(so)],
                            peer + ["--variant", "loop", "--samples", str(sl)],
                            peer + ["--variant", "vmap", "--samples", str(sv)]], a.reps, env)
            emit({"group": "fisher", "arch": arch, "scope": scope, "ours": res[0],
                  "peers": {"pytorch loop": res[1], "functorch vmap": res[2]}})


def run_timed(cmd, env):
    """Run cmd; returns (wall seconds, max RSS MiB of the child)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d)" % (" ".join(cmd), p.returncode))
    return wall, ru.ru_maxrss / 1024.0


def stats(v):
    s = sorted(v)
    n = len(s)
    med = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    return {"median": round(med, 4), "min": round(s[0], 4), "max": round(s[-1], 4), "runs": [round(x, 4) for x in v]}


def group_fiun(a, emit, env):
    cli = os.path.join(a.build, "unlearn")
    net = os.path.join(ROOT, "bench", "results", "fiun-nets", "bench-dag50-%s" % a.fiun_arch.replace(":", "_"))
    build_cmd = [cli, "net", "build", net, "--scenario", "dag", "--depth", "50", "--data", "fashion-mnist",
                 "--arch", a.fiun_arch, "--max-samples", str(a.fiun_samples), "--epochs", "1", "--seed", "1",
                 "--threads", str(a.threads), "--quiet"]
    log("fiun: building or reusing %s" % net)
    wall, rss = run_timed(build_cmd, env)  # resumes: a finished network is only checked
    emit({"group": "fiun-build", "network": os.path.relpath(net, ROOT), "arch": a.fiun_arch,
          "max_samples": a.fiun_samples, "wall_s": round(wall, 2), "max_rss_mib": round(rss, 1)})
    tmp = os.path.join(a.build, "bench-fiun")
    os.makedirs(tmp, exist_ok=True)
    for setting, extra in (("default (scope last, cached Fisher)", []), ("scope all", ["--scope", "all"])):
        runs = {1: [], 2: []}
        rss = {1: 0.0, 2: 0.0}
        for r in range(a.fiun_reps):
            for t in (1, 2):
                res = os.path.join(tmp, "fiun-%d.json" % t)
                _, m = run_timed([cli, "forget", net, "--labels", "3", "--dry-run", "-q", "--threads", str(t),
                                  "-o", res] + extra, env)
                with open(res) as f:
                    d = json.load(f)
                runs[t].append(d["timings"]["makespan_seconds"])
                rss[t] = max(rss[t], m)
                log("fiun %s threads %d rep %d/%d: makespan %.3f s" % (setting, t, r + 1, a.fiun_reps, runs[t][-1]))
        emit({"group": "fiun", "setting": setting, "arch": a.fiun_arch, "models": len(d.get("affected", [])),
              "makespan_s": {str(t): stats(runs[t]) for t in runs},
              "speedup_runs": [round(x / y, 3) for x, y in zip(runs[1], runs[2])],
              "max_rss_mib": {str(t): round(rss[t], 1) for t in rss}})


def group_gemm(a, emit, env):
    cmd = [a.bench_gemm, "--n", "1024" if a.quick else "2048", "--threads", str(a.threads), "--reps", str(a.reps)]
    for arch in a.archs:
        cmd += ["--arch", arch]
    log("gemm: %s" % " ".join(cmd))
    out = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True).stdout
    rows = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    rss = next((r["max_rss_mib"] for r in rows if r["task"] == "rss"), None)
    for r in rows:
        if r["task"] != "rss":
            r["max_rss_mib"] = rss
            emit(dict(r, group="gemm"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="build directory with bench/bench_train, bench/bench_gemm, unlearn")
    ap.add_argument("--out", required=True, help="JSON lines output")
    ap.add_argument("--python", default=os.environ.get("PYTHON", "/usr/bin/python3"))
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and smaller work (BENCH_QUICK=1)")
    ap.add_argument("--only", default="train,fisher,fiun,gemm", help="comma-separated groups [%(default)s]")
    ap.add_argument("--archs", default=" ".join(ARCHS), help="space-separated archs [%(default)s]")
    ap.add_argument("--reps", type=int, default=0, help="repetitions [5, quick 3]")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fiun-arch", default="mlp:784-128-10")
    ap.add_argument("--fiun-samples", type=int, default=2000, help="net build --max-samples [%(default)s]")
    a = ap.parse_args()
    a.archs = a.archs.split()
    a.reps = a.reps or (3 if a.quick else 5)
    a.fiun_reps = a.reps
    a.build = os.path.abspath(a.build)
    a.bench_train = os.path.join(a.build, "bench", "bench_train")
    a.bench_gemm = os.path.join(a.build, "bench", "bench_gemm")
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    groups = {"train": group_train, "fisher": group_fisher, "fiun": group_fiun, "gemm": group_gemm}
    with open(a.out, "a") as f:
        def emit(obj):
            f.write(json.dumps(obj) + "\n")
            f.flush()
        for g in a.only.split(","):
            if g not in groups:
                sys.exit("bench.py: unknown group '%s' (known: %s)" % (g, ", ".join(groups)))
            t0 = time.perf_counter()
            groups[g](a, emit, env)
            log("%s done in %.0f s" % (g, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
