#!/usr/bin/env python3
"""segstream fit against scikit-learn on the same data: the final inertia of segstream's model is within 1%
of scikit-learn's KMeans (Lloyd, k-means++; KMEANS.md quality bar), and segstream's mini-batch phase (no
refinement) stops after as many steps as MiniBatchKMeans does, give or take the randomness of the batches
(within a factor of three, median of five seeds each), at an inertia within 1% of its. Fails when
scikit-learn, h5py or numpy is missing (scripts/setup.sh installs Debian's python3-sklearn and python3-h5py).

    check_sklearn.py SEGSTREAM_BINARY SCRATCH_DIR
"""
import os
import subprocess
import sys

try:
    import h5py
    import numpy as np
    from sklearn.cluster import KMeans, MiniBatchKMeans
except ImportError as e:
    print(f"FAIL: {e.name} is not installed (scripts/setup.sh installs python3-sklearn and python3-h5py)")
    sys.exit(1)


def run(binary, args):
    r = subprocess.run([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(f"FAIL segstream {' '.join(args)} exited {r.returncode}:\n{r.stdout}")
        sys.exit(1)


def main():
    binary, scratch = sys.argv[1], sys.argv[2]
    os.makedirs(scratch, exist_ok=True)
    failures = 0
    for rows, dims, clusters, k, std in ((20000, 8, 6, 6, 1.0), (20000, 16, 8, 12, 2.5), (30000, 4, 5, 5, 3.0)):
        features = os.path.join(scratch, f"mix-{rows}-{dims}-{k}.h5")
        model = os.path.join(scratch, f"model-{rows}-{dims}-{k}.h5")
        run(binary, ["generate", "--features-only", "--customers", str(rows), "--dims", str(dims), "--clusters",
                     str(clusters), "--cluster-std", str(std), "--seed", "5", "--out", features, "--overwrite"])
        run(binary, ["fit", "--features", features, "--k", str(k), "--transform", "none", "--refine", "20",
                     "--seed", "1", "--out", model, "--overwrite"])
        with h5py.File(features, "r") as f:
            x = f["features"][:].astype(np.float64)
        with h5py.File(model, "r") as f:
            ours = float(f.attrs["inertia"])
        theirs = KMeans(n_clusters=k, init="k-means++", n_init=1, algorithm="lloyd", random_state=0).fit(x).inertia_
        ok = ours <= theirs * 1.01
        failures += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'} {rows} x {dims}, k {k}, cluster std {std}: segstream inertia {ours:.6g}, "
              f"scikit-learn {theirs:.6g} ({100 * (ours / theirs - 1):+.3f}%)")
        # The mini-batch phase alone against MiniBatchKMeans (same batch size, early stopping as it judges).
        our_steps, our_inertia, their_steps, their_inertia = [], [], [], []
        for seed in range(1, 6):
            run(binary, ["fit", "--features", features, "--k", str(k), "--transform", "none", "--batch-size", "256",
                         "--seed", str(seed), "--out", model, "--overwrite"])
            with h5py.File(model, "r") as f:
                our_steps.append(int(f.attrs["steps"]))
                our_inertia.append(float(f.attrs["inertia"]))
            mb = MiniBatchKMeans(n_clusters=k, batch_size=256, n_init=1, random_state=seed).fit(x)
            their_steps.append(mb.n_steps_)
            their_inertia.append(mb.inertia_)
        ours_s, theirs_s = float(np.median(our_steps)), float(np.median(their_steps))
        ours_i, theirs_i = float(np.median(our_inertia)), float(np.median(their_inertia))
        ok = theirs_s / 3 <= ours_s <= theirs_s * 3 and ours_i <= theirs_i * 1.01
        failures += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'} {rows} x {dims}, k {k}, mini-batch: segstream {ours_s:.0f} steps, inertia "
              f"{ours_i:.6g}; MiniBatchKMeans {theirs_s:.0f} steps, inertia {theirs_i:.6g}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
