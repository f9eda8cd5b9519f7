"""Integration tests of beat-actuator and beat-lighttrainer against a fake
datastream (scripted aggregates and samples, with an epoch change) and a
fake supervisor (records states and checkpoints, serves campaigns and the
"latest" documents). The real binaries run on free loopback ports."""
import json, math, os, random, signal, struct, tempfile, threading, time, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

from beatlib import (ROOT, Procs, check, free_port, healthz, metric, wait_for)

TOKEN = "test-token"


class FakeServer:
    """A ThreadingHTTPServer on 127.0.0.1:port whose handler calls
    self.route(method, path, query, body) -> (status, content_type, bytes)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.httpd = None

    def start(self):
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _do(self, method):
                u = urlparse(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                st, ct, out = outer.route(method, u.path, parse_qs(u.query), body,
                                          self.headers)
                try:
                    self.send_response(st)
                    self.send_header("Content-Type", ct)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the client gave up (timeout): expected for slow peers

            def do_GET(self):
                self._do("GET")

            def do_POST(self):
                self._do("POST")

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, *a):
                pass

        self.httpd = Quiet(("127.0.0.1", self.port), H)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


def jbody(status, obj):
    return status, "application/json", json.dumps(obj).encode()


class FakeDatastream(FakeServer):
    """Serves scripted buckets and samples of one epoch at a time."""

    def __init__(self):
        super().__init__()
        self.epoch = "00000000000000a1"
        self.buckets = []   # [{"seq":…, "campaigns":{…}}]
        self.samples = []   # [dict as on the wire]

    def restart(self, epoch):
        """Simulates a datastream restart: new epoch, seqs from 1 again."""
        with self.lock:
            self.epoch = epoch
            self.buckets = []
            self.samples = []

    def add_bucket(self, campaigns):
        with self.lock:
            seq = len(self.buckets) + 1
            now = int(time.time() * 1000)
            self.buckets.append({"seq": seq, "start_ms": now - 1000, "end_ms": now,
                                 "campaigns": campaigns})

    def add_samples(self, rows):
        with self.lock:
            for r in rows:
                r = dict(r)
                r["seq"] = len(self.samples) + 1
                self.samples.append(r)

    def route(self, method, path, q, body, headers):
        after = int(q.get("after", ["0"])[0])
        with self.lock:
            if path == "/v1/aggregates":
                out = [b for b in self.buckets if b["seq"] > after]
                return jbody(200, {"v": 1, "instance": "fake-ds", "epoch": self.epoch,
                                   "bucket_ms": 1000,
                                   "first_seq": 1 if self.buckets else 0,
                                   "last_seq": len(self.buckets), "buckets": out})
            if path == "/v1/samples":
                mx = int(q.get("max", ["1000"])[0])
                out = [s for s in self.samples if s["seq"] > after][:mx]
                lines = [json.dumps({"v": 1, "instance": "fake-ds", "epoch": self.epoch,
                                     "first_seq": 1 if self.samples else 0,
                                     "last_seq": len(self.samples), "n": len(out)})]
                lines += [json.dumps(s) for s in out]
                return 200, "application/x-ndjson", ("\n".join(lines) + "\n").encode()
        return jbody(404, {"error": "no route"})


def campaigns_doc():
    """docs/examples/campaigns.json with "version":1 and absolute flights
    (so the set does not move between fetches)."""
    with open(os.path.join(ROOT, "docs", "examples", "campaigns.json")) as f:
        doc = json.load(f)
    now = int(time.time() * 1000)
    for c in doc["campaigns"]:
        flight = c.pop("flight_s", 3600)
        c.setdefault("start_ms", now - 60_000)
        c.setdefault("end_ms", c["start_ms"] + flight * 1000)
    doc["version"] = 1
    return doc


class FakeSupervisor(FakeServer):
    """Records states and checkpoints; mode "ok" or "unavailable" (503)."""

    def __init__(self, port=None):
        super().__init__(port)
        self.mode = "ok"
        self.campaigns = json.dumps(campaigns_doc()).encode()
        self.states = []       # parsed JSON, in arrival order
        self.ckpts = []        # raw bytes
        self.latest_state = None
        self.latest_ckpt = None
        self.unauthorized = 0

    def route(self, method, path, q, body, headers):
        with self.lock:
            if self.mode != "ok":
                return jbody(503, {"error": "unavailable"})
            if method == "POST" and headers.get("Authorization") != f"Bearer {TOKEN}":
                self.unauthorized += 1
                return jbody(401, {"error": "bad token"})
            if path == "/v1/campaigns":
                return 200, "application/json", self.campaigns
            if path == "/v1/state" and method == "POST":
                self.states.append(json.loads(body))
                return jbody(200, {"version": len(self.states)})
            if path == "/v1/state/latest":
                if self.latest_state is None:
                    return jbody(404, {"error": "no state yet"})
                return 200, "application/json", json.dumps(self.latest_state).encode()
            if path == "/v1/checkpoint" and method == "POST":
                self.ckpts.append(body)
                return jbody(200, {"version": len(self.ckpts)})
            if path == "/v1/checkpoint/latest":
                if self.latest_ckpt is None:
                    return jbody(404, {"error": "no checkpoint yet"})
                return 200, "application/octet-stream", self.latest_ckpt
        return jbody(404, {"error": "no route"})

    def n_states(self):
        with self.lock:
            return len(self.states)

    def states_since(self, i):
        with self.lock:
            return list(self.states[i:])

    def ckpts_since(self, i):
        with self.lock:
            return list(self.ckpts[i:])


def parse_ckpt(b):
    """Parses a checkpoint per common/beat_ckpt.h; raises on any mismatch."""
    check(b[:8] == b"BEATCKPT", "magic")
    ver, hl = struct.unpack_from("<II", b, 8)
    check(ver == 1, f"version {ver}")
    hdr = json.loads(b[16:16 + hl])
    off = 16 + hl
    (nw,) = struct.unpack_from("<Q", b, off)
    off += 8
    w = struct.unpack_from(f"<{nw}f", b, off)
    off += 4 * nw
    (pl,) = struct.unpack_from("<Q", b, off)
    off += 8
    priv = b[off:off + pl]
    off += pl
    (crc,) = struct.unpack_from("<I", b, off)
    check(off + 4 == len(b), "trailing bytes")
    check(zlib.crc32(b[:off]) == crc, "crc")
    fb = hdr.get("factor_bits", 0)
    check(hdr["n_weights"] == nw == hdr["dim"] + 1 + 2 * (hdr["rank"] << fb), "n_weights")
    check(hdr["dim"] == 1 << hdr["hash_bits"], "dim")
    check(priv[:4] == b"LTRP", "private magic")
    (jl,) = struct.unpack_from("<I", priv, 8)
    return hdr, w, json.loads(priv[12:12 + jl])


def spend_of(state, cid):
    return state["private"]["spend"].get(cid, 0)


def actuator_argv(ds, sup, port, extra=()):
    return ["beat-actuator", "--listen", f"127.0.0.1:{port}", "--datastream", ds.url,
            "--supervisor", sup.url, "--admin-token", TOKEN, "--tick-ms", "100",
            "--campaigns-every", "3", "--name", "act-test", *extra]


def test_actuator_spend_epochs_and_restart():
    ds = FakeDatastream().start()
    sup = FakeSupervisor().start()
    logdir = tempfile.mkdtemp(prefix="beat-act-")
    port = free_port()
    A, G = "acme-shoes", "globex-travel"
    row = lambda s: {"bids": 10, "wins": 2, "spend_micros": s, "imps": 2, "clicks": 1}
    try:
        with Procs(logdir) as procs:
            for _ in range(3):
                ds.add_bucket({A: row(1000), G: row(500)})
            act = procs.start("actuator", actuator_argv(ds, sup, port))

            def latest_spend(a):
                st = sup.states_since(max(0, sup.n_states() - 1))
                return st and spend_of(st[-1], A) == a and st[-1]

            st = wait_for(lambda: latest_spend(3000), 10, what="spend 3000")
            check(st["actuator"] == "act-test" and st["v"] == 1)
            check(set(st["campaigns"]) == {c["id"] for c in campaigns_doc()["campaigns"]})
            c = st["campaigns"][A]
            check(0 < c["multiplier"] <= 10 and c["paused"] is False, str(c))
            check(spend_of(st, G) == 1500)
            cur = st["private"]["cursors"][ds.url]
            check(cur == {"epoch": "00000000000000a1", "seq": 3}, str(cur))
            check(sup.unauthorized == 0)

            # More buckets in the same epoch: only the new ones count.
            ds.add_bucket({A: row(1000)})
            ds.add_bucket({A: row(1000), G: row(500)})
            wait_for(lambda: latest_spend(5000), 10, what="spend 5000")

            # Datastream restart: new epoch, seqs from 1. Counted once each.
            ds.restart("00000000000000b2")
            for _ in range(3):
                ds.add_bucket({A: row(2000)})
            st = wait_for(lambda: latest_spend(11000), 10, what="spend 11000")
            check(spend_of(st, G) == 2000)
            n = sup.n_states()
            wait_for(lambda: sup.n_states() >= n + 5, 10, what="5 more states")
            for s in sup.states_since(n):
                check(spend_of(s, A) == 11000, "double counted after epoch change")
            check(metric(port, "beat_actuator_epoch_resets_total") == 1)
            check(metric(port, "beat_actuator_ticks_total") > 0)
            check(metric(port, f'beat_actuator_spend_micros{{campaign="{A}"}}') == 11000)
            h = healthz(port)
            check(h["ready"] is True and h["svc"] == "actuator", str(h))

            # kill -9, restart: restores spend and cursors from the supervisor.
            act.signal(signal.SIGKILL)
            wait_for(lambda: not act.alive(), 5, what="actuator dead")
            with sup.lock:
                sup.latest_state = dict(sup.states[-1], version=len(sup.states))
            restored = spend_of(sup.latest_state, A)
            n = sup.n_states()
            act2 = procs.start("actuator2", actuator_argv(ds, sup, port))
            wait_for(lambda: sup.n_states() > n, 10, what="state after restart")
            first = sup.states_since(n)[0]
            check(spend_of(first, A) >= restored, f"spend reset: {spend_of(first, A)}")
            # The restored cursors keep the held buckets from counting twice.
            wait_for(lambda: sup.n_states() >= n + 5, 10, what="states after restart")
            for s in sup.states_since(n):
                check(spend_of(s, A) == 11000, f"after restart: {spend_of(s, A)}")
            ds.add_bucket({A: row(2000)})
            wait_for(lambda: latest_spend(13000), 10, what="spend 13000 after restart")
            check(any(e.get("ev") == "restored" for e in act2.events()))
            check(act2.stop() == 0)
    finally:
        ds.stop()
        sup.stop()


def test_actuator_waits_for_supervisor():
    ds = FakeDatastream().start()
    ds.add_bucket({"acme-shoes": {"spend_micros": 700}})
    sup = FakeSupervisor()  # not started: nothing listens on its port
    logdir = tempfile.mkdtemp(prefix="beat-act-")
    port = free_port()
    try:
        with Procs(logdir) as procs:
            act = procs.start("actuator", actuator_argv(ds, sup, port))
            h = wait_for(lambda: healthz(port), 10, what="admin up")
            check(h["ready"] is False and h.get("detail") == "restoring", str(h))
            # Up but failing (503): still restoring, still pushing nothing.
            sup.mode = "unavailable"
            sup.start()
            wait_for(lambda: (metric(port, 'beat_actuator_link_failures_total'
                                     '{peer="supervisor"}') or 0) >= 2, 10,
                     what="restore attempts counted")
            h = wait_for(lambda: "error status" in healthz(port).get("reason", "")
                         and healthz(port), 10, what="restore reason in /healthz")
            check(h["ready"] is False, str(h))
            check(sup.n_states() == 0)
            check(any(e.get("ev") == "supervisor_unreachable" for e in act.events()))
            with sup.lock:
                sup.mode = "ok"
            st = wait_for(lambda: sup.states_since(0), 15, what="state after restore")
            check(healthz(port)["ready"] is True)
            wait_for(lambda: spend_of(sup.states_since(0)[-1], "acme-shoes") == 700, 10,
                     what="spend counted")
            check(act.stop() == 0)
    finally:
        ds.stop()
        sup.stop()


def test_actuator_hard_stop_and_bad_weights():
    """Spend that reaches budget × (1 − stop margin), counting what is still
    in flight, pauses the campaign (hard stop) while the others bid on;
    a malformed --hourly-weights is refused at start (exit 64)."""
    ds = FakeDatastream().start()
    sup = FakeSupervisor().start()
    logdir = tempfile.mkdtemp(prefix="beat-act-")
    port = free_port()
    A, G = "acme-shoes", "globex-travel"  # budgets 50,000,000 µ each
    try:
        with Procs(logdir) as procs:
            bad = procs.start("bad", actuator_argv(ds, sup, free_port(),
                                                   ["--hourly-weights", "1,2,3"]))
            check(bad.p.wait(10) == 64, "bad --hourly-weights exits 64")
            ds.add_bucket({A: {"spend_micros": 40_000_000}, G: {"spend_micros": 1000}})
            act = procs.start("actuator", actuator_argv(
                ds, sup, port, ["--hourly-weights", ",".join(["1"] * 24)]))
            st = wait_for(lambda: (sup.states_since(0) or [None])[-1], 10, what="a state")
            check(st["campaigns"][A]["paused"] is False, str(st["campaigns"][A]))
            ds.add_bucket({A: {"spend_micros": 9_950_000}})  # 99.9%: inside the margin
            st = wait_for(lambda: (lambda s: s and s["campaigns"][A]["paused"] and s)(
                sup.states_since(0)[-1]), 10, what="acme-shoes paused at its budget")
            check(st["campaigns"][G]["paused"] is False, "other campaigns bid on")
            check(spend_of(st, A) == 49_950_000)
            check(act.stop() == 0)
    finally:
        ds.stop()
        sup.stop()


def synthetic_samples(n, rng, campaign="acme-shoes"):
    """Samples from a known logistic model over 40 hashed indices, with
    negatives down-sampled at 0.5 (weight 2)."""
    out = []
    while len(out) < n:
        feat = rng.sample(range(40), 4)
        s = -3.0 + sum(2.5 if f < 8 else -0.5 for f in feat)
        y = 1 if rng.random() < 1 / (1 + math.exp(-s)) else 0
        if not y and rng.random() >= 0.5:
            continue
        out.append({"campaign": campaign, "label": y, "w": 1.0 if y else 2.0,
                    "ts": int(time.time() * 1000), "feat": [f * 7919 for f in feat]})
    return out


def trainer_argv(ds, sup, port):
    return ["beat-lighttrainer", "--listen", f"127.0.0.1:{port}", "--datastream", ds.url,
            "--supervisor", sup.url, "--admin-token", TOKEN, "--hash-bits", "16",
            "--checkpoint-every-s", "1", "--poll-ms", "50", "--pull-max", "500",
            "--prior-ctr", "0.02", "--name", "ltr-test"]


def test_lighttrainer_checkpoints_epochs_and_restart():
    rng = random.Random(5)
    ds = FakeDatastream().start()
    ds.add_samples(synthetic_samples(3000, rng))
    sup = FakeSupervisor()
    sup.mode = "unavailable"
    sup.start()
    logdir = tempfile.mkdtemp(prefix="beat-ltr-")
    port = free_port()
    try:
        with Procs(logdir) as procs:
            ltr = procs.start("lighttrainer", trainer_argv(ds, sup, port))
            wait_for(lambda: (metric(port, 'beat_lighttrainer_link_failures_total'
                                     '{peer="supervisor"}') or 0) >= 2, 10,
                     what="restore attempts")
            h = healthz(port)
            check(h["ready"] is False and h.get("detail") == "restoring", str(h))
            check(not sup.ckpts_since(0), "pushed while the supervisor was down")
            with sup.lock:
                sup.mode = "ok"

            # First: the prior model, so inference can start bidding.
            first = wait_for(lambda: sup.ckpts_since(0), 15, what="initial checkpoint")[0]
            hdr, w, priv = parse_ckpt(first)
            check(hdr["kind"] == "logreg" and hdr["trainer"] == "ltr-test", str(hdr))
            check(hdr["hash_bits"] == 16 and hdr["rank"] == 8 and hdr["factor_bits"] == 16)
            check(hdr["samples_seen"] == 0, str(hdr))
            check(abs(w[hdr["dim"]] - math.log(0.02 / 0.98)) < 1e-4, "bias = logit(prior)")
            check(abs(hdr["avg_ctr"] - 0.02) < 1e-9)

            def ckpt_with(n):
                for b in reversed(sup.ckpts_since(0)):
                    hdr, w, priv = parse_ckpt(b)
                    if hdr["samples_seen"] == n:
                        return hdr, w, priv
                return None

            hdr, w, priv = wait_for(lambda: ckpt_with(3000), 15, what="3000 samples")
            check(hdr["auc"] > 0.7, f"auc {hdr['auc']}")
            check(0 < hdr["logloss"] < 1, f"logloss {hdr['logloss']}")
            # Positives are ~1/3 of the samples but negatives weigh 2.
            check(0.05 < hdr["avg_ctr"] < 0.4, f"avg_ctr {hdr['avg_ctr']}")
            check(priv["cursors"][ds.url]["seq"] == 3000, str(priv["cursors"]))
            check(metric(port, "beat_lighttrainer_samples_total") == 3000)

            # Datastream restart: the new epoch's samples are all trained.
            ds.restart("00000000000000c3")
            ds.add_samples(synthetic_samples(1000, rng))
            hdr, w, priv = wait_for(lambda: ckpt_with(4000), 15, what="4000 samples")
            auc_before = hdr["auc"]
            check(priv["cursors"][ds.url] == {"epoch": "00000000000000c3", "seq": 1000})
            check(metric(port, "beat_lighttrainer_epoch_resets_total") == 1)

            # kill -9 and restart from the last checkpoint.
            ltr.signal(signal.SIGKILL)
            wait_for(lambda: not ltr.alive(), 5, what="trainer dead")
            with sup.lock:
                sup.latest_ckpt = sup.ckpts[-1]
            n = len(sup.ckpts_since(0))
            ltr2 = procs.start("lighttrainer2", trainer_argv(ds, sup, port))
            wait_for(lambda: healthz(port)["ready"], 10, what="restored")
            ds.add_samples(synthetic_samples(500, rng))
            # Exactly 4500: the restored cursor skips the 1000 already learnt.
            hdr, w, priv = wait_for(lambda: ckpt_with(4500), 15, what="4500 samples")
            for b in sup.ckpts_since(n):
                check(parse_ckpt(b)[0]["samples_seen"] >= 4000, "model reset on restart")
            # The progressive window came back too: the AUC figure continues
            # (4000 restored + 500 new scores), it does not start over.
            check(abs(hdr["auc"] - auc_before) < 0.03, f"auc {auc_before} -> {hdr['auc']}")
            check(any(e.get("ev") == "restored" for e in ltr2.events()))
            check(ltr2.stop() == 0)
    finally:
        ds.stop()
        sup.stop()


class BadDatastream(FakeServer):
    """A datastream that answers garbage (rotating kinds) or, when slow,
    takes far longer than any client timeout."""

    GARBAGE = [
        (200, b"not json at all"),
        (200, b'{"v":1}'),
        (200, b'{"v":2,"instance":"x","epoch":"1","bucket_ms":1,"first_seq":0,'
              b'"last_seq":0,"buckets":[]}'),
        (200, b'{"v":1,"instance":"x","epoch":"zz","first_seq":0,"last_seq":1,"n":1}\n'
              b'{"seq":1,"campaign":"c","label":2,"w":-1,"ts":1,"feat":[1]}\n'),
        (200, b'{"v":1,"instance":"x","epoch":"1","first_seq":1,"last_seq":9,"n":5}\n'),
        (500, b'{"error":"boom"}'),
        (200, b"\x00\xff" * 5000),
    ]

    def __init__(self, slow=False):
        super().__init__()
        self.slow = slow
        self.calls = 0

    def route(self, method, path, q, body, headers):
        with self.lock:
            self.calls += 1
            i = self.calls
        if self.slow:
            time.sleep(3)
            return jbody(200, {})
        st, b = self.GARBAGE[i % len(self.GARBAGE)]
        return st, "application/json", b


def test_garbage_and_slow_datastreams_are_skipped():
    good = FakeDatastream().start()
    garbage = BadDatastream().start()
    slow = BadDatastream(slow=True).start()
    sup = FakeSupervisor().start()
    good.add_bucket({"acme-shoes": {"spend_micros": 4242}})
    good.add_samples(synthetic_samples(700, random.Random(9)))
    logdir = tempfile.mkdtemp(prefix="beat-bad-")
    ap, lp = free_port(), free_port()
    urls = [garbage.url, slow.url, good.url]
    try:
        with Procs(logdir) as procs:
            argv = ["beat-actuator", "--listen", f"127.0.0.1:{ap}", "--supervisor", sup.url,
                    "--admin-token", TOKEN, "--tick-ms", "100", "--http-timeout-ms", "300"]
            for u in urls:
                argv += ["--datastream", u]
            act = procs.start("actuator", argv)
            argv = trainer_argv(good, sup, lp)
            argv = [a for a in argv if a != good.url and a != "--datastream"]
            for u in urls:
                argv += ["--datastream", u]
            ltr = procs.start("lighttrainer", argv + ["--pull-timeout-ms", "300"])

            wait_for(lambda: sup.states_since(0) and
                     spend_of(sup.states_since(0)[-1], "acme-shoes") == 4242, 15,
                     what="good datastream counted")

            def trained(n):
                return any(parse_ckpt(b)[0]["samples_seen"] == n
                           for b in sup.ckpts_since(0))
            wait_for(lambda: trained(700), 20, what="good samples trained")
            # Admin stays responsive while the loop waits on the slow peer.
            for _ in range(5):
                t0 = time.monotonic()
                check(healthz(ap)["ready"] and healthz(lp)["ready"])
                check(time.monotonic() - t0 < 1.0, "admin blocked")
            for port, svc in ((ap, "actuator"), (lp, "lighttrainer")):
                for u in (garbage.url, slow.url):
                    v = metric(port, f'beat_{svc}_link_failures_total{{peer="{u}"}}')
                    check(v is not None and v >= 1, f"{svc} {u}: {v}")
            check(garbage.calls >= 7, "every kind of garbage served")
            for p in (act, ltr):
                check(p.alive(), f"{p.name} died")
                check(not any(e.get("lvl") in ("error", "fatal") for e in p.events()))
                check(p.stop() == 0)
    finally:
        for s in (good, garbage, slow, sup):
            s.stop()
