"""Supervisor → inference → receiver with real processes: campaigns, a state
and a checkpoint (built here byte for byte per beat_ckpt.h, hash_bits 10)
go into a real beat-supervisor; beat-inference syncs over nng, becomes
ready, and bids on the IAB simple-banner example; the response is checked
field by field, its win notice is accepted by a real beat-receiver (same
secret), and the bid log reaches the receiver over nng. Then a new state is
swapped in, a stale state stops bidding, and a killed supervisor leaves the
node bidding on its last good world until it comes back."""
import hashlib, hmac, json, os, signal, tempfile, time
import urllib.parse

from beatlib import (ROOT, FIXTURES, Procs, check, free_ports, get_json, healthz,
                     http, metric, pack_checkpoint, wait_for)

SECRET = "sync-test-secret"
CAMPAIGNS = os.path.join(ROOT, "docs", "examples", "campaigns.json")
SIMPLE = os.path.join(FIXTURES, "openrtb", "bid-request", "2.5", "simple-banner.json")
SEED = "6265617466656174"  # BEAT_HASH_SEED_DEFAULT


def ckpt(bits=10, bias=0.0, avg_ctr=0.5, ahead_ms=0):
    """All hashed weights 0, bias 0 → pCTR exactly 0.5 for every campaign;
    with avg_ctr 0.5 the price is base × multiplier."""
    dim = 1 << bits
    nw = dim + 1
    w = [0.0] * dim + [bias]
    return pack_checkpoint({"kind": "logreg", "trainer": "py-sync-test", "hash_bits": bits,
                            "hash_seed": SEED, "dim": dim, "rank": 0, "n_weights": nw,
                            "samples_seen": 10, "auc": 0.5, "logloss": 0.69,
                            "avg_ctr": avg_ctr, "ts": int(time.time() * 1000) + ahead_ms}, w)


def state(mults, paused=(), ts=None):
    return json.dumps({"v": 1, "actuator": "py-sync-test",
                       "ts": int(time.time() * 1000) if ts is None else ts,
                       "campaigns": {c: {"multiplier": m, "paused": c in paused}
                                     for c, m in mults.items()}})


MULTS = {"acme-shoes": 1.0, "globex-travel": 1.0, "initech-apps": 1.0,
         "umbrella-news": 2.0}


def post(base, path, body, ctype="application/json", method="POST"):
    st, _, b = http(method, base + path, body, {"Content-Type": ctype})
    check(st == 200, f"{method} {path} -> {st} {b[:300]!r}")
    return json.loads(b)["version"]


def sign(kind, x, f, a, i, c, cr, b, t, u=""):
    """Signature v2 (docs/contracts.md "Notice URLs")."""
    msg = f"v2\n{kind}\n{x}\n{f}\n{a}\n{i}\n{c}\n{cr}\n{b}\n{t}\n{u}".encode()
    return hmac.new(SECRET.encode(), msg, hashlib.sha256).digest()[:16].hex()


def substitute(url, auction, imp, price="2.5"):
    for m, v in (("${AUCTION_ID}", auction), ("${AUCTION_IMP_ID}", imp),
                 ("${AUCTION_PRICE}", price), ("${AUCTION_CURRENCY}", "USD"),
                 ("${AUCTION_LOSS}", "102")):
        url = url.replace(m, urllib.parse.quote(v, safe=""))
    return url


def bid(port, body):
    return http("POST", f"http://127.0.0.1:{port}/openrtb2/bid", body,
                {"Content-Type": "application/json", "x-openrtb-version": "2.5"})


def inference_argv(tmp, port, bidlog_port, name, rcv_port=None, *extra):
    """beat-inference wired to the supervisor at ipc://{tmp} (pub, rep and
    lease sockets) and to a receiver's bid log: one place for what every
    node of these tests needs."""
    argv = ["beat-inference", "--listen", f"127.0.0.1:{port}",
            "--supervisor-pub", f"ipc://{tmp}/pub.ipc", "--supervisor-rep", f"ipc://{tmp}/rep.ipc",
            "--supervisor-lease", f"ipc://{tmp}/lease.ipc",
            "--receiver-bidlog", f"tcp://127.0.0.1:{bidlog_port}",
            "--notice-secret", SECRET, "--name", name, "--open", *extra]
    if rcv_port is not None:
        argv += ["--receiver-url", f"http://127.0.0.1:{rcv_port}"]
    return argv


