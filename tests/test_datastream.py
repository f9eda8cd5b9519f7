"""Datastream over its real links: beat-kafka-dev (mock Kafka on free ports),
events produced with kcat (key|json lines), beat-datastream read back over
HTTP. Checks exact aggregates and samples for a scripted batch (duplicates,
bill after win, clicks, garbage), the API's 400s, following the broker
through a restart (from the new log's start: nothing produced to it is
skipped, even when the new log grew past the stored offsets before
datastream read it again), two instances in one group splitting the partitions with their
aggregates summing to the expected totals, and the partition stores: events
produced before datastream got its partitions are counted, and after a
kill -9 and restart a replayed notice is a duplicate (no spend), a bill
whose win was counted before does not debit again, and nothing already
processed is read again."""
import json, os, signal, subprocess, tempfile, time

from beatlib import (BIN, Procs, check, free_ports, get_json, healthz, http, metric,
                     wait_for)

TOPIC = "beat.events"
PARTS = 4


def start_kafka(procs, name, port, admin):
    k = procs.start(name, ["beat-kafka-dev", "--port", str(port), "--partitions",
                           str(PARTS), "--listen", f"127.0.0.1:{admin}", "--topic", TOPIC])
    wait_for(lambda: healthz(admin)["ready"], 10, what="kafka-dev ready")
    return k


def start_ds(procs, name, kport, hport, extra=(), store=None):
    """store: the partition store directory (default: one per Procs, shared
    by every instance started there, as on one host)."""
    store = store or os.path.join(procs.logdir, "store")
    p = procs.start(name, ["beat-datastream", "--listen", f"127.0.0.1:{hport}",
                           "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                           "--group", "ds-test", "--name", name, "--bucket-ms", "200",
                           "--join-window-ms", "1500", "--neg-rate", "1",
                           "--store-dir", store, "--kafka-opt", f"client.id={name}",
                           *extra])
    return p


def produce(kport, events):
    """events: list of (key, json-or-raw-string)."""
    lines = []
    for key, ev in events:
        val = ev if isinstance(ev, str) else json.dumps(ev, separators=(",", ":"))
        lines.append(f"{key}|{val}")
    r = subprocess.run(["kcat", "-P", "-b", f"127.0.0.1:{kport}", "-t", TOPIC, "-K", "|"],
                       input=("\n".join(lines) + "\n").encode(), capture_output=True,
                       timeout=20)
    check(r.returncode == 0, f"kcat failed: {r.stderr[:300]!r}")


def ev(t, auction, campaign, ts, **kw):
    d = {"v": 1, "type": t, "auction": auction, "imp": "1", "campaign": campaign, "ts": ts}
    d.update(kw)
    return (auction, d)


def script(prefix, n):
    """A batch of n auctions over two campaigns and its exact expectations.
    Auction i: bid (feat); won if i%3 != 2 (win with price, a duplicate win,
    and for i%3 == 0 also a bill); imp if won; click if i%5 == 0 and won."""
    evs, exp = [], {}
    pos, neg, feats = 0, 0, {}
    for i in range(n):
        a = f"{prefix}{i}"
        c = f"c{i % 2 + 1}"
        e = exp.setdefault(c, {"bids": 0, "wins": 0, "spend_micros": 0, "imps": 0,
                               "clicks": 0})
        rem = exp.setdefault("_rem_" + c, [0])
        feat = [i, 1000 + i, 4000000000 + i]
        feats[a] = feat
        evs.append(ev("bid", a, c, 1000 + i, price=2000000, pctr=0.01, feat=feat))
        e["bids"] += 1
        if i % 3 == 2:
            continue
        price = 1000000 + 1234 * i  # CPM micros: sub-micro remainders
        evs.append(ev("win", a, c, 1001 + i, price=price, bid=2000000))
        evs.append(ev("win", a, c, 1001 + i, price=price, bid=2000000))  # duplicate
        if i % 3 == 0:
            evs.append(ev("bill", a, c, 1002 + i, price=price))  # after win: no change
        e["wins"] += 1
        rem[0] += price
        evs.append(ev("imp", a, c, 1003 + i))
        e["imps"] += 1
        if i % 5 == 0:
            evs.append(ev("click", a, c, 1004 + i))
            evs.append(ev("click", a, c, 1004 + i))  # duplicate
            e["clicks"] += 1
            pos += 1
        else:
            neg += 1
    # Spend is exact over time: total milli-micros // 1000 per campaign.
    for c in [k for k in exp if not k.startswith("_")]:
        exp[c]["spend_micros"] = exp.pop("_rem_" + c)[0] // 1000
    return evs, exp, pos, neg, feats


