"""Receiver over its real links: beat-kafka-dev (mock Kafka on a free port),
beat-receiver on free ports, notices signed here exactly as beat_notice.h
says (signature v2; v1 only in the upgrade window), and what reached Kafka
read back with kcat (JSON mode). Test traffic (f=1) is answered but never
reaches Kafka. The bid-log (nng) path is covered by receiver/bidlog_test.c,
since Python has no nng."""
import hashlib, hmac, json, subprocess, tempfile, time
import urllib.parse

from beatlib import (Procs, free_ports, healthz, http,
                     http_noredirect, metric, wait_for, check)
import base64

SECRET = "test-secret-receiver"
TOPIC = "beat.events"


def sign(kind, a, i, c, cr, b, t, u="", x="", f=0, secret=SECRET, bc=None, cw=None):
    """Signature v2: the notice type, exchange and flags, then the ids; a bid
    currency other than USD (bc) on its own line after b, then a click's
    conversion window (cw) as a "cw=" line."""
    b = f"{b}\n{bc}" if bc else b
    b = f"{b}\ncw={cw}" if cw else b
    msg = f"v2\n{kind}\n{x}\n{f}\n{a}\n{i}\n{c}\n{cr}\n{b}\n{t}\n{u}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).digest()[:16].hex()


def sign_v1(a, i, c, b, t, u="", secret=SECRET):
    """Signature v1 (before the upgrade): no type, exchange, flags or creative."""
    msg = f"v1\n{a}\n{i}\n{c}\n{b}\n{t}\n{u}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).digest()[:16].hex()


def notice_query(kind, a, i="1", c="camp1", cr="cr1", b=2500000, t=None,
                 p=None, l=None, u=None, sig=None, x="", f=0, v=2, cur="USD", bc=None, cw=None):
    """The query of a `kind` notice as an exchange sends it (macros filled),
    signed for `kind` (v=2) or the old way (v=1)."""
    t = int(time.time() * 1000) if t is None else t
    if v == 1:
        q = [("a", a), ("i", i), ("c", c), ("cr", cr), ("b", str(b)), ("t", str(t))]
        sig = sig if sig is not None else sign_v1(a, i, c, b, t, u or "")
    else:
        q = [("v", "2"), ("x", x), ("a", a), ("i", i), ("c", c), ("cr", cr),
             ("b", str(b))] + ([("bc", bc)] if bc else []) + ([("cw", str(cw))] if cw else []) + \
            [("t", str(t)), ("f", str(f))]
        sig = sig if sig is not None else sign(kind, a, i, c, cr, b, t, u or "", x, f, bc=bc,
                                               cw=cw)
    if p is not None:
        q += [("p", p)] + ([("cur", cur)] if cur is not None else [])
    if l is not None:
        q.append(("l", str(l)))
    if u is not None:
        q.append(("u", u))
    q.append(("s", sig))
    return urllib.parse.urlencode(q)


def start_kafka(procs, name, port, admin):
    k = procs.start(name, ["beat-kafka-dev", "--port", str(port), "--partitions", "4",
                           "--listen", f"127.0.0.1:{admin}", "--topic", TOPIC])
    wait_for(lambda: healthz(admin)["ready"], 10, what="kafka-dev ready")
    return k


def start_receiver(procs, kport, http_port, bid_port, extra=()):
    r = procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{http_port}",
                                 "--bidlog-listen", f"tcp://127.0.0.1:{bid_port}",
                                 "--kafka-brokers", f"127.0.0.1:{kport}",
                                 "--topic", TOPIC, "--notice-secret", SECRET,
                                 *extra])
    wait_for(lambda: healthz(http_port)["ready"], 10, what="receiver ready")
    return r


def kafka_events(kport, heartbeats=False):
    """Every message in the topic: list of (key, payload dict); the
    receivers' heartbeats (type hb, into every partition every second) only
    with heartbeats=True."""
    out = subprocess.run(["kcat", "-C", "-b", f"127.0.0.1:{kport}", "-t", TOPIC,
                          "-o", "beginning", "-e", "-J", "-q"],
                         capture_output=True, timeout=15, text=True)
    evs = []
    for line in out.stdout.splitlines():
        m = json.loads(line)
        ev = json.loads(m["payload"])
        if ev.get("type") == "hb" and not heartbeats:
            continue
        evs.append((m["key"], ev))
    return evs