def start_supervisor(procs, tmp, port, name="sup", extra=()):
    p = procs.start(name, ["beat-supervisor", "--listen", f"127.0.0.1:{port}",
                           "--db", os.path.join(tmp, "sup.db"),
                           "--pub", f"ipc://{tmp}/pub.ipc", "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc",
                           "--hash-bits", "10", "--heartbeat-ms", "200", *extra])
    wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["ready"], 10,
             what=f"{name} ready")
    return p


def test_supervisor_to_inference_to_receiver():
    sup_port, inf_port, rcv_port, bidlog_port, kafka_port = free_ports(5)
    tmp = tempfile.mkdtemp(prefix="inf-sync-")
    with Procs(tmp) as procs:
        sup = start_supervisor(procs, tmp, sup_port)
        sbase = f"http://127.0.0.1:{sup_port}"
        # Receiver with no Kafka behind it: it still verifies notices and
        # accepts bid logs (the Kafka side drops and counts).
        rcv = procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{rcv_port}",
                                       "--bidlog-listen", f"tcp://127.0.0.1:{bidlog_port}",
                                       "--kafka-brokers", f"127.0.0.1:{kafka_port}",
                                       "--notice-secret", SECRET])
        wait_for(lambda: healthz(rcv_port), 10, what="receiver serving")
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-sync",
                                                     rcv_port, "--max-state-age-ms", "30000"))
        wait_for(lambda: healthz(inf_port), 10, what="inference serving")
        check(healthz(inf_port)["ready"] is False)

        with open(CAMPAIGNS, "rb") as f:
            st, _, b = http("PUT", sbase + "/v1/campaigns", f.read(),
                            {"Content-Type": "application/json"})
        check(st == 200, f"PUT campaigns -> {st} {b!r}")
        post(sbase, "/v1/state", state(MULTS))
        # Campaigns + state but no model yet: still 204 (no_model).
        wait_for(lambda: healthz(inf_port)["has_state"], 10, what="state synced")
        st, _, _ = bid(inf_port, open(SIMPLE, "rb").read())
        check(st == 204, f"bid without model -> {st}")
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")

        h = wait_for(lambda: (lambda h: h if h["ready"] else None)(healthz(inf_port)),
                     10, what="inference ready")
        v = get_json(sbase + "/v1/versions")
        check(h["model_version"] == v["model"] and h["state_version"] == v["state"]
              and h["campaigns_version"] == v["campaigns"], f"versions {h} vs {v}")
        check(h["campaigns"] == 4, f"campaigns {h}")

        # Bid on the IAB example: site www.foobar.com, 300x250, floor 0.03.
        req = json.load(open(SIMPLE))
        st, hdr, body = bid(inf_port, json.dumps(req))
        check(st == 200, f"bid -> {st} {body[:300]!r}")
        check(hdr.get("x-openrtb-version") == "2.5", f"headers {hdr}")
        check(hdr.get("Content-Type") == "application/json", f"headers {hdr}")
        r = json.loads(body)
        check(r["id"] == req["id"] and r["cur"] == "USD", f"response {r}")
        check(len(r["seatbid"]) == 1 and r["seatbid"][0]["seat"] == "beat")
        bids = r["seatbid"][0]["bid"]
        check(len(bids) == 1, f"bids {bids}")
        b0 = bids[0]
        # pCTR 0.5 / avg 0.5 × base 1.5 × multiplier 2.0 = 3.0 CPM.
        check(b0["impid"] == "1" and b0["price"] == 3, f"bid {b0}")
        check(b0["cid"] == "umbrella-news", f"bid {b0}")
        check(b0["adid"] == b0["crid"] == "umbrella-news-300x250", f"bid {b0}")
        check(b0["adomain"] == ["umbrella.example"] and b0["cat"] == ["IAB12"])
        check(b0["w"] == 300 and b0["h"] == 250 and b0["mtype"] == 1, f"bid {b0}")
        check(isinstance(b0["id"], str) and b0["id"], f"bid id {b0}")
        check("${CLICK_URL}" not in b0["adm"] and "&amp;" in b0["adm"], b0["adm"])
        base = f"http://127.0.0.1:{rcv_port}"
        for key, path in (("nurl", "/win?"), ("burl", "/bill?"), ("lurl", "/loss?")):
            check(b0[key].startswith(base + path), f"{key} {b0[key]}")
            check("${AUCTION_PRICE}" in b0[key], f"{key} {b0[key]}")
        # The signature is what beat_notice.h says it is: v2, one per type.
        url = substitute(b0["nurl"], req["id"], "1")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query,
                                        keep_blank_values=True))
        check(q["c"] == "umbrella-news" and q["b"] == "3000000", f"query {q}")
        check(q["v"] == "2" and q["x"] == "" and q["f"] == "0", f"query {q}")
        check(q["cr"] == "umbrella-news-300x250", f"query {q}")
        check(q["s"] == sign("win", "", 0, req["id"], "1", q["c"], q["cr"], q["b"], q["t"]),
              f"sig {q}")
        sigs = {k: dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(b0[k]).query))["s"]
                for k in ("nurl", "burl", "lurl")}
        check(len(set(sigs.values())) == 3, f"one signature per type {sigs}")
        check(abs(int(q["t"]) - time.time() * 1000) < 60000, f"ts {q['t']}")
        # And the receiver accepts it (same secret), rejects a tampered one.
        st, _, b = http("GET", url)
        check(st == 204, f"receiver win -> {st} {b!r}")
        st, _, _ = http("GET", url.replace("&b=3000000", "&b=3000001"))
        check(st in (400, 403), f"tampered win -> {st}")
        # A loss URL re-typed to /bill (any price up to the bid) is forged.
        lost = substitute(b0["lurl"], req["id"], "1", price="0.5")
        st, _, b = http("GET", lost.replace("/loss?", "/bill?"))
        check(st == 403 and b"bad signature" in b, f"lurl as /bill -> {st} {b!r}")
        # The bid log reached the receiver over nng.
        wait_for(lambda: (metric(rcv_port, "beat_receiver_bidlogs_total") or 0) >= 1, 10,
                 what="bid log at the receiver")
        check(metric(inf_port, "beat_inference_bidlog_sent_total") >= 1)

        # New state: umbrella paused → acme (first of the 1.5 CPM ties).
        sv = post(sbase, "/v1/state", state(MULTS, paused=("umbrella-news",)))
        wait_for(lambda: healthz(inf_port)["state_version"] == sv, 10, what="state swap")
        st, _, body = bid(inf_port, json.dumps(req))
        b0 = json.loads(body)["seatbid"][0]["bid"][0]
        check(st == 200 and b0["cid"] == "acme-shoes" and b0["price"] == 1.5, f"bid {b0}")

        # A state older than --max-state-age-ms (30 s here): no bids.
        sv = post(sbase, "/v1/state", state(MULTS, ts=int(time.time() * 1000) - 60000))
        wait_for(lambda: healthz(inf_port)["state_version"] == sv, 10, what="stale swap")
        st, _, _ = bid(inf_port, json.dumps(req))
        check(st == 204, f"stale state bid -> {st}")
        check(metric(inf_port, 'beat_inference_nobid_total{exchange="open",reason="stale_state"}') == 1)
        check(healthz(inf_port)["state_stale"] is True)
        sv = post(sbase, "/v1/state", state(MULTS))
        wait_for(lambda: healthz(inf_port)["state_version"] == sv, 10, what="fresh swap")

        # Supervisor killed: the node keeps bidding on its last good world,
        # notices the silence, and resumes when the supervisor returns.
        sup.kill()
        st, _, _ = bid(inf_port, json.dumps(req))
        check(st == 200, f"bid with supervisor dead -> {st}")
        wait_for(lambda: any(e["ev"] == "supervisor_silent" for e in inf.events()), 10,
                 what="supervisor_silent logged")
        st, _, _ = bid(inf_port, json.dumps(req))
        check(st == 200 and healthz(inf_port)["ready"], f"bid after silence -> {st}")
        sup = start_supervisor(procs, tmp, sup_port, name="sup2")
        wait_for(lambda: any(e["ev"] == "supervisor_back" for e in inf.events()), 10,
                 what="supervisor_back logged")
        post(sbase, "/v1/state", state(MULTS, paused=("umbrella-news", "acme-shoes")))
        wait_for(lambda: healthz(inf_port)["state_version"] == get_json(
            sbase + "/v1/versions")["state"], 10, what="state after supervisor restart")
        st, _, body = bid(inf_port, json.dumps(req))
        check(st == 200 and json.loads(body)["seatbid"][0]["bid"][0]["cid"] == "initech-apps",
              f"bid after restart {st} {body[:200]!r}")

        check(metric(inf_port, 'beat_inference_swap_failures_total{kind="snapshot"}') == 0)
        check(metric(inf_port, 'beat_inference_swap_failures_total{kind="checkpoint"}') == 0)
        check(inf.alive() and rcv.alive(), "a daemon died")
        check(inf.stop() == 0, "inference SIGTERM exit code")
        bad = [e for e in inf.events() if e.get("lvl") in ("error", "fatal")]
        check(not bad, f"errors logged: {bad}")


