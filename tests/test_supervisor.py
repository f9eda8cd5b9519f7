"""beat-supervisor as a real process: campaigns, state and checkpoint APIs,
validation (400 + reason, version unchanged), auth (401), limits (413),
restart and kill -9 durability, and refusal of a corrupt database.
The nng side is covered by supervisor/publish_test.c and the lead's
end-to-end test."""
import json, os, shutil, signal, struct, sys, tempfile, threading, time, zlib

from beatlib import (Procs, check, free_port, get_json, http, metric, pack_checkpoint,
                     wait_for, ROOT)

CAMPAIGNS = os.path.join(ROOT, "docs", "examples", "campaigns.json")
TOKEN = "sekrit"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON_AUTH = dict(AUTH, **{"Content-Type": "application/json"})
SEED = "6265617466656174"  # BEAT_HASH_SEED_DEFAULT


def start(procs, tmp, name="sup", db=None, extra=(), token=TOKEN, wait=True):
    port = free_port()
    argv = ["beat-supervisor", "--listen", f"127.0.0.1:{port}",
            "--db", db or os.path.join(tmp, "db", "sup.db"),
            "--pub", f"ipc://{tmp}/pub.ipc", "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc",
            "--hash-bits", "10", "--heartbeat-ms", "200"] + list(extra)
    if token:
        argv += ["--admin-token", token]
    p = procs.start(name, argv)
    base = f"http://127.0.0.1:{port}"
    if wait:
        wait_for(lambda: get_json(base + "/healthz")["ready"], 10, what=f"{name} ready")
    return p, port, base


def ckpt(bits=10, seed=SEED, trainer="py-trainer", auc=0.71, weights=None,
         private=b"opt-state", nan_at=None, ts=1700000000000):
    """A checkpoint following common/beat_ckpt.h byte for byte."""
    dim = 1 << bits
    nw = dim + 1
    w = weights if weights is not None else [((i * 37) % 101 - 50) / 100.0 for i in range(nw)]
    if nan_at is not None:
        w = list(w); w[nan_at] = float("nan")
    return pack_checkpoint({"kind": "logreg", "trainer": trainer, "hash_bits": bits,
                            "hash_seed": seed, "dim": dim, "rank": 0, "n_weights": nw,
                            "samples_seen": 1234, "auc": auc, "logloss": 0.3,
                            "avg_ctr": 0.01, "ts": ts}, w, private)


def state(mult=1.2, cid="acme-shoes", private=None, actuator="act-1", ahead_ms=0):
    s = {"v": 1, "actuator": actuator, "ts": int(time.time() * 1000) + ahead_ms,
         "campaigns": {cid: {"multiplier": mult, "paused": False}}}
    if private is not None:
        s["private"] = private
    return json.dumps(s)


def post(base, path, body, headers=AUTH, ctype="application/json"):
    h = dict(headers); h["Content-Type"] = ctype
    return http("POST", base + path, body, h)


def jbody(resp):
    return json.loads(resp[2])


def tmpdir():
    return tempfile.mkdtemp(prefix="beat-sup-")


def test_campaigns_put_get():
    tmp = tmpdir()
    with Procs(os.path.join(tmp, "logs")) as procs:
        _, port, base = start(procs, tmp)
        check(http("GET", base + "/v1/campaigns")[0] == 404, "404 before any campaigns")
        body = open(CAMPAIGNS, "rb").read()
        st, _, b = http("PUT", base + "/v1/campaigns", body)
        check(st == 401, f"PUT without token -> {st}")
        st, _, b = http("PUT", base + "/v1/campaigns", body, JSON_AUTH)
        check(st == 200 and json.loads(b) == {"version": 1}, f"PUT -> {st} {b!r}")
        got = get_json(base + "/v1/campaigns")
        want = json.load(open(CAMPAIGNS))
        check(got["version"] == 1, "GET has version")
        check([c["id"] for c in got["campaigns"]] == [c["id"] for c in want["campaigns"]])
        c0 = got["campaigns"][0]
        check(c0["end_ms"] - c0["start_ms"] == want["campaigns"][0]["flight_s"] * 1000,
              "flight_s resolved to absolute times")
        # invalid sets are refused with a reason; the stored one stays
        bad = json.loads(body); bad["campaigns"][0]["budget_micros"] = 0
        for b2 in (json.dumps(bad), "not json", "", '{"v":1}'):
            st, _, rb = http("PUT", base + "/v1/campaigns", b2, JSON_AUTH)
            check(st == 400 and json.loads(rb)["error"], f"bad set -> {st} {rb!r}")
        check(b"budget_micros" in http("PUT", base + "/v1/campaigns", json.dumps(bad), JSON_AUTH)[2])
        check(get_json(base + "/v1/versions")["campaigns"] == 1, "version unchanged")
        check(metric(port, 'beat_supervisor_rejected_total{kind="campaigns"}') == 5)
        st, _, b = http("PUT", base + "/v1/campaigns", body, JSON_AUTH)
        check(json.loads(b) == {"version": 2}, "second PUT -> version 2")
        # method / path errors
        check(http("DELETE", base + "/v1/campaigns")[0] == 405)
        check(http("GET", base + "/v1/nope")[0] == 404)
    shutil.rmtree(tmp, ignore_errors=True)


