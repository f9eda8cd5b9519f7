"""One recovery scenario (recovery-tests/README.md): a whole engine (2
inference nodes, 2 datastreams, beatctl) under exchange-simulator load; one
component is disrupted (SIGKILL and held down, SIGSTOP, a graceful restart,
injected broker faults, everything killed at once, ...) for a while, then
released. Asserts:
  - no other process died (pids unchanged) or logged a fatal event;
  - every survivor's /healthz answered all through the scenario;
  - the exchange got answers in time (share >= BEAT_RECOVERY_IN_TIME_MIN)
    whenever a live inference node existed;
  - the victim recovered its state (actuator spend and controller state,
    trainer model, AUC and samples_seen, supervisor versions, inference
    versions) and, within a bound, new aggregates reached the actuator and
    a new state AND model version reached every inference node;
  - money, graded against what the simulated exchange charged (it bills
    every win whether or not our receiver heard the notice): for every
    campaign charged <= budget x 1.01; what the engine counted (the spend
    ledger the supervisor settles leases with, and the actuator's spend)
    never exceeds what was charged (at most once, replays included: no
    slack but integer rounding); spend never went back (no reset);
  - with a Money plan (long outages): budgets sized so that some campaigns
    run out during the outage and others have minutes left, and the ones
    with minutes left keep bidding through the first minute of a control
    plane outage (keep_bidding_s).
Appends one row to the report table (BEAT_RECOVERY_REPORT, default
run/recovery/report.md). Every wait is a poll with a deadline; the engine
and the simulator are stopped by PID even when a check fails."""
import json, os, signal, subprocess, tempfile, threading, time
from beatlib import BIN, ROOT, Engine, check, get_json, http, metric, pid_gone, wait_for
import beatlib

FAST = {"BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S": "1", "BEAT_ACTUATOR_TICK_MS": "300",
        # The join window must outlast the exchange's notice retries (exsim
        # resends a bill up to ~4.3 s after the auction): a retry arriving
        # after its auction left the window would be counted twice.
        "BEAT_DATASTREAM_BUCKET_MS": "300", "BEAT_DATASTREAM_JOIN_WINDOW_MS": "8000",
        # Short outages keep the old 30 s staleness stop, so the quick subset
        # also shows bidding resumes after a stale state (money is bounded by
        # leases either way; long outages use the default, MONEY_ENV).
        "BEAT_INFERENCE_MAX_STATE_AGE_MS": "30000"}
RATE = int(os.environ.get("BEAT_RECOVERY_RATE", "150"))
IN_TIME_MIN = float(os.environ.get("BEAT_RECOVERY_IN_TIME_MIN", "99.9"))
HEAL_S = float(os.environ.get("BEAT_RECOVERY_HEAL_S", "45"))  # the recovery bound
REPORT = os.environ.get("BEAT_RECOVERY_REPORT",
                        os.path.join(ROOT, "run", "recovery", "report.md"))
HEADER = ("| scenario | result | answered in time % | recovery s | state v before→after "
          "| model v before→after | max overspend % | charged ÷ budget (max) "
          "| counted ÷ charged | bid rate outage ÷ before | note |\n"
          "|---|---|---:|---:|---|---|---:|---:|---:|---:|---|\n")
# The engine counts spend in CPM micros and reports micros rounded down
# (the supervisor's /v1/leases, datastream's buckets carry the remainder);
# exsim's per-campaign CPM micros / 1000 is exact. So counted <= charged
# holds to the micro; this much is allowed per campaign for rounding.
ROUNDING_MICROS = 2
# What one campaign's pacer is asked to spend per second per request/s of
# load (micros): at 150 req/s, 25.5 k micros/s, which every example
# campaign reaches at this load with a multiplier within bounds (a plan
# rate the market cannot give would leave a "short" campaign with more than
# its minute of budget). The harness's knowledge, never the engine's.
PLAN_MICROS_PER_REQ = 170
UP_ALLOW_S = 30  # `beatctl up` and the first bids, inside a short flight
PRE_LOAD_S = 5   # without a Money plan: load this long before the outage at least


