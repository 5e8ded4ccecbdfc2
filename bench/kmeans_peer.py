#!/usr/bin/env python3
"""Time to a good model, labels included: segstream at its defaults against scikit-learn and FAISS.

On one data set (1,000,000 × 16 by default: 16 anisotropic Gaussian clusters of unequal sizes, drawn as
bench/kmeans_quality.py draws its mix-16x16 set), for k = 16 and k = 64, every configuration is run with
several seeds and timed until it has a model and a label for every row:

- segstream: `fit` (defaults but `--transform none --clip 0`, so its inertia is in the data's own units)
  and `assign`, as two whole processes (reading the file included);
- scikit-learn MiniBatchKMeans (n_init 1 and 3, batch 1024) with `predict` over every row;
- scikit-learn KMeans (Lloyd; n_init 1 and 10; its fit labels every row; one seed at k > 16, where a run
  takes minutes);
- FAISS k-means at its defaults (25 iterations on at most 256 rows per centre) and on every row with
  nredo 5, then `index.search` over every row.

The peers are timed on the matrix already in memory. Every model's inertia is recomputed the same way
(Σ squared distance to the nearest centre, float64) and compared with the best known: the lowest of every
run, and for k = 16 also of Lloyd started from the true centres. A configuration *gets there* when its
median run is within 1% of the best known; its time is the median of its runs. The speed goal is the
ratio of the fastest peer configuration that gets there to segstream.

    kmeans_peer.py SEGSTREAM [--rows N] [--seeds S] [--ks 16,64] [--scratch DIR] [--skip CONFIG@K,…]

Prints `run CONFIG k seed seconds inertia`, then per k `config CONFIG k median_seconds median_ratio gets_there`
and `speedup k PEER ratio`.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kmeans_quality import anisotropic_blobs, separated_centres, write_features  # noqa: E402


def inertia(x, centres):
    best = np.full(x.shape[0], np.inf)
    for c in np.asarray(centres, dtype=np.float64):
        best = np.minimum(best, ((x - c) ** 2).sum(axis=1))
    return float(best.sum())


def segstream_run(binary, features, scratch, k, seed):
    model, segments = os.path.join(scratch, "peer-model.h5"), os.path.join(scratch, "peer-segments.h5")
    start = time.perf_counter()
    for args in (["fit", "--features", features, "--k", str(k), "--seed", str(seed), "--transform", "none",
                  "--clip", "0", "--out", model, "--overwrite"],
                 ["assign", "--model", model, "--features", features, "--out", segments, "--overwrite"]):
        r = subprocess.run([binary, "-q"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            sys.exit(f"FAIL segstream {' '.join(args)}:\n{r.stdout}")
    seconds = time.perf_counter() - start
    with h5py.File(model, "r") as f:
        return seconds, f["centroids_raw"][:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("segstream")
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--ks", default="16,64")
    ap.add_argument("--scratch")
    ap.add_argument("--skip", default="", help="CONFIG@K,… to leave out (e.g. sklearn-kmeans-n_init10@64)")
    a = ap.parse_args()
    skip = set(v for v in a.skip.split(",") if v)
    scratch = a.scratch or tempfile.mkdtemp(prefix="segstream-peer-")
    os.makedirs(scratch, exist_ok=True)

    rng = np.random.default_rng(7)
    centres = separated_centres(rng, 16, 16, 0, 30, 12.0)
    sizes = rng.multinomial(a.rows, rng.dirichlet(np.full(16, 2.0)))
    x, _ = anisotropic_blobs(rng, centres, sizes, 1.8)
    x32 = np.ascontiguousarray(x[rng.permutation(len(x))].astype(np.float32))
    x64 = x32.astype(np.float64)
    features = os.path.join(scratch, "peer-features.h5")
    write_features(features, x32)
    print(f"# data: {a.rows} rows x 16, 16 anisotropic clusters of unequal sizes; seeds {a.seeds}")

    from sklearn.cluster import KMeans, MiniBatchKMeans
    try:
        import faiss
    except ImportError:
        faiss = None
        print("# faiss missing (python3-faiss): its configurations are left out")

    def mbk(k, seed, n_init):
        m = MiniBatchKMeans(n_clusters=k, batch_size=1024, n_init=n_init, random_state=seed).fit(x32)
        m.predict(x32)
        return m.cluster_centers_

    def lloyd(k, seed, n_init):
        return KMeans(n_clusters=k, n_init=n_init, algorithm="lloyd", random_state=seed).fit(x32).cluster_centers_

    def faiss_fit(k, seed, full, nredo):
        kw = {"niter": 25, "seed": seed + 1, "nredo": nredo}
        if full:
            kw["max_points_per_centroid"] = (len(x32) + k - 1) // k
        km = faiss.Kmeans(x32.shape[1], k, **kw)
        km.train(x32)
        km.index.search(x32, 1)
        return km.centroids

    for k in (int(v) for v in a.ks.split(",")):
        configs = [("segstream", None),
                   ("sklearn-minibatch-n_init1", lambda s, k=k: mbk(k, s, 1)),
                   ("sklearn-minibatch-n_init3", lambda s, k=k: mbk(k, s, 3)),
                   ("sklearn-kmeans-n_init1", lambda s, k=k: lloyd(k, s, 1)),
                   ("sklearn-kmeans-n_init10", lambda s, k=k: lloyd(k, s, 10))]
        if faiss is not None:
            configs += [("faiss-defaults", lambda s, k=k: faiss_fit(k, s, False, 1)),
                        ("faiss-full-nredo5", lambda s, k=k: faiss_fit(k, s, True, 5))]
        runs = {}
        for name, fit in configs:
            if f"{name}@{k}" in skip:
                print(f"# {name} at k = {k} left out (--skip)")
                continue
            seeds = 1 if name.startswith("sklearn-kmeans") and k > 16 else a.seeds  # a minute or ten a run
            for seed in range(seeds):
                if fit is None:
                    seconds, c = segstream_run(a.segstream, features, scratch, k, seed)
                else:
                    start = time.perf_counter()
                    c = fit(seed)
                    seconds = time.perf_counter() - start
                value = inertia(x64, c)
                runs.setdefault(name, []).append((seconds, value))
                print(f"run {name} {k} {seed} {seconds:.3f} {value:.8g}", flush=True)
        best = min(v for r in runs.values() for _, v in r)
        if k == 16:
            best = min(best, inertia(x64, KMeans(n_clusters=k, init=centres.astype(np.float32), n_init=1)
                                     .fit(x32).cluster_centers_))
        print(f"best {k} {best:.8g}")
        summary = {}
        for name, r in runs.items():
            secs = float(np.median([s for s, _ in r]))
            ratio = float(np.median([v for _, v in r])) / best
            there = ratio <= 1.01
            summary[name] = (secs, there)
            print(f"config {name} {k} {secs:.3f} {ratio:.5f} {'yes' if there else 'no'}")
        peers = [(s, n) for n, (s, there) in summary.items() if there and n != "segstream"]
        own, own_there = summary["segstream"]
        if peers and own_there:
            s, n = min(peers)
            print(f"speedup {k} {n} {s / own:.2f}")
        else:
            print(f"speedup {k} none (segstream gets there: {'yes' if own_there else 'no'}; "
                  f"peers that do: {len(peers)})")


if __name__ == "__main__":
    main()
