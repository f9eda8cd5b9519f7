"""Exchanges as authenticated partners, on one engine under beatctl with
several configured at once: callers that are not a configured exchange get
403 on the bid endpoint; an exchange driven over its QPS cap gets fast 204s
with X-Beat-Nobid-Reason: qps while another's traffic is untouched; bid
events (on Kafka) and notice URLs carry the exchange id; GET /v1/exchanges
hides the keys; a bad PUT is refused with a reason and changes nothing."""
import json, os, subprocess, tempfile, threading, time
from beatlib import BIN, ROOT, Engine, check, get_json, http, metric, metric_sum, wait_for
from test_e2e import EXAMPLES, FAST, bid_request, ready, substitute

EXCHANGES = {"v": 1, "exchanges": [
    # A: a low cap, to be driven over it
    {"id": "exA", "key": "generate", "qps": 5, "burst": 5},
    # B: no practical cap, driven at the same time
    {"id": "exB", "key": "generate", "qps": 100000},
    # C: its own notice macros and no loss URL
    {"id": "exC", "key": "generate", "qps": 100000,
     "notices": {"lurl": False, "price_macro": "${WIN_PRICE}"}},
    # N: by network only, one loopback is not in
    {"id": "exN", "networks": ["10.0.0.0/8"], "qps": 1000},
]}


def bid(e, headers, rid=None):
    rid = rid or "x-%d" % time.time_ns()
    return http("POST", e.url("inference-1", "/openrtb2/bid"), json.dumps(bid_request(rid)),
                {"Content-Type": "application/json", **headers})


def exsim(e, tmp, exchange, key, rate, seconds):
    out = os.path.join(tmp, f"exsim-{exchange}.json")
    env = dict(os.environ, BEAT_EXSIM_EXCHANGE=exchange, BEAT_EXSIM_EXCHANGE_KEY=key)
    p = subprocess.Popen([os.path.join(BIN, "beat-exsim"), "--inference",
                          e.url("inference-1"), f"--rate={rate}", f"--duration={seconds}",
                          "--seed=3", "--stats-every-s=60", f"--json={out}"],
                         env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, f"exsim-{exchange}.log"), "w"))
    return p, out


