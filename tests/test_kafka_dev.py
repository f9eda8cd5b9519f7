"""beat-kafka-dev as a process: brokers on the configured stable ports, the
bootstrap file, real Kafka clients (kcat) producing and consuming, consumer
groups, fault injection endpoints (broker down/up, rtt, request errors), a
busy port, and SIGTERM."""
import json, os, socket, subprocess, tempfile, time

from beatlib import (Procs, free_port, healthz, http, metric, wait_for, check)


def kcat(*args, stdin=None, timeout=20):
    return subprocess.run(["kcat", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def pair_of_free_ports():
    """base with base+1 also free (two brokers)."""
    for _ in range(50):
        a, b = socket.socket(), socket.socket()
        try:
            a.bind(("127.0.0.1", 0))
            p = a.getsockname()[1]
            b.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
        finally:
            a.close(); b.close()
    raise AssertionError("no free port pair")


def test_brokers_ports_file_clients_faults_and_stop():
    base, admin = pair_of_free_ports(), free_port()
    d = tempfile.mkdtemp(prefix="kdev-")
    boot = os.path.join(d, "bootstrap")
    with Procs(d) as procs:
        k = procs.start("kafka", ["beat-kafka-dev", "--port", str(base), "--brokers", "2",
                                  "--partitions", "3", "--topic", "t.events",
                                  "--bootstrap-file", boot,
                                  "--listen", f"127.0.0.1:{admin}"])
        h = wait_for(lambda: healthz(admin), 10, what="kafka-dev health")
        want = f"127.0.0.1:{base},127.0.0.1:{base + 1}"
        check(h["ready"] and h["bootstrap"] == want, h)
        check(open(boot).read() == want + "\n", "bootstrap file")
        check(want in k.logs(), "bootstrap printed")
        ready = [e for e in k.events() if e.get("ev") == "kafka_dev_ready"]
        check(ready and ready[0]["bootstrap"] == want, "kafka_dev_ready event")

        md = kcat("-L", "-b", f"127.0.0.1:{base + 1}", "-t", "t.events", "-J")
        meta = json.loads(md.stdout)
        ports = sorted(int(b["name"].rsplit(":", 1)[1]) for b in meta["brokers"])
        check(ports == [base, base + 1], meta["brokers"])
        check(len(meta["topics"][0]["partitions"]) == 3, meta["topics"])

        r = kcat("-P", "-b", want, "-t", "t.events", "-K:", stdin="k1:v1\nk2:v2\nk3:v3\n")
        check(r.returncode == 0, r.stderr)
        # A consumer group (join, assignment, fetch) through the mock's coordinator.
        r = kcat("-G", "g1", "-b", want, "-o", "beginning", "-e", "-J", "-q", "t.events",
                 timeout=30)
        got = sorted(json.loads(l)["key"] for l in r.stdout.splitlines())
        check(got == ["k1", "k2", "k3"], f"group consumer got {got}: {r.stderr[-300:]}")
        # Auto-created topics work too (clients may use another topic name).
        r = kcat("-P", "-b", want, "-t", "other.topic", stdin="x\n")
        check(r.returncode == 0, r.stderr)

        u = f"http://127.0.0.1:{admin}"
        check(http("GET", f"{u}/fault/broker?id=1&state=down")[0] == 405, "GET refused")
        check(http("POST", f"{u}/fault/broker?id=9&state=down")[0] == 400, "bad id")
        check(http("POST", f"{u}/fault/broker?id=1&state=sideways")[0] == 400, "bad state")
        check(http("POST", f"{u}/fault/rtt?id=1&ms=-5")[0] == 400, "bad rtt")
        check(http("POST", f"{u}/fault/broker?id=2&state=down")[0] == 200, "down")
        check(http("POST", f"{u}/fault/broker?id=2&state=up")[0] == 200, "up")
        check(http("POST", f"{u}/fault/rtt?id=1&ms=0")[0] == 200, "rtt")
        check(metric(admin, "beat_kafka_dev_faults_total") == 3, "faults counted")
        # Request errors: exactly the next `count` Produce requests fail.
        check(http("POST", f"{u}/fault/errors?api=0&err=nosuch")[0] == 400, "bad err name")
        check(http("POST", f"{u}/fault/errors?api=-1&err=29")[0] == 400, "bad api")
        check(http("POST", f"{u}/fault/errors?api=0&err=29&count=0")[0] == 400, "bad count")
        check(http("POST", f"{u}/fault/errors?api=0&err=0")[0] == 400, "no-error refused")
        check(http("POST", f"{u}/fault/errors?api=0&err=TOPIC_AUTHORIZATION_FAILED"
                           "&count=2")[0] == 200, "errors pushed")
        rcs = [kcat("-P", "-b", want, "-t", "t.events", "-K:", stdin=f"e{i}:x\n").returncode
               for i in range(3)]
        check(rcs[0] != 0 and rcs[1] != 0 and rcs[2] == 0, f"two produce failures, then ok: {rcs}")
        check(metric(admin, "beat_kafka_dev_faults_total") == 4, "errors counted")

        # A second instance on the same ports gives up after its bind wait.
        t0 = time.monotonic()
        k2 = procs.start("kafka-dup", ["beat-kafka-dev", "--port", str(base),
                                       "--brokers", "2", "--bind-wait-ms", "300",
                                       "--listen", f"127.0.0.1:{free_port()}"])
        wait_for(lambda: not k2.alive(), 10, what="duplicate exits")
        check(k2.p.returncode != 0, "duplicate must fail")
        check(any(e.get("ev") == "kafka_dev_bind_failed" for e in k2.events()), "reason logged")
        check(time.monotonic() - t0 < 8, "bounded wait")
        check(healthz(admin)["ready"], "first one unharmed")

        check(k.stop() == 0, "SIGTERM exits 0")