class Money:
    """Budgets for a long outage (recovery-tests/README.md "Money"). BEAT's
    pacer lands every campaign on its budget at its flight's end, so a
    campaign whose budget runs out during the outage is one whose flight
    (planned at PLAN_MICROS_PER_REQ x load) ends ends_in_s into it: the
    `short` ones. The others get an hour's flight and budget (tens of
    minutes left). The outage starts ends_in_s before the short flights
    end, at least warmup_s after the load. From exsim's timeline the
    harness measures each campaign's charge rate over the before_s before
    the outage and classes it by the budget it had left at its start: runs
    out during the outage (left / rate < the outage), or >= 3 minutes
    left; the scenario fails if either class is empty (the premise did not
    hold). keep_bidding_s > 0: the campaigns with >= 3 minutes left and
    >= 1 bid/s before must bid, together, at >= 50% of their prior rate in
    each 30 s of the outage's first keep_bidding_s, and each of them must
    still bid in each. exsim: extra beat-exsim arguments; env: engine
    environment on top of FAST."""

    def __init__(self, short=("acme-shoes", "initech-apps"), ends_in_s=60, warmup_s=45,
                 before_s=30, keep_bidding_s=0, exsim=(), env=None):
        self.short, self.ends_in_s, self.warmup_s = tuple(short), ends_in_s, warmup_s
        self.before_s, self.keep_bidding_s = before_s, keep_bidding_s
        self.exsim, self.env = list(exsim), dict(env or {})


# Long outages: inference keeps pacing on the last state for the
# documented default (money is bounded by leases, not by staleness).
MONEY_ENV = {"BEAT_INFERENCE_MAX_STATE_AGE_MS": "600000"}
# exsim for long runs: room for the replays and bills flushed at its end.
MONEY_EXSIM = ["--notice-queue=200000"]


def campaigns_file(tmp, money=None):
    """The campaigns the engine gets from `beatctl up --campaigns`: the
    examples with 20 M micros over 600 s each, or a Money plan's flights
    and budgets."""
    doc = json.load(open(os.path.join(ROOT, "docs", "examples", "campaigns.json")))
    plan = RATE * PLAN_MICROS_PER_REQ  # micros/s per campaign
    for c in doc["campaigns"]:
        if money is None:
            c["flight_s"], c["budget_micros"] = 600, 20_000_000
        elif c["id"] in money.short:
            c["flight_s"] = UP_ALLOW_S + money.warmup_s + money.ends_in_s
            c["budget_micros"] = plan * c["flight_s"]
        else:
            c["flight_s"] = 3600
            c["budget_micros"] = plan * 3600
    path = os.path.join(tmp, "campaigns.json")
    json.dump(doc, open(path, "w"))
    return path


def inf_names(e):
    return [n for n in e.names() if n.startswith("inference-")]


def versions(e):
    """(min state version, min model version) over the inference nodes."""
    hs = [e.health(n) for n in inf_names(e)]
    return min(h["state_version"] for h in hs), min(h["model_version"] for h in hs)


def state_latest(e):
    st, _, b = http("GET", e.url("supervisor", "/v1/state/latest"))
    return json.loads(b) if st == 200 else {}


def spend(e):
    """Spend per campaign as the actuator last reported it (state private)."""
    sp = state_latest(e).get("private", {}).get("spend", {})
    return sp if isinstance(sp, dict) else {}


def sup_versions(e):
    return get_json(e.url("supervisor", "/v1/versions"))


def metric_sum(e, prefix, name):
    """Sum of one metric over every daemon whose name starts with prefix."""
    total = 0.0
    for n in e.names():
        if n.startswith(prefix):
            v = metric(e.ports[n], name)
            total += v or 0.0
    return total


def leases(e):
    """The supervisor's budget accounts (docs/contracts.md "Budget
    leases"): per campaign budget, counted spend (the datastreams' spend
    ledger), released, allowed and committed, in micros."""
    return get_json(e.url("supervisor", "/v1/leases")).get("campaigns", {})


def row(cells):
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    new = not os.path.exists(REPORT)
    with open(REPORT, "a") as f:
        if new:
            f.write(HEADER)
        f.write("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |\n")
    print("  " + " | ".join(str(c) for c in cells), flush=True)


class Watch(threading.Thread):
    """Polls the /healthz of the watched daemons every 250 ms and remembers
    which ones did not answer 200 (with the first error). The scenario moves
    names in and out of the watched set around an outage. Also follows the
    spend in the supervisor's latest state and in its spend ledger
    (/v1/leases): neither may ever go back for any campaign (a reset
    budget), whoever wrote the state."""

    def __init__(self, e, names):
        super().__init__(daemon=True)
        self.e, self.names, self.silent = e, set(names), {}
        self.lock, self.done, self.rounds = threading.Lock(), threading.Event(), 0
        self.spend_max, self.spend_back = {}, []

    def watch(self, names):
        with self.lock:
            self.names = set(names)

    def run(self):
        while not self.done.wait(0.25):
            with self.lock:
                names = sorted(self.names)
            for n in names:
                try:
                    self.e.health(n)
                except Exception as exc:  # noqa: BLE001 - recorded, judged later
                    with self.lock:
                        if n in self.names:
                            self.silent.setdefault(n, f"{exc}")
            self.follow_spend()
            self.rounds += 1

    def follow_spend(self):
        try:
            sp = {f"state:{k}": v for k, v in spend(self.e).items()}
            sp.update({f"ledger:{k}": v.get("spend_micros", 0)
                       for k, v in leases(self.e).items()})
        except Exception:  # noqa: BLE001 - supervisor down: nothing to compare
            return
        for k, v in sp.items():
            if v < self.spend_max.get(k, 0) and len(self.spend_back) < 10:
                self.spend_back.append((k, self.spend_max[k], v))
            self.spend_max[k] = max(v, self.spend_max.get(k, 0))

    def stop(self):
        self.done.set()
        self.join(5)


