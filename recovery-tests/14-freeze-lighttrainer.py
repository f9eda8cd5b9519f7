"""Freeze the lighttrainer (lighttrainer) with SIGSTOP longer than its peers' timeouts,
then SIGCONT: a hung peer is harder than a dead one."""
import recovery


def test_freeze_lighttrainer():
    recovery.run("freeze-lighttrainer", "lighttrainer", how="freeze", down_s=8.0)
