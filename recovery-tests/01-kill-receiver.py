"""SIGKILL one of the two receivers (receiver-1), keep it down a while, let
it start again. The other shares the notice port (SO_REUSEPORT) and takes
every notice meanwhile; inference's bid-log push skips the dead one."""
import recovery


def test_kill_receiver():
    recovery.run("kill-receiver", "receiver-1", how="kill")
