"""SIGKILL one of the two receivers (receiver-1), keep it down a while, let
it start again. The other shares the notice port (SO_REUSEPORT) and takes
every notice meanwhile; inference's bid-log push skips the dead one. Checked
here: receiver-2 took notices and bid logs while receiver-1 was down, and
once the pipeline has settled the engine counted >= 99% of what the
exchange charged (what a SIGKILLed receiver held is lost at most once: the
notices on its open connections and its spool)."""
import recovery
from beatlib import check, metric, wait_for


def taken(e, name):
    """(notices, bid logs) a receiver has accepted so far."""
    p = e.ports[name]
    notices = sum(metric(p, f'beat_receiver_notices_total{{type="{t}"}}') or 0
                  for t in ("win", "bill", "loss", "imp", "click"))
    return notices, metric(p, "beat_receiver_bidlogs_total") or 0


def kill_one(c, down_s):
    e = c.e
    e.ctl("stop", "receiver-1", "KILL")
    wait_for(lambda: not e.pid("receiver-1"), 10, what="receiver-1 dead")
    n0, b0 = taken(e, "receiver-2")
    recovery.held_down(e, c.victims, down_s)
    n1, b1 = taken(e, "receiver-2")
    e.ctl("start", "receiver-1")
    c.notes.append(f"receiver-2 took {n1 - n0:.0f} notices, {b1 - b0:.0f} bid logs meanwhile")
    check(n1 > n0 and b1 > b0, f"receiver-2 idle while receiver-1 was down: {n0}→{n1}, {b0}→{b1}")


def test_kill_receiver():
    recovery.run("kill-receiver", "receiver-1", how=kill_one, counted_min=0.99)