class Sim:
    """beat-exsim load against every inference node; stop() returns its JSON
    summary. Several segments can be summed (see in_time)."""

    def __init__(self, e, tmp, tag, duration=1800, extra=()):
        self.summary = os.path.join(tmp, f"exsim-{tag}.json")
        self.timeline = os.path.join(tmp, f"exsim-{tag}-timeline.jsonl")
        self.t0, self.t1 = time.monotonic(), None
        self.wall0 = time.time()
        urls = e.shared_env()["BEAT_INFERENCE_URLS"]
        self.p = subprocess.Popen(
            [os.path.join(BIN, "beat-exsim"), "--inference", urls, f"--rate={RATE}",
             f"--duration={duration}", "--seed=7", "--tmax=100", "--http-timeout-ms=150",
             "--stats-every-s=1", f"--json={self.summary}", f"--timeline={self.timeline}",
             *extra], stdout=subprocess.DEVNULL, env=e.exsim_env(),
            stderr=open(os.path.join(tmp, f"exsim-{tag}.log"), "w"))

    def lines(self):
        """The per-second timeline so far (cumulative counters, wall ts)."""
        out = []
        try:
            with open(self.timeline) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # a line being written
        except OSError:
            pass
        return out

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)  # it writes its summary and exits
        self.p.wait(20)
        self.t1 = self.t1 or time.monotonic()
        return json.load(open(self.summary))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)


def in_time(summaries):
    asked = sum(s["requests"] + s["skipped"] for s in summaries)
    ok = sum(s["answered"]["200"] + s["answered"]["204"] for s in summaries)
    return 100.0 * ok / max(asked, 1)


def exsim_spend(summaries):
    """Charged per campaign, micros (exact: CPM micros / 1000)."""
    out = {}
    for s in summaries:
        for c, v in s.get("campaigns", {}).items():
            out[c] = out.get(c, 0) + v.get("spend_cpm_micros", 0) / 1000.0
    return out


# ---- the exsim timelines: cumulative figures at a wall-clock instant -------------

def tl_value(lines, ts_ms, get):
    """get(line) of the last timeline line at or before ts_ms (0 before the
    first: every counter starts at 0 with the run)."""
    v = 0
    for ln in lines:
        if ln["ts"] > ts_ms:
            break
        v = get(ln)
    return v


def camp_field(cid, k):
    """Per-campaign timeline field: 0 wins, 1 spend, 2 clicks, 3 bids, 4 bid micros."""
    return lambda ln: (ln.get("campaigns", {}).get(cid) or [0, 0, 0, 0, 0])[k]


def tl_delta(timelines, t0_ms, t1_ms, get):
    """How much a cumulative figure grew between two wall instants, summed
    over the load segments (each its own exsim and timeline)."""
    return sum(tl_value(ls, t1_ms, get) - tl_value(ls, t0_ms, get) for ls in timelines)


def tl_campaigns(timelines):
    out = set()
    for ls in timelines:
        for ln in ls:
            out.update(ln.get("campaigns", {}))
    return sorted(out)


class Ctx:
    """What a scenario's hooks can use: the engine, its temp dir, the
    snapshot taken just before the outage, free-form notes for the row."""

    def __init__(self, e, tmp, victims):
        self.e, self.tmp, self.victims = e, tmp, victims
        self.before, self.notes, self.sims, self.summaries = {}, [], [], []
        self.watch = None
        self.killed_all = False
        self.procs = []  # extra processes a hook started (killed by PID at the end)
        self.pids = {}   # every daemon's pid before the outage
        self.money = None      # the Money plan, if any
        self.classes = {}      # campaign -> "short" | "long" | "mid" (Money plans)
        self.wall = {}         # wall-clock ms of the outage's start and release

    def mark(self, ev, **kv):
        """Appends a wall-clock event to tmp/timeline.jsonl, to line the
        scenario's phases up with the daemons' and exsim's logs."""
        with open(os.path.join(self.tmp, "timeline.jsonl"), "a") as f:
            f.write(json.dumps({"ts": int(time.time() * 1000), "ev": ev, **kv}) + "\n")

    def spawn(self, tag, argv):
        """Starts a process with the engine's environment (what `source
        run/env` gives a shell), logging to tmp/<tag>.log; killed at the end."""
        env = dict(self.e.env)
        env.update(self.e.shared_env())
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(self.tmp, f"{tag}.log"), "w"))
        self.procs.append(p)
        return p


