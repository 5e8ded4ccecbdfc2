#!/usr/bin/env python3
"""Do the customers whose segment changes in `update` match the customers whose behaviour changed?

Two kinds of base, each for several seeds:

* events (default): `generate --drift-fraction F --drift-at D` over two equal windows (by default the
  years 2024 and 2025, drift on 2025-01-01; both windows hold a holiday season) → `features` of window 1
  (`--as-of` the day before D) and of window 2 (`--since D`) → `fit --k K` and `assign` on window 1 →
  `update` on window 2 with window 1's segments. `--cumulative` takes window 2's features over all events
  instead (every customer's whole history, the first version's method).
* mixture: `generate --features-only` window 1 and `--window 2 --drift-fraction F` (the same rows with
  fresh noise, a fraction F moved to another component) → the same fit, assign and update. Components
  map 1:1 to segments by construction; `--separation` sets how far apart they lie.

The customers in both windows whose segment id changed are compared with those whose true group changed:
precision and recall. Window 1's segments are compared with the true groups too (purity, ARI, and how
many groups are the majority of a segment), which says whether the base maps 1:1 to segments. With
`--oracle`, a gradient-boosted classifier trained on window 1's features and true archetypes
(scikit-learn, 3-fold out-of-fold predictions on window 1) labels both windows, and its changed customers
are scored the same way: a bound on what any segmentation of these features can reach. Issue 13's
acceptance asks for precision and recall of at least 0.95 on bases where archetypes map 1:1 to segments.

    update_drift.py SEGSTREAM [--base events|mixture] [--customers N] [--k K] [--seeds 7,19]
                    [--drift 0.1] [--archetypes MIX] [--cumulative] [--separation S] [--clusters K]
                    [--dims D] [--oracle] [--scratch DIR] [--extra-update "ARGS"]
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
        return f["customer_id"][:], f["segment_id"][:][f["segment"][:]]


def ari(a, b):
    """Adjusted Rand index of two labelings (Hubert and Arabie 1985)."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)
    comb = lambda x: x * (x - 1) / 2
    index = comb(table).sum()
    rows, cols, n = comb(table.sum(1)).sum(), comb(table.sum(0)).sum(), comb(len(a))
    expected = rows * cols / n
    return (index - expected) / ((rows + cols) / 2 - expected)


def agreement(labels, truth):
    """Purity, ARI, and the number of true groups that are the majority of some segment."""
    owners, pure = set(), 0
    for s in np.unique(labels):
        values, counts = np.unique(truth[labels == s], return_counts=True)
        owners.add(int(values[counts.argmax()]))
        pure += int(counts.max())
    return pure / len(labels), ari(labels, truth), len(owners)


def score(moved, truth):
    hit = int((moved & truth).sum())
    return hit / max(int(moved.sum()), 1), hit / max(int(truth.sum()), 1)


