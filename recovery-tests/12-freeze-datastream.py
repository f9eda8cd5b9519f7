"""Freeze the datastream (datastream-1) with SIGSTOP longer than its peers' timeouts,
then SIGCONT: a hung peer is harder than a dead one."""
import recovery


def test_freeze_datastream():
    recovery.run("freeze-datastream", "datastream-1", how="freeze", down_s=8.0)
