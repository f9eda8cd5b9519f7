"""beat-inference on its own (no supervisor, no receiver on the other end of
its links): it serves, says not ready, answers 204 to valid requests, 400
with a reason to malformed ones, 413 to oversize bodies, 405 to other
methods, echoes x-openrtb-version, and stops cleanly on SIGTERM. Then,
with a real supervisor and receiver, every IAB OpenRTB example request and
Native 1.2 request against campaigns of every format: a bid checked field by
field (its win notice accepted by the receiver) or a reasoned 204.
The full supervisor → inference flow is in test_inference_sync.py."""
import gzip, json, os, signal, tempfile, urllib.parse, zlib

from beatlib import (ROOT, FIXTURES, Procs, free_ports, get_json, healthz, http, metric,
                     wait_for, check)
from test_inference_sync import (SECRET, ckpt, inference_argv, start_supervisor, state,
                                 substitute)

REQUESTS = os.path.join(FIXTURES, "openrtb", "bid-request")


def start(procs, port, extra=()):
    # Supervisor and receiver addresses point at ports nobody listens on: the
    # links must stay weak (no crash, no block), the node just has no world.
    pub, rep, lease, bidlog = free_ports(4)
    p = procs.start("inference", ["beat-inference", "--listen", f"127.0.0.1:{port}",
                                  "--supervisor-pub", f"tcp://127.0.0.1:{pub}",
                                  "--supervisor-rep", f"tcp://127.0.0.1:{rep}",
                                  "--supervisor-lease", f"tcp://127.0.0.1:{lease}",
                                  "--receiver-bidlog", f"tcp://127.0.0.1:{bidlog}",
                                  "--name", "inf-test", "--open", *extra])
    wait_for(lambda: healthz(port), 10, what="inference serving")
    return p


def fixture(name):
    with open(os.path.join(REQUESTS, name), "rb") as f:
        return f.read()


def test_no_supervisor_not_ready_and_204():
    port, = free_ports(1)
    with Procs(tempfile.mkdtemp(prefix="inf-")) as procs:
        p = start(procs, port)
        base = f"http://127.0.0.1:{port}"
        h = healthz(port)
        check(h["svc"] == "inference" and h["ready"] is False, f"healthz {h}")
        check(h["name"] == "inf-test" and h["model_version"] == 0, f"healthz {h}")
        # Every fixture is valid OpenRTB: 204 (no model yet), never 400/5xx.
        for v in ("2.5", "2.6"):
            for f in sorted(os.listdir(os.path.join(REQUESTS, v))):
                st, hdr, body = http("POST", f"{base}/openrtb2/bid",
                                     fixture(f"{v}/{f}"),
                                     {"Content-Type": "application/json",
                                      "x-openrtb-version": v})
                check(st == 204, f"{v}/{f} -> {st} {body[:200]!r}")
                check(hdr.get("x-openrtb-version") == v, f"{v}/{f} headers {hdr}")
                check(body == b"", f"204 with a body {body!r}")
        n = metric(port, 'beat_inference_nobid_total{exchange="open",reason="no_model"}')
        check(n == 11, f"no_model count {n}")
        check(metric(port, 'beat_inference_requests_total{exchange="open",outcome="nobid"}') == 11)
        check(p.alive(), "inference died")
        # The supervisor link failure is counted, not fatal.
        wait_for(lambda: (metric(port, 'beat_inference_sync_failures_total{what="snapshot"}')
                          or 0) >= 1, 5, what="sync failure counted")
        check(p.stop() == 0, "SIGTERM exit code")
        evs = [e["ev"] for e in p.events()]
        check("dev_mode" in evs and "dev_secret" in evs, f"no dev-mode warning in {evs}")
        check("stopped" in evs, f"no stopped event in {evs}")
        check(not any(e.get("lvl") in ("fatal", "error") for e in p.events()),
              "error logged")


