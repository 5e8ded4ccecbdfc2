#!/usr/bin/env bash
# Issue 4's GPU benchmarks, in one call on a lent GPU machine over build-gpu/bundle (scripts/gpu-run.sh):
# the assign kernel against its roofline and the streamed epoch against host-to-device bandwidth
# (kmeans_gpu_bench), PyTorch's cdist + argmin on the same shapes (kmeans_gpu_peer.py, when the machine has
# torch), and fit + assign end to end from HDF5 with --device cuda on a generated N × 32 mixture.
#
#   bash bench/gpu_kmeans.sh [--rows N] [--bench-rows N] [--skip-e2e]
#
# Writes everything to $OUT (or ./gpu-out): kmeans-gpu-bench.txt, kmeans-gpu-peer.txt, kmeans-gpu-e2e.txt.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$root/gpu-out}
bundle="$root/build-gpu/bundle"
rows=100000000
bench_rows=16777216
e2e=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --bench-rows) bench_rows=$2; shift 2 ;;
    --skip-e2e) e2e=0; shift ;;
    *) echo "gpu_kmeans.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
header="# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1); $(nproc) cores; $("$bundle/host/segstream" --version 2>&1)"
{ echo "$header"; "$bundle/bench/kmeans_gpu_bench" "$bench_rows"; } 2>&1 | tee "$out/kmeans-gpu-bench.txt"
{ echo "$header"; python3 "$root/bench/kmeans_gpu_peer.py" "$bench_rows"; } 2>&1 | tee "$out/kmeans-gpu-peer.txt"
if [[ $e2e == 1 ]]; then
  scratch=$(mktemp -d)
  bin="$bundle/host/segstream"
  {
    echo "$header"
    echo "# fit + assign --device cuda on a generated $rows x 32 mixture (32 components)"
    /usr/bin/time -f "generate %e s %M KB" "$bin" generate --features-only --customers "$rows" --dims 32 \
      --clusters 32 --cluster-std 2 --seed 42 --out "$scratch/f.h5" >/dev/null
    ls -l "$scratch/f.h5"
    /usr/bin/time -f "fit %e s %M KB" "$bin" --device cuda --log-json fit --features "$scratch/f.h5" --k 32 \
      --seed 1 --refine 2 --host-memory 64G --out "$scratch/m.h5" 2>&1 >/dev/null | grep -E "fit finished|^fit "
    /usr/bin/time -f "assign %e s %M KB" "$bin" --device cuda --log-json assign --model "$scratch/m.h5" \
      --features "$scratch/f.h5" --out "$scratch/s.h5" 2>&1 >/dev/null | grep -E "assign finished|^assign "
    /usr/bin/time -f "fit-cpu %e s %M KB" "$bin" --device cpu --log-json fit --features "$scratch/f.h5" --k 32 \
      --seed 1 --refine 2 --host-memory 64G --out "$scratch/m-cpu.h5" 2>&1 >/dev/null | grep -E "fit finished|^fit-cpu "
    cmp "$scratch/m.h5" "$scratch/m-cpu.h5" >/dev/null 2>&1 && echo "model files: byte-identical" ||
      echo "model files differ in bytes (provenance differs by design: compare the logged inertia lines)"
  } 2>&1 | tee "$out/kmeans-gpu-e2e.txt"
  rm -rf "$scratch"
fi
