#!/usr/bin/env python3
"""Inference throughput and latency with a production-sized world:
1,000 campaigns and a 2^20-weight model pushed through a real supervisor
(PUT /v1/campaigns, POST /v1/state, POST /v1/checkpoint), one inference
worker, its bid logs pushed over TCP to a sink that discards and counts
them (so the receiver → Kafka pipeline does not compete for the same two
cores; the send cost stays in the figure). The server (inference, then
nginx: 1 worker, fixed 300-byte POST reply, config as in benchlib) runs
pinned to core 0, wrk, the open-loop load generator and the sink to core 1
(BEAT_BENCH_PIN=0: no pinning). In the same run it prints:
  - req/s and CPU µs per request (all threads, /proc/<pid>/task/*/stat) of
    inference and nginx, and both ratios; each core's busy and steal time;
  - where inference's CPU goes per request: the handler (mean of
    beat_inference_bid_latency_seconds; it runs on the pinned core), the
    HTTP server and event loop (the worker thread's rest), the bid-log
    sender and nng's threads, other threads, and the kernel's share (stime);
  - p50/p99/p99.9 at half of inference's peak from bench/loadgen (open
    loop: latency from each request's scheduled send, so a stall counts
    for every request it delays), the handler's own p50/p99, and nginx's
    at the same rate (the tail the shared cores cause on their own);
  - last, the handler's phases measured alone by bench/handler_probe (one
    thread, no HTTP, thread CPU time: the quiet figure for A/B runs of
    handler changes).
Prints figures; asserts nothing about speed. Used by bench.py; runs alone
too (BUILD=build-x python3 bench/bench_inference.py)."""
import json, os, random, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
from beatlib import (BUILD, ROOT, Procs, free_ports, get_json, healthz, http,  # noqa: E402
                     pack_checkpoint, wait_for)
