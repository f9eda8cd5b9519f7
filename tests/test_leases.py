"""Budget leases end to end (docs/money.md), real supervisor and inference,
no datastream (so nothing is ever settled and every bid stays committed at
its price): a campaign bids only what its budget covers in worst case; the
node keeps bidding on its lease while the supervisor is dead; a restarted
supervisor restores every allowance from its lease db (never grants twice);
a node's goodbye on SIGTERM frees what it was allowed and did not bid."""
import json, os, tempfile

from beatlib import (Procs, check, free_ports, get_json, healthz, metric, wait_for)
from test_inference_sync import (CAMPAIGNS, MULTS, SIMPLE, bid, ckpt, inference_argv, post,
                                 state)

SMALL = 10000  # micros: $0.01 of budget for umbrella-news


def start_supervisor(procs, tmp, port, name):
    p = procs.start(name, ["beat-supervisor", "--listen", f"127.0.0.1:{port}",
                           "--db", os.path.join(tmp, "sup.db"),
                           "--pub", f"ipc://{tmp}/pub.ipc", "--rep", f"ipc://{tmp}/rep.ipc",
                           "--lease", f"ipc://{tmp}/lease.ipc",
                           "--hash-bits", "10", "--heartbeat-ms", "200"])
    wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["ready"], 10,
             what=f"{name} ready")
    return p


def leases(base):
    return get_json(base + "/v1/leases")["campaigns"]


def test_leases_bound_survive_and_free():
    sup_port, inf_port, bidlog_port = free_ports(3)
    tmp = tempfile.mkdtemp(prefix="beat-leases-")
    sbase = f"http://127.0.0.1:{sup_port}"
    with Procs(tmp) as procs:
        sup = start_supervisor(procs, tmp, sup_port, "sup")
        camps = json.load(open(CAMPAIGNS))
        for c in camps["campaigns"]:
            if c["id"] == "umbrella-news":
                c["budget_micros"] = SMALL
        post(sbase, "/v1/campaigns", json.dumps(camps), method="PUT")
        post(sbase, "/v1/state", state(MULTS))
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-lease"))
        wait_for(lambda: healthz(inf_port)["ready"], 10, what="inference ready (leased)")

        # umbrella-news (multiplier 2: $3 CPM, max bid $6 CPM) is allowed its
        # whole $0.01 budget = 1e7 CPM micros; a node bids a campaign only
        # while the bid's price still fits, so it wins three times ($3 × 3,
        # 1e6 left < $3: a lease smaller than a max bid still buys), then
        # acme-shoes (first of the $1.5 ties) takes the imps.
        body = open(SIMPLE, "rb").read()
        winners = []
        for _ in range(6):
            st, _, out = bid(inf_port, body)
            check(st == 200, f"bid -> {st}")
            winners.append(json.loads(out)["seatbid"][0]["bid"][0]["cid"])
        check(winners == ["umbrella-news"] * 3 + ["acme-shoes"] * 3, f"winners {winners}")
        u = leases(sbase)["umbrella-news"]
        check(u["allowed_micros"] <= SMALL and u["committed_micros"] <= u["budget_micros"],
              f"umbrella account {u}")
        a = leases(sbase)["acme-shoes"]
        check(a["allowed_micros"] > 0 and a["live_nodes"] == 1, f"acme account {a}")

        # Supervisor killed: the node bids on what it holds.
        sup.kill()
        for _ in range(3):
            st, _, out = bid(inf_port, body)
            check(st == 200 and json.loads(out)["seatbid"][0]["bid"][0]["cid"] == "acme-shoes",
                  f"bid on the lease with the supervisor dead -> {st}")
        check(metric(inf_port, "beat_inference_lease_failures_total") is not None)

        # Restarted: every allowance is back (nothing granted twice).
        start_supervisor(procs, tmp, sup_port, "sup2")
        a2 = leases(sbase)["acme-shoes"]
        check(a2["allowed_micros"] >= a["allowed_micros"], f"restored {a2} vs {a}")
        u2 = leases(sbase)["umbrella-news"]
        check(u2["allowed_micros"] == u["allowed_micros"], f"restored {u2} vs {u}")
        def answered():
            return ((metric(inf_port, "beat_inference_lease_rounds_total") or 0) -
                    (metric(inf_port, "beat_inference_lease_failures_total") or 0))
        before = answered()
        wait_for(lambda: answered() > before, 10, what="a lease round answered by sup2")

        # Goodbye: acme's allowance shrinks to what was bid (6 bids at $1.5
        # CPM = 9000 micros), umbrella's to its 3 bids at $3 (9000 micros).
        check(inf.stop() == 0, "inference SIGTERM exit code")
        g = wait_for(lambda: (lambda c: c if c["acme-shoes"]["allowed_micros"] == 9000 else None)(
            leases(sbase)), 10, what="goodbye freed acme's unused allowance")
        check(g["umbrella-news"]["allowed_micros"] == 9000, f"umbrella after goodbye {g}")
        bad = [e for e in inf.events() if e.get("lvl") in ("error", "fatal")]
        check(not bad, f"errors logged: {bad}")
