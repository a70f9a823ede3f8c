#!/usr/bin/env bash
# Run the training/inference benchmark for unlearn (bench_train) and PyTorch (torch_peer.py) side by
# side and write
#   bench/results/<date>-<host>.json   combined results + machine info (small; may be committed)
#   bench/results/latest.md            Markdown table (docs/performance.md, "Latest results")
# Usage: bench/run.sh BUILD_DIR [options passed to both, e.g. --threads 1 --reps 5 --batches 10]
# Environment: ARCHS (space-separated specs), PYTHON (default /usr/bin/python3).
# Each arch runs in its own process per implementation, so max RSS is per arch.
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    [ $# -ge 1 ] && exit 0 || exit 2
fi
BUILD=$1
shift
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
ARCHS=${ARCHS:-"mlp:784-256-128-10 cnn resnet18@w=0.25"}
BENCH="$BUILD/bench/bench_train"

if [ ! -x "$BENCH" ]; then
    echo "run.sh: $BENCH not found; build first (make, or cmake --build $BUILD)" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
    echo "run.sh: $PYTHON cannot import torch and numpy; install python3-torch python3-numpy (make deps)" >&2
    exit 1
fi

OUTDIR="$ROOT/bench/results"
mkdir -p "$OUTDIR"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ul-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
: > "$TMP/ours.jsonl"
: > "$TMP/torch.jsonl"

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
for arch in $ARCHS; do
    echo "== $arch: unlearn" >&2
    "$BENCH" --arch "$arch" "$@" >> "$TMP/ours.jsonl"
    echo "== $arch: PyTorch" >&2
    "$PYTHON" "$HERE/torch_peer.py" --arch "$arch" "$@" >> "$TMP/torch.jsonl"
done

HOST=$(hostname -s 2>/dev/null || hostname)
DATE=$(date -u +%Y-%m-%d)
COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    COMMIT="$COMMIT-dirty"
fi
export UL_B_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) UL_B_HOST=$HOST UL_B_COMMIT=$COMMIT UL_B_LOADAVG=$LOADAVG
export UL_B_CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
export UL_B_NPROC=$(nproc)
export UL_B_KERNEL=$(uname -sr)
export UL_B_CC=$("${CC:-cc}" --version 2>/dev/null | head -1 || echo unknown)
export UL_B_OPENBLAS=$(dpkg-query -W -f='${Version}' libopenblas0-openmp 2>/dev/null || echo unknown)
export UL_B_TORCH_BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
export UL_B_VERSION=$(sed -n 's/^#define UL_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/unlearn/base.h")
"$PYTHON" - "$TMP/machine.json" <<'PY'
import json, os, sys, platform
import numpy, torch
e = os.environ
m = {"date": e["UL_B_DATE"], "host": e["UL_B_HOST"], "cpu": e["UL_B_CPU"], "nproc": int(e["UL_B_NPROC"]),
     "kernel": e["UL_B_KERNEL"], "loadavg": e["UL_B_LOADAVG"], "git_commit": e["UL_B_COMMIT"],
     "unlearn_version": e["UL_B_VERSION"], "compiler": e["UL_B_CC"], "openblas": e["UL_B_OPENBLAS"],
     "python": platform.python_version(), "torch_version": torch.__version__, "numpy_version": numpy.__version__,
     "torch_blas": e["UL_B_TORCH_BLAS"]}
with open(sys.argv[1], "w") as f:
    json.dump(m, f)
PY
OUT="$OUTDIR/$DATE-$HOST.json"
"$PYTHON" "$HERE/summarize.py" --machine "$TMP/machine.json" --ours "$TMP/ours.jsonl" --torch "$TMP/torch.jsonl" \
    --json "$OUT" --md "$OUTDIR/latest.md"
echo "wrote $OUT and $OUTDIR/latest.md" >&2
cat "$OUTDIR/latest.md"