BASE = ("bids", "wins", "spend_micros", "imps", "clicks")


def sum_aggregates(hport, after=0, market=False):
    """Sums every bucket with seq > after, following the cursor to the end:
    the base fields of each row, and with market=True the optional market
    fields too (counts, sums, landscapes added element by element)."""
    tot, seen, epoch = {}, 0, None
    while True:
        d = get_json(f"http://127.0.0.1:{hport}/v1/aggregates?after={after}")
        epoch = d["epoch"]
        for b in d["buckets"]:
            check(b["seq"] == after + 1, f"seq gap: {b['seq']} after {after}")
            after = b["seq"]
            for c, row in b["campaigns"].items():
                t = tot.setdefault(c, {k: 0 for k in BASE})
                for k, v in row.items():
                    if not market and k not in BASE:
                        continue
                    if isinstance(v, list):
                        t[k] = [x + y for x, y in zip(t.get(k) or [0] * len(v), v)]
                    else:
                        t[k] = t.get(k, 0) + v
        seen += len(d["buckets"])
        if not d["buckets"] or after >= d["last_seq"]:
            return tot, after, epoch


def get_samples(hport, after=0, mx=1000):
    st, _, body = http("GET", f"http://127.0.0.1:{hport}/v1/samples?after={after}&max={mx}")
    check(st == 200, f"samples -> {st}")
    lines = body.decode().splitlines()
    head = json.loads(lines[0])
    rows = [json.loads(x) for x in lines[1:]]
    check(head["n"] == len(rows), "n matches the lines")
    return head, rows


def produce_to(kport, partition, events):
    lines = "".join(f"{k}|{json.dumps(e, separators=(',', ':'))}\n" for k, e in events)
    r = subprocess.run(["kcat", "-P", "-b", f"127.0.0.1:{kport}", "-t", TOPIC, "-K", "|",
                        "-p", str(partition)], input=lines.encode(), capture_output=True,
                       timeout=20)
    check(r.returncode == 0, f"kcat failed: {r.stderr[:300]!r}")


def ready_with(hport, nparts=None):
    h = healthz(hport)
    if not h["ready"]:
        return None
    if nparts is not None and h["assigned_partitions"] != nparts:
        return None
    return h


