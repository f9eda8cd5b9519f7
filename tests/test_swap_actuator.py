"""The swap contract (docs/swapping.md, "## Actuator"), live: the engine runs
under beat-exsim traffic; the C actuator is held down (`beatctl stop
actuator`) and the Python one (actuator/examples/beat_actuator.py) takes
over from the supervisor's latest state; inference bids with its states
(the "actuator" name in the state changes, inference's state version
advances); then it is stopped, the C actuator released (`beatctl start
actuator`) and it resumes the spend so far. No other process restarts."""
import os, sys, tempfile

from beatlib import ROOT, Engine, Proc, check, get_json, wait_for

EXAMPLES = os.path.join(ROOT, "docs", "examples", "campaigns.json")
PY_ACT = os.path.join(ROOT, "actuator", "examples", "beat_actuator.py")
FAST = {
    "BEAT_ACTUATOR_TICK_MS": "300",
    "BEAT_DATASTREAM_BUCKET_MS": "300",
    "BEAT_DATASTREAM_JOIN_WINDOW_MS": "2000",
    "BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S": "1",
}


def latest(sup):
    return get_json(sup + "/v1/state/latest", timeout=2.0)


def spend_total(state):
    return sum((state.get("private") or {}).get("spend", {}).values())


def test_swap_c_python_c_under_traffic():
    run = tempfile.mkdtemp(prefix="beat-swap-")
    with Engine(run, campaigns=EXAMPLES, env=FAST) as e:
        wait_for(lambda: e.health("datastream-1").get("ready"), 40, what="datastream ready")
        wait_for(lambda: e.health("inference-1").get("ready"), 40, what="inference ready")
        env = dict(e.env)
        env.update(e.shared_env())
        sup = env["BEAT_SUPERVISOR_URL"]
        sim = Proc("exsim", ["beat-exsim", "--inference", env["BEAT_INFERENCE_URLS"],
                             "--rate=150", "--duration=55", "--seed=11", "--stats-every-s=60"],
                   env=e.exsim_env(), logdir=run)
        py = None
        try:
            others = {n: e.pid(n) for n in e.names() if n != "actuator"}
            check(all(others.values()), f"all daemons up: {others}")
            c_name = wait_for(lambda: get_json(sup + "/v1/versions").get("state_actuator")
                              or None, 20, what="C actuator state")
            wait_for(lambda: spend_total(latest(sup)) > 0, 30, what="C actuator counts spend")

            # 1. C actuator down (held by beatctl), Python actuator up.
            e.ctl("stop", "actuator", "TERM")
            wait_for(lambda: not e.pid("actuator"), 15, what="C actuator stopped")
            c_last = latest(sup)
            c_spend = spend_total(c_last)
            sv0 = e.health("inference-1")["state_version"]
            py = Proc("py-actuator", [sys.executable, PY_ACT, "--tick-ms=300"], env=env,
                      logdir=run)
            wait_for(lambda: get_json(sup + "/v1/versions")["state_actuator"] == "py-actuator",
                     20, what="state written by py-actuator")
            st = latest(sup)
            check(st["actuator"] == "py-actuator")
            # Restored, not reset: its spend starts from the C actuator's.
            check(spend_total(st) >= c_spend, f"py spend {spend_total(st)} < C {c_spend}")
            # Inference takes the new actuator's states.
            wait_for(lambda: e.health("inference-1")["state_version"] >= st["version"]
                     and e.health("inference-1")["state_version"] > sv0, 15,
                     what="inference on py-actuator's state")
            # ...and keeps counting spend under traffic.
            wait_for(lambda: spend_total(latest(sup)) > spend_total(st), 20,
                     what="py-actuator counts new spend")

            # 2. Python actuator stopped (SIGTERM: clean exit), C actuator back.
            check(py.stop(10) == 0, "py-actuator exits 0 on SIGTERM")
            py_last = latest(sup)
            py_spend = spend_total(py_last)
            e.ctl("start", "actuator")
            wait_for(lambda: get_json(sup + "/v1/versions")["state_actuator"] == c_name,
                     30, what="state written by the C actuator again")
            back = latest(sup)
            check(spend_total(back) >= py_spend,
                  f"C actuator resumed {spend_total(back)} < {py_spend}")
            h = wait_for(lambda: e.health("actuator") if e.health("actuator").get("ready")
                         else None, 10, what="C actuator ready")
            check(h.get("restore") == "restored", f"C actuator restored: {h}")
            wait_for(lambda: e.health("inference-1")["state_version"] >= back["version"], 15,
                     what="inference on the C actuator's state")

            # 3. Nobody else restarted.
            now = {n: e.pid(n) for n in others}
            check(now == others, f"pids changed: {others} -> {now}")
            check(not e.fatal_events(), f"fatal events: {e.fatal_events()}")
        finally:
            if py:
                py.kill()
            sim.stop(10)
