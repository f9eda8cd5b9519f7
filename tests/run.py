#!/usr/bin/env python3
"""Runs integration tests: every test_* function in every test_*.py (or
NN-*.py in recovery-tests/) under the given directory, in file order.
Prints one line per test and a final 'N passed, N failed' line.

  run.py DIR [FILTER] [-j N] [--serial "a.py b.py"] [--first "c.py"] [--file F]

FILTER is a substring of file:function. With -j N the files run as N child
processes at a time (each file's lines and tracebacks printed together when
it ends), then the --serial files one at a time with nothing else running:
those assert on wall time or latency and must not share the cores."""
import argparse, importlib.util, os, re, subprocess, sys, tempfile, time, traceback

SUMMARY = re.compile(r"^integration: (\d+) passed, (\d+) failed$")


def run_files(d, files, only):
    passed = failed = 0
    for f in files:
        spec = importlib.util.spec_from_file_location(f[:-3].replace("-", "_"), os.path.join(d, f))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            traceback.print_exc()
            print(f"FAIL {f} (import)"); failed += 1; continue
        for name in [n for n in dir(mod) if n.startswith("test_")]:
            if only and only not in f"{f}:{name}":
                continue
            t0 = time.monotonic()
            try:
                getattr(mod, name)()
                passed += 1
                print(f"ok   {f}:{name} ({time.monotonic()-t0:.1f}s)", flush=True)
            except Exception:
                failed += 1
                traceback.print_exc()
                print(f"FAIL {f}:{name} ({time.monotonic()-t0:.1f}s)", flush=True)
    return passed, failed


class Child:
    """One file in its own interpreter; output kept in a temp file (not a
    pipe, so a chatty test never blocks on a full pipe)."""
    def __init__(self, d, f, only):
        self.f, self.t0 = f, time.monotonic()
        self.out = tempfile.TemporaryFile(mode="w+")
        argv = [sys.executable, os.path.abspath(__file__), d, "--file", f]
        if only:
            argv.insert(3, only)
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT)

    def finish(self):
        """Prints the file's output (minus its summary); returns (passed, failed)."""
        self.out.seek(0)
        passed = failed = None
        for line in self.out:
            m = SUMMARY.match(line.rstrip("\n"))
            if m:
                passed, failed = int(m.group(1)), int(m.group(2))
            else:
                sys.stdout.write(line)
        self.out.close()
        if passed is None or (self.p.returncode != 0 and failed == 0):
            print(f"FAIL {self.f} (exit {self.p.returncode}, no summary)")
            return passed or 0, (failed or 0) + 1
        return passed, failed


def run_parallel(d, files, only, jobs, serial, first):
    passed = failed = 0
    pool = [f for f in files if f not in serial]
    pool.sort(key=lambda f: f not in first)  # stable: the --first files lead
    running = []

    def reap(block):
        nonlocal passed, failed
        while running:
            for c in running:
                if c.p.poll() is not None:
                    running.remove(c)
                    p, fl = c.finish()
                    passed += p; failed += fl
                    if p + fl:
                        print(f"---- {c.f}: {p} passed, {fl} failed"
                              f" ({time.monotonic() - c.t0:.1f}s)", flush=True)
                    return
            if not block:
                return
            time.sleep(0.1)

    for f in pool:
        while len(running) >= jobs:
            reap(True)
        running.append(Child(d, f, only))
    while running:
        reap(True)
    for f in files:
        if f in serial:
            running.append(Child(d, f, only))
            reap(True)
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("only", nargs="?")
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--serial", default="")
    ap.add_argument("--first", default="", help="files to start first (the longest)")
    ap.add_argument("--file")
    a = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    files = sorted(f for f in os.listdir(a.dir)
                   if f.endswith(".py") and (f.startswith("test_") or f[:2].isdigit()))
    if a.file:
        files = [f for f in files if f == a.file]
    if a.jobs > 1 and not a.file:
        passed, failed = run_parallel(a.dir, files, a.only, a.jobs, set(a.serial.split()),
                                      set(a.first.split()))
    else:
        passed, failed = run_files(a.dir, files, a.only)
    print(f"integration: {passed} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
