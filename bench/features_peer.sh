#!/usr/bin/env bash
# `segstream features --mode lifetimes` against its pandas peer (bench/lifetimes_pandas.py: h5py load, then
# pandas groupby/agg with the summary_data_from_transaction_data semantics of lifetimes) on the same events.
#
#   bench/features_peer.sh [--customers N] [--seed S] [--runs R] [--dir WORK] [--build DIR]
#                          [--style groupby|lifetimes]
#
# --style picks the pandas peer (bench/lifetimes_pandas.py): `groupby` (default) is a hand-written
# integer-day groupby/agg; `lifetimes` takes the steps of lifetimes' own summary function (datetimes,
# daily periods, period differences mapped to integers), which is what a data team calling the library runs.
#
# WORK caches the generated events file between runs (default: $SEGSTREAM_BENCH_DIR, else
# ${TMPDIR:-/tmp}/segstream-features-peer); N customers (default 95,000: about 10 million events). The events
# file is read once to warm the page cache, then each side runs R times (default 3) as a fresh process and
# the best time is kept:
#   segstream  wall time of the whole process (date +%s.%N; it includes reading the file and writing and
#              syncing features.h5), peak RSS from /usr/bin/time;
#   pandas     the script's load (h5py -> NumPy) and compute (DataFrame, filter, groupbys) times, each the
#              best of R, and the best load + compute of one run; peak RSS of the process.
# The two summaries are then compared customer by customer (frequency, recency, T exact; monetary_value
# within 1e-5 relative). Appends the records to bench/results/features-peer-DATE.txt; exits 1 when the
# outputs disagree.
#
# pandas and h5py come from $PYTHON if set, else from the first of python3, /usr/bin/python3 (Debian's
# interpreter, where `apt-get install python3-pandas python3-h5py` puts them) that can import them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command="bench/features_peer.sh${*:+ $*}"
customers=95000
seed=42
runs=3
dir=${SEGSTREAM_BENCH_DIR:-${TMPDIR:-/tmp}/segstream-features-peer}
build="$root/build"
style=groupby
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --style) style=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "features_peer.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/host/segstream"
[[ -x $bin ]] || { echo "features_peer.sh: $bin not found; build first (scripts/setup.sh) or give --build" >&2; exit 2; }

has_peer_modules() { "$1" -c 'import numpy, pandas, h5py' >/dev/null 2>&1; }
py=
for candidate in ${PYTHON:-python3 /usr/bin/python3}; do
  if command -v "$candidate" >/dev/null && has_peer_modules "$candidate"; then py=$(command -v "$candidate"); break; fi
done
if [[ -z $py ]]; then
  cat >&2 <<EOF
features_peer.sh: pandas (with numpy and h5py) is not installed for ${PYTHON:-python3 or /usr/bin/python3}.
Install Debian's packages:   apt-get update && apt-get install -y python3-pandas python3-h5py
(or point PYTHON at an interpreter that has pandas, numpy and h5py) and run this script again.
EOF
  exit 3
fi

mkdir -p "$dir"
events="$dir/events-c$customers-s$seed.h5"
if [[ -f $events ]]; then
  echo "features_peer.sh: reusing $events"
else
  echo "features_peer.sh: generating $events"
  "$bin" generate --customers "$customers" --seed "$seed" --out "$events" >/dev/null
fi
n_events=$("$bin" inspect --json --no-stats "$events" | "$py" -c \
  'import json, sys; print(next(d["shape"][0] for d in json.load(sys.stdin)["datasets"] if d["path"] == "/events/customer_id"))')
file_mb=$(( $(stat -c %s "$events") / 1000000 ))
features="$dir/features-lifetimes.h5"
csv="$dir/lifetimes-pandas.csv"

commit=$(git -C "$root" rev-parse --short HEAD)
git -C "$root" diff --quiet HEAD -- || commit="$commit-dirty"
mkdir -p "$root/bench/results"
out="$root/bench/results/features-peer-$(date -u +%Y-%m-%d).txt"
versions=$("$py" -c 'import sys, numpy, pandas, h5py; print(f"python {sys.version.split()[0]}, pandas {pandas.__version__}, numpy {numpy.__version__}, h5py {h5py.__version__}")')
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n): $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
    "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) memory"
  echo "# git commit $commit; $("$bin" --version); $versions"
  echo "# command: $command"
  echo "# events: $n_events from --customers $customers --seed $seed ($file_mb MB); warm page cache, best of $runs;" \
    "pandas style: $style"
} | tee -a "$out"

