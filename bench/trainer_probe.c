/* Probe of bench/bench_trainer.py (compiled there against libbeat.a and
 * the trainer's and inference's model code). Three modes:
 *   gen N SEED OUT.jsonl OUT.svm   seeded samples shaped like the
 *       datastream's (beat_feat_indices of exsim-like requests × campaign,
 *       no down-sampling) with the true CTR in "p", and the same rows in
 *       libsvm format (1-based index:1) for liblinear;
 *   train FILE.jsonl RANK BLAS HOLDOUT_FRAC   trains our model on the first
 *       part (progressive), scores the holdout; prints one JSON line;
 *   score N_CAMPAIGNS RANK ITERS   inference's per-imp factor scoring of
 *       every campaign: sgemv vs plain loops, µs per imp; one JSON line.
 * The true model copies tools/beat-exsim/traffic.c's shape: additive domain,
 * size, device and country effects plus a campaign × site-category term. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat_features.h"
#include "beat_util.h"
#include "../inference/model.h"
#include "../lighttrainer/model.h"

#define DOMS 60
#define CATS 10
#define CMPS 20
#define SEED_HASH BEAT_HASH_SEED_DEFAULT

static uint64_t rs;
static double urand(void) {
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rs >> 11) * 0x1.0p-53;
}
static double nrand(void) {
    double u = urand() + 1e-300, v = urand();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int gen(long n, uint64_t seed, const char *jpath, const char *spath) {
    rs = seed;
    double dom_eff[DOMS], sz_eff[4], dev_eff[3], ctry_eff[5], cmp_cat[CMPS][CATS];
    int dom_cat[DOMS];
    for (int i = 0; i < DOMS; i++) dom_eff[i] = 0.6 * nrand(), dom_cat[i] = (int)(urand() * CATS);
    for (int i = 0; i < 4; i++) sz_eff[i] = 0.3 * nrand();
    for (int i = 0; i < 3; i++) dev_eff[i] = 0.3 * nrand();
    for (int i = 0; i < 5; i++) ctry_eff[i] = 0.3 * nrand();
    for (int c = 0; c < CMPS; c++)
        for (int k = 0; k < CATS; k++) cmp_cat[c][k] = 0.5 * nrand();
    static const char *SZ[4] = {"300x250", "728x90", "320x50", "160x600"};
    static const char *OS[4] = {"Windows", "macOS", "Android", "iOS"};
    static const char *CT[5] = {"USA", "GBR", "DEU", "FRA", "JPN"};
    static const int DT[3] = {2, 4, 5};
    beat_hash_params hp = {BEAT_HASH_BITS_DEFAULT, SEED_HASH};
    FILE *jf = fopen(jpath, "w"), *sf = fopen(spath, "w");
    if (!jf || !sf) return 1;
    const double b0 = -4.3; /* ~2 % mean CTR with these effects */
    const char *nr = getenv("BEAT_PROBE_NEG_RATE");
    double neg_rate = nr ? atof(nr) : 1.0;
    for (long i = 0; i < n; i++) {
        double v = urand();
        int dom = (int)(v * v * DOMS), sz = urand() < 0.4   ? 0
                                            : urand() < 0.6 ? 1 + (urand() < 0.5)
                                                            : 3;
        int dev = urand() < 0.4 ? 0 : urand() < 0.75 ? 1 : 2, os = (dev ? 2 : 0) + (urand() < 0.5);
        int ctry = urand() < 0.4 ? 0 : 1 + (int)(urand() * 4), cmp = (int)(urand() * CMPS);
        int hr = (int)(urand() * 24);
        double z = b0 + dom_eff[dom] + sz_eff[sz] + dev_eff[dev] + ctry_eff[ctry] +
                   cmp_cat[cmp][dom_cat[dom]];
        double p = 1 / (1 + exp(-z));
        int y = urand() < p;
        /* negatives kept at BEAT_PROBE_NEG_RATE (weight 1/r), as datastream does */
        double w = 1;
        if (!y && neg_rate < 1) {
            if (urand() >= neg_rate) continue;
            w = 1 / neg_rate;
        }
        char dn[32], pub[16], cat[16], cid[16];
        snprintf(dn, sizeof dn, "site%02d.example", dom);
        snprintf(pub, sizeof pub, "pub%d", dom / 5);
        snprintf(cat, sizeof cat, "IAB%d", dom_cat[dom] + 1);
        snprintf(cid, sizeof cid, "cmp-%02d", cmp);
        beat_feat_raw raw;
        beat_feat_reset(&raw);
        beat_feat_add(&raw, &hp, "dom", dn, strlen(dn));
        beat_feat_add(&raw, &hp, "pub", pub, strlen(pub));
        beat_feat_add(&raw, &hp, "sz", SZ[sz], strlen(SZ[sz]));
        beat_feat_add_int(&raw, &hp, "pos", sz == 1 ? 1 : 3);
        beat_feat_add(&raw, &hp, "chan", "site", 4);
        beat_feat_add(&raw, &hp, "cat", cat, strlen(cat));
        beat_feat_add_int(&raw, &hp, "dt", DT[dev]);
        beat_feat_add(&raw, &hp, "os", OS[os], strlen(OS[os]));
        beat_feat_add(&raw, &hp, "ctry", CT[ctry], 3);
        beat_feat_add_int(&raw, &hp, "hr", hr);
        uint32_t idx[64];
        int k = beat_feat_indices(&hp, &raw, beat_feat_campaign_hash(&hp, cid), idx, 64);
        fprintf(jf, "{\"seq\":%ld,\"campaign\":\"%s\",\"label\":%d,\"w\":%g,\"p\":%.6g,\"feat\":[",
                i + 1, cid, y, w, p);
        fprintf(sf, "%d", y ? 1 : -1);
        /* libsvm wants ascending, distinct indices */
        uint32_t s[64];
        memcpy(s, idx, sizeof idx);
        for (int a = 1; a < k; a++)
            for (int b = a; b > 0 && s[b - 1] > s[b]; b--) {
                uint32_t t = s[b];
                s[b] = s[b - 1];
                s[b - 1] = t;
            }
        for (int j = 0; j < k; j++) {
            fprintf(jf, "%s%u", j ? "," : "", idx[j]);
            if (j == 0 || s[j] != s[j - 1]) fprintf(sf, " %u:1", s[j] + 1);
        }
        fputs("]}\n", jf);
        fputc('\n', sf);
    }
    fclose(jf);
    fclose(sf);
    return 0;
}

