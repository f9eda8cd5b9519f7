"""Restart the supervisor (SIGTERM, down a while, start) with both inference
nodes up: while it is away they keep bidding on their last good world
(versions frozen, bids still counted), then they resync by themselves to
the versions of the restarted supervisor, which continue where they were."""
import time
import recovery
from beatlib import check, metric_sum


def outage(c, down_s):
    e = c.e
    recovery.outage_restart_stop(c)
    down = {n: e.health(n) for n in recovery.inf_names(e)}
    bids = {n: metric_sum(e.ports[n], "beat_inference_bids_total") or 0 for n in down}
    recovery.held_down(e, c.victims, down_s)
    for n, h0 in down.items():
        h1 = e.health(n)
        check(h1["has_model"] and h1["has_state"], f"{n} lost its world: {h1}")
        check((h1["state_version"], h1["model_version"]) ==
              (h0["state_version"], h0["model_version"]), f"{n} changed world with no supervisor")
        b1 = metric_sum(e.ports[n], "beat_inference_bids_total") or 0
        check(b1 > bids[n], f"{n} stopped bidding while the supervisor was down")
    c.notes.append("bids while down: " + ", ".join(
        f"{n} +{(metric_sum(e.ports[n], 'beat_inference_bids_total') or 0) - bids[n]:.0f}"
        for n in down))
    e.ctl("start", "supervisor")


def test_restart_supervisor():
    recovery.run("restart-supervisor-inference-up", "supervisor", how=outage, down_s=6.0)