def wait_events(kport, auctions, timeout=15):
    def got():
        evs = kafka_events(kport)
        seen = {k for k, _ in evs}
        return evs if set(auctions) <= seen else None
    return wait_for(got, timeout, interval=0.3, what=f"events {sorted(auctions)}")


def test_notices_reach_kafka_and_bad_ones_are_refused():
    kport, kadmin, hp, bp = free_ports(4)
    with Procs(tempfile.mkdtemp(prefix="rcv-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        r = start_receiver(procs, kport, hp, bp)
        base = f"http://127.0.0.1:{hp}"
        now = int(time.time() * 1000)

        st, _, _ = http("GET", f"{base}/win?" + notice_query("win", "AW1", p="1.2345", t=now))
        check(st == 204, f"win -> {st}")
        body = notice_query("bill", "AB1", p="2.5", t=now)
        st, _, _ = http("POST", f"{base}/bill", body=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 204, f"POST bill -> {st}")
        st, _, _ = http("POST", f"{base}/loss?" + notice_query("loss", "AL1", p="9.0", l=102, t=now))
        check(st == 204, f"loss (winner price above our bid is fine) -> {st}")
        st, h, b = http("GET", f"{base}/imp?" + notice_query("imp", "AI1", t=now))
        check(st == 200 and h.get("Content-Type") == "image/gif", f"imp -> {st} {h}")
        check(len(b) == 43 and b.startswith(b"GIF89a"), f"gif {b!r}")
        landing = "https://advertiser.example/landing?x=1&y=2"
        st, h, _ = http_noredirect(f"{base}/click?" + notice_query("click", "AC1", u=landing, t=now))
        # the landing, with the click's conversion token added
        check(st == 302 and h.get("Location", "").startswith(landing + "&beat_cv="),
              f"click -> {st} {h}")

        # Rejections: each with a JSON reason and the right code.
        def expect(code, url, method="GET", reason=None):
            st, _, b = http(method, url)
            check(st == code, f"{url} -> {st} {b!r}, want {code}")
            if code >= 400 and code != 405:
                err = json.loads(b)["error"]
                check(reason is None or reason in err, f"reason {err!r}")
        good = notice_query("win", "AF1", p="1.0", t=now)
        expect(403, f"{base}/win?" + good.replace("a=AF1", "a=AF2"), reason="signature")
        expect(403, f"{base}/win?" + good.rsplit("&s=", 1)[0], reason="signature")
        # Signed means typed: a lost auction billed, a win counted as an
        # impression, a changed creative — all forgeries.
        lost = notice_query("loss", "AR1", p="1.0", l=102, t=now)
        expect(403, f"{base}/bill?" + lost, reason="bad signature")
        expect(403, f"{base}/imp?" + notice_query("win", "AR2", p="1.0", t=now),
               reason="bad signature")
        expect(403, f"{base}/win?" + good.replace("cr=cr1", "cr=cr2"), reason="bad signature")
        # v1 URLs are refused unless --notice-accept-v1 is on.
        expect(403, f"{base}/win?" + notice_query("win", "AV1", p="1.0", t=now, v=1),
               reason="signature v1 not accepted")
        expect(400, f"{base}/win?" + notice_query("win", "AP1", p="2.6", b=2500000, t=now),
               reason="price above bid")
        expect(410, f"{base}/win?" + notice_query("win", "AE1", p="1.0", t=now - 2 * 3600 * 1000),
               reason="expired")
        expect(400, f"{base}/win?" + notice_query("win", "AT1", p="1.0", t=now + 3600 * 1000),
               reason="future")
        expect(400, f"{base}/win?" + notice_query("win", "AX1", p="abc", t=now), reason="price")
        expect(400, f"{base}/win?" + notice_query("win", "AX2", p="${AUCTION_PRICE}", t=now),
               reason="macro")
        expect(400, f"{base}/click?" + notice_query("click", "AJ1", u="javascript:alert(1)", t=now),
               reason="landing")
        expect(405, f"{base}/win?" + good, method="PUT")

        # Test traffic (f=1): answered exactly like real notices, produced
        # nowhere. Sent before the last real one (AZ1), so once AZ1 is in
        # Kafka anything the test notices produced would be too.
        st, _, _ = http("GET", f"{base}/bill?" + notice_query("bill", "AT2", p="1.0", t=now, f=1))
        check(st == 204, f"test bill -> {st}")
        st, h, _ = http_noredirect(f"{base}/click?" + notice_query("click", "AT3", u=landing,
                                                                   t=now, f=1))
        check(st == 302 and h.get("Location", "").startswith(landing + "&beat_cv="),
              f"test click -> {st} {h}")
        expect(400, f"{base}/bill?" + notice_query("bill", "AT4", p="2.6", t=now, f=1),
               reason="price above bid")
        expect(403, f"{base}/bill?" + notice_query("bill", "AT5", p="1.0", t=now, f=1)
               .replace("f=1", "f=0"), reason="bad signature")
        st, _, _ = http("GET", f"{base}/win?" + notice_query("win", "AZ1", p="1.0", t=now))
        check(st == 204, f"win -> {st}")

        evs = wait_events(kport, ["AW1", "AB1", "AL1", "AI1", "AC1", "AZ1"])
        by = {k: e for k, e in evs}
        check(not {"AF1", "AF2", "AP1", "AE1", "AT1", "AX1", "AX2", "AJ1", "AR1", "AR2",
                   "AV1"} & set(by), f"rejected notices reached Kafka: {sorted(by)}")
        check(not {"AT2", "AT3", "AT4", "AT5"} & set(by),
              f"test notices reached Kafka: {sorted(by)}")
        w = by["AW1"]
        check(w["type"] == "win" and w["v"] == 1 and w["imp"] == "1", w)
        check(w["price"] == 1234500 and w["bid"] == 2500000 and w["nts"] == now, w)
        check(w["campaign"] == "camp1" and w["crid"] == "cr1", w)
        check(abs(w["ts"] - now) < 60000, w)
        check(by["AB1"]["type"] == "bill" and by["AB1"]["price"] == 2500000, by["AB1"])
        check(by["AL1"]["type"] == "loss" and by["AL1"]["loss"] == 102, by["AL1"])
        check(by["AI1"]["type"] == "imp" and "price" not in by["AI1"], by["AI1"])
        check(by["AC1"]["type"] == "click", by["AC1"])

        m = lambda n: metric(hp, n) or 0
        check(m('beat_receiver_notices_total{type="win"}') == 2, "win count")
        check(m('beat_receiver_notices_total{type="bill"}') == 1, "bill count")
        check(m('beat_receiver_test_notices_total{type="bill"}') == 1, "test bill count")
        check(m('beat_receiver_test_notices_total{type="click"}') == 1, "test click count")
        check(m('beat_receiver_notices_total{type="click"}') == 1, "click count")
        check(m("beat_receiver_notices_v1_total") == 0, "no v1 accepted")
        check(m('beat_receiver_rejected_total{reason="forged"}') == 7, "forged count")
        check(m('beat_receiver_rejected_total{reason="price"}') == 2, "price count")
        check(m('beat_receiver_rejected_total{reason="expired"}') == 1, "expired count")
        check(m('beat_receiver_rejected_total{reason="malformed"}') == 4, "malformed count")
        wait_for(lambda: m("beat_receiver_kafka_delivered_total") >= 6, 5,
                 what="delivered metric")
        check(m("beat_receiver_kafka_delivered_total") == 6, "exactly the real notices produced")
        check(m("beat_receiver_kafka_dropped_total") == 0, "no drops")
        check(healthz(hp)["kafka_delivered"] == 6 and healthz(hp)["kafka_sent"] == 6,
              "health detail")
        # Heartbeats go to the topic aside from those counts, and a graceful
        # stop ends with a goodbye (docs/contracts.md "Heartbeats").
        hbs = [e for _, e in kafka_events(kport, heartbeats=True) if e.get("type") == "hb"]
        check(hbs and all(e["node"] == "receiver-1" and e["lost"] == 0 for e in hbs),
              f"heartbeats in the topic: {hbs[:2]}")
        check(r.stop() == 0, "receiver exits 0 on SIGTERM")
        byes = [e for _, e in kafka_events(kport, heartbeats=True) if e.get("bye")]
        check(len(byes) >= 1, "a goodbye heartbeat on SIGTERM")


def test_kafka_dev_restart_keeps_port_and_receiver_resumes():
    kport, kadmin, hp, bp = free_ports(4)
    with Procs(tempfile.mkdtemp(prefix="rcv-restart-")) as procs:
        k = start_kafka(procs, "kafka", kport, kadmin)
        start_receiver(procs, kport, hp, bp)
        base = f"http://127.0.0.1:{hp}"
        st, _, _ = http("GET", f"{base}/win?" + notice_query("win", "R1", p="1.0"))
        check(st == 204, f"win -> {st}")
        wait_events(kport, ["R1"])

        k.kill()  # SIGKILL: connections die, server side sits in TIME_WAIT
        # Kafka down: notices still answered at once.
        for n in range(20):
            t0 = time.monotonic()
            st, _, _ = http("GET", f"{base}/win?" + notice_query("win", f"D{n}", p="1.0"))
            check(st == 204 and time.monotonic() - t0 < 0.5, f"down: {st}")

        start_kafka(procs, "kafka2", kport, kadmin)  # same port, right away
        check(healthz(kadmin)["bootstrap"] == f"127.0.0.1:{kport}", "same port")
        st, _, _ = http("GET", f"{base}/win?" + notice_query("win", "R2", p="1.0"))
        check(st == 204, f"win after restart -> {st}")
        evs = wait_events(kport, ["R2"], timeout=25)
        check("R1" not in {k for k, _ in evs}, "the restarted broker starts empty")


def test_receiver_without_kafka_answers_fast_and_refuses_when_the_spool_is_full():
    """No broker at all: the first --queue-max notices are queued (2xx), the
    rest answered 503 with Retry-After and a JSON reason at once — never a
    2xx for an event that has no room — and counted; a click still
    redirects (a browser would not retry)."""
    dead, hp, bp = free_ports(3)  # nothing listens on `dead`
    with Procs(tempfile.mkdtemp(prefix="rcv-nokafka-")) as procs:
        r = start_receiver(procs, dead, hp, bp,
                           extra=["--queue-max", "10", "--workers", "2", "--retry-after-s", "7"])
        base = f"http://127.0.0.1:{hp}"
        t0 = time.monotonic()
        codes = []
        for n in range(40):
            st, h, b = http("GET", f"{base}/imp?" + notice_query("imp", f"N{n}"))
            codes.append(st)
            if st == 503:
                check(h.get("Retry-After") == "7", f"Retry-After {h}")
                check("spool full" in json.loads(b)["error"], b)
        check(time.monotonic() - t0 < 5, "40 notices took too long with Kafka down")
        check(codes[:10] == [200] * 10 and codes[10:] == [503] * 30, f"codes {codes}")
        landing = "https://advertiser.example/l"
        st, h, _ = http_noredirect(f"{base}/click?" + notice_query("click", "NC", u=landing))
        check(st == 302 and h.get("Location", "").startswith(landing + "?beat_cv="),
              f"click with a full spool -> {st}")
        m = lambda n: metric(hp, n) or 0
        check(m('beat_receiver_notices_refused_total{reason="spool_full"}') == 30, "refused count")
        check(m('beat_receiver_notices_total{type="imp"}') == 10, "only queued ones accepted")
        check(m("beat_receiver_kafka_dropped_total") == 31, "drops counted (click included)")
        check(m("beat_receiver_kafka_queue_messages") <= 10, "queue bounded")
        h = healthz(hp)
        check(h["ready"] and h["notices_refused"] == 30 and h["kafka_queued"] == 10, h)
        check(r.alive(), "receiver alive")
        t0 = time.monotonic()
        check(r.stop() == 0, "exit 0")
        check(time.monotonic() - t0 < 8, "stop does not hang on a dead broker")
        check(any(e.get("ev") == "kafka_unflushed" and e.get("messages") == 10
                  for e in r.events()), "the spool lost at stop is logged")


def test_spool_waits_out_a_broker_outage_and_loses_no_2xx():
    """The broker goes down (kafka-dev's fault endpoint) with a tiny spool:
    notices are answered 204 while it has room, then 503; when the broker
    comes back every notice answered 204 reaches Kafka — none is timed out
    after its 2xx (no message timeout by default) — and new notices are
    taken again. With --message-timeout-ms the same outage turns the queued
    events into counted delivery errors: the option reaches librdkafka."""
    kport, kadmin, hp, bp, hp2, bp2 = free_ports(6)
    with Procs(tempfile.mkdtemp(prefix="rcv-spool-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        r = start_receiver(procs, kport, hp, bp, extra=["--queue-max", "8"])
        check(any(e.get("ev") == "config" and e.get("message-timeout-ms") == 0
                  for e in r.events()), "default: no message timeout")
        base = f"http://127.0.0.1:{hp}"
        st, _, _ = http("GET", f"{base}/win?" + notice_query("win", "UP0", p="1.0"))
        check(st == 204, f"win -> {st}")
        wait_events(kport, ["UP0"])
        fault = f"http://127.0.0.1:{kadmin}/fault/broker?id=1&state="
        check(http("POST", fault + "down")[0] == 200, "broker down")
        ok, refused = [], 0
        for n in range(20):
            st, h, b = http("GET", f"{base}/bill?" + notice_query("bill", f"D{n}", p="1.0"))
            if st == 204:
                ok.append(f"D{n}")
            else:
                check(st == 503 and h.get("Retry-After") == "10", f"{st} {h}")
                check("retry later" in json.loads(b)["error"], b)
                refused += 1
        check(len(ok) >= 6 and refused >= 10, f"{len(ok)} queued, {refused} refused")
        check(metric(hp, 'beat_receiver_notices_refused_total{reason="spool_full"}') == refused,
              "refusals counted")
        check(http("POST", fault + "up")[0] == 200, "broker up")
        evs = wait_events(kport, ok, timeout=30)
        check(set(ok) <= {k for k, _ in evs}, "every 204 reached Kafka")
        check((metric(hp, "beat_receiver_kafka_delivery_errors_total") or 0) == 0,
              "nothing given up")
        wait_for(lambda: http("GET", f"{base}/bill?" + notice_query("bill", "AFTER", p="1.0"))[0]
                 == 204, 15, interval=0.2, what="notices taken again once the spool drains")

        # The same outage with a 1 s message timeout: queued events expire.
        r2 = procs.start("receiver-tmo", [
            "beat-receiver", "--listen", f"127.0.0.1:{hp2}", "--bidlog-listen",
            f"tcp://127.0.0.1:{bp2}", "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
            "--notice-secret", SECRET, "--message-timeout-ms", "1000"])
        wait_for(lambda: healthz(hp2)["ready"], 10, what="receiver-tmo ready")
        check(http("POST", fault + "down")[0] == 200, "broker down again")
        for n in range(3):
            st, _, _ = http("GET", f"http://127.0.0.1:{hp2}/bill?"
                            + notice_query("bill", f"T{n}", p="1.0"))
            check(st == 204, f"bill -> {st}")
        wait_for(lambda: (metric(hp2, "beat_receiver_kafka_delivery_errors_total") or 0) >= 3,
                 15, interval=0.2, what="timed-out events counted as delivery errors")
        check(http("POST", fault + "up")[0] == 200, "broker up again")
        check(r2.alive() and r.alive(), "receivers alive")


def test_two_receivers_share_the_port_and_survive_a_kill():
    """Two receiver processes on one notice port (--reuseport), each with its
    own bid-log address and admin port: the kernel spreads connections over
    both; after a SIGKILL of one, every notice is taken by the other."""
    kport, kadmin, hp, bp1, bp2, ap1, ap2 = free_ports(7)
    with Procs(tempfile.mkdtemp(prefix="rcv-two-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        rs = []
        for n, bp, ap in ((1, bp1, ap1), (2, bp2, ap2)):
            rs.append(procs.start(f"receiver-{n}", [
                "beat-receiver", "--listen", f"127.0.0.1:{hp}", "--reuseport",
                "--admin-listen", f"127.0.0.1:{ap}", "--name", f"receiver-{n}",
                "--bidlog-listen", f"tcp://127.0.0.1:{bp}",
                "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                "--notice-secret", SECRET]))
            wait_for(lambda: healthz(ap)["ready"], 10, what=f"receiver-{n} ready")
        check(healthz(ap2)["name"] == "receiver-2", "the admin port is this process's own")
        # A third one without --reuseport cannot take the port.
        lone = procs.start("receiver-lone", [
            "beat-receiver", "--listen", f"127.0.0.1:{hp}", "--bidlog-listen",
            f"tcp://127.0.0.1:{free_ports(1)[0]}", "--kafka-brokers", f"127.0.0.1:{kport}",
            "--notice-secret", SECRET])
        wait_for(lambda: not lone.alive(), 10, what="receiver without --reuseport exits")
        check(lone.p.returncode != 0 and "listen_failed" in lone.logs(), lone.logs()[-300:])

        base = f"http://127.0.0.1:{hp}"
        accepted = lambda ap: metric(ap, 'beat_receiver_notices_total{type="win"}') or 0
        # urllib opens a new connection per request: the kernel hashes each
        # to one of the two listeners.
        for n in range(40):
            st, _, _ = http("GET", f"{base}/win?" + notice_query("win", f"S{n}", p="1.0"))
            check(st == 204, f"shared win -> {st}")
        a1, a2 = accepted(ap1), accepted(ap2)
        check(a1 > 0 and a2 > 0 and a1 + a2 == 40, f"both serve: {a1} + {a2}")

        rs[0].kill()  # SIGKILL; the kernel closes its listening socket
        for n in range(50):
            st, _, _ = http("GET", f"{base}/win?" + notice_query("win", f"K{n}", p="1.0"))
            check(st == 204, f"win after the kill -> {st}")
        check(accepted(ap2) == a2 + 50, f"the survivor took all 50: {accepted(ap2) - a2}")
        evs = wait_events(kport, [f"K{n}" for n in range(50)])
        check(len({k for k, _ in evs if k.startswith("K")}) == 50, "all 50 reached Kafka")
        check(rs[1].alive() and healthz(ap2)["ready"], "survivor serving")


def test_v1_accepted_only_in_the_upgrade_window():
    """--notice-accept-v1 (here through its environment twin) lets notices
    signed before the upgrade through, counted; v2 ones still work; v1
    tampering is still forgery."""
    dead, hp, bp = free_ports(3)  # no Kafka needed: drops are counted
    with Procs(tempfile.mkdtemp(prefix="rcv-v1-")) as procs:
        procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{hp}",
                                 "--bidlog-listen", f"tcp://127.0.0.1:{bp}",
                                 "--kafka-brokers", f"127.0.0.1:{dead}",
                                 "--notice-secret", SECRET],
                    env={"BEAT_RECEIVER_NOTICE_ACCEPT_V1": "true"})
        wait_for(lambda: healthz(hp)["ready"], 10, what="receiver ready")
        base = f"http://127.0.0.1:{hp}"
        st, _, b = http("GET", f"{base}/win?" + notice_query("win", "V1", p="1.0", v=1))
        check(st == 204, f"v1 win in the window -> {st} {b!r}")
        st, _, b = http("GET", f"{base}/win?" + notice_query("win", "V2", p="1.0"))
        check(st == 204, f"v2 win -> {st} {b!r}")
        st, _, _ = http("GET", f"{base}/win?" + notice_query("win", "V3", p="1.0", v=1)
                        .replace("b=2500000", "b=2500001"))
        check(st == 403, f"tampered v1 -> {st}")
        check(metric(hp, "beat_receiver_notices_v1_total") == 1, "v1 counted")
        check(metric(hp, 'beat_receiver_notices_total{type="win"}') == 2, "both accepted")


def test_prices_in_other_currencies_are_counted_in_usd():
    """A clearing price in EUR is produced converted to USD micros with the
    receiver's rate table (BEAT_CURRENCY_RATES); a price without cur is in
    the currency the bid was made in (bc, signed; none: USD); a currency
    without a rate is refused with 400 and a reason, never counted as if it
    were USD."""
    kport, kadmin, hp, bp = free_ports(4)
    with Procs(tempfile.mkdtemp(prefix="rcv-cur-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{hp}",
                                 "--bidlog-listen", f"tcp://127.0.0.1:{bp}",
                                 "--kafka-brokers", f"127.0.0.1:{kport}",
                                 "--topic", TOPIC, "--notice-secret", SECRET],
                    env={"BEAT_CURRENCY_RATES": "EUR=1.08,GBP=1.27"})
        wait_for(lambda: healthz(hp)["ready"], 10, what="receiver ready")
        base = f"http://127.0.0.1:{hp}"
        now = int(time.time() * 1000)

        def send(kind, a, **kw):
            return http("GET", f"{base}/{kind}?" + notice_query(kind, a, t=now, **kw))

        def produced(cases):
            evs = dict(wait_events(kport, [a for _, a, _, _ in cases]))
            for _, a, _, usd in cases:
                check(evs[a]["price"] == usd, f"{a}: price {evs[a]['price']} != {usd} USD micros")
            return evs

        cases = [("win", "CE1", dict(p="2", cur="EUR"), 2160000),
                 ("bill", "CG1", dict(p="1.5", cur="gbp"), 1905000),
                 ("win", "CU1", dict(p="2", cur=None), 2000000),
                 ("win", "CD1", dict(p="2.25"), 2250000)]
        for kind, a, kw, _ in cases:
            st, _, b = send(kind, a, **kw)
            check(st == 204, f"{kind} {a} {kw} -> {st} {b!r}")
        produced(cases)
        # a bid made in EUR: its notices carry bc=EUR, signed; p without cur
        st, _, b = send("bill", "CB1", p="2", cur=None, bc="EUR")
        check(st == 204, f"bill in EUR without cur -> {st} {b!r}")
        for a, kw in (("CX1", dict(p="2", cur="XYZ")), ("CX2", dict(p="2", cur="EURO"))):
            st, _, b = send("win", a, **kw)
            check(st == 400 and "unknown currency" in json.loads(b)["error"], f"{a} -> {st} {b!r}")
        # 2.5 EUR is 2.70 USD: above the 2.5 USD bid
        st, _, b = send("win", "CP1", p="2.5", cur="EUR")
        check(st == 400 and "price above bid" in json.loads(b)["error"], f"CP1 -> {st} {b!r}")
        check(metric(hp, 'beat_receiver_rejected_total{reason="currency"}') == 2)
        evs = produced(cases + [("bill", "CB1", None, 2160000)])
        check(not {"CX1", "CX2", "CP1"} & set(evs), f"refused notices produced: {evs.keys()}")


def conv_token(location):
    """The conversion token a click's redirect hands to the landing page."""
    q = urllib.parse.urlsplit(location).query
    return dict(urllib.parse.parse_qsl(q))["beat_cv"]


def make_token(x, f, a, i, c, cr, t, w, kind="conv", secret=SECRET):
    """A token signed here as docs/contracts.md "Conversions" says: base64url
    of the signed text, ".", its signature."""
    text = f"v2\n{kind}\n{x}\n{f}\n{a}\n{i}\n{c}\n{cr}\n{t}\n{w}".encode()
    sig = hmac.new(secret.encode(), text, hashlib.sha256).digest()[:16].hex()
    return base64.urlsafe_b64encode(text).decode().rstrip("=") + "." + sig


def test_conversions_signed_checked_and_produced():
    """A click's 302 carries a signed conversion token (the campaign's
    window, cw, signed into the click URL; the default without one). /conv
    takes it as a pixel (GET → GIF) or a postback (POST → 204) and produces
    a conv event keyed by auction; a replay produces the same dedup key
    (datastream counts it once: tests/test_stream_e2e.py). Forged, re-typed
    or missing tokens are 403, garbage 400, a token past its window 410;
    a test click's conversion is answered but never produced."""
    kport, kadmin, hp, bp = free_ports(4)
    with Procs(tempfile.mkdtemp(prefix="rcv-conv-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        start_receiver(procs, kport, hp, bp)
        base = f"http://127.0.0.1:{hp}"
        now = int(time.time() * 1000)
        landing = "https://shop.example/p?x=1#top"

        def click(a, **kw):
            st, h, b = http_noredirect(f"{base}/click?" + notice_query("click", a, u=landing,
                                                                      t=kw.pop("t", now), **kw))
            check(st == 302, f"click {a} -> {st} {b!r}")
            loc = h["Location"]
            check(loc.startswith("https://shop.example/p?x=1&beat_cv=") and loc.endswith("#top"),
                  loc)
            return conv_token(loc)

        tok = click("CV1", x="adx", cw=3600)
        check(tok == make_token("adx", 0, "CV1", "1", "camp1", "cr1", now, 3600),
              f"token {tok}: as documented")
        check(click("CV1", x="adx", cw=3600) == tok, "the same click, the same token")
        check(click("CV2") == make_token("", 0, "CV2", "1", "camp1", "cr1", now, 604800),
              "no cw: the default window")
        st, h, b = http("GET", f"{base}/conv?cv={tok}")
        check(st == 200 and h.get("Content-Type") == "image/gif" and len(b) == 43, f"pixel {st}")
        st, _, b = http("POST", f"{base}/conv", body=f"cv={tok}&val=12.50",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 204, f"postback -> {st} {b!r}")

        def expect(code, q, reason, method="GET"):
            st, _, b = http(method, f"{base}/conv?{q}")
            check(st == code and reason in json.loads(b)["error"], f"{q} -> {st} {b!r}")
        bad_sig = tok[:-1] + ("0" if tok[-1] != "0" else "1")
        expect(403, f"cv={bad_sig}", "bad signature")
        expect(403, "val=3", "missing conversion token")
        # Re-typed: a click URL's query, a click-typed token, a tampered field.
        expect(403, notice_query("click", "CV3", u=landing, t=now), "missing conversion token")
        expect(403, "cv=" + make_token("adx", 0, "CV1", "1", "camp1", "cr1", now, 3600,
                                       kind="click"), "not a conversion token")
        forged = make_token("adx", 0, "CV1", "1", "camp2", "cr1", now, 3600).split(".")[0]
        expect(403, f"cv={forged}.{tok.split('.')[1]}", "bad signature")
        expect(400, "cv=%%%", "bad cv")
        expect(400, "cv=abc.def", "bad token format")
        expect(400, f"cv={tok}&val=abc", "bad val")
        expect(405, f"cv={tok}", "use GET or POST", method="PUT")
        # Past its window (60 s from a click signed 2 minutes ago): 410.
        old = click("CV4", cw=60, t=now - 120000)
        expect(410, f"cv={old}", "conversion window over")
        # A test click's conversion: answered, never produced.
        st, _, _ = http("GET", f"{base}/conv?cv=" + click("CV5", f=1))
        check(st == 200, f"test conversion -> {st}")
        st, _, _ = http("GET", f"{base}/conv?cv={click('CV6')}&val=3")
        check(st == 200, f"CV6 -> {st}")

        evs = [e for _, e in wait_events(kport, ["CV6"]) if e["type"] == "conv"]
        by = {}
        for e in evs:
            by.setdefault(e["auction"], []).append(e)
        check(sorted(by) == ["CV1", "CV6"], f"conv events {sorted(by)}")
        a, b2 = by["CV1"]
        check(a["campaign"] == "camp1" and a["crid"] == "cr1" and a["exchange"] == "adx", a)
        check(a["nts"] == now and a["conv_s"] == 3600 and "value" not in a, a)
        check(b2["value"] == 12500000, b2)
        # the replay carries the same dedup key: (auction, imp, conv, nts)
        check((a["imp"], a["nts"], a["conv_s"]) == (b2["imp"], b2["nts"], b2["conv_s"]), (a, b2))
        m = lambda n: metric(hp, n) or 0
        check(m('beat_receiver_notices_total{type="conv"}') == 3, "3 produced")
        check(m('beat_receiver_test_notices_total{type="conv"}') == 1, "1 test")
        check(m('beat_receiver_convs_rejected_total{reason="forged"}') == 5, "5 forged")
        check(m('beat_receiver_convs_rejected_total{reason="malformed"}') == 3, "3 malformed")
        check(m('beat_receiver_convs_rejected_total{reason="expired"}') == 1, "1 expired")
        check(m("beat_receiver_conv_tokens_total") == 6, "6 tokens handed out (6 clicks)")
