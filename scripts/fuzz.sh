#!/usr/bin/env bash
# Builds the libFuzzer targets of the six readers (clang, ASan; only segstream::io and the targets, in
# build-fuzz/) and runs each for a while from the seed corpus in tests/fuzz/corpus/READER/.
#
#   scripts/fuzz.sh [--seconds 30] [--reader events|features|model|segments|state|csv] [--no-install]
#
# A finding (crash, ASan report, leak, an exception other than segstream's errors) stops the run with the
# reproducer saved under build-fuzz/findings/READER/ and exit 1. Inputs the fuzzer found interesting are
# kept in build-fuzz/corpus/READER/ between runs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=30
readers=(events features model segments state csv)
install=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --reader) readers=("$2"); shift 2 ;;
    --no-install) install=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
# clang and its libFuzzer runtime (Debian 12: libclang-rt-14-dev; older releases ship it with clang).
if [[ $install == 1 ]]; then
  want=(clang)
  apt-cache show libclang-rt-14-dev >/dev/null 2>&1 && want+=(libclang-rt-14-dev)
  missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    sudo=()
    [[ $(id -u) != 0 ]] && sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi
build="$root/build-fuzz"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DSEGSTREAM_FUZZ=ON -DSEGSTREAM_CUDA=OFF >/dev/null
cmake --build "$build" -j "${SEGSTREAM_JOBS:-$(nproc)}" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
status=0
for reader in "${readers[@]}"; do
  corpus="$build/corpus/$reader" findings="$build/findings/$reader"
  mkdir -p "$corpus" "$findings"
  log="$build/fuzz-$reader.log"
  if "$build/tests/fuzz/fuzz_$reader" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
      -max_len=1048576 -artifact_prefix="$findings/" -print_final_stats=1 \
      "$corpus" "$root/tests/fuzz/corpus/$reader" >"$log" 2>&1; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    echo "fuzz.sh: $reader: $runs inputs in ${seconds} s, no finding"
  else
    echo "fuzz.sh: $reader: a finding (log $log, reproducer in $findings/)" >&2
    tail -30 "$log" >&2
    status=1
  fi
done
exit $status
