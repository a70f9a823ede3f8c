#!/usr/bin/env bash
# The `unlearn` command's main paths under valgrind memcheck (`make valgrind`): train a tiny model,
# info, eval, net build, net show/log/check, net add, forget --dry-run, forget, run (recipes), and a few error paths,
# on a synthetic IDX data set (10 classes of 1x8x8 images) written to a temporary directory.
# Usage: scripts/valgrind.sh [BUILD]   (the directory holding the built `unlearn`; default build)
#
# Every command must exit with its expected status, with zero memcheck errors and zero definitely or
# possibly lost bytes (--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible;
# `unlearn` itself never exits 1). "Still reachable" memory is not an error. The OpenMP runtime
# (libgomp) and OpenBLAS keep their thread pools and buffers until exit (reachable, and the pool
# threads' TLS "possibly lost"): scripts/valgrind.supp documents and suppresses exactly those.
# One OpenMP and OpenBLAS thread (--threads 1) keeps the run short (about 30 s); the last forget
# runs two threads so the thread pool's paths are covered too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
cli="$build/unlearn"
[ -x "$cli" ] || { echo "valgrind.sh: $cli is not built (make first)"; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind.sh: needs valgrind (apt-get install valgrind)"; exit 2; }
command -v python3 >/dev/null || { echo "valgrind.sh: needs python3 to write the synthetic data"; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/unlearn-valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive

python3 - "$tmp/data" <<'EOF'
import os, struct, sys
d = sys.argv[1]
os.makedirs(d)
for split, n, seed in (("train", 300, 1), ("t10k", 100, 2)):
    r = seed * 2654435761 % 2**32
    px = bytearray(struct.pack(">IIII", 0x803, n, 8, 8))
    lb = bytearray(struct.pack(">II", 0x801, n))
    for i in range(n):
        c = (7 * i + 3) % 10
        lb.append(c)
        img = bytearray(64)
        for j in range(64):
            r = (1103515245 * r + 12345) % 2**31
            img[j] = r % 90
        for k in range(8):
            img[(c % 8) * 8 + k if c < 8 else k * 8 + c - 6] = 200
        px += img
    open(os.path.join(d, "%s-images-idx3-ubyte" % split), "wb").write(px)
    open(os.path.join(d, "%s-labels-idx1-ubyte" % split), "wb").write(lb)
EOF

vg=(valgrind -q --tool=memcheck --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible
    --show-leak-kinds=definite,possible --num-callers=30 --suppressions="$root/scripts/valgrind.supp")
D="$tmp/data" M="$tmp/m.safetensors" N="$tmp/net"
failed=0
n=0
# run EXPECTED-EXIT unlearn-args...
run() {
  local want=$1
  shift
  n=$((n + 1))
  local t0 code
  t0=$(date +%s.%N)
  set +e
  "${vg[@]}" --log-file="$tmp/vg.$n.log" "$cli" "$@" >"$tmp/out.$n" 2>"$tmp/err.$n"
  code=$?
  set -e
  local secs
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$code" -eq 1 ] || [ -s "$tmp/vg.$n.log" ]; then
    echo "FAIL  unlearn $* (${secs} s): memcheck errors or definite leaks:"
    cat "$tmp/vg.$n.log"
    failed=$((failed + 1))
  elif [ "$code" -ne "$want" ]; then
    echo "FAIL  unlearn $* (${secs} s): exit $code, expected $want"
    cat "$tmp/err.$n"
    failed=$((failed + 1))
  else
    echo "ok    unlearn $* (exit $code, ${secs} s)"
  fi
}

run 0 train --data "$D" --arch mlp:64-16-10 --epochs 1 --batch 64 --threads 1 -q -o "$M"
run 0 info "$M"
run 0 info "$M" --json
run 0 eval -m "$M" --data "$D" --threads 1
run 0 eval -m "$M" --data "$D" --threads 1 --json --classes 0-4
run 0 net build "$N" --scenario il --data "$D" --arch mlp:64-16-10 --epochs 1 --threads 1 -q
run 0 net show "$N"
run 0 net show "$N" --json
run 0 net show "$N" --dot
run 0 net log "$N"
run 0 net check "$N"
run 0 forget "$N" --labels 0 --dry-run --threads 1
run 0 forget "$N" --labels 0 --threads 1 -o "$tmp/receipt.json"
run 0 forget "$N" --labels 8 --method retrain --threads 1 -q
run 0 net add "$N" --name extra --parents u3 --edge finetune -m "$M" --data "$D" --labels 0-7 --threads 1 -q
OMP_NUM_THREADS=2 run 0 forget "$N" --labels 6 --threads 2 -q
run 0 net check "$N"
run 0 net log "$N"
# error paths free what they allocated too
head -c 100 "$M" >"$tmp/trunc.safetensors"
run 3 info "$tmp/trunc.safetensors"
run 3 eval -m "$M" --data "$tmp/nodata"
run 2 train --data "$D" --arch bogus -o "$tmp/x.safetensors"
run 2 forget "$N" --labels 12
run 3 net show "$D"
run 2 forget "$N" --labels 1 --alpha 0
# recipes (unlearn run): a tiny forget recipe that passes, one that drifts (exit 7), a malformed one
for max in 100 -1; do
  cat >"$tmp/recipe$max.json" <<EOF
{"recipe": 1, "name": "vg", "kind": "forget", "data": "$D", "threads": 1,
 "network": {"scenario": "il", "arch": "mlp:64-16-10", "epochs": 1},
 "forget": {"labels": "0", "compare": ["retrain"]},
 "expect": [{"metric": "forget_acc_after", "model": "*", "max": $max, "source": "estimated"},
            {"metric": "retain_acc_after", "vs": "retrain", "model": "mean", "min": -100, "source": "estimated"}]}
EOF
done
run 0 run "$tmp/recipe100.json" -o "$tmp/run-pass" -q
run 7 run "$tmp/recipe-1.json" -o "$tmp/run-drift" -q
echo '{"recipe": 1, "name": "vg", "kind": "forget", "colour": 2}' >"$tmp/recipe-bad.json"
run 3 run "$tmp/recipe-bad.json" -o "$tmp/run-bad"

echo "valgrind: $n commands, $failed failed"
[ "$failed" -eq 0 ]
