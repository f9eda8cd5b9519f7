"""The "Conversions" section of the demo report (docs/demo.md): per
campaign, the conversions the engine attributed (datastream's aggregates,
"convs" and "conv_value_micros", summed over every instance and bucket),
the simulator's ground truth (the conversions its users made, each fired
once at the receiver's /conv with the token of the click it came through:
exsim.json "convs" per campaign), the CPA on the billed spend, and whether
attributed and true counts agree within 5 % or their statistical noise
(two standard deviations of a Poisson count), whichever is larger. The
engine never sees the simulator's conversion rates: it counts what /conv
tells it.
"""
import json, math, urllib.request

WITHIN = 0.05


def engine_convs(ds_urls, timeout=3):
    """{campaign: [convs, value micros]} over every datastream's closed
    buckets, and whether each answered from its first bucket (a restarted
    instance has lost the buckets before its restart: then incomplete)."""
    tot, complete = {}, True
    for url in [u for u in ds_urls.split(",") if u]:
        after, first = 0, None
        try:
            while True:
                with urllib.request.urlopen(f"{url.rstrip('/')}/v1/aggregates?after={after}",
                                            timeout=timeout) as r:
                    d = json.loads(r.read())
                if first is None:
                    first = d.get("first_seq", 1)
                    complete &= first <= 1
                for b in d["buckets"]:
                    after = b["seq"]
                    for c, row in b["campaigns"].items():
                        t = tot.setdefault(c, [0, 0])
                        t[0] += row.get("convs", 0)
                        t[1] += row.get("conv_value_micros", 0)
                if not d["buckets"] or after >= d["last_seq"]:
                    break
        except (OSError, ValueError, KeyError):
            complete = False
    return tot, complete


def tolerance(n):
    """Relative tolerance for a count of n: 5 %, or two Poisson sigmas."""
    return max(WITHIN, 2.0 / math.sqrt(n)) if n > 0 else None


def grade(sim, rows, engine, complete):
    out, tot_true, tot_attr, tot_spend = [], 0, 0, 0
    for r in rows:
        s = sim.get("campaigns", {}).get(r["id"], {})
        true, true_val = s.get("convs", 0), s.get("conv_value_micros", 0)
        attr, attr_val = engine.get(r["id"], [0, 0])
        spend = r["spend_micros"]
        tol = tolerance(true)
        ratio = attr / true if true else None
        out.append({"id": r["id"], "clicks": r["clicks"], "true_convs": true,
                    "true_value_micros": true_val, "convs": attr, "value_micros": attr_val,
                    "cvr": attr / r["clicks"] if r["clicks"] else None,
                    "cpa_micros": round(spend / attr) if attr else None,
                    "true_cpa_micros": round(spend / true) if true else None,
                    "ratio": ratio, "tolerance": tol,
                    "within": None if ratio is None else abs(ratio - 1) <= tol})
        tot_true += true
        tot_attr += attr
        tot_spend += spend
    tol = tolerance(tot_true)
    ratio = tot_attr / tot_true if tot_true else None
    conv = sim.get("convs", {})
    return {"campaigns": out,
            "totals": {"true_convs": tot_true, "convs": tot_attr, "ratio": ratio,
                       "tolerance": tol,
                       "within": None if ratio is None else abs(ratio - 1) <= tol,
                       "cpa_micros": round(tot_spend / tot_attr) if tot_attr else None},
            "decided": conv.get("decided"), "no_token": conv.get("no_token"),
            "conv_calls": sim.get("notices", {}).get("conv"),
            "engine_complete": complete}


def _m(x):
    return "–" if x is None else f"{x / 1e6:,.2f}"


def _f(x, fmt):
    return "–" if x is None else fmt.format(x)


def markdown(g):
    t = g["totals"]
    L = ["", "## Conversions", "",
         "| campaign | clicks | attributed | true | attributed ÷ true | tolerance | "
         "conv rate % | CPA $ | true CPA $ | value $ |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in g["campaigns"]:
        mark = "" if c["within"] in (None, True) else " **out**"
        L.append(f"| {c['id']} | {c['clicks']:,} | {c['convs']:,} | {c['true_convs']:,} | "
                 f"{_f(c['ratio'], '{:.3f}')}{mark} | ±{_f(c['tolerance'], '{:.1%}')} | "
                 f"{_f(c['cvr'] and 100 * c['cvr'], '{:.1f}')} | {_m(c['cpa_micros'])} | "
                 f"{_m(c['true_cpa_micros'])} | {_m(c['value_micros'])} |")
    L.append(f"| **all** | | {t['convs']:,} | {t['true_convs']:,} | "
             f"{_f(t['ratio'], '{:.3f}')} | ±{_f(t['tolerance'], '{:.1%}')} | | "
             f"{_m(t['cpa_micros'])} | | |")
    L.append("")
    verdict = ("no conversions to compare" if t["within"] is None else
               "within tolerance" if t["within"] else "**outside tolerance**")
    calls = g.get("conv_calls") or {}
    L.append(f"Attributed (datastream) vs true (the simulator's users): {t['convs']:,} vs "
             f"{t['true_convs']:,}, {verdict}. The simulator decided {g.get('decided') or 0:,} "
             f"converting clicks; {g.get('no_token') or 0:,} got no token back; /conv calls "
             f"sent {calls.get('sent', 0):,}, answered {calls.get('ok', 0):,}, failed "
             f"{calls.get('failed', 0):,}."
             + ("" if g["engine_complete"] else
                " A datastream was restarted or did not answer: its earlier buckets are "
                "missing from the attributed counts."))
    return "\n".join(L) + "\n"
