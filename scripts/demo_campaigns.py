#!/usr/bin/env python3
"""Makes the demo's campaign set from docs/examples/demo-campaigns.json:
absolute flights that start now and end inside the run (at different
points, so utilisation at flight end is meaningful), and budgets sized to
the simulated traffic so that pacing has to work: each campaign may spend
about a third of what it could buy if it bid on everything it is eligible
for (measured on this exchange simulator's traffic; see docs/demo.md).

  demo_campaigns.py [--compat] SRC DST RUN_S RATE [START_MS]

--compat strips what a supervisor without the video/native/deal campaign
schema refuses ("unknown field"): deals, and video/native creatives (a
campaign left without creatives is dropped).
"""
import json, os, sys, time

# Per campaign: share of the requests it is eligible for (formats, sizes,
# countries, devices of the simulator's traffic), typical clearing CPM of
# that inventory, and where its flight ends as a fraction of the run.
PROFILE = {
    "acme-shoes":      (0.45, 0.9, 0.92),
    "globex-travel":   (0.30, 1.0, 0.85),
    "initech-apps":    (0.25, 0.8, 0.92),
    "umbrella-news":   (0.44, 0.9, 0.60),
    "hooli-video":     (0.15, 5.0, 0.90),
    "vandelay-native": (0.08, 1.5, 0.80),
}
WIN_SHARE = 0.35  # of the eligible value: reachable, but far from all of it


def make(src, run_s, rate, start_ms, scale=1.0):
    doc = json.load(open(src))
    for c in doc["campaigns"]:
        elig, cpm, end = PROFILE.get(c["id"], (0.2, 1.0, 0.9))
        c.pop("flight_s", None)
        c["start_ms"] = start_ms
        c["end_ms"] = start_ms + int(run_s * end * 1000)
        value = rate * run_s * end * elig * cpm / 1000.0  # dollars
        c["budget_micros"] = max(100000, int(value * WIN_SHARE * scale * 1e6))
    return doc


BANNER_FIELDS = {"crid", "w", "h", "adm", "landing"}


def compat(doc):
    """The banner-only subset of doc (a new dict)."""
    out = json.loads(json.dumps(doc))
    keep = []
    for c in out["campaigns"]:
        c.pop("deals", None)
        c["creatives"] = [{k: v for k, v in cr.items() if k in BANNER_FIELDS}
                          for cr in c["creatives"] if cr.get("format", "banner") == "banner"]
        if c["creatives"]:
            keep.append(c)
    out["campaigns"] = keep
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--compat"]
    src, dst, run_s, rate = args[0], args[1], float(args[2]), float(args[3])
    start = int(args[4]) if len(args) > 4 else int(time.time() * 1000)
    scale = float(os.environ.get("BEAT_DEMO_BUDGET_SCALE", "1"))
    doc = make(src, run_s, rate, start, scale)
    if "--compat" in sys.argv:
        doc = compat(doc)
    json.dump(doc, open(dst, "w"), indent=2)
