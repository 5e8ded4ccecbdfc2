#!/usr/bin/env python3
"""Do the customers whose segment changes in `update` match the customers whose behaviour changed?

For each base (a generator seed): `generate --drift-fraction F --drift-at D` → `features` as of the day
before the drift (window 1) and as of the end (window 2) → `fit --k K` and `assign` on window 1 →
`update` on window 2 with window 1's segments. The customers in both windows whose segment id changed are
compared with those whose true archetype changed (the generator's /customers/archetype_after_drift):
precision, recall, and the ids made and retired. Issue 13's acceptance asks for precision and recall of
at least 0.95 on bases where archetypes map 1:1 to segments.

    update_drift.py SEGSTREAM [--customers N] [--k K] [--seeds 7,19] [--drift 0.1] [--scratch DIR]
                    [--extra-update "ARGS"]
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"FAIL: {e.name} is not installed (scripts/setup.sh installs python3-h5py)")
    sys.exit(1)


def run(args):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL {' '.join(args)}:\n{r.stdout}")
    return r.stdout


def segments(path):
    with h5py.File(path, "r") as f:
        ids = f["segment_id"][:]
        return dict(zip(f["customer_id"][:].tolist(), ids[f["segment"][:]].tolist()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("segstream")
    ap.add_argument("--customers", type=int, default=200000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seeds", default="7,19")
    ap.add_argument("--drift", type=float, default=0.1)
    ap.add_argument("--scratch")
    ap.add_argument("--extra-update", default="")
    a = ap.parse_args()
    scratch = a.scratch or tempfile.mkdtemp(prefix="segstream-update-drift-")
    os.makedirs(scratch, exist_ok=True)
    b = a.segstream
    for seed in (int(s) for s in a.seeds.split(",")):
        p = lambda name: os.path.join(scratch, f"{seed}-{name}")
        run([b, "-q", "generate", "--customers", str(a.customers), "--seed", str(seed), "--drift-fraction",
             str(a.drift), "--drift-at", "2025-07-01", "--out", p("ev.h5"), "--overwrite"])
        run([b, "-q", "features", "--events", p("ev.h5"), "--as-of", "2025-06-30T23:59:59", "--out", p("f1.h5"),
             "--overwrite"])
        run([b, "-q", "features", "--events", p("ev.h5"), "--out", p("f2.h5"), "--overwrite"])
        run([b, "-q", "fit", "--features", p("f1.h5"), "--k", str(a.k), "--seed", "1", "--out", p("m1.h5"),
             "--overwrite"])
        run([b, "-q", "assign", "--model", p("m1.h5"), "--features", p("f1.h5"), "--out", p("s1.h5"), "--overwrite"])
        run([b, "-q", "update", "--model", p("m1.h5"), "--features", p("f2.h5"), "--out-model", p("m2.h5"), "--out",
             p("s2.h5"), "--previous-segments", p("s1.h5"), "--overwrite"] + shlex.split(a.extra_update))
        with h5py.File(p("ev.h5"), "r") as f:
            c = f["customers"]
            changed_truth = dict(zip(c["customer_id"][:].tolist(),
                                     (c["archetype"][:] != c["archetype_after_drift"][:]).tolist()))
        with h5py.File(p("m2.h5"), "r") as f:
            made = json.loads(f.attrs["migration"])
        s1, s2 = segments(p("s1.h5")), segments(p("s2.h5"))
        both = [c for c in s1 if c in s2]
        moved = np.array([s1[c] != s2[c] for c in both])
        truth = np.array([changed_truth[c] for c in both])
        hit = int((moved & truth).sum())
        precision = hit / max(int(moved.sum()), 1)
        recall = hit / max(int(truth.sum()), 1)
        print(f"base {seed}: {len(both)} customers in both windows, {int(moved.sum())} changed segment, "
              f"{int(truth.sum())} changed archetype; precision {precision:.3f}, recall {recall:.3f}; "
              f"ids made {made['created']}, retired {made['retired']}", flush=True)


if __name__ == "__main__":
    main()
