#!/usr/bin/env bash
# `segstream features` throughput and peak memory on a generated base, per feature mode.
#
#   bench/features.sh [--customers N] [--dir SCRATCH] [--build DIR] [--modes "behavioral lifetimes rfm"]
#                     [--host-memory 2G]
#
# Generates N customers (default 1,000,000: about 107 million events) once, reads the file once to warm
# the page cache, then times each mode. Appends the records to bench/results/features-DATE.txt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
customers=1000000
dir=${TMPDIR:-/tmp}
build="$root/build"
modes="behavioral lifetimes rfm"
host_memory=2G
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --host-memory) host_memory=$2; shift 2 ;;
    *) echo "features.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/host/segstream"
events="$dir/segstream-bench-features-events.h5"
"$bin" generate --customers "$customers" --seed 42 --out "$events" --overwrite >/dev/null
cat "$events" > /dev/null
mkdir -p "$root/bench/results"
out="$root/bench/results/features-$(date -u +%Y-%m-%d).txt"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n) $(nproc) cores, $("$bin" --version)"
  echo "# bench/features.sh --customers $customers --modes \"$modes\" --host-memory $host_memory (warm page cache)"
  echo "# mode events seconds events_per_s passes peak_rss_MB"
} | tee -a "$out"
for mode in $modes; do
  log=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$log.time" "$bin" --log-json features --events "$events" --mode "$mode" \
    --host-memory "$host_memory" --out "$dir/segstream-bench-features-out.h5" --overwrite 2>"$log" >/dev/null
  read -r secs rss_kb < "$log.time"
  python3 - "$log" "$mode" "$secs" "$rss_kb" <<'PY' | tee -a "$out"
import json, sys
log, mode, secs, rss_kb = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
rec = next(json.loads(l) for l in open(log) if l.startswith("{") and '"features finished"' in l)
print(mode, rec["events"], secs, round(rec["events"] / secs), rec["partitions"], round(rss_kb / 1024))
PY
  rm -f "$log" "$log.time" "$dir/segstream-bench-features-out.h5"
done
rm -f "$events"
echo "results: $out"
