#!/usr/bin/env python3
"""Inference throughput and latency with a production-sized world:
1,000 campaigns and a 2^20-weight model pushed through a real supervisor
(PUT /v1/campaigns, POST /v1/state, POST /v1/checkpoint), one inference
worker, its bid logs pushed over TCP to a sink that discards them (so the
receiver → Kafka pipeline does not compete for the same two cores; the send
cost stays in the figure). Same wrk settings for nginx (1 worker, fixed
300-byte POST reply) in the same run:
  - peak bids/s and the ratio inference / nginx;
  - p50/p99 latency at half of inference's peak (wrk paced with delay());
  - the handler's own p50/p99 (beat_inference_bid_latency_seconds).
Prints figures; asserts nothing about speed. Used by bench.py; runs alone
too (BUILD=build-x python3 bench/bench_inference.py)."""
import json, os, random, shutil, struct, subprocess, sys, tempfile, time, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
from beatlib import (BUILD, ROOT, Procs, free_ports, get_json, healthz, http,  # noqa: E402
                     wait_for)
from benchlib import CONNS, DUR, nginx, post_many_script, probe_path, wrk  # noqa: E402

N_CAMPAIGNS = int(os.environ.get("BEAT_BENCH_CAMPAIGNS", "1000"))
# Campaigns that fit the bench request, 1 in FIT_EVERY (they are scored;
# the rest are filtered out by targeting/size first). Printed with figures.
FIT_EVERY = int(os.environ.get("BEAT_BENCH_FIT_EVERY", "10"))
# --bidlog-batch for the run ("" = the daemon's default; 1 = one event per
# nng message).
BIDLOG_BATCH = os.environ.get("BEAT_BENCH_BIDLOG_BATCH", "")
# Another beat-inference binary (e.g. an older build) for A/B runs.
INFERENCE_BIN = os.environ.get("BEAT_BENCH_INFERENCE", "beat-inference")
# Distinct requests wrk cycles through (requests()).
N_REQUESTS = int(os.environ.get("BEAT_BENCH_REQUESTS", "5000"))
HASH_BITS = 20
SEED = "6265617466656174"  # BEAT_HASH_SEED_DEFAULT
COUNTRIES = ["USA", "GBR", "DEU", "FRA", "CAN"]
SIZES = [(300, 250), (728, 90), (320, 50), (160, 600)]
CATS = ["IAB1", "IAB2", "IAB12", "IAB18", "IAB19", "IAB20"]

REQUEST = {"id": "bench-1", "at": 2, "tmax": 200, "cur": ["USD"],
           "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": 0.05}],
           "site": {"id": "s1", "domain": "news.example", "cat": ["IAB12"],
                    "publisher": {"id": "p1"}},
           "device": {"devicetype": 2, "os": "ios", "geo": {"country": "USA"}},
           "user": {"id": "u1"}}


def requests(n):
    """n distinct bid requests shaped like REQUEST (so the same campaigns
    fit), with what varies from one real request to the next: auction and
    imp ids, the site's domain (2,000 of them) and publisher (200), the user.
    One-off feature values are what the bidder's caches cannot keep."""
    rnd = random.Random(5)
    out = []
    for i in range(n):
        q = json.loads(json.dumps(REQUEST))
        q["id"] = f"bench-{i}-{rnd.getrandbits(48):012x}"
        q["imp"][0]["id"] = str(1 + i % 3)
        q["site"]["domain"] = f"site{rnd.randrange(2000)}.example"
        q["site"]["publisher"]["id"] = f"p{rnd.randrange(200)}"
        q["user"]["id"] = f"u{rnd.getrandbits(40):010x}"
        out.append(json.dumps(q, separators=(",", ":")))
    return out


def campaigns(n, fit_every):
    """n campaigns; every fit_every-th one fits REQUEST (300x250, no country
    limit or one including USA), the others differ by size or country, so
    the bidder filters them out before scoring."""
    rnd = random.Random(7)
    out = []
    for i in range(n):
        cid = f"bench-c{i:04d}"
        fits = i % fit_every == 0
        w, h = (300, 250) if fits or i % 2 else SIZES[1 + i % 3]
        countries = (["USA", rnd.choice(COUNTRIES[1:])] if fits else
                     rnd.sample(COUNTRIES[1:], 2)) if i % 3 == 0 else []
        if not fits and i % 2 and not countries:
            countries = ["FRA"]
        out.append({
            "id": cid, "advertiser": f"Bench {i}", "adomain": [f"adv{i}.example"],
            "cat": [rnd.choice(CATS)], "flight_s": 86400,
            "budget_micros": 10_000_000_000, "base_bid_cpm_micros": 1_000_000 + 1000 * i,
            "max_bid_cpm_micros": 9_000_000, "paused": False,
            "targeting": {"countries": countries,
                          "device_types": [], "os": [], "site_cat": [],
                          "domains_allow": [], "domains_block": ["blocked.example"],
                          "bundles_allow": [], "bundles_block": []},
            "creatives": [{"crid": f"{cid}-{w}x{h}", "w": w, "h": h,
                           "adm": f"<a href=\"${{CLICK_URL}}\"><img src=\"https://cdn."
                                  f"adv{i}.example/{w}x{h}.png\"></a>",
                           "landing": f"https://adv{i}.example/landing"}]})
    return {"v": 1, "campaigns": out}