def test_bad_requests():
    port, = free_ports(1)
    with Procs(tempfile.mkdtemp(prefix="inf-")) as procs:
        p = start(procs, port, ["--max-body", "4096"])
        url = f"http://127.0.0.1:{port}/openrtb2/bid"
        cases = [
            (b"not json", "invalid JSON"),
            (b"{}", "id: missing"),
            (b'{"id":"a","imp":[]}', "imp: empty"),
            (b'{"id":"a","imp":[{"id":"1"},{"id":"1"}],"site":{}}', "duplicate"),
            (b'{"id":"a","imp":[{"id":"1"}],"site":{},"app":{}}', "both present"),
            (b'{"id":"a","imp":[{"id":"1"}]}', "none present"),
            (b'{"id":7,"imp":[{"id":"1"}],"site":{}}', "id: not a string"),
            (b'{"id":"a","imp":"x","site":{}}', "imp: not an array"),
        ]
        for body, reason in cases:
            st, hdr, b = http("POST", url, body, {"x-openrtb-version": "2.6"})
            check(st == 400, f"{body!r} -> {st}")
            err = json.loads(b)["error"]
            check(reason in err and "\n" not in err, f"{body!r} -> {err!r}")
            check(hdr.get("x-openrtb-version") == "2.6", f"no echo on 400: {hdr}")
        # Oversize body: evhttp refuses it before the handler.
        st, _, _ = http("POST", url, b"{" + b" " * 8000 + b"}")
        check(st == 413, f"oversize -> {st}")
        # Other methods.
        for m in ("GET", "PUT", "DELETE"):
            st, hdr, b = http(m, url, b"{}" if m == "PUT" else None)
            check(st == 405, f"{m} -> {st}")
            check("POST" in hdr.get("Allow", ""), f"{m} Allow header {hdr}")
            check("error" in json.loads(b), f"{m} body {b!r}")
        check(metric(port, 'beat_inference_requests_total{exchange="open",outcome="bad_request"}')
              == len(cases) + 3, "bad_request count")
        st, _, _ = http("GET", f"http://127.0.0.1:{port}/nope")
        check(st == 404, f"unknown path -> {st}")
        check(p.alive(), "inference died")
        check(p.stop() == 0, "SIGTERM exit code")


def test_workers_share_the_port():
    port, = free_ports(1)
    with Procs(tempfile.mkdtemp(prefix="inf-")) as procs:
        p = start(procs, port, ["--workers", "3"])
        url = f"http://127.0.0.1:{port}/openrtb2/bid"
        body = fixture("2.5/simple-banner.json")
        # Each request is a new connection: SO_REUSEPORT spreads them.
        for _ in range(30):
            st, _, _ = http("POST", url, body)
            check(st == 204, f"-> {st}")
        check(healthz(port)["workers"] == 3)
        check(metric(port, 'beat_inference_requests_total{exchange="open",outcome="nobid"}') == 30)
        check(p.stop() == 0, "SIGTERM exit code with 3 workers")


def test_bad_flags_exit_64():
    port, = free_ports(1)
    with Procs(tempfile.mkdtemp(prefix="inf-")) as procs:
        for i, bad in enumerate((["--workers", "0"], ["--receiver-url", "ftp://x"],
                                 ["--name", "n" * 65], ["--max-state-age-ms", "abc"],
                                 ["--currency-rates", "EUR=abc"],
                                 ["--currency-rates", "EURO=1.1"],
                                 ["--exempt-networks", "10.0.0.1/8"],
                                 ["--max-conns-per-source", "-1"])):
            p = procs.start(f"inference-bad{i}", ["beat-inference", "--listen",
                                                  f"127.0.0.1:{port}", *bad])
            wait_for(lambda: not p.alive(), 5, what=f"exit on {bad}")
            check(p.p.returncode == 64, f"{bad}: exit code {p.p.returncode}")


