"""Numbers of the demo report, from the files a run leaves in its report
directory (beat-exsim's exsim.json, exsim-timeline.jsonl, events.jsonl,
campaigns.json; the poller's engine.jsonl) plus the engine's final state.
Pure computation: no network, no plotting (report.py and report_plot.py
do those). docs/demo.md explains every figure."""
import json, math, os

DAY_MS, HOUR_MS = 86400000.0, 3600000.0


def read_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line cut by a kill: skip it
    return out


def hourly_weights():
    """The actuator's --hourly-weights (same env twin), or None = uniform."""
    spec = os.environ.get("BEAT_ACTUATOR_HOURLY_WEIGHTS", "").strip()
    if not spec:
        return None
    w = [float(x) for x in spec.split(",")]
    return w if len(w) == 24 and sum(w) > 0 else None


def plan_frac(start, end, t, weights=None):
    """Planned share of the budget spent by t: uniform over the flight, or
    the actuator's hourly weights (stretched over flights shorter than a
    day, as actuator/pacer.c does)."""
    if end <= start or t <= start:
        return 0.0
    if t >= end:
        return 1.0
    if not weights:
        return (t - start) / (end - start)
    total = sum(weights)

    def cum_daily(x):
        days = math.floor(x / DAY_MS)
        in_day = (x - days * DAY_MS) / HOUR_MS
        h = min(int(in_day), 23)
        return days * total + sum(weights[:h]) + (in_day - h) * weights[h]

    if end - start >= DAY_MS:
        w0, w1 = cum_daily(start), cum_daily(end)
        return min(max((cum_daily(t) - w0) / (w1 - w0), 0.0), 1.0)
    x = 24.0 * (t - start) / (end - start)
    h = min(int(x), 23)
    return min(max((sum(weights[:h]) + (x - h) * weights[h]) / total, 0.0), 1.0)


def spend_curves(timeline, camps):
    """Per campaign: [(ts, cumulative billed micros)] from the per-second
    timeline of the simulator (what it actually sent as bills)."""
    out = {cid: [] for cid in camps}
    for row in timeline:
        for cid in camps:
            v = row.get("campaigns", {}).get(cid)
            out[cid].append((row["ts"], v[1] if v else 0))
    return out


def mad_pct(curve, c, weights):
    """Mean |cumulative spend − plan| over the flight, % of budget."""
    pts = [(t, s) for t, s in curve if c["start_ms"] <= t <= c["end_ms"] + 1000]
    if not pts:
        return None
    b = c["budget_micros"]
    dev = [abs(s - b * plan_frac(c["start_ms"], c["end_ms"], t, weights)) for t, s in pts]
    return 100.0 * sum(dev) / len(dev) / b


def auc_series(engine_rows, bayes):
    """Model AUC (checkpoint header, via /v1/versions) sampled at the end of
    each Bayes window, and the ratio."""
    model = [(r["ts"], r["versions"].get("model_auc")) for r in engine_rows
             if r.get("versions") and r["versions"].get("model_auc") is not None]
    out = []
    for w in bayes.get("windows", []):
        m = [a for t, a in model if t <= w["t1_ms"]]
        ma = m[-1] if m else None
        b = w.get("auc")
        out.append({"t0_ms": w["t0_ms"], "t1_ms": w["t1_ms"], "bayes_auc": b, "model_auc": ma,
                    "ratio": (ma / b) if (ma is not None and b) else None,
                    "n": w.get("n"), "clicks": w.get("clicks")})
    return out, model


def first_price(sim):
    """First-price wins: what was paid against the value bid before
    shading (inference's X-Beat-Explain v=; the bid when not told)."""
    fp = dict(sim.get("first_price") or {})
    if fp:
        fp["paid_vs_value"] = (fp["paid_micros"] / fp["value_micros"]
                               if fp.get("value_micros") else None)
    return fp


