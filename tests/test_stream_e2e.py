"""The whole event stream with real processes: notices signed here hit the
REAL receiver over HTTP (GET and POST), go through beat-kafka-dev, and
beat-datastream joins and aggregates them. The scripted sequence has
duplicates, forgeries and bad notices (refused at the receiver, never
counted), notices before their bid (out of order) and a notice after its
join window (late), and must give exactly the expected aggregates and
samples. Then the broker goes away for a while (kafka-dev fault injection,
log kept) and comes back: the receiver keeps answering at once, queues, and
nothing that was accepted is lost or counted twice. Bids are produced with
kcat keyed by auction, as inference's bid logs arrive via the receiver (the
nng leg is covered by receiver/bidlog_test.c: Python has no nng)."""
import json, os, subprocess, tempfile, time

from beatlib import (BIN, Procs, check, free_ports, healthz, http, http_noredirect,
                     metric, wait_for)
from test_receiver import (SECRET, TOPIC, conv_token, notice_query, start_kafka,
                           start_receiver)
import test_datastream as tds

WINDOW_MS = 2500
BID = 2500000  # CPM micros every notice is signed with


def start_ds(procs, kport, hport, group="e2e"):
    # One store directory per group: a second group reading the same topic
    # from its start is another ledger (its own dedup and offsets).
    return procs.start(group, ["beat-datastream", "--listen", f"127.0.0.1:{hport}",
                              "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                              "--group", group, "--bucket-ms", "200",
                              "--join-window-ms", str(WINDOW_MS), "--neg-rate", "1",
                              "--start-from", "beginning",
                              "--store-dir", os.path.join(procs.logdir, f"store-{group}")])


def produce_bids(kport, bids):
    lines = "".join(
        f"{a}|" + json.dumps({"v": 1, "type": "bid", "auction": a, "imp": "1",
                              "campaign": c, "ts": int(time.time() * 1000),
                              "price": BID, "pctr": 0.01, "feat": feat},
                             separators=(",", ":")) + "\n" for a, c, feat in bids)
    r = subprocess.run(["kcat", "-P", "-b", f"127.0.0.1:{kport}", "-t", TOPIC, "-K", "|"],
                       input=lines.encode(), capture_output=True, timeout=20)
    check(r.returncode == 0, f"kcat: {r.stderr[:300]!r}")


