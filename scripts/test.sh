#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with CTest.
#
#   scripts/test.sh              Release build in build/, all tests
#   scripts/test.sh --sanitize   ASan/UBSan build of the host code in build-sanitize/, all tests
#   scripts/test.sh -L slow      extra arguments go to ctest (e.g. -L gpu, -R Cli, -E slow)
#
# Tests labelled `gpu` skip cleanly on machines without a CUDA device.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
setup_args=()
build_dir="$root/build"
ctest_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sanitize) setup_args+=(--sanitize); build_dir="$root/build-sanitize"; shift ;;
    --no-install) setup_args+=(--no-install); shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) ctest_args+=("$1"); shift ;;
  esac
done

"$root/scripts/setup.sh" --build-dir "$build_dir" "${setup_args[@]}"

if [[ " ${setup_args[*]} " == *" --sanitize "* ]]; then
  # protect_shadow_gap=0 lets the CUDA runtime map memory under ASan; halt on the first UBSan report.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-protect_shadow_gap=0:detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
cd "$build_dir"
ctest --output-on-failure -j "${SEGSTREAM_JOBS:-$(nproc)}" "${ctest_args[@]}"
