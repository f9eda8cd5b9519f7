"""Freeze one of the two receivers (receiver-1) with SIGSTOP longer than its
peers' timeouts, then SIGCONT: a hung peer is harder than a dead one. Its
listening socket stays open, so the kernel still hands it new connections
that nobody answers until SIGCONT; receiver-2 serves the rest."""
import recovery


def test_freeze_receiver():
    recovery.run("freeze-receiver", "receiver-1", how="freeze", down_s=8.0)
