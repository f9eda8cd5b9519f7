"""Hourly reports (docs/reports.md) on a whole engine under beatctl with
simulated exchange load and two datastreams:
  - GET /v1/reports answers the same from either datastream (they share
    the store directory), in JSON and CSV (format=csv or Accept: text/csv);
  - per campaign its spend equals the spend ledger the supervisor settles
    leases with, its wins, clicks and spend equal what the exchange
    simulator saw (when no win/bill/click notice was lost), its conversions
    the simulator's (when no conversion call was lost), and its bids, wins,
    impressions, clicks, conversions and opportunities equal the
    datastreams' own aggregates (summed over every bucket since start);
  - after kill -9 of everything (`beatctl crash`) and `beatctl up` on the
    same run directory, GET /v1/reports answers exactly what it did before:
    nothing counted is lost, nothing is counted twice;
  - bad queries get 400 with a reason;
  - kill -9 of everything in the middle of the load: once the engine is
    back, per campaign the report's wins and spend are at least what the
    exchange simulator had seen 2 s before the kill (its timeline has 1 s
    steps: "at most the last second" plus one step) and never more than it
    saw in all, and the spend equals the spend ledger."""
import contextlib, csv, io, json, os, tempfile, time

import recovery
from beatlib import Engine, check, get_json, http, pid_gone, wait_for

VALS = ("opportunities", "bids", "wins", "spend_micros", "impressions", "clicks", "conversions",
        "conv_value_micros")


def reports(e, name, query="group_by=campaign"):
    return get_json(e.url(name, "/v1/reports?" + query))


def by_campaign(rep):
    return {r["campaign"]: r for r in rep["rows"]}


def aggregates(e):
    """Per campaign, every closed bucket of every datastream summed."""
    out = {}
    for n in e.names():
        if not n.startswith("datastream-"):
            continue
        after = 0
        while True:
            a = get_json(e.url(n, f"/v1/aggregates?after={after}"))
            for b in a["buckets"]:
                for c, v in b["campaigns"].items():
                    t = out.setdefault(c, {k: 0 for k in VALS})
                    for k, src in (("opportunities", "opps"), ("bids", "bids"),
                                   ("conversions", "convs"), ("wins", "wins"),
                                   ("impressions", "imps"), ("clicks", "clicks"),
                                   ("spend_micros", "spend_micros"),
                                   ("conv_value_micros", "conv_value_micros")):
                        t[k] += v.get(src, 0)
            if not a["buckets"] or a["last_seq"] <= after:
                break
            after = a["buckets"][-1]["seq"]
            if after >= a["last_seq"]:
                break
    return out


def settled_reports(e, timeout=40.0, stable=3.0):
    """The report once it stopped changing for `stable` s (load stopped,
    the last notices through the pipeline) while every partition is held."""
    last, t_stable, rep = None, time.monotonic(), None
    deadline = time.monotonic() + timeout
    parts = int(os.environ.get("BEAT_KAFKA_DEV_PARTITIONS", "4"))
    while time.monotonic() < deadline:
        try:
            rep = reports(e, "datastream-1")
            held = recovery.partitions_held(e)
        except Exception:  # noqa: BLE001 - retried until the deadline
            time.sleep(0.25)
            continue
        if rep["rows"] != last or held < parts:
            last, t_stable = rep["rows"], time.monotonic()
        elif time.monotonic() - t_stable >= stable:
            return rep
        time.sleep(0.25)
    raise AssertionError(f"reports never settled: {rep}")


def crash(e):
    """kill -9 of the runner, the dev broker and every daemon at one
    instant (`beatctl crash`); returns what `up_again` needs."""
    env = e.shared_env()
    pids = [e.pid(n) for n in e.names()]
    e.ctl("crash")
    wait_for(lambda: all(pid_gone(p) for p in pids if p), 10, what="everything dead")
    return env