def test_bidlog_drops_while_receiver_away_then_resumes_and_keepalive():
    """Bid logs with no receiver listening are dropped and counted, never
    block a bid; once a receiver listens, they flow again by themselves.
    The bid path's own HTTP server keeps a connection alive across pipelined
    requests (three requests in one write, three answers in order)."""
    import socket
    sup_port, inf_port, rcv_port, bidlog_port, kafka_port = free_ports(5)
    tmp = tempfile.mkdtemp(prefix="inf-bidlog-")
    with Procs(tmp) as procs:
        start_supervisor(procs, tmp, sup_port)
        sbase = f"http://127.0.0.1:{sup_port}"
        with open(CAMPAIGNS, "rb") as f:
            st, _, _ = http("PUT", sbase + "/v1/campaigns", f.read(),
                            {"Content-Type": "application/json"})
        check(st == 200)
        post(sbase, "/v1/state", state(MULTS))
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-bl",
                                                     rcv_port, "--bidlog-sendbuf", "0"))
        wait_for(lambda: healthz(inf_port)["ready"], 10, what="inference ready")
        body = open(SIMPLE, "rb").read()
        for _ in range(20):
            st, _, _ = bid(inf_port, body)
            check(st == 200, f"bid with the receiver away -> {st}")
        wait_for(lambda: metric(inf_port, "beat_inference_bidlog_dropped_total") == 20,
                 5, what="20 bid logs dropped and counted")
        check(metric(inf_port, "beat_inference_bidlog_sent_total") == 0)

        # Three pipelined requests in one write on one keep-alive connection.
        one = (f"POST /openrtb2/bid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"x-openrtb-version: 2.5\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        with socket.create_connection(("127.0.0.1", inf_port), timeout=5) as s:
            s.sendall(one * 3)
            got = b""
            deadline = time.monotonic() + 5
            while got.count(b"HTTP/1.1 200 OK") < 3 and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            check(got.count(b"HTTP/1.1 200 OK") == 3, f"pipelined answers: {got[:300]!r}")
            check(b"Connection: close" not in got, "keep-alive expected")
            s.sendall(one)  # the connection still serves
            more = s.recv(65536)
            check(more.startswith(b"HTTP/1.1 200 OK"), f"after pipeline: {more[:100]!r}")

        # A receiver comes up: bid logs flow again without a restart.
        rcv = procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{rcv_port}",
                                       "--bidlog-listen", f"tcp://127.0.0.1:{bidlog_port}",
                                       "--kafka-brokers", f"127.0.0.1:{kafka_port}",
                                       "--notice-secret", SECRET])
        wait_for(lambda: healthz(rcv_port), 10, what="receiver serving")

        def sent():
            bid(inf_port, body)
            return (metric(inf_port, "beat_inference_bidlog_sent_total") or 0) >= 1
        wait_for(sent, 15, interval=0.2, what="bid logs flowing to the late receiver")
        wait_for(lambda: (metric(rcv_port, "beat_receiver_bidlogs_total") or 0) >= 1, 10,
                 what="bid log at the receiver")
        check(inf.alive() and rcv.alive(), "a daemon died")
        check(inf.stop() == 0, "inference SIGTERM exit code")


