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
  - budgets were neither reset (spend never went back) nor overspent by
    more than 1%, and spend was counted at most once (the actuator never
    counts more than the exchange charged).
Appends one row to the report table (BEAT_RECOVERY_REPORT, default
run/recovery/report.md). Every wait is a poll with a deadline; the engine
and the simulator are stopped by PID even when a check fails."""
import json, os, signal, subprocess, tempfile, threading, time
from beatlib import BIN, ROOT, Engine, check, get_json, http, metric, wait_for

FAST = {"BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S": "1", "BEAT_ACTUATOR_TICK_MS": "300",
        # The join window must outlast the exchange's notice retries (exsim
        # resends a bill up to ~4.3 s after the auction): a retry arriving
        # after its auction left the window would be counted twice.
        "BEAT_DATASTREAM_BUCKET_MS": "300", "BEAT_DATASTREAM_JOIN_WINDOW_MS": "8000",
        # Inference may keep bidding on a state this old while the supervisor,
        # actuator or datastream is down (budget safety vs. revenue).
        "BEAT_INFERENCE_MAX_STATE_AGE_MS": "30000"}
RATE = int(os.environ.get("BEAT_RECOVERY_RATE", "150"))
IN_TIME_MIN = float(os.environ.get("BEAT_RECOVERY_IN_TIME_MIN", "99.9"))
HEAL_S = float(os.environ.get("BEAT_RECOVERY_HEAL_S", "45"))  # the recovery bound
REPORT = os.environ.get("BEAT_RECOVERY_REPORT",
                        os.path.join(ROOT, "run", "recovery", "report.md"))
HEADER = ("| scenario | result | answered in time % | recovery s | state v before→after "
          "| model v before→after | max overspend % | note |\n"
          "|---|---|---:|---:|---|---|---:|---|\n")


def campaigns_file(tmp):
    doc = json.load(open(os.path.join(ROOT, "docs", "examples", "campaigns.json")))
    for c in doc["campaigns"]:
        c["flight_s"] = 600
        c["budget_micros"] = 20_000_000
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
    spend in the supervisor's latest state: it must never go back for any
    campaign (a reset budget), whoever wrote the state."""

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
            sp = spend(self.e)
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

    def __init__(self, e, tmp, tag, duration=180):
        self.summary = os.path.join(tmp, f"exsim-{tag}.json")
        self.t0, self.t1 = time.monotonic(), None
        urls = e.shared_env()["BEAT_INFERENCE_URLS"]
        self.p = subprocess.Popen(
            [os.path.join(BIN, "beat-exsim"), "--inference", urls, f"--rate={RATE}",
             f"--duration={duration}", "--seed=7", "--tmax=100", "--http-timeout-ms=150",
             "--stats-every-s=1", f"--json={self.summary}"], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(tmp, f"exsim-{tag}.log"), "w"))

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
    out = {}
    for s in summaries:
        for c, v in s.get("campaigns", {}).items():
            out[c] = out.get(c, 0) + v.get("spend_micros", 0)
    return out


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
            "bids": {n: metric(e.ports[n], "beat_inference_bids_total") or 0
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

    def gone(p):
        try:
            os.kill(p, 0)
            return False
        except OSError:
            return True
    wait_for(lambda: all(gone(p) for p in [runner] + pids), 10, what="everything dead")
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


def run(name, victim, how="kill", down_s=4.0, after=None, once_slack=0.01):
    """victim: a daemon name ("receiver-1", "inference-1", "kafka-dev"), "all",
    or None (a fault with no process to restart). how: a key of OUTAGES or a
    callable outage(ctx, down_s) that returns when the fault is released.
    after(ctx, snap) adds the scenario's own checks once healed.
    once_slack: how much more than the exchange charged the engine may
    count (see the at-most-once check below)."""
    tmp = tempfile.mkdtemp(prefix=f"beat-rec-{name}-")
    cells = [name, "FAIL", "-", "-", "-", "-", "-", ""]
    c = None
    try:
        with Engine(os.path.join(tmp, "run"), campaigns=campaigns_file(tmp),
                    n_inference=2, n_datastream=2, env=FAST) as e:
            names = e.names()
            victims = names if victim == "all" else [victim] if victim else []
            c = Ctx(e, tmp, victims)
            wait_for(lambda: all(e.health(n).get("ready") for n in names), 60,
                     what="every daemon ready")
            c.sims.append(Sim(e, tmp, "1"))
            sv0, _ = versions(e)
            wait_for(lambda: versions(e)[0] > sv0 and sum(spend(e).values()) > 0, 20,
                     what="load flowing (state advancing, spend > 0)")
            pids = c.pids = {n: e.pid(n) for n in names}
            c.before = snapshot(e)
            sv1, mv1 = versions(e)
            survivors = [n for n in names if n not in victims]
            c.watch = Watch(e, survivors)
            c.watch.start()

            fn = OUTAGES[how] if isinstance(how, str) else how
            c.t_outage = time.monotonic()
            c.mark("outage", victims=victims)
            fn(c, down_s)
            c.t_release = time.monotonic()
            c.mark("released")
            # Healed = the victims answer ready, new aggregates reached the
            # actuator (spend grows), a new state and model at every node.
            wait_for(lambda: all(e.health(n).get("ready") for n in names), HEAL_S,
                     what="every daemon ready again")
            t_ready = time.monotonic()
            if c.killed_all:
                c.sims.append(Sim(e, tmp, "2"))
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
            charged = exsim_spend(c.summaries)
            camps = {x["id"]: x for x in get_json(e.url("supervisor", "/v1/campaigns"))["campaigns"]}
            # Overspend: what was really charged (or counted, if more) over
            # the budget.
            over = max(100.0 * (max(spent2.get(k, 0), charged.get(k, 0)) -
                                camps[k]["budget_micros"]) / camps[k]["budget_micros"]
                       for k in camps)
            # What the engine counted once the load has stopped and the last
            # notices have gone through the pipeline (stable for 1.5 s, at
            # most 15 s): below 100% is events lost at most once.
            settled, last, t_stable = sum(spent2.values()), -1, time.monotonic()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                settled = sum(spend(e).values())
                if settled != last:
                    last, t_stable = settled, time.monotonic()
                elif time.monotonic() - t_stable >= 1.5:
                    break
                time.sleep(0.25)
            ratio = 100.0 * settled / max(sum(charged.values()), 1)
            lost = sum(v.get("failed", 0) + v.get("dropped", 0)
                       for s in c.summaries for k, v in s.get("notices", {}).items()
                       if k in ("win", "bill"))
            # How much of the load ran into the disruption (start → every
            # daemon ready again): with a single copy of the victim, the
            # notices sent meanwhile are the share a shortfall should match.
            load_s = sum((s.t1 or time.monotonic()) - s.t0 for s in c.sims)
            c.notes.append(f"counted {ratio:.1f}% of charged"
                           + (f" ({lost} win/bill notices refused or unsent)" if lost else "")
                           + f", disrupted {t_ready - c.t_outage:.1f} s of {load_s:.1f} s of load")
            cells = [name, "FAIL", f"{share:.2f}", f"{recovery_s:.1f}", f"{sv1}→{sv2}",
                     f"{mv1}→{mv2}", f"{max(over, 0.0):.2f}", ""]
            check(not c.watch.silent, f"survivors silent: {c.watch.silent}")
            check(not c.watch.spend_back, f"spend went back (max → now): {c.watch.spend_back}")
            check(c.watch.rounds > 0, "health watcher never ran")
            if not c.killed_all:
                changed = [n for n in survivors if e.pid(n) != pids[n]]
                check(not changed, f"other daemons restarted: {changed}")
            check(not e.fatal_events(), f"fatal events: {e.fatal_events()}")
            for k, v in c.before["spend"].items():
                check(spent2.get(k, 0) >= v, f"spend of {k} went back: {v} → {spent2.get(k)}")
            # At most once: the actuator never counts more than the exchange
            # charged. Slack 1%: the engine counts a win when its first
            # notice arrives, exsim when it sends the bill (up to 0.5 s
            # later); a replayed partition would add several seconds' worth.
            # (Counting less is the at-most-once price: lost events.) Over
            # all campaigns: a small one's few wins make its ratio noise.
            counted, paid = settled, sum(charged.values())
            check(counted <= paid * (1 + once_slack) + 2000,
                  f"counted {counted} > charged {paid} (double counting)")
            check(over <= 1.0, f"overspend {over:.2f}% of budget")
            check(share >= IN_TIME_MIN, f"answered in time {share:.2f}% < {IN_TIME_MIN}%")
            check_recovered(c, victim or "", snap)
            if after:
                after(c, snap)
            cells[1] = "pass"
            cells[7] = "; ".join(c.notes)
    except Exception as exc:
        cells[7] = "; ".join((c.notes if c else []) + [str(exc).splitlines()[0][:160]])
        raise
    finally:
        # The machine's load says how much of a shortfall is contention.
        cells[7] = "; ".join(x for x in (cells[7], f"load {os.getloadavg()[0]:.1f}") if x)
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
