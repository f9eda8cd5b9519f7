#!/usr/bin/env python3
"""Runs integration tests: every test_* function in every test_*.py (or
NN-*.py in recovery-tests/) under the given directory, in file order.
Prints one line per test and a final 'N passed, N failed' line."""
import importlib.util, os, sys, time, traceback

def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    only = sys.argv[2] if len(sys.argv) > 2 else None
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    files = sorted(f for f in os.listdir(d)
                   if f.endswith(".py") and (f.startswith("test_") or f[:2].isdigit()))
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
    print(f"integration: {passed} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
