#!/usr/bin/env bash
# k-means at scale on the CPU: a generated mixture of N rows × 16 columns (default 100,000,000: a 6.4 GB
# features file), `segstream fit` streamed from HDF5 under a memory budget, then `segstream assign`, with
# wall time and peak RSS of each.
#
#   bench/kmeans_scale.sh [--rows N] [--k K] [--host-memory B] [--dir SCRATCH] [--build DIR] [--keep]
#
# Appends to bench/results/kmeans-scale-DATE.txt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=100000000
k=16
host_memory=2G
dir=${TMPDIR:-/tmp}
build="$root/build"
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --k) k=$2; shift 2 ;;
    --host-memory) host_memory=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "kmeans_scale.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/host/segstream"
features="$dir/segstream-bench-kmeans-scale-$rows.h5"
model="$dir/segstream-bench-kmeans-scale-model.h5"
segments="$dir/segstream-bench-kmeans-scale-segments.h5"
if [[ ! -f "$features" ]]; then
  "$bin" generate --features-only --customers "$rows" --dims 16 --clusters "$k" --cluster-std 2 --seed 42 \
    --out "$features" >/dev/null
fi
mkdir -p "$root/bench/results"
out="$root/bench/results/kmeans-scale-$(date -u +%Y-%m-%d).txt"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n) $(nproc) cores ($(if grep -q -w avx512f /proc/cpuinfo; then echo AVX-512; elif grep -q -w avx2 /proc/cpuinfo; then echo AVX2; else echo "no AVX2"; fi)), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $("$bin" --version)"
  echo "# bench/kmeans_scale.sh --rows $rows --k $k --host-memory $host_memory (features file $(( $(stat -c %s "$features") / 1000000 )) MB)"
  echo "# stage seconds peak_rss_MB summary"
} | tee -a "$out"
/usr/bin/time -f "%e %M" -o "$dir/fit.time" "$bin" fit --features "$features" --k "$k" --seed 1 \
  --host-memory "$host_memory" --out "$model" --overwrite > "$dir/fit.out" 2>/dev/null
read -r secs kb < "$dir/fit.time"
echo "fit $secs $((kb / 1024)) $(head -1 "$dir/fit.out" | sed 's/^wrote [^:]*: //') $(sed -n 2p "$dir/fit.out" | tr -s ' ')" | tee -a "$out"
/usr/bin/time -f "%e %M" -o "$dir/assign.time" "$bin" assign --model "$model" --features "$features" \
  --out "$segments" --overwrite > "$dir/assign.out" 2>/dev/null
read -r secs kb < "$dir/assign.time"
echo "assign $secs $((kb / 1024)) $(head -1 "$dir/assign.out" | sed 's/^wrote [^:]*: //')" | tee -a "$out"
rm -f "$model" "$segments" "$dir/fit.time" "$dir/fit.out" "$dir/assign.time" "$dir/assign.out"
[[ $keep -eq 1 ]] || rm -f "$features"
echo "results: $out"
