"""Freeze a datastream (datastream-1) with SIGSTOP longer than its peers'
timeouts (and the consumer group's session), then SIGCONT: a hung peer is
harder than a dead one. Counting slack 5%, as for the kill: the join state
does not move with the partitions it loses meanwhile."""
import recovery


def test_freeze_datastream():
    recovery.run("freeze-datastream", "datastream-1", how="freeze", down_s=8.0,
                 once_slack=0.05)
