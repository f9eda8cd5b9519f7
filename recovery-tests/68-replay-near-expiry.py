"""Replays just before their notices expire, across a datastream restart
and two rebalances (docs/money.md promise 1: never twice for a notice's
whole life). The receivers accept notices for 300 s
(BEAT_RECEIVER_NOTICE_MAX_AGE_S) and the datastreams keep dedup keys for
exactly what that needs: 300 s plus the receivers' 300 s future allowance
(BEAT_DATASTREAM_DEDUP_RETENTION_S 600), so a retention shorter than the
notice lifetime would show here as double counting. The exchange calls
every win and bill once more 290 s after its first call (--replay-share 1,
--replay-delay-ms 290000). 150 s into the window datastream-1 is killed
(its partitions move to datastream-2: a rebalance) and started again 15 s
later (they move back, and its store is reopened): every replay that
arrives after that is checked by an owner that did not see the original.
The window runs 400 s, so the notices of the first ~110 s are replayed at
290 s; the rest are flushed when the load stops. Checked: the replays
add exactly 0 (per campaign the engine counted what was charged when no
notice was lost; never more), and the money checks of every scenario.
Exchange-side: replays still waiting when the load stops are flushed and
most fail in exsim's notifier queue (counted as failed, adding nothing)."""
import time

import recovery
from beatlib import check, wait_for

EXSIM = ["--dup-prob=1", "--replay-share=1", "--replay-delay-ms=290000"]
ENV = {"BEAT_RECEIVER_NOTICE_MAX_AGE_S": "300", "BEAT_DATASTREAM_DEDUP_RETENTION_S": "600"}
WINDOW_S, KILL_AT_S, DOWN_S = 400.0, 150.0, 15.0


def restart_midway(c, down_s):
    """The window with datastream-1 killed KILL_AT_S into it for DOWN_S."""
    t0 = time.monotonic()
    time.sleep(KILL_AT_S)
    c.e.ctl("stop", "datastream-1", "KILL")
    wait_for(lambda: not c.e.pid("datastream-1"), 10, what="datastream-1 dead")
    c.mark("datastream-1 killed")
    time.sleep(DOWN_S)  # held down: its partitions are datastream-2's meanwhile
    c.e.ctl("start", "datastream-1")
    wait_for(lambda: c.e.health("datastream-1").get("ready"), 60, what="datastream-1 ready")
    c.mark("datastream-1 ready")
    time.sleep(max(0.0, down_s - (time.monotonic() - t0)))


def replays_add_nothing(c, snap):
    e = c.e
    rp = {k: sum(s["replays"][k] for s in c.summaries) for k in ("sent", "ok", "failed")}
    expired = recovery.metric_sum(e, "receiver", 'beat_receiver_rejected_total{reason="expired"}')
    dups = recovery.metric_sum(e, "datastream-", "beat_datastream_duplicates_total")
    c.notes.append(f"replays {rp['ok']}/{rp['sent']} answered ({expired:.0f} refused as "
                   f"expired); datastreams counted {dups:.0f} duplicates")
    # The replays due during the load arrive at 290 s (tens of thousands);
    # those still waiting when it stops are flushed at once, and many of
    # those fail in exsim's own full notifier: they add 0 either way.
    check(rp["ok"] > 10000, f"too few replays reached a receiver: {rp}")
    check(dups > 10000, f"datastreams saw only {dups} duplicates of {rp['ok']} replays")
    recovery.check_counted_is_charged(c)


def test_replay_near_expiry():
    recovery.run("replay-near-expiry", "datastream-1", how=restart_midway, down_s=WINDOW_S,
                 after=replays_add_nothing, money=recovery.Money(exsim=EXSIM, env=ENV))
