#!/usr/bin/env python3
"""Event-stream benchmarks with same-run baselines (load generator,
servers and broker share the machine, so only ratios mean anything):
  1. receiver signed /win notices/s (wrk, one worker) ÷ nginx (1 worker)
     fixed reply, same wrk settings;
  2. bid-log events/s through nng → receiver → Kafka (acknowledged), pushed
     by bench/bidlog_load.c ($BUILD/bench/bidlog_load: make bench-probes);
  3. datastream events/s consumed and joined (a fresh group reading the
     topic from its beginning) ÷ `kcat -C` reading the same topic to the end.
Prints one line per figure; nothing here asserts speed.
Env: BUILD (default build), BEAT_BENCH_SECONDS, BEAT_BENCH_CONNECTIONS,
BEAT_BENCH_BIDLOGS (default 200000), BEAT_BENCH_AUCTIONS (default 50000)."""
import hashlib, hmac, json, os, shutil, subprocess, sys, tempfile, time, urllib.parse
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
from beatlib import (BIN, Procs, free_ports, healthz,  # noqa: E402
                     metric, wait_for)
from benchlib import nginx, probe_path, wrk  # noqa: E402

SECRET = "bench-stream-secret"
TOPIC = "beat.events"
PARTS = 4
N_BIDLOGS = int(os.environ.get("BEAT_BENCH_BIDLOGS", "200000"))
N_AUCTIONS = int(os.environ.get("BEAT_BENCH_AUCTIONS", "50000"))


def signed_win(base, auction, campaign="c1", bid=2500000, price="1.25"):
    """A /win URL signed exactly as beat_notice.h says (v2 HMAC, 16 bytes)."""
    t = int(time.time() * 1000)
    msg = f"v2\nwin\n\n0\n{auction}\n1\n{campaign}\ncr1\n{bid}\n{t}\n".encode()
    sig = hmac.new(SECRET.encode(), msg, hashlib.sha256).digest()[:16].hex()
    q = urllib.parse.urlencode([("v", "2"), ("x", ""), ("a", auction), ("i", "1"),
                                ("c", campaign), ("cr", "cr1"), ("b", str(bid)),
                                ("t", str(t)), ("f", "0"), ("p", price), ("cur", "USD"),
                                ("s", sig)])
    return f"{base}/win?{q}"


def start_kafka(procs, name, port, admin):
    procs.start(name, ["beat-kafka-dev", "--port", str(port), "--partitions", str(PARTS),
                       "--listen", f"127.0.0.1:{admin}", "--topic", TOPIC])
    wait_for(lambda: healthz(admin)["ready"], 15, what=f"{name} ready")


