#!/usr/bin/env python3
"""A second BEAT actuator in Python 3 standard library only: the swap
contract of docs/swapping.md ("## Actuator") with a simpler strategy.

Strategy: per campaign, a proportional controller on the plan ratio.
Every tick it compares spend with the uniform plan and sets
    multiplier = clamp(previous × (plan / spend) ** GAIN, min, max)
(so it bids up when behind plan, down when ahead), and pauses a campaign
when its spend reaches budget × (1 − stop margin), outside the flight or
when the operator paused it. The plan is taken at the data time: the
oldest `heard_ms` of the datastreams (every notice before it is counted);
while that is older than --max-unheard-ms (or a datastream says 0,
"unknown") the multipliers hold: empty buckets then mean "no news", not
"nothing spent".

In: GET /v1/aggregates?after=SEQ from every datastream, a cursor and epoch
per instance (a new epoch resets the cursor to 0; a bucket is counted once).
GET /v1/campaigns from the supervisor (budgets, flights).
Out: POST /v1/state (Bearer BEAT_ADMIN_TOKEN) each tick, its own actuator
name in "actuator". Its "private" uses the C actuator's keys for the money
("spend": {campaign: micros}, "cursors": {url: {"epoch","seq"}}), so that
either actuator restores from the other's state without losing spend.
Restore: GET /v1/state/latest before the first push; 404 = fresh start;
unreachable or 5xx = retry with backoff and push nothing meanwhile.

Usage (env twins as the C actuator; flags win):
    source run/<dir>/env && python3 actuator/examples/beat_actuator.py
"""
import argparse, json, math, os, signal, sys, time, urllib.error, urllib.request

STOP = False
# The formats this actuator reads and writes (docs/contracts.md, "Versions"):
# an unknown version is refused, unknown fields are ignored.
# Campaign sets are v1, or v2 when a campaign uses the supply-chain fields,
# which limit where it bids, not what pacing reads: both are read here.
AGG_V, STATE_V = 1, 1
CAMPAIGNS_V = (1, 2)


def log(ev, **kv):
    """One JSON object per line on stderr, like the C daemons."""
    rec = {"ts": int(time.time() * 1000), "lvl": kv.pop("lvl", "info"), "svc": "py-actuator",
           "ev": ev}
    rec.update(kv)
    sys.stderr.write(json.dumps(rec) + "\n")
    sys.stderr.flush()


def http(method, url, body=None, token="", timeout=1.0):
    """(status, parsed JSON or None). Raises OSError when unreachable."""
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None


