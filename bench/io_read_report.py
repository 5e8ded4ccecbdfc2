"""Prints reader / raw throughput ratios from io_read_bench's JSON output (medians of the repetitions)."""
import json
import sys

with open(sys.argv[1]) as f:
    doc = json.load(f)

median = {}
for b in doc["benchmarks"]:
    if b.get("aggregate_name") == "median":
        median[b["run_name"]] = b["bytes_per_second"]

# reader run name -> raw run name with the same bytes per block
pairs = [
    ("BM_FeatureRowBlocks/warm/65536/repeats:5/real_time", "BM_RawSequentialRead/features_warm/4194304/repeats:5/real_time"),
    ("BM_FeatureRowBlocks/warm/262144/repeats:5/real_time", "BM_RawSequentialRead/features_warm/16777216/repeats:5/real_time"),
    ("BM_EventColumnBlocks/warm/262144/repeats:5/real_time", "BM_RawSequentialRead/events_warm/7340032/repeats:5/real_time"),
    ("BM_EventColumnBlocks/warm/1048576/repeats:5/real_time", "BM_RawSequentialRead/events_warm/29360128/repeats:5/real_time"),
    ("BM_FeatureRowBlocks/cold/65536/repeats:5/real_time", "BM_RawSequentialRead/features_cold/4194304/repeats:5/real_time"),
    ("BM_FeatureRowBlocks/cold/262144/repeats:5/real_time", "BM_RawSequentialRead/features_cold/16777216/repeats:5/real_time"),
    ("BM_EventColumnBlocks/cold/262144/repeats:5/real_time", "BM_RawSequentialRead/events_cold/7340032/repeats:5/real_time"),
    ("BM_EventColumnBlocks/cold/1048576/repeats:5/real_time", "BM_RawSequentialRead/events_cold/29360128/repeats:5/real_time"),
]
ctx = doc["context"]
print(f"host {ctx.get('host_name')}, {ctx.get('num_cpus')} CPUs, {ctx.get('date')}")
print(f"{'reader':<40} {'reader GB/s':>12} {'raw GB/s':>10} {'share':>7}")
worst = None
for reader, raw in pairs:
    if reader not in median or raw not in median:
        continue
    r, w = median[reader] / 1e9, median[raw] / 1e9
    share = r / w
    worst = share if worst is None else min(worst, share)
    name = reader.replace("/repeats:5/real_time", "")
    print(f"{name:<40} {r:>12.2f} {w:>10.2f} {share:>6.0%}")
if worst is not None:
    print(f"lowest share: {worst:.0%} (target >= 85%)")
