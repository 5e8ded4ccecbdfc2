#!/usr/bin/env bash
# Runs clang-tidy (the repository's .clang-tidy) over the host code — host/src and host/app, and the
# project headers they include — with the compile commands of a build folder; any finding fails.
#
#   scripts/tidy.sh [--build-dir DIR]    default build/ (scripts/setup.sh makes it; CMake exports the commands)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "tidy.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
command -v clang-tidy >/dev/null || { echo "tidy.sh: clang-tidy is not installed (scripts/setup.sh installs it)" >&2; exit 4; }
[[ -f $build/compile_commands.json ]] || { echo "tidy.sh: no $build/compile_commands.json (run scripts/setup.sh)" >&2; exit 4; }
cd "$root"
mapfile -t files < <(git ls-files 'host/src/*.cpp' 'host/app/*.cpp')
# GCC's own warning flags mean nothing to clang; OpenMP pragmas need clang's flag.
printf '%s\n' "${files[@]}" |
  xargs -P "${SEGSTREAM_JOBS:-$(nproc)}" -n 1 clang-tidy -p "$build" --quiet \
    --extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-ignored-optimization-argument 2>/dev/null |
  tee "$build/clang-tidy.log" || true  # the verdict is the log's: clang-tidy exits non-zero on any finding
if grep -qE "(warning|error):" "$build/clang-tidy.log"; then
  echo "tidy.sh: clang-tidy found problems (above; also in $build/clang-tidy.log)" >&2
  exit 1
fi
echo "tidy.sh: ${#files[@]} host sources clean"
