#!/usr/bin/env bash
# The behavioural feature set at scale through the CPU backend: a generated base of N customers over a
# short window (default 100,000,000 customers over 22 days: about a billion events, 28 GB), then
# `segstream features` under a memory budget, with wall time, passes and peak RSS.
#
#   bench/features_scale.sh [--customers N] [--days D] [--host-memory B] [--dir SCRATCH] [--build DIR] [--keep]
#
# The events file is kept in SCRATCH between runs with --keep (generation takes minutes). The file does not
# fit the page cache of a 24 GiB machine, so each pass reads it from the disk. Appends the record to
# bench/results/features-scale-DATE.txt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
customers=100000000
days=22
host_memory=8G
dir=${TMPDIR:-/tmp}
build="$root/build"
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --host-memory) host_memory=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "features_scale.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/host/segstream"
events="$dir/segstream-bench-scale-$customers-$days.h5"
features="$dir/segstream-bench-scale-features.h5"
if [[ ! -f "$events" ]]; then
  /usr/bin/time -f "%e %M" -o "$dir/gen.time" "$bin" generate --customers "$customers" --days "$days" \
    --start 2025-03-01 --seed 42 --out "$events" >/dev/null
  read -r gen_s gen_kb < "$dir/gen.time"
  rm -f "$dir/gen.time"
  echo "generated $events in $gen_s s (peak RSS $((gen_kb / 1024)) MB)"
fi
mkdir -p "$root/bench/results"
out="$root/bench/results/features-scale-$(date -u +%Y-%m-%d).txt"
log=$(mktemp)
/usr/bin/time -f "%e %M" -o "$log.time" "$bin" --log-json features --events "$events" \
  --host-memory "$host_memory" --out "$features" --overwrite 2>"$log" >/dev/null
read -r secs rss_kb < "$log.time"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n) $(nproc) cores, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $("$bin" --version)"
  echo "# bench/features_scale.sh --customers $customers --days $days --host-memory $host_memory" \
    "(events file $(( $(stat -c %s "$events") / 1000000000 )) GB, features file $(( $(stat -c %s "$features") / 1000000000 )) GB)"
  echo "# customers events seconds events_per_s passes peak_rss_MB held_MB"
  python3 - "$log" "$secs" "$rss_kb" <<'PY'
import json, sys
log, secs, rss_kb = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rec = next(json.loads(l) for l in open(log) if l.startswith("{") and '"features finished"' in l)
print(rec["customers"], rec["events"], secs, round(rec["events"] / secs), rec["partitions"], round(rss_kb / 1024),
      round(rec["peak_held_bytes"] / 2**20))
PY
} | tee -a "$out"
rm -f "$log" "$log.time" "$features"
[[ $keep -eq 1 ]] || rm -f "$events"
echo "results: $out"
