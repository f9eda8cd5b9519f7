"""The demo report's cross-check of the engine's hourly reports
(docs/reports.md "The demo's cross-check"): GET /v1/reports grouped by
campaign from a datastream, next to the exchange simulator's own counts
(exsim.json: wins, clicks, billed CPM, conversions) and the supervisor's spend ledger
(/v1/leases). Per campaign: "equal", "below" (only when notices were lost
on the way: refused or never sent) or "ABOVE" (double counting: a
failure). Standard library only."""
import json, os, urllib.request

FIELDS = (("wins", "wins", "wins"), ("clicks", "clicks", "clicks"),
          ("spend CPM µ", "spend_cpm_micros", "spend_cpm_micros"),
          ("conversions", "conversions", "convs"))


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def check(env, out_dir):
    """The comparison as a dict: source, campaigns {id: {field: [reports,
    exsim]}, ledger: [reports spend µ, ledger spend µ], verdict}}, lost
    notices, ok, problem (None or why)."""
    sim = json.load(open(os.path.join(out_dir, "exsim.json")))
    rep, src, err = None, None, None
    for url in env.get("BEAT_DATASTREAM_URLS", "").split(","):
        if not url:
            continue
        try:
            rep, src = _get(url.rstrip("/") + "/v1/reports?group_by=campaign"), url
            break
        except (OSError, ValueError) as e:
            err = f"{url}: {e}"
    if rep is None:
        return {"ok": False, "problem": f"GET /v1/reports failed ({err})", "campaigns": {}}
    try:
        leases = _get(env["BEAT_SUPERVISOR_URL"] + "/v1/leases").get("campaigns", {})
    except (OSError, ValueError, KeyError):
        leases = {}
    rows = {r["campaign"]: r for r in rep["rows"]}
    lost = {k: v.get("failed", 0) + v.get("dropped", 0)
            for k, v in sim.get("notices", {}).items()}
    camps, worst = {}, "equal"
    for cid in sorted(set(rows) | set(sim.get("campaigns", {}))):
        r, s = rows.get(cid, {}), sim.get("campaigns", {}).get(cid, {})
        c = {name: [r.get(rk, 0), s.get(sk, 0)] for name, rk, sk in FIELDS}
        if cid in leases:
            c["ledger spend µ"] = [r.get("spend_micros", 0), leases[cid].get("spend_micros", 0)]
        pairs = list(c.values())
        verdict = ("ABOVE" if any(a > b for a, b in pairs[:len(FIELDS)]) else
                   "equal" if all(a == b for a, b in pairs) else "below")
        # The ledger and the reports come from the same store: they agree
        # to rounding or something is wrong.
        if "ledger spend µ" in c and abs(c["ledger spend µ"][0] - c["ledger spend µ"][1]) > 4:
            verdict = "LEDGER DIFFERS"
        c["verdict"] = verdict
        camps[cid] = c
        if verdict != "equal" and worst in ("equal", "below"):
            worst = verdict
    lost_any = sum(lost.get(k, 0) for k in ("win", "bill", "click", "conv"))
    ok = worst == "equal" or (worst == "below" and lost_any > 0)
    problem = None if ok else (f"reports {worst} the exchange's counts" if worst != "below" else
                               "reports below the exchange's counts with no notice lost")
    return {"source": src, "store": rep.get("store"), "partitions": rep.get("partitions"),
            "campaigns": camps, "lost_notices": lost, "ok": ok, "problem": problem}


def markdown(x):
    L = ["", "## Reports endpoint cross-check", ""]
    if not x.get("campaigns") and x.get("problem"):
        return "\n".join(L + [f"**Failed**: {x['problem']}.", ""])
    L.append(f"`GET /v1/reports?group_by=campaign` from {x['source']} ({x['partitions']} "
             f"partition files) against the exchange simulator's counts and the supervisor's "
             f"spend ledger (reports / other):")
    L.append("")
    L.append("| campaign | wins | clicks | spend CPM µ | conversions | ledger spend µ "
             "| verdict |")
    L.append("|---|---:|---:|---:|---:|---:|---|")
    for cid, c in x["campaigns"].items():
        cell = [f"{a:,} / {b:,}" for a, b in
                (c[k] for k in ("wins", "clicks", "spend CPM µ", "conversions"))]
        led = c.get("ledger spend µ")
        cell.append(f"{led[0]:,} / {led[1]:,}" if led else "–")
        L.append(f"| {cid} | " + " | ".join(cell) + f" | {c['verdict']} |")
    L.append("")
    lost = {k: v for k, v in x["lost_notices"].items() if v}
    L.append(("**Cross-check passed**" if x["ok"] else f"**Cross-check failed**: {x['problem']}")
             + (f" (notices lost on the way: {lost})." if lost else
                " (no notice lost on the way: every figure must be equal)."))
    return "\n".join(L) + "\n"
