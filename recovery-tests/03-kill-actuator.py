"""SIGKILL the actuator (actuator), keep it down a while, let it start again."""
import recovery


def test_kill_actuator():
    recovery.run("kill-actuator", "actuator", how="kill")
