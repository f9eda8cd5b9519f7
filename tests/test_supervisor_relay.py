"""Fan-out through a read-only relay supervisor (docs/deploy.md "Scaling out"),
real processes: a primary beat-supervisor, a relay (--relay-from its
pub/rep) and two beat-inference nodes, one on each. A state or checkpoint
accepted at the primary is observed at both nodes with the primary's
version; the relay's GETs serve the same objects (checkpoint bytes
identical); writes to the relay are refused with 403. Nodes and relay that
start before the primary converge once it comes up, and again after it
restarts."""
import json, os, tempfile

import time

from beatlib import Procs, check, free_ports, get_json, healthz, http, metric, wait_for
from test_supervisor import CAMPAIGNS, ckpt, state

TOKEN = "relay-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def start_primary(procs, tmp, port, name="primary"):
    p = procs.start(name, [
        "beat-supervisor", "--listen", f"127.0.0.1:{port}",
        "--db", os.path.join(tmp, "sup.db"), "--admin-token", TOKEN,
        "--pub", f"ipc://{tmp}/pub.ipc", "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc",
        "--hash-bits", "10", "--heartbeat-ms", "200"])
    wait_for(lambda: healthz(port)["ready"], 10, what=f"{name} ready")
    return p


def start_relay(procs, tmp, port):
    p = procs.start("relay", [
        "beat-supervisor", "--listen", f"127.0.0.1:{port}",
        "--relay-from", f"ipc://{tmp}/pub.ipc", "--relay-rep", f"ipc://{tmp}/rep.ipc",
        "--pub", f"ipc://{tmp}/relay-pub.ipc", "--rep", f"ipc://{tmp}/relay-rep.ipc",
        "--hash-bits", "10", "--heartbeat-ms", "200",
        "--max-checkpoint-bytes", "1048576"])
    wait_for(lambda: healthz(port), 10, what="relay serving")
    return p


def start_inference(procs, tmp, port, prefix, name, rcv_ports):
    p = procs.start(name, [
        "beat-inference", "--listen", f"127.0.0.1:{port}",
        "--supervisor-pub", f"ipc://{tmp}/{prefix}pub.ipc",
        "--supervisor-rep", f"ipc://{tmp}/{prefix}rep.ipc",
        # leases come from the primary, whichever supervisor a node syncs from
        "--supervisor-lease", f"ipc://{tmp}/lease.ipc",
        "--receiver-url", f"http://127.0.0.1:{rcv_ports[0]}",
        "--receiver-bidlog", f"tcp://127.0.0.1:{rcv_ports[1]}",
        "--notice-secret", "relay-test-secret", "--name", name, "--open"])
    wait_for(lambda: healthz(port), 10, what=f"{name} serving")
    return p


def write(base, method, path, body, ctype="application/json"):
    h = dict(AUTH); h["Content-Type"] = ctype
    st, _, b = http(method, base + path, body, h)
    check(st == 200, f"{method} {path} -> {st} {b[:300]!r}")
    return json.loads(b)["version"]


def converged(sup_port, inf_ports):
    """True when every node holds exactly the primary's versions."""
    v = get_json(f"http://127.0.0.1:{sup_port}/v1/versions")
    for p in inf_ports:
        h = healthz(p)
        if (h.get("campaigns_version"), h.get("state_version"), h.get("model_version")) != \
                (v["campaigns"], v["state"], v["model"]):
            return False
    return v


