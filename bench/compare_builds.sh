#!/usr/bin/env bash
# Two builds side by side on the same inputs: each stage run by each binary in turn, five times, and the
# median wall time of each with the ratio new/old. For a change that must not slow anything down.
#
#   bench/compare_builds.sh OLD_SEGSTREAM NEW_SEGSTREAM [SCRATCH_DIR]
#
# Stages: generate (300,000 customers), features (behavioural, with a state), fit (1,000,000 x 16, k = 16,
# held in memory, and streamed under --host-memory 64M), assign. The inputs are written once by the new
# binary; outputs go to the scratch folder (default: a temporary one) and are removed.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,9p' "$0"; exit 2; }
old=$1 new=$2
scratch=${3:-$(mktemp -d)}
mkdir -p "$scratch"
runs=5
q=(--quiet)
"$new" "${q[@]}" generate --customers 300000 --seed 7 --out "$scratch/ev.h5" --overwrite >/dev/null
"$new" "${q[@]}" generate --features-only --customers 1000000 --dims 16 --clusters 16 --seed 7 \
  --out "$scratch/mix.h5" --overwrite >/dev/null
"$new" "${q[@]}" fit --features "$scratch/mix.h5" --k 16 --seed 1 --out "$scratch/model.h5" --overwrite >/dev/null

stage() {  # name, then the arguments after the binary
  local name=$1
  shift
  local -a told tnew
  for ((i = 0; i < runs; ++i)); do
    for which in old new; do
      local bin=$old
      [[ $which == new ]] && bin=$new
      local t0 t1
      t0=$(date +%s.%N)
      "$bin" "${q[@]}" "$@" --overwrite >/dev/null
      t1=$(date +%s.%N)
      if [[ $which == old ]]; then told+=("$(echo "$t1 - $t0" | bc)"); else tnew+=("$(echo "$t1 - $t0" | bc)"); fi
    done
  done
  local mo mn
  mo=$(printf '%s\n' "${told[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  mn=$(printf '%s\n' "${tnew[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  printf '%-34s %9.3f s %9.3f s %7.3f\n' "$name" "$mo" "$mn" "$(echo "$mn / $mo" | bc -l)"
}

printf '# %s; %s cores; old: %s; new: %s; medians of %d runs, alternating\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$(nproc)" "$("$old" --version)" "$("$new" --version)" "$runs"
printf '%-34s %11s %11s %7s\n' stage old new new/old
stage "generate 300k customers" generate --customers 300000 --seed 9 --out "$scratch/g.h5"
stage "features behavioral + state" features --events "$scratch/ev.h5" --out "$scratch/f.h5" --state-out "$scratch/s.h5"
stage "features lifetimes" features --events "$scratch/ev.h5" --mode lifetimes --out "$scratch/l.h5"
stage "fit 1M x 16, k 16, in memory" fit --features "$scratch/mix.h5" --k 16 --seed 2 --out "$scratch/m.h5"
stage "fit 1M x 16, k 16, streamed" fit --features "$scratch/mix.h5" --k 16 --seed 2 --host-memory 64M --out "$scratch/m2.h5"
stage "assign 1M x 16, k 16" assign --model "$scratch/model.h5" --features "$scratch/mix.h5" --out "$scratch/a.h5"
[[ $# -ge 3 ]] || rm -rf "$scratch"
