#!/usr/bin/env bash
# Runs on a lent GPU machine over a copy of the repository with build-gpu/bundle carried
# (scripts/gpu-run.sh prepares it). Records the device, runs every test executable (the `gpu` ones find a device there),
# compute-sanitizer memcheck and racecheck over the GPU tests, and writes logs to $OUT (or ./gpu-out).
#
#   bash scripts/gpu-device.sh [--no-sanitizer] [--bench [gpu_kmeans.sh options]]
#
# --bench also runs bench/gpu_kmeans.sh (issue 4's GPU benchmarks) after the tests.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$root/gpu-out}
mkdir -p "$out"
bundle="$root/build-gpu/bundle"
sanitizer=1
bench=0
bench_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-sanitizer) sanitizer=0; shift ;;
    --bench) bench=1; shift; bench_args=("$@"); break ;;
    *) echo "gpu-device.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
export SEGSTREAM_BIN="$bundle/host/segstream"
log="$out/device.log"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  "$SEGSTREAM_BIN" --version 2>&1
  echo "# commit $(cd "$root" && git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
} > "$log"
status=0
cd "$(mktemp -d)"
while read -r exe; do
  [[ $exe == *_test ]] || continue
  echo "## $exe" >> "$log"
  if ! "$bundle/$exe" --gtest_brief=1 >> "$log" 2>&1; then status=1; echo "FAILED: $exe" >> "$log"; fi
done < "$bundle/executables.txt"
if [[ $sanitizer == 1 ]] && command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    echo "## compute-sanitizer --tool $tool gpu tests" >> "$log"
    for exe in "$bundle"/tests/gpu_*_test; do
      [[ -x $exe ]] || continue
      if ! compute-sanitizer --tool "$tool" --error-exitcode 1 "$exe" --gtest_brief=1 >> "$log" 2>&1; then
        status=1; echo "FAILED: compute-sanitizer $tool $exe" >> "$log"
      fi
    done
  done
fi
if [[ $bench == 1 ]]; then
  OUT="$out" bash "$root/bench/gpu_kmeans.sh" "${bench_args[@]}" >> "$log" 2>&1 || { status=1; echo "FAILED: bench/gpu_kmeans.sh" >> "$log"; }
fi
grep -E "^(FAILED|##)|PASSED|FAILED" "$log" | tail -40
echo "log: $log"
exit $status