def test_aggregates_samples_and_broker_restart():
    kport, admin, hport = free_ports(3)
    with Procs(tempfile.mkdtemp(prefix="beat-ds-")) as procs:
        k = start_kafka(procs, "kafka-dev", kport, admin)
        ds = start_ds(procs, "ds-1", kport, hport)
        # The mock cluster's first group join takes ~3 s; nothing produced
        # meanwhile would be lost (a new store reads from the log's start).
        wait_for(lambda: ready_with(hport, PARTS), 20, 0.1, "datastream assigned")

        # API input checks (no Kafka involved).
        for q in ["aggregates?after=-1", "aggregates?after=abc", "aggregates?after=1.5",
                  "samples?after=-1", "samples?max=0", "samples?max=10001",
                  "samples?max=x"]:
            st, _, b = http("GET", f"http://127.0.0.1:{hport}/v1/{q}")
            check(st == 400 and b"error" in b, f"{q} -> {st} {b!r}")
        st, _, _ = http("POST", f"http://127.0.0.1:{hport}/v1/aggregates", body="{}")
        check(st == 405, f"POST aggregates -> {st}")

        evs, exp, pos, neg, feats = script("A", 40)
        garbage = [("g1", "not json"), ("g2", '{"v":1,"type":"win"}'),
                   ("g3", '{"v":9,"type":"bid","auction":"x","imp":"1","ts":1}')]
        produce(kport, evs[: len(evs) // 2] + garbage + evs[len(evs) // 2:])

        def aggs_match():
            tot, _, _ = sum_aggregates(hport)
            return tot if tot == exp else None
        try:
            wait_for(aggs_match, 20, 0.2, "exact aggregates")
        except AssertionError:
            print("expected", exp, "\ngot", sum_aggregates(hport)[0])
            raise
        dups = sum(1 for _, e in evs) - len({(e["auction"], e["type"]) for _, e in evs})
        check(metric(hport, "beat_datastream_duplicates_total") == dups,
              f"duplicates {metric(hport, 'beat_datastream_duplicates_total')} != {dups}")
        check(metric(hport, "beat_datastream_invalid_events_total") == 3, "3 invalid")

        # Positives at once, negatives when the 1.5 s window closes
        # (--neg-rate 1: every negative kept, weight 1).
        def all_samples():
            head, rows = get_samples(hport)
            return (head, rows) if len(rows) == pos + neg else None
        head, rows = wait_for(all_samples, 15, 0.2, "all samples")
        check([r["seq"] for r in rows] == list(range(1, pos + neg + 1)), "seqs 1..n")
        labels = {}
        for r in rows:
            check(r["w"] == 1, f"weight {r['w']}")
            a = [x for x, f in feats.items() if f == r["feat"]]
            check(len(a) == 1, f"sample features match one bid: {r['feat']}")
            labels[a[0]] = r["label"]
        check(sum(labels.values()) == pos and len(labels) == pos + neg, "labels")
        h2, rows2 = get_samples(hport, after=pos + neg - 2, mx=1)
        check(len(rows2) == 1 and rows2[0]["seq"] == pos + neg - 1, "cursor + max")
        check(h2["first_seq"] == 1 and h2["last_seq"] == pos + neg, "header seqs")

        # Broker restart: same ports, empty log, offsets from 0 again. The
        # receivers' spools refill the new log past the stored offsets
        # before datastream reads it (here: datastream is frozen meanwhile
        # and 400 events land, ~100 per partition, well past the ~40 stored
        # per partition). The stored offsets are valid numbers in the new
        # log: only the store's mark (the last message counted, read again)
        # tells the logs apart. Datastream must read the new log from its
        # start: every event produced to it is counted, none skipped.
        _, last_seq, epoch = sum_aggregates(hport)
        ds.signal(signal.SIGSTOP)
        try:
            k.signal(signal.SIGTERM)
            wait_for(lambda: not k.alive(), 10, what="kafka-dev stopped")
            k = start_kafka(procs, "kafka-dev-2", kport, admin)
            produce(kport, [ev("bid", f"R0-{i}", "c9", 1, feat=[i]) for i in range(400)])
        finally:
            ds.signal(signal.SIGCONT)
        batch = [0]

        def restarted_flowing():
            batch[0] += 1
            before = metric(hport, "beat_datastream_kafka_messages_total")
            produce(kport, [ev("bid", f"R{batch[0]}-{i}", "c9", 1, feat=[i])
                            for i in range(20)])
            wait_for(lambda: metric(hport, "beat_datastream_kafka_messages_total") > before,
                     2.5, 0.1, "consumed")
            return True
        wait_for(restarted_flowing, 40, 0.1, "events flowing after broker restart")
        check(ds.alive(), "datastream survived the broker restart")
        _, _, epoch2 = sum_aggregates(hport, last_seq)
        produced = 400 + 20 * batch[0]
        try:
            wait_for(lambda: sum_aggregates(hport, last_seq)[0].get("c9", {}).get("bids", 0)
                     == produced, 10, 0.2, f"all {produced} c9 bids aggregated")
        except AssertionError:
            print("c9 bids", sum_aggregates(hport, last_seq)[0].get("c9"), "of", produced)
            raise
        check(epoch2 == epoch, "same datastream epoch")
        lost = (metric(hport, "beat_datastream_offset_resets_total") +
                metric(hport, "beat_datastream_log_replaced_total"))
        check(lost >= 1, "the lost log is counted")
        check(any(e.get("ev") in ("kafka_offset_reset", "kafka_log_replaced")
                  for e in ds.events()), "the lost log is logged")
        check(ds.stop() == 0, "datastream exits 0 on SIGTERM")
        fatal = [e for e in ds.events() if e.get("lvl") in ("error", "fatal")]
        check(not fatal, f"no error lines: {fatal[:3]}")


def heard_ms(hport, after):
    """(heard_ms, last_seq) of an aggregates answer."""
    d = get_json(f"http://127.0.0.1:{hport}/v1/aggregates?after={after}")
    return d["heard_ms"], d["last_seq"]


def test_heard_follows_receiver_heartbeats():
    """A real receiver beats into every partition (--heartbeat-ms 200);
    datastream's heard_ms advances with it, never counts the heartbeats,
    stops advancing while the receiver is frozen (SIGSTOP) although empty
    buckets keep closing, advances again after SIGCONT, and drops to 0
    (unknown) once the receiver says goodbye on SIGTERM."""
    kport, admin, hport, rport, bport = free_ports(5)
    with Procs(tempfile.mkdtemp(prefix="beat-ds-heard-")) as procs:
        start_kafka(procs, "kafka-dev", kport, admin)
        ds = start_ds(procs, "ds-1", kport, hport)
        wait_for(lambda: ready_with(hport, PARTS), 20, 0.1, "datastream assigned")
        rcv = procs.start("receiver-1", [
            "beat-receiver", "--listen", f"127.0.0.1:{rport}", "--bidlog-listen",
            f"tcp://127.0.0.1:{bport}", "--kafka-brokers", f"127.0.0.1:{kport}",
            "--topic", TOPIC, "--name", "receiver-1", "--heartbeat-ms", "200"])
        wait_for(lambda: healthz(rport)["heartbeat_partitions"] == PARTS, 10,
                 what="receiver knows the partitions")
        wait_for(lambda: heard_ms(hport, 0)[0] > 0, 15, 0.1, "heard_ms known")
        h0, _ = heard_ms(hport, 0)
        wait_for(lambda: heard_ms(hport, 0)[0] >= h0 + 1000, 10, 0.1, "heard_ms advances")
        check(healthz(hport)["receivers"] == 1, "one receiver known")
        check(abs(healthz(hport)["heard_age_ms"]) < 3000, "heard recently")

        rcv.signal(signal.SIGSTOP)
        try:
            time.sleep(0.5)  # what was queued before the stop is read
            h1, seq1 = heard_ms(hport, 0)
            # Buckets keep closing (200 ms each) while nothing is heard.
            wait_for(lambda: heard_ms(hport, 0)[1] >= seq1 + 15, 10, 0.1, "buckets close")
            h2, _ = heard_ms(hport, 0)
            check(h2 == h1, f"heard_ms moved while the receiver was frozen: {h1} -> {h2}")
            check(metric(hport, "beat_datastream_heard_age_seconds") >= 2.5,
                  "the heard age grows")
        finally:
            rcv.signal(signal.SIGCONT)
        wait_for(lambda: heard_ms(hport, 0)[0] > h2 + 1000, 10, 0.1, "heard_ms advances again")

        # Heartbeats are counted nowhere but in their own counter.
        tot, _, _ = sum_aggregates(hport)
        check(tot == {}, f"no campaign rows from heartbeats: {tot}")
        check(metric(hport, "beat_datastream_heartbeats_total") > 20, "heartbeats read")
        check(metric(hport, "beat_datastream_invalid_events_total") == 0, "none invalid")
        check(metric(hport, "beat_datastream_store_keys") == 0, "no dedup key for hb")
        n_lines = sum(1 for _ in ds.events())
        check(n_lines < 60, f"no log line per heartbeat ({n_lines} lines)")

        # A graceful stop says goodbye: dropped at once, heard becomes unknown.
        check(rcv.stop() == 0, "receiver exits 0")
        wait_for(lambda: heard_ms(hport, 0)[0] == 0, 5, 0.1, "heard_ms unknown after bye")
        check(metric(hport, "beat_datastream_receiver_byes_total") == PARTS, "bye per partition")
        check(ds.stop() == 0, "datastream exits 0")
        bad = [e for e in ds.events() if e.get("lvl") in ("error", "fatal")]
        check(not bad, f"no error lines: {bad[:3]}")


def test_two_instances_split_partitions():
    kport, admin, h1, h2 = free_ports(4)
    with Procs(tempfile.mkdtemp(prefix="beat-ds2-")) as procs:
        start_kafka(procs, "kafka-dev", kport, admin)
        start_ds(procs, "ds-a", kport, h1)
        wait_for(lambda: ready_with(h1, PARTS), 20, 0.1, "ds-a assigned")
        start_ds(procs, "ds-b", kport, h2)  # the same store directory

        def split():
            a, b = healthz(h1), healthz(h2)
            pa, pb = set(a["partitions"]), set(b["partitions"])
            if pa and pb and not (pa & pb) and pa | pb == set(range(PARTS)):
                return a, b
            return None
        a, b = wait_for(split, 30, 0.2, "partitions split over two instances")
        check(a["epoch"] != b["epoch"], "each instance has its own epoch")

        evs, exp, pos, neg, _ = script("S", 60)
        produce(kport, evs)

        def summed():
            ta, _, _ = sum_aggregates(h1)
            tb, _, _ = sum_aggregates(h2)
            tot = {}
            for t in (ta, tb):
                for c, row in t.items():
                    s = tot.setdefault(c, {k: 0 for k in row})
                    for kk, v in row.items():
                        s[kk] += v
            # Each instance carries its own sub-micro spend remainder, so
            # the sum over two instances may be short by < 1 micro each.
            if set(tot) != set(exp):
                return None
            for c, row in exp.items():
                for kk, v in row.items():
                    got = tot[c][kk]
                    if not (v - 1 <= got <= v if kk == "spend_micros" else got == v):
                        return None
            return ta, tb
        try:
            ta, tb = wait_for(summed, 20, 0.2, "aggregates of both sum to the expected totals")
        except AssertionError:
            print("expected", exp, "\ngot", sum_aggregates(h1)[0], sum_aggregates(h2)[0])
            raise
        check(any(r["bids"] for r in ta.values()) and any(r["bids"] for r in tb.values()),
              "both instances consumed part of the batch")
        # Samples: together both rings hold every expected sample.
        n = wait_for(lambda: (lambda x: x if x == pos + neg else None)(
            len(get_samples(h1)[1]) + len(get_samples(h2)[1])), 15, 0.2, "samples split")
        check(n == pos + neg, "sample count")


def notice(t, auction, ts, price=None):
    """A notice event as the receiver writes it (signed ts nts)."""
    d = {"v": 1, "type": t, "auction": auction, "imp": "1", "campaign": "cs",
         "bid": 3000000, "nts": ts, "ts": ts + 50}
    if price is not None:
        d["price"] = price
    return (auction, d)


def test_store_survives_kill_and_counts_early_events():
    kport, admin, hport = free_ports(3)
    with Procs(tempfile.mkdtemp(prefix="beat-ds-store-")) as procs:
        start_kafka(procs, "kafka-dev", kport, admin)
        now = int(time.time() * 1000)
        # Produced before any datastream exists: counted all the same.
        early = [notice("bill", "E1", now, 2000000), notice("win", "E2", now, 3000000),
                 notice("imp", "E2", now), notice("bill", "E1", now, 2000000)]
        produce(kport, early)
        ds = start_ds(procs, "ds-1", kport, hport)
        wait_for(lambda: ready_with(hport, PARTS), 20, 0.1, "datastream assigned")
        want = {"bids": 0, "wins": 2, "spend_micros": 5000, "imps": 1, "clicks": 0}
        try:
            wait_for(lambda: sum_aggregates(hport)[0].get("cs") == want, 15, 0.2,
                     "early events counted")
        except AssertionError:
            print("got", sum_aggregates(hport)[0])
            raise
        check(metric(hport, "beat_datastream_store_duplicates_total") == 1,
              "the replayed early bill is a store duplicate")
        consumed = metric(hport, "beat_datastream_kafka_messages_total")
        check(consumed == len(early), f"consumed {consumed}")
        h = healthz(hport)  # keys: 3 notices, 2 debit and 2 release markers
        check(h["store_full"] is False and h["store"]["open"] == PARTS
              and h["store"]["refused"] == [] and h["store"]["keys"] == 7,
              f"store in healthz: {h}")

        # kill -9: no revoke, no goodbye; the stores are as the last batch
        # left them. The same instance comes back (same store directory).
        ds.kill()
        ds = start_ds(procs, "ds-1b", kport, hport)
        wait_for(lambda: ready_with(hport, PARTS), 30, 0.1, "datastream assigned again")
        check(metric(hport, "beat_datastream_duplicates_total") == 0, "fresh process")
        # The same bill again (same auction, imp, signed ts): a duplicate.
        # E2's bill: its win debited before the kill, so it must not debit.
        # N1: new money, the one thing that counts.
        later = [notice("bill", "E1", now, 2000000), notice("bill", "E2", now, 3000000),
                 notice("bill", "N1", now + 10, 1000000)]
        produce(kport, later)
        wait_for(lambda: metric(hport, "beat_datastream_kafka_messages_total") == len(later),
                 15, 0.1, "the new events consumed")
        # wins: N1, and E2 again (a win counts once per (auction, imp) in
        # memory only; the money is what the store guards).
        want = {"bids": 0, "wins": 2, "spend_micros": 1000, "imps": 0, "clicks": 0}
        try:
            wait_for(lambda: sum_aggregates(hport)[0].get("cs") == want, 10, 0.2,
                     "only N1 debited after the restart")
        except AssertionError:
            print("got", sum_aggregates(hport)[0])
            raise
        check(metric(hport, "beat_datastream_duplicates_total") == 1, "E1's bill a duplicate")
        check(metric(hport, "beat_datastream_store_duplicates_total") == 1, "in the store")
        check(metric(hport, "beat_datastream_store_debited_before_total") == 1,
              "E2's bill: debited before")
        # Nothing processed before the kill was read again: exactly the new
        # events were consumed (the store's offsets, not Kafka's).
        time.sleep(0.5)  # a late re-read would show up here
        check(metric(hport, "beat_datastream_kafka_messages_total") == len(later),
              "nothing read twice")
        check(ds.stop() == 0, "datastream exits 0 on SIGTERM")
        fatal = [e for e in ds.events() if e.get("lvl") in ("error", "fatal")]
        check(not fatal, f"no error lines: {fatal[:3]}")


def test_unusable_store_partition_is_not_consumed():
    """A corrupt store file: its partition is refused (not consumed, not
    ready, alert gauge), the others are consumed; once the file is moved
    away the partition is read from the log's start."""
    kport, admin, hport = free_ports(3)
    with Procs(tempfile.mkdtemp(prefix="beat-ds-bad-")) as procs:
        start_kafka(procs, "kafka-dev", kport, admin)
        store = os.path.join(procs.logdir, "store")
        os.makedirs(store)
        bad = os.path.join(store, f"{TOPIC}-2.db")
        with open(bad, "wb") as f:
            f.write(b"not a database " * 400)
        now = int(time.time() * 1000)
        produce_to(kport, 2, [notice("bill", "P2", now, 4000000)])
        produce_to(kport, 1, [notice("bill", "P1", now, 1000000)])
        ds = start_ds(procs, "ds-1", kport, hport, store=store)
        h = wait_for(lambda: (lambda x: x if x["assigned_partitions"] == PARTS
                              and x["store"]["refused"] == [2] else None)(healthz(hport)),
                     20, 0.1, "partition 2 refused")
        check(h["ready"] is False, "not ready while a store is refused")
        wait_for(lambda: sum_aggregates(hport)[0].get("cs", {}).get("spend_micros") == 1000,
                 10, 0.2, "partition 1 consumed")
        check(metric(hport, "beat_datastream_store_refused_partitions") == 1, "gauge")
        time.sleep(0.5)
        check(sum_aggregates(hport)[0]["cs"]["spend_micros"] == 1000, "partition 2 not read")
        check(any(e.get("ev") == "store_failed" and e.get("partition") == 2
                  for e in ds.events()), "store_failed logged")
        os.rename(bad, bad + ".corrupt")
        wait_for(lambda: healthz(hport)["ready"], 15, 0.2, "ready once the file is usable")
        wait_for(lambda: sum_aggregates(hport)[0]["cs"]["spend_micros"] == 5000, 10, 0.2,
                 "partition 2 read from its start")
        check(metric(hport, "beat_datastream_store_refused_partitions") == 0, "gauge back")


def test_store_dir_is_required():
    r = subprocess.run([os.path.join(BIN, "beat-datastream")], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 64 and "--store-dir" in r.stderr, f"{r.returncode} {r.stderr!r}")


def fill_report_file(path, days=30, campaigns=50, exchanges=3, creatives=4, share=1):
    """A partition file holding only report rows (the reader reads every
    <topic>-<n>.db of the store directory; no instance owns partition 900):
    the 432 000 rows docs/reports.md measures with, in one file."""
    import sqlite3
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE reports(hour_ms INTEGER NOT NULL, campaign TEXT NOT NULL,"
               " exchange TEXT NOT NULL, creative TEXT NOT NULL, opps INTEGER NOT NULL DEFAULT 0,"
               " bids INTEGER NOT NULL DEFAULT 0, wins INTEGER NOT NULL DEFAULT 0,"
               " spend_cpm INTEGER NOT NULL DEFAULT 0, imps INTEGER NOT NULL DEFAULT 0,"
               " clicks INTEGER NOT NULL DEFAULT 0, convs INTEGER NOT NULL DEFAULT 0,"
               " PRIMARY KEY(hour_ms, campaign, exchange, creative)) WITHOUT ROWID")
    h0 = (int(time.time() * 1000) // 3600000 - days * 24) * 3600000

    def rows():
        i = 0
        for h in range(days * 24):
            for c in range(campaigns):
                for x in range(exchanges):
                    for cr in range(creatives):
                        i += 1
                        if i % share == 0:
                            yield (h0 + h * 3600000, f"c{c}", f"x{x}", f"cr{cr}", 9, 5, 2, 3000, 2, 1, 0)
    db.executemany("INSERT INTO reports VALUES(?,?,?,?,?,?,?,?,?,?,?)", rows())
    db.commit()
    db.close()


def test_long_report_never_delays_aggregates():
    """GET /v1/reports runs on report workers (docs/reports.md "Query"):
    while two 30-day queries run (one worker, one waiting), /v1/aggregates
    answers well within the time one query takes alone; a third query gets
    503 with Retry-After; the deferred answers are whole and in order on a
    keep-alive connection with a request pipelined behind them."""
    import socket, threading
    kport, admin, hport = free_ports(3)
    with Procs(tempfile.mkdtemp(prefix="beat-ds-rep-")) as procs:
        store = os.path.join(procs.logdir, "store")
        os.makedirs(store)
        fill_report_file(os.path.join(store, f"{TOPIC}-900.db"))
        start_kafka(procs, "kafka-dev", kport, admin)
        start_ds(procs, "ds-1", kport, hport, store=store,
                 extra=("--report-workers", "1", "--report-queue-max", "1"))
        wait_for(lambda: ready_with(hport, PARTS), 20, 0.1, "datastream assigned")
        big = f"http://127.0.0.1:{hport}/v1/reports?group_by=campaign,hour"
        t0 = time.monotonic()
        st, _, body = http("GET", big, timeout=60)
        alone = time.monotonic() - t0
        check(st == 200, body[:300])
        want = len(json.loads(body)["rows"])
        check(want == 30 * 24 * 50, f"{want} rows")
        check(alone >= 0.3, f"one query took {alone:.2f} s alone: too small a store to test with")

        got = []

        def ask():
            got.append(http("GET", big, timeout=60))
        ts = [threading.Thread(target=ask) for _ in range(2)]
        for t in ts:
            t.start()
        wait_for(lambda: metric(hport, "beat_datastream_reports_inflight") == 2, 10, 0.01,
                 "two report queries accepted")
        st, hdr, body = http("GET", big, timeout=10)
        check(st == 503 and hdr.get("Retry-After") == "1", f"{st} {hdr} {body[:200]}")
        lat = []
        while metric(hport, "beat_datastream_reports_inflight") > 0:
            t1 = time.monotonic()
            st, _, _ = http("GET", f"http://127.0.0.1:{hport}/v1/aggregates?after=0", timeout=10)
            lat.append(time.monotonic() - t1)
            check(st == 200)
        for t in ts:
            t.join(60)
        check(len(lat) >= 3, f"only {len(lat)} aggregates answers while the reports ran "
              f"(one report alone: {alone:.2f} s)")
        check(max(lat) < alone / 2, f"aggregates waited {max(lat):.3f} s while reports ran "
              f"(one report alone: {alone:.2f} s)")
        check([g[0] for g in got] == [200, 200], [g[0] for g in got])
        check(all(len(json.loads(g[2])["rows"]) == want for g in got))

        # Keep-alive: a request pipelined behind a deferred one is answered
        # after it, on the same connection.
        s = socket.create_connection(("127.0.0.1", hport), timeout=30)
        s.sendall(b"GET /v1/reports?group_by=campaign HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /v1/ledger HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            raw += b
        s.close()
        first, rest = raw.split(b"\r\n\r\n", 1)
        check(first.startswith(b"HTTP/1.1 200"), first[:100])
        n = int([ln.split(b":")[1] for ln in first.split(b"\r\n")
                 if ln.lower().startswith(b"content-length")][0])
        check(len(json.loads(rest[:n])["rows"]) == 50)
        check(rest[n:].startswith(b"HTTP/1.1 200"), rest[n:n + 100])
        check(b"\r\n\r\n{" in rest[n:], rest[n:n + 300])