def snapshot(e):
    """Versions, spend and model figures of the whole engine right now."""
    return {"sup": sup_versions(e), "inf": {n: e.health(n) for n in inf_names(e)},
            "spend": spend(e), "state": state_latest(e),
            "ds_msgs": metric_sum(e, "datastream-", "beat_datastream_kafka_messages_total"),
            "delivered": metric_sum(e, "receiver", "beat_receiver_kafka_delivered_total"),
            "bids": {n: beatlib.metric_sum(e.ports[n], "beat_inference_bids_total") or 0
                     for n in inf_names(e)}}


def held_down(e, victims, down_s):
    """Measurement window, not synchronisation: the watcher checks the
    survivors while the victims stay down."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < down_s:
        for v in victims:
            check(not e.pid(v), f"{v} came back while held down")
        time.sleep(0.2)


# ---- outages: each returns when the victim is released -------------------------

def outage_kill(c, down_s):
    for v in c.victims:
        c.e.ctl("stop", v, "KILL")
    wait_for(lambda: not any(c.e.pid(v) for v in c.victims), 10, what="victims dead")
    held_down(c.e, c.victims, down_s)
    for v in c.victims:
        c.e.ctl("start", v)


def outage_restart_stop(c):
    for v in c.victims:
        c.e.ctl("stop", v, "TERM")
    wait_for(lambda: not any(c.e.pid(v) for v in c.victims), 20, what="victims stopped")


def outage_restart(c, down_s):
    """Graceful stop (SIGTERM), held down, started again."""
    outage_restart_stop(c)
    held_down(c.e, c.victims, down_s)
    for v in c.victims:
        c.e.ctl("start", v)


def outage_freeze(c, down_s):
    try:
        for v in c.victims:
            c.e.ctl("kill", v, "STOP")
        time.sleep(down_s)  # the freeze itself; the watcher measures meanwhile
    finally:  # never leave a stopped process behind, even on failure
        for v in c.victims:
            c.e.ctl("kill", v, "CONT", check=False)


def outage_all(c, down_s):
    """Power cut: the runner and every daemon (broker included) SIGKILLed
    at once (`beatctl crash`: one kill(2) on their process group), then
    `beatctl up` again on the same run dir (same secrets, same SQLite file)."""
    e = c.e
    c.summaries.append(c.sims[-1].stop())  # no live inference node from here on
    c.watch.watch([])
    env = e.shared_env()
    with open(os.path.join(e.run_dir, "beatctl.pid")) as f:
        runner = int(f.read().split()[0])
    pids = [e.pid(n) for n in e.names()]
    e.ctl("crash")
    c.killed_all = True
    c.notes.append("load paused while nothing ran")
    wait_for(lambda: all(pid_gone(p) for p in [runner] + pids), 10, what="everything dead")
    time.sleep(down_s)  # everything stays dead this long (nothing to poll)
    for k in ("BEAT_NOTICE_SECRET", "BEAT_ADMIN_TOKEN"):
        e.env[k] = env[k]
    e.up()


# ---- victim-specific recovery checks ------------------------------------------

def check_recovered(c, victim, after):
    e, b = c.e, c.before
    if victim == "supervisor" or c.killed_all:
        for k in ("campaigns", "state", "model"):
            check(after["sup"][k] >= b["sup"][k],
                  f"supervisor {k} version went back: {b['sup'][k]} → {after['sup'][k]}")
    restarted = set(n for n in c.victims if e.pid(n) != c.pids.get(n))
    if "actuator" in restarted:
        h = e.health("actuator")
        check(h.get("restore") == "restored", f"actuator did not restore: {h}")
        ev = [x for x in events(e, "actuator", c.t_outage) if x.get("ev") == "restored"]
        total = sum(b["spend"].values())
        if ev and "spend_micros" in ev[-1]:
            check(ev[-1]["spend_micros"] >= total,
                  f"actuator restored spend {ev[-1]['spend_micros']} < {total} before")
        keys = set(b["state"].get("private", {}))
        now = set(state_latest(e).get("private", {}))
        check(keys <= now, f"controller state lost keys: {sorted(keys - now)}")
    if victim == "lighttrainer" or c.killed_all:
        h = e.health("lighttrainer")
        check(h.get("restore") == "restored" or "lighttrainer" not in restarted,
              f"lighttrainer did not restore: {h}")
        s0, s1 = b["sup"].get("model_samples_seen", 0), after["sup"].get("model_samples_seen", 0)
        check(s1 >= s0, f"trainer samples_seen reset: {s0} → {s1}")
        check(after["sup"].get("model_auc") is not None, "no AUC in the new model")
    for n in inf_names(e):
        if victim == n or c.killed_all:
            h0, h1 = b["inf"][n], after["inf"][n]
            check(h1["has_model"] and h1["has_state"], f"{n} has no world: {h1}")
            check(h1["state_version"] >= h0["state_version"] and
                  h1["model_version"] >= h0["model_version"], f"{n} versions went back")


def events(e, name, since_mono):
    """Parsed log lines of a daemon written after a monotonic instant."""
    cut = int((time.time() - (time.monotonic() - since_mono)) * 1000)
    out = []
    try:
        text = e.log(name)
    except OSError:
        return out
    for line in text.splitlines():
        try:
            x = json.loads(line)
        except ValueError:
            continue
        if isinstance(x, dict) and x.get("ts", 0) >= cut:
            out.append(x)
    return out


def outage_none(c, down_s):
    time.sleep(down_s)  # the baseline: the same window with nothing disrupted


OUTAGES = {"kill": outage_kill, "freeze": outage_freeze, "restart": outage_restart,
           "all": outage_all, "none": outage_none}


def wait_outage_start(c):
    """Money plans: the outage starts ends_in_s before the short campaigns'
    flights end (their budgets with them), once the load has run long
    enough to measure a rate before it."""
    m, e = c.money, c.e
    camps = get_json(e.url("supervisor", "/v1/campaigns"))["campaigns"]
    ends = [x["end_ms"] for x in camps if x["id"] in m.short]
    check(ends, f"premise: no short campaign among {[x['id'] for x in camps]}")
    t_out = min(ends) / 1000.0 - m.ends_in_s
    load_s = t_out - c.sims[0].wall0
    check(load_s >= m.before_s + 5,
          f"premise: the outage would start {load_s:.0f} s into the load (< {m.before_s + 5} s): "
          f"`beatctl up` took longer than UP_ALLOW_S")
    while time.time() < t_out:  # the load runs meanwhile: a measurement window
        time.sleep(0.2)


def partitions_held(e):
    """Partitions the datastreams hold now, summed, counting only ready
    ones: during a consumer-group rebalance (seconds on the dev broker)
    nothing is consumed, so figures that stand still then are not settled."""
    n = 0
    for name in e.names():
        if name.startswith("datastream-"):
            h = e.health(name)
            n += h.get("assigned_partitions", 0) if h.get("ready") else 0
    return n


def settle_counted(e, timeout=40.0, stable=3.0):
    """What the engine counted once the load has stopped and the last
    notices have gone through the pipeline (unchanged for `stable` s while
    the datastreams hold every partition, at most `timeout` s): per
    campaign, the supervisor's spend ledger (what leases are settled with)
    and the actuator's spend (state private)."""
    led, act, last, t_stable = {}, {}, None, time.monotonic()
    deadline = time.monotonic() + timeout
    parts = int(os.environ.get("BEAT_KAFKA_DEV_PARTITIONS", "4"))
    while time.monotonic() < deadline:
        try:
            led = {k: v.get("spend_micros", 0) for k, v in leases(e).items()}
            act = dict(spend(e))
            held = partitions_held(e)
        except Exception:  # noqa: BLE001 - retried until the deadline
            time.sleep(0.25)
            continue
        cur = (sorted(led.items()), sorted(act.items()))
        if cur != last or held < parts:
            last, t_stable = cur, time.monotonic()
        elif time.monotonic() - t_stable >= stable:
            break
        time.sleep(0.25)
    return led, act


