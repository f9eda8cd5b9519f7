"""SIGKILL the receiver (receiver), keep it down a while, let it start again."""
import recovery


def test_kill_receiver():
    recovery.run("kill-receiver", "receiver", how="kill")
