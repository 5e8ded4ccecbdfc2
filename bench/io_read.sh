#!/usr/bin/env bash
# Row-block reader vs raw sequential read of the same file, warm and cold page cache, in one run.
#
#   bench/io_read.sh [--mb N] [--dir SCRATCH] [--build DIR]
#
# Writes bench/results/io_read-DATE.json (Google Benchmark's output) and prints a table of each reader's
# median throughput as a share of the raw median with the same block size. Target: >= 85%.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mb=1024
dir=${TMPDIR:-/tmp}
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mb) mb=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "io_read.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$root/bench/results"
out="$root/bench/results/io_read-$(date -u +%Y-%m-%d).json"
SEGSTREAM_BENCH_DIR=$dir SEGSTREAM_BENCH_MB=$mb "$build/bench/io_read_bench" \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null
rm -f "$dir"/segstream-bench-features.h5 "$dir"/segstream-bench-events.h5
python3 "$root/bench/io_read_report.py" "$out"
echo "raw results: $out"
