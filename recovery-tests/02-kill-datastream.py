"""SIGKILL the datastream (datastream-1), keep it down a while, let it start again."""
import recovery


def test_kill_datastream():
    recovery.run("kill-datastream", "datastream-1", how="kill")
