"""Broker faults injected through the dev broker's mock-cluster fault API
(tools/beat-kafka-dev/admin.c) under load, no process killed: request errors
on every Kafka API the engine uses (produce, fetch, offset commit, group
heartbeat, plus forced disconnects), then the broker down and up again, then
a slow broker (round-trip delay). Producers and consumers must ride it out:
bids answered throughout, nobody restarted, events flow again afterwards
(new aggregates at the actuator, new state and model at inference), and
nothing counted twice."""
import time
import recovery
from beatlib import check, http

# (API key, error, count): Produce 0, Fetch 1, OffsetCommit 8, Heartbeat 12.
ERRORS = [(0, "NOT_LEADER_FOR_PARTITION", 20), (0, "_TRANSPORT", 3),
          (1, "NOT_LEADER_FOR_PARTITION", 20), (1, "_TRANSPORT", 3),
          (8, "COORDINATOR_NOT_AVAILABLE", 10), (12, "REBALANCE_IN_PROGRESS", 4)]


def fault(c, path):
    st, _, b = http("POST", c.e.url("kafka-dev", path))
    check(st == 200, f"fault {path} -> {st} {b[:100]!r}")


def window(s):
    time.sleep(s)  # a fault phase lasts this long; the watcher measures meanwhile


def consumer_errors(c):
    return recovery.metric_sum(c.e, "datastream-", "beat_datastream_kafka_errors_total")


def faults(c, down_s):
    c.errs0 = consumer_errors(c)
    for api, err, n in ERRORS:
        fault(c, f"/fault/errors?api={api}&err={err}&count={n}")
    window(down_s / 3)
    fault(c, "/fault/broker?id=1&state=down")
    window(down_s / 3)
    fault(c, "/fault/broker?id=1&state=up")
    fault(c, "/fault/rtt?id=1&ms=400")
    window(down_s / 3)
    fault(c, "/fault/rtt?id=1&ms=0")


def counted(c, snap):
    dropped = recovery.metric_sum(c.e, "receiver", "beat_receiver_kafka_dropped_total")
    errs = consumer_errors(c) - c.errs0
    injected = recovery.metric(c.e.ports["kafka-dev"], "beat_kafka_dev_faults_total")
    check(injected == len(ERRORS) + 4, f"faults injected: {injected}")
    check(errs > 0, "the consumers never saw a fault: nothing was tested")
    c.notes.append(f"receiver dropped {dropped:.0f}, consumer errors {errs:.0f}")


def test_kafka_faults():
    recovery.run("kafka-faults", None, how=faults, down_s=9.0, after=counted)
