"""Swap the light trainer for its Python example under load and back
(docs/swapping.md, "## Trainer"): the C trainer is held down (beatctl stop),
lighttrainer/examples/beat_trainer.py runs with nothing but the run's env,
its checkpoints become the model at every inference node; then it stops,
the C trainer is released and restores its own state (model, samples_seen,
AUC) and its checkpoints flow to inference again. Nothing else restarts."""
import os, signal, sys
import recovery
from beatlib import ROOT, check, wait_for

PY = os.path.join(ROOT, "lighttrainer", "examples", "beat_trainer.py")


def swap(c, down_s):
    e = c.e
    recovery.outage_restart_stop(c)
    py = c.spawn("py-trainer", [sys.executable, PY, "--checkpoint-every-s", "1"])
    v = wait_for(lambda: (lambda x: x if x["model_trainer"] != "lighttrainer" else None)(
        recovery.sup_versions(e)), recovery.HEAL_S, what="the Python trainer's model accepted")
    name, k = v["model_trainer"], v["model"]
    wait_for(lambda: recovery.versions(e)[1] >= k, recovery.HEAL_S,
             what=f"the Python model (v{k}) at every inference node")
    recovery.held_down(e, c.victims, down_s)  # it trains a while under load
    # It keeps training: a later checkpoint of it reaches inference too.
    wait_for(lambda: recovery.versions(e)[1] > k, recovery.HEAL_S,
             what="a later Python checkpoint at every inference node")
    check(py.poll() is None, "the Python trainer exited")
    py.send_signal(signal.SIGTERM)
    check(py.wait(15) == 0, "the Python trainer did not stop cleanly on SIGTERM")
    c.notes.append(f"{name} served model v{k}..v{recovery.sup_versions(e)['model']}")
    e.ctl("start", "lighttrainer")


def c_trainer_back(c, snap):
    check(snap["sup"]["model_trainer"] == "lighttrainer",
          f"model trainer after the swap back: {snap['sup']['model_trainer']}")


def test_swap_trainer():
    check(os.path.exists(PY), f"{PY} missing")
    recovery.run("swap-trainer", "lighttrainer", how=swap, after=c_trainer_back)
