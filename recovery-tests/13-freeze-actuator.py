"""Freeze the actuator (actuator) with SIGSTOP longer than its peers' timeouts,
then SIGCONT: a hung peer is harder than a dead one."""
import recovery


def test_freeze_actuator():
    recovery.run("freeze-actuator", "actuator", how="freeze", down_s=8.0)
