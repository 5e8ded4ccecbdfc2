#!/usr/bin/env bash
# Prepares a self-contained build for a lent GPU machine (see ../shared/design/GPU.md) and prints the
# device call to make.
#
#   scripts/gpu-run.sh [--arch 90] [--no-install]
#
# Builds build-gpu/ here (Release, CUDA for one architecture, tests and benchmarks) with the RPATH
# $ORIGIN/../lib, and stages build-gpu/bundle: the executables, and in bundle/lib the shared libraries they
# need (the ldd closure without the C runtime and the CUDA driver), so the bundle runs on its own. The GPU
# machine has the driver but none of the project's libraries and no network. On the device,
# scripts/gpu-device.sh runs the tests, compute-sanitizer and the benchmarks and writes logs to $OUT.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
arch=90
setup_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --no-install) setup_args+=(--no-install); shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "gpu-run.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
build="$root/build-gpu"
command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || { echo "gpu-run.sh: no nvcc here" >&2; exit 4; }

"$root/scripts/setup.sh" --build-dir "$build" --cuda-arch "$arch" "${setup_args[@]}"
cmake -S "$root" -B "$build" -DSEGSTREAM_CUDA=ON -DCMAKE_BUILD_RPATH='$ORIGIN/../lib' >/dev/null
cmake --build "$build" -j "${SEGSTREAM_JOBS:-$(nproc)}"

# The executables that travel, and the libraries they load, staged in build-gpu/bundle (only that folder
# is carried, so object files never count against the limit).
bundle="$build/bundle"
rm -rf "$bundle"
mkdir -p "$bundle/lib"
mapfile -t exes < <(find "$build/host" "$build/tests" "$build/bench" -maxdepth 1 -type f -perm -u+x \
                      \( -name segstream -o -name '*_test' -o -name '*_bench' \) | sort)
for exe in "${exes[@]}"; do
  rel=${exe#"$build/"}
  mkdir -p "$bundle/$(dirname "$rel")"
  cp "$exe" "$bundle/$rel"
  echo "$rel"
done > "$bundle/executables.txt"
for exe in "${exes[@]}"; do
  ldd "$exe" | awk '/=> \// { print $3 }'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcuda.so*|libnvidia*) ;;
    *) cp -L "$lib" "$bundle/lib/" ;;
  esac
done
size=$(du -sm --apparent-size "$bundle" | awk '{ print $1 }')
echo
echo "gpu-run.sh: build-gpu/bundle is ready: ${#exes[@]} executables and $(ls "$bundle/lib" | wc -l) libraries, ${size} MiB to carry (limit 64)."
echo "Device call (the device tool's run):"
echo "  carry:   [\"build-gpu/bundle\"]"
echo "  command: bash scripts/gpu-device.sh"
