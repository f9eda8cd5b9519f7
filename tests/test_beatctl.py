"""beatctl keeps the engine running: killing any daemon (SIGKILL), each of
the two receivers included, is
followed by its automatic restart while every other daemon stays up; a
held daemon stays down; `crash` SIGKILLs the runner and every daemon at
once and `up` starts the same run dir again. run/env, which holds the
secrets, is readable by its owner only."""
import os, tempfile, time
from beatlib import ROOT, Engine, check, pid_gone, wait_for

EXAMPLES = os.path.join(ROOT, "docs", "examples", "campaigns.json")


def test_kill_each_daemon_restarts_it_alone():
    run = tempfile.mkdtemp(prefix="beat-ctl-")
    with Engine(run, campaigns=EXAMPLES) as e:
        names = e.names()
        check(len(names) == 8 and {"receiver-1", "receiver-2"} <= set(names),
              f"layout {names}")
        # Both receivers share the notice port; inference pushes bid logs to both.
        env = e.shared_env()
        # run/env holds both secrets (random, not the dev ones): owner only.
        mode = os.stat(os.path.join(run, "env")).st_mode & 0o777
        check(mode == 0o600, f"run/env mode {oct(mode)}")
        check(env["BEAT_NOTICE_SECRET"] not in ("", "beat-dev-secret") and
              env["BEAT_ADMIN_TOKEN"] and "BEAT_DEV" not in env, "secrets in run/env")
        check(env["BEAT_RECEIVER_URL"] == e.url("notices"), env["BEAT_RECEIVER_URL"])
        check(env["BEAT_RECEIVER_BIDLOG"].split(",") ==
              [f"tcp://127.0.0.1:{e.ports[f'bidlog-{i}']}" for i in (1, 2)],
              env["BEAT_RECEIVER_BIDLOG"])
        for n in names:
            wait_for(lambda: e.pid(n), 10, what=f"{n} running")
        for victim in names:
            before = {n: e.pid(n) for n in names}
            e.ctl("kill", victim)
            wait_for(lambda: e.pid(victim) not in (0, before[victim]), 15,
                     what=f"{victim} restarted")
            wait_for(lambda: e.health(victim) is not None, 15,
                     what=f"{victim} answering /healthz")
            for n in names:
                if n != victim:
                    check(e.pid(n) == before[n], f"{n} changed pid when {victim} was killed")
        st = e.ctl("status").stdout
        rows = {l.split()[0]: l.split() for l in st.splitlines()[2:] if l.strip()}
        for n in names:
            check(rows[n][3] == "1", f"{n} restarts in status: {rows[n]}")
        # A held daemon stays down until released.
        e.ctl("stop", "actuator")
        wait_for(lambda: e.pid("actuator") == 0, 10, what="actuator stopped")
        # Absence of a restart can only be observed over a window: the
        # runner's first backoff is 250 ms, so 1.5 s covers several chances.
        time.sleep(1.5)
        check(e.pid("actuator") == 0, "held daemon not restarted")
        e.ctl("start", "actuator")
        wait_for(lambda: e.pid("actuator"), 10, what="actuator released")


def test_crash_kills_everything_at_once_and_up_restarts():
    run = tempfile.mkdtemp(prefix="beat-ctl-crash-")
    with Engine(run, campaigns=EXAMPLES) as e:
        names = e.names()
        wait_for(lambda: all(e.health(n).get("ready") for n in names), 60,
                 what="every daemon ready")
        pids = {n: e.pid(n) for n in names}
        sizes = {n: len(e.log(n)) for n in names}
        e.ctl("crash")
        wait_for(lambda: all(pid_gone(p) for p in pids.values()), 10, what="every daemon dead")
        check(e.ctl("status", check=False).returncode == 3, "runner reported up after crash")
        for n in names:  # SIGKILL, not a graceful stop: no "stopping" line
            check('stopping"' not in e.log(n)[sizes[n]:], f"{n} stopped gracefully")
        check(e.ctl("crash", check=False).returncode == 1, "crash with nothing running")
        e.up()
        wait_for(lambda: all(e.health(n).get("ready") for n in names), 60,
                 what="every daemon ready again")
        check(all(e.pid(n) not in (0, pids[n]) for n in names), "new processes")
        v = e.health("supervisor")
        check(v["campaigns_version"] >= 1, f"campaigns survived the crash: {v}")
