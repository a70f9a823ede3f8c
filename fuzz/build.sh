#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan + libFuzzer) into BUILD (default build-fuzz) and,
# with a duration, run each for that many seconds on its seed corpus in fuzz/corpus/<target>/
# (new inputs go to BUILD/corpus/<target>/, crashes to BUILD/crash-*). Usage:
#   fuzz/build.sh [BUILD] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-fuzz}
secs=${2:-0}
mkdir -p "$out"
blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
inc="-I$root/include -I$root/src -I/usr/include/x86_64-linux-gnu/openblas-openmp -I/usr/include/libsvm"
flags="-std=c17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_POSIX_C_SOURCE=200809L -fopenmp"
srcs=$(find "$root/src" -name '*.c' | sort)
for t in fuzz_safetensors fuzz_datafiles fuzz_specs; do
  clang $flags $inc $srcs "$root/fuzz/$t.c" -o "$out/$t" -L$blas -lopenblas -lz -lcjson -lsqlite3 -lsvm -lm
done
[ "$secs" -gt 0 ] || exit 0
for t in fuzz_safetensors fuzz_datafiles fuzz_specs; do
  mkdir -p "$out/corpus/$t"
  echo "== $t for $secs s"
  (cd "$out" && OMP_NUM_THREADS=1 ./"$t" -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 \
      "corpus/$t" "$root/fuzz/corpus/$t" 2>&1 | grep -E "stat::|Done|ERROR|SUMMARY|crash" || true)
done