def bench_receiver(procs, tmp, kport, load_exe):
    """Figures 1 and 2 on one receiver."""
    hp, bp = free_ports(2)
    procs.start("receiver", ["beat-receiver", "--listen", f"127.0.0.1:{hp}",
                             "--bidlog-listen", f"tcp://127.0.0.1:{bp}",
                             "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                             "--notice-secret", SECRET, "--queue-max", "2000000"],
                env={"BEAT_LOG_LEVEL": "warn"})
    wait_for(lambda: healthz(hp)["ready"], 15, what="receiver ready")
    ng, ng_url = nginx(tmp)
    try:
        rq, rlat, rerr = wrk(signed_win(f"http://127.0.0.1:{hp}", "bench-win-1"))
        nq, nlat, _ = wrk(ng_url)
    finally:
        ng.terminate()
        ng.wait(5)
    print(f"nginx fixed 300-byte GET reply: {nq:,.0f} req/s "
          f"(p50 {nlat.get('50')}, p99 {nlat.get('99')})")
    print(f"receiver signed /win notices (1 worker): {rq:,.0f} req/s "
          f"(p50 {rlat.get('50')}, p99 {rlat.get('99')}, non-2xx {rerr})")
    print(f"ratio receiver/nginx: {rq / nq:.2f} (goal >= 0.5)")

    wait_for(lambda: healthz(hp)["kafka_queued"] == 0, 60, 0.1, "notices flushed")
    d0 = healthz(hp)["kafka_delivered"]
    t0 = time.monotonic()
    out = subprocess.run([load_exe, f"tcp://127.0.0.1:{bp}", str(N_BIDLOGS)],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("bidlog_load failed: " + out.stderr[-400:])

    def done():
        h = healthz(hp)
        lost = h["kafka_dropped"] + h["kafka_delivery_errors"]
        return h if h["kafka_delivered"] - d0 + lost >= N_BIDLOGS else None
    h = wait_for(done, 300, 0.02, "bid logs acknowledged by Kafka")
    secs = time.monotonic() - t0
    got = h["kafka_delivered"] - d0
    print(f"bid logs nng -> receiver -> Kafka (acks=1): {got / secs:,.0f} events/s "
          f"({got} of {N_BIDLOGS} acknowledged in {secs:.2f} s, dropped "
          f"{h['kafka_dropped']}, delivery errors {h['kafka_delivery_errors']})")


def preload(kport):
    """A realistic mix on a fresh topic: per auction a bid with features, for
    2/3 a win and an imp, for 1/20 a click, 1/10 a duplicate win. Returns
    the number of messages."""
    lines, n = [], 0
    t = int(time.time() * 1000)
    for i in range(N_AUCTIONS):
        a, c = f"pre-{i}", f"c{i % 8}"
        feat = [(i * 2654435761 + f * 40503) & 0xfffff for f in range(24)]
        evs = [{"v": 1, "type": "bid", "auction": a, "imp": "1", "campaign": c, "ts": t,
                "price": 2500000, "pctr": 0.0123, "feat": feat}]
        if i % 3:
            win = {"v": 1, "type": "win", "auction": a, "imp": "1", "campaign": c,
                   "ts": t, "price": 1250000, "bid": 2500000}
            evs += [win, {"v": 1, "type": "imp", "auction": a, "imp": "1",
                          "campaign": c, "ts": t}]
            if i % 10 == 1:
                evs.append(win)
            if i % 20 == 1:
                evs.append({"v": 1, "type": "click", "auction": a, "imp": "1",
                            "campaign": c, "ts": t})
        for e in evs:
            lines.append(f"{a}|{json.dumps(e, separators=(',', ':'))}\n")
        n += len(evs)
    r = subprocess.run(["kcat", "-P", "-b", f"127.0.0.1:{kport}", "-t", TOPIC, "-K", "|",
                        "-X", "queue.buffering.max.messages=1000000"],
                       input="".join(lines).encode(), capture_output=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("kcat -P failed: " + r.stderr.decode()[-400:])
    return n


def topic_size(kport):
    """Messages in the topic per kcat's own read (the truth for the ratio)."""
    r = subprocess.run(["kcat", "-C", "-b", f"127.0.0.1:{kport}", "-t", TOPIC,
                        "-o", "beginning", "-e", "-q", "-f", "x"],
                       capture_output=True, timeout=300)
    return len(r.stdout)


def bench_datastream(procs, kport):
    sent = preload(kport)
    # The mock broker keeps a bounded log per partition (old segments go),
    # so the measure is what is retained: read until two counts agree.
    last = [-1]

    def settled():
        n = topic_size(kport)
        ok = n > 0 and n == last[0]
        last[0] = n
        return n if ok else None
    m = wait_for(settled, 60, 0.2, "preload settled")
    t0 = time.monotonic()
    r = subprocess.run(["kcat", "-C", "-b", f"127.0.0.1:{kport}", "-t", TOPIC,
                        "-o", "beginning", "-e", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300)
    kcat_s = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError("kcat -C failed")
    (hport,) = free_ports(1)
    procs.start("datastream", ["beat-datastream", "--listen", f"127.0.0.1:{hport}",
                               "--kafka-brokers", f"127.0.0.1:{kport}", "--topic", TOPIC,
                               "--group", f"bench-{os.getpid()}", "--start-from",
                               "beginning", "--neg-rate", "0.1",
                               # a new store: the whole log is new to it
                               "--store-dir", os.path.join(procs.logdir, "store")],
                env={"BEAT_LOG_LEVEL": "warn"})
    name = "beat_datastream_kafka_messages_total"
    # The group join (seconds on the mock broker) is not consumption: the
    # clock starts at the first consumed message.
    first = wait_for(lambda: (lambda v: (time.monotonic(), v) if v else None)(
        metric(hport, name)), 60, 0.005, "datastream consuming")
    end = wait_for(lambda: (lambda v: (time.monotonic(), v) if v and v >= m else None)(
        metric(hport, name)), 300, 0.01, "datastream at the log end")
    ds_rate = (end[1] - first[1]) / max(end[0] - first[0], 1e-3)
    kcat_rate = m / kcat_s
    h = healthz(hport)
    print(f"kcat -C reading {m} events to the end ({sent} produced, the rest aged "
          f"out of the mock log): {kcat_rate:,.0f} events/s "
          f"({kcat_s:.2f} s incl. start)")
    print(f"datastream consumed and joined: {ds_rate:,.0f} events/s "
          f"({int(end[1] - first[1])} events after the first; open auctions "
          f"{h['open_auctions']}, samples {h['samples_last_seq']})")
    print(f"ratio datastream/kcat: {ds_rate / kcat_rate:.2f} (goal >= 0.3)")


def main():
    for exe in ("beat-kafka-dev", "beat-receiver", "beat-datastream"):
        if not os.path.exists(os.path.join(BIN, exe)):
            print(f"bench_stream: {BIN}/{exe} missing (make all first)", file=sys.stderr)
            return 1
    load_exe = probe_path("bidlog_load")
    tmp = tempfile.mkdtemp(prefix="beat-bench-stream-")
    try:
        with Procs(os.path.join(tmp, "logs")) as procs:
            k1, a1, k2, a2 = free_ports(4)
            start_kafka(procs, "kafka-1", k1, a1)
            bench_receiver(procs, tmp, k1, load_exe)
            start_kafka(procs, "kafka-2", k2, a2)  # fresh topic for figure 3
            bench_datastream(procs, k2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
