#!/usr/bin/env bash
# `segstream fit` against scikit-learn (MiniBatchKMeans, KMeans) and FAISS k-means on one features.h5
# (a generated 16-dimensional mixture of 16 components, 1,000,000 rows), for k = 16 and k = 64, all in one
# run. segstream is timed as a whole process (reading the file, fitting, writing model.h5); the peers on
# the matrix already loaded (their load is printed apart). Every time is the median of five runs (sklearn's
# KMeans: one run at k = 64, where it takes a minute). Inertia of every model is recomputed in float64
# by bench/kmeans_peer.py on the raw features (segstream fits with --transform none to be comparable).
#
#   bench/kmeans_peer.sh [--rows N] [--dir SCRATCH] [--build DIR]
#
# Appends to bench/results/kmeans-peer-DATE.txt. The peers come from Debian: python3-sklearn, python3-faiss.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=1000000
dir=${TMPDIR:-/tmp}
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "kmeans_peer.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/host/segstream"
py=/usr/bin/python3
features="$dir/segstream-bench-kmeans-features.h5"
model="$dir/segstream-bench-kmeans-model.h5"
"$bin" generate --features-only --customers "$rows" --dims 16 --clusters 16 --cluster-std 2 --seed 42 \
  --out "$features" --overwrite >/dev/null
mkdir -p "$root/bench/results"
out="$root/bench/results/kmeans-peer-$(date -u +%Y-%m-%d).txt"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n): $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
    "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); $("$bin" --version)"
  echo "# bench/kmeans_peer.sh --rows $rows: generate --features-only --dims 16 --clusters 16 --cluster-std 2 --seed 42"
  echo "# peer name k seconds inertia"
} | tee -a "$out"
for k in 16 64; do
  # Five runs; the median wall time is reported, with every run's time and phases (from segstream's log:
  # reading the file, then the fit's phases) beside it.
  walls=()
  for run in 1 2 3 4 5; do
    start=$(date +%s.%N)
    log=$("$bin" --log-json fit --features "$features" --k "$k" --transform none --seed 1 --out "$model" \
      --overwrite 2>&1 >/dev/null)
    end=$(date +%s.%N)
    walls+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
    echo "$log" | "$py" -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r.get("msg") == "fit finished":
        print("segstream-run k=%d wall=%s steps=%d read=%.3f init=%.3f mini_batch=%.3f final_pass=%.3f in_process=%.3f" % (
            r["k"], sys.argv[1], r["steps"], r["read_seconds"], r["init_seconds"], r["mini_batch_seconds"],
            r["final_pass_seconds"], r["seconds"]))' "${walls[-1]}" | tee -a "$out"
  done
  secs=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p)
  "$py" - "$features" "$model" "$k" "$secs" <<'PY' | tee -a "$out"
import sys
import h5py
import numpy as np
features, model, k, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
x = h5py.File(features, "r")["features"][:].astype(np.float64)
c = h5py.File(model, "r")["centroids_raw"][:].astype(np.float64)
best = np.full(x.shape[0], np.inf)
for row in c:
    best = np.minimum(best, ((x - row) ** 2).sum(axis=1))
print(f"peer segstream-fit {k} {secs} {best.sum():.6g}")
PY
  "$py" "$root/bench/kmeans_peer.py" "$features" "$k" 1 | grep -E '^(peer|times)' | tee -a "$out"
done
rm -f "$features" "$model"
echo "results: $out"
