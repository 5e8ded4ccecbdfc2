#!/usr/bin/env bash
# The product in two minutes: a generated customer base whose behaviour changes, segmented as a scheduled
# job would do it, window after window, with the report a marketer opens.
#
#   scripts/demo.sh [--out DIR] [--customers N] [--k K] [--no-install]
#
# Installs what is missing and builds the segstream executable alone (not the tests and benchmarks). Then:
#   1. generate: N customers (default 100,000) over two years, 10% changing archetype on 2025-01-01;
#   2. run --config window-1.toml: 2024's features and lifetimes, fit (k segments, default 10), assign,
#      report (segments against the true archetypes, expected value, holdout churn) and the CRM export;
#   3. run --config window-2.toml: 2025 alone, carried from window 1 by update — stable ids, segments that
#      come and go, who moved where — and its report.
# Everything goes to DIR (default: $TMPDIR/segstream-demo, outside the source tree), under 1 GB by default.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
customers=100000
k=10
out="${TMPDIR:-/tmp}/segstream-demo"
setup_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --k) k=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-install) setup_args+=(--no-install); shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh" --target segstream "${setup_args[@]}"
bin="$root/build/host/segstream"
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)

echo
echo "== 1. generate: $customers customers over 2024 and 2025; 10% change behaviour on 2025-01-01"
"$bin" generate --customers "$customers" --start 2024-01-01 --days 731 --seed 42 \
  --drift-fraction 0.1 --drift-at 2025-01-01 --out "$out/events.h5" --overwrite

# The two jobs, as a scheduler would hold them: one TOML file each (docs/CLI.md, `segstream run`).
cat > "$out/window-1.toml" <<EOF
# Window 1: 2024. Behavioural features as of its last second, lifetimes features with the last quarter as
# a holdout window (the report's churn rate), k-means segments, the report and the CRM export.
[job]
out = "window-1"
events = "events.h5"
seed = 1

[features]
as_of = 2024-12-31T23:59:59Z

[lifetimes]
as_of = 2024-12-31T23:59:59Z
calibration_end = 2024-10-01
multiplier = 7               # weeks, as lifetimes' CDNOW examples

[fit]
k = $k

[report]
title = "Customer segments, 2024"
truth = "events.h5"          # a generated base: score the segments against the true archetypes
EOF
cat > "$out/window-2.toml" <<EOF
# Window 2: 2025 alone (equal windows compare like with like), carried from window 1: the same segments with
# their ids, new ones for groups that appeared, who moved where.
[job]
out = "window-2"
events = "events.h5"
previous = "window-1"

[features]
since = 2025-01-01

[lifetimes]
since = 2025-01-01
calibration_end = 2025-10-01
multiplier = 7

[update]
hysteresis = 0.1

[report]
title = "Customer segments, 2025"
truth = "events.h5"
EOF

echo
echo "== 2. run --config window-1.toml: features, lifetimes, fit, assign, report, export"
"$bin" -q run --config "$out/window-1.toml" | grep -E "^(wrote|run:|  k chosen|  non-local)" | sed 's/^/  /'

echo
echo "== 3. run --config window-2.toml: features of 2025, update from window 1, report, export"
"$bin" -q run --config "$out/window-2.toml" | sed -n '/^wrote .*model.h5/,/migrations:/p;/^run:/p' | sed 's/^/  /'

elapsed=$(( $(date +%s) - start ))
echo
echo "== made in ${elapsed} s ($(du -sh "$out" | cut -f1) in $out):"
for w in window-1 window-2; do
  echo "  $w: $(ls "$out/$w" | tr '\n' ' ')"
done
echo
echo "report: $out/window-2/report.html (2025, with who moved where) and $out/window-1/report.html (2024)"
echo "        open either in a browser; the same content as JSON is beside it (report.json)."
echo "        Each window's manifest.json records its inputs, outputs, timings and peak memory."
