"""No default secrets outside development mode: every daemon that holds the
notice secret (inference, receiver) or the admin token (supervisor,
actuator, lighttrainer) refuses to start, with a message naming the option
and a non-zero exit, when the secret is missing, empty or the public
development default, unless --dev (BEAT_DEV=1) is given; with --dev it
starts and says so loudly. A real secret needs no --dev."""
import os, subprocess, sys, tempfile

from beatlib import BIN, ROOT, Procs, check, free_ports, healthz, wait_for

DEV_SECRET = "beat-dev-secret"  # BEAT_NOTICE_DEV_SECRET in common/beat_notice.h


def argv_of(name, port, tmp):
    """A daemon listening on port, its links pointing at nothing."""
    a, b, c, d = free_ports(4)
    return {
        "inference": ["beat-inference", "--listen", f"127.0.0.1:{port}",
                      "--supervisor-pub", f"tcp://127.0.0.1:{a}",
                      "--supervisor-rep", f"tcp://127.0.0.1:{b}",
                      "--supervisor-lease", f"tcp://127.0.0.1:{c}",
                      "--receiver-bidlog", f"tcp://127.0.0.1:{d}"],
        "receiver": ["beat-receiver", "--listen", f"127.0.0.1:{port}",
                     "--bidlog-listen", f"tcp://127.0.0.1:{a}",
                     "--kafka-brokers", f"127.0.0.1:{b}"],
        "supervisor": ["beat-supervisor", "--listen", f"127.0.0.1:{port}",
                       "--db", os.path.join(tmp, "sup.db"),
                       "--pub", f"ipc://{tmp}/pub.ipc", "--rep", f"ipc://{tmp}/rep.ipc",
                       "--lease", f"ipc://{tmp}/lease.ipc"],
        "actuator": ["beat-actuator", "--listen", f"127.0.0.1:{port}",
                     "--datastream", f"http://127.0.0.1:{a}",
                     "--supervisor", f"http://127.0.0.1:{b}"],
        "lighttrainer": ["beat-lighttrainer", "--listen", f"127.0.0.1:{port}",
                         "--datastream", f"http://127.0.0.1:{a}",
                         "--supervisor", f"http://127.0.0.1:{b}"],
    }[name]


FLAG = {"inference": ("notice-secret", "BEAT_NOTICE_SECRET"),
        "receiver": ("notice-secret", "BEAT_NOTICE_SECRET"),
        "supervisor": ("admin-token", "BEAT_ADMIN_TOKEN"),
        "actuator": ("admin-token", "BEAT_ADMIN_TOKEN"),
        "lighttrainer": ("admin-token", "BEAT_ADMIN_TOKEN")}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEAT_")}
    env.update(extra)
    return env


def run(argv, env):
    """(exit code, stderr); a daemon still running after 10 s did not refuse
    (it is killed: exit None)."""
    argv = [os.path.join(BIN, argv[0])] + argv[1:]
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
        return r.returncode, r.stderr
    except subprocess.TimeoutExpired as e:
        err = e.stderr or b""
        return None, err.decode("utf-8", "replace") if isinstance(err, bytes) else err


def test_refused_without_a_secret_or_dev():
    tmp = tempfile.mkdtemp(prefix="secrets-")
    for name, (flag, var) in FLAG.items():
        port, = free_ports(1)
        bad = [("missing", [], clean_env()),
               ("empty", [f"--{flag}", ""], clean_env()),
               ("dev off", [], clean_env(BEAT_DEV="0"))]
        if flag == "notice-secret":
            bad.append(("dev default", [f"--{flag}", DEV_SECRET], clean_env()))
            bad.append(("dev default (env)", [], clean_env(**{var: DEV_SECRET})))
        for what, extra, env in bad:
            code, err = run(argv_of(name, port, tmp) + extra, env)
            check(code == 64, f"{name} {what}: exit {code}\n{err[-600:]}")
            check(f"--{flag}:" in err and "--dev" in err, f"{name} {what}: message {err[-600:]!r}")
            check('"ev":"secret_refused"' in err, f"{name} {what}: no fatal event")


def test_dev_mode_and_real_secrets_start():
    tmp = tempfile.mkdtemp(prefix="secrets-")
    with Procs(tmp) as procs:
        for name, (flag, var) in FLAG.items():
            for how, extra, env in (("dev flag", ["--dev"], clean_env()),
                                    ("dev env", [], clean_env(BEAT_DEV="1")),
                                    ("secret", [f"--{flag}", "a-real-secret"], clean_env(BEAT_DEV="0"))):
                port, = free_ports(1)
                sub = tempfile.mkdtemp(dir=tmp)
                p = procs.start(f"{name}-{how.replace(' ', '-')}",
                                argv_of(name, port, sub) + extra, env=env)
                wait_for(lambda: healthz(port) or not p.alive(), 15,
                         what=f"{name} ({how}) serving")
                check(p.alive(), f"{name} ({how}) exited:\n{p.logs()[-800:]}")
                evs = [e["ev"] for e in p.events()]
                if how == "secret":
                    check("dev_mode" not in evs, f"{name}: dev_mode logged with a secret")
                else:
                    check("dev_mode" in evs and "dev_secret" in evs,
                          f"{name} ({how}): not loud about dev mode: {evs}")
                p.stop()


def test_python_examples_follow_the_same_rule():
    """The swappable Python actuator and trainer refuse an empty token too."""
    for ex in ("actuator/examples/beat_actuator.py", "lighttrainer/examples/beat_trainer.py"):
        r = subprocess.run([sys.executable, os.path.join(ROOT, ex)], env=clean_env(),
                           capture_output=True, text=True, timeout=20)
        check(r.returncode == 64 and "--admin-token:" in r.stderr and "--dev" in r.stderr,
              f"{ex}: exit {r.returncode} {r.stderr[-300:]!r}")
