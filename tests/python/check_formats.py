#!/usr/bin/python3
"""Checks files written by `segstream generate` against docs/FORMATS.md.

Usage: check_formats.py SEGSTREAM_BINARY SCRATCH_DIR

Generates a small events file (with drift), the same customer base with other --threads/--batch/--chunk-rows
and in shuffled order, and a Gaussian-mixture features file, then checks with h5py every statement
docs/FORMATS.md makes about events.h5 and features.h5, plus the atomic-output rules. Prints one line per
failed check and a final "N passed, M failed" line; exits 0 when nothing failed, 1 otherwise.
Needs only Python 3, NumPy and h5py (no pytest).
"""
import glob
import hashlib
import json
import os
import resource
import subprocess
import sys
import traceback

import h5py
import numpy as np

SEED = 7
CUSTOMERS = 3000
DRIFT_FRACTION = 0.2
DRIFT_AT = "2025-07-01"
DRIFT_AT_UNIX = 1751328000  # 2025-07-01T00:00:00Z
WINDOW_START = 1735689600  # 2025-01-01T00:00:00Z, the default --start
DAYS = 365
SHUFFLE_BLOCK = 700
ROWS, DIMS, CLUSTERS = 5000, 5, 4
CLUSTER_STD, SEPARATION = 1.0, 8.0
DAY = 86400

EVENT_TYPES = ["page_view", "content_view", "email_open", "email_click", "search", "cart_add", "purchase",
               "return", "app_session", "support_ticket", "review", "referral", "email_sent"]
CATEGORIES = ["none", "electronics", "books", "music", "fashion", "home", "garden", "toys", "sports", "beauty",
              "grocery", "pets", "auto", "health", "kitchen", "office", "outdoor", "games", "baby", "jewellery",
              "shoes", "movies", "tools", "crafts", "travel"]
CHANNELS = ["web", "app", "store", "phone", "email"]
ARCHETYPES = ["champion", "loyal", "new_buyer", "at_risk", "lapsed", "seasonal", "bargain_hunter", "app_heavy",
              "category_specialist", "prospect"]
# drift_target(): champion→at_risk, loyal→champion, new_buyer→loyal, at_risk→lapsed, lapsed→loyal,
# seasonal→loyal, bargain_hunter→loyal, app_heavy→champion, category_specialist→at_risk, prospect→new_buyer.
DRIFT_TARGET = np.array([3, 0, 1, 4, 1, 1, 1, 0, 3, 2], dtype=np.uint8)
EVENT_COLUMNS = [("customer_id", np.uint64), ("timestamp", np.int64), ("event_type", np.uint8),
                 ("amount", np.float32), ("category", np.uint16), ("channel", np.uint8),
                 ("discount", np.float32)]
TRUTH_COLUMNS = [("customer_id", np.uint64), ("archetype", np.uint8), ("archetype_after_drift", np.uint8),
                 ("drifted", np.uint8)]
WEB, APP, STORE, PHONE, EMAIL = range(5)
PRODUCT = set(range(1, 25))
# Per event type: (allowed channels, allowed categories), as documented in FORMATS.md.
TYPE_RULES = {
    0: ({WEB, APP}, PRODUCT), 1: ({WEB, APP}, PRODUCT), 2: ({EMAIL}, {0}), 3: ({EMAIL}, PRODUCT),
    4: ({WEB, APP}, PRODUCT), 5: ({WEB, APP}, PRODUCT), 6: ({WEB, APP, STORE}, PRODUCT),
    7: ({WEB, APP, STORE}, PRODUCT), 8: ({APP}, {0}), 9: ({PHONE, EMAIL}, {0}), 10: ({WEB}, PRODUCT),
    11: ({WEB}, {0}), 12: ({EMAIL}, {0}),
}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return bool(ok)

    def section(self, name, fn, *args):
        """Runs one group of checks; an exception (a missing dataset, say) counts as one failure."""
        try:
            fn(self, *args)
        except Exception as e:  # noqa: BLE001 - report and go on with the other sections
            self.check(f"{name} (raised)", False, f"{type(e).__name__}: {e}")
            traceback.print_exc(limit=2, file=sys.stdout)


def mix64(x):
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = np.array(x, dtype=np.uint64, copy=True, ndmin=1)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def generated_ids(seed, n):
    offset = mix64(np.uint64(seed) ^ np.uint64(0x5E6573747265616D))[0]
    with np.errstate(over="ignore"):
        return mix64(np.arange(n, dtype=np.uint64) + offset)


