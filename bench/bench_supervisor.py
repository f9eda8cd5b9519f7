#!/usr/bin/env python3
"""Supervisor fan-out benchmarks, real beat-supervisor process:
  1. state accepted → visible at N nng subscribers (N = 1, 8): time from
     sending POST /v1/state to the moment the last of N subscribers has
     received and decoded the snapshot carrying that version (probe:
     bench/sub_probe.c, one socket + thread per subscriber, decoding as
     inference does); p50/p99 over BEAT_BENCH_STATES (default 200) states
     (goal p99 ≤ 50 ms);
  2. a 16 MB checkpoint (hash_bits 22) to 8 subscribers: POST sent → all 8
     decoded it (goal ≤ 1 s), median of 3;
  3. accepted states/s: sequential POST /v1/state on one keep-alive
     connection for BEAT_BENCH_SECONDS (default 3) — each is an fsync'd
     SQLite transaction plus a snapshot publish.
Subscribers, supervisor and this script share the machine. Prints one line
per figure; nothing here asserts speed."""
import http.client, json, os, shutil, subprocess, sys, tempfile, threading, time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
from beatlib import ROOT, Procs, free_ports, get_json, healthz, pack_checkpoint, wait_for  # noqa: E402
from benchlib import probe_path  # noqa: E402

SEED = "6265617466656174"  # BEAT_HASH_SEED_DEFAULT
BITS = 22                  # 4 Mi weights: a 16 MB checkpoint
MAX_CKPT = 32 << 20
N_STATES = int(os.environ.get("BEAT_BENCH_STATES", "200"))
SECONDS = float(os.environ.get("BEAT_BENCH_SECONDS", "3"))


class Probe:
    """N subscribers in one process; seen[(tag, version)] = {idx: mono_s}."""
    def __init__(self, exe, url, n):
        self.n, self.seen, self.cv = n, {}, threading.Condition()
        self.p = subprocess.Popen([exe, url, str(n), str(MAX_CKPT + 4096)],
                                  stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            tag, idx, v, us = line.split()
            with self.cv:
                self.seen.setdefault((tag, int(v)), {})[int(idx)] = int(us) / 1e6
                self.cv.notify_all()

    def all_seen(self, tag, v, timeout=10.0):
        """Monotonic time the last subscriber had (tag, v)."""
        end = time.monotonic() + timeout
        with self.cv:
            while len(self.seen.get((tag, v), {})) < self.n:
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{tag} v{v}: {len(self.seen.get((tag, v), {}))}"
                                       f"/{self.n} subscribers after {timeout}s")
                self.cv.wait(left)
            return max(self.seen[(tag, v)].values())

    def close(self):
        self.p.kill()
        self.p.wait()


def state(i):
    return json.dumps({"v": 1, "actuator": "bench", "ts": int(time.time() * 1000),
                       "campaigns": {"acme-shoes": {"multiplier": 1.0 + (i % 100) / 1000,
                                                    "paused": False}}})


def big_ckpt(bits=BITS):
    dim = 1 << bits
    nw = dim + 1
    return pack_checkpoint({"kind": "logreg", "trainer": "bench", "hash_bits": bits,
                            "hash_seed": SEED, "dim": dim, "rank": 0, "n_weights": nw,
                            "samples_seen": 1, "auc": 0.5, "logloss": 0.69, "avg_ctr": 0.01,
                            "ts": int(time.time() * 1000)}, bytes(4 * nw))


def post(conn, path, body, ctype="application/json"):
    conn.request("POST", path, body, {"Content-Type": ctype})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"POST {path} -> {r.status} {data[:200]!r}")
    return json.loads(data)["version"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    exe = probe_path("sub_probe")
    tmp = tempfile.mkdtemp(prefix="beat-bench-sup-")
    port, = free_ports(1)
    pub = f"ipc://{tmp}/pub.ipc"
    with Procs(tmp) as procs:
        procs.start("sup", ["beat-supervisor", "--listen", f"127.0.0.1:{port}",
                            "--db", os.path.join(tmp, "sup.db"), "--pub", pub,
                            "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc", "--hash-bits", str(BITS),
                            "--max-checkpoint-bytes", str(MAX_CKPT), "--keep", "5",
                            "--backup-every-s", "0"])
        wait_for(lambda: healthz(port)["ready"], 10, what="supervisor ready")
        base = f"http://127.0.0.1:{port}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("PUT", "/v1/campaigns",
                     open(os.path.join(ROOT, "docs/examples/campaigns.json"), "rb").read(),
                     {"Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        if r.status != 200:
            raise RuntimeError(f"PUT campaigns -> {r.status}")
        for n in (1, 8):
            probe = Probe(exe, pub, n)
            wait_for(lambda: get_json(base + "/v1/versions")["peers"] == n, 10,
                     what=f"{n} subscribers connected")
            lat = []
            for i in range(N_STATES):
                t0 = time.monotonic()
                v = post(conn, "/v1/state", state(i))
                lat.append(probe.all_seen("S", v) - t0)
            print(f"supervisor state accepted→visible at {n} subscriber(s): "
                  f"p50 {pct(lat, 50) * 1e3:.2f} ms  p99 {pct(lat, 99) * 1e3:.2f} ms  "
                  f"(n={len(lat)}, goal p99 ≤ 50 ms)", flush=True)
            if n == 8:
                ck = big_ckpt()
                times = []
                for _ in range(3):
                    t0 = time.monotonic()
                    v = post(conn, "/v1/checkpoint", ck, "application/octet-stream")
                    times.append(probe.all_seen("C", v, timeout=30) - t0)
                print(f"supervisor {len(ck) / 1e6:.1f} MB checkpoint → 8 subscribers decoded: "
                      f"median {sorted(times)[1] * 1e3:.0f} ms  "
                      f"(runs {', '.join(f'{t * 1e3:.0f}' for t in times)} ms; goal ≤ 1 s)",
                      flush=True)
            probe.close()
        k, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            post(conn, "/v1/state", state(k))
            k += 1
        el = time.monotonic() - t0
        print(f"supervisor accepted states/s (sequential, fsync'd): {k / el:.0f}  "
              f"({k} in {el:.1f} s)", flush=True)
        conn.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
