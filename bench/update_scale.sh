#!/usr/bin/env bash
# update at scale, streamed: time and peak memory of `update` of an N-customer window against a plain
# `assign` of the same window with the same (previous) model; fit and update are streamed through a small
# host budget (assign always streams).
#
#   bench/update_scale.sh SEGSTREAM [--rows N] [--dims D] [--clusters K] [--host-memory B] [--order O]
#                         [--scratch DIR]
#
# Window 1 and window 2 come from `generate --features-only` (--window 2 --drift-fraction 0.1, so 10% of the
# customers change component), by default in `features`' ascending mix64(id) order (--order key), so that
# update merges the previous segments as the window streams (--order customer: held sorted instead).
# `fit --k K` on window 1 and `assign` of window 1 give the previous model and segments. Then, each under
# /usr/bin/time -v:
#   assign  window 2 with the previous model                       (the plain assign)
#   update  window 2 with --out and --previous-segments --changes  (the same labels plus hysteresis, the
#           migrations and the changes CSV, after training)
# update's log record splits its time into phases; "bookkeeping" is its segments phase (labels with
# hysteresis, the join with the previous segments, migrations, changes) over the plain assign's time.
set -euo pipefail
bin=$(realpath "${1:?usage: update_scale.sh SEGSTREAM [--rows N] ...}")
shift
rows=100000000 dims=16 clusters=16 budget=1G order=key scratch=${TMPDIR:-/tmp}/segstream-update-scale
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --dims) dims=$2; shift 2 ;;
    --clusters) clusters=$2; shift 2 ;;
    --host-memory) budget=$2; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    --order) order=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$scratch"
cd "$scratch"
timed() {  # label, command...: prints wall seconds and peak RSS
  local label=$1
  shift
  /usr/bin/time -v "$@" > "$label.out" 2> "$label.err" || { cat "$label.out" "$label.err" >&2; exit 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$label.err" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$label.err" | awk '{print $NF}')
  printf '%-8s wall %s  peak RSS %.0f MiB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
gen=(--features-only --customers "$rows" --dims "$dims" --clusters "$clusters" --seed 3 --order "$order" --overwrite)
[[ -f w1.h5 ]] || "$bin" -q generate "${gen[@]}" --out w1.h5
[[ -f w2.h5 ]] || "$bin" -q generate "${gen[@]}" --window 2 --drift-fraction 0.1 --out w2.h5
echo "segstream $("$bin" --version | head -1); $rows rows x $dims columns, $clusters components; --host-memory $budget"
timed fit "$bin" -q fit --features w1.h5 --k "$clusters" --seed 1 --host-memory "$budget" --out m1.h5 --overwrite
timed assign1 "$bin" -q assign --model m1.h5 --features w1.h5 --out s1.h5 --overwrite
timed assign "$bin" -q assign --model m1.h5 --features w2.h5 --out s2-assign.h5 --overwrite
timed update "$bin" --log-json update --model m1.h5 --features w2.h5 --host-memory "$budget" --out-model m2.h5 \
  --out s2.h5 --previous-segments s1.h5 --changes changes.csv --overwrite
grep -h "update finished" update.err | tail -1
sed -n '1,4p' update.out
assign_s=$(grep "Elapsed (wall clock)" assign.err | awk '{print $NF}' | awk -F: '{print ($1 * 60) + $2}')
segments_s=$(grep -o '"segments_seconds":[0-9.e+-]*' update.err | tail -1 | cut -d: -f2)
echo "bookkeeping: update's segments phase ${segments_s} s against the plain assign's ${assign_s} s"
