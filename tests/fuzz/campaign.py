#!/usr/bin/env python3
"""Deterministic byte-flip campaign against segstream's six readers.

Builds small seed files with the segstream under test (events, features, model, segments, state and a CSV),
derives mutants from them with a seeded random generator, runs the command that reads each kind on every
mutant, and classifies what happened:

  clean     exit 3 with one error line that names the mutant
  accepted  exit 0 (the flip hit bytes whose change is legal, e.g. one value in a data chunk)
  crash     killed by a signal, exit 1 (internal error) or 134/139, or a sanitizer report
  hang      still running after --timeout seconds
  memory    peak resident memory above --host-memory plus --margin
  unclean   any other exit code, an error that does not name the file, more than one line, or output
            left behind after a failure

Mutations prefer metadata (where HDF5 crashes live): h5py locates the data chunks of every dataset, and half
of all flips land outside them. The same --seed gives the same mutants and the same report.

  campaign.py SEGSTREAM --mutants 3000 --work DIR [--seed 1] [--jobs 2] [--json OUT] [--require-clean]

Exit status: 0 when no mutant crashed, hung, exceeded memory or was unclean (with --require-clean), else 1.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

KINDS = ["events", "features", "model", "segments", "state", "csv"]

# Values that break sizes and offsets when they land in a length or address field.
EXTREMES = [b"\xff" * 8, b"\x00" * 8, b"\x7f\xff\xff\xff\xff\xff\xff\xff", b"\xff\xff\xff\x7f",
            b"\x00\x00\x00\x80", b"\x01\x00\x00\x00\x00\x00\x01\x00", b"\xfe\xff\xff\xff\xff\xff\xff\xff"]


def run_checked(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def build_seeds(segstream, seeds_dir, repo_csv):
    """The six seed inputs, made by the segstream under test (small, so metadata is a large share)."""
    os.makedirs(seeds_dir, exist_ok=True)
    s = segstream
    steps = [
        [s, "generate", "--customers", "300", "--days", "120", "--seed", "7", "--out", "events.h5"],
        [s, "features", "--events", "events.h5", "--out", "features.h5", "--state-out", "state.h5"],
        [s, "fit", "--features", "features.h5", "--k", "4", "--max-epochs", "5", "--breathe", "0",
         "--out", "model.h5"],
        [s, "assign", "--model", "model.h5", "--features", "features.h5", "--out", "segments.h5"],
    ]
    for step in steps:
        if not os.path.exists(os.path.join(seeds_dir, step[-1])):
            run_checked(step, seeds_dir)
    csv_path = os.path.join(seeds_dir, "retail.csv")
    if not os.path.exists(csv_path):
        with open(repo_csv, encoding="utf-8") as src, open(csv_path, "w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i > 400:
                    break
                dst.write(line)
    return {"events": "events.h5", "features": "features.h5", "model": "model.h5",
            "segments": "segments.h5", "state": "state.h5", "csv": "retail.csv"}


def data_ranges(path):
    """File ranges holding dataset elements (chunks or contiguous storage); the rest is metadata."""
    try:
        import h5py
    except ImportError:
        return []
    ranges = []
    with h5py.File(path, "r") as f:
        def visit(_name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            dsid = obj.id
            if obj.chunks is None:
                off = dsid.get_offset()
                if off is not None:
                    ranges.append((off, off + dsid.get_storage_size()))
                return
            for i in range(dsid.get_num_chunks()):
                info = dsid.get_chunk_info(i)
                if info.byte_offset is not None:
                    ranges.append((info.byte_offset, info.byte_offset + info.size))
        f.visititems(visit)
    return sorted(ranges)


def metadata_positions(size, ranges):
    positions = []
    at = 0
    for lo, hi in ranges:
        positions.extend(range(at, min(lo, size)))
        at = max(at, hi)
    positions.extend(range(at, size))
    return positions or list(range(size))


def mutate_binary(data, rng, meta):
    out = bytearray(data)
    how = rng.randrange(5)
    pick = (lambda: rng.choice(meta)) if rng.random() < 0.5 else (lambda: rng.randrange(len(out)))
    if how == 0:  # a few bit flips
        for _ in range(rng.randint(1, 8)):
            p = pick()
            out[p] ^= 1 << rng.randrange(8)
        desc = "bits"
    elif how == 1:  # a run of random bytes
        p = pick()
        n = rng.randint(1, 16)
        for i in range(p, min(p + n, len(out))):
            out[i] = rng.randrange(256)
        desc = "run"
    elif how == 2:  # an extreme integer where a size or address may be
        p = pick()
        v = rng.choice(EXTREMES)
        out[p:p + len(v)] = v
        del out[len(data):]
        desc = "extreme"
    elif how == 3:  # truncated
        keep = rng.randrange(len(out))
        del out[keep:]
        desc = "truncated"
    else:  # one byte set to 0 or 0xff in metadata
        for _ in range(rng.randint(1, 4)):
            out[rng.choice(meta)] = rng.choice([0, 0xFF])
        desc = "byte"
    return bytes(out), desc


CSV_NASTY = ["\x00", "\r", "\ufeff", "1e39", "-1e39", "nan", "inf", "99999999999999999999999", "\"", "\"\"x",
             "2010-13-45", "9999-12-31", "0000-01-01", ",,,,", "\xff\xfe", "a" * 5000, "-0", "1e-400",
             "17850\x00", "\t", ";"]


def mutate_csv(data, rng):
    text = data.decode("utf-8", errors="surrogateescape")
    lines = text.split("\n")
    how = rng.randrange(5)
    if how == 0:  # a nasty token into a random field
        i = rng.randrange(len(lines))
        fields = lines[i].split(",")
        fields[rng.randrange(len(fields))] = rng.choice(CSV_NASTY)
        lines[i] = ",".join(fields)
        desc = "field"
    elif how == 1:  # random bytes
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw), "bytes"
    elif how == 2:  # header damaged
        lines[0] = rng.choice([lines[0].replace(",", ";"), "\ufeff" + lines[0], lines[0][: rng.randrange(
            len(lines[0]) + 1)], lines[0].upper(), ""])
        desc = "header"
    elif how == 3:  # lines dropped, duplicated or cut
        i = rng.randrange(len(lines))
        choice = rng.randrange(3)
        if choice == 0:
            del lines[i]
        elif choice == 1:
            lines.insert(i, lines[i])
        else:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        desc = "lines"
    else:  # truncated
        raw = data[: rng.randrange(len(data))]
        return raw, "truncated"
    return "\n".join(lines).encode("utf-8", errors="surrogateescape"), desc


def reader_command(kind, segstream, mutant, seeds, out, variant):
    """The command that reads a mutant of `kind` (variant picks among the readers of that kind)."""
    s = segstream
    sd = lambda name: os.path.join(seeds["dir"], seeds[name])  # noqa: E731
    if kind == "events":
        return [[s, "inspect", mutant], [s, "features", "--events", mutant, "--out", out],
                [s, "features", "--events", mutant, "--mode", "rfm", "--out", out]][variant % 3]
    if kind == "features":
        return [[s, "inspect", mutant], [s, "fit", "--features", mutant, "--k", "3", "--max-epochs", "3",
                                         "--breathe", "0", "--out", out],
                [s, "assign", "--model", sd("model"), "--features", mutant, "--out", out]][variant % 3]
    if kind == "model":
        return [[s, "inspect", mutant], [s, "assign", "--model", mutant, "--features", sd("features"),
                                         "--out", out],
                [s, "update", "--model", mutant, "--features", sd("features"), "--out-model", out]][variant % 3]
    if kind == "segments":
        return [[s, "inspect", mutant], [s, "report", "--model", sd("model"), "--segments", mutant, "--out",
                                         out + ".html"],
                [s, "update", "--model", sd("model"), "--features", sd("features"), "--previous-segments",
                 mutant, "--out-model", out, "--out", out + ".seg.h5"]][variant % 3]
    if kind == "state":
        return [[s, "inspect", mutant], [s, "features", "--events", sd("events"), "--state-in", mutant,
                                         "--out", out]][variant % 2]
    return [s, "import-csv", mutant, "--customer", "CustomerID", "--time", "InvoiceDate", "--amount",
            "TotalPrice", "--order", "InvoiceNo", "--out", out]


SANITIZER = re.compile(r"(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:)")


def run_one(cmd, timeout, cwd):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = start + timeout
    hung = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        if time.monotonic() > deadline:
            hung = True
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.005)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", errors="replace")
    proc.stderr.close()
    return proc.returncode, err, usage.ru_maxrss * 1024, time.monotonic() - start, hung


def classify(rc, err, rss, hung, mutant, out, limit):
    lines = [l for l in err.splitlines() if l.strip() and "warning:" not in l and " info " not in l]
    error_lines = [l for l in lines if "error:" in l]
    left = [p for p in (out, out + ".html", out + ".json", out + ".seg.h5") if os.path.exists(p)]
    if hung:
        return "hang", "timeout"
    if rc < 0 or rc in (1, 134, 139) or SANITIZER.search(err):
        return "crash", (error_lines[-1] if error_lines else err.strip()[-300:])
    if rss > limit:
        return "memory", f"{rss / 2**20:.0f} MiB"
    if rc == 0:
        return "accepted", ""
    reason = error_lines[0] if error_lines else err.strip()[-300:]
    if rc != 3:
        return "unclean", f"exit {rc}: {reason}"
    if len(error_lines) != 1:
        return "unclean", f"{len(error_lines)} error lines: {reason}"
    if os.path.basename(mutant) not in reason:
        return "unclean", f"names no file: {reason}"
    if left:
        return "unclean", f"left {left}"
    return "clean", ""


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text)
    return int(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("segstream")
    ap.add_argument("--work", required=True)
    ap.add_argument("--mutants", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds a run may take (the hang bound)")
    ap.add_argument("--host-memory", default="1G", help="budget passed to readers and checked")
    ap.add_argument("--margin", default="512M", help="resident memory allowed above the budget")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--json", help="write every outcome here")
    ap.add_argument("--require-clean", action="store_true", help="unclean failures fail the campaign too")
    ap.add_argument("--keep", action="store_true", help="keep mutants that crash, hang or exceed memory")
    args = ap.parse_args()

    segstream = os.path.abspath(args.segstream)
    work = os.path.abspath(args.work)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    seeds_dir = os.path.join(work, "seeds")
    seeds = build_seeds(segstream, seeds_dir, os.path.join(repo, "tests", "data", "mw_online_retail.csv"))
    seeds["dir"] = seeds_dir
    kinds = args.kinds.split(",")
    originals = {}
    for kind in kinds:
        path = os.path.join(seeds_dir, seeds[kind])
        with open(path, "rb") as f:
            data = f.read()
        meta = [] if kind == "csv" else metadata_positions(len(data), data_ranges(path))
        originals[kind] = (data, meta)
    mutants_dir = os.path.join(work, "mutants")
    shutil.rmtree(mutants_dir, ignore_errors=True)
    os.makedirs(mutants_dir)
    kept_dir = os.path.join(work, "kept")
    os.makedirs(kept_dir, exist_ok=True)
    limit = parse_size(args.host_memory) + parse_size(args.margin)
    env_budget = args.host_memory

    def job(i):
        rng = random.Random(args.seed * 1_000_003 + i)
        kind = kinds[i % len(kinds)]
        data, meta = originals[kind]
        mutated, desc = mutate_csv(data, rng) if kind == "csv" else mutate_binary(data, rng, meta)
        ext = ".csv" if kind == "csv" else ".h5"
        mutant = os.path.join(mutants_dir, f"m{i:05d}-{kind}{ext}")
        with open(mutant, "wb") as f:
            f.write(mutated)
        out = os.path.join(mutants_dir, f"out{i:05d}.h5")
        cmd = reader_command(kind, segstream, mutant, seeds, out, i // len(kinds))
        if "--host-memory" not in cmd and cmd[1] in ("features", "fit", "update", "report"):
            cmd += ["--host-memory", env_budget]
        rc, err, rss, seconds, hung = run_one(cmd, args.timeout, mutants_dir)
        outcome, detail = classify(rc, err, rss, hung, mutant, out, limit)
        detail = detail.replace(work, "WORK")  # records name no path of the machine they ran on
        if outcome in ("crash", "hang", "memory") and args.keep:
            shutil.copy(mutant, kept_dir)
        for p in (mutant, out, out + ".html", out + ".json", out + ".seg.h5"):
            if os.path.exists(p):
                os.remove(p)
        return {"i": i, "kind": kind, "mutation": desc, "command": cmd[1], "rc": rc, "outcome": outcome,
                "detail": detail, "rss_mib": round(rss / 2**20, 1), "seconds": round(seconds, 3)}

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(job, range(args.mutants)))
    wall = time.monotonic() - start

    counts = {}
    for r in results:
        counts.setdefault(r["kind"], {}).setdefault(r["outcome"], 0)
        counts[r["kind"]][r["outcome"]] += 1
    outcomes = ["clean", "accepted", "unclean", "crash", "hang", "memory"]
    print(f"{args.mutants} mutants, seed {args.seed}, {wall:.0f} s, budget {args.host_memory} + "
          f"{args.margin}, hang bound {args.timeout:g} s")
    print("| reader | " + " | ".join(outcomes) + " | peak MiB | slowest s |")
    print("|---|" + "---:|" * (len(outcomes) + 2))
    for kind in kinds:
        rs = [r for r in results if r["kind"] == kind]
        print(f"| {kind} | " + " | ".join(str(counts.get(kind, {}).get(o, 0)) for o in outcomes) +
              f" | {max(r['rss_mib'] for r in rs):.0f} | {max(r['seconds'] for r in rs):.2f} |")
    total = {o: sum(c.get(o, 0) for c in counts.values()) for o in outcomes}
    print("| all | " + " | ".join(str(total[o]) for o in outcomes) +
          f" | {max(r['rss_mib'] for r in results):.0f} | {max(r['seconds'] for r in results):.2f} |")
    bad = [r for r in results if r["outcome"] in ("crash", "hang", "memory") or
           (args.require_clean and r["outcome"] == "unclean")]
    shown = {}
    for r in results:
        if r["outcome"] in ("crash", "hang", "memory", "unclean"):
            key = (r["outcome"], r["command"], re.sub(r"m\d{5}", "M", r["detail"])[:160])
            shown.setdefault(key, []).append(r["i"])
    for (outcome, command, detail), ids in sorted(shown.items(), key=lambda kv: -len(kv[1]))[:40]:
        print(f"{outcome:8} {len(ids):4}x {command:10} {detail}  (e.g. mutant {ids[0]})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"seed": args.seed, "mutants": args.mutants, "wall_s": wall, "counts": counts,
                       "results": results}, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