def test_relay_fanout_and_readonly():
    sup, rel, inf1, inf2, r1, r2 = free_ports(6)
    tmp = tempfile.mkdtemp(prefix="beat-relay-")
    with Procs(tmp) as procs:
        start_primary(procs, tmp, sup)
        start_relay(procs, tmp, rel)
        start_inference(procs, tmp, inf1, "", "inf-direct", (r1, r2))
        start_inference(procs, tmp, inf2, "relay-", "inf-relayed", (r1, r2))
        base, rbase = f"http://127.0.0.1:{sup}", f"http://127.0.0.1:{rel}"
        cv = write(base, "PUT", "/v1/campaigns", open(CAMPAIGNS, "rb").read())
        sv = write(base, "POST", "/v1/state", state(mult=1.5))
        ck = ckpt(auc=0.77)
        mv = write(base, "POST", "/v1/checkpoint", ck, "application/octet-stream")
        v = wait_for(lambda: converged(sup, (inf1, inf2)), 10, what="both nodes converged")
        check((v["campaigns"], v["state"], v["model"]) == (cv, sv, mv), f"versions {v}")
        # Ready once each node's first lease report is answered by the primary.
        wait_for(lambda: healthz(inf1)["ready"] and healthz(inf2)["ready"], 10,
                 what="nodes ready (leased)")

        # The relay serves what it relays.
        rv = get_json(rbase + "/v1/versions")
        check((rv["campaigns"], rv["state"], rv["model"]) == (cv, sv, mv), f"relay {rv}")
        check(rv["model_auc"] == 0.77 and rv["model_samples_seen"] == 1234, f"relay {rv}")
        check(rv["relay_from"] == f"ipc://{tmp}/pub.ipc", f"relay {rv}")
        st, hdr, body = http("GET", rbase + "/v1/checkpoint/latest")
        check(st == 200 and body == ck and hdr.get("X-Beat-Version") == str(mv),
              f"relay checkpoint {st} {hdr}")
        pc, rc = get_json(base + "/v1/campaigns"), get_json(rbase + "/v1/campaigns")
        check(rc["version"] == cv and [c["id"] for c in rc["campaigns"]] ==
              [c["id"] for c in pc["campaigns"]], f"relay campaigns {rc}")
        rs = get_json(rbase + "/v1/state/latest")
        check(rs["version"] == sv and rs["campaigns"]["acme-shoes"]["multiplier"] == 1.5,
              f"relay state {rs}")
        check(get_json(base + "/v1/versions")["peers"] >= 2, "primary sees inf + relay")
        # In step with the primary, the relay stops asking (heartbeats agree,
        # CRCs included): no request churn over 5 heartbeats.
        reqs = metric(rel, "beat_supervisor_relay_requests_total")
        check(reqs is not None and reqs >= 2, f"relay requests at start: {reqs}")
        time.sleep(1.0)  # measuring idleness, not synchronising
        check(metric(rel, "beat_supervisor_relay_requests_total") == reqs, "relay churns")

        # Writes to a relay: 403, even with the right token; nothing changes.
        for method, path, b, ct in (("PUT", "/v1/campaigns", open(CAMPAIGNS, "rb").read(),
                                     "application/json"),
                                    ("POST", "/v1/state", state(mult=2.0), "application/json"),
                                    ("POST", "/v1/checkpoint", ck, "application/octet-stream"),
                                    ("POST", "/v1/checkpoint", ckpt(bits=14),  # 64 KB+
                                     "application/octet-stream")):
            h = dict(AUTH); h["Content-Type"] = ct
            st, _, body = http(method, rbase + path, b, h)
            check(st == 403 and json.loads(body) == {"error": "read-only relay"},
                  f"{method} {path} on relay -> {st} {body!r}")
        check(get_json(rbase + "/v1/versions")["state"] == sv, "relay state unchanged")

        # A new state and a new model reach both nodes with the same version.
        sv2 = write(base, "POST", "/v1/state", state(mult=0.5))
        mv2 = write(base, "POST", "/v1/checkpoint", ckpt(auc=0.8), "application/octet-stream")
        v = wait_for(lambda: converged(sup, (inf1, inf2)), 10, what="converged again")
        check((v["state"], v["model"]) == (sv2, mv2), f"versions {v}")


def test_nodes_before_primary_converge():
    sup, rel, inf1, inf2, r1, r2 = free_ports(6)
    tmp = tempfile.mkdtemp(prefix="beat-relay-late-")
    with Procs(tmp) as procs:
        # Everything downstream first: nodes, relay; then the primary.
        start_inference(procs, tmp, inf1, "", "inf-direct", (r1, r2))
        start_inference(procs, tmp, inf2, "relay-", "inf-relayed", (r1, r2))
        start_relay(procs, tmp, rel)
        check(get_json(f"http://127.0.0.1:{rel}/v1/versions")["campaigns"] == 0, "empty relay")
        st, _, _ = http("GET", f"http://127.0.0.1:{rel}/v1/campaigns")
        check(st == 404, f"relay campaigns before primary -> {st}")
        p = start_primary(procs, tmp, sup)
        base = f"http://127.0.0.1:{sup}"
        write(base, "PUT", "/v1/campaigns", open(CAMPAIGNS, "rb").read())
        write(base, "POST", "/v1/state", state())
        write(base, "POST", "/v1/checkpoint", ckpt(), "application/octet-stream")
        wait_for(lambda: converged(sup, (inf1, inf2)), 15, what="late primary: converged")
        wait_for(lambda: healthz(inf1)["ready"] and healthz(inf2)["ready"], 10,
                 what="late primary: both nodes leased")

        # Primary restarts (same db); nodes keep their world, then follow
        # the restarted primary's next version.
        p.stop()
        check(healthz(inf2)["ready"], "relayed node still ready with the primary down")
        start_primary(procs, tmp, sup, name="primary2")
        sv = write(base, "POST", "/v1/state", state(mult=0.9))
        v = wait_for(lambda: converged(sup, (inf1, inf2)), 15, what="restart: converged")
        check(v["state"] == sv, f"versions {v}")


def test_relay_forwards_segment_lists():
    """First-party segment lists ('U' frames) reach a node behind the relay,
    and so do their replacements."""
    sup, rel, inf, r1, r2 = free_ports(5)
    tmp = tempfile.mkdtemp(prefix="beat-relay-seg-")
    with Procs(tmp) as procs:
        start_primary(procs, tmp, sup)
        relay = start_relay(procs, tmp, rel)
        start_inference(procs, tmp, inf, "relay-", "inf-relayed", (r1, r2))
        base = f"http://127.0.0.1:{sup}"
        check(write(base, "PUT", "/v1/segments/crm", "u-1\nu-2\n", "text/plain") == 1, "put")
        wait_for(lambda: healthz(inf)["segments_version"] == 1, 10, what="list through relay")
        check(healthz(inf)["segment_lists"] == 1, "one list")
        check(write(base, "DELETE", "/v1/segments/crm", None) == 2, "delete")
        wait_for(lambda: healthz(inf)["segments_version"] == 2 and
                 healthz(inf)["segment_lists"] == 0, 10, what="delete through relay")
        check(metric(rel, 'beat_supervisor_relay_received_total{frame="segments"}') >= 2,
              "relay counted the frames")
        check(not metric(rel, "beat_supervisor_relay_bad_frames_total"), "no bad frames")
        relay.stop()
