#!/usr/bin/env bash
# The demo's pipeline on a fixed seed, and the content hashes of everything it writes: run it with two
# builds (before and after a change that must not change results) and compare the printed lines.
#
#   tests/pipeline_hashes.sh SEGSTREAM_BINARY OUT_DIR [--customers N]
#
# The commands are the pipeline scripts/demo.sh ran before it became two `run` windows (generate with drift,
# the mixture, behavioural features with a state, fit + assign, lifetimes, rfm). Hashes come from tests/python/content_hash.py: the datasets and
# every attribute except those naming the build (created_by) or the run's provenance.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 2 ]] || { sed -n '2,9p' "$0"; exit 2; }
bin=$1
out=$2
shift 2
customers=1000000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    *) echo "pipeline_hashes.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
q=(--quiet)
"$bin" "${q[@]}" generate --customers "$customers" --days 365 --start 2025-01-01 --seed 42 \
  --drift-fraction 0.1 --drift-at 2025-07-01 --out "$out/events.h5" --overwrite >/dev/null
"$bin" "${q[@]}" generate --features-only --customers "$customers" --dims 16 --clusters 8 --seed 42 \
  --out "$out/mixture.h5" --overwrite >/dev/null
"$bin" "${q[@]}" features --events "$out/events.h5" --out "$out/features.h5" --state-out "$out/state.h5" \
  --overwrite >/dev/null
"$bin" "${q[@]}" fit --features "$out/features.h5" --k 8 --refine 2 --seed 1 --out "$out/model.h5" \
  --overwrite >/dev/null
"$bin" "${q[@]}" assign --model "$out/model.h5" --features "$out/features.h5" --out "$out/segments.h5" \
  --overwrite >/dev/null
"$bin" "${q[@]}" fit --features "$out/mixture.h5" --k 8 --seed 3 --out "$out/mixture-model.h5" \
  --overwrite >/dev/null
"$bin" "${q[@]}" assign --model "$out/mixture-model.h5" --features "$out/mixture.h5" \
  --out "$out/mixture-segments.h5" --overwrite >/dev/null
"$bin" "${q[@]}" features --events "$out/events.h5" --mode lifetimes --multiplier 7 \
  --calibration-end 2025-10-01 --out "$out/lifetimes.h5" --overwrite >/dev/null
"$bin" "${q[@]}" features --events "$out/events.h5" --mode rfm --out "$out/rfm-features.h5" \
  --overwrite >/dev/null
"$bin" "${q[@]}" rfm --features "$out/rfm-features.h5" --scoring rank-cut --map rfm11 --out "$out/rfm.h5" \
  --overwrite >/dev/null
cd "$out"
/usr/bin/python3 "$here/python/content_hash.py" events.h5 mixture.h5 features.h5 state.h5 model.h5 \
  segments.h5 mixture-model.h5 mixture-segments.h5 lifetimes.h5 rfm-features.h5 rfm.h5
