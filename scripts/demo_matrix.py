#!/usr/bin/env python3
"""The demo over several traffic shapes and seeds: runs scripts/demo.sh once
per (shape, seed), each in its own BEAT_DEMO_DIR, collects every run's
summary.json and prints one markdown table per shape (docs/demo.md "Several
shapes"). Runs one after another: each is a whole engine plus simulator.

  demo_matrix.py [--seeds 42,7] [--out DIR] [--collect-only] [SHAPE ...]

SHAPE is name=VAR=val,VAR=val: VAR is a BEAT_DEMO_* variable (the prefix
may be left out: WAVE=0.8 is BEAT_DEMO_WAVE=0.8) or any other BEAT_*
variable; a value may itself hold commas (two drops: DROP=0.3:0.05:0.2,
0.65:0.05:0.2), since an item without '=' continues the previous value;
an empty value (SURGE=) means none. Without SHAPE, three shapes unlike the
standard one. --collect-only reads the runs already under DIR. Exits 1 if
a run failed or left no summary."""
import json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SHAPES = [
    "deep_wave_early_surge=WAVE=0.8,SURGE=0.2:0.1:3",
    "flat_late_surge=WAVE=0,SURGE=0.8:0.1:4,DROP=",
    "two_drops=SURGE=,DROP=0.3:0.05:0.2,0.65:0.05:0.2",
]


def parse_shape(spec):
    """'name=VAR=val,VAR=val' → (name, {env var: value})."""
    name, sep, rest = spec.partition("=")
    if not name or not sep:
        raise ValueError(f"shape {spec!r}: want name=VAR=val,VAR=val")
    env, last = {}, None
    for item in rest.split(",") if rest else []:
        if "=" in item:
            var, _, val = item.partition("=")
            var = var.strip()
            if not var.startswith("BEAT_"):
                var = "BEAT_DEMO_" + var
            env[var] = val
            last = var
        elif last is not None:
            env[last] += "," + item
        else:
            raise ValueError(f"shape {spec!r}: {item!r} is not VAR=val")
    return name, env


def run_one(out, name, env, seed):
    d = os.path.join(out, f"{name}-s{seed}")
    e = dict(os.environ)
    e.update(env)
    e["BEAT_DEMO_DIR"] = d
    e["BEAT_DEMO_SEED"] = str(seed)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{name}-s{seed}.log"), "w") as log:
        r = subprocess.run([os.path.join(ROOT, "scripts", "demo.sh")], env=e, cwd=ROOT,
                           stdout=log, stderr=subprocess.STDOUT)
    return r.returncode


def load(out, name, seed):
    p = os.path.join(out, f"{name}-s{seed}", "report", "summary.json")
    return json.load(open(p)) if os.path.exists(p) else None


def figures(s):
    """One run's row: overall ratios, the worst campaign's pCTR ratio,
    min used %, max over %, max MAD % (deviation from the even plan)."""
    t, rows = s["totals"], s["campaigns"]
    pr = [c["clicks_vs_pctr_oracle"] for c in rows if c.get("clicks_vs_pctr_oracle") is not None]
    return {"clicks_vs_oracle": t.get("clicks_vs_oracle"),
            "clicks_vs_pctr_oracle": t.get("clicks_vs_pctr_oracle"),
            "worst_pctr_ratio": min(pr) if pr else None,
            "min_used_pct": min((c["utilisation_pct"] for c in rows), default=None),
            "max_over_pct": max((c["overspend_pct"] for c in rows), default=None),
            "max_mad_pct": max((c["mad_pct"] for c in rows if c.get("mad_pct") is not None),
                               default=None)}


COLS = [("clicks_vs_oracle", "clicks ÷ oracle", "{:.3f}"),
        ("clicks_vs_pctr_oracle", "clicks ÷ pCTR-oracle", "{:.3f}"),
        ("worst_pctr_ratio", "worst campaign ÷ pCTR-oracle", "{:.3f}"),
        ("min_used_pct", "min used %", "{:.1f}"), ("max_over_pct", "max over %", "{:.2f}"),
        ("max_mad_pct", "max MAD %", "{:.1f}")]


def _f(x, fmt):
    return "–" if x is None else fmt.format(x)


def table(name, env, runs):
    """Markdown for one shape: a row per seed, then min and mean."""
    L = [f"### {name}", "", "`" + " ".join(f"{k}={v}" for k, v in sorted(env.items())) + "`"
         if env else "(the standard shape)", ""]
    L.append("| seed | " + " | ".join(h for _, h, _ in COLS) + " |")
    L.append("|---|" + "---:|" * len(COLS))
    for seed, f in runs:
        L.append(f"| {seed} | " + " | ".join(_f(f[k] if f else None, fmt) for k, _, fmt in COLS)
                 + " |")
    for agg in ("min", "mean"):
        cells = []
        for k, _, fmt in COLS:
            v = [f[k] for _, f in runs if f and f[k] is not None]
            x = (min(v) if agg == "min" else sum(v) / len(v)) if v else None
            cells.append(_f(x, fmt))
        L.append(f"| **{agg}** | " + " | ".join(cells) + " |")
    return "\n".join(L) + "\n"


def main(argv):
    seeds, out, collect, specs = [42], os.path.join(ROOT, "run", "matrix"), False, []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--seeds" and i + 1 < len(argv):
            seeds = [int(x) for x in argv[i + 1].split(",") if x]
            i += 1
        elif a == "--out" and i + 1 < len(argv):
            out = os.path.abspath(argv[i + 1])
            i += 1
        elif a == "--collect-only":
            collect = True
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 64
        else:
            specs.append(a)
        i += 1
    try:
        shapes = [parse_shape(s) for s in (specs or DEFAULT_SHAPES)]
    except ValueError as e:
        print(e, file=sys.stderr)
        return 64
    failed, md, doc = [], ["# BEAT demo matrix", ""], {}
    for name, env in shapes:
        runs = []
        for seed in seeds:
            if not collect:
                print(f"== {name} seed {seed}", file=sys.stderr, flush=True)
                rc = run_one(out, name, env, seed)
                if rc != 0:
                    failed.append(f"{name}-s{seed} (exit {rc})")
            s = load(out, name, seed)
            if s is None and f"{name}-s{seed}" not in " ".join(failed):
                failed.append(f"{name}-s{seed} (no summary)")
            runs.append((seed, figures(s) if s else None))
        md.append(table(name, env, runs))
        doc[name] = {"env": env, "runs": {str(seed): f for seed, f in runs}}
    if failed:
        md.append("Failed: " + ", ".join(failed) + "\n")
    text = "\n".join(md)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "matrix.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "matrix.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
