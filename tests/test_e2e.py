"""End to end through real processes under beatctl: a bid request gets a
bid; its win notice flows receiver → Kafka → datastream → actuator →
supervisor → inference (state version rises); its click becomes a training
sample → trainer checkpoint → supervisor → inference (model version rises);
the conversion reported with the click's token is attributed once."""
import json, os, re, shutil, struct, subprocess, tempfile, time, urllib.parse
from beatlib import (ROOT, Engine, check, get_json, http, http_noredirect, wait_for)

EXAMPLES = os.path.join(ROOT, "docs", "examples", "campaigns.json")
FAST = {  # short periods so the loop closes within seconds
    "BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S": "1",
    "BEAT_ACTUATOR_TICK_MS": "300",
    "BEAT_DATASTREAM_BUCKET_MS": "300",
    "BEAT_DATASTREAM_JOIN_WINDOW_MS": "2000",
}


def bid_request(rid, w=300, h=250, floor=0.05):
    return {"id": rid, "at": 2, "tmax": 200, "cur": ["USD"],
            "imp": [{"id": "1", "banner": {"w": w, "h": h}, "bidfloor": floor,
                     "bidfloorcur": "USD"}],
            "site": {"id": "s1", "domain": "news.example", "cat": ["IAB12"],
                     "publisher": {"id": "p1"}},
            "device": {"devicetype": 2, "os": "ios", "geo": {"country": "USA"}},
            "user": {"id": "u-" + rid}}


def substitute(url, rid, impid, price):
    return (url.replace("${AUCTION_ID}", urllib.parse.quote(rid))
               .replace("${AUCTION_IMP_ID}", urllib.parse.quote(impid))
               .replace("${AUCTION_PRICE}", f"{price:.6f}")
               .replace("${AUCTION_CURRENCY}", "USD")
               .replace("${AUCTION_LOSS}", "102"))


def tamper_sig(url):
    m = re.search(r"[?&]s=([0-9a-f])", url)
    i = m.start(1)
    return url[:i] + ("1" if url[i] == "0" else "0") + url[i + 1:]


def campaign_spend(e, campaign):
    a = get_json(e.url("datastream-1", "/v1/aggregates?after=0"))
    return sum(b["campaigns"].get(campaign, {}).get("spend_micros", 0) for b in a["buckets"])


def ready(e, name):
    h = e.health(name)
    return h if h.get("ready") else None


def ckpt_header(blob):
    check(blob[:8] == b"BEATCKPT", "checkpoint magic")
    hlen = struct.unpack_from("<I", blob, 12)[0]
    return json.loads(blob[16:16 + hlen])


