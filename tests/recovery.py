"""One kill-and-recover scenario (DESIGN §7, recovery-tests/): a whole
engine (2 inference nodes, 2 datastreams) under exchange-simulator load; one
component is killed (SIGKILL, held down) or frozen (SIGSTOP) for a while,
then restarted or thawed. Asserts that nothing else died or logged a fatal
event, that every survivor's /healthz answered throughout, that the exchange
kept getting answers in time, that the victim recovered and new state and
model versions reached every inference node, and that budgets were neither
reset nor overspent. Appends one row to the report table."""
import json, os, signal, subprocess, tempfile, time
from beatlib import BIN, ROOT, SHARED, Engine, check, get_json, http, wait_for

FAST = {"BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S": "1", "BEAT_ACTUATOR_TICK_MS": "300",
        "BEAT_DATASTREAM_BUCKET_MS": "300", "BEAT_DATASTREAM_JOIN_WINDOW_MS": "2000",
        # Inference may keep bidding on a state this old while the supervisor,
        # actuator or datastream is down (budget safety vs. revenue).
        "BEAT_INFERENCE_MAX_STATE_AGE_MS": "30000"}
RATE = int(os.environ.get("BEAT_RECOVERY_RATE", "150"))
IN_TIME_MIN = float(os.environ.get("BEAT_RECOVERY_IN_TIME_MIN", "99.5"))
REPORT = os.environ.get("BEAT_RECOVERY_REPORT",
                        os.path.join(ROOT, "run", "recovery", "report.md"))
HEADER = ("| scenario | result | answered in time % | recovery s | state v before→after "
          "| model v before→after | max overspend % |\n|---|---|---:|---:|---|---|---:|\n")


def campaigns_file(tmp):
    doc = json.load(open(os.path.join(ROOT, "docs", "examples", "campaigns.json")))
    for c in doc["campaigns"]:
        c["flight_s"] = 600
        c["budget_micros"] = 20_000_000
    path = os.path.join(tmp, "campaigns.json")
    json.dump(doc, open(path, "w"))
    return path


def versions(e):
    """(min state version, min model version) over the inference nodes."""
    hs = [e.health(f"inference-{i}") for i in (1, 2)]
    return min(h["state_version"] for h in hs), min(h["model_version"] for h in hs)


def spend(e):
    st, _, b = http("GET", e.url("supervisor", "/v1/state/latest"))
    if st != 200:
        return {}
    return json.loads(b).get("private", {}).get("spend", {})


def row(cells):
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    new = not os.path.exists(REPORT)
    with open(REPORT, "a") as f:
        if new:
            f.write(HEADER)
        f.write("| " + " | ".join(str(c) for c in cells) + " |\n")
    print("  " + " | ".join(str(c) for c in cells), flush=True)


def run(name, victim, how="kill", down_s=4.0):
    """how: 'kill' = SIGKILL and held down for down_s, then released;
    'freeze' = SIGSTOP for down_s, then SIGCONT."""
    tmp = tempfile.mkdtemp(prefix=f"beat-rec-{name}-")
    cells = [name, "FAIL", "-", "-", "-", "-", "-"]
    sim = None
    try:
        with Engine(os.path.join(tmp, "run"), campaigns=campaigns_file(tmp),
                    n_inference=2, n_datastream=2, env=FAST) as e:
            names = e.names()
            wait_for(lambda: all(e.health(n).get("ready") for n in names), 60,
                     what="every daemon ready")
            urls = e.shared_env()["BEAT_INFERENCE_URLS"]
            summary = os.path.join(tmp, "exsim.json")
            duration = int(down_s + 120)  # ended by SIGTERM once checked
            sim = subprocess.Popen([os.path.join(BIN, "beat-exsim"), "--inference", urls,
                                    f"--rate={RATE}", f"--duration={duration}", "--seed=7",
                                    "--tmax=100", "--http-timeout-ms=150",
                                    f"--json={summary}"], stdout=subprocess.DEVNULL,
                                   stderr=open(os.path.join(tmp, "exsim.log"), "w"))
            sv0, mv0 = versions(e)
            wait_for(lambda: versions(e)[0] > sv0 and sum(spend(e).values()) > 0, 20,
                     what="load flowing (state advancing, spend > 0)")
            pids = {n: e.pid(n) for n in names}
            sv1, mv1 = versions(e)
            spent1 = spend(e)

            survivors = [n for n in names if n != victim]
            if how == "kill":
                e.ctl("stop", victim, "KILL")
            else:
                e.ctl("kill", victim, "STOP")
            t_down = time.monotonic()
            silent = {}
            # Measurement window, not synchronisation: every survivor must
            # answer /healthz all through the outage.
            while time.monotonic() - t_down < down_s:
                for n in survivors:
                    try:
                        e.health(n)
                    except Exception as exc:  # noqa: BLE001
                        silent[n] = str(exc)
                time.sleep(0.2)
            t_up = time.monotonic()
            e.ctl("start" if how == "kill" else "kill", victim,
                  *([] if how == "kill" else ["CONT"]))
            wait_for(lambda: e.health(victim).get("ready"), 45, what=f"{victim} ready again")
            recovery_s = time.monotonic() - t_up
            # New versions flow end to end after the recovery.
            sv_mid, mv_mid = versions(e)
            wait_for(lambda: versions(e)[0] > sv_mid and versions(e)[1] > mv_mid, 45,
                     what="new state and model at every inference node")
            sv2, mv2 = versions(e)
            spent2 = spend(e)
            sim.send_signal(signal.SIGTERM)  # it writes its summary and exits
            sim.wait(15)
            s = json.load(open(summary))
            asked = s["requests"] + s["skipped"]
            in_time = 100.0 * (s["answered"]["200"] + s["answered"]["204"]) / max(asked, 1)
            camps = {c["id"]: c for c in get_json(e.url("supervisor", "/v1/campaigns"))["campaigns"]}
            over = max(100.0 * (spent2.get(c, 0) - camps[c]["budget_micros"]) /
                       camps[c]["budget_micros"] for c in camps)
            cells = [name, "FAIL", f"{in_time:.2f}", f"{recovery_s:.1f}", f"{sv1}→{sv2}",
                     f"{mv1}→{mv2}", f"{max(over, 0.0):.2f}"]
            check(not silent, f"survivors silent during the outage: {silent}")
            changed = [n for n in survivors if e.pid(n) != pids[n]]
            check(not changed, f"other daemons restarted: {changed}")
            check(not e.fatal_events(), f"fatal events: {e.fatal_events()}")
            for c, v in spent1.items():
                check(spent2.get(c, 0) >= v, f"spend of {c} went back: {v} → {spent2.get(c)}")
            check(over <= 1.0, f"overspend {over:.2f}% of budget")
            check(in_time >= IN_TIME_MIN, f"answered in time {in_time:.2f}% < {IN_TIME_MIN}%")
            cells[1] = "pass"
    finally:
        if sim and sim.poll() is None:
            sim.kill()
        row(cells)
