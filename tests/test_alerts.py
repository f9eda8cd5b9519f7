"""Alerts end to end: the whole engine (beatctl) posts to a webhook sink
(tests/webhook_sink.py) with short thresholds from the shared env twins.
Holding the supervisor down makes its peers post a warning
(supervisor_unreachable, Slack-compatible {"text": ...}) within the
configured time, and inference's pacing state goes stale (state_stale);
releasing it posts "resolved" for both. Holding the dev Kafka broker down
does the same for the receiver's and the datastream's kafka_unreachable
(from librdkafka's statistics). A supervisor whose disk threshold is
below the real usage posts disk_full at the error level."""
import json, os, shutil, sys, tempfile, time
from beatlib import ROOT, Engine, Proc, Procs, check, free_port, get_json, metric, wait_for

EXAMPLES = os.path.join(ROOT, "docs", "examples", "campaigns.json")
PEER_WARN_S = 2
STATE_WARN_S = 4
ENV = {
    "BEAT_ALERT_INTERVAL_MS": "300",   # a rule may post again after 0.3 s
    "BEAT_ALERT_EVAL_MS": "200",
    "BEAT_ALERT_PEER_WARN_S": str(PEER_WARN_S),
    "BEAT_ALERT_PEER_ERROR_S": "600",  # no escalation inside the test
    "BEAT_ALERT_STATE_AGE_WARN_S": str(STATE_WARN_S),
    "BEAT_ALERT_STATE_AGE_ERROR_S": "600",
    "BEAT_ACTUATOR_TICK_MS": "300",
    "BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S": "1",
}


def posts(out):
    if not os.path.exists(out):
        return []
    return [json.loads(line) for line in open(out) if line.strip()]


def texts(out, start, prefix, rule):
    return [p["text"] for p in posts(out)[start:]
            if p.get("text", "").startswith(prefix) and f" {rule}: " in p["text"]]


def start_sink(tmp):
    out, port_file = os.path.join(tmp, "hooks.jsonl"), os.path.join(tmp, "sink.port")
    sink = Proc("webhook-sink", [sys.executable, os.path.join(ROOT, "tests", "webhook_sink.py"),
                                 "--out", out, "--port-file", port_file], logdir=tmp)
    try:
        port = int(wait_for(lambda: os.path.exists(port_file) and open(port_file).read(), 10,
                            what="webhook sink"))
    except Exception:
        sink.stop()
        raise
    return sink, out, f"http://127.0.0.1:{port}/hook"


def test_kafka_down_warns_then_resolves():
    tmp = tempfile.mkdtemp(prefix="beat-alerts-")
    sink, out, url = start_sink(tmp)
    try:
        with Engine(os.path.join(tmp, "run"), env=dict(ENV, BEAT_ALERT_WEBHOOK=url)) as e:
            wait_for(lambda: e.health("datastream-1").get("ready"), 40, what="datastream ready")
            start = len(posts(out))
            e.ctl("stop", "kafka-dev")
            # Statistics come every 2 s: the threshold plus one interval.
            def both(prefix):
                srcs = {t.split()[1] for t in texts(out, start, prefix, "kafka_unreachable")}
                return srcs >= {"beat/receiver-1", "beat/receiver-2", "beat/datastream-1"} and srcs
            wait_for(lambda: both("[WARN]"), PEER_WARN_S + 10, interval=0.1,
                     what="kafka_unreachable warnings from receiver and datastream")
            e.ctl("start", "kafka-dev")
            wait_for(lambda: both("[RESOLVED]"), 30, interval=0.1,
                     what="kafka_unreachable resolved")
            check(not e.fatal_events(), f"fatal events: {e.fatal_events()[:3]}")
    finally:
        sink.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_supervisor_down_warns_then_resolves():
    tmp = tempfile.mkdtemp(prefix="beat-alerts-")
    sink, out, url = start_sink(tmp)
    try:
        env = dict(ENV, BEAT_ALERT_WEBHOOK=url)
        with Engine(os.path.join(tmp, "run"), campaigns=EXAMPLES, env=env) as e:
            wait_for(lambda: e.health("inference-1").get("ready"), 40, what="inference ready")
            # A state is flowing (actuator → supervisor → inference) before
            # the outage, so its age is known and small.
            wait_for(lambda: 0 <= e.health("inference-1").get("state_age_ms", -1) < 2000, 20,
                     what="fresh pacing state at inference")
            start = len(posts(out))
            t0 = time.monotonic()
            e.ctl("stop", "supervisor")
            warn = wait_for(lambda: texts(out, start, "[WARN]", "supervisor_unreachable"),
                            PEER_WARN_S + 8, interval=0.1, what="supervisor_unreachable warning")
            took = time.monotonic() - t0
            # Silence counts from the last heartbeat (1 s period), which may
            # precede the stop by up to a period.
            check(took >= PEER_WARN_S - 1.1, f"warned after {took:.1f}s, before the threshold")
            check(warn[0].startswith("[WARN] beat/") and "supervisor" in warn[0], warn[0])
            stale = wait_for(lambda: texts(out, start, "[WARN]", "state_stale"),
                             STATE_WARN_S + 8, interval=0.1, what="state_stale warning")
            check("inference-1 state_stale: pacing state age" in stale[0], stale[0])
            sources = {t.split()[1] for t in texts(out, start, "[WARN]", "supervisor_unreachable")}
            e.ctl("start", "supervisor")
            res = wait_for(lambda: texts(out, start, "[RESOLVED]", "supervisor_unreachable"), 20,
                           interval=0.1, what="supervisor_unreachable resolved")
            check(any(t.split()[1] in sources for t in res), f"{res} vs {sources}")
            wait_for(lambda: texts(out, start, "[RESOLVED]", "state_stale"), 20, interval=0.1,
                     what="state_stale resolved")
            # Every post is Slack's incoming-webhook shape: one "text" field.
            bad = [p for p in posts(out) if set(p) != {"text"}]
            check(not bad, f"non-Slack posts: {bad[:3]}")
            check(not e.fatal_events(), f"fatal events: {e.fatal_events()[:3]}")
    finally:
        sink.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_supervisor_disk_full_errors():
    tmp = tempfile.mkdtemp(prefix="beat-alerts-")
    sink, out, url = start_sink(tmp)
    try:
        with Procs(os.path.join(tmp, "logs")) as procs:
            port = free_port()
            procs.start("sup", ["beat-supervisor", "--listen", f"127.0.0.1:{port}",
                                "--db", os.path.join(tmp, "db", "sup.db"),
                                "--pub", f"ipc://{tmp}/pub.ipc", "--rep", f"ipc://{tmp}/rep.ipc", "--lease", f"ipc://{tmp}/lease.ipc",
                                "--alert-webhook", url, "--alert-eval-ms", "100",
                                # any filesystem in use is fuller than this
                                "--alert-disk-warn-pct", "0.0001",
                                "--alert-disk-error-pct", "0.0002"])
            wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")["ready"], 10,
                     what="supervisor ready")
            err = wait_for(lambda: texts(out, 0, "[ERROR]", "disk_full"), 10, interval=0.1,
                           what="disk_full error at the webhook")
            check("filesystem of" in err[0] and "sup.db used" in err[0], err[0])
            check(metric(port, 'beat_alert_firing{rule="disk_full"}') == 1, "firing gauge")
    finally:
        sink.stop()
        shutil.rmtree(tmp, ignore_errors=True)
