#!/usr/bin/env python3
"""Benchmarks with same-run baselines (load generator and servers share the
machine, so only ratios mean anything):
  1. bench_inference.py: inference alone with 1,000 campaigns and a
     2^20-weight model vs nginx (1 worker) answering a fixed 300-byte POST
     reply, same wrk settings; p50/p99 at half of inference's peak;
  2. the whole engine (beatctl up, 4 example campaigns): inference bids/s
     while the receiver, Kafka and datastream digest its bid logs on the
     same cores, vs nginx;
  3. receiver signed /win notices/s vs the same nginx.
Prints one line per figure; nothing here asserts speed."""
import json, os, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from beatlib import ROOT, Engine, http, wait_for  # noqa: E402
from benchlib import bid_request_file, nginx, post_script, wrk  # noqa: E402
import bench_inference  # noqa: E402


def main():
    print("-- inference alone, 1,000 campaigns, 2^20-weight model")
    bench_inference.main()
    print("-- whole engine (beatctl up) and receiver")
    tmp = tempfile.mkdtemp(prefix="beat-bench-")
    ng, ng_url = nginx(tmp)
    body_path, req = bid_request_file(tmp, "bench-1")
    try:
        with Engine(os.path.join(tmp, "run"),
                    campaigns=os.path.join(ROOT, "docs/examples/campaigns.json")) as e:
            wait_for(lambda: e.health("inference-1").get("ready"), 60, what="inference ready")
            # as the engine's configured exchange (docs/exchanges.md)
            hdr = dict(e.exchange_headers(), **{"Content-Type": "application/json"})
            script = post_script(tmp, body_path, e.exchange_headers())
            st, _, b = http("POST", e.url("inference-1", "/openrtb2/bid"), json.dumps(req), hdr)
            if st != 200:
                print(f"bench: inference did not bid ({st}); aborting", file=sys.stderr)
                return 1
            bid = json.loads(b)["seatbid"][0]["bid"][0]
            base_qps, base_lat, _ = wrk(ng_url, script)
            inf_qps, inf_lat, inf_err = wrk(e.url("inference-1", "/openrtb2/bid"), script)
            print(f"nginx fixed 300-byte POST reply: {base_qps:,.0f} req/s "
                  f"(p50 {base_lat.get('50')}, p99 {base_lat.get('99')})")
            print(f"inference bid in the whole engine (4 campaigns; receiver, Kafka, "
                  f"datastream on the same cores): {inf_qps:,.0f} req/s "
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
