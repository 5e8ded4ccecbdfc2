#!/usr/bin/env python3
"""The report as a reader meets it, in headless Chromium (ctest label `browser`).

Builds a small generated base with drift the way the demo does (generate, features, fit, assign, lifetimes
features, report; then the second window's update and its report), renders both reports with
render_report.py (which fails on any console error, failed request or chart that did not draw), and checks
that the numbers the page shows are those of report.json and of model.h5 and segments.h5.

  report_browser.py SEGSTREAM CHROMIUM SCRATCH
"""
import json
import os
import shutil
import subprocess
import sys

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*args):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (r.returncode, " ".join(args), r.stdout))
    return r.stdout


def check(cond, message):
    if not cond:
        sys.exit("report_browser: " + message)


def render(chromium, html, scratch, name, expect):
    shot, dom = os.path.join(scratch, name + ".png"), os.path.join(scratch, name + ".dom.json")
    args = [sys.executable, os.path.join(HERE, "render_report.py"), chromium, html, "--screenshot", shot,
            "--dom", dom]
    for chart in expect:
        args += ["--expect-chart", chart]
    print(run(*args).strip())
    check(os.path.getsize(shot) > 10000, "the screenshot %s is empty" % shot)
    with open(dom) as f:
        return json.load(f)


def compare(page, content, model_path, segments_path):
    with h5py.File(segments_path, "r") as s, h5py.File(model_path, "r") as m:
        seg_customers = s["profile/customers"][:].tolist()
        seg_ids = s["segment_id"][:].tolist()
        model_ids = m["segment_id"][:].tolist()
        names = [n.decode() for n in s["profile/name"][:]]
        model_names = [n.decode() for n in m["profile/name"][:]]
        rows = s["customer_id"].shape[0]
    check(seg_ids == model_ids, "segments and model disagree on ids")
    check(names == model_names, "segments and model disagree on names")
    check(content["base"]["customers"] == rows, "report.json's customers %s != segments.h5's %d"
          % (content["base"]["customers"], rows))
    shown = {r["id"]: r for r in page["rows"]}
    check(len(shown) == len(seg_ids), "the page shows %d segments, segments.h5 has %d" % (len(shown), len(seg_ids)))
    for i, sid in enumerate(seg_ids):
        js = content["segments"][i]
        check(js["id"] == sid and js["name"] == names[i], "report.json's segment %d is not segments.h5's" % i)
        check(js["customers"] == seg_customers[i], "report.json's customers of %d differ" % sid)
        check(shown[sid]["customers"] == seg_customers[i],
              "the page shows %s customers in segment %d, segments.h5 %d" % (shown[sid]["customers"], sid,
                                                                            seg_customers[i]))
        check(names[i] in shown[sid]["text"], "the page's row of segment %d lacks its name %r" % (sid, names[i]))
    check(page["title"] == content["title"], "the page's title is not report.json's")


def main():
    seg, chromium, scratch = sys.argv[1:4]
    if shutil.which(chromium) is None:
        sys.exit("report_browser: Chromium (%s) is not installed; scripts/setup.sh installs Debian's chromium"
                 % chromium)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    p = lambda name: os.path.join(scratch, name)
    run(seg, "-q", "generate", "--customers", "4000", "--seed", "9", "--start", "2024-01-01", "--days", "731",
        "--drift-fraction", "0.1", "--drift-at", "2025-01-01", "--out", p("events.h5"))
    run(seg, "-q", "features", "--events", p("events.h5"), "--as-of", "2024-12-31T23:59:59Z", "--out", p("f1.h5"))
    run(seg, "-q", "features", "--events", p("events.h5"), "--since", "2025-01-01", "--out", p("f2.h5"))
    run(seg, "-q", "features", "--events", p("events.h5"), "--mode", "lifetimes", "--as-of",
        "2024-12-31T23:59:59Z", "--calibration-end", "2024-10-01", "--out", p("lt1.h5"))
    run(seg, "-q", "fit", "--features", p("f1.h5"), "--k", "8", "--seed", "1", "--out", p("m1.h5"))
    run(seg, "-q", "assign", "--model", p("m1.h5"), "--features", p("f1.h5"), "--out", p("s1.h5"))
    run(seg, "-q", "report", "--model", p("m1.h5"), "--segments", p("s1.h5"), "--lifetimes", p("lt1.h5"),
        "--truth", p("events.h5"), "--out", p("r1.html"))
    with open(p("r1.json")) as f:
        c1 = json.load(f)
    page = render(chromium, p("r1.html"), scratch, "r1",
                  ["chart-sizes", "chart-profile", "chart-truth", "chart-kpi-expected_value",
                   "chart-kpi-holdout_churn_rate"])
    compare(page, c1, p("m1.h5"), p("s1.h5"))

    run(seg, "-q", "update", "--model", p("m1.h5"), "--features", p("f2.h5"), "--out-model", p("m2.h5"),
        "--out", p("s2.h5"), "--previous-segments", p("s1.h5"))
    run(seg, "-q", "report", "--model", p("m2.h5"), "--segments", p("s2.h5"), "--truth", p("events.h5"),
        "--out", p("r2.html"))
    with open(p("r2.json")) as f:
        c2 = json.load(f)
    check(c2["truth"]["kind"] == "archetype after the drift", "the second window's truth is %r" % c2["truth"]["kind"])
    page = render(chromium, p("r2.html"), scratch, "r2",
                  ["chart-sizes", "chart-profile", "chart-truth", "chart-migration", "chart-flows"])
    compare(page, c2, p("m2.h5"), p("s2.h5"))
    with h5py.File(p("s2.h5"), "r") as s:
        stored = json.loads(s.attrs["migration"])
    check(c2["migration"]["matrix"] == stored["matrix"], "the migration matrix is not segments.h5's")
    print("report_browser: both reports drew every chart; their numbers are report.json's and the files'")


if __name__ == "__main__":
    main()
