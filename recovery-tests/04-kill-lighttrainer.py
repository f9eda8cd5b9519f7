"""SIGKILL the lighttrainer (lighttrainer), keep it down a while, let it start again."""
import recovery


def test_kill_lighttrainer():
    recovery.run("kill-lighttrainer", "lighttrainer", how="kill")
