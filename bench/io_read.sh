#!/usr/bin/env bash
# Row-block reader vs raw sequential read of the same file, warm and cold page cache, in one run.
#
#   bench/io_read.sh [--mb N] [--dir SCRATCH] [--build DIR]
#
# Writes bench/results/io_read-DATE.json (Google Benchmark's output) and .txt (the table: each reader's
# throughput as a share of the raw read measured in the same iterations). Target: >= 85%.
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
# Keep the machine's paths out of recorded results.
sed -i "s|\"$build/|\"build/|g; s|\"$root/|\"|g" "$out"
{
  echo "# bench/io_read.sh --mb $mb, $("$build/host/segstream" --version)"
  python3 "$root/bench/io_read_report.py" "$out"
} | tee "${out%.json}.txt"
echo "raw results: $out"
