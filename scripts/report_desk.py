"""The "Trading desk" section of the demo report (make demo-desk,
docs/demo.md): per campaign per local day, spend against that day's budget;
impressions bought outside the campaign's schedule and outside its
targeting; the most impressions one user saw per cap window. Everything is
counted on the exchange side (beat-exsim's exsim.json "desk"): the exchange
knows each win's user, place and auction time; the engine is judged, not
asked. A day's budget follows the campaign's roll-over rule on the spend
the exchange billed (the engine's own reckoning uses what it committed, so
an unsettled bid at midnight may move a little between days).
"""
import datetime as dt
import json, os, re, zoneinfo

WITHIN = 1.0  # per cent: a day within this of its budget is on target
NODES = 2     # inference nodes: a cap may be exceeded by NODES - 1


def _zone(name):
    m = re.fullmatch(r"([+-])(\d\d):(\d\d)", name or "")
    if m:
        off = dt.timedelta(hours=int(m[2]), minutes=int(m[3]))
        return dt.timezone(off if m[1] == "+" else -off)
    return dt.timezone.utc if name in (None, "", "UTC") else zoneinfo.ZoneInfo(name)


def local_days(tz, start_ms, end_ms):
    """[(date string, first ms, end ms, whole local day's length ms)] of the
    local days the flight touches, clipped to it."""
    z, out = _zone(tz), []
    day = dt.datetime.fromtimestamp(start_ms / 1000, z).date()
    while True:
        s = int(dt.datetime.combine(day, dt.time(0), z).timestamp() * 1000)
        nxt = day + dt.timedelta(days=1)
        e = int(dt.datetime.combine(nxt, dt.time(0), z).timestamp() * 1000)
        if s >= end_ms:
            return out
        out.append((day.isoformat(), max(s, start_ms), min(e, end_ms), e - s, day.weekday()))
        day = nxt


DAYNAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def day_budgets(c, spent):
    """Each day's budget by the roll-over rule (docs/campaigns.md), given
    what each day spent (by date string)."""
    days = local_days(c.get("tz"), c["start_ms"], c["end_ms"])
    daily, rule = c["daily_budget_micros"], c.get("rollover", "none")
    plans = [daily * (e - s) / length for _, s, e, length, _ in days]
    out, carry, left_total = [], 0.0, c["budget_micros"]
    for i, (date, s, e, _, wd) in enumerate(days):
        share = 0.0
        if rule == "next_day":
            share = carry
        elif rule == "even":
            rest = sum(plans[i:])
            share = carry * plans[i] / rest if rest > 0 else 0.0
        budget = min(plans[i] + share, left_total)
        carry -= share
        got = spent.get(date, 0)
        if rule != "none":
            carry += max(0.0, budget - got)
        left_total -= got
        sched = c.get("schedule")
        closed = sched is not None and not sched.get(DAYNAMES[wd])
        out.append({"date": date, "budget_micros": int(budget), "closed": closed})
    return out


