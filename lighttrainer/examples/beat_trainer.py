#!/usr/bin/env python3
"""A second BEAT trainer in Python 3 standard library only: the swap
contract of docs/swapping.md ("## Trainer") in ~300 lines.

Model: per-feature click-rate counts turned into logistic-regression
weights. For each hashed index i it keeps the importance-weighted clicks
c[i] and samples n[i]; its weight is the smoothed log-odds lift of that
feature over the average click rate p0, divided by the mean number of
indices per sample (so that a sum of K lifts stays on the scale of one):
    w[i] = (logit((c[i] + A·p0) / (n[i] + A)) - logit(p0)) / K
    bias = logit(p0)
which inference scores exactly like the C trainer's weights (rank 0).

Data in: GET /v1/samples?after=SEQ&max=N from every datastream, with a
cursor and epoch per instance (a new epoch resets the cursor; samples gone
from the ring are counted as missed). Out: POST /v1/checkpoint every
--checkpoint-every-s seconds. It keeps no private state of its own: the
private section of the checkpoint it started from is handed on unchanged,
so that the trainer it replaced resumes its own optimizer state when it
comes back. Push failure: logged, counted, retried next period.

Usage (env twins as the C trainer; flags win):
    source run/<dir>/env && python3 lighttrainer/examples/beat_trainer.py
"""
import argparse, json, math, os, signal, struct, sys, time, urllib.error, urllib.request, zlib

MAGIC = b"BEATCKPT"
SAMPLES_V = 1  # the samples format read (docs/contracts.md, "Versions")
HASH_SEED_DEFAULT = 0x6265617466656174  # "beatfeat", as common/beat_features.h
SMOOTH = 20.0       # pseudo-samples of p0 in every feature's rate
WINDOW = 20000      # progressive-validation window (samples)

STOP = False


def log(ev, **kv):
    """One JSON object per line on stderr, like the C daemons."""
    rec = {"ts": int(time.time() * 1000), "lvl": kv.pop("lvl", "info"), "svc": "py-trainer",
           "ev": ev}
    rec.update(kv)
    sys.stderr.write(json.dumps(rec) + "\n")
    sys.stderr.flush()


def logit(p):
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def sigmoid(x):
    x = min(max(x, -35.0), 35.0)
    return 1.0 / (1.0 + math.exp(-x))


# ---- checkpoint (common/beat_ckpt.h, byte by byte) -------------------------

def encode_ckpt(header, weights, private):
    """magic, u32 version 1, u32 header_len, header JSON, u64 n_weights,
    n_weights f32, u64 private_len, private, u32 CRC32 of all before."""
    hj = json.dumps(header, separators=(",", ":")).encode()
    out = bytearray(MAGIC)
    out += struct.pack("<II", 1, len(hj)) + hj
    out += struct.pack("<Q", len(weights)) + weights.tobytes()
    out += struct.pack("<Q", len(private)) + private
    out += struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)
    return bytes(out)


def decode_ckpt(b):
    """Header dict and private bytes of a checkpoint; raises ValueError."""
    if len(b) < 16 or b[:8] != MAGIC:
        raise ValueError("bad magic")
    ver, hl = struct.unpack_from("<II", b, 8)
    if ver != 1:
        raise ValueError(f"format version {ver}")
    if zlib.crc32(b[:-4]) & 0xFFFFFFFF != struct.unpack_from("<I", b, len(b) - 4)[0]:
        raise ValueError("crc mismatch")
    hdr = json.loads(b[16:16 + hl])
    off = 16 + hl
    (nw,) = struct.unpack_from("<Q", b, off)
    off += 8 + 4 * nw
    (pl,) = struct.unpack_from("<Q", b, off)
    off += 8
    if off + pl + 4 != len(b):
        raise ValueError("lengths do not add up")
    return hdr, b[off:off + pl]


# ---- links -------------------------------------------------------------------

class Http:
    def __init__(self, token, timeout_s):
        self.token, self.timeout = token, timeout_s

    def get(self, url):
        """(status, body bytes); status 0 when unreachable."""
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (OSError, ValueError):
            return 0, b""

    def post(self, url, body):
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/octet-stream"})
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (OSError, ValueError):
            return 0, b""


class Cursor:
    def __init__(self, url):
        self.url, self.epoch, self.seq = url, None, 0


