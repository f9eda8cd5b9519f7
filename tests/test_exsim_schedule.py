"""beat-exsim on a simulated engine clock with a dayparted campaign: its
oracle judges eligibility by the schedule (engine time, the campaign's
zone), its report gives the engine span it covered and counts, per
campaign, the impressions bought outside the schedule. Against a fake
bidder that ignores schedules (test_exsim.FakeBidder always bids) that
count is what catches it; a campaign without a schedule counts none."""
import calendar, json, os, tempfile

from beatlib import SimClock, check
from test_exsim import FakeBidder, notice_run, run_exsim

HOUR_MS = 3600 * 1000


def test_exsim_counts_impressions_outside_the_schedule():
    start = calendar.timegm((2030, 1, 7, 0, 0, 0)) * 1000  # a Monday, 00:00 UTC
    # 36000: an engine hour per 0.1 wall s; the 2 s run covers ~20 engine
    # hours, the first 6 open for cA.
    clock = SimClock(start, 36000)
    with FakeBidder() as fb, tempfile.TemporaryDirectory() as tmp:
        camps = os.path.join(tmp, "camps.json")
        sizes = [{"w": w, "h": h} for w, h in ((300, 250), (728, 90), (320, 50), (160, 600),
                                               (300, 600), (970, 250), (320, 480), (336, 280),
                                               (468, 60))]
        base = {"start_ms": start - HOUR_MS, "end_ms": start + 30 * 24 * HOUR_MS,
                "budget_micros": 2000000000, "max_bid_cpm_micros": 5000000,
                "creatives": sizes + [{"format": "video"}, {"format": "native"}]}
        json.dump({"campaigns": [
            dict(base, id="cA", tz="UTC",
                 schedule={d: ["00-06"] for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                  "sun")}),
            dict(base, id="cB")]}, open(camps, "w"))
        s, _ = notice_run(fb, tmp, "--campaigns", camps, "--sim-clock", clock.spec)
        e = s["engine"]
        check(e["rate"] == 36000, e)
        span_h = (e["end_ms"] - e["start_ms"]) / HOUR_MS
        check(e["start_ms"] >= start and 15 < span_h < 60, (e, span_h))
        a, b = s["campaigns"]["cA"], s["campaigns"]["cB"]
        # The fake bidder bids cA whatever the hour: most of its
        # impressions are outside 00-06; cB has no schedule.
        check(a["imps"] > 0 and 0 < a["off_schedule_imps"] < a["imps"], a)
        check(b["imps"] > 0 and b["off_schedule_imps"] == 0, b)
        check(s["off_schedule_imps"] == a["off_schedule_imps"], s["off_schedule_imps"])
        # The oracle only offers cA the auctions of its open hours.
        o = s["oracle"]["campaigns"]
        check(0 < o["cA"]["eligible"] < 0.6 * o["cB"]["eligible"], (o["cA"], o["cB"]))


def test_exsim_refuses_a_bad_schedule():
    with tempfile.TemporaryDirectory() as tmp:
        camps = os.path.join(tmp, "camps.json")
        json.dump({"campaigns": [{"id": "cA", "start_ms": 0, "end_ms": 9000000000000,
                                  "schedule": {"mon": ["17-09"]}}]}, open(camps, "w"))
        r, _ = run_exsim(["--inference", "http://127.0.0.1:9", "--duration", "0.2",
                          "--campaigns", camps])
        check(r.returncode != 0 and "cA.schedule.mon[0]" in r.stderr, r.stderr[-500:])