def test_gzip_encoding_and_tmax():
    """gzip bodies are inflated (bounded by --max-body: a bomb is a 413),
    bad gzip is a 400, unknown encodings a 415; a tmax shorter than
    --tmax-reserve-ms is a 204 counted as reason "tmax"."""
    port, = free_ports(1)
    with Procs(tempfile.mkdtemp(prefix="inf-")) as procs:
        p = start(procs, port, ["--max-body", "4096", "--tmax-reserve-ms", "10",
                                "--currency-rates", "EUR=1.08,gbp=1.27"])
        url = f"http://127.0.0.1:{port}/openrtb2/bid"
        body = fixture("2.6/simple-banner.json")
        gz = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        st, _, b = http("POST", url, gzip.compress(body), gz)
        check(st == 204, f"gzip fixture -> {st} {b!r}")  # no model: 204, not 400
        st, _, b = http("POST", url, zlib.compress(body),
                        {"Content-Encoding": "deflate"})
        check(st == 204, f"deflate fixture -> {st} {b!r}")
        bomb = gzip.compress(b"{" + b" " * (1 << 20) + b"}")
        check(len(bomb) < 4096, "bomb fits the raw limit")
        st, _, b = http("POST", url, bomb, gz)
        check(st == 413, f"gzip bomb -> {st} {b!r}")
        check("max-body" in json.loads(b)["error"], f"bomb reason {b!r}")
        st, _, b = http("POST", url, b"\x1f\x8b not really gzip", gz)
        check(st == 400 and "gzip" in json.loads(b)["error"], f"bad gzip -> {st} {b!r}")
        st, _, b = http("POST", url, gzip.compress(b"not json"), gz)
        check(st == 400 and "invalid JSON" in json.loads(b)["error"], f"-> {st} {b!r}")
        st, _, b = http("POST", url, body, {"Content-Encoding": "br"})
        check(st == 415 and "error" in json.loads(b), f"br -> {st} {b!r}")
        st, _, b = http("POST", url, body, {"Content-Encoding": "identity"})
        check(st == 204, f"identity -> {st} {b!r}")
        req = json.loads(body)
        req["tmax"] = 5
        st, _, _ = http("POST", url, json.dumps(req).encode())
        check(st == 204, f"tmax 5 -> {st}")
        check(metric(port, 'beat_inference_nobid_total{exchange="open",reason="tmax"}') == 1,
              "tmax no-bid counted")
        check(metric(port, 'beat_inference_requests_total{exchange="open",outcome="bad_request"}') == 4,
              "bad_request count")
        check(p.alive(), "inference died")
        check(p.stop() == 0, "SIGTERM exit code")


FORMATS = os.path.join(ROOT, "inference", "testdata", "campaigns-formats.json")
NATIVE12 = os.path.join(FIXTURES, "openrtb", "native-request-1.2")
# fixture → (mtype of the bid, dealid) or None for a 204
EXPECT = {
    "simple-banner.json": (1, None), "expandable-creative.json": (1, None),
    "mobile.json": (1, None), "video.json": (2, None),
    "pmp-with-direct-deal.json": (1, "AB-Agency1-0001"),
    "native-ad.json": None,  # 2.5 only: its native request is a placeholder, not JSON
}


def check_bid(req, b0, rcv_port, mtype, dealid):
    imps = {i["id"]: i for i in req["imp"]}
    imp = imps.get(b0["impid"])
    check(imp is not None, f"impid {b0}")
    check(b0["mtype"] == mtype, f"mtype {b0['mtype']} != {mtype}")
    check(b0.get("dealid") == dealid, f"dealid {b0.get('dealid')} != {dealid}")
    if dealid:
        deal = [d for d in imp["pmp"]["deals"] if d["id"] == dealid][0]
        check(b0["price"] >= deal["bidfloor"], f"price {b0['price']} < deal floor")
    check(b0["price"] > 0 and b0["price"] >= imp.get("bidfloor", 0), f"price {b0}")
    if mtype == 1:
        sizes = [(imp["banner"].get("w"), imp["banner"].get("h"))] + \
                [(f["w"], f["h"]) for f in imp["banner"].get("format", [])]
        check((b0["w"], b0["h"]) in sizes, f"size {b0} not in {sizes}")
    elif mtype == 2:
        check(b0["adm"].startswith("<VAST") and "${CLICK_URL}" not in b0["adm"], b0["adm"])
    else:
        adm = json.loads(b0["adm"])
        nreq = json.loads(imp["native"]["request"])
        ids = {a["id"] for a in nreq["assets"]}
        got = {a["id"] for a in adm["assets"]}
        check(got <= ids and got, f"native asset ids {got} vs {ids}")
        req_ids = {a["id"] for a in nreq["assets"] if a.get("required")}
        check(req_ids <= got, f"required {req_ids} missing from {got}")
    check(b0["cid"] and b0["crid"] and b0["adomain"], f"bid {b0}")
    # The exchange's win notice, macros filled in: the receiver accepts it.
    for key in ("nurl", "burl"):
        url = substitute(b0[key], req["id"], b0["impid"], price=str(b0["price"]))
        check(url.startswith(f"http://127.0.0.1:{rcv_port}/"), f"{key} {url}")
        st, _, body = http("GET", url)
        check(st == 204, f"{key} -> {st} {body!r}")
    # An altered bid price is a forgery.
    url = substitute(b0["nurl"], req["id"], b0["impid"]).replace("&b=", "&b=9")
    st, _, _ = http("GET", url)
    check(st == 403, f"forged nurl -> {st}")