class Chain:
    """Sends notices to the receiver and keeps the expected aggregates."""

    def __init__(self, hp):
        self.base = f"http://127.0.0.1:{hp}"
        self.exp = {}

    def row(self, c):
        return self.exp.setdefault(c, {"bids": 0, "wins": 0, "spend_micros": 0,
                                       "imps": 0, "clicks": 0})

    def send(self, kind, a, c, want, post=False, body=False, t=None, sig=None, **kw):
        if kind == "click":
            kw.setdefault("u", "https://shop.example/p?a=" + a)
        q = notice_query(kind, a, c=c, b=BID, t=t, sig=sig, **kw)
        if kind == "click" and not body and not post:
            st, _, b = http_noredirect(f"{self.base}/click?{q}")
        elif body:
            st, _, b = http("POST", f"{self.base}/{kind}", body=q,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            st, _, b = http("POST" if post else "GET", f"{self.base}/{kind}?{q}")
        check(st == want, f"{kind} {a} -> {st} {b[:100]!r}, want {want}")
        return st

    def win(self, kind, a, c, price, count=True, **kw):
        self.send(kind, a, c, 204, p=f"{price / 1e6:.6f}", **kw)
        if count:
            r = self.row(c)
            r["wins"] += 1
            r["spend_micros"] += price // 1000


def delivered(hp):
    h = healthz(hp)
    return h["kafka_delivered"], h["kafka_dropped"] + h["kafka_delivery_errors"]


def test_receiver_to_datastream_exact_with_broker_outage():
    kport, kadmin, hp, bp, dh = free_ports(5)
    with Procs(tempfile.mkdtemp(prefix="beat-e2e-stream-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        r = start_receiver(procs, kport, hp, bp)
        ds = start_ds(procs, kport, dh)
        wait_for(lambda: tds.ready_with(dh, tds.PARTS), 20, 0.1, "datastream assigned")
        ch = Chain(hp)
        now = int(time.time() * 1000)
        feats = {}

        def bid(a, c):
            feats[a] = [len(feats), 7000 + len(feats)]
            ch.row(c)["bids"] += 1
            return (a, c, feats[a])

        # Out of order: notices first, their bids only once Kafka has them.
        ch.win("win", "O1", "c2", 1300000)
        ch.send("imp", "O1", "c2", 200)
        ch.send("click", "O1", "c2", 302)
        ch.win("win", "O2", "c1", 1100000, post=True)
        ch.send("imp", "O2", "c1", 200)
        wait_for(lambda: delivered(hp)[0] >= 5, 15, 0.1, "early notices in Kafka")
        wait_for(lambda: (metric(dh, 'beat_datastream_events_total{type="imp"}') or 0) >= 2,
                 15, 0.1, "early notices consumed")
        produce_bids(kport, [bid("O1", "c2"), bid("O2", "c1")] +
                     [bid(f"E{i}", "c1" if i % 2 else "c2") for i in range(6)] +
                     [bid("L1", "c1")])
        ch.row("c2")["imps"] += 1
        ch.row("c2")["clicks"] += 1
        ch.row("c1")["imps"] += 1

        # E0: win (GET) + duplicate (form POST body), imp twice, click twice.
        ch.win("win", "E0", "c2", 1000000)
        ch.win("win", "E0", "c2", 1000000, count=False, body=True)
        ch.send("imp", "E0", "c2", 200)
        ch.send("imp", "E0", "c2", 200, post=True)
        ch.send("click", "E0", "c2", 302)
        ch.send("click", "E0", "c2", 302)
        ch.row("c2")["imps"] += 1
        ch.row("c2")["clicks"] += 1
        # E1: win, then the exchange's bill (no second win or spend), imp.
        ch.win("win", "E1", "c1", 1500000)
        ch.win("bill", "E1", "c1", 1500000, count=False, post=True)
        ch.send("imp", "E1", "c1", 200)
        ch.row("c1")["imps"] += 1
        # E2: lost (the winner paid more than our bid): nothing counted.
        ch.send("loss", "E2", "c2", 204, p="3.0", l=102)
        # E3: forged and unsigned wins refused at the receiver.
        good = notice_query("win", "E3", c="c1", b=BID, p="1.0")
        ch.send("win", "E3", "c1", 403, p="1.0", sig="0" * 32)
        st, _, _ = http("GET", f"{ch.base}/win?" + good.rsplit("&s=", 1)[0])
        check(st == 403, f"unsigned -> {st}")
        st, _, _ = http("GET", f"{ch.base}/win?" + good.replace("c=c1", "c=c2"))
        check(st == 403, f"tampered campaign -> {st}")
        # E4: price above the signed bid (400), too old (410), bad price.
        ch.send("win", "E4", "c2", 400, p="2.6")
        ch.send("win", "E4", "c2", 410, p="1.0", t=now - 2 * 3600 * 1000)
        ch.send("bill", "E4", "c2", 400, p="abc", post=True)
        # E5: only a bill (exchange bills without a win notice), imp.
        ch.win("bill", "E5", "c1", 2000000)
        ch.send("imp", "E5", "c1", 200, post=True)
        ch.row("c1")["imps"] += 1

        # Windows close: negatives for E1, E5, O2; positives for O1, E0.
        def samples(n):
            head, rows = tds.get_samples(dh)
            return rows if len(rows) >= n else None
        rows = wait_for(lambda: samples(5), WINDOW_MS / 1000 + 15, 0.2, "5 samples")
        got = {}
        for s in rows:
            a = [x for x, f in feats.items() if f == s["feat"]]
            check(len(a) == 1 and s["w"] == 1, f"sample {s}")
            got[a[0]] = s["label"]
        check(got == {"O1": 1, "E0": 1, "E1": 0, "E5": 0, "O2": 0}, f"samples {got}")

        # Late: L1's window has closed (it opened with the bids above); its
        # bill still debits. A late repeat of E0's win is a duplicate.
        ch.win("bill", "L1", "c1", 1700000)
        ch.win("win", "E0", "c2", 1000000, count=False)
        ch.send("click", "E0", "c2", 302)

        def exact(port=dh):
            tot, _, _ = tds.sum_aggregates(port)
            return tot if tot == ch.exp else None
        try:
            wait_for(exact, 15, 0.2, "exact aggregates")
        except AssertionError:
            print("expected", ch.exp, "\ngot", tds.sum_aggregates(dh)[0])
            raise
        wait_for(lambda: metric(dh, "beat_datastream_late_total") == 1, 5, 0.1, "1 late")
        check(metric(dh, "beat_datastream_duplicates_total") == 5,
              f"duplicates {metric(dh, 'beat_datastream_duplicates_total')}")
        check(len(tds.get_samples(dh)[1]) == 5, "no further samples")
        check(metric(hp, 'beat_receiver_rejected_total{reason="forged"}') == 3, "3 forged")
        check(metric(hp, 'beat_receiver_rejected_total{reason="expired"}') == 1, "1 expired")
        check(metric(hp, 'beat_receiver_rejected_total{reason="price"}') == 1, "1 over bid")

        # The broker goes away for a while (its log is kept) and comes back.
        d0, lost0 = delivered(hp)
        kurl = f"http://127.0.0.1:{kadmin}/fault/broker?id=1"
        check(http("POST", kurl + "&state=down")[0] == 200, "broker down")
        n = 40
        for i in range(n):  # about 2 s of outage
            t0 = time.monotonic()
            ch.win("win", f"K{i}", "c3", 1000000, post=bool(i % 2))
            check(time.monotonic() - t0 < 0.5, "receiver blocked by the dead broker")
            time.sleep(0.05)  # pacing, not synchronisation
        check(healthz(dh)["ready"] is not None, "datastream serves during the outage")
        check(http("POST", kurl + "&state=up")[0] == 200, "broker up")
        # Nothing was in flight when it went down: all n reach Kafka once.
        wait_for(lambda: delivered(hp)[0] - d0 >= n, 40, 0.2, f"{n} queued notices delivered")
        check(delivered(hp) == (d0 + n, lost0), f"delivered {delivered(hp)} want {d0 + n}")
        try:
            wait_for(exact, 20, 0.2, "exact aggregates after the outage")
        except AssertionError:
            print("expected", ch.exp, "\ngot", tds.sum_aggregates(dh)[0])
            raise
        check(r.alive() and ds.alive(), "both daemons alive")
        # A new group with its own (new) store replays the whole log to the
        # same totals (duplicates again counted once).
        (h2,) = free_ports(1)
        start_ds(procs, kport, h2, group="e2e-replay")
        wait_for(lambda: exact(h2), 30, 0.2, "replayed aggregates")
        check(ds.stop() == 0 and r.stop() == 0, "both exit 0")


def test_click_to_conversion_attributed_once():
    """A click's token → /conv → Kafka → datastream: the conversion counts
    for the click's campaign in the aggregates ("convs", "conv_value_micros"),
    once per click however often the advertiser calls (a replayed pixel, a
    postback with a value: duplicates, by the store's key), and a test
    click's conversion never."""
    kport, kadmin, hp, bp, dh = free_ports(5)
    with Procs(tempfile.mkdtemp(prefix="beat-e2e-conv-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        start_receiver(procs, kport, hp, bp)
        start_ds(procs, kport, dh, group="conv")
        wait_for(lambda: tds.ready_with(dh, tds.PARTS), 20, 0.1, "datastream assigned")
        base = f"http://127.0.0.1:{hp}"

        def click(a, c, **kw):
            q = notice_query("click", a, c=c, b=BID, u="https://shop.example/p", **kw)
            st, h, b = http_noredirect(f"{base}/click?{q}")
            check(st == 302, f"click {a} -> {st} {b!r}")
            return conv_token(h["Location"])

        def conv(tok, val=None, post=False, want=None):
            q = f"cv={tok}" + (f"&val={val}" if val is not None else "")
            if post:
                st, _, b = http("POST", f"{base}/conv", body=q,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
            else:
                st, _, b = http("GET", f"{base}/conv?{q}")
            check(st == (want or (204 if post else 200)), f"conv -> {st} {b!r}")

        produce_bids(kport, [("V1", "c1", [1, 2]), ("V2", "c2", [3, 4]), ("V4", "c1", [5, 6])])
        t1, t2, t3 = click("V1", "c1", cw=3600), click("V2", "c2"), click("V3", "c2", f=1)
        conv(t1)
        conv(t1)                           # the pixel again
        conv(t1, val="99.00", post=True)   # a postback for the same click
        conv(t2, val="7.5", post=True)
        conv(t3)                           # test traffic
        click("V4", "c1")                  # clicked, never converted

        def totals():
            tot, _, _ = tds.sum_aggregates(dh, market=True)
            got = {c: (r.get("clicks", 0), r.get("convs", 0), r.get("conv_value_micros", 0))
                   for c, r in tot.items()}
            return got if got == {"c1": (2, 1, 0), "c2": (1, 1, 7500000)} else None
        try:
            wait_for(totals, 20, 0.2, "conversions in the aggregates")
        except AssertionError:
            print("got", tds.sum_aggregates(dh, market=True)[0])
            raise
        check(metric(dh, 'beat_datastream_events_total{type="conv"}') == 4, "4 conv events read")
        check(metric(dh, "beat_datastream_convs_attributed_total") == 2, "2 attributed")
        check(metric(dh, "beat_datastream_store_duplicates_total") == 2, "2 duplicates")
        check(metric(hp, 'beat_receiver_test_notices_total{type="conv"}') == 1, "1 test conv")
        # Conversion samples: the clicked bids' features again, "conv":1, on
        # their own endpoint; the click samples carry none.
        def conv_samples():
            st, _, body = http("GET", f"http://127.0.0.1:{dh}/v1/samples?kind=conv&after=0")
            check(st == 200, f"conversion samples -> {st}")
            lines = body.decode().splitlines()
            rows = [json.loads(x) for x in lines[1:]]
            check(json.loads(lines[0])["n"] == len(rows), lines[0])
            return rows if len(rows) == 2 else None
        rows = wait_for(conv_samples, 10, 0.2, "2 conversion samples")
        check(sorted((r["campaign"], tuple(r["feat"])) for r in rows) ==
              [("c1", (1, 2)), ("c2", (3, 4))] and all(r["conv"] == 1 and r["label"] == 1
                                                       for r in rows), rows)
        check(all("conv" not in r for r in tds.get_samples(dh)[1]), "click samples unchanged")
        st, _, b = http("GET", f"http://127.0.0.1:{dh}/v1/samples?kind=views")
        check(st == 400, f"kind=views -> {st} {b!r}")


def test_datastream_start_from_is_checked():
    r = subprocess.run([f"{BIN}/beat-datastream", "--start-from", "sideways"],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 64 and "--start-from" in r.stderr, f"{r.returncode} {r.stderr!r}")