from benchlib import (CLIENT_CPU, CONNS, DUR, PIN, SERVER_CPU, client_argv,  # noqa: E402
                      cpu_delta, family, nginx, pin, post_many_script, probe_path, proc_stat,
                      stat_share, thread_cpu, wrk)

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
    return pack_checkpoint({"kind": "logreg", "trainer": "bench", "hash_bits": bits,
                            "hash_seed": SEED, "dim": dim, "rank": 0, "n_weights": nw,
                            "samples_seen": 1000000, "auc": 0.7, "logloss": 0.05,
                            "avg_ctr": 0.01, "ts": int(time.time() * 1000)}, w)


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
    for p in family(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tck
        except (OSError, IndexError, ValueError):
            pass
    return total


class Run:
    """One measured wrk run against a server: req/s, latency, the server's
    CPU by thread and the cores' busy / steal shares."""

    def __init__(self, pid, url, script, **kw):
        c0, s0 = thread_cpu(pid), proc_stat()
        self.qps, self.lat, self.err = wrk(url, script, **kw)
        self.cpu = cpu_delta(c0, thread_cpu(pid))
        s1 = proc_stat()
        self.busy = {c: stat_share(s0, s1, c) for c in (SERVER_CPU, CLIENT_CPU)}
        self.n = max(self.qps * float(kw.get("seconds") or DUR), 1)
        with open(f"/proc/{pid}/comm") as f:  # the main thread (inference's worker 0)
            self.main = f.read().strip()

    def us(self, names=None, sys_only=False):
        """CPU µs per request of the named threads (None: all)."""
        t = sum((v[1] if sys_only else v[0] + v[1]) for k, v in self.cpu.items()
                if names is None or k in names)
        return 1e6 * t / self.n


def paced_run(tmp, exe, url, body_path, rate, seconds, conns, pid):
    """bench/loadgen at a constant rate: {key: value} of its report line,
    plus the server's (pid) CPU µs per answered request, all threads and
    system only ("cpu_us", "sys_us")."""
    hp = url.split("/")[2]
    c0 = thread_cpu(pid)
    r = subprocess.run(client_argv([exe, hp, "/openrtb2/bid", body_path, str(int(rate)),
                                    str(seconds), str(conns)]),
                       capture_output=True, text=True, timeout=int(seconds) + 30)
    if r.returncode != 0:
        raise RuntimeError(f"loadgen failed: {r.stderr.strip()}")
    out = dict(kv.split("=", 1) for kv in r.stdout.split())
    d, n = cpu_delta(c0, thread_cpu(pid)), max(int(out["done"]), 1)
    out["cpu_us"] = 1e6 * sum(u + s for u, s in d.values()) / n
    out["sys_us"] = 1e6 * sum(s for _, s in d.values()) / n
    return out


def fmt_s(v):
    return "?" if v is None else f"<={v * 1e6:.0f}us"


def run(tmp, sink_exe, loadgen_exe):
    sup_port, inf_port, sink_port = free_ports(3)
    with Procs(os.path.join(tmp, "logs")) as procs:
        procs.start("supervisor", ["beat-supervisor", "--listen", f"127.0.0.1:{sup_port}",
                                   "--db", os.path.join(tmp, "sup.db"),
                                   "--pub", f"ipc://{tmp}/pub.ipc",
                                   "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc",
                                   "--hash-bits", str(HASH_BITS)])
        sbase = f"http://127.0.0.1:{sup_port}"
        wait_for(lambda: get_json(sbase + "/healthz")["ready"], 15, what="supervisor")
        sink = subprocess.Popen(client_argv([sink_exe, f"tcp://127.0.0.1:{sink_port}"]),
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
            pin(inf.pid)
            ng, ng_url = nginx(tmp)
            pin(ng.pid)
            hname = "beat_inference_bid_latency_seconds"
            try:
                wrk(url, script, seconds=2)  # warm-up (pages, caches)
                ng1 = Run(ng.pid, ng_url, script)
                p0 = phases(inf_port)
                inf1 = Run(inf.pid, url, script)
                p1 = phases(inf_port)
                ng2 = Run(ng.pid, ng_url, script)
                # Half of inference's peak, open loop, many connections; nginx
                # at the same rate: the tail the shared cores give anyway.
                half = inf1.qps / 2
                before = hist_buckets(inf_port, hname)
                hr = paced_run(tmp, loadgen_exe, url, body_path, half, DUR, 256, inf.pid)
                hq = quantiles(before, hist_buckets(inf_port, hname))
                hn = paced_run(tmp, loadgen_exe, ng_url, body_path, half, DUR, 256, ng.pid)
            finally:
                ng.terminate()
                ng.wait(5)
            sent = settled(lambda: metric_sum(inf_port, "beat_inference_bidlog_sent_total"))
            sink.stdin.close()
            sunk = sink.stdout.read().strip()
        finally:
            if sink.poll() is None:
                sink.kill()
            sink.wait(5)
    print_report(ng1, ng2, inf1, {k: p1[k] - p0[k] for k in p1}, half, hr, hn, hq, sent, sunk)
    return 0


def settled(f, deadline=3.0):
    """f() once two reads 50 ms apart agree (the bid-log sender gathers
    for a few ms), or its last value at the deadline."""
    end, last = time.monotonic() + deadline, f()
    while time.monotonic() < end:
        time.sleep(0.05)
        v = f()
        if v == last:
            break
        last = v
    return last


def metric_sum(port, name):
    """Sum of a metric's samples at /metrics over its labels (name may
    carry its own); 0 when absent (an older binary)."""
    st, _, b = http("GET", f"http://127.0.0.1:{port}/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in b.decode().splitlines()
               if line.startswith(name) and line[len(name)] in " {")


PHASES = ("parse", "auction", "response", "event")


def phases(port):
    """Sampled handler CPU by phase (inference/prof.h): ns summed and the
    number of sampled requests."""
    out = {ph: metric_sum(port, f'beat_inference_handler_cpu_nanos_total{{phase="{ph}"}}')
           for ph in PHASES}
    out["n"] = metric_sum(port, "beat_inference_handler_sampled_total")
    return out


def print_report(ng1, ng2, inf1, ph, half, hr, hn, hq, sent, sunk):
    base = (ng1.qps + ng2.qps) / 2
    ng_us = (ng1.us() + ng2.us()) / 2
    ng_sys = (ng1.us(sys_only=True) + ng2.us(sys_only=True)) / 2
    pinned = f"server core {SERVER_CPU}, client core {CLIENT_CPU}" if PIN else "not pinned"
    print(f"wrk -t1 -c{CONNS} -d{DUR}s ({pinned}; cores shared with whatever else runs)")
    print(f"nginx fixed 300-byte POST reply: {base:,.0f} req/s (runs {ng1.qps:,.0f} / "
          f"{ng2.qps:,.0f}; p50 {ng1.lat.get('50')}, p99 {ng1.lat.get('99')}), "
          f"{ng_us:.1f} µs CPU/request ({ng_sys:.1f} system)")
    n_fit = (N_CAMPAIGNS + FIT_EVERY - 1) // FIT_EVERY
    print(f"inference, {N_CAMPAIGNS} campaigns ({n_fit} fit each request; "
          f"{N_REQUESTS} distinct requests: 2,000 domains, 200 publishers), "
          f"2^{HASH_BITS}-weight model, 1 worker, bid-log batch {BIDLOG_BATCH or 'default'}: "
          f"{inf1.qps:,.0f} bids/s (p50 {inf1.lat.get('50')}, p99 {inf1.lat.get('99')}, "
          f"non-2xx {inf1.err}), {inf1.us():.1f} µs CPU/request "
          f"({inf1.us(sys_only=True):.1f} system)")
    print(f"ratio inference/nginx: req/s {inf1.qps / base:.2f}, CPU per request "
          f"{ng_us / max(inf1.us(), 1e-9):.2f} (nginx µs / inference µs; steadier than "
          f"req/s when other work shares the cores)")
    for label, r in (("nginx", ng1), ("inference", inf1), ("nginx again", ng2)):
        print(f"  cores during {label}: " + ", ".join(
            f"cpu{c} busy {b:.0f}% steal {st:.1f}%" for c, (b, st) in sorted(r.busy.items())))
    # Where inference's CPU goes: the handler's phases from its sampled
    # thread-CPU counters, the rest of the worker threads' CPU is HTTP.
    per = {k: ph[k] / max(ph["n"], 1) / 1e3 for k in PHASES}
    hs = sum(per.values())
    workers = {k for k in inf1.cpu if k.startswith("inf-w") or k == inf1.main}
    bidlog = {k for k in inf1.cpu if k.startswith("inf-bidlog") or k.startswith("nng:")}
    wk = inf1.us(workers)
    print(f"inference CPU per request, by part: handler {hs:.1f} µs (" +
          ", ".join(f"{k} {v:.1f}" for k, v in per.items()) +
          f"; sampled 1 in 64, {ph['n']:,.0f} requests), HTTP + reply + event loop "
          f"{wk - hs:.1f} µs (worker thread {wk:.1f} minus handler), bid log {inf1.us(bidlog):.1f} µs (sender + nng "
          f"threads), other threads {inf1.us() - wk - inf1.us(bidlog):.1f} µs; "
          f"kernel (stime, all threads) {inf1.us(sys_only=True):.1f} µs")
    top = sorted(inf1.cpu.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:6]
    print("  threads (µs/request user + system): " + ", ".join(
        f"{k} {1e6 * v[0] / inf1.n:.1f} + {1e6 * v[1] / inf1.n:.1f}" for k, v in top))
    print(f"at half peak, open loop ({int(half):,} req/s scheduled, 256 conns, latency from "
          f"the scheduled send): achieved {float(hr['achieved_rps']):,.0f} req/s, p50 "
          f"{hr['p50_us']} µs, p99 {hr['p99_us']} µs, p99.9 {hr['p999_us']} µs, max "
          f"{hr['max_us']} µs (unsent {hr['unsent']}, non-2xx {hr['non2xx']}, errors "
          f"{hr['errors']}); handler p50 {fmt_s(hq[0.5])}, p99 {fmt_s(hq[0.99])}")
    print(f"  nginx at the same rate: achieved {float(hn['achieved_rps']):,.0f} req/s, p50 "
          f"{hn['p50_us']} µs, p99 {hn['p99_us']} µs, p99.9 {hn['p999_us']} µs, max "
          f"{hn['max_us']} µs (unsent {hn['unsent']})")
    print(f"  CPU per request at this same offered rate (the client idle between "
          f"requests for both): inference {hr['cpu_us']:.1f} µs ({hr['sys_us']:.1f} "
          f"system), nginx {hn['cpu_us']:.1f} µs ({hn['sys_us']:.1f} system); ratio "
          f"nginx/inference {hn['cpu_us'] / max(hr['cpu_us'], 1e-9):.2f}")
    print(f"bid logs: inference sent {sent:,.0f} events, at the sink: {sunk}")
    return 0


def handler_probe(exe):
    """The handler alone (bench/handler_probe.c: same world and request
    shapes, one thread, no HTTP), pinned like the server: the phases
    without the kernel, the network or the other processes, steadier than
    the sampled figures above for an A/B of handler changes."""
    p = subprocess.Popen([exe, "20000", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    pin(p.pid)
    out, err = p.communicate(timeout=300)
    if p.returncode != 0:
        print(f"handler_probe failed ({p.returncode}): {err[-400:]}")
        return
    print(out.rstrip())


def main():
    sink_exe, loadgen_exe = probe_path("bidlog_sink"), probe_path("loadgen")
    probe_exe = probe_path("handler_probe")
    tmp = tempfile.mkdtemp(prefix="beat-bench-inf-")
    try:
        rc = run(tmp, sink_exe, loadgen_exe)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    handler_probe(probe_exe)
    return rc


if __name__ == "__main__":
    sys.exit(main())
