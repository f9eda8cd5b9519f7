"""The simulated engine clock (--sim-clock, docs/operations.md "Engine
time"): every daemon and beat-exsim take the option and refuse a bad spec
with exit 64 and the reason; a real supervisor and inference sharing a fast
clock judge a campaign's flight by engine time, so a flight that starts
"tomorrow" on the engine's calendar (years away on the wall clock) gets no
bid before the engine clock reaches its start and bids once it has, a
fraction of a wall second per engine hour later."""
import calendar, json, os, subprocess, tempfile

from beatlib import BIN, Procs, SimClock, check, free_ports, healthz, http, metric, wait_for
from test_inference_sync import (CAMPAIGNS, SIMPLE, bid, ckpt, inference_argv, post,
                                 start_supervisor, state)

DAEMONS = ("beat-receiver", "beat-datastream", "beat-actuator", "beat-lighttrainer",
           "beat-supervisor", "beat-inference", "beat-exsim")
HOUR_MS = 3600 * 1000


def test_every_daemon_refuses_a_bad_spec():
    for d in DAEMONS:
        for spec, why in (("soon", "want ORIGIN_WALL_MS:START_ENGINE_MS:RATE"),
                          ("1700000000000:1700000000000:0.5", "rate must be in")):
            p = subprocess.run([os.path.join(BIN, d), "--sim-clock", spec],
                               capture_output=True, text=True, timeout=20)
            check(p.returncode == 64, f"{d} --sim-clock {spec} -> {p.returncode} {p.stderr}")
            check("--sim-clock" in p.stderr and why in p.stderr, f"{d}: {p.stderr!r}")
        # The environment twin too.
        env = dict(os.environ, BEAT_SIM_CLOCK="1:2")
        p = subprocess.run([os.path.join(BIN, d)], capture_output=True, text=True,
                           timeout=20, env=env)
        check(p.returncode == 64 and "--sim-clock" in p.stderr, f"{d} env: {p.stderr!r}")


def one_campaign(start_ms, end_ms):
    """The example umbrella-news campaign (it matches the IAB simple
    banner) with an absolute flight."""
    cs = json.load(open(CAMPAIGNS))
    c = next(c for c in cs["campaigns"] if c["id"] == "umbrella-news")
    c.pop("flight_s", None)
    c["start_ms"], c["end_ms"] = start_ms, end_ms
    return json.dumps({"v": 1, "campaigns": [c]})


def test_flight_starts_on_the_engine_calendar():
    # The engine's day: 2030-01-01 (UTC), years from the wall clock's.
    # 7200 engine ms per wall ms: half a wall second per engine hour; the
    # clock starts 12 engine hours (6 wall s) before the flight.
    tomorrow = calendar.timegm((2030, 1, 2, 0, 0, 0)) * 1000
    clock = SimClock(tomorrow - 12 * HOUR_MS, 7200)
    sup_port, inf_port, bidlog_port = free_ports(3)
    tmp = tempfile.mkdtemp(prefix="simclock-")
    with Procs(tmp) as procs:
        sup = start_supervisor(procs, tmp, sup_port, extra=clock.argv())
        sbase = f"http://127.0.0.1:{sup_port}"
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-sim",
                                                     None, *clock.argv()))
        wait_for(lambda: healthz(inf_port), 10, what="inference serving")
        st, _, b = http("PUT", sbase + "/v1/campaigns",
                        one_campaign(tomorrow, tomorrow + 3 * 24 * HOUR_MS),
                        {"Content-Type": "application/json"})
        check(st == 200, f"PUT campaigns -> {st} {b!r}")
        post(sbase, "/v1/state", state({"umbrella-news": 1.0}))
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")
        wait_for(lambda: healthz(inf_port)["ready"], 10, what="inference ready")
        body = open(SIMPLE, "rb").read()

        # Before the flight (on the engine clock): no bid, however often asked.
        n_before = 0
        while clock.wall_s_until(tomorrow) > 0.5:
            sent_at = clock.engine_ms()
            st, _, _ = bid(inf_port, body)
            check(st == 204, f"bid at engine {sent_at} before the flight {tomorrow} -> {st}")
            n_before += 1
        check(n_before > 0, "the engine clock passed the start before inference was ready: "
                            "the test proves nothing (machine too slow?)")

        # Once the engine clock is past the start: bids, well before the
        # wall clock gets anywhere near 2030.
        def bids():
            st, _, b = bid(inf_port, body)
            if st != 200:
                return None
            return clock.engine_ms(), json.loads(b)
        at, r = wait_for(bids, 20, interval=0.02, what="a bid once the flight has started")
        check(at >= tomorrow, f"bid at engine {at}, before the flight's start {tomorrow}")
        check(at - tomorrow < 6 * HOUR_MS, f"bid only {(at - tomorrow) / HOUR_MS:.1f} engine h "
                                           "after the start")
        check(r["seatbid"][0]["bid"][0]["cid"] == "umbrella-news", f"bid {r}")
        check(metric(inf_port, 'beat_inference_nobid_total{exchange="open",reason="no_match"}')
              >= n_before, "the 204s before the flight were not no_match")
        for p in (sup, inf):
            check(any(e["ev"] == "sim_clock" for e in p.events()), f"{p.name}: no sim_clock "
                                                                   "warning logged")
