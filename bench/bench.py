#!/usr/bin/env python3
"""Benchmarks with same-run baselines (load generator and servers share the
machine, so only ratios mean anything):
  1. inference bids/s vs nginx (1 worker) answering a fixed 300-byte POST
     reply, same wrk settings; p50/p99 latency of inference at half its peak;
  2. receiver signed /win notices/s vs the same nginx.
Prints one line per figure; nothing here asserts speed."""
import json, os, re, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from beatlib import ROOT, Engine, free_port, http, wait_for  # noqa: E402

DUR = os.environ.get("BEAT_BENCH_SECONDS", "8")
CONNS = os.environ.get("BEAT_BENCH_CONNECTIONS", "32")


def wrk(url, script=None, rate=None):
    exe = "wrk"
    argv = [exe, "-t1", f"-c{CONNS}", f"-d{DUR}s", "--latency"]
    if script:
        argv += ["-s", script]
    r = subprocess.run(argv + [url], capture_output=True, text=True, timeout=int(DUR) + 30)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", r.stdout, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    return float(m.group(1)) if m else 0.0, lat, int(non2xx.group(1)) if non2xx else 0


def nginx(tmp):
    port = free_port()
    body = "x" * 300
    conf = os.path.join(tmp, "nginx.conf")
    open(conf, "w").write(f"""worker_processes 1; daemon off; pid {tmp}/nginx.pid;
error_log {tmp}/nginx.err; events {{ worker_connections 1024; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port};
  location / {{ default_type application/json; return 200 '{body}'; }} }} }}""")
    p = subprocess.Popen(["nginx", "-c", conf, "-p", tmp], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: http("POST", f"http://127.0.0.1:{port}/", "{}")[0] == 200, 10,
             what="nginx")
    return p, f"http://127.0.0.1:{port}/"


def post_script(tmp, body_path):
    s = os.path.join(tmp, "post.lua")
    open(s, "w").write(f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body_path}", "rb"); wrk.body = f:read("*a"); f:close()
""")
    return s


def main():
    tmp = tempfile.mkdtemp(prefix="beat-bench-")
    ng, ng_url = nginx(tmp)
    req = {"id": "bench-1", "at": 2, "tmax": 200, "cur": ["USD"],
           "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": 0.05}],
           "site": {"id": "s1", "domain": "news.example", "cat": ["IAB12"],
                    "publisher": {"id": "p1"}},
           "device": {"devicetype": 2, "os": "ios", "geo": {"country": "USA"}},
           "user": {"id": "u1"}}
    body_path = os.path.join(tmp, "req.json")
    json.dump(req, open(body_path, "w"))
    script = post_script(tmp, body_path)
    try:
        with Engine(os.path.join(tmp, "run"),
                    campaigns=os.path.join(ROOT, "docs/examples/campaigns.json")) as e:
            wait_for(lambda: e.health("inference-1").get("ready"), 60, what="inference ready")
            st, _, b = http("POST", e.url("inference-1", "/openrtb2/bid"), json.dumps(req))
            if st != 200:
                print(f"bench: inference did not bid ({st}); aborting", file=sys.stderr)
                return 1
            bid = json.loads(b)["seatbid"][0]["bid"][0]
            base_qps, base_lat, _ = wrk(ng_url, script)
            inf_qps, inf_lat, inf_err = wrk(e.url("inference-1", "/openrtb2/bid"), script)
            print(f"nginx fixed 300-byte POST reply: {base_qps:,.0f} req/s "
                  f"(p50 {base_lat.get('50')}, p99 {base_lat.get('99')})")
            print(f"inference bid (4 campaigns): {inf_qps:,.0f} req/s "
                  f"(p50 {inf_lat.get('50')}, p99 {inf_lat.get('99')}, non-2xx {inf_err})")
            print(f"ratio inference/nginx: {inf_qps / base_qps:.2f}")
            win = (bid["nurl"].replace("${AUCTION_ID}", "bench-1")
                   .replace("${AUCTION_IMP_ID}", "1")
                   .replace("${AUCTION_PRICE}", f"{bid['price'] * 0.5:.6f}")
                   .replace("${AUCTION_CURRENCY}", "USD"))
            rcv_qps, rcv_lat, rcv_err = wrk(win)
            base2, _, _ = wrk(ng_url)
            print(f"receiver signed /win notices: {rcv_qps:,.0f} req/s "
                  f"(p50 {rcv_lat.get('50')}, p99 {rcv_lat.get('99')}, non-2xx {rcv_err}); "
                  f"nginx GET {base2:,.0f} req/s; ratio {rcv_qps / base2:.2f}")
    finally:
        ng.terminate()
        ng.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
