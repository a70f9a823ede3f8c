#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan + libFuzzer) into BUILD (default build-fuzz) and,
# with a duration, run each for that many seconds on its seed corpus in fuzz/corpus/<target>/
# (new inputs go to BUILD/corpus/<target>/, crashes to BUILD/crash-*). Usage:
#   fuzz/build.sh [BUILD] [SECONDS]
# The library (and the CLI's parsers) are compiled once into BUILD/obj and linked into every
# target. FUZZ_JOBS targets run at a time (default: the number of cores, at most 2). Each target's
# final statistics (executions, exec/s, edges covered "cov", features "ft", corpus size, peak RSS)
# go to BUILD/fuzz-summary.txt and stdout. A crash, leak, timeout or out-of-memory in any target
# makes the script exit 1 and prints the reproducer's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-fuzz}
secs=${2:-0}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mkdir -p "$out/obj"
blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -d "$blas" ] || blas=/usr/lib/aarch64-linux-gnu/openblas-openmp
inc="-I$root/include -I$root/src -I$root/cli -I/usr/include/x86_64-linux-gnu/openblas-openmp -I/usr/include/aarch64-linux-gnu/openblas-openmp -I/usr/include/libsvm"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=c17 -O1 -g $san -D_POSIX_C_SOURCE=200809L -fopenmp $inc"
targets="fuzz_safetensors fuzz_datafiles fuzz_specs fuzz_cli fuzz_registry"
ncpu=$(nproc 2>/dev/null || echo 2)
jobs=${FUZZ_JOBS:-$((ncpu < 2 ? ncpu : 2))}

# library sources, plus the CLI's option parser and helpers (main.c and the commands stay out)
srcs=$(find "$root/src" -name '*.c' -not -path '*/src/dist/*' | sort) # src/dist needs MPI
srcs="$srcs $root/cli/opts.c $root/cli/common.c"
t0=$(date +%s)
printf '%s\n' $srcs | xargs -P "$ncpu" -I{} sh -c \
  'o="$1/obj/$(echo "$2" | sed "s|^$3/||; s|/|_|g").o"; clang $4 -fsanitize=fuzzer-no-link -c "$2" -o "$o"' \
  _ "$out" {} "$root" "$cflags"
libs="-L$blas -lopenblas -lz -lcjson -lsqlite3 -lsvm -lm"
for t in $targets; do
  clang $cflags -fsanitize=fuzzer "$root/fuzz/$t.c" "$out"/obj/*.o -o "$out/$t" $libs &
done
wait
for t in $targets; do [ -x "$out/$t" ] || { echo "fuzz: building $t failed"; exit 1; }; done
echo "fuzz: built $(echo $targets | wc -w) targets in $(( $(date +%s) - t0 )) s"
[ "$secs" -gt 0 ] || exit 0

# run: each target on its seed corpus plus the corpus grown so far; stats to $out/<t>.log
run_one() {
  local t=$1 max_len=4096
  [ "$t" = fuzz_registry ] && max_len=40000 # SQLite files: the seeds are 20-30 kB
  mkdir -p "$out/corpus/$t"
  (cd "$out" && OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 ./"$t" -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 -max_len=$max_len -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$out/$t-" \
      "corpus/$t" "$root/fuzz/corpus/$t" >"$out/$t.log" 2>&1)
}
status=0
pids=()
names=()
for t in $targets; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || { echo "fuzz: ${names[0]} FAILED"; status=1; }
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do wait "${pids[$i]}" || { echo "fuzz: ${names[$i]} FAILED"; status=1; }; done

summary="$out/fuzz-summary.txt"
printf '%-18s %10s %8s %6s %6s %6s %7s  %s\n' target execs exec/s cov ft corpus rss_mb result >"$summary"
for t in $targets; do
  log="$out/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  result=ok
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|==ERROR|SUMMARY: ' "$log"; then
    result="FAILED: $(grep -oE "$out/$t-[a-z]+-[0-9a-f]+" "$log" | head -1)"
    status=1
  fi
  printf '%-18s %10s %8s %6s %6s %6s %7s  %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
    "${rss:-?}" "$result" >>"$summary"
done
cat "$summary"
if [ "$status" -ne 0 ]; then
  for t in $targets; do
    grep -qE 'ERROR|runtime error|SUMMARY' "$out/$t.log" && { echo "== $t"; grep -E -A25 'ERROR|runtime error' "$out/$t.log" | head -60; }
  done
  echo "fuzz: a target failed; reproduce with $out/<target> <crash file>"
fi
exit "$status"
