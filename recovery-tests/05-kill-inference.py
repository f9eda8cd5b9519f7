"""SIGKILL the inference (inference-1), keep it down a while, let it start again."""
import recovery


def test_kill_inference():
    recovery.run("kill-inference", "inference-1", how="kill")
