"""Daily budgets on the simulated clock (docs/money.md "Daily budgets"): a
real supervisor and inference share an engine clock on which a day lasts
12 wall seconds; no actuator and no datastream, so the multiplier is what
this test posts to /v1/state (very high, as a swapped actuator ignoring
daily budgets might) and nothing is ever settled (every bid stays committed
at its price). Day 1: the campaign bids until its daily budget is
committed, then no more that day (the bank withholds the lease). Day 2: it
bids for only part of its budget. Day 3 opens with the daily budget plus
day 2's unspent (rule next_day), bids exactly that, and stops."""
import calendar, json, tempfile

from beatlib import Procs, SimClock, check, free_ports, get_json, healthz, metric, wait_for
from test_inference_sync import (CAMPAIGNS, SIMPLE, bid, ckpt, inference_argv, post,
                                 start_supervisor, state)

DAY_MS = 24 * 3600 * 1000
RATE = DAY_MS / 12000        # engine ms per wall ms: a day in 12 wall s
DAILY = 30000                # micros: five bids at the $6 CPM max bid
PRICE = 6000                 # micros per bid at the max bid


def campaign(start_ms):
    cs = json.load(open(CAMPAIGNS))
    c = next(c for c in cs["campaigns"] if c["id"] == "umbrella-news")
    c.pop("flight_s", None)
    c.update(start_ms=start_ms, end_ms=start_ms + 3 * DAY_MS, budget_micros=1000000,
             daily_budget_micros=DAILY, rollover="next_day")
    return json.dumps({"v": 4, "campaigns": [c]})


def test_daily_budget_stops_each_day_and_rolls_over():
    d0 = calendar.timegm((2030, 1, 2, 0, 0, 0)) * 1000
    clock = SimClock(d0 + 3600 * 1000, RATE)  # an engine hour into day 1
    sup_port, inf_port, bidlog_port = free_ports(3)
    tmp = tempfile.mkdtemp(prefix="beat-daily-")
    sbase = f"http://127.0.0.1:{sup_port}"
    body = open(SIMPLE, "rb").read()

    def today():
        return get_json(sbase + "/v1/leases")["campaigns"]["umbrella-news"].get("today")

    def bid_ok():
        st, _, out = bid(inf_port, body)
        check(st in (200, 204), f"bid -> {st}")
        if st == 200:
            b = json.loads(out)["seatbid"][0]["bid"][0]
            check(b["cid"] == "umbrella-news" and abs(b["price"] - 6.0) < 1e-9, f"bid {b}")
        return st == 200

    def bids_in_day(n, day):
        """Bids until n were answered (204s while the day's grant is on its
        way are fine), all within engine day `day` of the flight."""
        got = 0
        def one():
            nonlocal got
            if bid_ok():
                got += 1
            return got >= n
        wait_for(one, 6, interval=0.02, what=f"{n} bids on day {day + 1}")
        check(clock.engine_ms() < d0 + (day + 1) * DAY_MS, f"day {day + 1} ended before its "
              "bids: the machine is too slow for this clock")

    def stopped_for(wall_s, day):
        """No bid for wall_s seconds, still within the day."""
        check(clock.wall_s_until(d0 + (day + 1) * DAY_MS) > wall_s + 0.5,
              f"too little of day {day + 1} left to show the stop")
        n = 0
        deadline = clock.engine_ms() + wall_s * 1000 * RATE
        while clock.engine_ms() < deadline:
            check(not bid_ok(), f"a bid on day {day + 1} past its budget")
            n += 1
        return n

    with Procs(tmp) as procs:
        start_supervisor(procs, tmp, sup_port, extra=clock.argv())
        post(sbase, "/v1/campaigns", campaign(d0), method="PUT")
        post(sbase, "/v1/state", state({"umbrella-news": 10.0}))  # the highest allowed
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-daily",
                                                     None, *clock.argv()))
        wait_for(lambda: healthz(inf_port)["ready"], 10, what="inference ready")

        # Day 1: five bids commit the daily budget; then nothing that day.
        bids_in_day(5, 0)
        stopped_for(2, 0)
        t = today()
        check(t["start_ms"] == d0 and t["end_ms"] == d0 + DAY_MS and t["budget_micros"] == DAILY
              and t["committed_micros"] == DAILY, f"day 1 status {t}")
        check(t["daily_stops"] > 0, f"no daily stop counted {t}")
        check(metric(sup_port, 'beat_supervisor_lease_withheld_total{reason="daily_budget"}') > 0,
              "the daily stops counted by reason")
        check(metric(inf_port, 'beat_inference_nobid_total{exchange="open",reason="lease"}') > 0,
              "inference no-bids with reason lease")

        # Day 2: only two bids (12000 of 30000).
        wait_for(lambda: clock.engine_ms() >= d0 + DAY_MS, 15, what="engine day 2")
        bids_in_day(2, 1)

        # Day 3 opens with 30000 + the 18000 day 2 left: eight bids, then stop.
        wait_for(lambda: clock.engine_ms() >= d0 + 2 * DAY_MS, 15, what="engine day 3")
        t = wait_for(lambda: (lambda t: t if t and t["start_ms"] == d0 + 2 * DAY_MS else None)(
            today()), 5, what="day 3 in /v1/leases")
        check(t["budget_micros"] == DAILY + 18000 and t["end_ms"] == d0 + 3 * DAY_MS,
              f"day 3 status {t}")
        bids_in_day(8, 2)
        stopped_for(2, 2)
        t = today()
        check(t["budget_micros"] == DAILY + 18000 and t["committed_micros"] == DAILY + 18000,
              f"day 3 status at the stop {t}")
        bad = [e for e in inf.events() if e.get("lvl") in ("error", "fatal")]
        check(not bad, f"errors logged: {bad}")
