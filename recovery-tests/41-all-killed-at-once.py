"""Power cut: the runner, every daemon and the dev broker SIGKILLed at the
same instant (one kill on their process group), then `beatctl up` again on
the same run directory. The supervisor reopens its SQLite file; the actuator
restores its spend and controller state, the trainer its model (samples_seen
and AUC continue), versions continue from where they were, and bidding
resumes. Load runs up to the kill and again once the engine is back (no
inference node exists in between, so no answer is expected there). Once
settled, the hourly reports (GET /v1/reports, docs/reports.md) hold per
campaign the spend the ledger counted, across the kill, and never more
wins or clicks than the exchange saw."""
import recovery
from beatlib import check, get_json


def reports_match(c, snap):
    rows = {r["campaign"]: r for r in get_json(
        c.e.url("datastream-1", "/v1/reports?group_by=campaign"))["rows"]}
    for k, v in c.counted.items():
        got = rows.get(k, {}).get("spend_micros", 0)
        check(abs(got - v) <= 4, f"{k}: reports spend {got} != ledger {v}")
    seen = {}  # the exchange's counts over both load segments
    for s in c.summaries:
        for k, v in s.get("campaigns", {}).items():
            t = seen.setdefault(k, {"wins": 0, "clicks": 0})
            t["wins"] += v.get("wins", 0)
            t["clicks"] += v.get("clicks", 0)
    for k, t in seen.items():
        r = rows.get(k, {})
        check(r.get("wins", 0) <= t["wins"] and r.get("clicks", 0) <= t["clicks"],
              f"{k}: reports wins/clicks {r.get('wins')}/{r.get('clicks')} above the "
              f"exchange's {t['wins']}/{t['clicks']}")
    c.notes.append("reports = ledger")


def test_all_killed_at_once():
    recovery.run("all-killed-at-once", "all", how="all", down_s=2.0, after=reports_match)
