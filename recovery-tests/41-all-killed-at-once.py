"""Power cut: the runner, every daemon and the dev broker SIGKILLed at the
same instant (one kill on their process group), then `beatctl up` again on
the same run directory. The supervisor reopens its SQLite file; the actuator
restores its spend and controller state, the trainer its model (samples_seen
and AUC continue), versions continue from where they were, and bidding
resumes. Load runs up to the kill and again once the engine is back (no
inference node exists in between, so no answer is expected there)."""
import recovery


def test_all_killed_at_once():
    recovery.run("all-killed-at-once", "all", how="all", down_s=2.0)