typedef struct row {
    uint32_t feat[64];
    int n, y;
    double p, w;
    uint64_t ch;
} row;

/* Importance-weighted AUC (w NULL = all 1). */
static double auc_of(const float *p, const uint8_t *y, const float *w, int n) {
    ltr_prog g;
    if (ltr_prog_init(&g, n) != 0) return NAN;
    for (int i = 0; i < n; i++) ltr_prog_add(&g, p[i], y[i], w ? w[i] : 1.0);
    ltr_prog_result r;
    ltr_prog_compute(&g, &r);
    ltr_prog_fini(&g);
    return r.auc;
}

static int train(const char *path, int rank, int blas, double holdout) {
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t cap = 1 << 16, n = 0;
    row *rows = malloc(cap * sizeof *rows);
    char *line = NULL;
    size_t ll = 0;
    beat_hash_params hp = {BEAT_HASH_BITS_DEFAULT, SEED_HASH};
    while (getline(&line, &ll, f) > 0) {
        if (n == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
        row *r = &rows[n];
        char cid[64];
        if (sscanf(line, "{\"seq\":%*d,\"campaign\":\"%63[^\"]\",\"label\":%d,\"w\":%lg,\"p\":%lg",
                   cid, &r->y, &r->w, &r->p) != 4)
            continue;
        r->ch = beat_feat_campaign_hash(&hp, cid);
        char *q = strstr(line, "\"feat\":[") + 8;
        r->n = 0;
        while (*q && *q != ']' && r->n < 64) {
            r->feat[r->n++] = (uint32_t)strtoul(q, &q, 10);
            if (*q == ',') q++;
        }
        n++;
    }
    free(line);
    fclose(f);
    size_t ntr = (size_t)((double)n * (1 - holdout)), nte = n - ntr;
    /* defaults = the daemon's; BEAT_PROBE_{ALPHA,BETA,L1,L2,FLR} for tuning */
    const char *e;
    ltr_ftrl fp = {(e = getenv("BEAT_PROBE_ALPHA")) ? atof(e) : 0.1,
                   (e = getenv("BEAT_PROBE_BETA")) ? atof(e) : 1,
                   (e = getenv("BEAT_PROBE_L1")) ? atof(e) : 0.1,
                   (e = getenv("BEAT_PROBE_L2")) ? atof(e) : 1};
    ltr_fm fm = {(uint32_t)rank, 16, (e = getenv("BEAT_PROBE_FLR")) ? atof(e) : 0.02, 1e-4};
    /* best of 3 fresh runs: the machine is shared, the minimum is the cost */
    ltr_model *m = NULL;
    ltr_prog g;
    double dt = INFINITY;
    for (int rep = 0; rep < 3; rep++) {
        ltr_model_free(m);
        if (rep) ltr_prog_fini(&g);
        m = ltr_model_new(BEAT_HASH_BITS_DEFAULT, SEED_HASH, &fp, &fm, 0.02);
        if (!m || ltr_prog_init(&g, (int)ntr) != 0) return 1;
        m->fac.blas = blas != 0;
        double t0 = now_s();
        for (size_t i = 0; i < ntr; i++) {
            double p =
                ltr_model_learn(m, rows[i].feat, rows[i].n, rows[i].ch, rows[i].y, rows[i].w);
            ltr_prog_add(&g, p, rows[i].y, rows[i].w);
        }
        dt = fmin(dt, now_s() - t0);
    }
    ltr_prog_result pr;
    ltr_prog_compute(&g, &pr);
    /* the ceiling of the progressive figure: true CTR on the same samples */
    for (size_t i = 0; i < ntr; i++) ltr_prog_add(&g, rows[i].p, rows[i].y, rows[i].w);
    ltr_prog_result bt;
    ltr_prog_compute(&g, &bt);
    float *ps = malloc(nte * sizeof *ps), *pt = malloc(nte * sizeof *pt);
    float *ws = malloc(nte * sizeof *ws);
    uint8_t *ys = malloc(nte);
    double ll_sum = 0, w_sum = 0;
    for (size_t i = 0; i < nte; i++) {
        const row *r = &rows[ntr + i];
        double p = ltr_model_predict(m, r->feat, r->n, r->ch);
        ps[i] = (float)p;
        pt[i] = (float)r->p;
        ys[i] = (uint8_t)r->y;
        ws[i] = (float)r->w;
        p = fmin(fmax(p, 1e-7), 1 - 1e-7);
        ll_sum -= r->w * (r->y ? log(p) : log(1 - p));
        w_sum += r->w;
    }
    printf("{\"rank\":%d,\"blas\":%d,\"train\":%zu,\"holdout\":%zu,\"train_s\":%.4f,"
           "\"samples_per_s\":%.0f,\"progressive_auc\":%.5f,\"holdout_auc\":%.5f,"
           "\"holdout_logloss\":%.5f,\"bayes_auc\":%.5f,\"bayes_progressive_auc\":%.5f}\n",
           rank, blas, ntr, nte, dt, (double)ntr / dt, pr.auc, auc_of(ps, ys, ws, (int)nte),
           ll_sum / w_sum, auc_of(pt, ys, ws, (int)nte), bt.auc);
    ltr_prog_fini(&g);
    ltr_model_free(m);
    free(rows);
    free(ps);
    free(pt);
    free(ys);
    free(ws);
    return 0;
}

static int score(int n_cmp, int rank, long iters) {
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    ck.h.hash_bits = BEAT_HASH_BITS_DEFAULT;
    ck.h.hash_seed = SEED_HASH;
    ck.h.dim = 1u << ck.h.hash_bits;
    ck.h.rank = (uint32_t)rank;
    ck.h.factor_bits = 16;
    ck.h.n_weights = beat_ckpt_expected_weights(&ck.h);
    ck.h.avg_ctr = 0.02;
    ck.w = calloc(ck.h.n_weights, sizeof *ck.w);
    rs = 3;
    for (uint64_t i = 0; i < ck.h.n_weights; i++) ck.w[i] = (float)(0.1 * nrand());
    inf_model *m = NULL;
    beat_reason why = {{0}};
    if (inf_model_new(&ck, 1, &m, &why) != 0) return 1;
    /* A world whose n campaigns have distinct U rows (the snapshot is not
     * needed for scoring: camps[].hash is all the gather reads). */
    inf_world w;
    memset(&w, 0, sizeof w);
    w.model = m;
    w.n = n_cmp;
    w.camps = calloc((size_t)n_cmp, sizeof *w.camps);
    w.fu = malloc((size_t)n_cmp * rank * sizeof *w.fu);
    for (int i = 0; i < n_cmp; i++) {
        w.camps[i].hash = (uint64_t)i * 0x9E3779B97F4A7C15ULL;
        memcpy(w.fu + (size_t)i * rank, m->U + (size_t)(w.camps[i].hash & m->factor_mask) * rank,
               rank * sizeof(float));
    }
    beat_feat_raw raw;
    beat_feat_reset(&raw);
    for (int i = 0; i < 10; i++) beat_feat_add_int(&raw, &m->hp, "f", i);
    float *out = malloc((size_t)n_cmp * sizeof *out);
    double res[2], check = 0;
    for (int b = 0; b < 2; b++) {
        res[b] = INFINITY;
        for (int rep = 0; rep < 3; rep++) { /* best of 3: shared machine */
            double t0 = now_s();
            for (long k = 0; k < iters; k++) {
                raw.h[0] = (uint64_t)k * 0x100000001b3ULL; /* a new imp each time */
                inf_world_factor_scores(&w, &raw, out, n_cmp, b == 1);
                check += out[k % n_cmp];
            }
            res[b] = fmin(res[b], (now_s() - t0) / (double)iters * 1e6);
        }
    }
    printf("{\"campaigns\":%d,\"rank\":%d,\"loop_us\":%.3f,\"blas_us\":%.3f,\"check\":%g}\n", n_cmp,
           rank, res[0], res[1], check);
    free(out);
    free(w.camps);
    free(w.fu);
    inf_model_unref(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && !strcmp(argv[1], "gen"))
        return gen(atol(argv[2]), strtoull(argv[3], NULL, 10), argv[4], argv[5]);
    if (argc == 6 && !strcmp(argv[1], "train"))
        return train(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
    if (argc == 5 && !strcmp(argv[1], "score"))
        return score(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
    fprintf(stderr, "usage: trainer_probe gen|train|score ...\n");
    return 64;
}
