#!/usr/bin/env bash
# Makespan of a FIUn request spread over MPI ranks (docs/scaling.md): builds (or reuses) the 50-model
# `dag` scenario with a small model on Fashion-MNIST, then runs the same committed request (label 3)
# on a fresh copy of the network with 1, 2 and 4 ranks (1 OpenMP thread per rank; 4 ranks
# oversubscribe a 2-core machine) and one process without MPI, REPS times each, in two settings:
# "cached" (the default Fisher: every I_D and I_f from the per-class sums cached at build time) and
# "scope-all" (--scope all: every I_D recomputed with backward passes over the model's own data, the
# roots' I_f too, then broadcast). Prints one row per (setting, ranks): median makespan of the
# per-model phase, roots' Fisher phase, request total and mpirun's wall time; checks that every
# run wrote the same checkpoints. Also times `net build --mpi` of the network with 1, 2, 4 ranks.
# Usage: bench/mpi_fiun.sh BUILD_DIR [OUT_DIR] > table.md   (BUILD_DIR from `make mpi`: build-mpi; OUT_DIR
# [bench/results/mpi-fiun, git-ignored] holds the network, its copies and the results JSON)
# Env: ARCH [mlp:784-128-10], MAXS [2000], EPOCHS [1], LABEL [3], REPS [3], DATA [fashion-mnist].
set -euo pipefail
build=${1:?usage: bench/mpi_fiun.sh BUILD_DIR [OUT_DIR]}
out=${2:-bench/results/mpi-fiun}
arch=${ARCH:-mlp:784-128-10}
maxs=${MAXS:-2000}
epochs=${EPOCHS:-1}
label=${LABEL:-3}
reps=${REPS:-3}
data=${DATA:-fashion-mnist}
cli="$build/unlearn"
mpirun=${MPIRUN:-mpirun}
cores=$(env -u OMP_NUM_THREADS nproc)
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1
mpi() { "$mpirun" --oversubscribe --allow-run-as-root -x OMP_WAIT_POLICY -x OMP_NUM_THREADS -np "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
mkdir -p "$out"
net="$out/dag50"
echo "# bench/mpi_fiun.sh on $(hostname): $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "# network: dag, 50 models, $arch, $data, --max-samples $maxs --epochs $epochs; request --labels $label"
if [ ! -f "$net/umig.db" ]; then
  t0=$(now)
  "$cli" net build "$net" --scenario dag --depth 50 --data "$data" --arch "$arch" --max-samples "$maxs" \
    --epochs "$epochs" --seed 1 --threads 2 --quiet >/dev/null
  echo "# built in $(since "$t0") s (one process, 2 threads)"
fi

# net build --mpi: the waves of models whose parents are registered, 1 thread per rank
echo
echo "| net build | ranks | wall s |"
echo "|---|---|---|"
for np in 1 2 4; do
  rm -rf "$out/build-np$np"
  t0=$(now)
  mpi "$np" "$cli" net build "$out/build-np$np" --scenario dag --depth 50 --data "$data" --arch "$arch" \
    --max-samples "$maxs" --epochs "$epochs" --seed 1 --threads 1 --quiet --mpi >/dev/null
  echo "| dag 50 | $np | $(since "$t0") |"
  cmp <("$cli" net show "$net" --json) <("$cli" net show "$out/build-np$np" --json) >/dev/null ||
    { echo "net build --mpi -np $np differs from the one-process build" >&2; exit 1; }
  rm -rf "$out/build-np$np"
done
/usr/bin/python3 - "$net" "$cli" <<'PY'
import json, subprocess, sys
ms = json.loads(subprocess.check_output([sys.argv[2], "net", "show", sys.argv[1], "--json"]))
idx = {m["name"]: i for i, m in enumerate(ms)}
par = [[idx[p] for p in m["parents"]] for m in ms]
made, nxt, widths = [False] * len(ms), 0, []
while nxt < len(ms):
    ready = [i for i in range(nxt, len(ms)) if not made[i] and all(p < nxt for p in par[i])]
    for i in ready: made[i] = True
    while nxt < len(ms) and made[nxt]: nxt += 1
    widths.append(len(ready))
level = []
for i in range(len(ms)): level.append(1 + max([level[p] for p in par[i]], default=-1))
print("# net build: %d waves for %d models (widest %d); %d topological levels" % (len(widths), len(ms), max(widths),
      max(level) + 1))
PY

# forget: one committed request per run, on a fresh copy of the network (copy not timed)
run_one() { # setting np|single rep args...
  local name=$1 np=$2 rep=$3; shift 3
  local copy="$out/run" res="$out/$name-$np-$rep.json"
  rm -rf "$copy"; cp -r "$net" "$copy"
  local t0; t0=$(now)
  if [ "$np" = single ]; then "$cli" forget "$copy" --labels "$label" -q --threads 1 "$@" -o "$res"
  else mpi "$np" "$cli" forget "$copy" --labels "$label" -q --threads 1 --mpi "$@" -o "$res"; fi
  since "$t0" > "$res.wall"
}
summ() { /usr/bin/python3 - "$out" "$1" "$reps" <<'PY'
import json, statistics, sys
out, name, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
ref = None
for np in ["single", "1", "2", "4"]:
    rows = []
    for rep in range(1, reps + 1):
        d = json.load(open("%s/%s-%s-%d.json" % (out, name, np, rep)))
        after = [(a["model"], a["after"]) for a in d["affected"]]
        ref = ref or after
        if after != ref: sys.exit("%s -np %s: checkpoints differ from the first run" % (name, np))
        t = d["timings"]
        rows.append((t["makespan_seconds"], t["roots_fisher_seconds"], t["total_seconds"], t["sum_seconds"],
                     float(open("%s/%s-%s-%d.json.wall" % (out, name, np, rep)).read())))
    med = [statistics.median(c) for c in zip(*rows)]
    print("| %s | %s | %d | %.3f | %.3f | %.3f | %.3f | %.2f |" % (name, "no MPI" if np == "single" else np,
          len(ref), med[0], med[1], med[3], med[2], med[4]))
PY
}
echo
echo "| setting | ranks | models | makespan s | roots' Fisher s | sum of per-model s | request total s | wall s |"
echo "|---|---|---|---|---|---|---|---|"
for setting in "cached" "scope-all --scope all"; do
  name=${setting%% *}; args=""; [ "$name" != "$setting" ] && args=${setting#* }
  for rep in $(seq 1 "$reps"); do
    for np in single 1 2 4; do run_one "$name" "$np" "$rep" $args; done
  done
  summ "$name"
done
rm -rf "$out/run"
