"""Replays, forgeries and test traffic under load, no process disrupted
(docs/money.md promises 1-3). The exchange calls every win and bill twice:
70% again within seconds (--dup-prob 1), 30% two minutes later instead
(--replay-share 0.3, --replay-delay-ms 120000); it calls every loss URL
once more re-typed as a bill (--forge-share 1: a receiver must answer 403);
and 10% of requests are test traffic (--test-share 0.1: answered, notices
called, never billed). The window runs 150 s so replays arrive long after
their auctions left the join window; those still due at the end are sent
then. Checked: replays and forgeries add exactly 0 (per campaign the
engine counted what was charged, to the micro, when no notice was lost;
never more), every forgery refused, test notices answered and never
counted, and the money checks of every scenario (Money budgets)."""
import recovery
from beatlib import check

EXSIM = ["--dup-prob=1", "--replay-share=0.3", "--replay-delay-ms=120000", "--forge-share=1",
         "--test-share=0.1"]


def replays_add_nothing(c, snap):
    e = c.e
    rp = {k: sum(s["replays"][k] for s in c.summaries) for k in ("sent", "ok", "failed")}
    fg = {k: sum(s["forged"][k] for s in c.summaries)
          for k in ("sent", "refused", "accepted", "failed")}
    test = sum(s["test"]["notices"]["bill"] for s in c.summaries)
    forged_seen = recovery.metric_sum(e, "receiver", 'beat_receiver_rejected_total{reason="forged"}')
    test_seen = recovery.metric_sum(e, "receiver", 'beat_receiver_test_notices_total{type="bill"}')
    c.notes.append(f"replays {rp['ok']}/{rp['sent']} answered; forged bills {fg['refused']} "
                   f"refused of {fg['sent']} ({fg['accepted']} accepted); test bills {test:.0f} "
                   f"(receivers counted {test_seen:.0f} apart)")
    check(rp["sent"] > 200 and rp["ok"] >= 0.99 * rp["sent"], f"replays: {rp}")
    check(fg["sent"] > 0 and fg["accepted"] == 0 and fg["refused"] == fg["sent"],
          f"forgeries: {fg}")
    check(forged_seen >= fg["sent"], f"receivers saw {forged_seen} forgeries of {fg['sent']}")
    check(test > 20 and test_seen >= test, f"test bills {test}, receivers counted {test_seen}")
    recovery.check_counted_is_charged(c)


def test_replay_forgery():
    recovery.run("replay-forgery", None, how="none", down_s=150.0, after=replays_add_nothing,
                 money=recovery.Money(exsim=EXSIM))
