#!/usr/bin/env bash
# FIUn against the network baselines on every scenario: builds il, tl, fl, ddpl and mixed networks
# (cnn on Fashion-MNIST, --max-samples per model, 2 epochs; reused when present), then for one
# forget label runs FIUn with a few settings and retrain (all --dry-run), and prints one row per
# (scenario, settings): mean forget and retained accuracy after, worst forget accuracy, and the
# per-model phase's wall time. Settings: the tuned defaults, the spec's parity profile, and the
# network baselines. The sweep that chose the defaults is the --sweep run in docs/fiun.md. Usage: bench/fiun_sweep.sh BUILD_DIR [OUT_DIR] (env LABEL, MAXS).
set -euo pipefail
build=${1:?usage: bench/fiun_sweep.sh BUILD_DIR [OUT_DIR]}
out=${2:-bench/results/fiun-nets}
label=${LABEL:-3}
maxs=${MAXS:-3000}
cli="$build/unlearn"
mkdir -p "$out"
summ() { /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); a = d["affected"]
m = lambda k: sum(x[k] for x in a if x[k] >= 0) / max(1, sum(1 for x in a if x[k] >= 0))
print("| %s | %s | %d | %.1f -> %.1f | %.1f | %.1f -> %.1f | %.3f |" % (sys.argv[2], sys.argv[3], len(a),
      m("forget_acc_before"), m("forget_acc_after"), max(x["forget_acc_after"] for x in a),
      m("retain_acc_before"), m("retain_acc_after"), d["timings"]["makespan_seconds"]))
PY
}
echo "| scenario | settings | models | forget acc (mean) | worst after | retained acc (mean) | per-model phase, s |"
echo "|---|---|---|---|---|---|---|"
for sc in il tl fl ddpl mixed; do
  net="$out/$sc"
  "$cli" net build "$net" --scenario "$sc" --data fashion-mnist --arch cnn --max-samples "$maxs" --epochs 2 --quiet >/dev/null
  while read -r name args; do
    "$cli" forget "$net" --labels "$label" --dry-run -q $args -o "$out/$sc-$name.json"
    summ "$out/$sc-$name.json" "$sc" "$name"
  done <<'RUNS'
tuned
parity --profile parity
ssd-local --method ssd-local
ga-transfer --method ga-transfer
retrain --method retrain
RUNS
done
