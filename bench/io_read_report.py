"""Prints the reader-versus-raw table from io_read_bench's JSON output."""
import json
import sys

with open(sys.argv[1]) as f:
    doc = json.load(f)
ctx = doc["context"]
print(f"host {ctx.get('host_name')}, {ctx.get('num_cpus')} CPUs, {ctx.get('date')}")
print(f"{'file / cache / block rows':<32} {'raw GB/s':>9} {'reader GB/s':>12} {'share':>7}")
worst = None
for b in doc["benchmarks"]:
    if "share" not in b:
        continue
    _, case, rows = b["run_name"].split("/")[:3]
    worst = b["share"] if worst is None else min(worst, b["share"])
    print(f"{case + ' ' + rows:<32} {b['raw_GBps']:>9.2f} {b['reader_GBps']:>12.2f} {b['share']:>6.0%}")
if worst is not None:
    print(f"lowest share: {worst:.0%} (target >= 85%)")