def pull(http, cur, max_n, stats):
    """One GET /v1/samples; returns the new samples in order ([] on failure)."""
    st, body = http.get(f"{cur.url}/v1/samples?after={cur.seq}&max={max_n}")
    if st != 200:
        stats["pull_failures"] += 1
        return []
    try:
        lines = body.decode().splitlines()
        head = json.loads(lines[0])
        rows = [json.loads(x) for x in lines[1:] if x.strip()]
    except (ValueError, IndexError, UnicodeDecodeError):
        stats["pull_failures"] += 1
        return []
    if head.get("v") != SAMPLES_V:  # unknown fields are fine, an unknown version is not
        stats["pull_failures"] += 1
        return []
    if cur.epoch is not None and head["epoch"] != cur.epoch:
        stats["epoch_resets"] += 1
        log("datastream_epoch", peer=cur.url, epoch=head["epoch"])
        cur.epoch, cur.seq = head["epoch"], 0
        return pull(http, cur, max_n, stats)  # the answer was to the old cursor
    cur.epoch = head["epoch"]
    first = head.get("first_seq", 0)
    if first > 0 and cur.seq < first - 1:
        stats["missed"] += first - 1 - cur.seq
    out = []
    for r in rows:
        if r["seq"] > cur.seq:
            cur.seq = r["seq"]
            out.append(r)
    return out


# ---- model -------------------------------------------------------------------

class CountModel:
    def __init__(self, dim):
        self.dim = dim
        self.c, self.n = {}, {}       # index -> weighted clicks / samples
        self.C = self.N = 0.0         # totals
        self.k_sum = self.k_n = 0.0   # indices per sample, for K
        self.seen = 0

    def p0(self):
        return (self.C + 1.0 * 0.01) / (self.N + 1.0)

    def k(self):
        return max(1.0, self.k_sum / self.k_n) if self.k_n else 1.0

    def lift(self, i, p0, lp0):
        n = self.n.get(i, 0.0)
        if n == 0:
            return 0.0
        return logit((self.c.get(i, 0.0) + SMOOTH * p0) / (n + SMOOTH)) - lp0

    def predict(self, feat):
        p0 = self.p0()
        lp0 = logit(p0)
        k = self.k()
        return sigmoid(lp0 + sum(self.lift(i & (self.dim - 1), p0, lp0) for i in feat) / k)

    def learn(self, feat, y, w):
        p = self.predict(feat)
        for i in feat:
            i &= self.dim - 1
            self.n[i] = self.n.get(i, 0.0) + w
            if y:
                self.c[i] = self.c.get(i, 0.0) + w
        self.N += w
        self.C += w * y
        self.k_sum += len(feat)
        self.k_n += 1
        self.seen += 1
        return p

    def weights(self):
        import array
        w = array.array("f", bytes(4 * (self.dim + 1)))
        p0 = self.p0()
        lp0 = logit(p0)
        k = self.k()
        for i in self.n:
            w[i] = self.lift(i, p0, lp0) / k
        w[self.dim] = lp0
        return w


def window_metrics(win):
    """Importance-weighted AUC (ties half) and log loss of (p, y, w)."""
    if not win:
        return None, None
    ll = sum(-w * (math.log(max(p, 1e-7)) if y else math.log(max(1 - p, 1e-7)))
             for p, y, w in win) / sum(w for _, _, w in win)
    neg_below = pos_total = s = 0.0
    rows = sorted(win)
    i = 0
    while i < len(rows):
        j, pos, neg = i, 0.0, 0.0
        while j < len(rows) and rows[j][0] == rows[i][0]:
            if rows[j][1]:
                pos += rows[j][2]
            else:
                neg += rows[j][2]
            j += 1
        s += pos * (neg_below + 0.5 * neg)
        neg_below += neg
        pos_total += pos
        i = j
    auc = s / (pos_total * neg_below) if pos_total > 0 and neg_below > 0 else None
    return auc, ll


# ---- main ----------------------------------------------------------------------

