#!/usr/bin/env python3
"""The demo report: what the exchange simulator saw (bids, wins, billed
spend, clicks, latency) next to what the engine holds (budgets, pacing
state, model versions and quality), per campaign.
  report.py --wait-ready RUN   wait for every inference node, print versions
  report.py RUN                print the report (Markdown) for a finished run
Exits 1 if the run shows no bids, wins, spend or clicks, or no version
advanced: a demo that did nothing must not look like a success."""
import json, os, struct, sys, time, urllib.request


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
    its partitions (it reads from the log's end, so traffic sent before
    that would never be counted), the actuator restored its state."""
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


def money(m):
    return f"{m / 1e6:,.2f}"


def report(run):
    env = env_of(run)
    sup = env["BEAT_SUPERVISOR_URL"]
    sim = json.load(open(os.path.join(run, "exsim.json")))
    before = json.load(open(os.path.join(run, "versions-before.json")))
    camps = {c["id"]: c for c in get(sup + "/v1/campaigns")["campaigns"]}
    # Notices still in flight when traffic stopped reach the actuator within
    # a bucket and a tick: wait for a state written after that (bounded).
    settle_ms = int(time.time() * 1000) + 3000
    deadline = time.monotonic() + 20
    state = {"campaigns": {}}
    while time.monotonic() < deadline:
        try:
            state = get(sup + "/v1/state/latest")
            if state.get("ts", 0) >= settle_ms:
                break
        except OSError:
            pass
        time.sleep(0.2)
    after = get(sup + "/v1/versions")
    blob, _ = get(sup + "/v1/checkpoint/latest", raw=True)
    hlen = struct.unpack_from("<I", blob, 12)[0]
    model = json.loads(blob[16:16 + hlen])

    lat = sim.get("latency_ms", {})
    print("# BEAT demo report\n")
    print(f"Exchange simulator: {sim['requests']} requests, {sim['bids']} bids, "
          f"{sim['wins']} wins, {sim['clicks']} clicks, billed ${money(sim['spend_micros'])}; "
          f"{sim.get('timeouts', 0)} answers later than tmax; bid latency seen by the "
          f"exchange p50 {lat.get('p50', 0):.2f} ms, p99 {lat.get('p99', 0):.2f} ms.\n")
    print("| campaign | budget $ | billed $ | used % | engine spend $ | wins | clicks | CTR % | multiplier | paused |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    tot_budget = 0
    for cid, c in sorted(camps.items()):
        s = sim["campaigns"].get(cid, {})
        st = state["campaigns"].get(cid, {})
        spent = state.get("private", {}).get("spend", {}).get(cid, 0)
        wins, clicks, spend = s.get("wins", 0), s.get("clicks", 0), s.get("spend_micros", 0)
        tot_budget += c["budget_micros"]
        print(f"| {cid} | {money(c['budget_micros'])} | {money(spend)} | "
              f"{100 * spend / c['budget_micros']:.1f} | {money(spent)} | "
              f"{wins} | {clicks} | {100 * clicks / wins if wins else 0:.2f} | "
              f"{st.get('multiplier', 0):.3f} | {'yes' if st.get('paused') else 'no'} |")
    print(f"\nAll campaigns: billed ${money(sim['spend_micros'])} of ${money(tot_budget)} budget.\n")
    print(f"Versions during the run: pacing state {before['state']} → {after['state']} "
          f"(written by {state.get('actuator', '?')}), model {before['model']} → "
          f"{after['model']} (trainer {model.get('trainer')}, {model.get('samples_seen')} "
          f"samples seen, progressive AUC {model.get('auc', 0):.3f}, log loss "
          f"{model.get('logloss', 0):.4f}), campaigns {after['campaigns']}.")
    problems = [k for k in ("bids", "wins", "spend_micros", "clicks") if not sim.get(k)]
    if after["state"] <= before["state"]:
        problems.append("state version did not advance")
    if after["model"] <= before["model"]:
        problems.append("model version did not advance")
    if problems:
        print(f"\n**The run is not healthy**: {', '.join(problems)}. Logs: {run}/logs/")
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--wait-ready":
        sys.exit(wait_ready(sys.argv[2]))
    sys.exit(report(sys.argv[1]))
