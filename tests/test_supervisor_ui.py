"""The supervisor's status page (docs/operations.md "Supervisor status page")
rendered by headless Chromium (Debian package `chromium`): after its JS ran,
the DOM shows every campaign id, the state and model versions, the model's
AUC and the spend from the state's private section, on a primary and on a
relay. A screenshot is saved in the test's tmp dir and its path printed.
Chromium missing is a failure, not a skip: `make test` installs it."""
import json, os, re, shutil, subprocess, tempfile, time

from beatlib import Procs, check, free_ports, healthz, http, wait_for
from test_supervisor import CAMPAIGNS, ckpt, state
from test_supervisor_relay import start_primary, start_relay, write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(url, tmp, *mode):
    check(CHROMIUM is not None,
          "chromium not installed (Debian package `chromium`; make test installs it)")
    prof = tempfile.mkdtemp(prefix="chr-", dir=tmp)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            f"--user-data-dir={prof}", "--window-size=1200,800",
            "--virtual-time-budget=5000", *mode, url]
    r = subprocess.run(argv, capture_output=True, timeout=60)
    check(r.returncode == 0, f"chromium exit {r.returncode}: {r.stderr[-2000:]!r}")
    out = r.stdout.decode("utf-8", "replace")
    # Only what the JS rendered counts, not the script's own text.
    return re.sub(r"<script>.*?</script>", "", out, flags=re.S)


def test_status_page_in_chromium():
    sup, rel = free_ports(2)
    tmp = tempfile.mkdtemp(prefix="beat-sup-ui-")
    with Procs(tmp) as procs:
        start_primary(procs, tmp, sup)
        base = f"http://127.0.0.1:{sup}"
        st, hdr, body = http("GET", base + "/")
        check(st == 200 and hdr.get("Content-Type", "").startswith("text/html"), f"/ -> {st}")
        check(b"http://" not in body and b"https://" not in body and b"src=" not in body,
              "page must not load external assets")
        cv = write(base, "PUT", "/v1/campaigns", open(CAMPAIGNS, "rb").read())
        write(base, "POST", "/v1/state", state(mult=1.1))  # versions differ: 1, 2, 3
        sv = write(base, "POST", "/v1/state",
                   state(mult=1.25, private={"spend": {"acme-shoes": 12340000}}))
        for _ in range(2):
            write(base, "POST", "/v1/checkpoint", ckpt(), "application/octet-stream")
        mv = write(base, "POST", "/v1/checkpoint", ckpt(auc=0.7321, trainer="ui-trainer"),
                   "application/octet-stream")
        start_relay(procs, tmp, rel)
        wait_for(lambda: healthz(rel)["model_version"] == mv, 10, what="relay synced")

        dom = chromium(base + "/", tmp, "--dump-dom")
        for cid in ("acme-shoes", "globex-travel", "initech-apps", "umbrella-news"):
            check(cid in dom, f"campaign {cid} missing from rendered DOM")
        check((cv, sv, mv) == (1, 2, 3), f"versions {(cv, sv, mv)}")
        for needle in (f"<td class=\"num\">{cv}</td>", f"<td class=\"num\">{sv}</td>",
                       f"<td class=\"num\">{mv}</td>", "0.7321", "ui-trainer",
                       "12.34", "1.250", "(primary)", "subscribers connected: 1",
                       '<th class="num">committed</th>', '<td class="num">0.00</td>'):
            check(needle in dom, f"{needle!r} missing from rendered DOM:\n{dom[-3000:]}")
        check('<div id="meta" class="ok">' in dom, f"page reported an API error:\n{dom[:2000]}")

        rdom = chromium(f"http://127.0.0.1:{rel}/", tmp, "--dump-dom")
        for needle in ("acme-shoes", "0.7321", "(relay of ipc://", f"<td class=\"num\">{mv}</td>"):
            check(needle in rdom, f"relay page: {needle!r} missing:\n{rdom[-3000:]}")

        png = os.path.join(tmp, "supervisor-status.png")
        chromium(base + "/", tmp, f"--screenshot={png}")
        check(os.path.getsize(png) > 1000, "screenshot written")
        print(f"screenshot: {png}")