class Actuator:
    def __init__(self, a):
        self.a = a
        self.sup = a.supervisor.rstrip("/")
        self.ds = [u.rstrip("/") for u in a.datastream]
        self.spend = {}       # campaign -> micros counted so far
        self.mult = {}        # campaign -> multiplier
        self.cursors = {}     # datastream url -> {"epoch": hex, "seq": n}
        self.heard = {}       # datastream url -> its last heard_ms (absent: older datastream)
        self.camps = {}       # campaign -> dict from the supervisor
        self.camps_version = None
        self.pushes = self.failures = 0

    # ---- restore ------------------------------------------------------
    def restore(self):
        """True once restored or told there is nothing (404)."""
        try:
            st, doc = http("GET", self.sup + "/v1/state/latest", timeout=self.a.timeout)
        except OSError as e:
            log("supervisor_unreachable", lvl="warn", op="restore", err=str(e))
            return False
        if st == 404:
            log("fresh_start")
            return True
        if st != 200 or not isinstance(doc, dict):
            log("supervisor_unreachable", lvl="warn", op="restore", status=st)
            return False
        for cid, c in (doc.get("campaigns") or {}).items():
            m = c.get("multiplier") if isinstance(c, dict) else None
            if isinstance(m, (int, float)) and math.isfinite(m) and m > 0:
                self.mult[cid] = float(m)
        priv = doc.get("private") or {}
        for cid, v in (priv.get("spend") or {}).items():
            if isinstance(v, (int, float)) and 0 <= v < 9e18:
                self.spend[cid] = int(v)
        for url, cur in (priv.get("cursors") or {}).items():
            if isinstance(cur, dict) and isinstance(cur.get("seq"), int) \
                    and isinstance(cur.get("epoch"), str):
                self.cursors[url.rstrip("/")] = {"epoch": cur["epoch"], "seq": cur["seq"]}
        log("restored", writer=doc.get("actuator"), version=doc.get("version"),
            campaigns=len(self.spend), spend_micros=sum(self.spend.values()))
        return True

    # ---- inputs ---------------------------------------------------------
    def refresh_campaigns(self):
        try:
            st, doc = http("GET", self.sup + "/v1/campaigns", timeout=self.a.timeout)
        except OSError as e:
            log("peer_down", lvl="warn", op="campaigns", err=str(e))
            return
        if st != 200 or not isinstance(doc, dict):
            log("peer_down", lvl="warn", op="campaigns", status=st)
            return
        if doc.get("v") not in CAMPAIGNS_V:
            log("peer_garbage", lvl="warn", op="campaigns", err=f"unsupported version {doc.get('v')}")
            return
        if doc.get("version") == self.camps_version and self.camps:
            return
        need = ("start_ms", "end_ms", "budget_micros")
        self.camps = {c["id"]: c for c in doc.get("campaigns", [])
                      if isinstance(c, dict) and "id" in c and c.get("end_ms", 0) > c.get("start_ms", 0)
                      and all(isinstance(c.get(k), int) for k in need)}
        self.camps_version = doc.get("version")
        log("campaigns", version=self.camps_version, n=len(self.camps))

    def pull(self, url):
        cur = self.cursors.setdefault(url, {"epoch": None, "seq": 0})
        for _ in range(8):  # a capped answer is followed up, this many times
            try:
                st, doc = http("GET", f"{url}/v1/aggregates?after={cur['seq']}",
                               timeout=self.a.timeout)
            except OSError as e:
                log("peer_down", lvl="warn", peer=url, err=str(e))
                return
            if st != 200 or not isinstance(doc, dict):
                log("peer_down", lvl="warn", peer=url, status=st)
                return
            if doc.get("v") != AGG_V:  # unknown fields are fine, an unknown version is not
                log("peer_garbage", lvl="warn", peer=url, err=f"unsupported version {doc.get('v')}")
                return
            if cur["epoch"] is not None and doc.get("epoch") != cur["epoch"]:
                # The datastream restarted: its seqs start again at 1.
                log("datastream_epoch", peer=url, epoch=doc.get("epoch"))
                cur["epoch"], refetch = doc.get("epoch"), cur["seq"] > 0
                cur["seq"] = 0
                if refetch:
                    continue
            h = doc.get("heard_ms")
            if isinstance(h, int) and h >= 0:
                self.heard[url] = h
            try:
                n = self.count(cur, doc)
            except (AttributeError, KeyError, TypeError, ValueError) as e:
                log("peer_garbage", lvl="warn", peer=url, err=repr(e))
                return
            if n == 0 or cur["seq"] >= doc.get("last_seq", 0):
                return

    def count(self, cur, doc):
        """Adds the new buckets of one answer; returns how many were new."""
        cur["epoch"] = doc.get("epoch")
        first = doc.get("first_seq", 0)
        if cur["seq"] > 0 and isinstance(first, int) and first > cur["seq"] + 1:
            # Gone from the instance's ring before we read them: spend lost.
            log("buckets_missed", lvl="warn", missed=first - cur["seq"] - 1)
        n = 0
        for b in doc.get("buckets", []):
            seq = b["seq"]
            if not isinstance(seq, int) or seq <= cur["seq"]:
                continue  # already counted (or garbage)
            cur["seq"] = seq
            n += 1
            for cid, row in b.get("campaigns", {}).items():
                v = row.get("spend_micros", 0)
                if isinstance(v, int) and v > 0:
                    self.spend[cid] = self.spend.get(cid, 0) + v
        return n

    # ---- control --------------------------------------------------------
    def step(self, now_ms):
        out = {}
        # Data time: what every datastream reporting heard_ms has heard.
        heard = [self.heard[u] for u in self.ds if u in self.heard]
        data_ms = min(heard + [now_ms])
        hold = now_ms - data_ms > self.a.max_unheard_ms
        for cid, c in self.camps.items():
            start, end, budget = c["start_ms"], c["end_ms"], c["budget_micros"]
            spent = self.spend.get(cid, 0)
            m = self.mult.get(cid, 1.0)
            paused = bool(c.get("paused")) or now_ms < start or now_ms >= end or \
                spent >= budget * (1 - self.a.stop_margin)
            if not paused and not hold:
                plan = budget * (min(max(data_ms, start), end) - start) / (end - start)
                ratio = (plan + 0.01 * budget) / (spent + 0.01 * budget)
                m = m * ratio ** self.a.gain
                m = min(max(m, self.a.min_multiplier), self.a.max_multiplier)
            self.mult[cid] = m
            out[cid] = {"multiplier": round(m, 6), "paused": paused, "spent_micros": spent}
        return out

    def push(self, camps, now_ms):
        state = {"v": STATE_V, "actuator": self.a.name, "ts": now_ms, "campaigns": camps,
                 "private": {"spend": self.spend,
                             "cursors": {u: c for u, c in self.cursors.items()
                                         if c["epoch"] is not None}}}
        try:
            st, doc = http("POST", self.sup + "/v1/state", json.dumps(state).encode(),
                           self.a.admin_token, timeout=self.a.timeout)
        except OSError as e:
            st, doc = None, str(e)
        if st == 200:
            self.pushes += 1
            return
        self.failures += 1
        log("state_rejected" if st == 400 else "peer_down", lvl="warn", op="state",
            status=st, body=doc)
        if st == 400:
            self.camps_version = None  # the set may have changed: refetch

    def run(self):
        backoff = 0.1
        while not STOP and not self.restore():
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        next_t, next_stats, ticks = time.monotonic(), time.monotonic() + 10, 0
        while not STOP:
            if ticks % 5 == 0 or not self.camps:
                self.refresh_campaigns()
            for url in self.ds:
                self.pull(url)
            if self.camps:
                now = int(time.time() * 1000)
                self.push(self.step(now), now)
            ticks += 1
            if time.monotonic() >= next_stats:
                log("stats", ticks=ticks, pushes=self.pushes, push_failures=self.failures,
                    spend_micros=sum(self.spend.values()))
                next_stats += 10
            next_t += self.a.tick_ms / 1000.0
            while not STOP and time.monotonic() < next_t:
                time.sleep(min(0.05, max(0.0, next_t - time.monotonic())))
            next_t = max(next_t, time.monotonic())
        log("stopping", ticks=ticks, pushes=self.pushes)


