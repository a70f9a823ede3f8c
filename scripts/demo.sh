#!/usr/bin/env bash
# The main job (`make demo`): train the `cnn` architecture on Fashion-MNIST for 2 epochs with
# every core, describe the checkpoint (`unlearn info`) and evaluate it on the test split
# (`unlearn eval`); then build the default `mixed` model network (8 cnn models, all four edge
# types, 6000 samples each), check it, compare FIUn with retrain and sequential on forgetting label
# 3 (`unlearn demo`: per-model table and speed-up), commit FIUn on a copy with its deletion receipt,
# verify the receipt and write the HTML report. Outputs go to demo/out/ (git-ignored).
# The model and the network are reused when present and valid; DEMO_FORCE=1 rebuilds both.
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

net="$out/net-mixed"
echo
if [[ "${DEMO_FORCE:-0}" == "1" ]]; then rm -rf "$net"; fi
echo "== unlearn net build $net --scenario mixed (cnn, 6000 samples per model; reused when present)"
"$cli" net build "$net" --scenario mixed --data fashion-mnist --arch cnn --max-samples 6000 --epochs 2 \
  --seed 0 --threads "$threads" --quiet
"$cli" net check "$net"
"$cli" net show "$net" --dot > "$out/net-mixed.dot"
if command -v dot >/dev/null 2>&1; then "$cli" net show "$net" --svg "$out/net-mixed.svg" >/dev/null; fi

echo
echo "== unlearn demo: FIUn (tuned defaults) against retrain and sequential on the same request (dry runs)"
"$cli" demo --dir "$net" --labels 3 --threads "$threads" -q -o "$out/demo-3.json"

echo
work="$out/net-mixed-forget"
rm -rf "$work"
cp -r "$net" "$work"
echo "== unlearn forget $work --labels 3 (FIUn + MFIM committed on a copy; the built network stays untouched)"
"$cli" forget "$work" --labels 3 --threads "$threads" -o "$out/forget-3.json"
"$cli" net check "$work"
# the retrain baseline's results file for the report, taken from the demo's dry run
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump(dict(d["retrain"], network=d["network"]), open(sys.argv[2],"w"), indent=1)' \
  "$out/demo-3.json" "$out/retrain-3.json" 2>/dev/null || \
  "$cli" forget "$net" --labels 3 --method retrain --dry-run --threads "$threads" -q -o "$out/retrain-3.json"

echo
echo "== unlearn receipt $work --verify (the stored deletion receipt, checked against the network)"
"$cli" receipt "$work" --verify --threads "$threads"
echo
echo "== unlearn report $out/forget-3.json --compare $out/retrain-3.json -o $out/report"
"$cli" report "$out/forget-3.json" --compare "$out/retrain-3.json" -o "$out/report"

echo
echo "== files"
echo "  model       $model"
echo "  info        $out/cnn.info.txt"
echo "  evaluation  $out/cnn.eval.txt (table), $out/cnn.eval.json (JSON)"
if [[ -f "$out/cnn.train.txt" ]]; then echo "  training    $out/cnn.train.txt (summary)"; fi
echo "  network     $net (DOT: $out/net-mixed.dot$([[ -f "$out/net-mixed.svg" ]] && echo ", SVG: $out/net-mixed.svg"))"
echo "  comparison  $out/demo-3.json (FIUn, retrain and sequential receipts side by side)"
echo "  unlearning  $work (after FIUn), receipt $out/forget-3.json; retrain baseline $out/retrain-3.json"
echo "  report      $out/report/index.html"