def env(name, dflt):
    v = os.environ.get(name)
    return v if v not in (None, "") else dflt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datastream", action="append",
                    help="datastream base URL, repeatable (BEAT_DATASTREAM_URLS, comma list)")
    ap.add_argument("--supervisor", default=env("BEAT_SUPERVISOR_URL", "http://127.0.0.1:8083"))
    ap.add_argument("--admin-token", default=env("BEAT_ADMIN_TOKEN", ""))
    ap.add_argument("--dev", action="store_true",
                    default=env("BEAT_DEV", "0").lower() in ("1", "true", "yes"),
                    help="allow an empty admin token (development only)")
    ap.add_argument("--hash-bits", type=int, default=int(env("BEAT_HASH_BITS", "20")))
    ap.add_argument("--hash-seed", default=env("BEAT_HASH_SEED", ""))
    ap.add_argument("--name", default=env("BEAT_PY_TRAINER_NAME", "py-trainer"))
    ap.add_argument("--checkpoint-every-s", type=float,
                    default=float(env("BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S", "10")))
    ap.add_argument("--pull-max", type=int, default=1000)
    ap.add_argument("--poll-ms", type=int, default=200)
    a = ap.parse_args()
    # As the C daemons (docs/deploy.md "Secrets and --dev"): no token, no start.
    if not a.admin_token and not a.dev:
        ap.exit(64, f"{ap.prog}: --admin-token: is empty; set BEAT_ADMIN_TOKEN "
                     "or pass --dev (BEAT_DEV=1) for development only\n")
    dss = a.datastream or env("BEAT_DATASTREAM_URLS", "http://127.0.0.1:8082").split(",")
    dss = [d.strip().rstrip("/") for d in dss if d.strip()]
    if not 10 <= a.hash_bits <= 26:
        ap.error("--hash-bits: not in [10, 26]")
    seed = int(a.hash_seed, 16) if a.hash_seed else HASH_SEED_DEFAULT
    sup = a.supervisor.rstrip("/")

    def stop(*_):
        global STOP
        STOP = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    http = Http(a.admin_token, 5.0)
    model = CountModel(1 << a.hash_bits)
    private = b""
    # Restore: samples_seen continues, the predecessor's private section is
    # carried (never interpreted), so it can resume when it comes back.
    backoff = 0.2
    while not STOP:
        st, body = http.get(f"{sup}/v1/checkpoint/latest")
        if st == 404:
            log("fresh_start")
            break
        if st == 200:
            try:
                hdr, private = decode_ckpt(body)
                model.seen = int(hdr.get("samples_seen", 0))
                log("restored", trainer=hdr.get("trainer"), samples_seen=model.seen)
                break
            except (ValueError, struct.error) as e:
                log("restore_bad_checkpoint", lvl="warn", reason=str(e))
                break
        log("supervisor_unreachable", lvl="warn", status=st)
        time.sleep(backoff)
        backoff = min(backoff * 2, 5.0)

    curs = [Cursor(u) for u in dss]
    stats = {"pull_failures": 0, "missed": 0, "epoch_resets": 0, "pushes": 0,
             "push_failures": 0}
    win = []
    next_push = 0.0  # the first checkpoint goes out right away: the swap is visible
    log("started", name=a.name, datastreams=dss, supervisor=sup, hash_bits=a.hash_bits)
    while not STOP:
        more = False
        for cur in curs:
            rows = pull(http, cur, a.pull_max, stats)
            more = more or len(rows) >= a.pull_max
            for r in rows:
                w = float(r.get("w", 1.0))
                if not (0 < w < 1e6):
                    continue
                y = 1 if r.get("label") else 0
                win.append((model.predict(r["feat"]), y, w))
                model.learn(r["feat"], y, w)
            if len(win) > WINDOW:
                del win[:len(win) - WINDOW]
        if time.monotonic() >= next_push:
            auc, ll = window_metrics(win)
            p0 = model.p0()
            hdr = {"kind": "logreg", "trainer": a.name, "hash_bits": a.hash_bits,
                   "hash_seed": f"{seed:016x}", "dim": model.dim, "rank": 0,
                   "factor_bits": 0, "n_weights": model.dim + 1,
                   "samples_seen": model.seen, "auc": auc, "logloss": ll,
                   "avg_ctr": p0, "ts": int(time.time() * 1000)}
            st, body = http.post(f"{sup}/v1/checkpoint",
                                 encode_ckpt(hdr, model.weights(), private))
            if st == 200:
                stats["pushes"] += 1
                log("checkpoint", version=json.loads(body).get("version"),
                    samples_seen=model.seen, auc=auc, logloss=ll, **stats)
                next_push = time.monotonic() + a.checkpoint_every_s
            else:
                stats["push_failures"] += 1
                log("checkpoint_failed", lvl="warn", status=st, body=body[:200].decode("replace"))
                next_push = time.monotonic() + min(a.checkpoint_every_s, 1.0)
        if not more:
            time.sleep(a.poll_ms / 1000)
    log("stopping", samples_seen=model.seen, **stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