def money_figures(c, camps, timelines):
    """From the exsim timelines, per campaign: charge rate and bid rate in
    the before_s before the outage, budget left at its start (in seconds of
    that rate), bid rate during it; classes for Money plans. Returns
    (bid rate during ÷ before over all campaigns or None, per-campaign dict)."""
    t_out, t_rel = c.wall["outage"], c.wall["release"]
    before_s = c.money.before_s if c.money else 30
    if not timelines or not timelines[0]:
        return None, {}
    t_b0 = max(t_out - before_s * 1000, timelines[0][0]["ts"])
    span_b, span_d = (t_out - t_b0) / 1000.0, (t_rel - t_out) / 1000.0
    if span_b < 2 or span_d <= 0:
        return None, {}
    per = {}
    for cid in tl_campaigns(timelines):
        b = camps.get(cid, {}).get("budget_micros", 0)
        rate = tl_delta(timelines, t_b0, t_out, camp_field(cid, 1)) / span_b
        bids_b = tl_delta(timelines, t_b0, t_out, camp_field(cid, 3)) / span_b
        bids_d = tl_delta(timelines, t_out, t_rel, camp_field(cid, 3)) / span_d
        left = b - sum(tl_value(ls, t_out, camp_field(cid, 1)) for ls in timelines)
        left_s = left / rate if rate > 0 else float("inf")
        per[cid] = {"rate": rate, "bids_before": bids_b, "bids_during": bids_d,
                    "left_s": left_s,
                    "class": "short" if left_s < span_d else "long" if left_s >= 180 else "mid"}
    tot_b = tl_delta(timelines, t_b0, t_out, lambda ln: ln.get("bids", 0)) / span_b
    tot_d = tl_delta(timelines, t_out, t_rel, lambda ln: ln.get("bids", 0)) / span_d
    return (tot_d / tot_b if tot_b > 0 else None), per