def test_state_accept_and_reject():
    tmp = tmpdir()
    with Procs(os.path.join(tmp, "logs")) as procs:
        _, port, base = start(procs, tmp, extra=["--campaigns", CAMPAIGNS])
        st, _, b = http("GET", base + "/v1/state/latest")
        check(st == 404 and json.loads(b)["error"] == "no state yet", f"{st} {b!r}")
        priv = {"spend_micros": {"acme-shoes": 1234567}, "pid": [0.1, 0.2, 12345678901]}
        r = post(base, "/v1/state", state(1.5, private=priv))
        check(r[0] == 200 and jbody(r) == {"version": 1}, f"valid state -> {r[0]} {r[2]!r}")
        latest = get_json(base + "/v1/state/latest")
        check(latest["version"] == 1 and latest["private"] == priv, f"latest {latest}")
        check(latest["campaigns"]["acme-shoes"]["multiplier"] == 1.5)
        good = json.loads(state())
        cases = {
            "unknown campaign": state(cid="no-such-campaign"),
            "multiplier NaN string": json.dumps({**good, "campaigns": {"acme-shoes": {"multiplier": "NaN", "paused": False}}}),
            "multiplier negative": state(-0.5),
            "multiplier too large": state(10.5),
            "multiplier inf": state().replace("1.2", "1e999"),
            "missing campaigns": json.dumps({k: v for k, v in good.items() if k != "campaigns"}),
            "missing v": json.dumps({k: v for k, v in good.items() if k != "v"}),
            "wrong v": json.dumps({**good, "v": 2}),
            "not json": "{\"v\":1,",
            "empty": "",
            "array": "[]",
            # ts an hour ahead: inference would never see it go stale
            "ts in the future": state(ahead_ms=3600 * 1000),
        }
        for what, body in cases.items():
            r = post(base, "/v1/state", body)
            check(r[0] == 400, f"{what}: {r[0]} {r[2]!r}")
            check(jbody(r).get("error"), f"{what}: no reason")
        check("no-such-campaign" in jbody(post(base, "/v1/state", cases["unknown campaign"]))["error"])
        check("ahead" in jbody(post(base, "/v1/state", cases["ts in the future"]))["error"])
        check(get_json(base + "/v1/versions")["state"] == 1, "version unchanged")
        check(get_json(base + "/v1/state/latest")["private"] == priv, "state unchanged")
        check(metric(port, 'beat_supervisor_rejected_total{kind="state"}') == len(cases) + 2)
        # within --max-clock-skew-ms (5 s by default): a clock a little fast is fine
        r = post(base, "/v1/state", state(ahead_ms=2000))
        check(r[0] == 200, f"2 s ahead -> {r[0]} {r[2]!r}")
        # auth
        check(post(base, "/v1/state", state(), headers={})[0] == 401, "no token")
        check(post(base, "/v1/state", state(), headers={"Authorization": "Bearer nope"})[0] == 401)
        check(http("GET", base + "/v1/state")[0] == 405)
        r = post(base, "/v1/state", state(0.0))
        check(r[0] == 200 and jbody(r) == {"version": 3}, "multiplier 0 is valid")
        v = get_json(base + "/v1/versions")
        check(v["state"] == 3 and v["state_actuator"] == "act-1" and v["campaigns"] == 1, f"{v}")
    shutil.rmtree(tmp, ignore_errors=True)


def test_no_token_configured_allows_writes():
    tmp = tmpdir()
    with Procs(os.path.join(tmp, "logs")) as procs:
        _, _, base = start(procs, tmp, token="", extra=["--campaigns", CAMPAIGNS])
        r = post(base, "/v1/state", state(), headers={})
        check(r[0] == 200, f"{r[0]} {r[2]!r}")
    shutil.rmtree(tmp, ignore_errors=True)


