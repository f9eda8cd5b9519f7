"""Swap the actuator for its Python example under load and back
(docs/swapping.md, "## Actuator"): the C actuator is held down (beatctl
stop), actuator/examples/beat_actuator.py runs with nothing but the run's
env, restores the spend so far from the supervisor and its states become the
multipliers at every inference node; then it stops, the C actuator is
released and resumes the spend so far and its controller state (not reset,
no burst). Nothing else restarts; budgets are neither reset nor overspent."""
import os, signal, sys
import recovery
from beatlib import ROOT, check, wait_for

PY = os.path.join(ROOT, "actuator", "examples", "beat_actuator.py")


def swap(c, down_s):
    e = c.e
    recovery.outage_restart_stop(c)
    spent = sum(recovery.spend(e).values())
    py = c.spawn("py-actuator", [sys.executable, PY])
    v = wait_for(lambda: (lambda x: x if x["state_actuator"] != "actuator" else None)(
        recovery.sup_versions(e)), recovery.HEAL_S, what="the Python actuator's state accepted")
    name, k = v["state_actuator"], v["state"]
    wait_for(lambda: recovery.versions(e)[0] >= k, recovery.HEAL_S,
             what=f"the Python state (v{k}) at every inference node")
    recovery.held_down(e, c.victims, down_s)  # it runs the engine a while under load
    wait_for(lambda: recovery.versions(e)[0] > k, recovery.HEAL_S,
             what="a later Python state at every inference node")
    st = recovery.state_latest(e)
    check(st.get("actuator") == name, f"state/latest from {st.get('actuator')}")
    # Its private part keeps the C actuator's "spend": restored, then growing
    # with the aggregates it reads.
    wait_for(lambda: sum(recovery.spend(e).values()) > spent, recovery.HEAL_S,
             what="the Python actuator counts new spend on top of the restored one")
    check(py.poll() is None, "the Python actuator exited")
    py.send_signal(signal.SIGTERM)
    check(py.wait(15) == 0, "the Python actuator did not stop cleanly on SIGTERM")
    c.notes.append(f"{name} served state v{k}..v{recovery.sup_versions(e)['state']}")
    e.ctl("start", "actuator")


def c_actuator_back(c, snap):
    check(snap["sup"]["state_actuator"] == "actuator",
          f"state actuator after the swap back: {snap['sup']['state_actuator']}")


def test_swap_actuator():
    check(os.path.exists(PY), f"{PY} missing")
    recovery.run("swap-actuator", "actuator", how=swap, after=c_actuator_back)