def check_money_plan(c, per, timelines):
    """The premise of a Money plan (some campaigns run out during the
    outage, others have >= 3 minutes left) and, with keep_bidding_s, that
    those with minutes left kept bidding through the outage's first
    keep_bidding_s."""
    m = c.money
    short = sorted(k for k, v in per.items() if v["class"] == "short")
    long_ = sorted(k for k, v in per.items() if v["class"] == "long")
    mid = sorted(k for k, v in per.items() if v["class"] == "mid")
    c.classes = {k: v["class"] for k, v in per.items()}

    def ratio(k):
        v = per[k]
        return f"{v['bids_during'] / v['bids_before']:.2f}" if v["bids_before"] > 0 else "-"
    c.notes.append("runs out during the outage (budget left ÷ charge rate before; bid rate "
                   "outage ÷ before): " + (", ".join(
                       f"{k} +{per[k]['left_s']:.0f} s ×{ratio(k)}" for k in short) or "none") +
                   "; ≥ 3 min left: " + (", ".join(
                       f"{k} {per[k]['left_s'] / 60:.0f} min ×{ratio(k)}" for k in long_)
                       or "none") + ("; neither: " + ", ".join(
                           f"{k} +{per[k]['left_s']:.0f} s ×{ratio(k)}" for k in mid)
                           if mid else ""))
    check(short and long_, f"premise: a campaign running out during the outage ({short}) and "
                           f"one with >= 3 min left ({long_}) are both needed")
    if m.keep_bidding_s <= 0:
        return
    # Which of our campaigns wins an impression moves while the pacer is
    # frozen (the model keeps changing, the multipliers do not), so one
    # campaign's bid rate may halve while another's doubles: the rate that
    # says whether the engine keeps bidding for campaigns with budget is
    # theirs together; each of them must still bid in every window.
    t_out = c.wall["outage"]
    keep = [k for k in long_ if per[k]["bids_before"] >= 1.0]
    check(keep, f"no campaign with >= 3 min left bid >= 1/s before the outage: {per}")
    before = sum(per[k]["bids_before"] for k in keep)
    worst, each = [], []
    for w in range(0, m.keep_bidding_s, 30):
        t0, t1 = t_out + w * 1000, t_out + (w + 30) * 1000
        n = {k: tl_delta(timelines, t0, t1, camp_field(k, 3)) for k in keep}
        worst.append((sum(n.values()) / 30.0 / before, w))
        each += [(n[k] / 30.0 / per[k]["bids_before"], k, w) for k in keep]
    low, low1 = min(worst), min(each)
    c.notes.append(f"campaigns with ≥ 3 min left bid at ≥ {100 * low[0]:.0f}% of their prior "
                   f"rate in each 30 s of the outage's first {m.keep_bidding_s} s (one alone: "
                   f"≥ {100 * low1[0]:.0f}%, {low1[1]} at +{low1[2]} s)")
    check(low[0] >= 0.5, f"campaigns with >= 3 min left bid at {100 * low[0]:.0f}% of their "
                         f"prior rate in [+{low[1]}, +{low[1] + 30}] s of the outage (< 50%)")
    check(low1[0] > 0, f"{low1[1]} stopped bidding in [+{low1[2]}, +{low1[2] + 30}] s of the "
                       f"outage with >= 3 min of budget left")