def test_test_traffic_is_answered_never_produced():
    """An OpenRTB test=1 request: inference bids as usual but logs no bid
    and signs its notice URLs as test traffic (f=1); the receiver answers
    them like real ones and produces nothing to Kafka. A real request
    afterwards shows the same pipeline does produce (so the silence means
    something), and its lurl re-typed to /bill is refused."""
    from test_receiver import TOPIC, kafka_events, start_kafka, wait_events
    sup_port, inf_port, rcv_port, bidlog_port, kport, kadmin = free_ports(6)
    tmp = tempfile.mkdtemp(prefix="inf-test-traffic-")
    with Procs(tmp) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        start_supervisor(procs, tmp, sup_port)
        sbase = f"http://127.0.0.1:{sup_port}"
        procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{rcv_port}",
                                 "--bidlog-listen", f"tcp://127.0.0.1:{bidlog_port}",
                                 "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                                 "--notice-secret", SECRET])
        wait_for(lambda: healthz(rcv_port)["ready"], 10, what="receiver ready")
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port,
                                                     "inf-test-traffic", rcv_port))
        with open(CAMPAIGNS, "rb") as f:
            st, _, _ = http("PUT", sbase + "/v1/campaigns", f.read(),
                            {"Content-Type": "application/json"})
        check(st == 200)
        post(sbase, "/v1/state", state(MULTS))
        post(sbase, "/v1/checkpoint", ckpt(), ctype="application/octet-stream")
        wait_for(lambda: healthz(inf_port)["ready"], 10, what="inference ready")
        m = lambda n: metric(rcv_port, n) or 0

        req = json.load(open(SIMPLE))
        req["id"] = "test-traffic-1"
        req["test"] = 1
        st, _, body = bid(inf_port, json.dumps(req))
        check(st == 200, f"test bid -> {st} {body[:200]!r}")
        b0 = json.loads(body)["seatbid"][0]["bid"][0]
        for key in ("nurl", "burl", "lurl"):
            check("&f=1&" in b0[key], f"{key} not signed as test traffic: {b0[key]}")
        price = str(b0["price"] / 2)
        for key, path in (("nurl", "win"), ("burl", "bill"), ("lurl", "loss")):
            st, _, b = http("GET", substitute(b0[key], req["id"], "1", price=price))
            check(st == 204, f"test {key} -> {st} {b!r}")
            check(m(f'beat_receiver_test_notices_total{{type="{path}"}}') == 1,
                  f"test {path} counted")
        st, _, b = http("GET", substitute(b0["lurl"], req["id"], "1", price=price)
                        .replace("/loss?", "/bill?"))
        check(st == 403, f"test lurl as /bill -> {st} {b!r}")
        # Dropping the flag breaks the signature: test traffic cannot be
        # turned into spend.
        st, _, _ = http("GET", substitute(b0["burl"], req["id"], "1", price=price)
                        .replace("&f=1&", "&f=0&"))
        check(st == 403, f"test burl without its flag -> {st}")
        check(m('beat_receiver_notices_total{type="bill"}') == 0, "no real bill")
        check(healthz(rcv_port)["kafka_sent"] == 0, "a test notice was produced")
        check(metric(inf_port, "beat_inference_bidlog_sent_total") == 0, "test bid logged")

        # The same request as real traffic: logged, and its bill produced.
        req["id"] = "real-traffic-1"
        del req["test"]
        st, _, body = bid(inf_port, json.dumps(req))
        check(st == 200, f"real bid -> {st}")
        b1 = json.loads(body)["seatbid"][0]["bid"][0]
        check("&f=0&" in b1["burl"], b1["burl"])
        st, _, _ = http("GET", substitute(b1["burl"], req["id"], "1", price=price))
        check(st == 204, f"real burl -> {st}")
        st, _, b = http("GET", substitute(b1["lurl"], req["id"], "1", price=price)
                        .replace("/loss?", "/bill?"))
        check(st == 403 and b"bad signature" in b, f"real lurl as /bill -> {st} {b!r}")
        evs = wait_events(kport, ["real-traffic-1"])
        kinds = sorted(e["type"] for k, e in evs if k == "real-traffic-1")
        wait_for(lambda: (metric(inf_port, "beat_inference_bidlog_sent_total") or 0) >= 1, 10,
                 what="real bid logged")
        wait_for(lambda: any(e["type"] == "bid" for k, e in kafka_events(kport)
                             if k == "real-traffic-1"), 15, interval=0.3,
                 what="real bid event in Kafka")
        evs = kafka_events(kport)
        check("bill" in kinds, f"real bill not produced: {kinds}")
        check(not [e for k, e in evs if k == "test-traffic-1"],
              f"test traffic reached Kafka: {[e for k, e in evs if k == 'test-traffic-1']}")
        check(m('beat_receiver_notices_total{type="bill"}') == 1, "one real bill")
        check(m('beat_receiver_test_notices_total{type="bill"}') == 1, "still one test bill")
        check(inf.alive(), "inference died")