cat "$events" > /dev/null
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# run segstream i wall_s internal_s peak_rss_MB" | tee -a "$out"
for ((i = 1; i <= runs; i++)); do
  t_start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$tmp/time" "$bin" --log-json features --events "$events" --mode lifetimes \
    --out "$features" --overwrite 2>"$tmp/log" >/dev/null
  t_end=$(date +%s.%N)
  internal=$("$py" -c 'import json, sys
print(next(json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and "\"features finished\"" in l)["seconds"])' "$tmp/log")
  echo "run segstream $i $(seconds "$t_start" "$t_end") $internal $(( $(tail -1 "$tmp/time") / 1024 ))" | tee -a "$out" "$tmp/runs"
done

echo "# run pandas i load_s compute_s process_wall_s peak_rss_MB" | tee -a "$out"
for ((i = 1; i <= runs; i++)); do
  args=("$root/bench/lifetimes_pandas.py" "$events" --style "$style")
  [[ $i -eq 1 ]] && args+=(--csv "$csv")
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$py" "${args[@]}" >"$tmp/pandas"
  read -r wall rss_kb < <(tail -1 "$tmp/time")
  load=$(sed -n 's/.*load_s=\([0-9.]*\).*/\1/p' "$tmp/pandas")
  compute=$(sed -n 's/.*compute_s=\([0-9.]*\).*/\1/p' "$tmp/pandas")
  echo "run pandas $i $load $compute $wall $(( rss_kb / 1024 ))" | tee -a "$out" "$tmp/runs"
done

# Compare customer by customer, then print the summary from the run records above.
if "$py" - "$features" "$csv" "$events" "$tmp/runs" "$n_events" <<'PY' | tee -a "$out"; then status=0; else status=$?; fi
import sys
import h5py
import numpy as np
import pandas as pd

features_path, csv_path, events_path, runs_path = sys.argv[1:5]
events = int(sys.argv[5])
with h5py.File(features_path, "r") as f:
    names = [str(n) for n in f["/features"].attrs["feature_names"]]
    seg = pd.DataFrame(f["/features"][...], columns=names, index=pd.Index(f["/customer_id"][...], name="customer_id"))
with h5py.File(events_path, "r") as f:
    as_of = int(f.attrs["as_of"])
pan = pd.read_csv(csv_path, dtype={"customer_id": "uint64"}).set_index("customer_id")

only_seg = seg.index.difference(pan.index)
only_pan = pan.index.difference(seg.index)
both = seg.index.intersection(pan.index)
s, p = seg.loc[both], pan.loc[both]
bad = {}
for col in ("frequency", "recency", "T"):
    bad[col] = s[col].to_numpy(np.float64) != p[col].to_numpy(np.float64)
a, b = s["monetary_value"].to_numpy(np.float64), p["monetary_value"].to_numpy(np.float64)
bad["monetary_value"] = np.abs(a - b) > 1e-5 * np.maximum(np.abs(a), np.abs(b))
agree = len(only_seg) == 0 and len(only_pan) == 0 and not any(m.any() for m in bad.values())
print(f"# compare: {len(seg)} customers in features.h5, {len(pan)} from pandas, {len(only_seg)} only in "
      f"segstream, {len(only_pan)} only in pandas; mismatches: "
      + ", ".join(f"{c} {int(m.sum())}" for c, m in bad.items())
      + f"; max relative monetary_value difference {np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-30), initial=0):.2e}")
for col, m in bad.items():
    for cid in both[m][:3]:
        print(f"# mismatch {col} customer {cid}: segstream {s.at[cid, col]!r} pandas {p.at[cid, col]!r}")
for cid in list(only_seg[:3]) + list(only_pan[:3]):
    print(f"# customer {cid} is in only one output")
if as_of % 86400:
    print("# note: as_of is not at a day boundary; lifetimes itself keeps every purchase of the last day "
          "(it truncates on periods), segstream and this peer keep purchases <= as_of - 1")

runs = [l.split() for l in open(runs_path)]
seg_runs = [r for r in runs if r[1] == "segstream"]
pan_runs = [r for r in runs if r[1] == "pandas"]
seg_s = min(float(r[3]) for r in seg_runs)
seg_rss = max(int(r[5]) for r in seg_runs)
load_s = min(float(r[3]) for r in pan_runs)
compute_s = min(float(r[4]) for r in pan_runs)
total_s = min(float(r[3]) + float(r[4]) for r in pan_runs)
pan_rss = max(int(r[6]) for r in pan_runs)
print("# events segstream_s segstream_events_per_s segstream_rss_MB pandas_load_s pandas_compute_s "
      "pandas_compute_events_per_s pandas_load_compute_s pandas_load_compute_events_per_s pandas_rss_MB "
      "speedup_vs_compute speedup_vs_load_compute outputs")
print(f"summary {events} {seg_s:.3f} {events / seg_s:.0f} {seg_rss} {load_s:.3f} {compute_s:.3f} "
      f"{events / compute_s:.0f} {total_s:.3f} {events / total_s:.0f} {pan_rss} {compute_s / seg_s:.1f} "
      f"{total_s / seg_s:.1f} {'agree' if agree else 'DISAGREE'}")
print(f"# {events:,} events: segstream {seg_s:.3f} s ({events / seg_s / 1e6:.1f}M events/s); pandas compute "
      f"{compute_s:.3f} s ({events / compute_s / 1e6:.2f}M events/s), load + compute {total_s:.3f} s "
      f"({events / total_s / 1e6:.2f}M events/s); speed-up of segstream: {compute_s / seg_s:.1f}x over the pandas "
      f"compute alone, {total_s / seg_s:.1f}x over load + compute")
sys.exit(0 if agree else 1)
PY
echo "results: $out (work files in $dir)"
exit "$status"
