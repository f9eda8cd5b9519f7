"""The docs that are generated from code are current, and the README starts
with the two commands a newcomer needs."""
import os, subprocess, tempfile, shutil
from beatlib import ROOT, BUILD, check


def test_config_reference_is_current():
    committed = open(os.path.join(ROOT, "docs", "config.md")).read()
    tmp = tempfile.mkdtemp()
    try:
        # Generate into a scratch copy of the tree layout the script expects.
        os.makedirs(os.path.join(tmp, "docs"))
        os.makedirs(os.path.join(tmp, "scripts"))
        shutil.copy(os.path.join(ROOT, "scripts", "gen-config-doc.sh"), os.path.join(tmp, "scripts"))
        os.symlink(os.path.join(ROOT, BUILD), os.path.join(tmp, "build"))
        subprocess.run(["bash", os.path.join(tmp, "scripts", "gen-config-doc.sh")], check=True,
                       env={**os.environ, "BUILD": "build"})
        fresh = open(os.path.join(tmp, "docs", "config.md")).read()
    finally:
        shutil.rmtree(tmp)
    check(fresh == committed, "docs/config.md is stale: run scripts/gen-config-doc.sh")


def test_readme_leads_with_demo_and_test():
    text = open(os.path.join(ROOT, "README.md")).read()
    first_block = text.split("```")[1]
    check("make demo" in first_block and "make test" in first_block,
          "README's first code block shows make demo and make test")


def test_campaigns_doc_covers_every_field():
    """Every key and enumerated value the campaign codec accepts (its *_names
    tables) is named in docs/campaigns.md, so a new field or value cannot
    ship undocumented."""
    import glob, re
    doc = open(os.path.join(ROOT, "docs", "campaigns.md")).read()
    keys = set()
    for path in glob.glob(os.path.join(ROOT, "common", "beat_campaign*.c")):
        if path.endswith("_test.c"):
            continue
        src = open(path).read()
        for name, body in re.findall(r"static const char \*const (\w+_names)\[\w*\]\s*=\s*\{(.*?)\};",
                                     src, re.S):
            keys.update(re.findall(r'"([a-z_0-9]+)"', body))
    keys.discard("default")  # pacing's name for "not named", never written
    check(len(keys) >= 30, f"found the codec's key tables ({len(keys)} keys)")
    missing = sorted(k for k in keys if f"`{k}`" not in doc and f'"{k}"' not in doc)
    check(not missing, f"docs/campaigns.md does not document {missing}")
