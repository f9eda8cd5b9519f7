#!/usr/bin/env python3
"""The demo report: what the exchange simulator saw (bids, wins, billed
spend, clicks, latency) next to what the engine holds (budgets, pacing
state, model versions and quality), graded against the simulator's ground
truth (oracle clicks, Bayes AUC), and the engine's hourly reports (GET
/v1/reports) cross-checked against the simulator's counts and the spend
ledger (docs/reports.md). See docs/demo.md for how to read it.

  report.py --wait-ready RUN            wait for every daemon, print versions
  report.py --put-campaigns RUN IN OUT  load IN into the supervisor, save
                                        the stored set (absolute flights) to OUT
  report.py --put-list RUN ID FILE      upload a first-party list (one user id
                                        a line) to the supervisor
  report.py --poll RUN OUT              append engine samples (versions, state)
                                        to OUT every second until killed
  report.py --settle RUN                wait until the pacing state covers the
                                        notices sent at the end of the run
  report.py [--json] RUN REPORT_DIR     write report.md, summary.json, PNGs
                                        into REPORT_DIR; print the report
                                        (or, with --json, the summary)
Exits 1 if the run shows no bids, wins, spend or clicks, or no version
advanced: a demo that did nothing must not look like a success."""
import json, os, signal, sys, time, urllib.error, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_calc  # noqa: E402
import report_conv  # noqa: E402
import report_desk  # noqa: E402
import report_plot  # noqa: E402
import report_xcheck  # noqa: E402


def env_of(run):
    out = {}
    for line in open(os.path.join(run, "env")):
        if line.startswith("export "):
            k, v = line[7:].rstrip("\n").split("=", 1)
            out[k] = v.strip("'")
    return out


def get(url, raw=False, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
        return (body, dict(r.headers)) if raw else json.loads(body)


def wait_ready(run):
    """Every daemon ready: inference holds model and state, datastream owns
    its partitions and opened their stores, the actuator restored its
    state."""
    env = env_of(run)
    ports = [int(line.split()[2]) for line in open(os.path.join(run, "layout")) if line.strip()]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if all(get(f"http://127.0.0.1:{p}/healthz").get("ready") for p in ports):
                print(json.dumps(get(env["BEAT_SUPERVISOR_URL"] + "/v1/versions")))
                return 0
        except OSError:
            pass
        time.sleep(0.2)
    print("daemons not ready after 90 s", file=sys.stderr)
    return 1


def put_campaigns(run, src, dst):
    env = env_of(run)
    sup = env["BEAT_SUPERVISOR_URL"]
    doc = json.load(open(src))

    def put(d):
        req = urllib.request.Request(sup + "/v1/campaigns", data=json.dumps(d).encode(),
                                     method="PUT", headers={"Content-Type": "application/json"})
        if env.get("BEAT_ADMIN_TOKEN"):
            req.add_header("Authorization", "Bearer " + env["BEAT_ADMIN_TOKEN"])
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read()).get("version")

    try:
        version = put(doc)
    except urllib.error.HTTPError as e:
        why = e.read().decode(errors="replace")
        if e.code != 400 or "unknown field" not in why:
            raise
        # A supervisor without the video/native/deal schema: banner only.
        print(f"supervisor refused the full campaign schema ({why.strip()}); "
              "loading the banner-only subset", file=sys.stderr)
        import demo_campaigns
        version = put(demo_campaigns.compat(doc))
    stored = get(sup + "/v1/campaigns")
    with open(dst, "w") as f:
        json.dump(stored, f, indent=1)
    # Inference must hold the new set before traffic starts.
    deadline = time.monotonic() + 20
    urls = env["BEAT_INFERENCE_URLS"].split(",")
    while time.monotonic() < deadline:
        try:
            if all(get(u.rstrip("/") + "/healthz").get("campaigns_version", version) >= version
                   for u in urls):
                break
        except OSError:
            pass
        time.sleep(0.2)
    print(f"campaigns version {version}: {len(stored['campaigns'])} campaigns", file=sys.stderr)
    return 0


