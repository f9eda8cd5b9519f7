"""Operations artefacts stay true to the code: docker-compose.yml renders,
docs/metrics.md lists every metric family the daemons expose (and each
/metrics passes promtool), the Grafana dashboard only uses documented
metrics, docs/operations.md explains every warn/error/fatal event id, and
the webhook sink used by alert tests records posts."""
import glob, importlib.util, json, os, re, shutil, subprocess, tempfile
from beatlib import ROOT, Proc, check, http, wait_for

GEN = os.path.join(ROOT, "scripts", "gen-metrics-doc.py")
SECRETS = {"BEAT_NOTICE_SECRET": "test-notice-secret", "BEAT_ADMIN_TOKEN": "test-admin-token"}
SERVICES = {"kafka", "kafka-init", "supervisor", "inference-1", "inference-2", "receiver-1",
            "receiver-2", "datastream-1", "datastream-2", "actuator", "lighttrainer"}


def _gen():
    spec = importlib.util.spec_from_file_location("gen_metrics_doc", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _compose(*args, env_extra=None):
    exe = shutil.which("docker-compose")
    check(exe is not None, "docker-compose missing: apt-get install docker-compose")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEAT_")}
    env.update(env_extra or {})
    # An empty env file: a developer's own .env must not make this pass.
    with tempfile.NamedTemporaryFile("w", suffix=".env") as envf:
        return subprocess.run([exe, "-f", os.path.join(ROOT, "docker-compose.yml"),
                               "--project-directory", ROOT, "--env-file", envf.name, *args],
                              capture_output=True, text=True, env=env, timeout=60)


def test_compose_config_validates():
    r = _compose("config", "-q", env_extra=SECRETS)
    check(r.returncode == 0, f"docker-compose config -q failed:\n{r.stderr}")
    r = _compose("config", "--services", env_extra=SECRETS)
    check(r.returncode == 0 and set(r.stdout.split()) == SERVICES,
          f"services {sorted(r.stdout.split())} != {sorted(SERVICES)}")
    full = _compose("config", env_extra=SECRETS).stdout
    check(full.count("restart: unless-stopped") == len(SERVICES) - 1,
          "every long-running service restarts unless-stopped")
    check(full.count("healthcheck:") == len(SERVICES) - 1, "every long-running service has a healthcheck")
    check("test-notice-secret" in full and "tcp://0.0.0.0:7103" in full and "supervisor-db" in full,
          "secrets, supervisor listen addresses and its volume are rendered")


def test_compose_requires_secrets():
    r = _compose("config", "-q")
    check(r.returncode != 0 and "BEAT_NOTICE_SECRET" in r.stderr + r.stdout,
          "config without the secrets must fail naming them")


def _doc_families():
    text = open(os.path.join(ROOT, "docs", "metrics.md")).read()
    return set(re.findall(r"^\| `([a-z_:][a-z0-9_:]*)` \|", text, re.M))


def test_live_metrics_are_documented_and_promtool_clean():
    gen = _gen()
    documented = _doc_families()
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool missing: apt-get install prometheus")
    run_dir = tempfile.mkdtemp(prefix="beat-ops-")
    try:
        with gen.start_engine(run_dir) as eng:
            live = gen.live_families(eng)
            for name, title in gen.DAEMONS:
                st, _, body = http("GET", eng.url(name, "/metrics"))
                check(st == 200, f"{name} /metrics -> {st}")
                r = subprocess.run([promtool, "check", "metrics"], input=body,
                                   capture_output=True, timeout=30)
                check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
                      f"promtool on {title}: {r.stdout.decode()} {r.stderr.decode()}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    missing = sorted(f"{title}: {fam}" for title, fams in live.items() for fam in fams
                     if fam not in documented)
    check(not missing, "not in docs/metrics.md (run scripts/gen-metrics-doc.py): "
          + ", ".join(missing))


def test_grafana_dashboard_uses_documented_metrics():
    with open(os.path.join(ROOT, "docs", "grafana-dashboard.json")) as f:
        dash = json.load(f)
    check(dash.get("title") and dash.get("panels"), "dashboard has a title and panels")
    documented = _doc_families()
    used = set()
    for p in dash["panels"]:
        for t in p.get("targets", []):
            for m in re.findall(r"\bbeat_[a-z0-9_]+", t["expr"]):
                used.add(re.sub(r"_(bucket|sum|count)$", "", m) if m not in documented else m)
    check(len(used) >= 10, f"dashboard covers the key metrics ({len(used)})")
    unknown = sorted(used - documented)
    check(not unknown, f"dashboard uses metrics not in docs/metrics.md: {unknown}")


EV = re.compile(r'beat_log(?:_rl)?\(\s*(?:[0-9A-Za-z_]+\s*,\s*)?BEAT_(?:WARN|ERROR|FATAL)\s*,'
                r'\s*"([a-z0-9_]+)"', re.S)


def test_operations_doc_explains_every_warning_event():
    dirs = ["common", "inference", "receiver", "datastream", "supervisor", "actuator",
            "lighttrainer", "tools/beat-kafka-dev", "tools/beatctl"]
    ids = {}
    for d in dirs:
        for f in glob.glob(os.path.join(ROOT, d, "*.c")):
            if not f.endswith("_test.c"):
                for ev in EV.findall(open(f).read()):
                    ids.setdefault(ev, os.path.relpath(f, ROOT))
    check(len(ids) > 40, f"found the event ids ({len(ids)})")
    doc = open(os.path.join(ROOT, "docs", "operations.md")).read()
    missing = sorted(f"{ev} ({src})" for ev, src in ids.items() if f"`{ev}`" not in doc)
    check(not missing, "warn/error/fatal events missing from docs/operations.md: "
          + ", ".join(missing))


def test_webhook_sink_records_posts():
    d = tempfile.mkdtemp(prefix="beat-sink-")
    out, port_file = os.path.join(d, "alerts.jsonl"), os.path.join(d, "port")
    try:
        p = Proc("webhook-sink", ["/usr/bin/env", "python3", os.path.join(ROOT, "tests", "webhook_sink.py"),
                                  "--out", out, "--port-file", port_file], logdir=d)
        try:
            port = wait_for(lambda: os.path.exists(port_file) and int(open(port_file).read()),
                            timeout=10, what="sink port file")
            url = f"http://127.0.0.1:{port}/hook"
            body = {"text": "[WARN] beat/actuator supervisor_unreachable: x"}
            st, _, _ = http("POST", url, json.dumps(body), {"Content-Type": "application/json"})
            check(st == 200, f"sink answered {st}")
            st, _, _ = http("POST", url, "not json")
            check(st == 200, f"sink answered {st}")
            lines = [json.loads(x) for x in open(out)]
            check(lines == [body, {"raw": "not json"}], f"sink recorded {lines}")
        finally:
            p.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
