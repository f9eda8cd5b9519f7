"""Freeze a datastream (datastream-1) with SIGSTOP longer than its peers'
timeouts (and the consumer group's session), then SIGCONT: a hung peer is
harder than a dead one. No counting slack, as for the kill: the partitions
it loses meanwhile move with their stores (dedup keys and debit markers),
so nothing is counted twice."""
import recovery


def test_freeze_datastream():
    recovery.run("freeze-datastream", "datastream-1", how="freeze", down_s=8.0)