def kafka_events(e):
    """Every event on the engine's topic so far (kcat, from the beginning)."""
    env = e.shared_env()
    r = subprocess.run(["kcat", "-C", "-b", env["BEAT_KAFKA_BROKERS"], "-t",
                        env["BEAT_KAFKA_TOPIC"], "-o", "beginning", "-e", "-q"],
                       capture_output=True, text=True, timeout=30)
    out = []
    for line in r.stdout.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_exchanges_auth_caps_and_ids():
    tmp = tempfile.mkdtemp(prefix="beat-exch-")
    xfile = os.path.join(tmp, "exchanges.json")
    with open(xfile, "w") as f:
        json.dump(EXCHANGES, f)
    run = os.path.join(tmp, "run")
    with Engine(run, campaigns=EXAMPLES, env=FAST, exchanges=xfile) as e:
        wait_for(lambda: ready(e, "inference-1"), 40, what="inference ready")
        keys = e.exchange_keys()
        check(set(keys) == {"exA", "exB", "exC"}, f"generated keys: {keys}")
        for name in ("exchanges.json", "exchange-keys", "env"):
            mode = os.stat(os.path.join(run, name)).st_mode & 0o777
            check(mode == 0o600, f"{name} mode {oct(mode)}")
        # The supervisor keeps only the keys' SHA-256: its database never has them.
        db = b"".join(open(os.path.join(run, n), "rb").read()
                      for n in ("supervisor.db", "supervisor.db-wal")
                      if os.path.exists(os.path.join(run, n)))
        check(db and all(k.encode() not in db for k in keys.values()), "no key in SQLite")
        sup = e.url("supervisor")
        token = {"Authorization": "Bearer " + e.shared_env()["BEAT_ADMIN_TOKEN"]}

        # GET /v1/exchanges: the admin token, and never a key
        st, _, _ = http("GET", sup + "/v1/exchanges")
        check(st == 401, f"GET without token -> {st}")
        st, _, body = http("GET", sup + "/v1/exchanges", headers=token)
        check(st == 200, f"GET -> {st} {body[:200]!r}")
        text = body.decode()
        got = json.loads(text)
        check([x["id"] for x in got["exchanges"]] == ["exA", "exB", "exC", "exN"], text)
        check(all(k not in text for k in keys.values()) and "key_sha256" not in text,
              "no key material in GET")
        fps = {x["id"]: x.get("key_fingerprint") for x in got["exchanges"]}
        check(all(len(fps[i] or "") == 12 for i in keys) and fps["exN"] is None, str(fps))
        version = got["version"]

        # Not an exchange: 403 with a reason, before the body is looked at.
        cases = [
            ({}, "no_credentials"),
            ({"X-Beat-Exchange": "exA", "X-Beat-Key": keys["exA"] + "x"}, "wrong_key"),
            ({"X-Beat-Exchange": "exA"}, "wrong_key"),
            ({"X-Beat-Exchange": "exB", "X-Beat-Key": keys["exA"]}, "wrong_key"),
            ({"X-Beat-Exchange": "nobody", "X-Beat-Key": keys["exA"]}, "unknown_exchange"),
            ({"X-Beat-Exchange": "exN"}, "network"),
        ]
        port = e.ports["inference-1"]
        for hdrs, reason in cases:
            before = metric(port, f'beat_inference_exchange_refused_total{{reason="{reason}"}}')
            st, _, body = bid(e, hdrs)
            check(st == 403, f"{hdrs} -> {st} {body[:200]!r}")
            check(json.loads(body).get("error"), f"403 carries a reason: {body!r}")
            after = metric(port, f'beat_inference_exchange_refused_total{{reason="{reason}"}}')
            check(after == (before or 0) + 1, f"{reason} counted: {before} -> {after}")
        check(metric_sum(port, "beat_inference_requests_total") == 0,
              "refused requests never reached the bidder")

        # An exchange's bid: notice URLs signed with its id, its own macros.
        st, _, body = bid(e, {"X-Beat-Exchange": "exC", "X-Beat-Key": keys["exC"]})
        check(st == 200, f"exC bid -> {st} {body[:300]!r}")
        b = json.loads(body)["seatbid"][0]["bid"][0]
        check("x=exC&" in b["nurl"] and "p=${WIN_PRICE}" in b["nurl"], b["nurl"])
        check("lurl" not in b and "x=exC&" in b["burl"], str(b))
        rid = json.loads(body)["id"]
        win = substitute(b["nurl"].replace("${WIN_PRICE}", "${AUCTION_PRICE}"), rid, "1",
                         b["price"] * 0.5)
        st, _, _ = http("GET", win)
        check(st == 204, f"the receiver verifies exC's signed win notice -> {st}")

        # A over its cap while B runs beside it.
        pa, out_a = exsim(e, tmp, "exA", keys["exA"], 150, 4)
        pb, out_b = exsim(e, tmp, "exB", keys["exB"], 100, 4)
        check(pa.wait(60) == 0 and pb.wait(60) == 0, "exsim runs")
        ja, jb = json.load(open(out_a)), json.load(open(out_b))
        lim_a = metric(port, 'beat_inference_qps_limited_total{exchange="exA"}')
        lim_b = metric(port, 'beat_inference_qps_limited_total{exchange="exB"}')
        adm_a = metric_sum(port, "beat_inference_requests_total", exchange="exA")
        adm_b = metric_sum(port, "beat_inference_requests_total", exchange="exB")
        # 5/s with a bucket of 5 over ~4 s of sending: at most ~30 admitted
        check(adm_a <= 40 and lim_a >= ja["requests"] / 2,
              f"exA capped: admitted {adm_a}, limited {lim_a}, sent {ja['requests']}")
        check(lim_b == 0, f"exB never limited: {lim_b}")
        check(adm_b >= jb["requests"] - jb["timeouts"] - jb["errors"] - jb["skipped"],
              f"every exB request answered by the bidder: {adm_b} vs {jb}")
        check(metric_sum(port, "beat_inference_bids_total", exchange="exB") > 0
              and jb["answered"]["200"] > 0, f"exB bids: {jb['answered']}")

        # The fast 204 itself, with its reason header.
        seen = None
        for _ in range(30):
            st, hd, body = bid(e, {"X-Beat-Exchange": "exA", "X-Beat-Key": keys["exA"]})
            if st == 204 and {k.lower(): v for k, v in hd.items()}.get(
                    "x-beat-nobid-reason") == "qps":
                seen = True
                break
        check(seen, "exA over its cap gets 204 with X-Beat-Nobid-Reason: qps")

        # Bid events on Kafka carry the exchange.
        def bid_exchanges():
            ex = {ev.get("exchange") for ev in kafka_events(e) if ev.get("type") == "bid"}
            return ex if {"exA", "exB", "exC"} <= ex else None
        ex = wait_for(bid_exchanges, 30, interval=1.0, what="bid events from exA, exB, exC")
        check(None not in ex, f"every bid event names its exchange: {ex}")

        # A bad PUT: 400 with a reason, the last good set stays.
        bad = {"v": 1, "exchanges": [{"id": "exZ", "qps": 10}]}
        st, _, body = http("PUT", sup + "/v1/exchanges", json.dumps(bad),
                           {**token, "Content-Type": "application/json"})
        check(st == 400 and b"needs key" in body, f"bad PUT -> {st} {body!r}")
        st, _, body = http("PUT", sup + "/v1/exchanges", json.dumps(bad))
        check(st == 401, f"PUT without token -> {st}")
        got = get_json_auth(sup + "/v1/exchanges", token)
        check(got["version"] == version and len(got["exchanges"]) == 4, str(got)[:300])
        st, _, _ = bid(e, {"X-Beat-Exchange": "exB", "X-Beat-Key": keys["exB"]})
        check(st in (200, 204), f"exB still admitted after the bad PUT -> {st}")

        # A good PUT reaches inference: exB removed → refused.
        good = {"v": 1, "exchanges": [x for x in EXCHANGES["exchanges"] if x["id"] == "exC"]}
        good["exchanges"][0] = dict(good["exchanges"][0], key=keys["exC"])
        st, _, body = http("PUT", sup + "/v1/exchanges", json.dumps(good),
                           {**token, "Content-Type": "application/json"})
        check(st == 200 and json.loads(body)["version"] > version, f"good PUT -> {st} {body!r}")
        wait_for(lambda: e.health("inference-1")["exchanges"] == 1, 20,
                 what="inference holding the new set")
        st, _, _ = bid(e, {"X-Beat-Exchange": "exB", "X-Beat-Key": keys["exB"]})
        check(st == 403, f"removed exB -> {st}")
        st, _, _ = bid(e, {"X-Beat-Exchange": "exC", "X-Beat-Key": keys["exC"]})
        check(st in (200, 204), f"exC with the same key after the PUT -> {st}")


def get_json_auth(url, headers):
    st, _, body = http("GET", url, headers=headers)
    check(st == 200, f"GET {url} -> {st}")
    return json.loads(body)
