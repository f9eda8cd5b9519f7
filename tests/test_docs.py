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
