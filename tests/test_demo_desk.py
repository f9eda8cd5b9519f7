"""The trading-desk demo, short: scripts/demo.sh in desk mode (the whole
engine, two inference nodes, a simulated clock) for one engine day at
3000x, then its graded report. The exchange's own counts must show no
impression outside a schedule or a campaign's targeting, no user over a
cap by more than one (two nodes), no local day over its budget by more
than 1%, and every field of the "Trading desk" section present."""
import json, os, subprocess, tempfile

from beatlib import ROOT, check, free_port_base


def test_desk_demo_grades_hold():
    tmp = tempfile.mkdtemp(prefix="beat-desk-")
    env = dict(os.environ)
    env.update({"BEAT_DEMO_MODE": "desk", "BEAT_DEMO_DIR": tmp, "BEAT_DESK_DAYS": "1",
                "BEAT_DESK_CLOCK_RATE": "3000", "BEAT_DESK_LEAD_S": "20",
                "BEAT_DEMO_RATE": "200", "BEAT_PORT_BASE": str(free_port_base(2))})
    r = subprocess.run([os.path.join(ROOT, "scripts", "demo.sh")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=240)
    check(r.returncode == 0, (r.stdout + r.stderr)[-3000:])
    s = json.load(open(os.path.join(tmp, "report", "summary.json")))
    md = open(os.path.join(tmp, "report", "report.md")).read()
    check("## Trading desk" in md, "no desk section in report.md")
    d = s["desk"]
    c = d["checks"]
    print(f"desk: {json.dumps(c)}")
    for k in ("off_schedule_imps", "off_target_imps", "days_graded", "days_within_1pct",
              "days_over_1pct", "freq_over_by_max", "freq_over_pairs", "freq_dropped"):
        check(k in c, f"checks.{k} missing")
    check(c["off_schedule_imps"] == 0, c)
    check(c["off_target_imps"] == 0, c)
    check(c["days_over_1pct"] == 0, d["problems"])
    check(c["freq_over_by_max"] <= 1, c)
    check(c["freq_dropped"] == 0, c)
    camps = {x["id"]: x for x in d["campaigns"]}
    rules = {x.get("rollover") for x in camps.values() if x["days"]}
    check(rules == {"none", "next_day", "even"}, rules)
    for x in camps.values():
        check(x["imps"] > 0, f"{x['id']} bought nothing")
        for day in x["days"]:
            for k in ("date", "budget_micros", "spend_micros", "pct", "imps"):
                check(k in day, f"{x['id']} day: {k} missing")
    capped = [x for x in camps.values() if x["freq"]]
    check(len(capped) >= 1 and all(x["freq"]["pairs"] > 0 for x in capped), capped)