def test_pipeline_end_to_end():
    run = tempfile.mkdtemp(prefix="beat-e2e-")
    with Engine(run, campaigns=EXAMPLES, env=FAST) as e:
        # Datastream reads from the latest offset once it owns partitions
        # (at-most-once), so the test starts only after it joined its group.
        wait_for(lambda: ready(e, "datastream-1"), 40, what="datastream assigned")
        h0 = wait_for(lambda: ready(e, "inference-1"), 40, what="inference ready")
        sv0, mv0 = h0["state_version"], h0["model_version"]
        check(sv0 > 0 and mv0 > 0, f"versions at ready: {h0}")

        # 1. a bid request gets a bid for a campaign that fits
        rid = "e2e-%d" % time.time_ns()
        st, hdrs, body = http("POST", e.url("inference-1", "/openrtb2/bid"),
                              json.dumps(bid_request(rid)),
                              {"Content-Type": "application/json",
                               "x-openrtb-version": "2.5", **e.exchange_headers()})
        check(st == 200, f"bid status {st}: {body[:300]!r}")
        resp = json.loads(body)
        check(resp["id"] == rid, "response id echoes the request")
        bid = resp["seatbid"][0]["bid"][0]
        check(bid["impid"] == "1" and bid["w"] == 300 and bid["h"] == 250, f"bid {bid}")
        check(bid["price"] >= 0.05, "price at or above the floor")
        campaign = bid["cid"]
        for k in ("nurl", "burl", "lurl", "adm", "crid", "adomain"):
            check(k in bid, f"bid has {k}")

        # 2. forged or altered notices are refused
        price = round(bid["price"] * 0.8, 6)
        nurl = substitute(bid["nurl"], rid, "1", price)
        st, _, _ = http("GET", tamper_sig(nurl))
        check(st == 403, f"forged signature -> {st}")
        st, _, _ = http("GET", substitute(bid["nurl"], rid, "1", bid["price"] * 2))
        check(st == 400, f"price above the signed bid -> {st}")

        # 3. the win (and a retried duplicate) debit the budget once
        for _ in range(2):
            st, _, _ = http("GET", nurl)
            check(st == 204, f"win notice -> {st}")
        st, _, _ = http("GET", substitute(bid["burl"], rid, "1", price))
        check(st == 204, f"billing notice -> {st}")
        expect = int(round(price * 1e6)) // 1000
        wait_for(lambda: campaign_spend(e, campaign) >= expect, 20,
                 what="spend in datastream aggregates")
        check(campaign_spend(e, campaign) < 2 * expect, "duplicate win counted once")

        # The request was an opportunity of the winner's: inference counts
        # its candidates and sends a summary each second (opp events through
        # the receiver's bid-log link) that datastream adds to the bucket.
        def opps():
            a = get_json(e.url("datastream-1", "/v1/aggregates?after=0"))
            return sum(b["campaigns"].get(campaign, {}).get("opps", 0) for b in a["buckets"])
        wait_for(lambda: opps() >= 1, 20, what="opportunities in the aggregates")

        # 4. the actuator saw it and its state reached inference
        def state_spend():
            s = get_json(e.url("supervisor", "/v1/state/latest"))
            return s["private"]["spend"].get(campaign, 0) >= expect and s
        s = wait_for(state_spend, 20, what="actuator state with the spend")
        wait_for(lambda: e.health("inference-1")["state_version"] >= s["version"], 20,
                 what="inference holding the new state")
        check(e.health("inference-1")["state_version"] > sv0, "state version rose")

        # 5. the click becomes a positive sample, the trainer learns from it,
        #    and the new model reaches inference
        href = re.search(r'href="([^"]+)"', bid["adm"]).group(1).replace("&amp;", "&")
        st, hdrs, _ = http_noredirect(substitute(href, rid, "1", price))
        check(st == 302 and hdrs.get("Location", "").startswith("https://"),
              f"click -> {st} {hdrs.get('Location')}")
        # The campaign's conversion window is signed into its click URL
        # (docs/examples/campaigns.json conv_window_s); the redirect hands the
        # landing page a token, and the advertiser's conversion pixel with it
        # is attributed to the campaign in the aggregates, once.
        windows = {c["id"]: c.get("conv_window_s") for c in json.load(open(EXAMPLES))["campaigns"]}
        check(windows.get(campaign) and f"&cw={windows[campaign]}&" in href, (campaign, href))
        token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(hdrs["Location"]).query))
        origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(href))
        for _ in range(2):  # the second call is a replay: counted once
            st, _, _ = http("GET", f"{origin}/conv?cv={token['beat_cv']}&val=20")
            check(st == 200, f"conversion pixel -> {st}")

        def convs():
            a = get_json(e.url("datastream-1", "/v1/aggregates?after=0"))
            return sum(b["campaigns"].get(campaign, {}).get("convs", 0) for b in a["buckets"])
        wait_for(lambda: convs() >= 1, 20, what="the conversion in the aggregates")

        def positive_sample():
            st, _, b = http("GET", e.url("datastream-1", "/v1/samples?after=0&max=1000"))
            lines = [json.loads(x) for x in b.decode().splitlines()[1:] if x.strip()]
            return any(x["label"] == 1 and x["campaign"] == campaign for x in lines)
        wait_for(positive_sample, 20, what="positive training sample")

        def trained_model():
            st, hd, blob = http("GET", e.url("supervisor", "/v1/checkpoint/latest"))
            if st != 200:
                return None
            hdr = ckpt_header(blob)
            v = int(hd.get("X-Beat-Version") or hd.get("x-beat-version"))
            return hdr["samples_seen"] >= 1 and v
        mv = wait_for(trained_model, 30, what="a checkpoint trained on the sample")
        wait_for(lambda: e.health("inference-1")["model_version"] >= mv, 20,
                 what="inference holding the trained model")
        check(mv > mv0, "model version rose")
        check(convs() == 1, f"the conversion counted once: {convs()}")
        # Every daemon serves Prometheus text with its own beat_<daemon>_ metrics.
        prefix = {"kafka-dev": "beat_kafka_dev_", "supervisor": "beat_supervisor_",
                  "receiver-1": "beat_receiver_", "receiver-2": "beat_receiver_",
                  "datastream-1": "beat_datastream_",
                  "actuator": "beat_actuator_", "lighttrainer": "beat_lighttrainer_",
                  "inference-1": "beat_inference_"}
        for name in e.names():
            st, hd, b = http("GET", e.url(name, "/metrics"))
            text = b.decode()
            check(st == 200 and hd.get("Content-Type", "").startswith("text/plain"),
                  f"{name} /metrics -> {st} {hd.get('Content-Type')}")
            check(f"# TYPE {prefix[name]}" in text, f"{name} has no {prefix[name]}* metrics")
            if shutil.which("promtool"):
                r = subprocess.run(["promtool", "check", "metrics"], input=b,
                                   capture_output=True)
                check(r.returncode == 0, f"{name} promtool: {r.stdout[:300]!r} {r.stderr[:300]!r}")
        check(not e.fatal_events(), f"fatal events: {e.fatal_events()}")
