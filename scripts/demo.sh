#!/usr/bin/env bash
# The main job (`make demo`): train the `cnn` architecture on Fashion-MNIST for 2 epochs with
# every core, then describe the checkpoint (`unlearn info`) and evaluate it on the test split
# (`unlearn eval`, table on the terminal, JSON into a file). Outputs go to demo/out/ (git-ignored).
# An existing demo/out/cnn.safetensors is reused if `unlearn info` accepts it; DEMO_FORCE=1 retrains.
#
# usage: scripts/demo.sh BUILD_DIR        (BUILD_DIR holds the `unlearn` binary; default: build)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
cli="$build/unlearn"
if [[ ! -x "$cli" ]]; then
  echo "demo: $cli not found or not executable; build first (make build)" >&2
  exit 1
fi

out="$root/demo/out"
model="$out/cnn.safetensors"
threads="$(nproc 2>/dev/null || echo 2)"
mkdir -p "$out"

echo "== unlearn $("$cli" --version | sed 's/^unlearn //')"
if [[ -f "$model" && "${DEMO_FORCE:-0}" != "1" ]] && "$cli" info "$model" >/dev/null 2>&1; then
  echo "== reusing $model (DEMO_FORCE=1 retrains)"
else
  echo "== training cnn on fashion-mnist: 2 epochs, $threads threads, seed 0"
  "$cli" train --data fashion-mnist --arch cnn --epochs 2 --seed 0 --threads "$threads" -o "$model" \
    | tee "$out/cnn.train.txt"
fi

echo
echo "== unlearn info $model"
"$cli" info "$model" | tee "$out/cnn.info.txt"

echo
echo "== unlearn eval -m $model --data fashion-mnist --split test"
"$cli" eval -m "$model" --data fashion-mnist --split test --threads "$threads" | tee "$out/cnn.eval.txt"
"$cli" eval -m "$model" --data fashion-mnist --split test --threads "$threads" --json > "$out/cnn.eval.json"

echo
echo "== files"
echo "  model       $model"
echo "  info        $out/cnn.info.txt"
echo "  evaluation  $out/cnn.eval.txt (table), $out/cnn.eval.json (JSON)"
if [[ -f "$out/cnn.train.txt" ]]; then echo "  training    $out/cnn.train.txt (summary)"; fi
