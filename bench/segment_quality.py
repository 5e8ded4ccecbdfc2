#!/usr/bin/env python3
"""How well segstream's default pipeline recovers the generator's archetypes.

For each base (a seed and an archetype mix): `generate` → `features` → `fit --k K` → `assign`, then the
segments against each customer's true archetype at the observation end (after drift, where it drifted):
purity (the share of customers in their segment's majority archetype), ARI, how many archetypes own a
segment (are the majority of at least one), and the segment each archetype's customers mostly fall in with
that segment's name, when the model has names.

    segment_quality.py SEGSTREAM [--customers N] [--k K] [--scratch DIR] [--bases "SEED[:MIX];…"]
                       [--require-purity P] [--require-ari A] [--extra-fit "ARGS"] [--extra-features "ARGS"]

MIX is a generate --archetypes value; the default bases are three seeds of the built-in mix and two other
mixes. With --require-* it exits 1 when a base falls below them or leaves an archetype without a segment.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
    from sklearn.metrics import adjusted_rand_score
except ImportError as e:
    print(f"FAIL: {e.name} is not installed (scripts/setup.sh installs python3-sklearn and python3-h5py)")
    sys.exit(1)

DEFAULT_BASES = ("11;23;37;"
                 "41:champion=2,loyal=2,new_buyer=1,at_risk=1,lapsed=3,seasonal=1,bargain_hunter=2,app_heavy=1,"
                 "category_specialist=1,prospect=1;"
                 "53:champion=1,loyal=1,new_buyer=2,at_risk=2,lapsed=1,seasonal=2,bargain_hunter=1,app_heavy=2,"
                 "category_specialist=2,prospect=3")


def run(args):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(f"FAIL {' '.join(args)} exited {r.returncode}:\n{r.stdout}")
        sys.exit(1)
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("segstream")
    ap.add_argument("--customers", type=int, default=200000)
    ap.add_argument("--k", default="10")
    ap.add_argument("--scratch")
    ap.add_argument("--bases", default=DEFAULT_BASES)
    ap.add_argument("--require-purity", type=float)
    ap.add_argument("--require-ari", type=float)
    ap.add_argument("--extra-fit", default="")
    ap.add_argument("--extra-features", default="")
    a = ap.parse_args()
    scratch = a.scratch or tempfile.mkdtemp(prefix="segstream-segments-")
    os.makedirs(scratch, exist_ok=True)
    failed = False
    for base in a.bases.split(";"):
        seed, _, mix = base.partition(":")
        ev, feat, model, seg = (os.path.join(scratch, n) for n in ("ev.h5", "f.h5", "m.h5", "s.h5"))
        gen = [a.segstream, "--quiet", "generate", "--customers", str(a.customers), "--seed", seed, "--out", ev,
               "--overwrite"] + (["--archetypes", mix] if mix else [])
        run(gen)
        run([a.segstream, "--quiet", "features", "--events", ev, "--out", feat, "--overwrite"] +
            shlex.split(a.extra_features))
        run([a.segstream, "--quiet", "fit", "--features", feat, "--k", a.k, "--out", model, "--overwrite"] +
            shlex.split(a.extra_fit))
        run([a.segstream, "--quiet", "assign", "--model", model, "--features", feat, "--out", seg, "--overwrite"])
        with h5py.File(ev, "r") as f:
            ids = f["customers/customer_id"][:]
            truth = f["customers/archetype_after_drift"][:]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["customers"].attrs["archetype_names"]]
        with h5py.File(seg, "r") as f:
            seg_ids = f["customer_id"][:]
            labels = f["segment"][:]
        with h5py.File(model, "r") as f:
            seg_names = list(f["profile/name"].asstr()[:]) if "profile/name" in f else None
        order = np.argsort(ids)
        pos = np.searchsorted(ids[order], seg_ids)
        t = truth[order][pos].astype(np.int64)
        k = int(labels.max()) + 1
        arche = int(t.max()) + 1
        table = np.zeros((k, arche), dtype=np.int64)
        np.add.at(table, (labels, t), 1)
        purity = table.max(axis=1).sum() / len(labels)
        ari = adjusted_rand_score(t, labels)
        owners = set(table.argmax(axis=1).tolist())
        label = lambda i: (names[i] if names and i < len(names) else str(i))
        where = []
        for i in range(arche):
            s = int(table[:, i].argmax())
            where.append(f"{label(i)}→{s}" + (f" ({seg_names[s]})" if seg_names else ""))
        ok = (a.require_purity is None or purity >= a.require_purity) and \
             (a.require_ari is None or ari >= a.require_ari) and \
             (a.require_purity is None or len(owners) == arche)
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'} base {seed}{' (mix ' + mix + ')' if mix else ''}: purity {purity:.3f}, ARI "
              f"{ari:.3f}, {len(owners)} of {arche} archetypes own a segment; " + ", ".join(where), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