def check_counted_is_charged(c):
    """Exactly once, per campaign: with no win/bill notice lost (refused or
    never sent), what the engine counted is what was charged (micros
    rounded down on both sides of the comparison); never more either way
    (the general money checks)."""
    lost = sum(s["notices"][k][x] for s in c.summaries for k in ("win", "bill")
               for x in ("failed", "dropped"))
    if lost:
        return
    for k, v in c.charged.items():
        got = c.counted.get(k, 0)
        check(abs(got - int(v)) <= ROUNDING_MICROS,
              f"{k}: counted {got} != charged {v:.0f} with no notice lost")


def run(name, victim, how="kill", down_s=4.0, after=None, money=None, counted_min=None):
    """victim: a daemon name ("receiver-1", "inference-1", "kafka-dev"), a
    list of them, "all", or None (a fault with no process to restart). how:
    a key of OUTAGES or a callable outage(ctx, down_s) that returns when the
    fault is released. after(ctx, snap) adds the scenario's own checks once
    healed (ctx.summaries, ctx.charged, ctx.counted are set by then).
    money: a Money plan (budgets sized around the outage; see Money).
    counted_min: the share of the charged spend the engine must have
    counted once settled (e.g. 0.99): what is below it was lost."""
    tmp = tempfile.mkdtemp(prefix=f"beat-rec-{name}-")
    cells = [name, "FAIL"] + ["-"] * 8 + [""]
    c = None
    env = dict(FAST)
    if money:
        env.update(MONEY_ENV)
        env.update(money.env)
    try:
        with Engine(os.path.join(tmp, "run"), campaigns=campaigns_file(tmp, money),
                    n_inference=2, n_datastream=2, env=env) as e:
            names = e.names()
            victims = (names if victim == "all" else list(victim) if isinstance(victim, (list, tuple))
                       else [victim] if victim else [])
            c = Ctx(e, tmp, victims)
            c.money = money
            wait_for(lambda: all(e.health(n).get("ready") for n in names), 60,
                     what="every daemon ready")
            extra = (MONEY_EXSIM + money.exsim) if money else []
            c.sims.append(Sim(e, tmp, "1", extra=extra))
            sv0, _ = versions(e)
            wait_for(lambda: versions(e)[0] > sv0 and sum(spend(e).values()) > 0, 20,
                     what="load flowing (state advancing, spend > 0)")
            if money:
                wait_outage_start(c)
            else:  # a few seconds of load to measure the bid rate before the outage
                while time.time() < c.sims[0].wall0 + PRE_LOAD_S:
                    time.sleep(0.1)
            pids = c.pids = {n: e.pid(n) for n in names}
            c.before = snapshot(e)
            sv1, mv1 = versions(e)
            survivors = [n for n in names if n not in victims]
            c.watch = Watch(e, survivors)
            c.watch.start()

            fn = OUTAGES[how] if isinstance(how, str) else how
            c.t_outage = time.monotonic()
            c.wall["outage"] = int(time.time() * 1000)
            c.mark("outage", victims=victims)
            fn(c, down_s)
            c.t_release = time.monotonic()
            c.wall["release"] = int(time.time() * 1000)
            c.mark("released")
            # Healed = the victims answer ready, new aggregates reached the
            # actuator (spend grows), a new state and model at every node.
            wait_for(lambda: all(e.health(n).get("ready") for n in names), HEAL_S,
                     what="every daemon ready again")
            t_ready = time.monotonic()
            if c.killed_all:
                c.sims.append(Sim(e, tmp, "2", extra=extra))
            c.watch.watch(names)
            c.at_release = snapshot(e)
            sv_mid, mv_mid = versions(e)
            sp_mid = sum(c.at_release["spend"].values())
            wait_for(lambda: versions(e)[0] > sv_mid and versions(e)[1] > mv_mid, HEAL_S,
                     what="new state and model at every inference node")
            wait_for(lambda: sum(spend(e).values()) > sp_mid, HEAL_S,
                     what="new aggregates reached the actuator (spend grows)")
            wait_for(lambda: metric_sum(e, "receiver", "beat_receiver_kafka_delivered_total")
                     > c.at_release["delivered"], HEAL_S, what="receiver delivers to Kafka")
            wait_for(lambda: metric_sum(e, "datastream-", "beat_datastream_kafka_messages_total")
                     > c.at_release["ds_msgs"], HEAL_S, what="datastreams consume from Kafka")
            recovery_s = time.monotonic() - c.t_release
            c.mark("healed", recovery_s=round(recovery_s, 2))
            snap = snapshot(e)
            sv2, mv2 = versions(e)
            spent2 = snap["spend"]
            c.summaries.append(c.sims[-1].stop())
            c.watch.stop()
            share = in_time(c.summaries)
            charged = c.charged = exsim_spend(c.summaries)
            camps = {x["id"]: x for x in get_json(e.url("supervisor", "/v1/campaigns"))["campaigns"]}
            # Money is graded against what the exchange charged.
            over = {k: max(charged.get(k, 0), 0) / camps[k]["budget_micros"] for k in camps}
            worst = max(over, key=over.get)
            # What the engine counted once the last notices have gone
            # through the pipeline: below what was charged is events lost
            # at most once; above it, anything at all, is double counting.
            led, act = c.counted, c.counted_act = settle_counted(e)
            paid = sum(charged.values())
            ratio = sum(led.values()) / paid if paid > 0 else None
            lost = sum(v.get("failed", 0) + v.get("dropped", 0)
                       for s in c.summaries for k, v in s.get("notices", {}).items()
                       if k in ("win", "bill"))
            timelines = [s.lines() for s in c.sims]
            bid_ratio, per = money_figures(c, camps, timelines)
            # How much of the load ran into the disruption (start → every
            # daemon ready again): with a single copy of the victim, the
            # notices sent meanwhile are the share a shortfall should match.
            load_s = sum((s.t1 or time.monotonic()) - s.t0 for s in c.sims)
            c.notes.append((f"counted {100 * ratio:.1f}% of charged" if ratio is not None
                            else "nothing charged")
                           + (f" (actuator {100 * sum(act.values()) / paid:.1f}%)" if paid else "")
                           + (f" ({lost} win/bill notices refused or unsent)" if lost else "")
                           + f", disrupted {t_ready - c.t_outage:.1f} s of {load_s:.1f} s of load")
            cells = [name, "FAIL", f"{share:.2f}", f"{recovery_s:.1f}", f"{sv1}→{sv2}",
                     f"{mv1}→{mv2}", f"{max(100 * (over[worst] - 1), 0.0):.2f}",
                     f"{over[worst]:.3f} ({worst})",
                     f"{100 * ratio:.1f}%" if ratio is not None else "-",
                     f"{bid_ratio:.2f}" if bid_ratio is not None else "-", ""]
            check(not c.watch.silent, f"survivors silent: {c.watch.silent}")
            check(not c.watch.spend_back, f"spend went back (max → now): {c.watch.spend_back}")
            check(c.watch.rounds > 0, "health watcher never ran")
            if not c.killed_all:
                changed = [n for n in survivors if e.pid(n) != pids[n]]
                check(not changed, f"other daemons restarted: {changed}")
            check(not e.fatal_events(), f"fatal events: {e.fatal_events()}")
            for k, v in c.before["spend"].items():
                check(spent2.get(k, 0) >= v, f"spend of {k} went back: {v} → {spent2.get(k)}")
            # Bounded spend: for every campaign, what the exchange charged
            # stays within its budget + 1%.
            for k in camps:
                check(over[k] <= 1.01, f"{k}: charged {charged.get(k, 0):.0f} > budget "
                                       f"{camps[k]['budget_micros']} × 1.01 ({over[k]:.3f})")
            # At most once, per campaign and with no slack but rounding: the
            # spend ledger and the actuator never count more than the exchange
            # charged (replays, repeats, failovers and restarts included).
            for what, counted in (("ledger", led), ("actuator", act)):
                for k, v in counted.items():
                    check(v <= charged.get(k, 0) + ROUNDING_MICROS,
                          f"{k}: {what} counted {v} > charged {charged.get(k, 0):.0f} "
                          f"(double counting)")
            check(share >= IN_TIME_MIN, f"answered in time {share:.2f}% < {IN_TIME_MIN}%")
            check_recovered(c, victim if isinstance(victim, str) else "", snap)
            if money:
                check_money_plan(c, per, timelines)
            if after:
                after(c, snap)
            if counted_min is not None:
                check(ratio is not None and ratio >= counted_min,
                      f"counted {100 * (ratio or 0):.2f}% of charged < {100 * counted_min:.0f}% "
                      f"once settled ({lost} win/bill notices refused or unsent)")
            cells[1] = "pass"
            cells[-1] = "; ".join(c.notes)
    except Exception as exc:
        cells[-1] = "; ".join((c.notes if c else []) + [str(exc).splitlines()[0][:200]])
        raise
    finally:
        # The machine's load says how much of a shortfall is contention.
        cells[-1] = "; ".join(x for x in (cells[-1], f"load {os.getloadavg()[0]:.1f}") if x)
        if c:
            if c.watch:
                c.watch.stop()
            for s in c.sims:
                s.kill()
            for p in c.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(5)
        row(cells)
