#!/usr/bin/env python3
"""Light trainer benchmarks, on one exported sample set:
  1. our trainer (FTRL logistic regression + rank-R factor term, the code of
     lighttrainer/) vs liblinear (`liblinear-train -s 0`, L2 logistic
     regression, then `liblinear-predict -b 1`) trained on the same first
     80 % of the samples (libsvm format) and scored on the last 20 %:
     samples/s, holdout AUC and log loss, as ratios; and the Bayes AUC of
     the true CTR on the same holdout (the ceiling);
  2. OpenBLAS vs plain loops in the trainer's factor steps (rank 8 and 32);
  3. inference's factor scoring of every campaign for one impression (one
     cblas_sgemv vs plain loops) for 1,000 and 10,000 campaigns.
The samples come from bench/trainer_probe.c's seeded generator, shaped like
the datastream's (beat_feat_indices of exsim-like requests × campaign, one
click rate per request from an exsim-like hidden model), without negative
down-sampling (liblinear has no instance weights). N = BEAT_BENCH_SAMPLES
(default 300000). Timings are the best of 3 runs (shared machine). Prints
one line per figure; nothing here asserts speed."""
import json, os, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
from benchlib import probe_path  # noqa: E402

N = int(os.environ.get("BEAT_BENCH_SAMPLES", "300000"))
HOLDOUT = 0.2


def probe(exe, *args):
    r = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"trainer_probe {args[0]} failed: {r.stderr[-400:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def auc(scores, labels):
    rows = sorted(zip(scores, labels))
    neg_below = pos = s = 0.0
    i = 0
    while i < len(rows):
        j, p, n = i, 0, 0
        while j < len(rows) and rows[j][0] == rows[i][0]:
            p += rows[j][1]
            n += 1 - rows[j][1]
            j += 1
        s += p * (neg_below + 0.5 * n)
        neg_below += n
        pos += p
        i = j
    return s / (pos * neg_below) if pos and neg_below else float("nan")


def logloss(scores, labels):
    import math
    eps = 1e-7
    return -sum(math.log(min(max(p, eps), 1 - eps)) if y else math.log(min(max(1 - p, eps),
                                                                           1 - eps))
                for p, y in zip(scores, labels)) / len(labels)


def liblinear(tmp, svm):
    lines = open(svm).read().splitlines()
    ntr = int(len(lines) * (1 - HOLDOUT))
    tr, te = os.path.join(tmp, "train.svm"), os.path.join(tmp, "test.svm")
    open(tr, "w").write("\n".join(lines[:ntr]) + "\n")
    open(te, "w").write("\n".join(lines[ntr:]) + "\n")
    model, out = os.path.join(tmp, "ll.model"), os.path.join(tmp, "ll.out")
    train_s = float("inf")
    for _ in range(3):  # best of 3, as for ours: the machine is shared
        t0 = time.monotonic()
        subprocess.run(["liblinear-train", "-s", "0", "-q", tr, model], check=True,
                       capture_output=True, timeout=600)
        train_s = min(train_s, time.monotonic() - t0)
    subprocess.run(["liblinear-predict", "-b", "1", te, model, out], check=True,
                   capture_output=True, timeout=600)
    res = open(out).read().splitlines()
    col = res[0].split()[1:].index("1")  # "labels 1 -1" or "labels -1 1"
    p = [float(x.split()[1 + col]) for x in res[1:]]
    y = [1 if x.split()[0] == "1" else 0 for x in lines[ntr:]]
    return {"train_s": train_s, "samples_per_s": ntr / train_s, "holdout_auc": auc(p, y),
            "holdout_logloss": logloss(p, y)}


def main():
    have_ll = subprocess.run(["sh", "-c", "command -v liblinear-train"],
                             capture_output=True).returncode == 0
    exe = probe_path("trainer_probe")
    with tempfile.TemporaryDirectory(prefix="beat-bench-trainer-") as tmp:
        js, svm = os.path.join(tmp, "samples.jsonl"), os.path.join(tmp, "samples.svm")
        subprocess.run([exe, "gen", str(N), "7", js, svm], check=True, timeout=600)
        print(f"sample set: {N} samples (seeded generator, no down-sampling), "
              f"holdout last {int(HOLDOUT * 100)} %")
        ours = {r: probe(exe, "train", js, r, 1 if r >= 16 else 0, HOLDOUT) for r in (0, 8)}
        bayes = ours[0]["bayes_auc"]
        for r, o in ours.items():
            print(f"beat trainer rank {r}: {o['samples_per_s']:.0f} samples/s, holdout AUC "
                  f"{o['holdout_auc']:.4f}, log loss {o['holdout_logloss']:.4f}, progressive "
                  f"AUC {o['progressive_auc']:.4f}; AUC / Bayes {o['holdout_auc'] / bayes:.3f}")
        print(f"Bayes AUC (true CTR) on the holdout: {bayes:.4f}")
        if have_ll:
            ll = liblinear(tmp, svm)
            print(f"liblinear -s 0: {ll['samples_per_s']:.0f} samples/s, holdout AUC "
                  f"{ll['holdout_auc']:.4f}, log loss {ll['holdout_logloss']:.4f}")
            for r, o in ours.items():
                print(f"ratio beat rank {r} / liblinear: throughput "
                      f"{o['samples_per_s'] / ll['samples_per_s']:.1f}x, AUC diff "
                      f"{o['holdout_auc'] - ll['holdout_auc']:+.4f}, log loss diff "
                      f"{o['holdout_logloss'] - ll['holdout_logloss']:+.4f}")
        else:
            print("liblinear: not installed (scripts/deps.sh bench installs liblinear-tools)")
        for r in (8, 32):
            a, b = (probe(exe, "train", js, r, blas, HOLDOUT) for blas in (1, 0))
            print(f"trainer factor steps rank {r}: OpenBLAS {a['samples_per_s']:.0f} samples/s"
                  f", loops {b['samples_per_s']:.0f} samples/s, ratio "
                  f"{a['samples_per_s'] / b['samples_per_s']:.2f}x")
        for n, r, it in ((1000, 8, 40000), (1000, 32, 20000), (10000, 8, 5000)):
            s = probe(exe, "score", n, r, it)
            print(f"inference factor scoring, {n} campaigns rank {r}: sgemv "
                  f"{s['blas_us']:.2f} us/imp, loops {s['loop_us']:.2f} us/imp, ratio "
                  f"{s['loop_us'] / s['blas_us']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