def test_future_state_and_model_refused_last_good_kept():
    """A state or checkpoint stamped an hour ahead (a writer with a wrong
    clock; this supervisor is told to allow it) is refused by inference and
    counted: a future state would never age past --max-state-age-ms. The
    node keeps its last good state, and bids on nothing it cannot date."""
    sup_port, inf_port, bidlog_port = free_ports(3)
    tmp = tempfile.mkdtemp(prefix="inf-future-")
    hour = 3600 * 1000
    with Procs(tmp) as procs:
        start_supervisor(procs, tmp, sup_port, extra=["--max-clock-skew-ms", str(2 * hour)])
        sbase = f"http://127.0.0.1:{sup_port}"
        procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-future"))
        wait_for(lambda: healthz(inf_port), 10, what="inference serving")
        with open(CAMPAIGNS, "rb") as f:
            st, _, b = http("PUT", sbase + "/v1/campaigns", f.read(),
                            {"Content-Type": "application/json"})
        check(st == 200, f"PUT campaigns -> {st} {b!r}")
        v1 = post(sbase, "/v1/state", state(MULTS))
        wait_for(lambda: healthz(inf_port)["state_version"] == v1, 10, what="state synced")
        post(sbase, "/v1/state", state(MULTS, ts=int(time.time() * 1000) + hour))
        post(sbase, "/v1/checkpoint", ckpt(ahead_ms=hour), ctype="application/octet-stream")
        def settled():
            h = healthz(inf_port)
            if h["state_version"] != v1 or h["model_version"] != 0:
                return h  # applied: what the checks below refuse
            n = [metric(inf_port, f'beat_inference_sync_future_ts_total{{what="{w}"}}') or 0
                 for w in ("snapshot", "checkpoint")]
            return h if min(n) >= 1 else None
        h = wait_for(settled, 10, what="future frames refused or applied")
        check(h["state_version"] == v1 and h["has_state"], f"last good state kept: {h}")
        check(h["model_version"] == 0 and not h["ready"], f"future model refused: {h}")
