#!/usr/bin/env bash
# Time to a model within 1% of the best known inertia, labels for every row included: segstream at its
# defaults against scikit-learn MiniBatchKMeans (n_init 1, 3), KMeans (n_init 1, 10) and FAISS (defaults;
# every row with nredo 5), on 1,000,000 × 16 rows of 16 anisotropic clusters of unequal sizes, for k = 16
# and 64, all in one run (bench/kmeans_peer.py says how each is timed and what "gets there" means).
#
#   bench/kmeans_peer.sh [--rows N] [--seeds S] [--ks 16,64] [--dir SCRATCH] [--build DIR] [--skip CONFIG@K,…]
#
# Appends to bench/results/kmeans-peer-DATE.txt. The peers come from Debian: python3-sklearn, python3-faiss.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=1000000
seeds=3
ks=16,64
skip=
dir=${TMPDIR:-/tmp}
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --ks) ks=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --skip) skip=$2; shift 2 ;;
    *) echo "kmeans_peer.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/host/segstream"
scratch=$(mktemp -d "$dir/segstream-peer-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$root/bench/results"
out="$root/bench/results/kmeans-peer-$(date -u +%Y-%m-%d).txt"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n): $(nproc) cores ($(if grep -q -w avx512f /proc/cpuinfo; then echo AVX-512; elif grep -q -w avx2 /proc/cpuinfo; then echo AVX2; else echo "no AVX2"; fi)), $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
    "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); $("$bin" --version)"
  echo "# bench/kmeans_peer.sh --rows $rows --seeds $seeds --ks $ks${skip:+ --skip $skip}"
} | tee -a "$out"
/usr/bin/python3 "$root/bench/kmeans_peer.py" "$bin" --rows "$rows" --seeds "$seeds" --ks "$ks" --scratch "$scratch" --skip "$skip" \
  | tee -a "$out"
echo "results: $out"
