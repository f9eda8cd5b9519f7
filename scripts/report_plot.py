"""PNG plots of the demo report with gnuplot (scripts/deps.sh demo installs
gnuplot-nox): cumulative spend vs plan per campaign, multipliers over time
(alone, and against the scheduled request rate: the price of a click the
pacer settles on as traffic swells and drops), model AUC vs Bayes AUC over
time, QPS and latency. Writes the data files
and one .gp script per plot into the report directory, so a plot can be
re-made or restyled by hand. Without gnuplot, returns no plots (the report
still has every number)."""
import os, shutil, subprocess, sys

import report_calc

TERM = "set terminal pngcairo size 1000,600 font ',10' noenhanced"


def _run(out_dir, name, script):
    gp = os.path.join(out_dir, name + ".gp")
    with open(gp, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", gp], cwd=out_dir, capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not os.path.exists(os.path.join(out_dir, name + ".png")):
        print(f"gnuplot {name}: {r.stderr.strip()[:300]}", file=sys.stderr)
        return None
    return name + ".png"


def _t0(summary, timeline):
    starts = [c["start_ms"] for c in summary["campaigns"]]
    if timeline:
        starts.append(timeline[0]["ts"])
    return min(starts) if starts else 0


def spend_plot(out_dir, summary, timeline, t0, weights):
    camps = summary["campaigns"]
    curves = report_calc.spend_curves(timeline, {c["id"]: c for c in camps})
    plots = []
    for i, c in enumerate(camps):
        dat = f"spend-{c['id']}.dat"
        with open(os.path.join(out_dir, dat), "w") as f:
            f.write("# t_s spend_usd plan_usd budget_usd\n")
            for t, s in curves[c["id"]]:
                p = c["budget_micros"] * report_calc.plan_frac(c["start_ms"], c["end_ms"], t, weights)
                f.write(f"{(t - t0) / 1000:.1f} {s / 1e6:.6f} {p / 1e6:.6f} "
                        f"{c['budget_micros'] / 1e6:.6f}\n")
        plots.append(f"'{dat}' u 1:2 w l lw 2 lc {i + 1} t '{c['id']} billed', "
                     f"'{dat}' u 1:3 w l dt 2 lc {i + 1} t '{c['id']} plan'")
    return _run(out_dir, "spend", f"""{TERM}
set output 'spend.png'
set title 'Cumulative billed spend vs plan per campaign'
set xlabel 'seconds since the flights started'; set ylabel 'USD'
set key left top; set grid
plot {', '.join(plots)}
""")


def _write_multipliers(path, ids, engine_rows, t0, paused):
    """One line per poll: seconds since t0, then each campaign's multiplier
    from the state (paused: the value written while it is paused)."""
    with open(path, "w") as f:
        f.write("# t_s " + " ".join(ids) + "\n")
        for r in engine_rows:
            st = (r.get("state") or {}).get("campaigns", {})
            vals = []
            for cid in ids:
                m = st.get(cid, {})
                v = paused if m.get("paused") else m.get("multiplier")
                vals.append("NaN" if v is None else f"{v:.4f}")
            f.write(f"{(r['ts'] - t0) / 1000:.1f} " + " ".join(vals) + "\n")


def multiplier_plot(out_dir, summary, engine_rows, t0):
    ids = [c["id"] for c in summary["campaigns"]]
    _write_multipliers(os.path.join(out_dir, "multipliers.dat"), ids, engine_rows, t0, 0.0)
    plots = [f"'multipliers.dat' u 1:{k + 2} w l lw 2 t '{cid}'" for k, cid in enumerate(ids)]
    return _run(out_dir, "multipliers", f"""{TERM}
set output 'multipliers.png'
set title 'Bid multipliers from the actuator (0 = paused)'
set xlabel 'seconds since the flights started'; set ylabel 'multiplier'
set key left top; set grid
plot {', '.join(plots)}
""")


def lambda_plot(out_dir, summary, engine_rows, timeline, t0):
    """Each campaign's multiplier (λ up to a per-campaign constant: the
    bidder prices base × pCTR ÷ avg CTR × multiplier; a gap while paused)
    against the scheduled request rate on the right axis."""
    ids = [c["id"] for c in summary["campaigns"]]
    _write_multipliers(os.path.join(out_dir, "lambda.dat"), ids, engine_rows, t0, None)
    with open(os.path.join(out_dir, "rate.dat"), "w") as f:
        f.write("# t_s scheduled_rate\n")
        for r in timeline:
            if r.get("rate"):
                f.write(f"{(r['ts'] - t0) / 1000:.1f} {r['rate']:.1f}\n")
    plots = [f"'lambda.dat' u 1:{k + 2} w l lw 2 t '{cid}'" for k, cid in enumerate(ids)]
    plots.append("'rate.dat' u 1:2 axes x1y2 w l dt 2 lc rgb 'gray40' t 'scheduled requests/s'")
    return _run(out_dir, "lambda", f"""{TERM}
set output 'lambda.png'
set title 'Multiplier per campaign (the price of a click, up to a constant) vs traffic'
set xlabel 'seconds since the flights started'; set ylabel 'multiplier'
set y2label 'scheduled requests / s'; set ytics nomirror; set y2tics
set key left top; set grid
plot {', '.join(plots)}
""")


def auc_plot(out_dir, summary, t0):
    series = summary["auc"]["series"]
    with open(os.path.join(out_dir, "auc.dat"), "w") as f:
        f.write("# t_s bayes_auc model_auc ratio\n")
        for w in series:
            vals = [w["bayes_auc"], w["model_auc"], w["ratio"]]
            f.write(f"{(w['t1_ms'] - t0) / 1000:.1f} " +
                    " ".join("NaN" if v is None else f"{v:.4f}" for v in vals) + "\n")
    return _run(out_dir, "auc", f"""{TERM}
set output 'auc.png'
set title 'Model AUC (progressive, checkpoint header) vs Bayes AUC of the true CTR on won impressions'
set xlabel 'seconds since the flights started'; set ylabel 'AUC'
set y2label 'model / Bayes'; set ytics nomirror; set y2tics
set yrange [0.4:1]; set y2range [0.4:1.1]
set key left bottom; set grid
plot 'auc.dat' u 1:2 w lp lw 2 t 'Bayes AUC (per window)', \\
     'auc.dat' u 1:3 w lp lw 2 t 'model AUC', \\
     'auc.dat' u 1:4 axes x1y2 w l dt 2 lw 2 t 'model / Bayes'
""")


def qps_plot(out_dir, timeline, t0):
    with open(os.path.join(out_dir, "qps.dat"), "w") as f:
        f.write("# t_s rate_scheduled qps answered_per_s timeouts_per_s p50_ms p99_ms\n")
        prev = None
        for r in timeline:
            if prev is not None:
                dt = max((r["ts"] - prev["ts"]) / 1000.0, 1e-3)
                f.write(f"{(r['ts'] - t0) / 1000:.1f} {r['rate']:.1f} "
                        f"{(r['requests'] - prev['requests']) / dt:.1f} "
                        f"{(r['answered'] - prev['answered']) / dt:.1f} "
                        f"{(r['timeouts'] - prev['timeouts']) / dt:.1f} "
                        f"{r['p50_ms']:.3f} {r['p99_ms']:.3f}\n")
            prev = r
    return _run(out_dir, "qps", f"""{TERM}
set output 'qps.png'
set multiplot layout 2,1 title 'Traffic and bid latency seen by the exchange'
set xlabel 'seconds since the flights started'; set grid; set key left top
set ylabel 'requests / s'
plot 'qps.dat' u 1:2 w l dt 2 t 'scheduled rate', 'qps.dat' u 1:3 w l lw 2 t 'sent', \\
     'qps.dat' u 1:4 w l t 'answered in time', 'qps.dat' u 1:5 w l t 'timeouts'
set ylabel 'ms'; set logscale y
plot 'qps.dat' u 1:6 w l lw 2 t 'p50', 'qps.dat' u 1:7 w l lw 2 t 'p99'
unset multiplot
""")


def plot_all(out_dir, summary):
    if not shutil.which("gnuplot"):
        print("gnuplot not found (scripts/deps.sh demo installs it): no plots", file=sys.stderr)
        return []
    timeline = report_calc.read_jsonl(os.path.join(out_dir, "exsim-timeline.jsonl"))
    engine_rows = report_calc.read_jsonl(os.path.join(out_dir, "engine.jsonl"))
    t0 = _t0(summary, timeline)
    weights = report_calc.hourly_weights()
    out = [spend_plot(out_dir, summary, timeline, t0, weights),
           multiplier_plot(out_dir, summary, engine_rows, t0),
           lambda_plot(out_dir, summary, engine_rows, timeline, t0),
           auc_plot(out_dir, summary, t0), qps_plot(out_dir, timeline, t0)]
    return [p for p in out if p]
