"""Freeze the inference (inference-1) with SIGSTOP longer than its peers' timeouts,
then SIGCONT: a hung peer is harder than a dead one."""
import recovery


def test_freeze_inference():
    recovery.run("freeze-inference", "inference-1", how="freeze", down_s=8.0)