def up_again(e, env):
    """`beatctl up` on the same run dir, with the same secrets."""
    for k in ("BEAT_NOTICE_SECRET", "BEAT_ADMIN_TOKEN"):
        e.env[k] = env[k]
    e.up()
    wait_for(lambda: all(e.health(n).get("ready") for n in e.names()), 60,
             what="every daemon ready again")


@contextlib.contextmanager
def engine_under_load(prefix):
    """A whole engine (one inference, two datastreams) in a fresh run
    directory, every daemon ready and the exchange simulator's load already
    spending: yields (engine, sim)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    with Engine(os.path.join(tmp, "run"), campaigns=recovery.campaigns_file(tmp),
                n_inference=1, n_datastream=2, env=dict(recovery.FAST)) as e:
        wait_for(lambda: all(e.health(n).get("ready") for n in e.names()), 60,
                 what="every daemon ready")
        sim = recovery.Sim(e, tmp, "1")
        wait_for(lambda: sum(recovery.spend(e).values()) > 0, 30, what="spend > 0")
        yield e, sim


def test_reports_equal_counted_totals_after_kill9_of_everything():
    with engine_under_load("beat-reports-") as (e, sim):
        time.sleep(5)  # some load (nothing to poll: the load is the point)
        summary = sim.stop()
        led, _ = recovery.settle_counted(e)
        rep = settled_reports(e)
        rows = by_campaign(rep)
        print(f"report: {json.dumps(rows, sort_keys=True)}")
        check(rows and sum(r["wins"] for r in rows.values()) > 0, f"no wins reported: {rep}")
        check(rep["partitions"] >= 1 and len(rep["store"]) == 32, f"store fields: {rep}")
        # Either datastream answers for every partition file.
        check(reports(e, "datastream-2")["rows"] == rep["rows"], "datastreams disagree")

        # The spend ledger (what leases are settled with), per campaign:
        # the same CPM sums, each rounded down to micros.
        for c, v in led.items():
            got = rows.get(c, {}).get("spend_micros", 0)
            check(abs(got - v) <= 4, f"{c}: report spend {got} != ledger {v}")
        # The exchange simulator's own figures when nothing was lost.
        lost = {k: v["failed"] + v["dropped"] for k, v in summary["notices"].items()}
        for c, v in summary.get("campaigns", {}).items():
            r = rows.get(c, {})
            if lost.get("win", 0) + lost.get("bill", 0) == 0:
                check(r.get("spend_cpm_micros", 0) == v["spend_cpm_micros"],
                      f"{c}: spend {r.get('spend_cpm_micros')} CPM != exsim "
                      f"{v['spend_cpm_micros']}")
                check(r.get("wins", 0) == v["wins"], f"{c}: wins {r.get('wins')} != exsim "
                                                     f"{v['wins']}")
            if lost.get("click", 0) == 0:
                check(r.get("clicks", 0) == v["clicks"],
                      f"{c}: clicks {r.get('clicks')} != exsim {v['clicks']}")
            if lost.get("conv", 0) == 0:
                check(r.get("conversions", 0) == v.get("convs", 0),
                      f"{c}: conversions {r.get('conversions')} != exsim {v.get('convs')}")
                check(r.get("conv_value_micros", 0) == v.get("conv_value_micros", 0),
                      f"{c}: conversion value {r.get('conv_value_micros')} != exsim "
                      f"{v.get('conv_value_micros')}")
            # Derived: cost per conversion, null without one.
            cpa = r.get("spend_micros", 0) // r["conversions"] if r.get("conversions") else None
            check(r.get("cpa_micros") == cpa, f"{c}: cpa_micros {r.get('cpa_micros')} != {cpa}")
        # The datastreams' aggregates (nothing restarted yet).
        agg = aggregates(e)
        for c, a in agg.items():
            for k in ("opportunities", "bids", "wins", "impressions", "clicks", "conversions",
                      "conv_value_micros"):
                check(rows.get(c, {}).get(k, 0) == a[k],
                      f"{c}: {k} report {rows.get(c, {}).get(k, 0)} != aggregates {a[k]}")

        # CSV, by format= and by Accept; the same figures.
        for url, hdr in (("/v1/reports?group_by=campaign&format=csv", {}),
                         ("/v1/reports?group_by=campaign", {"Accept": "text/csv"})):
            st, h, body = http("GET", e.url("datastream-1", url), headers=hdr)
            check(st == 200 and h.get("Content-Type", "").startswith("text/csv"), f"{url} {st}")
            got = {r["campaign"]: r for r in csv.DictReader(io.StringIO(body.decode()))}
            for c, r in rows.items():
                for k in VALS:
                    check(int(got[c][k]) == r[k], f"CSV {c} {k}: {got[c][k]} != {r[k]}")
        # Hours: every row in an engine hour, grouped totals add up.
        hourly = reports(e, "datastream-1", "group_by=hour,campaign")
        check(all(r["hour_ms"] % 3600000 == 0 for r in hourly["rows"]), "hour starts")
        for k in VALS:
            check(sum(r[k] for r in hourly["rows"]) == sum(r[k] for r in rows.values()),
                  f"hourly {k} totals differ")
        for q, why in (("from=yesterday", "from:"), ("group_by=country", "group_by"),
                       ("format=xml", "format"), ("limit=1", "unknown parameter"),
                       ("from=2026-12-07T13&to=2026-12-07T12", "before")):
            st, _, body = http("GET", e.url("datastream-1", "/v1/reports?" + q))
            check(st == 400 and why.encode() in body, f"{q} -> {st} {body[:200]!r}")

        # kill -9 of every process (runner, broker, daemons), then up again.
        up_again(e, crash(e))
        after = settled_reports(e)
        check(after["rows"] == rep["rows"],
              f"after kill -9 of everything:\n{after['rows']}\n!=\n{rep['rows']}")
        led2, _ = recovery.settle_counted(e)
        for c, v in led2.items():
            check(abs(by_campaign(after).get(c, {}).get("spend_micros", 0) - v) <= 4,
                  f"{c}: ledger after restart {v}")
        check(not e.fatal_events(), f"fatal events: {e.fatal_events()}")


def test_reports_lose_at_most_the_last_seconds_when_everything_dies_under_load():
    with engine_under_load("beat-reports-load-") as (e, sim):
        time.sleep(4)  # load up to the kill (nothing to poll: the load is the point)
        t_kill = int(time.time() * 1000)
        env = crash(e)
        summary = sim.stop()  # no load after the kill: the bounds are the kill's
        lines = sim.lines()
        up_again(e, env)
        rep = settled_reports(e)
        rows = by_campaign(rep)
        led, _ = recovery.settle_counted(e)
        seen = {c: recovery.tl_value(lines, t_kill - 2000, recovery.camp_field(c, 0))
                for c in summary.get("campaigns", {})}
        spent = {c: recovery.tl_value(lines, t_kill - 2000, recovery.camp_field(c, 1))
                 for c in summary.get("campaigns", {})}
        print(f"wins 2 s before the kill {seen}, spend {spent}; report "
              f"{ {c: (r['wins'], r['spend_micros']) for c, r in rows.items()} }")
        check(sum(seen.values()) > 0, f"no wins before the kill: {seen}")
        for c, v in summary.get("campaigns", {}).items():
            r = rows.get(c, {})
            check(seen[c] <= r.get("wins", 0) <= v["wins"],
                  f"{c}: wins {r.get('wins', 0)} not in [{seen[c]}, {v['wins']}]")
            check(spent[c] - 2 <= r.get("spend_micros", 0) <= v["spend_micros"],
                  f"{c}: spend {r.get('spend_micros', 0)} not in [{spent[c]}, "
                  f"{v['spend_micros']}]")
        for c, v in led.items():
            check(abs(rows.get(c, {}).get("spend_micros", 0) - v) <= 4,
                  f"{c}: report spend {rows.get(c, {}).get('spend_micros', 0)} != ledger {v}")
        check(not e.fatal_events(), f"fatal events: {e.fatal_events()}")
