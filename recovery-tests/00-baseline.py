"""The control row: the same engine, load, window and checks with nothing
disrupted. Its answered-in-time share is what this machine gives right now;
a scenario falling short by the same amount is contention, not recovery."""
import recovery


def test_baseline():
    recovery.run("baseline (no fault)", None, how="none", down_s=8.0)