def checkpoint(bits):
    """Logistic regression, 2^bits small random weights + bias (pCTR ≈ 1%)."""
    dim = 1 << bits
    nw = dim + 1
    rnd = random.Random(11)
    w = [rnd.gauss(0.0, 0.05) for _ in range(dim)] + [-4.6]
    hdr = json.dumps({"kind": "logreg", "trainer": "bench", "hash_bits": bits,
                      "hash_seed": SEED, "dim": dim, "rank": 0, "n_weights": nw,
                      "samples_seen": 1000000, "auc": 0.7, "logloss": 0.05,
                      "avg_ctr": 0.01, "ts": int(time.time() * 1000)}).encode()
    b = b"BEATCKPT" + struct.pack("<II", 1, len(hdr)) + hdr
    b += struct.pack("<Q", nw) + struct.pack(f"<{nw}f", *w) + struct.pack("<Q", 0)
    return b + struct.pack("<I", zlib.crc32(b) & 0xffffffff)


def state(ids):
    return json.dumps({"v": 1, "actuator": "bench", "ts": int(time.time() * 1000),
                       "campaigns": {c: {"multiplier": 1.0, "paused": False} for c in ids}})


def hist_buckets(port, name):
    """[(le, cumulative count)] of a Prometheus histogram at /metrics."""
    st, _, b = http("GET", f"http://127.0.0.1:{port}/metrics")
    out = []
    for line in b.decode().splitlines():
        if line.startswith(name + "_bucket{") and 'le="' in line:
            le = line.split('le="', 1)[1].split('"')[0]
            out.append((float("inf") if le == "+Inf" else float(le),
                        float(line.rsplit(" ", 1)[1])))
    return out


def quantiles(before, after, qs=(0.5, 0.99)):
    """Quantiles (bucket upper bounds) of what was observed between two
    snapshots of the same histogram."""
    diff = [(le, c - (before[i][1] if i < len(before) else 0))
            for i, (le, c) in enumerate(after)]
    total = diff[-1][1] if diff else 0
    return {q: next((le for le, c in diff if total and c >= q * total), None) for q in qs}


def cpu_s(pid):
    """CPU seconds (user + system, all threads) of pid and its children
    (nginx's worker is the master's child)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tck
        except (OSError, IndexError, ValueError):
            pass
    return total


def measured(pid, url, script, **kw):
    """wrk run plus the server's CPU microseconds per request."""
    c0 = cpu_s(pid)
    qps, lat, err = wrk(url, script, **kw)
    secs = float(kw.get("seconds") or DUR)
    cpu_us = (cpu_s(pid) - c0) * 1e6 / max(qps * secs, 1)
    return qps, lat, err, cpu_us


def paced_script(tmp, bodies_path, delay_ms):
    s = os.path.join(tmp, f"paced-{delay_ms}.lua")
    with open(s, "w") as f:
        f.write(open(post_many_script(tmp, bodies_path)).read())
        f.write(f"function delay() return {delay_ms} end\n")
    return s


def fmt_s(v):
    return "?" if v is None else f"<={v * 1e6:.0f}us"


