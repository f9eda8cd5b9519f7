"""The supervisor's database killed mid-write under load: a poster re-sends
the latest (multi-MiB) checkpoint back to back, on top of the actuator's
states and the trainer's checkpoints, while the supervisor is SIGKILLed at a
random moment; a few rounds. After each restart the SQLite file opens, the
last acknowledged versions are intact (never lower than what was committed
before the kill), the served checkpoint passes its CRC, and versions
advance again."""
import json, random, struct, threading, time, zlib
import recovery
from beatlib import check, http, wait_for

ROUNDS = 4


def blob_ok(blob):
    return len(blob) > 8 and blob[:8] == b"BEATCKPT" and \
        zlib.crc32(blob[:-4]) & 0xffffffff == struct.unpack("<I", blob[-4:])[0]


def latest_ckpt(e):
    st, hd, blob = http("GET", e.url("supervisor", "/v1/checkpoint/latest"), timeout=10)
    check(st == 200, f"checkpoint/latest -> {st}")
    hv = {k.lower(): v for k, v in hd.items()}.get("x-beat-version")
    return int(hv), blob


def one_round(c, rng, tok):
    e = c.e
    wait_for(lambda: e.health("supervisor").get("ready"), 30, what="supervisor ready")
    _, blob = latest_ckpt(e)
    check(blob_ok(blob), "served checkpoint fails its CRC")
    acked, cut, stop = [0], [False], threading.Event()
    hdr = {"Authorization": f"Bearer {tok}", "Content-Type": "application/octet-stream"}

    def poster():
        while not stop.is_set():
            try:
                st, _, b = http("POST", e.url("supervisor", "/v1/checkpoint"), blob, hdr,
                                timeout=10)
            except Exception:  # noqa: BLE001 - the kill cut this write short
                cut[0] = True
                return
            if st != 200:
                return
            acked[0] = json.loads(b)["version"]

    t = threading.Thread(target=poster, daemon=True)
    t.start()
    wait_for(lambda: acked[0] > 0, 15, what="checkpoint writes acknowledged")
    time.sleep(rng.uniform(0.05, 0.5))  # a random instant inside the write stream
    before = recovery.sup_versions(e)    # committed before the kill
    e.ctl("stop", "supervisor", "KILL")
    wait_for(lambda: not e.pid("supervisor"), 10, what="supervisor dead")
    stop.set()
    t.join(15)
    e.ctl("start", "supervisor")
    wait_for(lambda: e.health("supervisor").get("ready"), 30, what="supervisor back")
    after = recovery.sup_versions(e)
    for k in ("campaigns", "state", "model"):
        check(after[k] >= before[k], f"{k} version went back: {before[k]} → {after[k]}")
    check(after["model"] >= acked[0], f"acknowledged model {acked[0]} lost ({after['model']})")
    v, blob = latest_ckpt(e)
    check(v >= acked[0] and blob_ok(blob), f"checkpoint v{v} after restart is not intact")
    check(recovery.state_latest(e).get("private"), "state/latest lost its private part")
    return cut[0]


def outage(c, down_s):
    rng = random.Random(9)
    tok = c.e.shared_env()["BEAT_ADMIN_TOKEN"]
    cuts = sum(one_round(c, rng, tok) for _ in range(ROUNDS))
    check(cuts >= 1, "no kill landed while a checkpoint write was in flight")
    c.notes.append(f"{ROUNDS} kills, {cuts} cut a checkpoint write in flight")


def test_supervisor_db_crash():
    recovery.run("supervisor-db-crash", "supervisor", how=outage, down_s=0)