def oracle(f1, f2, truth1):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_predict
    with h5py.File(f1, "r") as f:
        x1 = f["features"][:]
    with h5py.File(f2, "r") as f:
        x2 = f["features"][:]
    clf = HistGradientBoostingClassifier(max_iter=200, random_state=0)
    p1 = cross_val_predict(clf, x1, truth1, cv=3)
    clf.fit(x1, truth1)
    p2 = clf.predict(x2)
    return p1, p2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("segstream")
    ap.add_argument("--base", choices=["events", "mixture"], default="events")
    ap.add_argument("--customers", type=int, default=100000)
    ap.add_argument("--k", type=int, default=0, help="segments (default: the groups of the base)")
    ap.add_argument("--seeds", default="7,19")
    ap.add_argument("--drift", type=float, default=0.1)
    ap.add_argument("--archetypes", default="", help="events: the generator's mix (default: all ten)")
    ap.add_argument("--cumulative", action="store_true", help="events: window 2's features over all events")
    ap.add_argument("--start", default="2024-01-01")
    ap.add_argument("--days", type=int, default=731)
    ap.add_argument("--drift-at", default="2025-01-01")
    ap.add_argument("--separation", type=float, default=4.0)
    ap.add_argument("--clusters", type=int, default=8)
    ap.add_argument("--dims", type=int, default=12)
    ap.add_argument("--oracle", action="store_true")
    ap.add_argument("--scratch")
    ap.add_argument("--extra-update", default="")
    a = ap.parse_args()
    scratch = a.scratch or tempfile.mkdtemp(prefix="segstream-update-drift-")
    os.makedirs(scratch, exist_ok=True)
    b = a.segstream
    for seed in (int(s) for s in a.seeds.split(",")):
        p = lambda name: os.path.join(scratch, f"{seed}-{name}")
        if a.base == "mixture":
            common = ["--features-only", "--customers", str(a.customers), "--seed", str(seed), "--clusters",
                      str(a.clusters), "--dims", str(a.dims), "--separation", str(a.separation), "--overwrite"]
            run([b, "-q", "generate"] + common + ["--out", p("f1.h5")])
            run([b, "-q", "generate"] + common + ["--window", "2", "--drift-fraction", str(a.drift), "--out",
                                                  p("f2.h5")])
            with h5py.File(p("f2.h5"), "r") as f:
                ids = f["customer_id"][:]
                after = dict(zip(ids.tolist(), f["truth/cluster"][:].tolist()))
                before = dict(zip(ids.tolist(), f["truth/previous_cluster"][:].tolist()))
            groups = a.clusters
        else:
            gen = [b, "-q", "generate", "--customers", str(a.customers), "--seed", str(seed), "--start", a.start,
                   "--days", str(a.days), "--drift-fraction", str(a.drift), "--drift-at", a.drift_at,
                   "--out", p("ev.h5"), "--overwrite"]
            if a.archetypes:
                gen += ["--archetypes", a.archetypes]
            run(gen)
            day_before = run_day_before(a.drift_at)
            run([b, "-q", "features", "--events", p("ev.h5"), "--as-of", day_before + "T23:59:59", "--out",
                 p("f1.h5"), "--overwrite"])
            run([b, "-q", "features", "--events", p("ev.h5"), "--out", p("f2.h5"), "--overwrite"] +
                ([] if a.cumulative else ["--since", a.drift_at]))
            with h5py.File(p("ev.h5"), "r") as f:
                c = f["customers"]
                ids = c["customer_id"][:].tolist()
                before = dict(zip(ids, c["archetype"][:].tolist()))
                after = dict(zip(ids, c["archetype_after_drift"][:].tolist()))
            groups = len(set(before.values()))
        k = a.k or groups
        run([b, "-q", "fit", "--features", p("f1.h5"), "--k", str(k), "--seed", "1", "--out", p("m1.h5"),
             "--overwrite"])
        run([b, "-q", "assign", "--model", p("m1.h5"), "--features", p("f1.h5"), "--out", p("s1.h5"), "--overwrite"])
        run([b, "-q", "update", "--model", p("m1.h5"), "--features", p("f2.h5"), "--out-model", p("m2.h5"), "--out",
             p("s2.h5"), "--previous-segments", p("s1.h5"), "--overwrite"] + shlex.split(a.extra_update))
        with h5py.File(p("m2.h5"), "r") as f:
            made = json.loads(f.attrs["migration"])
        i1, l1 = segments(p("s1.h5"))
        i2, l2 = segments(p("s2.h5"))
        t1 = np.array([before[c] for c in i1.tolist()])
        purity, rand, owners = agreement(l1, t1)
        s1, s2 = dict(zip(i1.tolist(), l1.tolist())), dict(zip(i2.tolist(), l2.tolist()))
        both = [c for c in s1 if c in s2]
        moved = np.array([s1[c] != s2[c] for c in both])
        truth = np.array([before[c] != after[c] for c in both])
        precision, recall = score(moved, truth)
        line = (f"base {seed}: window 1 purity {purity:.3f}, ARI {rand:.3f}, {owners} of {groups} groups own a "
                f"segment; {len(both)} customers in both windows, {int(moved.sum())} changed segment, "
                f"{int(truth.sum())} changed group; precision {precision:.3f}, recall {recall:.3f}; ids made "
                f"{made['created']}, retired {made['retired']}")
        if a.oracle:
            p1, p2 = oracle(p("f1.h5"), p("f2.h5"), t1)
            o1, o2 = dict(zip(i1.tolist(), p1.tolist())), dict(zip(i2.tolist(), p2.tolist()))
            om = np.array([o1[c] != o2[c] for c in both])
            op, orc = score(om, truth)
            line += (f"; supervised classifier: window 1 accuracy {(p1 == t1).mean():.3f}, precision {op:.3f}, "
                     f"recall {orc:.3f}")
        print(line, flush=True)


def run_day_before(date):
    import datetime
    d = datetime.date.fromisoformat(date) - datetime.timedelta(days=1)
    return d.isoformat()


if __name__ == "__main__":
    main()
