"""The trainer swap contract (docs/swapping.md, "## Trainer"), live: the
whole engine under exchange-simulator traffic; the C light trainer is held
down (beatctl stop) and the Python example trainer takes over with nothing
but the run's env; the supervisor's model_trainer and inference's model
version follow it; then the Python trainer stops, the C trainer is released
(beatctl start) and comes back with its own state (samples_seen does not
restart from 0, its private section is restored). No other daemon restarts."""
import json, os, struct, sys, tempfile

from beatlib import ROOT, Engine, Proc, check, get_json, http, wait_for

EXAMPLES = os.path.join(ROOT, "docs", "examples", "campaigns.json")
PY_TRAINER = os.path.join(ROOT, "lighttrainer", "examples", "beat_trainer.py")
FAST = {
    "BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S": "1",
    "BEAT_ACTUATOR_TICK_MS": "300",
    "BEAT_DATASTREAM_BUCKET_MS": "300",
    "BEAT_DATASTREAM_JOIN_WINDOW_MS": "1000",
}


def ready(e, name):
    try:
        h = e.health(name)
    except Exception:
        return None
    return h if h.get("ready") else None


def latest_header(e):
    """Header JSON of the supervisor's latest checkpoint, or None."""
    try:
        st, _, body = http("GET", e.url("supervisor", "/v1/checkpoint/latest"))
    except OSError:
        return None
    if st != 200 or body[:8] != b"BEATCKPT":
        return None
    (hl,) = struct.unpack_from("<I", body, 12)
    return json.loads(body[16:16 + hl])


def versions(e):
    return get_json(e.url("supervisor", "/v1/versions"))


def test_swap_python_trainer_and_back():
    run = tempfile.mkdtemp(prefix="beat-swap-trainer-")
    with Engine(run, campaigns=EXAMPLES, env=FAST) as e:
        wait_for(lambda: ready(e, "datastream-1"), 40, what="datastream assigned")
        wait_for(lambda: ready(e, "inference-1"), 40, what="inference ready")
        sim = Proc("exsim", ["beat-exsim", "--inference", e.shared_env()["BEAT_INFERENCE_URLS"],
                             "--rate=400", "--duration=60", "--seed=3",
                             f"--json={run}/exsim.json"], env=e.exsim_env(), logdir=run)
        py = None
        try:
            # The C trainer learns from live samples first.
            h = wait_for(lambda: (lambda x: x if x and x["samples_seen"] >= 200
                                  and x["trainer"] == "lighttrainer" else None)(
                latest_header(e)), 30, what="C trainer checkpoint with 200 samples")
            check(h["rank"] == 8 and h["factor_bits"] == 16, str(h))
            others = {n: e.pid(n) for n in e.names() if n != "lighttrainer"}
            check(all(others.values()), f"pids {others}")

            e.ctl("stop", "lighttrainer")
            wait_for(lambda: not e.pid("lighttrainer"), 10, what="C trainer held down")
            c_seen = latest_header(e)["samples_seen"]
            py = Proc("py-trainer", [sys.executable, PY_TRAINER, "--checkpoint-every-s", "1"],
                      env=e.shared_env(), logdir=run)
            v = wait_for(lambda: (lambda x: x if x["model_trainer"] == "py-trainer" else None)(
                versions(e)), 20, what="supervisor model_trainer = py-trainer")
            k = v["model"]
            wait_for(lambda: ready(e, "inference-1")["model_version"] >= k, 10,
                     what=f"inference model version {k}")
            # It keeps learning from the stream (samples_seen grows past the
            # C trainer's) and inference keeps following.
            h = wait_for(lambda: (lambda x: x if x and x["trainer"] == "py-trainer"
                                  and x["samples_seen"] > c_seen else None)(
                latest_header(e)), 20, what="py-trainer learnt")
            check(h["rank"] == 0 and h["n_weights"] == h["dim"] + 1, str(h))
            k2 = versions(e)["model"]
            wait_for(lambda: ready(e, "inference-1")["model_version"] >= k2, 10,
                     what="inference follows the Python trainer")
            check(ready(e, "inference-1") is not None)

            check(py.stop(10) == 0, "py-trainer exit status")
            py_seen = latest_header(e)["samples_seen"]

            e.ctl("start", "lighttrainer")
            v = wait_for(lambda: (lambda x: x if x["model_trainer"] == "lighttrainer"
                                  else None)(versions(e)), 30,
                         what="supervisor model_trainer = lighttrainer again")
            wait_for(lambda: ready(e, "inference-1")["model_version"] >= v["model"], 10,
                     what="inference follows the C trainer")
            h = latest_header(e)
            check(h["samples_seen"] >= py_seen >= c_seen > 0,
                  f"samples_seen restarted: {h['samples_seen']} < {py_seen}")
            check(h["rank"] == 8, str(h))
            restored = [json.loads(l) for l in e.log("lighttrainer").splitlines()
                        if '"ev":"restored"' in l]
            check(restored and restored[-1]["private"] == "yes", f"restore: {restored[-1:]}")
            check(restored[-1]["trainer"] == "py-trainer", str(restored[-1]))
            check('"ev":"factors_fresh"' not in e.log("lighttrainer"), "factors lost")

            # kill -9 mid-run: the runner restarts it; it continues from its
            # last checkpoint (samples_seen and the AUC window), no cold start.
            h = wait_for(lambda: (lambda x: x if x["trainer"] == "lighttrainer"
                                  and x["samples_seen"] > py_seen else None)(
                latest_header(e)), 20, what="C trainer learning again")
            pid = e.pid("lighttrainer")
            e.ctl("kill", "lighttrainer", "KILL")
            wait_for(lambda: e.pid("lighttrainer") not in (0, pid), 20,
                     what="lighttrainer restarted by the runner")
            before = latest_header(e)
            wait_for(lambda: e.log("lighttrainer").count('"ev":"restored"') >= 2, 20,
                     what="restored after kill -9")
            v0 = versions(e)["model"]
            h = wait_for(lambda: (lambda x: x if versions(e)["model"] > v0 else None)(
                latest_header(e)), 20, what="checkpoint after kill -9")
            check(h["samples_seen"] >= before["samples_seen"], f"{before} -> {h}")
            check(h["auc"] is not None and abs(h["auc"] - before["auc"]) < 0.1,
                  f"auc {before['auc']} -> {h['auc']}")
            for n, pid in others.items():
                check(e.pid(n) == pid, f"{n} restarted ({pid} -> {e.pid(n)})")
            check(not e.fatal_events(), str(e.fatal_events()))
        finally:
            if py:
                py.kill()
            sim.stop(20)
