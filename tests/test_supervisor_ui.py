"""The supervisor's status page (docs/operations.md "Supervisor status page")
rendered by headless Chromium (Debian package `chromium`): after its JS ran,
the DOM shows every campaign id, the state and model versions, the model's
AUC and the spend from the state's private section, on a primary and on a
relay. A screenshot is saved in the test's tmp dir and its path printed.
Chromium missing is a failure, not a skip: `make test` installs it."""
import os, re, shutil, subprocess, tempfile

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