def run(tmp, sink_exe):
    sup_port, inf_port, sink_port = free_ports(3)
    with Procs(os.path.join(tmp, "logs")) as procs:
        procs.start("supervisor", ["beat-supervisor", "--listen", f"127.0.0.1:{sup_port}",
                                   "--db", os.path.join(tmp, "sup.db"),
                                   "--pub", f"ipc://{tmp}/pub.ipc",
                                   "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc",
                                   "--hash-bits", str(HASH_BITS)])
        sbase = f"http://127.0.0.1:{sup_port}"
        wait_for(lambda: get_json(sbase + "/healthz")["ready"], 15, what="supervisor")
        sink = subprocess.Popen([sink_exe, f"tcp://127.0.0.1:{sink_port}"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            if sink.stdout.readline().strip() != "listening":
                raise RuntimeError("bidlog sink did not start")
            camps = campaigns(N_CAMPAIGNS, FIT_EVERY)
            for method, path, body, ctype in (
                    ("PUT", "/v1/campaigns", json.dumps(camps), "application/json"),
                    ("POST", "/v1/state", state([c["id"] for c in camps["campaigns"]]),
                     "application/json"),
                    ("POST", "/v1/checkpoint", checkpoint(HASH_BITS),
                     "application/octet-stream")):
                st, _, b = http(method, sbase + path, body, {"Content-Type": ctype},
                                timeout=60)
                if st != 200:
                    raise RuntimeError(f"{method} {path} -> {st} {b[:300]!r}")
            inf = procs.start("inference", [
                INFERENCE_BIN, "--listen", f"127.0.0.1:{inf_port}", "--workers", "1",
                "--max-state-age-ms", "86400000",  # the bench's state is not refreshed
                *(["--bidlog-batch", BIDLOG_BATCH] if BIDLOG_BATCH else []),
                "--supervisor-pub", f"ipc://{tmp}/pub.ipc",
                "--supervisor-rep", f"ipc://{tmp}/rep.ipc",
                "--supervisor-lease", f"ipc://{tmp}/lease.ipc",
                "--receiver-bidlog", f"tcp://127.0.0.1:{sink_port}",
                "--notice-secret", "bench-secret", "--name", "inference-bench"],
                # anonymous bench traffic (env, so an older binary still starts)
                env={"BEAT_INFERENCE_OPEN": "1"})
            wait_for(lambda: (lambda h: h["ready"] and h["campaigns"] == N_CAMPAIGNS)(
                healthz(inf_port)), 60, what="inference ready with the bench world")
            bodies = requests(N_REQUESTS)
            body_path = os.path.join(tmp, "requests.jsonl")
            with open(body_path, "w") as f:
                f.write("\n".join(bodies) + "\n")
            url = f"http://127.0.0.1:{inf_port}/openrtb2/bid"
            st, _, b = http("POST", url, bodies[0])
            if st != 200:
                raise RuntimeError(f"inference did not bid ({st} {b[:200]!r})")
            script = post_many_script(tmp, body_path)
            ng, ng_url = nginx(tmp)
            try:
                wrk(url, script, seconds=2)  # warm-up (pages, caches)
                base_qps, base_lat, _, ng_cpu = measured(ng.pid, ng_url, script)
                inf_qps, inf_lat, inf_err, inf_cpu = measured(inf.pid, url, script)
                base2, _, _, ng_cpu2 = measured(ng.pid, ng_url, script)
            finally:
                ng.terminate()
                ng.wait(5)
            base = (base_qps + base2) / 2
            # Half of the peak: each connection waits delay ms between requests.
            half = inf_qps / 2
            delay_ms = 2
            conns = max(1, round(half * delay_ms / 1000))
            hname = "beat_inference_bid_latency_seconds"
            before = hist_buckets(inf_port, hname)
            h_qps, h_lat, h_err = wrk(url, paced_script(tmp, body_path, delay_ms),
                                      conns=conns)
            hq = quantiles(before, hist_buckets(inf_port, hname))
            sink.stdin.close()
            sunk = sink.stdout.read().strip()
        finally:
            if sink.poll() is None:
                sink.kill()
            sink.wait(5)
        print(f"nginx fixed 300-byte POST reply: {base:,.0f} req/s "
              f"(runs {base_qps:,.0f} / {base2:,.0f}; p50 {base_lat.get('50')}, "
              f"p99 {base_lat.get('99')}; wrk -t1 -c{CONNS} -d{DUR}s)")
        n_fit = (N_CAMPAIGNS + FIT_EVERY - 1) // FIT_EVERY
        print(f"inference, {N_CAMPAIGNS} campaigns ({n_fit} fit each request; "
              f"{N_REQUESTS} distinct requests: 2,000 domains, 200 publishers), "
              f"2^{HASH_BITS}-weight model, 1 worker, bid-log batch {BIDLOG_BATCH or 'default'}: "
              f"{inf_qps:,.0f} bids/s (p50 {inf_lat.get('50')}, p99 {inf_lat.get('99')}, "
              f"non-2xx {inf_err})")
        print(f"ratio inference/nginx: {inf_qps / base:.2f}")
        ng_us = (ng_cpu + ng_cpu2) / 2
        print(f"CPU per request (all threads): inference {inf_cpu:.1f}us, nginx "
              f"{ng_us:.1f}us; CPU ratio nginx/inference {ng_us / max(inf_cpu, 1e-9):.2f} "
              f"(steadier than req/s when other work shares the cores)")
        print(f"at half peak ({h_qps:,.0f} req/s, {conns} conns): p50 {h_lat.get('50')}, "
              f"p99 {h_lat.get('99')} (non-2xx {h_err}); handler p50 {fmt_s(hq[0.5])}, "
              f"p99 {fmt_s(hq[0.99])}")
        print(f"bid logs at the sink: {sunk}")
    return 0


def main():
    sink_exe = probe_path("bidlog_sink")
    tmp = tempfile.mkdtemp(prefix="beat-bench-inf-")
    try:
        return run(tmp, sink_exe)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
