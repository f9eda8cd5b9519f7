#!/usr/bin/env python3
"""Makes the demo's campaign file from the examples: flights that cover the
run, budgets sized to the simulated traffic so that pacing has to work
(together the campaigns could win more than they may spend)."""
import json, sys

src, dst, flight_s, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
doc = json.load(open(src))
# Roughly: requests/s × seconds × 1 imp × ~$1 CPM / 1000 is the value of all
# traffic; each campaign may spend an eighth of it.
per = int(rate * flight_s * 1.0 / 1000 / 8 * 1e6)
for c in doc["campaigns"]:
    c.pop("start_ms", None); c.pop("end_ms", None)
    c["flight_s"] = flight_s
    c["budget_micros"] = per
json.dump(doc, open(dst, "w"), indent=2)
