"""Freeze the receiver (receiver) with SIGSTOP longer than its peers' timeouts,
then SIGCONT: a hung peer is harder than a dead one."""
import recovery


def test_freeze_receiver():
    recovery.run("freeze-receiver", "receiver", how="freeze", down_s=8.0)