def put_list(run, list_id, path):
    env = env_of(run)
    req = urllib.request.Request(env["BEAT_SUPERVISOR_URL"] + "/v1/segments/" + list_id,
                                 data=open(path, "rb").read(), method="PUT",
                                 headers={"Content-Type": "text/plain"})
    if env.get("BEAT_ADMIN_TOKEN"):
        req.add_header("Authorization", "Bearer " + env["BEAT_ADMIN_TOKEN"])
    with urllib.request.urlopen(req, timeout=10) as r:
        print(f"list {list_id}: {r.read().decode(errors='replace').strip()}", file=sys.stderr)
    return 0


def poll(run, out):
    """One line per second: supervisor versions (model AUC) and the pacing
    state (multipliers, paused, the actuator's spend). Never fatal."""
    sup = env_of(run)["BEAT_SUPERVISOR_URL"]
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    with open(out, "a") as f:
        nxt = time.monotonic()
        while not stop:
            row = {"ts": int(time.time() * 1000)}
            try:
                row["versions"] = get(sup + "/v1/versions")
                st = get(sup + "/v1/state/latest")
                row["state"] = {"ts": st.get("ts"), "version": st.get("version"),
                                "actuator": st.get("actuator"),
                                "campaigns": {k: {"multiplier": v.get("multiplier"),
                                                  "paused": v.get("paused")}
                                              for k, v in st.get("campaigns", {}).items()},
                                "spend": st.get("private", {}).get("spend", {})}
            except (OSError, ValueError) as e:
                row["error"] = str(e)
            f.write(json.dumps(row) + "\n")
            f.flush()
            nxt += 1.0
            time.sleep(max(0.0, nxt - time.monotonic()))
    return 0


def settle(run):
    """Notices still in flight when traffic stopped reach the actuator within
    a bucket and a tick: wait for a state written after that (bounded)."""
    sup = env_of(run)["BEAT_SUPERVISOR_URL"]
    settle_ms = int(time.time() * 1000) + 3000
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if get(sup + "/v1/state/latest").get("ts", 0) >= settle_ms:
                return 0
        except OSError:
            pass
        time.sleep(0.2)
    print("pacing state did not settle in 20 s", file=sys.stderr)
    return 0


def report(run, out_dir, as_json=False):
    env = env_of(run)
    sup = env["BEAT_SUPERVISOR_URL"]
    engine = {"versions": get(sup + "/v1/versions")}
    try:
        engine["state"] = get(sup + "/v1/state/latest")
    except OSError:
        engine["state"] = {"campaigns": {}}
    before_path = os.path.join(run, "versions-before.json")
    engine["before"] = json.load(open(before_path)) if os.path.exists(before_path) else {}
    summary = report_calc.summarize(out_dir, engine)
    summary["plots"] = report_plot.plot_all(out_dir, summary)
    md = report_calc.markdown(summary)
    sim = json.load(open(os.path.join(out_dir, "exsim.json")))
    convs, complete = report_conv.engine_convs(env.get("BEAT_DATASTREAM_URLS", ""))
    summary["conversions"] = report_conv.grade(sim, summary["campaigns"], convs, complete)
    md += report_conv.markdown(summary["conversions"])
    # The engine's own hourly reports against the simulator and the ledger.
    xc = summary["reports_check"] = report_xcheck.check(env, out_dir)
    if xc["problem"]:
        summary["problems"].append(xc["problem"])
    md += report_xcheck.markdown(xc)
    desk = report_desk.grade(out_dir)
    if desk is not None:  # make demo-desk
        summary["desk"] = desk
        md += report_desk.markdown(desk)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(md)
    print(json.dumps(summary, indent=1, sort_keys=True) if as_json else md)
    return 1 if summary["problems"] else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "--wait-ready":
        return wait_ready(argv[2])
    if len(argv) >= 5 and argv[1] == "--put-campaigns":
        return put_campaigns(argv[2], argv[3], argv[4])
    if len(argv) >= 5 and argv[1] == "--put-list":
        return put_list(argv[2], argv[3], argv[4])
    if len(argv) >= 4 and argv[1] == "--poll":
        return poll(argv[2], argv[3])
    if len(argv) >= 3 and argv[1] == "--settle":
        return settle(argv[2])
    args = [a for a in argv[1:] if a != "--json"]
    if len(args) == 2:
        return report(args[0], args[1], "--json" in argv)
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
