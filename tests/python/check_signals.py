#!/usr/bin/env python3
"""SIGTERM at random moments of segstream's long commands: each must exit 75 within about a second and leave
nothing under its output names (no file, no temporary sibling).

    check_signals.py SEGSTREAM WORKDIR [--moments 20] [--seed 1] [--bound 1.5] [--json OUT]

Each command runs once uninterrupted to measure its duration D (or is given a window when it runs for
long); then, for each of --moments moments drawn uniformly from [0.05 s, 0.8 D], a fresh run gets SIGTERM at
that moment. The commands: generate, import-csv, features (behavioural, several passes), fit (k = 16, mini-
batch steps without end) and fit at k = 10,000 (its first 5 s: k-means++ at large k).

A run that exits 0 had committed its output before the signal came (the commit is the last check): that is
allowed when the output is whole (`inspect` reads it), and at least 75% of a command's runs must have been
stopped. Prints one line per command and exits 1 when any run broke the rule.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"setup failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}")


def entries(d):
    return sorted(os.listdir(d))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("segstream")
    ap.add_argument("work")
    ap.add_argument("--moments", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bound", type=float, default=1.5, help="seconds from the signal to the exit")
    ap.add_argument("--json")
    a = ap.parse_args()
    seg = a.segstream
    shutil.rmtree(a.work, ignore_errors=True)
    inputs = os.path.join(a.work, "inputs")
    os.makedirs(inputs)
    ev = os.path.join(inputs, "ev.h5")
    run([seg, "-q", "generate", "--customers", "60000", "--days", "365", "--out", ev])
    mix = os.path.join(inputs, "mix.h5")
    run([seg, "-q", "generate", "--features-only", "--customers", "200000", "--dims", "16", "--clusters", "8",
         "--out", mix])
    big = os.path.join(inputs, "mix-big.h5")
    run([seg, "-q", "generate", "--features-only", "--customers", "20000", "--dims", "8", "--clusters", "8",
         "--out", big])
    csv = os.path.join(inputs, "tx.csv")
    with open(csv, "w") as f:
        f.write("id,when,amount\n")
        rng = random.Random(5)
        lines = [f"{rng.randrange(200000)},2025-{1 + i % 12:02d}-{1 + i % 28:02d},{rng.random() * 90:.2f}\n"
                 for i in range(100000)]
        for _ in range(80):
            f.writelines(lines)

    # name: (command for an output directory, window in seconds or None to measure the duration)
    commands = {
        "generate": (lambda out: [seg, "generate", "--customers", "300000", "--days", "365", "--out",
                                  os.path.join(out, "ev.h5")], None),
        "import-csv": (lambda out: [seg, "import-csv", csv, "--customer", "id", "--time", "when",
                                    "--time-format", "%Y-%m-%d", "--amount", "amount", "--out",
                                    os.path.join(out, "tx.h5")], None),
        "features": (lambda out: [seg, "features", "--events", ev, "--host-memory", "16M", "--out",
                                  os.path.join(out, "f.h5"), "--state-out", os.path.join(out, "s.h5")], None),
        "fit k=16": (lambda out: [seg, "fit", "--features", mix, "--k", "16", "--max-epochs", "10000",
                                  "--max-no-improvement", "0", "--out", os.path.join(out, "m.h5")], 2.0),
        "fit k=10000": (lambda out: [seg, "fit", "--features", big, "--k", "10000", "--n-init", "1", "--out",
                                     os.path.join(out, "m.h5")], 5.0),
    }
    rng = random.Random(a.seed)
    failures = []
    results = {}
    for name, (make, window) in commands.items():
        out = os.path.join(a.work, name.replace(" ", "_").replace("=", ""))
        os.makedirs(out)
        if window is None:
            t0 = time.monotonic()
            r = subprocess.run(make(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            duration = time.monotonic() - t0
            if r.returncode != 0:
                failures.append(f"{name}: the uninterrupted run failed ({r.returncode}): {r.stderr.strip()}")
                continue
            for e in entries(out):
                os.remove(os.path.join(out, e))
            window = 0.8 * duration
        latencies = []
        finished_first = 0
        for _ in range(a.moments):
            moment = rng.uniform(0.05, max(0.06, window))
            p = subprocess.Popen(make(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(moment)
            sent = time.monotonic()
            p.send_signal(signal.SIGTERM)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                failures.append(f"{name}: SIGTERM at {moment:.2f} s: still running 30 s later")
                continue
            latency = time.monotonic() - sent
            left = entries(out)
            if p.returncode == 0:
                # Committed before the signal: every output must be whole.
                finished_first += 1
                for e in left:
                    check = subprocess.run([seg, "-q", "inspect", "--no-stats", os.path.join(out, e)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    if check.returncode != 0 or e.startswith("."):
                        failures.append(f"{name}: SIGTERM at {moment:.2f} s: exit 0 but {e} is not whole: "
                                        f"{check.stderr.strip()}")
            else:
                latencies.append(latency)
                if p.returncode != 75:
                    failures.append(f"{name}: SIGTERM at {moment:.2f} s: exit {p.returncode}, expected 75: "
                                    f"{err.strip()[-300:]}")
                elif latency > a.bound:
                    failures.append(f"{name}: SIGTERM at {moment:.2f} s: exited {latency:.2f} s later")
                if left:
                    failures.append(f"{name}: SIGTERM at {moment:.2f} s: left {left}")
            for e in left:
                os.remove(os.path.join(out, e))
        if len(latencies) < 0.75 * a.moments:
            failures.append(f"{name}: only {len(latencies)} of {a.moments} runs were stopped by the signal "
                            f"(the others had finished): the window is too long for the command")
        if latencies:
            median = sorted(latencies)[len(latencies) // 2]
            results[name] = {"window_s": round(window, 2), "stopped": len(latencies),
                             "finished_first": finished_first, "max_latency_s": round(max(latencies), 3),
                             "median_latency_s": round(median, 3)}
            print(f"{name}: {len(latencies)} of {a.moments} signals in its first {window:.1f} s stopped it "
                  f"(exit 75, nothing left) within {max(latencies):.2f} s at most (median {median:.2f} s); "
                  f"{finished_first} came after its commit")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "failures": failures}, f, indent=1)
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
