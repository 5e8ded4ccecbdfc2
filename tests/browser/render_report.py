#!/usr/bin/env python3
"""Renders a segstream report in headless Chromium and checks that it drew.

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on fd 3, replies and
events on fd 4, each a JSON message ended by a NUL byte), with nothing but the standard library. Fails (exit
1, one line per problem) on any console error or warning, uncaught exception, failed request or request that
leaves the file, and on any chart (figure.chart) whose SVG did not lay out or has no visible mark. Saves a
full-page screenshot, optional screenshots of single elements, and what the page shows as JSON.

  render_report.py CHROMIUM report.html --screenshot page.png [--clip ID=clip.png | top:H=top.png ...]
                   [--expect-chart ID ...] [--dom dom.json]
"""
import argparse
import base64
import json
import os
import select
import subprocess
import sys
import tempfile
import time

CHECK_CHARTS = r"""
(() => {
  const out = {figures: [], rows: []};
  for (const f of document.querySelectorAll('figure.chart')) {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    let drawn = 0;
    for (const m of f.querySelectorAll('.mark')) {
      const b = m.getBBox();
      if (b.width > 0 && b.height > 0) drawn += 1;
    }
    out.figures.push({id: f.id, width: box.width, height: box.height, marks: drawn,
                      caption: (f.querySelector('figcaption') || {}).textContent || ''});
  }
  for (const tr of document.querySelectorAll('#segment-table tr[data-segment]')) {
    const v = tr.querySelector('td[data-value]');
    out.rows.push({id: Number(tr.dataset.segment), customers: v ? Number(v.dataset.value) : null,
                   text: tr.textContent});
  }
  out.title = document.title;
  out.height = document.documentElement.scrollHeight;
  return JSON.stringify(out);
})()
"""


class Browser:
    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        # The child moves its two ends to fds 3 and 4 (moved out of the way first, so neither move
        # overwrites the other); subprocess then keeps exactly those open.
        def child_fds():
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
             "--user-data-dir=" + profile, "about:blank"],
            pass_fds=(3, 4), preexec_fn=child_fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True, timeout=60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.read(timeout)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_chrome], [], [], left)[0]:
                raise TimeoutError("no reply from Chromium")
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message

    def wait_for(self, method, timeout=60):
        deadline = time.monotonic() + timeout
        while not any(e["method"] == method for e in self.events):
            self.read(max(0.1, deadline - time.monotonic()))

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chromium")
    ap.add_argument("report")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--clip", action="append", default=[],
                    help="ID=PATH: a screenshot of one element (top:H=PATH: of the page's first H pixels)")
    ap.add_argument("--expect-chart", action="append", default=[])
    ap.add_argument("--dom", help="write what the page shows (figures, segment rows) as JSON")
    ap.add_argument("--width", type=int, default=1280)
    args = ap.parse_args()

    url = "file://" + os.path.abspath(args.report)
    problems = []
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(args.chromium, profile)
        try:
            target = b.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            b.session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                               session=False)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                b.send(domain + ".enable")
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": args.width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
            b.send("Page.navigate", {"url": url})
            b.wait_for("Page.loadEventFired")
            result = b.send("Runtime.evaluate", {"expression": CHECK_CHARTS, "returnByValue": True})
            page = json.loads(result["result"]["value"])
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": args.width, "height": int(page["height"]), "deviceScaleFactor": 1,
                    "mobile": False})
            shot = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            for spec in args.clip:
                element, path = spec.split("=", 1)
                if element.startswith("top:"):  # top:H — the page's first H pixels
                    r = {"x": 0, "y": 0, "width": args.width, "height": int(element[4:])}
                else:
                    rect = b.send("Runtime.evaluate", {
                        "expression": f"JSON.stringify(document.getElementById({json.dumps(element)})"
                                      ".getBoundingClientRect())", "returnByValue": True})
                    r = json.loads(rect["result"]["value"])
                clip = {"x": r["x"], "y": r["y"] + 0, "width": r["width"], "height": r["height"], "scale": 1}
                data = b.send("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                          "captureBeyondViewport": True})
                with open(path, "wb") as f:
                    f.write(base64.b64decode(data["data"]))
        finally:
            b.close()

    for e in b.events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            problems.append("console %s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description")))
                                                                    for a in p.get("args", []))))
        elif m == "Runtime.exceptionThrown":
            problems.append("exception: %s" % p["exceptionDetails"].get("text"))
        elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            problems.append("log %s: %s" % (p["entry"]["level"], p["entry"].get("text")))
        elif m == "Network.loadingFailed":
            problems.append("failed request: %s" % p.get("errorText"))
        elif m == "Network.requestWillBeSent":
            u = p["request"]["url"]
            if not (u == url or u.startswith("data:")):
                problems.append("request outside the file: %s" % u)
    ids = [f["id"] for f in page["figures"]]
    for f in page["figures"]:
        if f["width"] <= 0 or f["height"] <= 0 or f["marks"] == 0:
            problems.append("chart %s did not draw (%.0f x %.0f px, %d visible marks)"
                            % (f["id"], f["width"], f["height"], f["marks"]))
    for want in args.expect_chart:
        if want not in ids:
            problems.append("chart %s is missing (the page has %s)" % (want, ", ".join(ids)))
    if not page["figures"]:
        problems.append("the page has no chart")
    if args.dom:
        with open(args.dom, "w") as f:
            json.dump(page, f, indent=1)
    for p in problems:
        print("render_report: " + p, file=sys.stderr)
    if not problems:
        print("render_report: %d charts drawn (%s), screenshot %s"
              % (len(ids), ", ".join(ids), args.screenshot))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