FORMAT_MULTS = {"ortb-banner": 1.0, "ortb-video": 1.0, "ortb-native": 1.0, "ortb-deal": 3.0}


def load_formats(sbase, inf_port):
    """The format fixtures' campaigns, a state and a model through the
    supervisor at sbase; returns once inference at inf_port is ready.
    pCTR 0.5 / avg 0.5: price = base × multiplier; ortb-deal at 3.3 clears
    the 2.5 deal floor."""
    with open(FORMATS, "rb") as f:
        st, _, b = http("PUT", sbase + "/v1/campaigns", f.read(),
                        {"Content-Type": "application/json"})
    check(st == 200, f"PUT campaigns -> {st} {b!r}")
    for path, body, ctype in (("/v1/state", state(FORMAT_MULTS), "application/json"),
                              ("/v1/checkpoint", ckpt(), "application/octet-stream")):
        st, _, b = http("POST", sbase + path, body, {"Content-Type": ctype})
        check(st == 200, f"POST {path} -> {st} {b!r}")
    wait_for(lambda: healthz(inf_port) and healthz(inf_port)["ready"], 10,
             what="inference ready")


def test_every_fixture_bids_or_says_why():
    sup_port, inf_port, rcv_port, bidlog_port, kafka_port = free_ports(5)
    tmp = tempfile.mkdtemp(prefix="inf-fx-")
    with Procs(tmp) as procs:
        start_supervisor(procs, tmp, sup_port)
        sbase = f"http://127.0.0.1:{sup_port}"
        procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{rcv_port}",
                                 "--bidlog-listen", f"tcp://127.0.0.1:{bidlog_port}",
                                 "--kafka-brokers", f"127.0.0.1:{kafka_port}",
                                 "--notice-secret", SECRET])
        wait_for(lambda: healthz(rcv_port), 10, what="receiver serving")
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-fx",
                                                     rcv_port))
        load_formats(sbase, inf_port)
        url = f"http://127.0.0.1:{inf_port}/openrtb2/bid"
        n204 = 0
        for v in ("2.5", "2.6"):
            for f in sorted(os.listdir(os.path.join(REQUESTS, v))):
                body = fixture(f"{v}/{f}")
                st, hdr, out = http("POST", url, body, {"x-openrtb-version": v})
                check(explain_of(hdr) is None, f"{v}/{f}: X-Beat-Explain without --explain")
                want = EXPECT[f]
                if want is None:
                    check(st == 204, f"{v}/{f} -> {st} {out[:300]!r}")
                    n204 += 1
                    continue
                check(st == 200, f"{v}/{f} -> {st} {out[:300]!r}")
                req, resp = json.loads(body), json.loads(out)
                check(resp["id"] == req["id"] and resp["cur"] == "USD", f"{v}/{f}: {resp}")
                bids = [b for sb in resp["seatbid"] for b in sb["bid"]]
                check(len(bids) == 1, f"{v}/{f}: bids {bids}")
                check_bid(req, bids[0], rcv_port, *want)
        for f in sorted(os.listdir(NATIVE12)):
            with open(os.path.join(NATIVE12, f)) as fh:
                nreq = json.load(fh)
            req = {"id": f"native-{f[:-5]}", "cur": ["USD"],
                   "site": {"id": "1", "domain": "news.example"},
                   "imp": [{"id": "1", "bidfloor": 0.1,
                            "native": {"ver": "1.2", "request": json.dumps(nreq)}}]}
            st, _, out = http("POST", url, json.dumps(req).encode())
            check(st == 200, f"native {f} -> {st} {out[:300]!r}")
            bids = [b for sb in json.loads(out)["seatbid"] for b in sb["bid"]]
            check_bid(req, bids[0], rcv_port, 4, None)
        check(metric(inf_port, 'beat_inference_nobid_total{exchange="open",reason="no_imp"}') == n204,
              "no_imp count")
        check(inf.alive(), "inference died")
        rc = inf.stop()
        check(rc == 0, f"SIGTERM exit code {rc}; its log's end: {inf.logs()[-3000:]}")


