#!/usr/bin/env python3
"""Peers of `segstream fit` on the same features.h5: scikit-learn MiniBatchKMeans and KMeans (Lloyd) and
FAISS k-means, each timed on the matrix already in memory (the load is timed separately; the median of five
fits, one for KMeans at k > 16), with the final inertia of every model computed the same way (Σ squared distance to the nearest centre, in float64).

    kmeans_peer.py FEATURES_H5 K SEED

Prints one line per peer: `peer NAME k seconds inertia`. A peer whose module is missing prints
`peer NAME k missing`.
"""
import sys
import time

import h5py
import numpy as np


def inertia(x, centres):
    best = np.full(x.shape[0], np.inf)
    for c in centres.astype(np.float64):
        best = np.minimum(best, ((x - c) ** 2).sum(axis=1))
    return float(best.sum())


def main():
    path, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    start = time.perf_counter()
    with h5py.File(path, "r") as f:
        x32 = f["features"][:]
    print(f"load {path} {x32.shape[0]} {x32.shape[1]} {time.perf_counter() - start:.3f}")
    x64 = x32.astype(np.float64)
    def timed(fit, runs):
        """The median time of `runs` fits and the centres of the last; every time is printed."""
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            centres = fit()
            times.append(time.perf_counter() - t)
        print("times " + " ".join(f"{v:.3f}" for v in times))
        return sorted(times)[len(times) // 2], centres

    try:
        from sklearn.cluster import KMeans, MiniBatchKMeans
        for name, make, runs in (
                ("sklearn-minibatch", lambda: MiniBatchKMeans(n_clusters=k, batch_size=1024, n_init=1,
                                                              random_state=seed), 5),
                ("sklearn-kmeans", lambda: KMeans(n_clusters=k, n_init=1, algorithm="lloyd", random_state=seed),
                 5 if k <= 16 else 1)):
            secs, centres = timed(lambda: make().fit(x32).cluster_centers_, runs)
            print(f"peer {name} {k} {secs:.3f} {inertia(x64, centres):.6g}")
    except ImportError:
        print(f"peer sklearn-minibatch {k} missing\npeer sklearn-kmeans {k} missing")
    try:
        import faiss

        def fit_faiss():
            km = faiss.Kmeans(x32.shape[1], k, niter=25, seed=seed)
            km.train(np.ascontiguousarray(x32))
            return km.centroids
        secs, centres = timed(fit_faiss, 5)
        print(f"peer faiss {k} {secs:.3f} {inertia(x64, centres):.6g}")

        # The same, plus labelling every row (index.search), which a segmentation needs and segstream's fit
        # does in its final pass (counts and inertia of every segment).
        def fit_and_label_faiss():
            km = faiss.Kmeans(x32.shape[1], k, niter=25, seed=seed)
            km.train(np.ascontiguousarray(x32))
            km.index.search(np.ascontiguousarray(x32), 1)
            return km.centroids
        secs, centres = timed(fit_and_label_faiss, 5)
        print(f"peer faiss+labels {k} {secs:.3f} {inertia(x64, centres):.6g}")
    except ImportError:
        print(f"peer faiss {k} missing")


if __name__ == "__main__":
    main()