def run(binary, args, limit_file_bytes=None):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))
    return subprocess.run([binary, "-q"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=limit if limit_file_bytes else None)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temp_files(directory):
    return sorted(glob.glob(os.path.join(directory, ".*.tmp-*")))


# ---------------------------------------------------------------------------------------------------------
# Shared helpers


def is_vlen_utf8(attrs, name):
    info = h5py.check_string_dtype(attrs.get_id(name).dtype)
    return info is not None and info.length is None and info.encoding == "utf-8"


def check_string_attr(c, obj, where, name, expected=None, startswith=None):
    if not c.check(f"{where} @{name} present", name in obj.attrs):
        return
    c.check(f"{where} @{name} is a scalar variable-length UTF-8 string",
            is_vlen_utf8(obj.attrs, name) and obj.attrs.get_id(name).shape == ())
    value = obj.attrs[name]
    if expected is not None:
        c.check(f"{where} @{name} == {expected!r}", value == expected, f"got {value!r}")
    if startswith is not None:
        c.check(f"{where} @{name} starts with {startswith!r}", isinstance(value, str) and value.startswith(startswith),
                f"got {value!r}")


def check_int_attr(c, obj, where, name, expected=None):
    if not c.check(f"{where} @{name} present", name in obj.attrs):
        return None
    a = obj.attrs.get_id(name)
    c.check(f"{where} @{name} is a scalar int64", a.dtype == np.dtype("<i8") and a.shape == (), f"{a.dtype} {a.shape}")
    value = int(obj.attrs[name])
    if expected is not None:
        c.check(f"{where} @{name} == {expected}", value == expected, f"got {value}")
    return value


def check_list_attr(c, obj, where, name, expected):
    if not c.check(f"{where} @{name} present", name in obj.attrs):
        return []
    a = obj.attrs.get_id(name)
    c.check(f"{where} @{name} is a 1-D list of variable-length UTF-8 strings",
            is_vlen_utf8(obj.attrs, name) and len(a.shape) == 1)
    value = [str(v) for v in obj.attrs[name]]
    c.check(f"{where} @{name} == documented list", value == expected, f"got {value}")
    return value


def check_layout(c, ds, where, chunks, extendible=True):
    """Chunk shape, unlimited first dimension, no filters, fill time never, incremental allocation."""
    dcpl = ds.id.get_create_plist()
    if chunks is None:
        c.check(f"{where} is contiguous", dcpl.get_layout() == h5py.h5d.CONTIGUOUS and ds.chunks is None,
                f"chunks {ds.chunks}")
    else:
        c.check(f"{where} chunks == {chunks}", ds.chunks == chunks, f"got {ds.chunks}")
    if extendible:
        c.check(f"{where} first dimension is unlimited", ds.maxshape[0] is None and ds.maxshape[1:] == ds.shape[1:],
                f"maxshape {ds.maxshape}")
    else:
        c.check(f"{where} has a fixed shape", ds.maxshape == ds.shape, f"maxshape {ds.maxshape}")
    c.check(f"{where} has no filters", dcpl.get_nfilters() == 0, f"{dcpl.get_nfilters()} filters")
    c.check(f"{where} fill time is never", dcpl.get_fill_time() == h5py.h5d.FILL_TIME_NEVER)
    c.check(f"{where} allocation is incremental", dcpl.get_alloc_time() == h5py.h5d.ALLOC_TIME_INCR)


def read_group(f, group, columns):
    return {name: f[group][name][:] for name, _ in columns}


# ---------------------------------------------------------------------------------------------------------
# events.h5


def check_event_root(c, f):
    w = "events.h5 /"
    check_string_attr(c, f, w, "format", "segstream.events")
    check_int_attr(c, f, w, "format_version", 1)
    check_string_attr(c, f, w, "created_by", startswith="segstream ")
    start = check_int_attr(c, f, w, "window_start", WINDOW_START)
    as_of = check_int_attr(c, f, w, "as_of", WINDOW_START + DAYS * DAY)
    c.check("events.h5 as_of > window_start", start is not None and as_of is not None and as_of > start)
    check_string_attr(c, f, w, "generator")
    g = json.loads(f.attrs["generator"])
    expected = {"customers": CUSTOMERS, "start": "2025-01-01", "days": DAYS, "seed": SEED,
                "drift_fraction": DRIFT_FRACTION, "drift_at": DRIFT_AT, "order": "customer",
                "shuffle_block": 32768}
    c.check("events.h5 @generator holds the documented parameters",
            all(g.get(k) == v for k, v in expected.items()) and len(g.get("mix", [])) == len(ARCHETYPES),
            f"got {g}")


def check_event_columns(c, f):
    c.check("events.h5 /events group present", isinstance(f.get("events"), h5py.Group))
    names = set(f["events"].keys())
    c.check("events.h5 /events holds exactly the seven columns", names == {n for n, _ in EVENT_COLUMNS},
            f"got {sorted(names)}")
    lengths = set()
    for name, dtype in EVENT_COLUMNS:
        ds = f["events"][name]
        where = f"events.h5 /events/{name}"
        c.check(f"{where} dtype {np.dtype(dtype).str}", ds.dtype == np.dtype(dtype).newbyteorder("<"), f"got {ds.dtype}")
        c.check(f"{where} rank 1", ds.ndim == 1, f"shape {ds.shape}")
        check_layout(c, ds, where, (262144,))
        lengths.add(ds.shape[0])
    c.check("events.h5 event columns have equal length", len(lengths) == 1, f"lengths {sorted(lengths)}")
    c.check("events.h5 has at least one event", min(lengths) >= 1)


def check_event_attrs(c, f, ev):
    g = f["events"]
    w = "events.h5 /events"
    types = check_list_attr(c, g, w, "event_type_names", EVENT_TYPES)
    cats = check_list_attr(c, g, w, "category_names", CATEGORIES)
    chans = check_list_attr(c, g, w, "channel_names", CHANNELS)
    check_string_attr(c, g, w, "timestamp_unit", "unix seconds, UTC")
    check_string_attr(c, g, w, "amount_unit", "currency units; returns are negative")
    c.check("event_type codes < len(event_type_names)", int(ev["event_type"].max()) < len(types),
            f"max code {ev['event_type'].max()}")
    c.check("category codes < len(category_names)", int(ev["category"].max()) < len(cats),
            f"max code {ev['category'].max()}")
    c.check("channel codes < len(channel_names)", int(ev["channel"].max()) < len(chans),
            f"max code {ev['channel'].max()}")


def check_event_values(c, f, ev):
    ts, et, amount, discount = ev["timestamp"], ev["event_type"], ev["amount"], ev["discount"]
    start, as_of = int(f.attrs["window_start"]), int(f.attrs["as_of"])
    c.check("timestamps within [window_start, as_of)", ts.min() >= start and ts.max() < as_of,
            f"range [{ts.min()}, {ts.max()}] vs [{start}, {as_of})")
    c.check("amount and discount are finite", np.isfinite(amount).all() and np.isfinite(discount).all())
    c.check("discount >= 0", (discount >= 0).all(), f"{(discount < 0).sum()} negative")
    c.check("discount > 0 only on purchases", not ((discount > 0) & (et != 6)).any(),
            f"{((discount > 0) & (et != 6)).sum()} non-purchase events with a discount")
    c.check("purchases (6) have amount > 0", (amount[et == 6] > 0).all(), f"{(amount[et == 6] <= 0).sum()} not positive")
    c.check("returns (7) have amount <= 0", (amount[et == 7] <= 0).all(), f"{(amount[et == 7] > 0).sum()} positive")
    other = (et != 6) & (et != 7)
    c.check("amount == 0 for event types other than purchase and return", (amount[other] == 0).all(),
            f"{(amount[other] != 0).sum()} non-zero")
    c.check("some purchases use a discount", (discount[et == 6] > 0).any())
    used = set(np.unique(et).tolist())
    c.check("every event type 0-12 occurs", used == set(range(13)), f"types used {sorted(used)}")
    for code, (channels, categories) in TYPE_RULES.items():
        m = et == code
        ch = set(np.unique(ev["channel"][m]).tolist())
        ca = set(np.unique(ev["category"][m]).tolist())
        c.check(f"{EVENT_TYPES[code]} ({code}): channel and category as documented",
                ch <= channels and ca <= categories,
                f"channels {sorted(ch)} (allowed {sorted(channels)}), categories {sorted(ca)}")


def check_returns_match_purchases(c, ev):
    et = ev["event_type"]
    key = lambda i: (int(ev["customer_id"][i]), int(ev["category"][i]), int(ev["channel"][i]))
    purchases = {}
    for i in np.flatnonzero(et == 6):
        purchases.setdefault(key(i) + (float(ev["amount"][i]),), []).append(int(ev["timestamp"][i]))
    unmatched = 0
    returns = np.flatnonzero(et == 7)
    for i in returns:
        t = int(ev["timestamp"][i])
        times = purchases.get(key(i) + (-float(ev["amount"][i]),), [])
        if not any(3 * DAY <= t - tp <= 30 * DAY for tp in times):
            unmatched += 1
    c.check("every return mirrors an earlier purchase (same customer, category, channel, -amount, 3-30 days before)",
            len(returns) > 0 and unmatched == 0, f"{unmatched} of {len(returns)} returns unmatched")


def check_customers(c, f, ev):
    g = f["customers"]
    names = set(g.keys())
    c.check("events.h5 /customers holds the four truth datasets", names == {n for n, _ in TRUTH_COLUMNS},
            f"got {sorted(names)}")
    for name, dtype in TRUTH_COLUMNS:
        ds = g[name]
        where = f"events.h5 /customers/{name}"
        c.check(f"{where} dtype {np.dtype(dtype).str}", ds.dtype == np.dtype(dtype).newbyteorder("<"), f"got {ds.dtype}")
        c.check(f"{where} shape ({CUSTOMERS},)", ds.shape == (CUSTOMERS,), f"got {ds.shape}")
        check_layout(c, ds, where, (min(CUSTOMERS, 65536),))
    check_list_attr(c, g, "events.h5 /customers", "archetype_names", ARCHETYPES)
    check_int_attr(c, g, "events.h5 /customers", "drift_at", DRIFT_AT_UNIX)

    ids = g["customer_id"][:]
    c.check("customer ids are unique", len(np.unique(ids)) == len(ids))
    c.check("customer ids == mix64(i + mix64(seed ^ 0x5E6573747265616D))",
            np.array_equal(ids, generated_ids(SEED, CUSTOMERS)))
    cid = ev["customer_id"]
    c.check("every /events/customer_id is in /customers/customer_id", np.isin(cid, ids).all(),
            f"{(~np.isin(cid, ids)).sum()} events of unknown customers")
    c.check("every customer has at least one event", np.isin(ids, cid).all(),
            f"{(~np.isin(ids, cid)).sum()} customers without events")


def check_customer_order(c, f, ev):
    cid = ev["customer_id"]
    starts = np.concatenate(([0], np.flatnonzero(cid[1:] != cid[:-1]) + 1))
    runs = cid[starts]
    ids = f["customers/customer_id"][:]
    c.check("customer order: one run of events per customer, runs in /customers/customer_id order",
            np.array_equal(runs, ids), f"{len(runs)} runs for {len(ids)} customers")
    run_index = np.repeat(np.arange(len(starts)), np.diff(np.concatenate((starts, [len(cid)]))))
    keys = (ev["discount"], ev["amount"], ev["channel"], ev["category"], ev["event_type"], ev["timestamp"], run_index)
    order = np.lexsort(keys)
    c.check("customer order: each customer's events sorted by timestamp, ties by type, category, channel, amount, discount",
            np.array_equal(order, np.arange(len(cid))), f"first disorder at row {np.argmax(order != np.arange(len(cid)))}")


def check_truth(c, f, ev):
    g = f["customers"]
    arch, after, drifted = g["archetype"][:], g["archetype_after_drift"][:], g["drifted"][:]
    c.check("archetype codes < len(archetype_names)", arch.max() < len(ARCHETYPES))
    c.check("archetype_after_drift codes < len(archetype_names)", after.max() < len(ARCHETYPES))
    c.check("drifted is 0 or 1", set(np.unique(drifted).tolist()) <= {0, 1})
    share = drifted.mean()
    c.check(f"drifted share close to --drift-fraction {DRIFT_FRACTION}", abs(share - DRIFT_FRACTION) < 0.04,
            f"got {share:.3f}")
    c.check("archetype_after_drift != archetype exactly where drifted == 1",
            np.array_equal(after != arch, drifted == 1), f"{((after != arch) != (drifted == 1)).sum()} mismatches")
    m = drifted == 1
    c.check("archetype_after_drift == drift_target(archetype) for drifted customers",
            np.array_equal(after[m], DRIFT_TARGET[arch[m]]))
    # Behaviour agrees with truth: a prospect never buys, so a prospect's purchases come after the drift only.
    ids = g["customer_id"][:]
    prospect_ids = ids[arch == ARCHETYPES.index("prospect")]
    stayed = ids[(arch == ARCHETYPES.index("prospect")) & (drifted == 0)]
    buy = ev["event_type"] == 6
    pb = buy & np.isin(ev["customer_id"], prospect_ids)
    c.check("prospects buy only after drifting (at or after drift_at)",
            not np.isin(ev["customer_id"][pb], stayed).any() and (ev["timestamp"][pb] >= DRIFT_AT_UNIX).all(),
            f"{pb.sum()} prospect purchases")


def check_same_data(c, path_a, path_b, what):
    """Every dataset and attribute equal (layout aside)."""
    diffs = []
    with h5py.File(path_a, "r") as a, h5py.File(path_b, "r") as b:
        def attrs_equal(x, y, where):
            if set(x.attrs) != set(y.attrs):
                diffs.append(f"{where}: attribute names differ")
                return
            for k in x.attrs:
                u, v = x.attrs[k], y.attrs[k]
                if not np.array_equal(np.asarray(u), np.asarray(v)):
                    diffs.append(f"{where} @{k}")
        names_a, names_b = [], []
        a.visit(names_a.append)
        b.visit(names_b.append)
        if sorted(names_a) != sorted(names_b):
            diffs.append("object names differ")
        attrs_equal(a, b, "/")
        for name in names_a:
            if name not in b:
                continue
            attrs_equal(a[name], b[name], name)
            if isinstance(a[name], h5py.Dataset) and not np.array_equal(a[name][()], b[name][()]):
                diffs.append(name)
    c.check(what, not diffs, "differs in " + ", ".join(diffs[:5]))


def check_shuffled(c, path_customer, path_shuffled):
    with h5py.File(path_customer, "r") as a, h5py.File(path_shuffled, "r") as s:
        g = json.loads(s.attrs["generator"])
        c.check("shuffled file: @generator records order and shuffle_block",
                g.get("order") == "shuffled" and g.get("shuffle_block") == SHUFFLE_BLOCK, f"got {g}")
        ids = a["customers/customer_id"][:]
        c.check("shuffled file: same /customers as the customer-ordered file",
                np.array_equal(ids, s["customers/customer_id"][:])
                and np.array_equal(a["customers/archetype"][:], s["customers/archetype"][:]))
        cols_a = [a["events"][n][:] for n, _ in EVENT_COLUMNS]
        cols_s = [s["events"][n][:] for n, _ in EVENT_COLUMNS]
        same = len(cols_a[0]) == len(cols_s[0])
        if same:
            oa, os_ = np.lexsort(cols_a[::-1]), np.lexsort(cols_s[::-1])
            same = all(np.array_equal(x[oa], y[os_]) for x, y in zip(cols_a, cols_s))
        c.check("shuffled file: the same multiset of events as customer order", same)
        index = np.argsort(ids)
        row = index[np.searchsorted(ids, cols_s[0], sorter=index)]
        block = row // SHUFFLE_BLOCK
        c.check(f"shuffled file: blocks of {SHUFFLE_BLOCK} customers occupy contiguous rows, in order",
                (np.diff(block) >= 0).all())
        first = cols_s[0][block == 0]
        runs = 1 + np.count_nonzero(first[1:] != first[:-1])
        c.check("shuffled file: events inside a block are not grouped by customer", runs > 0.9 * len(first),
                f"{runs} runs among {len(first)} events")


# ---------------------------------------------------------------------------------------------------------
# features.h5


def check_features(c, path, events_path):
    with h5py.File(path, "r") as f:
        w = "features.h5 /"
        check_string_attr(c, f, w, "format", "segstream.features")
        check_int_attr(c, f, w, "format_version", 1)
        check_string_attr(c, f, w, "mode", "synthetic-mixture")
        check_string_attr(c, f, w, "created_by", startswith="segstream ")
        check_string_attr(c, f, w, "generator")
        g = json.loads(f.attrs["generator"])
        expected = {"rows": ROWS, "dims": DIMS, "clusters": CLUSTERS, "seed": SEED, "cluster_std": CLUSTER_STD,
                    "separation": SEPARATION}
        c.check("features.h5 @generator holds the documented parameters",
                all(g.get(k) == v for k, v in expected.items()), f"got {g}")

        target = (4 << 20) // (4 * DIMS)  # rows in 4 MiB of float32 rows
        rows_per_chunk = min(max(1 << (target.bit_length() - 1), 1024), 1 << 20)  # bit_floor, clamped
        X = f["features"]
        c.check("features.h5 /features dtype <f4", X.dtype == np.dtype("<f4"), f"got {X.dtype}")
        c.check("features.h5 /features rank 2, shape (N, D)", X.shape == (ROWS, DIMS), f"got {X.shape}")
        check_layout(c, X, "features.h5 /features", (rows_per_chunk, DIMS))
        ids_ds = f["customer_id"]
        c.check("features.h5 /customer_id dtype <u8", ids_ds.dtype == np.dtype("<u8"), f"got {ids_ds.dtype}")
        c.check("features.h5 /customer_id rank 1, one per row", ids_ds.shape == (ROWS,), f"got {ids_ds.shape}")
        check_layout(c, ids_ds, "features.h5 /customer_id", (rows_per_chunk,))
        names = check_list_attr(c, X, "features.h5 /features", "feature_names", [f"x{j}" for j in range(DIMS)])
        c.check("feature_names length == columns", len(names) == X.shape[1])

        cl = f["truth/cluster"]
        c.check("features.h5 /truth/cluster dtype <i4, shape (N,)", cl.dtype == np.dtype("<i4") and cl.shape == (ROWS,),
                f"got {cl.dtype} {cl.shape}")
        check_layout(c, cl, "features.h5 /truth/cluster", (min(ROWS, 1 << 18),))
        ce = f["truth/centers"]
        c.check("features.h5 /truth/centers dtype <f4, shape (clusters, dims)",
                ce.dtype == np.dtype("<f4") and ce.shape == (CLUSTERS, DIMS), f"got {ce.dtype} {ce.shape}")
        check_layout(c, ce, "features.h5 /truth/centers", None, extendible=False)

        x, labels, centers, ids = X[:], cl[:], ce[:], ids_ds[:]
        c.check("features are finite", np.isfinite(x).all())
        c.check("/truth/cluster in [0, clusters)", labels.min() >= 0 and labels.max() < CLUSTERS,
                f"range [{labels.min()}, {labels.max()}]")
        c.check("every cluster has rows", len(np.unique(labels)) == CLUSTERS)
        c.check("features.h5 customer ids unique and == mix64(i + mix64(seed ^ 0x5E6573747265616D))",
                np.array_equal(ids, generated_ids(SEED, ROWS)))
        with h5py.File(events_path, "r") as e:
            c.check("row i has the same id in features.h5 and events.h5 for the same seed",
                    np.array_equal(ids[:CUSTOMERS], e["customers/customer_id"][:]))
        d2 = ((centers[:, None, :].astype(np.float64) - centers[None, :, :]) ** 2).sum(axis=2)
        off = d2[~np.eye(CLUSTERS, dtype=bool)]
        c.check("centres at least separation x cluster_std apart",
                off.min() >= (SEPARATION * CLUSTER_STD) ** 2 * (1 - 1e-6), f"min distance {np.sqrt(off.min()):.3f}")
        worst_mean, spreads = 0.0, []
        for k in range(CLUSTERS):
            xk = x[labels == k].astype(np.float64)
            worst_mean = max(worst_mean, np.abs(xk.mean(axis=0) - centers[k]).max())
            spreads.append((xk - centers[k]).std())
        c.check("each cluster's rows are centred on /truth/centers", worst_mean < 0.3, f"worst offset {worst_mean:.3f}")
        c.check("per-cluster spread within [0.7, 1.3] x cluster_std (sampling tolerance 0.1)",
                all(0.6 < s / CLUSTER_STD < 1.4 for s in spreads), f"spreads {np.round(spreads, 3)}")


# ---------------------------------------------------------------------------------------------------------


def check_imported(c, binary, scratch):
    """events.h5 from import-csv: the seven columns, /events/order_id, the import attributes, no /customers."""
    csv = os.path.join(scratch, "orders.csv")
    out = os.path.join(scratch, "imported.h5")
    with open(csv, "w", newline="") as f:
        f.write("InvoiceNo,InvoiceDate,CustomerID,TotalPrice\r\n")
        f.write("536365,2010-12-01 08:26:00,017850,139.12\r\n")
        f.write("C536379,2010-12-01 09:41:00,14527,-27.50\r\n")
        f.write("536366,2010-12-02,A-7,22.20\r\n")
    r = run(binary, ["import-csv", csv, "--customer", "CustomerID", "--time", "InvoiceDate", "--amount", "TotalPrice",
                     "--order", "InvoiceNo", "--overwrite", "--out", out])
    if not c.check("import-csv exits 0", r.returncode == 0, r.stdout + r.stderr):
        return
    with h5py.File(out, "r") as f:
        check_string_attr(c, f, "imported /", "format", "segstream.events")
        check_string_attr(c, f, "imported /", "source", "orders.csv")
        check_string_attr(c, f, "imported /", "import_columns",
                          "customer=CustomerID, time=InvoiceDate, amount=TotalPrice, order=InvoiceNo")
        check_int_attr(c, f, "imported /", "window_start", 1291161600)  # 2010-12-01
        check_int_attr(c, f, "imported /", "as_of", 1291334400)  # 2010-12-03, the day after the last event
        c.check("imported file has no /customers group", "customers" not in f)
        ev = read_group(f, "events", EVENT_COLUMNS + [("order_id", np.uint64)])
        c.check("/events/order_id is uint64 of the events' length",
                f["events/order_id"].dtype == np.uint64 and f["events/order_id"].shape == (3,))
        c.check("a plain integer id is its own key", int(ev["customer_id"][1]) == 14527)
        keys, texts = f["id_text/key"][:], [t.decode() if isinstance(t, bytes) else t for t in f["id_text/text"][:]]
        c.check("/id_text/key is uint64, ascending", keys.dtype == np.uint64 and bool(np.all(np.diff(keys) > 0)))
        text_of = dict(zip((int(k) for k in keys), texts))
        c.check("ids kept as text: '017850' and 'A-7' by their own text, nothing else in the table",
                text_of == {int(ev["customer_id"][0]): "017850", int(ev["customer_id"][2]): "A-7"}, str(text_of))
        c.check("text keys have the top bit set", all(k >> 63 == 1 for k in text_of))
        c.check("numeric order ids keep their value", int(ev["order_id"][0]) == 536365)
        c.check("a negative purchase is stored as a return", int(ev["event_type"][1]) == 7 and ev["amount"][1] < 0)
        c.check("other rows are purchases", int(ev["event_type"][0]) == 6 and int(ev["event_type"][2]) == 6)
        c.check("dates without a time are midnight UTC", int(ev["timestamp"][2]) == 1291248000)
        c.check("'017850' is not 17850", int(ev["customer_id"][0]) != 17850)


def check_feature_modes(c, binary, scratch):
    """features.h5 from `features --mode lifetimes|rfm` and rfm.h5 from `rfm`, as FORMATS.md describes them."""
    events = os.path.join(scratch, "fm_events.h5")
    lifetimes = os.path.join(scratch, "fm_lifetimes.h5")
    rfm_features = os.path.join(scratch, "fm_rfm_features.h5")
    rfm = os.path.join(scratch, "fm_rfm.h5")
    for args in (["generate", "--customers", "1500", "--seed", "5", "--out", events],
                 ["features", "--events", events, "--mode", "lifetimes", "--multiplier", "7",
                  "--calibration-end", "2025-10-01", "--out", lifetimes],
                 ["features", "--events", events, "--mode", "rfm", "--out", rfm_features],
                 ["rfm", "--features", rfm_features, "--out", rfm]):
        r = run(binary, args + ["--overwrite"])
        if not c.check(f"segstream {args[0]} exits 0", r.returncode == 0, r.stdout + r.stderr):
            return
    with h5py.File(lifetimes, "r") as f:
        check_string_attr(c, f, "lifetimes /", "mode", "lifetimes")
        check_string_attr(c, f, "lifetimes /", "customer_order", "ascending mix64(customer_id)")
        check_int_attr(c, f, "lifetimes /", "as_of", 1767225599)  # the events window's last second
        names = [n.decode() if isinstance(n, bytes) else n for n in f["features"].attrs["feature_names"]]
        c.check("lifetimes columns with holdout", names == ["frequency", "recency", "T", "monetary_value",
                                                           "frequency_holdout", "monetary_value_holdout",
                                                           "duration_holdout"], str(names))
        c.check("lifetimes feature_units has one unit per column", len(f["features"].attrs["feature_units"]) == 7)
        x, ids = f["features"][:], f["customer_id"][:]
        c.check("lifetimes rows are in ascending mix64(customer_id)",
                all(mix64(int(a)) < mix64(int(b)) for a, b in zip(ids[:-1], ids[1:])))
        c.check("frequency, recency, T are non-negative and recency <= T",
                bool((x[:, 0] >= 0).all() and (x[:, 1] >= 0).all() and (x[:, 1] <= x[:, 2] + 1e-4).all()))
        c.check("duration_holdout is (2025-12-31 - 2025-10-01) / 7 for everyone", bool(np.allclose(x[:, 6], 91 / 7)))
    with h5py.File(rfm_features, "r") as f:
        check_string_attr(c, f, "rfm features /", "mode", "rfm")
        names = [n.decode() if isinstance(n, bytes) else n for n in f["features"].attrs["feature_names"]]
        c.check("rfm columns", names == ["recency_days", "frequency", "monetary"], str(names))
        x = f["features"][:]
        c.check("rfm frequency >= 1 and monetary > 0", bool((x[:, 1] >= 1).all() and (x[:, 2] > 0).all()))
        n = x.shape[0]
    with h5py.File(rfm, "r") as f:
        check_string_attr(c, f, "rfm.h5 /", "format", "segstream.rfm")
        check_string_attr(c, f, "rfm.h5 /", "scoring", "rank-cut")
        check_string_attr(c, f, "rfm.h5 /", "map", "rfm11")
        scores = f["scores"][:]
        c.check("rfm.h5 scores are uint8 (N, 3) in 1..5", scores.dtype == np.uint8 and scores.shape == (n, 3)
                and bool(((scores >= 1) & (scores <= 5)).all()))
        segs = len(f["segment"].attrs["segment_names"])
        c.check("rfm.h5 segments index segment_names", bool((f["segment"][:] < segs).all()) and segs == 11)
        c.check("summary customers add up to N", int(f["summary/customers"][:].sum()) == n)
        c.check("summary shares add up to 1", abs(float(f["summary/customer_share"][:].sum()) - 1) < 1e-9
                and abs(float(f["summary/revenue_share"][:].sum()) - 1) < 1e-9)


BEHAVIOURAL_HEAD = ["recency_days", "frequency", "monetary_total", "avg_order_value", "tenure_days",
                    "interpurchase_mean_days", "interpurchase_cv", "return_rate", "events_7d", "events_28d",
                    "events_90d", "active_days_28d", "app_sessions_28d", "email_open_rate", "email_click_rate",
                    "repeat_ratio", "active_month_ratio", "weekend_share", "holiday_share", "hour_entropy",
                    "peak_hour", "discount_share", "category_concentration", "discount_spend_share", "hour_cos",
                    "hour_sin", "cart_rate", "conversion_rate", "support_per_month"]
BEHAVIOURAL_TAIL = ["journey_stage", "churn_risk", "p_alive", "has_purchase"]


def check_behavioural(c, binary, scratch):
    """features.h5 from `features --mode behavioral` and the state file of --state-out (FORMATS.md)."""
    events = os.path.join(scratch, "bh_events.h5")
    features = os.path.join(scratch, "bh_features.h5")
    state = os.path.join(scratch, "bh_state.h5")
    for args in (["generate", "--customers", "1500", "--seed", "6", "--out", events],
                 ["features", "--events", events, "--state-out", state, "--out", features]):
        r = run(binary, args + ["--overwrite"])
        if not c.check(f"segstream {args[0]} exits 0", r.returncode == 0, r.stdout + r.stderr):
            return
    with h5py.File(features, "r") as f:
        check_string_attr(c, f, "behavioral /", "mode", "behavioral")
        check_string_attr(c, f, "behavioral /", "customer_order", "ascending mix64(customer_id)")
        names = [n.decode() if isinstance(n, bytes) else n for n in f["features"].attrs["feature_names"]]
        units = f["features"].attrs["feature_units"]
        c.check("behavioral columns: the fixed head", names[:29] == BEHAVIOURAL_HEAD, str(names[:29]))
        c.check("behavioral columns: the tail", names[-4:] == BEHAVIOURAL_TAIL, str(names[-4:]))
        middle = names[29:-4]
        c.check("five category_share columns by spend, then one channel_share per channel name",
                [n.split("_share_")[0] for n in middle] == ["category"] * 5 + ["channel"] * 5, str(middle))
        c.check("behavioral feature_units has one unit per column", len(units) == len(names))
        params = json.loads(f.attrs["parameters"])
        c.check("parameters record the windows and the BG/NBD parameters",
                params["windows_days"] == [7, 28, 90] and set(params["bgnbd"]) == {"r", "alpha", "a", "b"})
        x, ids = f["features"][:], f["customer_id"][:]
        col = {n: i for i, n in enumerate(names)}
        c.check("every customer with an event has a row, every value finite",
                x.shape[0] == 1500 and bool(np.isfinite(x).all()), str(x.shape))
        c.check("has_purchase is 0 or 1; customers without purchases have frequency 0",
                bool(np.isin(x[:, col["has_purchase"]], [0, 1]).all()
                     and (x[x[:, col["has_purchase"]] == 0, col["frequency"]] == 0).all()))
        shares = [i for n, i in col.items() if "share" in n or n.endswith("_rate") or n in ("p_alive", "repeat_ratio")]
        c.check("shares, rates and p_alive lie in [0, 1]", bool(((x[:, shares] >= 0) & (x[:, shares] <= 1)).all()))
        hour = x[:, [col["hour_cos"], col["hour_sin"]]].astype(np.float64)
        c.check("hour_cos and hour_sin are a mean direction: a vector no longer than 1",
                bool((np.hypot(hour[:, 0], hour[:, 1]) <= 1 + 1e-6).all()))
        c.check("support_per_month is a non-negative rate", bool((x[:, col["support_per_month"]] >= 0).all()))
        c.check("journey_stage is an ordinal 0..5", bool(np.isin(x[:, col["journey_stage"]], range(6)).all()))
        c.check("events_7d <= events_28d <= events_90d",
                bool((x[:, col["events_7d"]] <= x[:, col["events_28d"]]).all()
                     and (x[:, col["events_28d"]] <= x[:, col["events_90d"]]).all()))
        c.check("behavioral rows are in ascending mix64(customer_id)",
                all(mix64(int(a)) < mix64(int(b)) for a, b in zip(ids[:-1], ids[1:])))
    with h5py.File(state, "r") as f:
        check_string_attr(c, f, "state /", "format", "segstream.state")
        check_int_attr(c, f, "state /", "format_version", 1)
        check_int_attr(c, f, "state /", "as_of", 1767225599)
        c.check("state ids equal the features' ids", bool((f["state/customer_id"][:] == ids).all()))
        rec = f["state/record"]
        c.check("state records are uint8 (N, layout bytes)", rec.dtype == np.uint8 and rec.shape[0] == len(ids)
                and rec.shape[1] == json.loads(f.attrs["identity"])["state_layout_bytes"])


def check_model_and_segments(c, binary, scratch):
    """model.h5 from `fit` and segments.h5 from `assign`, as FORMATS.md describes them."""
    features = os.path.join(scratch, "km_features.h5")
    model = os.path.join(scratch, "km_model.h5")
    segments = os.path.join(scratch, "km_segments.h5")
    for args in (["generate", "--features-only", "--customers", "3000", "--dims", "5", "--clusters", "4",
                  "--out", features],
                 ["fit", "--features", features, "--k", "4", "--columns", "x0,x1,x2", "--refine", "1", "--out", model],
                 ["assign", "--model", model, "--features", features, "--out", segments]):
        r = run(binary, args + ["--overwrite"])
        if not c.check(f"segstream {args[0]} exits 0", r.returncode == 0, r.stdout + r.stderr):
            return
    with h5py.File(model, "r") as f:
        check_string_attr(c, f, "model /", "format", "segstream.model")
        check_int_attr(c, f, "model /", "format_version", 1)
        check_string_attr(c, f, "model /", "transform", "auto")
        cfg = json.loads(f.attrs["config"])
        c.check("model config records k, seed and columns", cfg["k"] == 4 and cfg["columns"] == ["x0", "x1", "x2"])
        cen, raw = f["centroids"], f["centroids_raw"]
        c.check("centroids and centroids_raw are float32 (4, 3)", cen.dtype == np.float32 and cen.shape == (4, 3)
                and raw.shape == (4, 3))
        names = [n.decode() if isinstance(n, bytes) else n for n in cen.attrs["feature_names"]]
        c.check("centroids name their columns", names == ["x0", "x1", "x2"])
        log1p, center, scale = f["scaler/log1p"][:], f["scaler/center"][:], f["scaler/scale"][:]
        back = cen[:].astype(np.float64) * scale + center
        back = np.where(log1p.astype(bool), np.expm1(back), back)
        c.check("centroids_raw = the transform inverted on centroids", bool(np.allclose(back, raw[:], rtol=1e-4, atol=1e-4)))
        c.check("counts add up to the rows", int(f["counts"][:].sum()) == 3000 and f["counts"].dtype == np.uint64)
        c.check("segment_id is 0..K-1", list(f["segment_id"][:]) == [0, 1, 2, 3])
        inertia = float(f.attrs["inertia"])
    with h5py.File(segments, "r") as f:
        check_string_attr(c, f, "segments /", "format", "segstream.segments")
        seg, d2, margin = f["segment"][:], f["distance2"][:], f["margin"][:]
        c.check("segments: int32 labels in 0..K-1", seg.dtype == np.int32 and bool(((seg >= 0) & (seg < 4)).all()))
        c.check("segments: distance2 and margin float32, margin >= 0", d2.dtype == np.float32
                and bool((margin >= 0).all()))
        c.check("segments inertia equals the sum of distance2 and the model's", abs(float(d2.astype(np.float64).sum())
                - float(f.attrs["inertia"])) < 1e-3 * float(f.attrs["inertia"]) and abs(float(f.attrs["inertia"]) - inertia)
                < 1e-6 * inertia)
        with h5py.File(features, "r") as g:
            c.check("segments customer_id follows the features' rows", bool((f["customer_id"][:] == g["customer_id"][:]).all()))
            x = g["features"][:].astype(np.float64)
        for path, where in ((model, "model"), (segments, "segments")):
            with h5py.File(path, "r") as h:
                check_profile(c, h, where, x, seg)


def check_files_of_other_writers(c, binary, scratch):
    """Files h5py writes are read as h5py means them: variable-length and fixed-length string attributes,
    fixed-length names that fill their whole width (NULLPAD, h5py's default), no attribute segstream adds."""
    path = os.path.join(scratch, "h5py_features.h5")
    model = os.path.join(scratch, "h5py_model.h5")
    rng = np.random.default_rng(3)
    for names in (np.array(["recency", "spend", "visits"], dtype=h5py.string_dtype()),
                  np.array([b"recency", b"spend__", b"visits_"], dtype="S7")):
        with h5py.File(path, "w") as f:
            x = f.create_dataset("features", data=rng.normal(size=(400, 3)).astype("f4"))
            x.attrs["feature_names"] = names
            f.create_dataset("customer_id", data=np.arange(1, 401, dtype="u8"))
            f.attrs["note"] = np.bytes_(b"seventeen letters")
        want = [n.decode() if isinstance(n, bytes) else n for n in names]
        r = run(binary, ["fit", "--features", path, "--k", "2", "--out", model, "--overwrite"])
        if not c.check(f"fit of an h5py file ({names.dtype}) exits 0", r.returncode == 0, r.stdout + r.stderr):
            continue
        with h5py.File(model, "r") as f:
            got = [v.decode() if isinstance(v, bytes) else v for v in f["centroids"].attrs["feature_names"]]
            c.check(f"its feature names ({names.dtype}) arrive whole", got == want, f"{got} != {want}")
        r = run(binary, ["inspect", "--no-stats", path])
        c.check("inspect shows a full-width fixed-length attribute whole",
                r.returncode == 0 and '"seventeen letters"' in r.stdout, r.stdout[:300])


def check_profile(c, f, where, x, seg):
    """/profile as FORMATS.md "Segment profiles" describes it, against the rows and their segments."""
    if not c.check(f"{where} has /profile", "profile" in f):
        return
    p = f["profile"]
    cols = [n.decode() if isinstance(n, bytes) else n for n in p.attrs["columns"]]
    c.check(f"{where} /profile profiles every column of the file", cols == ["x0", "x1", "x2", "x3", "x4"], str(cols))
    k, d = 4, x.shape[1]
    mean, median, z = p["mean"][:], p["median"][:], p["z"][:]
    c.check(f"{where} /profile mean, median, z are float64 (K, D)",
            all(a.dtype == np.float64 and a.shape == (k, d) for a in (mean, median, z)))
    want_mean = np.array([x[seg == s].mean(axis=0) for s in range(k)])
    want_median = np.array([np.median(x[seg == s], axis=0) for s in range(k)])
    c.check(f"{where} /profile/mean is each segment's mean", bool(np.allclose(mean, want_mean, rtol=1e-9, atol=1e-9)))
    c.check(f"{where} /profile/median is each segment's median", bool(np.allclose(median, want_median, rtol=1e-6)))
    c.check(f"{where} /profile/z against the population", bool(np.allclose(z, (want_mean - x.mean(axis=0)) / x.std(axis=0),
                                                                          rtol=1e-6, atol=1e-9)))
    counts = p["customers"][:]
    c.check(f"{where} /profile/customers count the segments", p["customers"].dtype == np.uint64
            and list(counts) == [int((seg == s).sum()) for s in range(k)])
    c.check(f"{where} /profile/customer_share adds up to 1", abs(float(p["customer_share"][:].sum()) - 1) < 1e-12)
    names = list(p["name"].asstr()[:])
    c.check(f"{where} /profile/name: K unique names", len(names) == k and len(set(names)) == k and all(names), str(names))
    c.check(f"{where} /profile/apart: one text per segment", len(p["apart"].asstr()[:]) == k)
    c.check(f"{where} /profile has no revenue share without a revenue column",
            "revenue_share" not in p and p.attrs["revenue_column"] in ("", b""))


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2])
        return 2
    binary, scratch = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"FAIL {binary} is not an executable file")
        print("0 passed, 1 failed")
        return 1
    os.makedirs(scratch, exist_ok=True)
    for stale in temp_files(scratch):  # left by an earlier, killed run; whatever is found later is ours
        os.remove(stale)
    c = Checks()
    events = os.path.join(scratch, "events.h5")
    events_t1 = os.path.join(scratch, "events_t1.h5")
    events_alt = os.path.join(scratch, "events_alt.h5")
    events_shuffled = os.path.join(scratch, "events_shuffled.h5")
    features = os.path.join(scratch, "features.h5")
    too_big = os.path.join(scratch, "too_big.h5")
    base = ["generate", "--customers", str(CUSTOMERS), "--seed", str(SEED), "--drift-fraction", str(DRIFT_FRACTION),
            "--drift-at", DRIFT_AT, "--overwrite"]
    runs = [
        ("events.h5", ["--threads", "3"] + base + ["--out", events]),
        ("events.h5 (1 thread)", ["--threads", "1"] + base + ["--out", events_t1]),
        ("events.h5 (1 thread, --batch 700, --chunk-rows 10000)",
         ["--threads", "1"] + base + ["--batch", "700", "--chunk-rows", "10000", "--out", events_alt]),
        ("events.h5 (--order shuffled)",
         base + ["--order", "shuffled", "--shuffle-block", str(SHUFFLE_BLOCK), "--out", events_shuffled]),
        ("features.h5", ["generate", "--features-only", "--customers", str(ROWS), "--dims", str(DIMS), "--clusters",
                         str(CLUSTERS), "--seed", str(SEED), "--overwrite", "--out", features]),
    ]
    ok = True
    for what, args in runs:
        r = run(binary, args)
        ok &= c.check(f"generate {what} exits 0", r.returncode == 0, f"rc {r.returncode}: {r.stderr.strip()[-300:]}")
    if not ok:
        print(f"{c.passed} passed, {c.failed} failed")
        return 1

    with h5py.File(events, "r") as f:
        c.section("events.h5 root", check_event_root, f)
        c.section("events.h5 columns", check_event_columns, f)
        ev = read_group(f, "events", EVENT_COLUMNS)
        c.section("events.h5 /events attributes", check_event_attrs, f, ev)
        c.section("events.h5 values", check_event_values, f, ev)
        c.section("events.h5 returns", check_returns_match_purchases, ev)
        c.section("events.h5 /customers", check_customers, f, ev)
        c.section("events.h5 order", check_customer_order, f, ev)
        c.section("events.h5 truth", check_truth, f, ev)
    c.check("same bytes for any --threads (3 and 1)", sha256(events) == sha256(events_t1))
    c.section("determinism", check_same_data, events, events_alt,
              "same data for any --threads, --batch and --chunk-rows")
    with h5py.File(events_alt, "r") as f:
        c.check("--chunk-rows 10000 gives event chunks of 10000 rows", f["events/amount"].chunks == (10000,),
                f"got {f['events/amount'].chunks}")
    c.section("shuffled order", check_shuffled, events, events_shuffled)
    c.section("features.h5", check_features, features, events)

    c.section("events.h5 from import-csv", check_imported, binary, scratch)
    c.section("features.h5 from features, rfm.h5 from rfm", check_feature_modes, binary, scratch)
    c.section("features.h5 from features --mode behavioral, and its state file", check_behavioural, binary, scratch)
    c.section("model.h5 from fit, segments.h5 from assign", check_model_and_segments, binary, scratch)
    c.section("files written by h5py", check_files_of_other_writers, binary, scratch)

    # Atomic output: an existing file is replaced only with --overwrite ...
    before = sha256(events)
    r = run(binary, [a for a in base if a != "--overwrite"] + ["--out", events])
    c.check("existing output without --overwrite: exit code 2", r.returncode == 2, f"rc {r.returncode}")
    c.check("existing output without --overwrite: file unchanged", sha256(events) == before)
    # ... and a failed write leaves neither a file under the final name nor a temporary file.
    if os.path.exists(too_big):
        os.remove(too_big)
    r = run(binary, base + ["--out", too_big], limit_file_bytes=1 << 20)
    c.check("write beyond a 1 MiB file-size limit fails with exit code 4 (resource)", r.returncode == 4,
            f"rc {r.returncode}")
    c.check("failed write leaves no file under the final name", not os.path.exists(too_big))
    c.check("no temporary .NAME.tmp-PID files are left behind", not temp_files(scratch), f"found {temp_files(scratch)}")

    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