def summarize(out_dir, engine):
    sim = json.load(open(os.path.join(out_dir, "exsim.json")))
    live = json.load(open(os.path.join(out_dir, "campaigns.json")))
    camps = {c["id"]: c for c in live["campaigns"]}
    timeline = read_jsonl(os.path.join(out_dir, "exsim-timeline.jsonl"))
    engine_rows = read_jsonl(os.path.join(out_dir, "engine.jsonl"))
    events = read_jsonl(os.path.join(out_dir, "events.jsonl"))
    weights = hourly_weights()
    curves = spend_curves(timeline, camps)
    oracle = sim.get("oracle", {}).get("campaigns", {})
    state = engine.get("state", {})
    eng_spend = state.get("private", {}).get("spend", {})

    rows = []
    for cid, c in sorted(camps.items()):
        s = sim["campaigns"].get(cid, {})
        o = oracle.get(cid, {})
        spend = s.get("spend_cpm_micros", 0) / 1000.0
        b = c["budget_micros"]
        clicks, exp_clicks = s.get("clicks", 0), s.get("exp_clicks", 0.0)
        oc = o.get("clicks")
        po = o.get("pctr_oracle", {})
        pc = po.get("clicks")
        fp_paid, fp_value = s.get("fp_paid_micros", 0), s.get("fp_value_micros", 0)
        rows.append({
            "id": cid, "budget_micros": b, "spend_micros": round(spend),
            "spend_cpm_micros": s.get("spend_cpm_micros", 0),
            "utilisation_pct": 100.0 * spend / b, "overspend_pct": max(0.0, 100.0 * (spend - b) / b),
            "mad_pct": mad_pct(curves[cid], c, weights),
            "bids": s.get("bids", 0), "wins": s.get("wins", 0), "clicks": clicks,
            "exp_clicks": exp_clicks,
            "ecpc": (spend / 1e6 / clicks) if clicks else None,
            "oracle_clicks": oc, "oracle_spend_micros": o.get("spend_micros"),
            "oracle_eligible": o.get("eligible"),
            "clicks_vs_oracle": (exp_clicks / oc) if oc else None,
            "real_clicks_vs_oracle": (clicks / oc) if oc else None,
            "oracle_fp_wins": o.get("fp_wins"), "oracle_fp_spend_micros": o.get("fp_spend_micros"),
            "pctr_oracle_clicks": pc, "pctr_oracle_pctr_sum": po.get("pctr_sum"),
            "pctr_oracle_spend_micros": po.get("spend_micros"),
            "pctr_oracle_eligible": po.get("eligible"),
            "clicks_vs_pctr_oracle": (exp_clicks / pc) if pc else None,
            "pctr_oracle_vs_oracle": (pc / oc) if pc is not None and oc else None,
            "engine_pctr_sum": o.get("engine_pctr_sum"),
            "fp_wins": s.get("fp_wins", 0), "fp_paid_micros": fp_paid,
            "fp_value_micros": fp_value, "fp_saved_micros": fp_value - fp_paid,
            "fp_paid_vs_value": (fp_paid / fp_value) if fp_value else None,
            "engine_spend_micros": eng_spend.get(cid),
            "multiplier": state.get("campaigns", {}).get(cid, {}).get("multiplier"),
            "paused": state.get("campaigns", {}).get(cid, {}).get("paused"),
            "start_ms": c["start_ms"], "end_ms": c["end_ms"]})

    bayes = sim.get("bayes_auc", {})
    series, model = auc_series(engine_rows, bayes)
    versions, before = engine.get("versions", {}), engine.get("before", {})
    final_auc = versions.get("model_auc")
    half = [x["ratio"] for x in series[len(series) // 2:] if x["ratio"] is not None]
    # Where learning has got to: the last quarter of the windows (the model
    # and the Bayes figure on the same stretch of traffic, unlike the
    # end-of-run model AUC over the whole run's Bayes AUC).
    quarter = [x["ratio"] for x in series[len(series) * 3 // 4:] if x["ratio"] is not None]
    asked = sim["requests"] + sim["skipped"]
    in_time = sim["answered"]["200"] + sim["answered"]["204"]
    bill_sum = sum(e["price_cpm_micros"] for e in events if e.get("ev") == "bill")
    summary = {
        "run": {"elapsed_s": sim["elapsed_s"], "requests": sim["requests"],
                "skipped": sim["skipped"], "answered_in_time": in_time,
                "in_time_pct": 100.0 * in_time / max(asked, 1),
                "timeouts": sim["timeouts"], "errors": sim["errors"], "retries": sim["retries"],
                "sim_stalled": sim.get("sim_stalled", 0),
                "latency_ms": sim["latency_ms"], "bids": sim["bids"], "wins": sim["wins"],
                "clicks": sim["clicks"], "spend_micros": sim["spend_micros"],
                "spend_cpm_micros": sim["spend_cpm_micros"], "by_format": sim.get("by_format"),
                "filtered_bids": sim.get("filtered_bids"), "deal_bids": sim.get("deal_bids"),
                "notice_dupes": sim.get("notice_dupes"), "notices": sim.get("notices")},
        "raw_events": {"bills": sum(1 for e in events if e.get("ev") == "bill"),
                       "bill_cpm_micros": bill_sum,
                       "clicks": sum(1 for e in events if e.get("ev") == "click")},
        "campaigns": rows,
        "totals": {"budget_micros": sum(r["budget_micros"] for r in rows),
                   "spend_micros": round(sum(r["spend_cpm_micros"] for r in rows) / 1000.0),
                   "clicks": sum(r["clicks"] for r in rows),
                   "exp_clicks": sum(r["exp_clicks"] for r in rows),
                   "oracle_clicks": sum(r["oracle_clicks"] or 0 for r in rows),
                   "pctr_oracle_clicks": sum(r["pctr_oracle_clicks"] or 0 for r in rows)},
        "first_price": first_price(sim),
        "explain": sim.get("explain"),
        "oracle_explained": sim.get("oracle", {}).get("explained"),
        "auc": {"model_final": final_auc, "bayes_overall": bayes.get("overall"),
                "ratio_final": (final_auc / bayes["overall"])
                if final_auc is not None and bayes.get("overall") else None,
                "ratio_mean_second_half": (sum(half) / len(half)) if half else None,
                "ratio_mean_last_quarter": (sum(quarter) / len(quarter)) if quarter else None,
                "series": series, "model_samples_seen": versions.get("model_samples_seen")},
        "versions": {"before": before, "after": versions},
        "plan": "hourly weights" if weights else "uniform over the flight",
    }
    t = summary["totals"]
    t["clicks_vs_oracle"] = t["exp_clicks"] / t["oracle_clicks"] if t["oracle_clicks"] else None
    t["clicks_vs_pctr_oracle"] = (t["exp_clicks"] / t["pctr_oracle_clicks"]
                                  if t["pctr_oracle_clicks"] else None)
    t["pctr_oracle_vs_oracle"] = (t["pctr_oracle_clicks"] / t["oracle_clicks"]
                                  if t["oracle_clicks"] else None)
    ratios = [r["clicks_vs_pctr_oracle"] for r in rows if r["clicks_vs_pctr_oracle"] is not None]
    t["worst_clicks_vs_pctr_oracle"] = min(ratios) if ratios else None
    problems = [k for k in ("bids", "wins", "spend_micros", "clicks") if not sim.get(k)]
    if versions.get("state", 0) <= before.get("state", 0):
        problems.append("state version did not advance")
    if versions.get("model", 0) <= before.get("model", 0):
        problems.append("model version did not advance")
    summary["problems"] = problems
    return summary


def _f(x, fmt="{:.1f}", none="–"):
    return none if x is None else fmt.format(x)


def _money(m):
    return "–" if m is None else f"{m / 1e6:,.2f}"


def markdown(s):
    r, a, t = s["run"], s["auc"], s["totals"]
    lat = r["latency_ms"]
    L = ["# BEAT demo report", ""]
    L.append(f"Exchange simulator: {r['requests']:,} requests in {r['elapsed_s']:.0f} s "
             f"({r['requests'] / max(r['elapsed_s'], 1):.0f}/s), {r['bids']:,} bids, "
             f"{r['wins']:,} wins, {r['clicks']:,} clicks, billed ${_money(r['spend_micros'])}. "
             f"Answered in time {r['in_time_pct']:.2f}% ({r['timeouts']} later than tmax, "
             f"{r['errors']} errors, {r['skipped']} skipped, {r['retries']} retried on another "
             f"node); bid latency seen by the exchange p50 {lat['p50']:.2f} ms, "
             f"p99 {lat['p99']:.2f} ms.")
    if r.get("sim_stalled"):
        L.append("")
        L.append(f"{r['sim_stalled']:,} requests were not sent at all: the simulator itself was "
                 "not scheduled for longer than tmax (an overloaded machine); they are not "
                 "counted against the engine.")
    L.append("")
    L.append(f"## Pacing and outcome per campaign (plan: {s['plan']})")
    L.append("")
    L.append("| campaign | budget $ | billed $ | used % | over % | MAD % | wins | clicks | "
             "eCPC $ | oracle clicks | clicks ÷ oracle | clicks ÷ pCTR-oracle | "
             "engine spend $ | multiplier |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in s["campaigns"]:
        L.append(f"| {c['id']} | {_money(c['budget_micros'])} | {_money(c['spend_micros'])} | "
                 f"{c['utilisation_pct']:.1f} | {c['overspend_pct']:.2f} | {_f(c['mad_pct'])} | "
                 f"{c['wins']:,} | {c['clicks']:,} | {_f(c['ecpc'], '{:.3f}')} | "
                 f"{_f(c['oracle_clicks'], '{:.0f}')} | {_f(c['clicks_vs_oracle'], '{:.2f}')} | "
                 f"{_f(c['clicks_vs_pctr_oracle'], '{:.2f}')} | "
                 f"{_money(c['engine_spend_micros'])} | {_f(c['multiplier'], '{:.3f}')} |")
    L.append(f"| **all** | {_money(t['budget_micros'])} | {_money(t['spend_micros'])} | "
             f"{100.0 * t['spend_micros'] / max(t['budget_micros'], 1):.1f} | | | | "
             f"{t['clicks']:,} | | {t['oracle_clicks']:.0f} | "
             f"{_f(t['clicks_vs_oracle'], '{:.2f}')} | "
             f"{_f(t['clicks_vs_pctr_oracle'], '{:.2f}')} | | |")
    L.append("")
    L.append("clicks ÷ oracle compares expected clicks (Σ true CTR over the impressions won) "
             "with the oracle's; realised clicks are the sampled ones.")
    L.append("")
    L.append(f"**Against the oracles**: clicks ÷ oracle {_f(t['clicks_vs_oracle'], '{:.3f}')} "
             f"(a bidder that knows the true CTR, first-price bids shaded); clicks ÷ "
             f"pCTR-oracle {_f(t['clicks_vs_pctr_oracle'], '{:.3f}')} (the same bidder on the "
             f"engine's own pCTRs: what pacing and pricing cost; worst campaign "
             f"{_f(t['worst_clicks_vs_pctr_oracle'], '{:.3f}')}); pCTR-oracle ÷ oracle "
             f"{_f(t['pctr_oracle_vs_oracle'], '{:.3f}')} (what the CTR model costs). "
             f"{_f(s.get('oracle_explained'), '{:,}')} auctions carried the engine's pCTRs.")
    fp = s.get("first_price") or {}
    if fp.get("wins"):
        L.append("")
        L.append(f"**First price**: {fp['wins']:,} wins, paid ${_money(fp['paid_micros'])} for a "
                 f"value bid of ${_money(fp['value_micros'])} (paid ÷ value "
                 f"{_f(fp.get('paid_vs_value'), '{:.3f}')}); shading saved "
                 f"${_money(fp['saved_micros'])}.")
    L.append("")
    L.append("## Model quality")
    L.append("")
    L.append(f"Model AUC at the end (progressive validation, checkpoint header) "
             f"{_f(a['model_final'], '{:.4f}')}; Bayes AUC of the true CTR on the impressions "
             f"won {_f(a['bayes_overall'], '{:.4f}')}; ratio {_f(a['ratio_final'], '{:.3f}')} "
             f"(per window, model ÷ Bayes on the same traffic: mean over the second half "
             f"of the run {_f(a['ratio_mean_second_half'], '{:.3f}')}, over the last "
             f"quarter {_f(a.get('ratio_mean_last_quarter'), '{:.3f}')}); "
             f"{_f(a['model_samples_seen'], '{:,}')} samples seen.")
    L.append("")
    L.append("| window end | impressions | clicks | Bayes AUC | model AUC | ratio |")
    L.append("|---|---:|---:|---:|---:|---:|")
    t0 = s["campaigns"][0]["start_ms"] if s["campaigns"] else 0
    for w in a["series"]:
        L.append(f"| +{(w['t1_ms'] - t0) / 1000:.0f} s | {w['n']} | {w['clicks']} | "
                 f"{_f(w['bayes_auc'], '{:.3f}')} | {_f(w['model_auc'], '{:.3f}')} | "
                 f"{_f(w['ratio'], '{:.3f}')} |")
    v = s["versions"]
    L.append("")
    L.append(f"Versions during the run: pacing state {v['before'].get('state')} → "
             f"{v['after'].get('state')} ({v['after'].get('state_actuator')}), model "
             f"{v['before'].get('model')} → {v['after'].get('model')} "
             f"({v['after'].get('model_trainer')}), campaigns {v['after'].get('campaigns')}.")
    if s.get("plots"):
        L.append("")
        L.append("## Plots")
        L.append("")
        for p in s["plots"]:
            L.append(f"![{p}]({p})")
    if s["problems"]:
        L.append("")
        L.append(f"**The run is not healthy**: {', '.join(s['problems'])}.")
    return "\n".join(L) + "\n"