def main():
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datastream", action="append",
                   help="datastream base URL, repeatable (env BEAT_DATASTREAM_URLS, comma list)")
    p.add_argument("--supervisor", default=env("BEAT_SUPERVISOR_URL", "http://127.0.0.1:8083"))
    p.add_argument("--admin-token", default=env("BEAT_ADMIN_TOKEN", ""))
    p.add_argument("--dev", action="store_true",
                   default=env("BEAT_DEV", "0").lower() in ("1", "true", "yes"),
                   help="allow an empty admin token (development only)")
    p.add_argument("--name", default=env("BEAT_PY_ACTUATOR_NAME", "py-actuator"))
    p.add_argument("--tick-ms", type=int, default=int(env("BEAT_ACTUATOR_TICK_MS", "1000")))
    p.add_argument("--gain", type=float, default=0.5,
                   help="exponent of the plan/spend ratio per tick")
    p.add_argument("--min-multiplier", type=float,
                   default=float(env("BEAT_ACTUATOR_MIN_MULTIPLIER", "0.05")))
    p.add_argument("--max-multiplier", type=float,
                   default=float(env("BEAT_ACTUATOR_MAX_MULTIPLIER", "10")))
    p.add_argument("--stop-margin", type=float, default=0.005)
    p.add_argument("--max-unheard-ms", type=int, default=10000,
                   help="hold the multipliers while a datastream's heard_ms is older")
    p.add_argument("--http-timeout-ms", type=int,
                   default=int(env("BEAT_ACTUATOR_HTTP_TIMEOUT_MS", "500")))
    a = p.parse_args()
    # As the C daemons (docs/deploy.md "Secrets and --dev"): no token, no start.
    if not a.admin_token and not a.dev:
        p.exit(64, f"{p.prog}: --admin-token: is empty; set BEAT_ADMIN_TOKEN "
                    "or pass --dev (BEAT_DEV=1) for development only\n")
    if not a.datastream:
        a.datastream = [u for u in env("BEAT_DATASTREAM_URLS", "http://127.0.0.1:8082").split(",")
                        if u]
    if a.tick_ms < 50 or a.min_multiplier <= 0 or a.min_multiplier > a.max_multiplier:
        p.error("bad --tick-ms or multiplier bounds")
    a.timeout = a.http_timeout_ms / 1000.0

    def stop(*_):
        global STOP
        STOP = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("started", name=a.name, supervisor=a.supervisor, datastreams=a.datastream)
    Actuator(a).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