def test_body_limits_413():
    tmp = tmpdir()
    with Procs(os.path.join(tmp, "logs")) as procs:
        _, port, base = start(procs, tmp, extra=["--campaigns", CAMPAIGNS,
                                                 "--max-json-bytes", "16384",
                                                 "--max-checkpoint-bytes", "65536"])
        big = state(private={"pad": "x" * 20000})
        r = post(base, "/v1/state", big)
        check(r[0] == 413, f"oversize state -> {r[0]}")
        small = ckpt()  # ~4 KiB at 10 bits
        check(len(small) < 65536)
        r = post(base, "/v1/checkpoint", small + b"\0" * (65536 - len(small) + 1),
                 ctype="application/octet-stream")
        check(r[0] == 413, f"oversize checkpoint -> {r[0]}")
        check(metric(port, 'beat_supervisor_rejected_total{kind="state"}') == 1)
        check(post(base, "/v1/state", state())[0] == 200, "still serving")
    shutil.rmtree(tmp, ignore_errors=True)


def test_checkpoint_accept_reject_and_get():
    tmp = tmpdir()
    with Procs(os.path.join(tmp, "logs")) as procs:
        _, port, base = start(procs, tmp)
        check(http("GET", base + "/v1/checkpoint/latest")[0] == 404, "404 before any model")
        good = ckpt()
        r = post(base, "/v1/checkpoint", good, ctype="application/octet-stream")
        check(r[0] == 200 and jbody(r) == {"version": 1}, f"valid ckpt -> {r[0]} {r[2]!r}")
        bad_crc = good[:-4] + struct.pack("<I", (zlib.crc32(good[:-4]) + 1) & 0xffffffff)
        flipped = bytearray(good); flipped[len(good) // 2] ^= 0x40
        cases = {
            "crc": (bad_crc, "crc"),
            "flipped byte": (bytes(flipped), "crc"),
            "truncated": (good[: len(good) // 2], "truncated"),
            "magic": (b"NOTACKPT" + good[8:], "magic"),
            "hash_bits": (ckpt(bits=11), "hash_bits"),
            "hash_seed": (ckpt(seed="1234"), "hash_seed"),
            "nan weight": (ckpt(nan_at=7), "finite"),
            "ts in the future": (ckpt(ts=int(time.time() * 1000) + 3600 * 1000), "ahead"),
            "empty": (b"", ""),
        }
        for what, (body, word) in cases.items():
            r = post(base, "/v1/checkpoint", body, ctype="application/octet-stream")
            check(r[0] == 400, f"{what}: {r[0]} {r[2]!r}")
            check(word in jbody(r)["error"], f"{what}: reason {r[2]!r}")
        check(post(base, "/v1/checkpoint", good, headers={})[0] == 401, "no token")
        st, hdr, b = http("GET", base + "/v1/checkpoint/latest")
        check(st == 200 and b == good, "latest is byte-identical")
        check(hdr.get("X-Beat-Version") == "1", f"X-Beat-Version {hdr}")
        v = get_json(base + "/v1/versions")
        check(v["model"] == 1 and v["model_trainer"] == "py-trainer", f"{v}")
        check(abs(v["model_auc"] - 0.71) < 1e-9, f"{v}")
        check(metric(port, 'beat_supervisor_rejected_total{kind="checkpoint"}') == len(cases))
        good2 = ckpt(trainer="t2", auc=None)
        r = post(base, "/v1/checkpoint", good2, ctype="application/octet-stream")
        check(jbody(r) == {"version": 2}, f"{r[2]!r}")
        st, hdr, b = http("GET", base + "/v1/checkpoint/latest")
        check(b == good2 and hdr.get("X-Beat-Version") == "2")
        check(get_json(base + "/v1/versions")["model_auc"] is None, "auc null")
    shutil.rmtree(tmp, ignore_errors=True)


def test_campaign_pacing_and_stored_v2_set():
    """A set stored by a supervisor from before "pacing" (v 2) loads and is
    served unchanged; a set naming modes is accepted as v 3 and survives a
    restart; an unknown mode is refused with the field named."""
    import sqlite3
    tmp = tmpdir()
    db = os.path.join(tmp, "db", "sup.db")
    os.makedirs(os.path.dirname(db))
    want = json.load(open(CAMPAIGNS))
    v2 = {"v": 2, "version": 1, "campaigns": []}
    for c in want["campaigns"]:
        c = dict(c)
        c.pop("flight_s", None)
        c["start_ms"], c["end_ms"] = 1700000000000, 1700003600000
        c["sellers"] = ["ssp.example"]
        v2["campaigns"].append(c)
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE campaigns(version INTEGER PRIMARY KEY AUTOINCREMENT,"
        " ts INTEGER NOT NULL, source_hash TEXT, json TEXT NOT NULL);")
    con.execute("INSERT INTO campaigns(version,ts,source_hash,json) VALUES(1,?,?,?)",
                (int(time.time() * 1000), "api:old", json.dumps(v2)))
    con.commit()
    con.close()
    with Procs(os.path.join(tmp, "logs")) as procs:
        p, _, base = start(procs, tmp, "sup1", db=db)
        got = get_json(base + "/v1/campaigns")
        check(got["v"] == 2 and got["version"] == 1, f"stored v2 set served: {got['v']}")
        check([c["id"] for c in got["campaigns"]] == [c["id"] for c in v2["campaigns"]])
        check(all("pacing" not in c for c in got["campaigns"]), "no pacing invented")
        modes = ["value", "even", "asap"]
        v3 = dict(want, v=3)
        v3["campaigns"] = [dict(c, pacing=modes[i % 3]) for i, c in enumerate(want["campaigns"])]
        st, _, b = http("PUT", base + "/v1/campaigns", json.dumps(v3), JSON_AUTH)
        check(st == 200 and json.loads(b) == {"version": 2}, f"PUT v3 -> {st} {b!r}")
        bad = json.loads(json.dumps(v3))
        bad["campaigns"][0]["pacing"] = "fast"
        st, _, b = http("PUT", base + "/v1/campaigns", json.dumps(bad), JSON_AUTH)
        check(st == 400 and b"campaigns[0].pacing: must be" in b, f"bad mode -> {st} {b!r}")
        check(p.stop() == 0)
        p, _, base = start(procs, tmp, "sup2", db=db)
        got = get_json(base + "/v1/campaigns")
        check(got["v"] == 3 and got["version"] == 2, f"after restart: v {got['v']}")
        check([c.get("pacing") for c in got["campaigns"]] ==
              [c["pacing"] for c in v3["campaigns"]], "modes kept")
    shutil.rmtree(tmp, ignore_errors=True)


def test_restart_preserves_everything():
    tmp = tmpdir()
    camp = os.path.join(tmp, "campaigns.json")
    shutil.copy(CAMPAIGNS, camp)
    args = ["--campaigns", camp, "--keep", "3"]
    with Procs(os.path.join(tmp, "logs")) as procs:
        p, _, base = start(procs, tmp, "sup1", extra=args)
        priv = {"spend_micros": 42, "nested": {"a": [1, 2, 3]}}
        for i in range(5):
            check(post(base, "/v1/state", state(1.0 + i / 10, private=priv))[0] == 200)
        good = ckpt()
        check(post(base, "/v1/checkpoint", good, ctype="application/octet-stream")[0] == 200)
        before = {k: get_json(base + k) for k in ("/v1/versions", "/v1/campaigns", "/v1/state/latest")}
        check(before["/v1/versions"]["state"] == 5)
        check(p.stop() == 0, "SIGTERM -> exit 0")

        p, _, base = start(procs, tmp, "sup2", extra=args)
        after = {k: get_json(base + k) for k in before}
        check(after == before, f"after restart {after['/v1/versions']} != {before['/v1/versions']}")
        check(http("GET", base + "/v1/checkpoint/latest")[2] == good)
        # versions continue, never reused (retention deleted 1 and 2)
        check(jbody(post(base, "/v1/state", state()))["version"] == 6)
        # a PUT is not reverted by a restart with the unchanged file...
        check(jbody(http("PUT", base + "/v1/campaigns", open(CAMPAIGNS, "rb").read(), JSON_AUTH))["version"] == 2)
        check(p.stop() == 0)
        p, _, base = start(procs, tmp, "sup3", extra=args)
        check(get_json(base + "/v1/versions")["campaigns"] == 2, "PUT kept over unchanged file")
        check(p.stop() == 0)
        # ...but an edited file is applied as a new version
        c = json.load(open(camp)); c["campaigns"] = c["campaigns"][:1]
        json.dump(c, open(camp, "w"))
        p, _, base = start(procs, tmp, "sup4", extra=args)
        got = get_json(base + "/v1/campaigns")
        check(got["version"] == 3 and len(got["campaigns"]) == 1, f"edited file -> {got['version']}")
    shutil.rmtree(tmp, ignore_errors=True)


def kill9_during_writes(procs, p, base, send):
    """Posts with send(n) in a loop while a timer SIGKILLs the supervisor;
    returns the last version acknowledged before the kill."""
    acked = 0
    t0 = time.monotonic()
    killer = threading.Timer(0.7, lambda: p.signal(signal.SIGKILL))
    killer.start()
    while time.monotonic() - t0 < 10:
        try:
            r = send(acked + 1)
        except OSError:
            break
        if r[0] != 200:
            break
        acked = jbody(r)["version"]
    killer.join()
    wait_for(lambda: not p.alive(), 5, what="killed")
    check(acked > 0, "some writes acknowledged before the kill")
    return acked


def test_kill9_while_posting():
    tmp = tmpdir()
    args = ["--campaigns", CAMPAIGNS]
    with Procs(os.path.join(tmp, "logs")) as procs:
        p, _, base = start(procs, tmp, "sup1", extra=args)
        acked = kill9_during_writes(procs, p, base, lambda n: post(
            base, "/v1/state", state(1.0, private={"n": n})))
        p, _, base = start(procs, tmp, "sup2", extra=args)
        latest = get_json(base + "/v1/state/latest")
        check(latest["version"] >= acked, f"version {latest['version']} < last acked {acked}")
        check(latest["private"]["n"] == latest["version"], "content matches version")
        check(not any(e.get("lvl") == "fatal" for e in p.events()), "no fatal on restart")
    shutil.rmtree(tmp, ignore_errors=True)


def ckpt_private(blob):
    """The trainer-private section of a checkpoint (layout: common/beat_ckpt.h)."""
    hlen = struct.unpack_from("<I", blob, 12)[0]
    off = 16 + hlen
    nw = struct.unpack_from("<Q", blob, off)[0]
    off += 8 + 4 * nw
    plen = struct.unpack_from("<Q", blob, off)[0]
    return blob[off + 8:off + 8 + plen]


def test_kill9_while_posting_checkpoints():
    """kill -9 in the middle of a stream of checkpoint writes: the restart
    passes the integrity check and serves the last acknowledged checkpoint
    (or a later one that was committed but not yet acknowledged), intact."""
    tmp = tmpdir()
    args = ["--campaigns", CAMPAIGNS]
    with Procs(os.path.join(tmp, "logs")) as procs:
        p, _, base = start(procs, tmp, "sup1", extra=args)
        acked = kill9_during_writes(procs, p, base, lambda n: post(
            base, "/v1/checkpoint", ckpt(private=b"n=%d" % n),
            ctype="application/octet-stream"))
        p, _, base = start(procs, tmp, "sup2", extra=args)
        st, hd, blob = http("GET", base + "/v1/checkpoint/latest")
        check(st == 200, f"latest checkpoint after restart -> {st}")
        v = int(hd.get("X-Beat-Version") or hd.get("x-beat-version"))
        check(v >= acked, f"version {v} < last acked {acked}")
        check(ckpt_private(blob) == b"n=%d" % v, "content matches its version")
        check(zlib.crc32(blob[:-4]) & 0xffffffff == struct.unpack("<I", blob[-4:])[0],
              "served checkpoint passes its CRC")
        check(not any(e.get("lvl") == "fatal" for e in p.events()), "no fatal on restart")
    shutil.rmtree(tmp, ignore_errors=True)


def test_corrupt_db_refused():
    tmp = tmpdir()
    db = os.path.join(tmp, "bad.db")
    with open(db, "wb") as f:
        f.write(b"this is not an sqlite database " * 200)
    with Procs(os.path.join(tmp, "logs")) as procs:
        p, _, _ = start(procs, tmp, db=db, wait=False)
        wait_for(lambda: not p.alive(), 10, what="exit on corrupt db")
        check(p.p.returncode == 1, f"exit code {p.p.returncode}")
        ev = [e for e in p.events() if e.get("ev") == "db_corrupt"]
        check(ev and ev[0]["lvl"] == "fatal" and db in ev[0]["reason"], f"{p.logs()[-500:]}")
    shutil.rmtree(tmp, ignore_errors=True)


def test_corrupt_db_names_good_backup_and_restores():
    tmp = tmpdir()
    db = os.path.join(tmp, "db", "sup.db")
    with Procs(os.path.join(tmp, "logs")) as procs:
        p, _, base = start(procs, tmp, db=db, extra=["--backup-every-s", "1"])
        with open(CAMPAIGNS, "rb") as f:
            check(http("PUT", base + "/v1/campaigns", f.read(), JSON_AUTH)[0] == 200)
        v = jbody(post(base, "/v1/state", state(mult=1.7)))["version"]
        # One backup at start, one after the writes (the 1 s timer).
        wait_for(lambda: len([e for e in p.events() if e.get("ev") == "backup_done"]) >= 2,
                 10, what="backup after writes")
        p.stop()
        with open(db, "r+b") as f:
            f.seek(0); f.write(b"garbage!" * 512)
        for ext in ("-wal", "-shm"):
            if os.path.exists(db + ext): os.remove(db + ext)
        p2, _, _ = start(procs, tmp, name="sup2", db=db, wait=False)
        wait_for(lambda: not p2.alive(), 10, what="exit on corrupt db")
        check(p2.p.returncode == 1, f"exit code {p2.p.returncode}")
        ev = [e for e in p2.events() if e.get("ev") == "db_corrupt"]
        check(ev and "last good backup: " + db + ".bak" in ev[0]["reason"],
              f"{p2.logs()[-800:]}")
        # Following the message restores the last committed version.
        shutil.copyfile(db + ".bak", db)
        _, _, base3 = start(procs, tmp, name="sup3", db=db)
        got = get_json(base3 + "/v1/state/latest")
        check(got["version"] == v and got["campaigns"]["acme-shoes"]["multiplier"] == 1.7,
              f"restored {got}")
    shutil.rmtree(tmp, ignore_errors=True)


def test_bad_campaigns_file_refused():
    tmp = tmpdir()
    camp = os.path.join(tmp, "c.json")
    with open(camp, "w") as f:
        f.write('{"v":1,"campaigns":[{"id":"x"}]}')
    with Procs(os.path.join(tmp, "logs")) as procs:
        p, _, _ = start(procs, tmp, extra=["--campaigns", camp], wait=False)
        wait_for(lambda: not p.alive(), 10, what="exit on bad campaigns file")
        check(p.p.returncode == 1, f"exit code {p.p.returncode}")
        check(any(e.get("ev") == "campaigns_file_invalid" and e.get("lvl") == "fatal"
                  for e in p.events()), p.logs()[-500:])
    shutil.rmtree(tmp, ignore_errors=True)


def test_rejected_state_alerts_then_resolves():
    """A rejected state raises a warning at the webhook (Slack-compatible
    JSON); the next accepted state posts "resolved"."""
    tmp = tmpdir()
    out, port_file = os.path.join(tmp, "hooks.jsonl"), os.path.join(tmp, "sink.port")
    with Procs(os.path.join(tmp, "logs")) as procs:
        procs.start("sink", [sys.executable, os.path.join(ROOT, "tests", "webhook_sink.py"),
                             "--out", out, "--port-file", port_file])
        port = int(wait_for(lambda: os.path.exists(port_file) and open(port_file).read(), 10,
                            what="webhook sink"))
        os.environ["BEAT_ALERT_WEBHOOK"] = f"http://127.0.0.1:{port}/hook"
        try:
            _, _, base = start(procs, tmp, extra=["--campaigns", CAMPAIGNS,
                                                  "--alert-interval-ms", "50"])
        finally:
            del os.environ["BEAT_ALERT_WEBHOOK"]

        def posts():
            if not os.path.exists(out):
                return []
            return [json.loads(line)["text"] for line in open(out) if line.strip()]
        r = post(base, "/v1/state", state(cid="no-such-campaign"))
        check(r[0] == 400, f"bad state -> {r[0]}")
        warn = wait_for(lambda: [t for t in posts() if t.startswith("[WARN]")], 10,
                        what="warning at the webhook")
        check("state_rejected" in warn[0] and "unknown campaign" in warn[0], warn[0])
        # The rule may post once per interval: keep sending good states until
        # the resolution goes out (each accepted state clears the rule).
        def resolved():
            check(post(base, "/v1/state", state())[0] == 200, "good state accepted")
            return [t for t in posts() if t.startswith("[RESOLVED]")]
        res = wait_for(resolved, 10, interval=0.1, what="resolved at the webhook")
        check("state_rejected" in res[0], res[0])
    shutil.rmtree(tmp, ignore_errors=True)
