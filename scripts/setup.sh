#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages segstream needs (when missing) and builds it in Release.
#
#   scripts/setup.sh [--build-dir DIR] [--sanitize] [--no-install] [--cuda-arch LIST] [--no-cuda]
#                    [--target T]    build only target T (e.g. segstream), not the tests and benchmarks
#
# Non-interactive and idempotent: packages already present are not touched, and an existing build folder
# is rebuilt incrementally. Runs apt-get as root, or through sudo when not root.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
sanitize=0
install=1
cuda_arch=""
cuda=AUTO
target=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --sanitize) sanitize=1; shift ;;
    --no-install) install=0; shift ;;
    --cuda-arch) cuda_arch=$2; shift 2 ;;
    --no-cuda) cuda=OFF; shift ;;
    --target) target=(--target "$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config git
  libhdf5-dev hdf5-tools
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libxxhash-dev libtomlplusplus-dev
  python3 python3-h5py python3-numpy python3-sklearn
  clang-format clang-tidy
  chromium
)

if [[ $install == 1 ]]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup.sh: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
      command -v sudo >/dev/null || { echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2; exit 4; }
      sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# CUDA: CI and one-architecture builds pass --cuda-arch 90; the default list is in cmake/SegstreamCuda.cmake.
if [[ -z $cuda_arch && ${CI:-} == true ]]; then cuda_arch=90; fi
args=(-G Ninja -DSEGSTREAM_CUDA=$cuda)
[[ -n $cuda_arch ]] && args+=(-DCMAKE_CUDA_ARCHITECTURES="$cuda_arch")
if [[ $sanitize == 1 ]]; then
  # Host code under ASan/UBSan; device code is never sanitized, so the CUDA backend is left out.
  args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEGSTREAM_SANITIZE=address,undefined -DSEGSTREAM_CUDA=OFF
         -DSEGSTREAM_BUILD_BENCH=OFF)
else
  args+=(-DCMAKE_BUILD_TYPE=Release)
fi
cmake -S "$root" -B "$build_dir" "${args[@]}" >/dev/null
cmake --build "$build_dir" -j "${SEGSTREAM_JOBS:-$(nproc)}" "${target[@]}"
echo "setup.sh: built $build_dir (segstream: $build_dir/host/segstream)"
