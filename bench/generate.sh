#!/usr/bin/env bash
# `segstream generate` throughput and peak memory at two sizes, to show that memory does not grow with the
# number of customers. Target: >= 5 million events per second on the 2-core machine.
#
#   bench/generate.sh [--sizes "1000000 10000000"] [--dir SCRATCH] [--build DIR]
#
# Appends a record per run to bench/results/generate-DATE.txt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes="1000000 10000000"
dir=${TMPDIR:-/tmp}
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "generate.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/host/segstream"
mkdir -p "$root/bench/results"
out="$root/bench/results/generate-$(date -u +%Y-%m-%d).txt"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n) $(nproc) cores, $("$bin" --version)"
  echo "# mode customers events seconds events_per_s peak_rss_MB file_GB"
} | tee -a "$out"
for n in $sizes; do
  for mode in events features; do
    args=(generate --customers "$n" --out "$dir/segstream-bench-gen.h5" --overwrite)
    [[ $mode == features ]] && args+=(--features-only --dims 16 --clusters 16)
    log=$(mktemp)
    /usr/bin/time -f "%e %M" -o "$log.time" "$bin" --log-json "${args[@]}" 2>"$log" >/dev/null
    read -r secs rss_kb < "$log.time"
    events=$(python3 -c "import json,sys; r=[json.loads(l) for l in open('$log') if l.startswith('{')]; \
print(next((x.get('events', 0) for x in r if x.get('msg') == 'generate finished'), $n))")
    bytes=$(stat -c %s "$dir/segstream-bench-gen.h5")
    python3 -c "print('$mode', $n, $events, $secs, round($events/$secs), round($rss_kb/1024), round($bytes/1e9, 2))" | tee -a "$out"
    rm -f "$dir/segstream-bench-gen.h5" "$log" "$log.time"
  done
done
echo "results: $out"