def fake_datastream(answer):
    """A datastream stand-in answering GET /v1/reports with answer (JSON)
    and 404 elsewhere; returns (server, port). Stopped by the caller."""
    import http.server, threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            ok = self.path.startswith("/v1/reports?") and "group_by=campaign,hour" in self.path
            body = json.dumps(answer).encode() if ok else b"{}"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def test_reports_page_in_chromium():
    """The Reports page (docs/reports.md "The Reports page"): the
    supervisor pulls every datastream, counts a store directory once (two
    datastreams that share one answer alike), sums different stores, says
    a dead datastream made it incomplete, and the page draws one line per
    campaign and the totals. A screenshot is saved."""
    sup, dead = free_ports(2)
    tmp = tempfile.mkdtemp(prefix="beat-sup-reports-")
    h0 = int(time.time() * 1000) // 3600000 * 3600000 - 2 * 3600000

    def row(c, h, spend, imps, clicks, convs=0):
        return {"campaign": c, "hour_ms": h0 + h * 3600000, "opportunities": 10 * imps,
                "bids": 2 * imps, "wins": imps, "spend_micros": spend,
                "spend_cpm_micros": spend * 1000, "impressions": imps, "clicks": clicks,
                "conversions": convs, "conv_value_micros": convs * 1500000}
    a = {"v": 1, "store": "a" * 32, "rows": [row("acme-shoes", 0, 5000000, 40, 3, 1),
                                             row("acme-shoes", 1, 7000000, 50, 4, 1),
                                             row("globex-travel", 2, 2500000, 20, 1)]}
    c = {"v": 1, "store": "c" * 32, "rows": [row("acme-shoes", 1, 1000000, 5, 1),
                                             row("initech-apps", 0, 3000000, 30, 2)]}
    servers = [fake_datastream(x) for x in (a, a, c)]
    try:
        with Procs(tmp) as procs:
            argv = ["beat-supervisor", "--listen", f"127.0.0.1:{sup}",
                    "--db", os.path.join(tmp, "sup.db"), "--admin-token", "t",
                    "--pub", f"ipc://{tmp}/pub.ipc", "--rep", f"ipc://{tmp}/rep.ipc",
                    "--lease", f"ipc://{tmp}/lease.ipc", "--hash-bits", "10"]
            for _, p in servers:
                argv += ["--datastream", f"http://127.0.0.1:{p}"]
            argv += ["--datastream", f"http://127.0.0.1:{dead}"]
            procs.start("supervisor", argv)
            base = f"http://127.0.0.1:{sup}"
            wait_for(lambda: healthz(sup)["ready"], 10, what="supervisor ready")
            wait_for(lambda: json.loads(http("GET", base + "/v1/reports/recent")[2])
                     .get("answered") == 3, 20, what="three datastreams pulled")
            rec = json.loads(http("GET", base + "/v1/reports/recent")[2])
            check(rec["asked"] == 4 and rec["complete"] is False, f"asked/complete: {rec}")
            got = {(r["campaign"], r["hour_ms"]): r for r in rec["rows"]}
            check(len(got) == 4, f"rows: {rec['rows']}")
            check(got[("acme-shoes", h0 + 3600000)]["spend_micros"] == 8000000, "summed stores")
            check(got[("acme-shoes", h0)]["impressions"] == 40, "a store counted once")
            check(got[("initech-apps", h0)]["clicks"] == 2, "the second store")

            st, hdr, body = http("GET", base + "/reports")
            check(st == 200 and hdr.get("Content-Type", "").startswith("text/html"), f"{st}")
            check(b"http://" not in body and b"https://" not in body and b"src=" not in body,
                  "page must not load external assets")
            dom = chromium(base + "/reports", tmp, "--dump-dom")
            for cid in ("acme-shoes", "globex-travel", "initech-apps"):
                check(f'data-campaign="{cid}"' in dom, f"no line for {cid}:\n{dom[-3000:]}")
            # totals: acme-shoes spend 5 + 7 + 1 = $13.00, impressions 95, clicks 8,
            # 2 conversions worth $3.00: CPA $6.50; none for globex-travel: no CPA
            for needle in ("<td>acme-shoes</td>", '<td class="num">13.00</td>',
                           '<td class="num">95</td>', '<td class="num">8</td>',
                           '<td class="num">3.00</td>', '<td class="num cpa">6.50</td>',
                           '<td class="num cpa">\u2013</td>',
                           "3 of 4 answered", '<div id="meta" class="err">'):
                check(needle in dom, f"{needle!r} missing from rendered DOM:\n{dom[-3000:]}")
            png = os.path.join(tmp, "supervisor-reports.png")
            chromium(base + "/reports", tmp, f"--screenshot={png}")
            check(os.path.getsize(png) > 1000, "screenshot written")
            print(f"screenshot: {png}")
    finally:
        for s, _ in servers:
            s.shutdown()