def explain_of(hdr):
    """X-Beat-Explain → (v, {campaign: pctr}), or None when absent."""
    x = next((val for k, val in hdr.items() if k.lower() == "x-beat-explain"), None)
    if x is None:
        return None
    v, _, rest = x.partition(";")
    check(v.startswith("v="), f"explain {x!r}")
    items = dict(kv.split("=") for kv in rest.split(",") if kv)
    return int(v[2:]), {k: float(p) for k, p in items.items()}


def test_explain_header():
    """--explain: every bid answer, 200 and 204 alike, carries X-Beat-Explain
    with the value of the first imp's bid (0 when none) and the pCTR of each
    candidate campaign, even one the state pauses (the fixture test above
    checks that no answer carries it without the flag)."""
    sup_port, inf_port, bidlog_port = free_ports(3)
    tmp = tempfile.mkdtemp(prefix="inf-explain-")
    with Procs(tmp) as procs:
        start_supervisor(procs, tmp, sup_port)
        sbase = f"http://127.0.0.1:{sup_port}"
        inf = procs.start("inference", inference_argv(tmp, inf_port, bidlog_port, "inf-x",
                                                     None, "--explain"))
        load_formats(sbase, inf_port)
        url = f"http://127.0.0.1:{inf_port}/openrtb2/bid"
        body = fixture("2.6/simple-banner.json")
        st, hdr, out = http("POST", url, body, {"x-openrtb-version": "2.6"})
        check(st == 200, f"bid -> {st} {out[:300]!r}")
        price = json.loads(out)["seatbid"][0]["bid"][0]["price"]
        x = explain_of(hdr)
        check(x is not None, f"no X-Beat-Explain on a 200: {hdr}")
        v, pctrs = x
        check(v == round(price * 1e6), f"v={v} for price {price}")
        check(set(pctrs) == {"ortb-banner", "ortb-deal"} and
              all(abs(p - 0.5) < 1e-6 for p in pctrs.values()), f"pctrs {pctrs}")
        # A floor above any price: no bid, the candidates still explained.
        req = json.loads(body)
        req["imp"][0]["bidfloor"] = 500.0
        st, hdr, _ = http("POST", url, json.dumps(req).encode())
        check(st == 204, f"high floor -> {st}")
        check(explain_of(hdr) == (0, pctrs), f"204 explain {explain_of(hdr)} vs {pctrs}")
        # Paused by the state (both): no bid, but still scored for the header.
        st, _, b = http("POST", sbase + "/v1/state", state(FORMAT_MULTS, paused=tuple(pctrs)),
                        {"Content-Type": "application/json"})
        check(st == 200, f"POST /v1/state -> {st} {b!r}")
        wait_for(lambda: http("POST", url, body)[0] == 204, 10, what="paused: no bid")
        st, hdr, _ = http("POST", url, body)
        check(st == 204 and explain_of(hdr) == (0, pctrs), f"paused -> {st} {hdr}")
        # Not a bid request the bidder saw: no header.
        st, hdr, _ = http("POST", url, b"{not json")
        check(st == 400 and explain_of(hdr) is None, f"bad request -> {st} {hdr}")
        check(inf.alive(), "inference died")
        rc = inf.stop()
        check(rc == 0, f"SIGTERM exit code {rc}; its log's end: {inf.logs()[-3000:]}")
