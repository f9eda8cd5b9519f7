"""First-price shading, live: a supervisor and one inference node. Without a
win_curve in the pacing state an at=1 request is bid at the value, exactly
as at=2; once a state with a win_curve is posted to the supervisor (and
relayed in its snapshot), the same at=1 request is answered lower than at=2,
which still bids the value. A bad curve is refused with a reason and the
node keeps the last good state (docs/architecture.md "First-price shading",
docs/contracts.md "Pacing state")."""
import json, tempfile, time

from beatlib import Procs, check, free_ports, get_json, healthz, http, metric, wait_for
from test_inference_sync import (CAMPAIGNS, MULTS, SIMPLE, bid, ckpt, inference_argv, post,
                                 start_supervisor)

# Win rate 0.1 per landscape bucket from bucket 5 ($0.13 CPM) up to 1 at 15.
CURVE = [max(0.0, min(1.0, 0.1 * (i - 5))) for i in range(20)]


def state(curve=None):
    camps = {}
    for c, m in MULTS.items():
        camps[c] = {"multiplier": m, "paused": False}
        if curve is not None:
            camps[c]["win_curve"] = curve
    return json.dumps({"v": 1, "actuator": "py-shade-test", "ts": int(time.time() * 1000),
                       "campaigns": camps})


def price(port, at):
    req = json.load(open(SIMPLE))
    req["at"] = at
    st, _, body = bid(port, json.dumps(req))
    check(st == 200, f"at={at} -> {st} {body[:300]!r}")
    b0 = json.loads(body)["seatbid"][0]["bid"][0]
    check(b0["cid"] == "umbrella-news", f"winner {b0}")
    return b0["price"]


def test_win_curve_shades_first_price_only():
    sup_port, inf_port, bidlog_port = free_ports(3)
    tmp = tempfile.mkdtemp(prefix="shade-")
    with Procs(tmp) as procs:
        start_supervisor(procs, tmp, sup_port)
        sbase = f"http://127.0.0.1:{sup_port}"
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-shade"))
        wait_for(lambda: healthz(inf_port), 10, what="inference serving")
        with open(CAMPAIGNS, "rb") as f:
            st, _, b = http("PUT", sbase + "/v1/campaigns", f.read(),
                            {"Content-Type": "application/json"})
        check(st == 200, f"PUT campaigns -> {st} {b!r}")
        v1 = post(sbase, "/v1/state", state())
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")
        wait_for(lambda: (lambda h: h["ready"] and h["state_version"] == v1)(healthz(inf_port)),
                 10, what="inference ready")

        # No curve: first and second price bid the value (3.0 CPM).
        check(price(inf_port, 1) == price(inf_port, 2) == 3, "no curve: value bids")
        check((metric(inf_port, "beat_inference_shaded_bids_total") or 0) == 0)

        # A bad curve is refused at the supervisor, with a reason.
        bad = state([0.5] * 19)
        st, _, b = http("POST", sbase + "/v1/state", bad, {"Content-Type": "application/json"})
        check(st == 400 and b"win_curve: must be an array of 20 numbers" in b,
              f"short curve -> {st} {b!r}")
        falling = state(list(reversed(CURVE)))
        st, _, b = http("POST", sbase + "/v1/state", falling,
                        {"Content-Type": "application/json"})
        check(st == 400 and b"non-decreasing" in b, f"falling curve -> {st} {b!r}")
        check(get_json(sbase + "/v1/versions")["state"] == v1, "refused states not stored")

        # A curve: stored and served by the supervisor, relayed to inference.
        v2 = post(sbase, "/v1/state", state(CURVE))
        latest = get_json(sbase + "/v1/state/latest")
        got = latest["campaigns"]["umbrella-news"].get("win_curve") or []
        check(len(got) == 20 and all(abs(a - b) < 1e-6 for a, b in zip(got, CURVE)),
              f"stored curve {latest['campaigns']['umbrella-news']}")
        wait_for(lambda: healthz(inf_port)["state_version"] == v2, 10, what="curve synced")
        p1, p2 = price(inf_port, 1), price(inf_port, 2)
        check(p2 == 3, f"second price still bids the value: {p2}")
        check(0.03 <= p1 < p2, f"first price shaded below the value: {p1} vs {p2}")
        check(metric(inf_port, "beat_inference_shaded_bids_total") == 1, "one shaded bid")
        saved = metric(inf_port, "beat_inference_shade_cpm_micros_total")
        check(saved == round((p2 - p1) * 1e6), f"saved {saved} vs {p1}, {p2}")

        # The curve goes away with the next state that has none.
        v3 = post(sbase, "/v1/state", state())
        wait_for(lambda: healthz(inf_port)["state_version"] == v3, 10, what="state synced")
        check(price(inf_port, 1) == 3, "no curve again: value bid")
        check(inf.alive(), "inference died")
