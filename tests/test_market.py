"""Market signals in the aggregates with real processes: bids (kcat, as
inference's bid logs reach Kafka), notices signed here through the REAL
receiver, beat-kafka-dev and beat-datastream. Wins, losses with and without
a price (most exchanges send none) and with several loss codes, a duplicate
loss, and a bid nobody answers, which expires as lost once every receiver
was heard past --settle-ms. Read back from GET /v1/aggregates: losses
counted once and classed, never debited; the landscape of our bid prices
that won and lost; Σ pCTR of bids and of wins."""
import json, os, subprocess, tempfile, time

from beatlib import Procs, check, free_ports, metric, wait_for
from test_receiver import TOPIC, start_kafka, start_receiver
from test_stream_e2e import Chain
import test_datastream as tds

# The landscape's bucket edges (beat_wire.h): 10^(4 + i/5) CPM micros.
EDGES = [round(10 ** (4 + i / 5)) for i in range(21)]


def land(cpm_micros):
    i = 0
    while i < 19 and cpm_micros >= EDGES[i + 1]:
        i += 1
    return i


def hist(*prices):
    h = [0] * 20
    for p in prices:
        h[land(p)] += 1
    return h


def produce_bids(kport, bids):
    lines = "".join(
        f"{a}|" + json.dumps({"v": 1, "type": "bid", "auction": a, "imp": "1",
                              "campaign": "m1", "ts": int(time.time() * 1000),
                              "price": price, "pctr": pctr, "feat": [1, 2]},
                             separators=(",", ":")) + "\n" for a, price, pctr in bids)
    r = subprocess.run(["kcat", "-P", "-b", f"127.0.0.1:{kport}", "-t", TOPIC, "-K", "|"],
                       input=lines.encode(), capture_output=True, timeout=20)
    check(r.returncode == 0, f"kcat: {r.stderr[:300]!r}")


def test_losses_landscape_and_expiry_in_aggregates():
    kport, kadmin, hp, bp, dh = free_ports(5)
    with Procs(tempfile.mkdtemp(prefix="beat-market-")) as procs:
        start_kafka(procs, "kafka", kport, kadmin)
        start_receiver(procs, kport, hp, bp)
        procs.start("ds", ["beat-datastream", "--listen", f"127.0.0.1:{dh}",
                           "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                           "--group", "market", "--bucket-ms", "200",
                           "--join-window-ms", "1500", "--settle-ms", "1000",
                           "--start-from", "beginning",
                           "--store-dir", os.path.join(procs.logdir, "store")])
        wait_for(lambda: tds.ready_with(dh, tds.PARTS), 20, 0.1, "datastream assigned")
        bid = 2500000  # what Chain signs every notice with
        produce_bids(kport, [("W1", bid, 0.25), ("P1", bid, 0.01), ("N1", bid, 0.01),
                             ("N2", bid, 0.01), ("X1", 80000, 0.125)])
        ch = Chain(hp)
        ch.win("win", "W1", "m1", 1000000)
        # lost with the price to beat, then the same loss again (a retry)
        ch.send("loss", "P1", "m1", 204, p="3.0", l=102)
        ch.send("loss", "P1", "m1", 204, p="3.0", l=102)
        # lost with no price: below the floor, and a filtered creative
        ch.send("loss", "N1", "m1", 204, l=100)
        ch.send("loss", "N2", "m1", 204, p="", l=205)
        # X1 (bid $0.08 CPM): nobody answers; it expires as lost
        want = {"bids": 5, "wins": 1, "spend_micros": 1000, "imps": 0, "clicks": 0,
                "losses": 3, "loss_outbid": 1, "loss_floor": 1, "loss_other": 1,
                "expired": 1, "won_cpm": hist(bid), "lost_cpm": hist(bid, bid, bid, 80000)}

        def market():
            row = dict(tds.sum_aggregates(dh, market=True)[0].get("m1", {}))
            pb, pw = row.pop("pctr_bids", 0), row.pop("pctr_wins", 0)
            ok = row == want and abs(pb - 0.405) < 1e-9 and abs(pw - 0.25) < 1e-9
            return row if ok else None
        try:
            wait_for(market, 30, 0.2, "market signals in the aggregates")
        except AssertionError:
            print("expected", want, "\ngot", tds.sum_aggregates(dh, market=True)[0])
            raise
        check(metric(dh, "beat_datastream_bids_expired_total") == 1, "one bid expired")
        check(metric(dh, 'beat_datastream_events_total{type="loss"}') == 4, "4 losses read")