def grade(out_dir):
    """The desk section's data, or None when the run has no desk counts."""
    sim = json.load(open(os.path.join(out_dir, "exsim.json")))
    if "desk" not in sim:
        return None
    camps = {c["id"]: c for c in
             json.load(open(os.path.join(out_dir, "campaigns.json")))["campaigns"]}
    rows, problems = [], []
    chk = {"off_schedule_imps": 0, "off_target_imps": 0, "days_graded": 0,
           "days_within_1pct": 0, "days_over_1pct": 0, "worst_day_over_pct": None,
           "freq_over_by_max": 0, "freq_over_pairs": 0, "freq_dropped": sim["desk"]["freq_dropped"]}
    for d in sim["desk"]["campaigns"]:
        cid, c = d["id"], camps.get(d["id"], {})
        s = sim["campaigns"].get(cid, {})
        row = {"id": cid, "tz": d["tz"], "off_target_imps": d["off_target_imps"],
               "off_schedule_imps": s.get("off_schedule_imps", 0), "imps": s.get("imps", 0),
               "schedule": bool(c.get("schedule")), "freq": d.get("freq"), "days": []}
        chk["off_schedule_imps"] += row["off_schedule_imps"]
        chk["off_target_imps"] += row["off_target_imps"]
        spent = {x["date"]: x["spend_micros"] for x in d["days"]}
        imps = {x["date"]: x["imps"] for x in d["days"]}
        if c.get("daily_budget_micros"):
            row["rollover"] = c.get("rollover", "none")
            row["daily_budget_micros"] = c["daily_budget_micros"]
            for b in day_budgets(c, spent):
                got = spent.get(b["date"], 0)
                pct = 100.0 * got / b["budget_micros"] if b["budget_micros"] else None
                b.update(spend_micros=got, imps=imps.get(b["date"], 0),
                         pct=None if pct is None else round(pct, 2))
                row["days"].append(b)
                if pct is None or b["closed"]:
                    continue
                chk["days_graded"] += 1
                if pct > 100 + WITHIN:
                    chk["days_over_1pct"] += 1
                    problems.append(f"{cid} {b['date']}: spent {pct:.2f}% of the day's budget")
                elif pct >= 100 - WITHIN:
                    chk["days_within_1pct"] += 1
                w = chk["worst_day_over_pct"]
                chk["worst_day_over_pct"] = round(pct - 100, 2) if w is None else max(w, round(pct - 100, 2))
        f = d.get("freq")
        if f:
            f["over_by"] = max(0, f["most"] - f["max"])
            chk["freq_over_by_max"] = max(chk["freq_over_by_max"], f["over_by"])
            chk["freq_over_pairs"] += f["over_pairs"]
            if f["over_by"] > NODES - 1:
                problems.append(f"{cid}: a user saw {f['most']} impressions in one window "
                                f"(cap {f['max']})")
        rows.append(row)
    if chk["off_schedule_imps"]:
        problems.append(f"{chk['off_schedule_imps']} impressions outside a schedule")
    if chk["off_target_imps"]:
        problems.append(f"{chk['off_target_imps']} impressions outside a campaign's targeting")
    return {"campaigns": rows, "checks": chk, "problems": problems,
            "engine_start_ms": sim.get("engine_start_ms"), "engine_end_ms": sim.get("engine_end_ms")}


def _money(m):
    return f"{m / 1e6:,.2f}"


def markdown(g):
    c = g["checks"]
    L = ["", "## Trading desk", ""]
    L.append(f"Counted by the exchange. Outside schedules: {c['off_schedule_imps']} impressions; "
             f"outside targeting: {c['off_target_imps']}; days within {WITHIN:g}% of their "
             f"budget: {c['days_within_1pct']} of {c['days_graded']}, over it by more than "
             f"{WITHIN:g}%: {c['days_over_1pct']}; frequency: the most over a cap "
             f"{c['freq_over_by_max']} (target ≤ {NODES - 1} with {NODES} nodes), "
             f"{c['freq_over_pairs']} (user, window) pairs over.")
    L += ["", "| campaign | zone | rule | local day | budget $ | spent $ | % | imps |",
          "|---|---|---|---|---:|---:|---:|---:|"]
    for r in g["campaigns"]:
        for d in r["days"]:
            pct = "—" if d["pct"] is None else f"{d['pct']:.2f}"
            L.append(f"| {r['id']} | {r['tz']} | {r['rollover']} | {d['date']}"
                     f"{' (closed)' if d['closed'] else ''} | {_money(d['budget_micros'])} | "
                     f"{_money(d['spend_micros'])} | {pct} | {d['imps']} |")
    L += ["", "| campaign | imps | off schedule | off target | cap | most in a window | pairs over |",
          "|---|---:|---:|---:|---|---:|---:|"]
    for r in g["campaigns"]:
        f = r["freq"]
        cap = f"{f['max']} / {f['window_s']} s" if f else "—"
        L.append(f"| {r['id']} | {r['imps']} | {r['off_schedule_imps']} | {r['off_target_imps']} | "
                 f"{cap} | {f['most'] if f else '—'} | {f['over_pairs'] if f else '—'} |")
    if g["problems"]:
        L += ["", "Desk targets missed:", ""] + [f"- {p}" for p in g["problems"]]
    return "\n".join(L) + "\n"
