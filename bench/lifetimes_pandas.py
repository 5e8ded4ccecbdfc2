#!/usr/bin/env python3
"""The lifetimes summary (frequency, recency, T, monetary_value) of an events.h5, computed with pandas.

The peer of `segstream features --mode lifetimes` for bench/features_peer.sh: the same numbers, written the
way a data scientist would write them with pandas groupby/agg (the semantics of lifetimes'
summary_data_from_transaction_data with day periods, FEATURES.md "lifetimes mode"):

  - purchases (event_type 6) at or before t0 (default: the file's as_of - 1, as `segstream features`);
  - day = timestamp // 86400; purchases of a customer on the same day merge and their amounts add up;
  - frequency = distinct purchase days - 1; recency = last day - first day; T = day(t0) - first day;
  - monetary_value = mean of the per-day sums over the repeat days (all but the first), 0 when frequency = 0.

    lifetimes_pandas.py EVENTS_H5 [--as-of UNIX_SECONDS] [--csv OUT.csv] [--style groupby|lifetimes]

Two styles compute the same numbers:
  groupby    integer days and two groupby/agg calls: a data scientist's hand-written version;
  lifetimes  the steps lifetimes' summary_data_from_transaction_data takes: timestamps to datetimes, to
             daily periods, a groupby per (customer, period), then period differences per customer (the
             library maps each difference to its integer count), and the repeat-period mean of the spend.

Two times are printed separately, on one line of `key=value` pairs:
  load_s     reading the four event columns with h5py into NumPy arrays;
  compute_s  the pandas part: building the DataFrame, filtering, the two groupbys and the formulas.
"""
import argparse
import sys
import time

try:
    import numpy as np
    import pandas as pd
    import h5py
except ImportError as e:
    print(
        f"lifetimes_pandas.py: {e.name} is not installed for {sys.executable}. Install Debian's packages with\n"
        "  apt-get update && apt-get install -y python3-pandas python3-h5py\n"
        "and run this script with that interpreter (/usr/bin/python3 on Debian), e.g. via PYTHON=... for\n"
        "bench/features_peer.sh.",
        file=sys.stderr,
    )
    sys.exit(3)

PURCHASE = 6  # /events/event_type code of a purchase (docs/FORMATS.md)
DAY = 86400


def load(path):
    """The four event columns the summary needs, as NumPy arrays, and the file's as_of attribute."""
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != "segstream.events":
            sys.exit(f"lifetimes_pandas.py: {path}: not a segstream.events file")
        ev = f["events"]
        cols = {
            "customer_id": ev["customer_id"][...],
            "timestamp": ev["timestamp"][...],
            "event_type": ev["event_type"][...],
            "amount": ev["amount"][...],
        }
        as_of = int(f.attrs["as_of"]) if "as_of" in f.attrs else None
    return cols, as_of


def lifetimes_summary(cols, t0):
    """One row per customer with a purchase at or before t0, indexed by customer_id (ascending)."""
    events = pd.DataFrame(cols)
    purchases = events.loc[(events["event_type"] == PURCHASE) & (events["timestamp"] <= t0)]
    purchases = purchases.assign(day=purchases["timestamp"] // DAY, amount=purchases["amount"].astype("float64"))

    # One row per (customer, purchase day), the day's amounts summed; sorted by customer, then day.
    daily = purchases.groupby(["customer_id", "day"])["amount"].sum().reset_index()

    per_customer = daily.groupby("customer_id").agg(
        first_day=("day", "min"),
        last_day=("day", "max"),
        days=("day", "size"),
        total=("amount", "sum"),
        first_day_amount=("amount", "first"),
    )
    summary = pd.DataFrame(index=per_customer.index)
    summary["frequency"] = per_customer["days"] - 1
    summary["recency"] = per_customer["last_day"] - per_customer["first_day"]
    summary["T"] = t0 // DAY - per_customer["first_day"]
    repeat_spend = per_customer["total"] - per_customer["first_day_amount"]
    summary["monetary_value"] = (repeat_spend / summary["frequency"]).where(summary["frequency"] > 0, 0.0)
    return summary


def lifetimes_style_summary(cols, t0):
    """The same summary computed the way the lifetimes library computes it (datetimes and periods)."""
    events = pd.DataFrame(cols)
    purchases = events.loc[(events["event_type"] == PURCHASE) & (events["timestamp"] <= t0)]
    tx = pd.DataFrame({
        "customer_id": purchases["customer_id"].to_numpy(),
        "date": pd.to_datetime(purchases["timestamp"].to_numpy(), unit="s").to_period("D"),
        "amount": purchases["amount"].to_numpy().astype("float64"),
    })
    end = pd.Timestamp(t0, unit="s").to_period("D")
    # one row per customer and period, the period's amounts summed
    tx = tx.groupby(["customer_id", "date"], sort=False)["amount"].sum().reset_index()
    tx = tx.sort_values(["customer_id", "date"])
    tx["first"] = ~tx.duplicated(subset="customer_id", keep="first")
    grouped = tx.groupby("customer_id", sort=True)["date"].agg(["min", "max", "count"])
    summary = pd.DataFrame(index=grouped.index)
    summary["frequency"] = grouped["count"] - 1
    summary["T"] = (end - grouped["min"]).apply(lambda offset: offset.n)
    summary["recency"] = (grouped["max"] - grouped["min"]).apply(lambda offset: offset.n)
    repeat = tx.loc[~tx["first"]].groupby("customer_id")["amount"].mean()
    summary["monetary_value"] = repeat.reindex(summary.index).fillna(0.0)
    return summary[["frequency", "recency", "T", "monetary_value"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("events", help="events.h5 (docs/FORMATS.md)")
    ap.add_argument("--as-of", type=int, help="observation end t0, Unix seconds (default: the file's as_of - 1)")
    ap.add_argument("--csv", help="write the summary here (customer_id, frequency, recency, T, monetary_value)")
    ap.add_argument("--style", choices=["groupby", "lifetimes"], default="groupby",
                    help="hand-written integer-day groupby, or the lifetimes library's datetime/period steps")
    args = ap.parse_args()

    start = time.perf_counter()
    cols, as_of = load(args.events)
    load_s = time.perf_counter() - start
    if args.as_of is not None:
        t0 = args.as_of
    elif as_of is not None:
        t0 = as_of - 1
    else:
        sys.exit(f"lifetimes_pandas.py: {args.events}: has no as_of attribute; give --as-of")

    start = time.perf_counter()
    summary = (lifetimes_summary if args.style == "groupby" else lifetimes_style_summary)(cols, t0)
    compute_s = time.perf_counter() - start

    if args.csv:
        summary.to_csv(args.csv, float_format="%.17g")
    events = len(cols["customer_id"])
    print(f"style={args.style} events={events} purchases_customers={len(summary)} t0={t0} load_s={load_s:.3f} "
          f"compute_s={compute_s:.3f} python={sys.version.split()[0]} pandas={pd.__version__} "
          f"numpy={np.__version__} h5py={h5py.__version__}")


if __name__ == "__main__":
    main()
