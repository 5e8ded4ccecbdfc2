#!/usr/bin/env python3
"""How often segstream's default fit finds every true cluster, on data sets of known structure.

For each data set and seed: `segstream fit --k K --transform none --seed S` at otherwise default settings,
then the centroid index (Fränti: the number of true centres that no fitted centre is nearest to, and the
reverse; the larger of the two) and the inertia against the best known (the lowest of scikit-learn's KMeans
with 10 restarts, Lloyd started from the true centres, and every run here). The data sets are drawn here
with numpy from fixed seeds, in the families KMEANS.md's quality bar names:

- overlap-15-{1..4}: 2-D, 15 anisotropic Gaussian clusters of unequal sizes, overlap growing from slight to
  heavy (in the manner of Fränti's S-sets);
- grid-{20,35,50}: 2-D, 20, 35 and 50 clusters of unequal sizes, slightly overlapping (in the manner of the
  A-sets);
- unbalance-8: 2-D, three dense clusters of 2,000 rows and five sparse ones of 100;
- dim-{32,128}: 16 well-separated clusters in 32 and 128 dimensions;
- mix-16x16 (not with --quick): 200,000 rows × 16, 16 unequal anisotropic clusters.

    kmeans_quality.py SEGSTREAM [--seeds N] [--quick] [--scratch DIR] [--extra "ARGS"] [--require FRACTION]

Prints one line per data set (seeds with CI = 0, worst CI, inertia of the median and worst seed over the
best known) and the overall share of runs with CI = 0 and inertia within 1% of the best known. With
--require F it exits 1 when that share is below F.
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
    from sklearn.cluster import KMeans
except ImportError as e:
    print(f"FAIL: {e.name} is not installed (scripts/setup.sh installs python3-sklearn and python3-h5py)")
    sys.exit(1)


def separated_centres(rng, k, d, low, high, min_distance):
    centres = []
    while len(centres) < k:
        c = rng.uniform(low, high, size=d)
        if all(np.linalg.norm(c - o) >= min_distance for o in centres):
            centres.append(c)
    return np.array(centres)


def anisotropic_blobs(rng, centres, sizes, sigma):
    d = centres.shape[1]
    parts, labels = [], []
    for i, (c, n) in enumerate(zip(centres, sizes)):
        scales = sigma * rng.uniform(0.6, 1.4, size=d)
        q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        parts.append(c + (rng.normal(size=(n, d)) * scales) @ q.T)
        labels.append(np.full(n, i))
    return np.concatenate(parts), np.concatenate(labels)


def data_sets(quick):
    sets = []
    for level, sigma in enumerate((0.08, 0.12, 0.16, 0.20), start=1):
        rng = np.random.default_rng(100 + level)
        centres = separated_centres(rng, 15, 2, 0, 10, 1.6)
        sizes = rng.integers(150, 650, size=15)
        x, y = anisotropic_blobs(rng, centres, sizes, sigma * 1.6 * 2.2)
        sets.append((f"overlap-15-{level}", x, y, 15))
    for k in (20, 35, 50):
        rng = np.random.default_rng(200 + k)
        side = np.sqrt(k) * 2.0
        centres = separated_centres(rng, k, 2, 0, side, 1.5)
        sizes = rng.integers(100, 250, size=k)
        x, y = anisotropic_blobs(rng, centres, sizes, 0.25)
        sets.append((f"grid-{k}", x, y, k))
    rng = np.random.default_rng(300)
    centres = separated_centres(rng, 8, 2, 0, 20, 5.0)
    sizes = [2000, 2000, 2000, 100, 100, 100, 100, 100]
    x, y = anisotropic_blobs(rng, centres, sizes, 0.6)
    sets.append(("unbalance-8", x, y, 8))
    for d in (32, 128):
        rng = np.random.default_rng(400 + d)
        centres = rng.uniform(0, 100, size=(16, d))
        x, y = anisotropic_blobs(rng, centres, [64] * 16, 3.0)
        sets.append((f"dim-{d}", x, y, 16))
    if not quick:
        rng = np.random.default_rng(500)
        centres = separated_centres(rng, 16, 16, 0, 30, 12.0)
        sizes = rng.multinomial(200000, rng.dirichlet(np.full(16, 2.0)))
        x, y = anisotropic_blobs(rng, centres, sizes, 1.8)
        sets.append(("mix-16x16", x, y, 16))
    return sets


def write_features(path, x):
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("features", data=x.astype(np.float32))
        ds.attrs["feature_names"] = [f"x{j}" for j in range(x.shape[1])]
        f.create_dataset("customer_id", data=np.arange(len(x), dtype=np.uint64))
        f.attrs["format"] = "segstream.features"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["mode"] = "synthetic-mixture"


def centroid_index(truth, fitted):
    def orphans(a, b):  # centres of a that no centre of b is nearest to
        nearest = np.argmin(((b[:, None, :] - a[None, :, :]) ** 2).sum(-1), axis=1)
        return len(a) - len(set(nearest.tolist()))
    return max(orphans(truth, fitted), orphans(fitted, truth))


def inertia(x, c):
    return float(sum(np.min(((x[i:i + 20000, None, :] - c[None, :, :]) ** 2).sum(-1), axis=1).sum()
                     for i in range(0, len(x), 20000)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("segstream")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scratch")
    ap.add_argument("--extra", default="", help="more fit options, e.g. \"--n-init 3\"")
    ap.add_argument("--require", type=float)
    a = ap.parse_args()
    scratch = a.scratch or tempfile.mkdtemp(prefix="segstream-quality-")
    os.makedirs(scratch, exist_ok=True)
    good = total = 0
    for name, x, y, k in data_sets(a.quick):
        features = os.path.join(scratch, f"{name}.h5")
        model = os.path.join(scratch, f"{name}-model.h5")
        write_features(features, x)
        truth = np.array([x[y == i].mean(axis=0) for i in range(k)])
        x32 = x.astype(np.float32).astype(np.float64)
        best = min(inertia(x32, KMeans(n_clusters=k, init=truth, n_init=1).fit(x32).cluster_centers_),
                   KMeans(n_clusters=k, n_init=10, random_state=0).fit(x32).inertia_)
        results = []
        for seed in range(a.seeds):
            r = subprocess.run([a.segstream, "--quiet", "fit", "--features", features, "--k", str(k), "--transform",
                                "none", "--seed", str(seed), "--out", model, "--overwrite"] + shlex.split(a.extra),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                print(f"FAIL {name} seed {seed}: segstream fit exited {r.returncode}:\n{r.stdout}")
                return 1
            with h5py.File(model, "r") as f:
                c = f["centroids"][:].astype(np.float64)
            results.append((centroid_index(truth, c), inertia(x32, c)))
        best = min([best] + [i for _, i in results])
        ratios = sorted(i / best for _, i in results)
        ok = sum(1 for ci, i in results if ci == 0 and i <= best * 1.01)
        good += ok
        total += len(results)
        print(f"{name:14s} n={len(x):7d} d={x.shape[1]:3d} k={k:2d}: CI=0 in {sum(ci == 0 for ci, _ in results):2d}/"
              f"{len(results)}, worst CI {max(ci for ci, _ in results)}, inertia/best median "
              f"{ratios[len(ratios) // 2]:.4f} worst {ratios[-1]:.4f}; both good in {ok}/{len(results)}", flush=True)
    share = good / total
    print(f"overall: CI = 0 and inertia within 1% of the best known in {good}/{total} runs ({100 * share:.1f}%)")
    if a.require is not None and share < a.require:
        print(f"FAIL: below the required {100 * a.require:.1f}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
