"""The repository stands on its own: users clone it without anything beside
it, so nothing may read a folder next to the checkout, cite a design file or
an issue tracker they do not have, and the tests that read fixtures must pass
in a copy whose parent holds nothing else."""
import os, re, shutil, subprocess, tempfile
from beatlib import ROOT, BUILD, check

# Built from pieces so that this file does not match its own patterns.
SIBLING = re.compile(r"\.\./" + "shared" + r"|dirname\(ROOT\)|os\.path\.dirname\(os\.path\.dirname\(ROOT")
CITES = re.compile("DESIGN" + r" §|DESIGN\.md|" + "STYLE" + r"\.md|\b[Ii]ssue [0-9]")
SKIP_DIRS = {".git", "build", "run", "node_modules"}


def repo_files():
    """The files a clone has: git's list when this is a checkout, else the
    tree minus build and run directories."""
    r = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if r.returncode == 0 and r.stdout:
        names = [n for n in r.stdout.decode().split("\0") if n]
        return [n for n in names if os.path.isfile(os.path.join(ROOT, n))]
    out = []
    for d, subdirs, files in os.walk(ROOT):
        subdirs[:] = [s for s in subdirs if s not in SKIP_DIRS and not s.startswith("build")]
        out += [os.path.relpath(os.path.join(d, f), ROOT) for f in files]
    return out


def text_of(rel):
    try:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            return f.read()
    except (UnicodeDecodeError, OSError):
        return None  # binary: corpus entries, images


def test_nothing_refers_outside_the_repository():
    hits = []
    for rel in repo_files():
        text = text_of(rel)
        if text is None:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if SIBLING.search(line) or CITES.search(line):
                hits.append(f"{rel}:{n}: {line.strip()[:100]}")
    check(not hits, "references outside the repository:\n" + "\n".join(hits[:40]))


def test_fixture_tests_pass_in_a_lone_copy():
    """Copies the repository into a fresh directory (its parent empty but for
    it), builds the unit tests that read OpenRTB fixtures there and runs them
    from inside the copy, then runs the fixture integration test against it."""
    tmp = tempfile.mkdtemp(prefix="beat-lone-")
    try:
        lone = os.path.join(tmp, "beat")
        for rel in repo_files():
            dst = os.path.join(lone, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, rel), dst)
        check(sorted(os.listdir(tmp)) == ["beat"], "the copy's parent holds only the copy")
        tests = ["inference/openrtb_test", "inference/bidder_fixtures_test", "inference/bidder_test"]
        out = os.path.join(tmp, "b")
        r = subprocess.run(["make", "--no-print-directory", "-j2", f"BUILD={out}"] +
                           [f"{out}/test/{t}" for t in tests],
                           cwd=lone, capture_output=True, text=True, timeout=600)
        check(r.returncode == 0, "build in the lone copy:\n" + r.stderr[-2000:])
        for t in tests:
            r = subprocess.run([f"{out}/test/{t}"], cwd=lone, capture_output=True, text=True,
                               timeout=300)
            check(r.returncode == 0 and re.search(r"[1-9][0-9]* passed, 0 failed", r.stdout),
                  f"{t} in the lone copy:\n{r.stdout[-1500:]}{r.stderr[-1500:]}")
        # The Python side: the fixture test of the copy, with this tree's
        # binaries (an absolute BUILD), so it reads the copy's fixtures.
        env = {**os.environ, "BUILD": os.path.join(ROOT, BUILD)}
        r = subprocess.run(["python3", "tests/run.py", "tests",
                            "test_inference.py:test_every_fixture_bids_or_says_why"],
                           cwd=lone, env=env, capture_output=True, text=True, timeout=300)
        check(r.returncode == 0 and "integration: 1 passed, 0 failed" in r.stdout,
              "fixture integration test in the lone copy:\n" + r.stdout[-2000:] + r.stderr[-1000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
