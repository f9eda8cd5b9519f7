"""SIGKILL the supervisor (supervisor), keep it down a while, let it start again."""
import recovery


def test_kill_supervisor():
    recovery.run("kill-supervisor", "supervisor", how="kill")
