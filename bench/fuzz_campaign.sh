#!/usr/bin/env bash
# The long byte-flip campaign of issue 15: at least 3,000 mutants across the six readers (events, features,
# model, segments, state, CSV), each classified as clean error, accepted, unclean, crash, hang or memory,
# with the peak memory of every run. Writes the table and a JSON record to bench/results/.
#
#   bench/fuzz_campaign.sh SEGSTREAM [--mutants 3000] [--seed 1] [--jobs 2]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
segstream=${1:?usage: bench/fuzz_campaign.sh SEGSTREAM [campaign options]}
shift
work=${TMPDIR:-/tmp}/segstream-fuzz-campaign
stamp=$(date -u +%Y-%m-%d)
mkdir -p "$root/bench/results"
out="$root/bench/results/fuzz-campaign-$stamp"
{
  echo "# fuzz campaign, $stamp, commit $(git -C "$root" rev-parse --short HEAD)"
  echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# command: bench/fuzz_campaign.sh SEGSTREAM --mutants 3000 $*"
  /usr/bin/python3 "$root/tests/fuzz/campaign.py" "$segstream" --work "$work" --mutants 3000 "$@" --json "$out.json"
} | tee "$out.txt"
