"""SIGKILL the dev Kafka broker (kafka-dev), keep it down a while, let beatctl
start it again on the same ports (docs/architecture.md "Library facts"). It
comes back empty: the receiver's producer reconnects and refills the new log
from its spool, and the datastreams read the new log from its start, also
when it has already grown past their stored offsets (the stored mark of the
last message counted differs: kafka_log_replaced) — nothing counted twice,
nothing skipped, checked against what the exchange charged — so new
aggregates reach the actuator again. Once the pipeline has settled the
engine must have counted >= 99% of what the exchange charged."""
import recovery
from beatlib import check


def consumers_reset(c, snap):
    # The log restarted at offset 0 below the consumers' positions; they
    # must have rejoined and consumed again (not stuck on the old offsets).
    check(snap["ds_msgs"] > c.at_release["ds_msgs"], "datastreams stuck after the broker restart")
    resets = recovery.metric_sum(c.e, "datastream-", "beat_datastream_offset_resets_total")
    rebal = recovery.metric_sum(c.e, "datastream-", "beat_datastream_rebalances_total")
    repl = recovery.metric_sum(c.e, "datastream-", "beat_datastream_log_replaced_total")
    c.notes.append(f"offset resets {resets:.0f}, logs replaced {repl:.0f}, "
                   f"rebalances {rebal:.0f}")


def test_kill_kafka():
    recovery.run("kill-kafka", "kafka-dev", how="kill", down_s=5.0, after=consumers_reset,
                 counted_min=0.99)
