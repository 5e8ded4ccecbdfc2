#!/usr/bin/env bash
# The whole pipeline, as far as it exists, on a generated customer base.
#
#   scripts/demo.sh [--customers N] [--out DIR] [--no-install]
#
# Installs what is missing, builds, generates a customer base (default 1,000,000 customers over one year,
# 10% of them changing behaviour on 1 July), runs every stage that exists, and prints what it made and where.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
customers=1000000
out="$root/out/demo"
setup_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-install) setup_args+=(--no-install); shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh" "${setup_args[@]}"
bin="$root/build/host/segstream"
mkdir -p "$out"

echo
echo "== 1. generate: $customers customers, one year of behaviour, 10% drifting on 2025-07-01"
"$bin" generate --customers "$customers" --days 365 --start 2025-01-01 --seed 42 \
  --drift-fraction 0.1 --drift-at 2025-07-01 --out "$out/events.h5" --overwrite

echo
echo "== 2. generate --features-only: a 16-dimensional mixture of 8 segments for clustering"
"$bin" generate --features-only --customers "$customers" --dims 16 --clusters 8 --seed 42 \
  --out "$out/mixture.h5" --overwrite

echo
echo "== 3. features: the behavioural feature set of every customer (purchase, usage, engagement, loyalty,"
echo "      occasion, benefit, journey, churn), with the state for tomorrow's incremental run"
"$bin" features --events "$out/events.h5" --out "$out/features.h5" --state-out "$out/state.h5" --overwrite
"$bin" inspect "$out/features.h5" > "$out/features-inspect.txt"
sed -n '/^\/features/,$p' "$out/features-inspect.txt" | sed -n '4,40p'

echo
echo "== 3a. fit + assign + export: named segments of the behavioural features with their profiles, every"
echo "      customer's segment, and a CSV of customer id, segment and name for a CRM"
"$bin" fit --features "$out/features.h5" --k 10 --seed 1 --out "$out/model.h5" --overwrite | sed -n '1,20p'
"$bin" assign --model "$out/model.h5" --features "$out/features.h5" --out "$out/segments.h5" --overwrite \
  | sed -n '1p'
"$bin" segments export "$out/segments.h5" --out "$out/segments.csv" --overwrite

echo
echo "== 3b. update: segments that follow behaviour. The first half-year (before the drift of 2025-07-01) is"
echo "      segmented, then carried onto the second half-year alone (features --since): stable ids, segments"
echo "      that come and go, who moved where, and the changes list"
"$bin" features --events "$out/events.h5" --as-of 2025-06-30T23:59:59 --out "$out/features-h1.h5" --overwrite \
  | sed -n '1p'
"$bin" features --events "$out/events.h5" --since 2025-07-01 --out "$out/features-h2.h5" --overwrite | sed -n '1p'
"$bin" fit --features "$out/features-h1.h5" --k 10 --seed 1 --out "$out/model-h1.h5" --overwrite | sed -n '1,2p'
"$bin" assign --model "$out/model-h1.h5" --features "$out/features-h1.h5" --out "$out/segments-h1.h5" \
  --overwrite | sed -n '1p'
"$bin" update --model "$out/model-h1.h5" --features "$out/features-h2.h5" --out-model "$out/model-h2.h5" \
  --out "$out/segments-h2.h5" --previous-segments "$out/segments-h1.h5" --changes "$out/changes.csv" --overwrite

echo
echo "== 3c. features --mode lifetimes: frequency, recency, T and monetary value per customer (in weeks)"
"$bin" features --events "$out/events.h5" --mode lifetimes --multiplier 7 --calibration-end 2025-10-01 \
  --out "$out/lifetimes.h5" --overwrite

echo
echo "== 4. features --mode rfm, then rfm: classic RFM scores and the 11 named segments"
"$bin" features --events "$out/events.h5" --mode rfm --out "$out/rfm-features.h5" --overwrite
"$bin" rfm --features "$out/rfm-features.h5" --scoring rank-cut --map rfm11 --out "$out/rfm.h5" --overwrite

echo
echo "== 5. inspect: datasets, attributes and per-column statistics"
"$bin" inspect "$out/events.h5" > "$out/events-inspect.txt"
"$bin" inspect --json "$out/events.h5" > "$out/events-inspect.json"
"$bin" inspect "$out/mixture.h5" > "$out/mixture-inspect.txt"
"$bin" inspect "$out/lifetimes.h5" > "$out/lifetimes-inspect.txt"
sed -n '1,12p' "$out/events-inspect.txt"

echo
echo "== made:"
ls -lh "$out" | awk 'NR > 1 { printf "  %-28s %s\n", $9, $5 }'
echo
echo "report: $out/features-inspect.txt (features); $out/events-inspect.txt (events; JSON: $out/events-inspect.json);"
echo "        $out/segments.csv (each customer's segment and its name); $out/changes.csv (who moved where)"
