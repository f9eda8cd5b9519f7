"""Freeze the supervisor (supervisor) with SIGSTOP longer than its peers' timeouts,
then SIGCONT: a hung peer is harder than a dead one."""
import recovery


def test_freeze_supervisor():
    recovery.run("freeze-supervisor", "supervisor", how="freeze", down_s=8.0)
