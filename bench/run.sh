#!/usr/bin/env bash
# Run the benchmarks of docs/performance.md, unlearn next to PyTorch, and write
#   bench/results/<date>-<host>.json   combined results + machine info (small; may be committed)
#   bench/results/latest.md            Markdown tables of ratios (docs/performance.md)
# Usage: bench/run.sh BUILD_DIR [options passed to bench/bench.py, e.g. --only train,fisher --reps 3]
# Environment: BENCH_QUICK=1 (fewer repetitions, smaller work; a few minutes), ARCHS (space-separated
# specs), PYTHON (default /usr/bin/python3), BENCH_NOTE (a sentence for the table header, e.g. load),
# BENCH_TAG (write <date>-<host>-<tag>.json and .md instead, leaving latest.md alone).
# Each row group runs in its own processes (max RSS per group); see bench/bench.py for the groups.
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    [ $# -ge 1 ] && exit 0 || exit 2
fi
BUILD=$1
shift
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
ARCHS=${ARCHS:-"mlp:784-256-128-10 cnn resnet18@w=0.25"}

for b in bench/bench_train bench/bench_gemm unlearn; do
    if [ ! -x "$BUILD/$b" ]; then
        echo "run.sh: $BUILD/$b not found; build first (make, or cmake --build $BUILD)" >&2
        exit 1
    fi
done
if ! "$PYTHON" -c 'import torch, numpy, functorch' 2>/dev/null; then
    echo "run.sh: $PYTHON cannot import torch, functorch and numpy; install python3-torch python3-numpy (make deps)" >&2
    exit 1
fi

OUTDIR="$ROOT/bench/results"
mkdir -p "$OUTDIR"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ul-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
QUICK=()
[ "${BENCH_QUICK:-0}" = 1 ] && QUICK=(--quick)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# OPENBLAS_CORETYPE (recorded in the results) chooses OpenBLAS's kernels for both implementations
# (PyTorch's linear layers use the same OpenBLAS); unset, OpenBLAS detects the CPU.
"$PYTHON" "$HERE/bench.py" --build "$BUILD" --out "$TMP/results.jsonl" --python "$PYTHON" --archs "$ARCHS" \
    ${QUICK[@]+"${QUICK[@]}"} "$@"

HOST=$(hostname -s 2>/dev/null || hostname)
DATE=$(date -u +%Y-%m-%d)
COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    COMMIT="$COMMIT-dirty"
fi
export UL_B_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) UL_B_HOST=$HOST UL_B_COMMIT=$COMMIT UL_B_LOADAVG=$LOADAVG
export UL_B_LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
export UL_B_CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
# nominal clock: lscpu's max MHz where the hypervisor reports it, else BogoMIPS / 2 (the TSC rate)
MHZ=$(lscpu 2>/dev/null | sed -n 's/^CPU max MHz: *//p' | head -1)
[ -z "$MHZ" ] && MHZ=$(lscpu 2>/dev/null | awk -F: '/^BogoMIPS/ { gsub(/ /, "", $2); print $2 / 2; exit }')
export UL_B_MHZ=${MHZ:-0}
export UL_B_NPROC=$(nproc)
export UL_B_KERNEL=$(uname -sr)
export UL_B_CC=$("${CC:-cc}" --version 2>/dev/null | head -1 || echo unknown)
export UL_B_OPENBLAS=$(dpkg-query -W -f='${Version}' libopenblas0-openmp 2>/dev/null || echo unknown)
export UL_B_TORCH_BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
export UL_B_VERSION=$(sed -n 's/^#define UL_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/unlearn/base.h")
export UL_B_QUICK=${BENCH_QUICK:-0} UL_B_NOTE=${BENCH_NOTE:-}
"$PYTHON" - "$TMP/machine.json" <<'PY'
import json, os, sys, platform
import numpy, torch
e = os.environ
m = {"date": e["UL_B_DATE"], "host": e["UL_B_HOST"], "cpu": e["UL_B_CPU"], "nproc": int(e["UL_B_NPROC"]),
     "ghz": round(float(e["UL_B_MHZ"]) / 1000.0, 3), "kernel": e["UL_B_KERNEL"],
     "loadavg": e["UL_B_LOADAVG"] + " (after: " + e["UL_B_LOADAVG_AFTER"] + ")", "git_commit": e["UL_B_COMMIT"],
     "unlearn_version": e["UL_B_VERSION"], "compiler": e["UL_B_CC"], "openblas": e["UL_B_OPENBLAS"],
     "python": platform.python_version(), "torch_version": torch.__version__, "numpy_version": numpy.__version__,
     "torch_blas": e["UL_B_TORCH_BLAS"], "omp_wait_policy": e.get("OMP_WAIT_POLICY", ""),
     "openblas_coretype": e.get("OPENBLAS_CORETYPE", ""),
     "quick": e["UL_B_QUICK"] == "1", "note": e["UL_B_NOTE"]}
with open(sys.argv[1], "w") as f:
    json.dump(m, f)
PY
OUT="$OUTDIR/$DATE-$HOST.json"
MD="$OUTDIR/latest.md"
if [ -n "${BENCH_TAG:-}" ]; then
    OUT="$OUTDIR/$DATE-$HOST-$BENCH_TAG.json"
    MD="$OUTDIR/$DATE-$HOST-$BENCH_TAG.md"
fi
"$PYTHON" "$HERE/summarize.py" --machine "$TMP/machine.json" --results "$TMP/results.jsonl" \
    --json "$OUT" --md "$MD"
echo "wrote $OUT and $MD" >&2
cat "$MD"
