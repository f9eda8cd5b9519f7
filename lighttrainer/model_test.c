/* Unit tests of the light trainer's model (FTRL logistic regression and
 * its checkpoint) and of progressive validation (metrics.c). Synthetic
 * data from a known logistic model; no sockets, no sleeps. */
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beat_ckpt.h"
#include "beat_features.h"
#include "beat_test.h"
#include "metrics.h"
#include "model.h"

#define BITS 16
#define SLOTS 8
#define VOCAB 50

static uint64_t rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double nrand(void) { /* Box-Muller */
    double u = urand() + 1e-12, v = urand();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* The true model: one weight per (slot, value); index = hash of both. */
typedef struct truth {
    double w[SLOTS][VOCAB], bias;
} truth;

static uint32_t index_of(int slot, int val) {
    uint64_t h = (uint64_t)(slot * 1000003 + val) * 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(h >> 40) & ((1u << BITS) - 1);
}

static double draw(const truth *t, uint32_t *idx, int *label) {
    double s = t->bias;
    for (int k = 0; k < SLOTS; k++) {
        /* Skewed value popularity, like real traffic. */
        int v = (int)(VOCAB * pow(urand(), 2.0));
        idx[k] = index_of(k, v);
        s += t->w[k][v];
    }
    double p = 1 / (1 + exp(-s));
    *label = urand() < p;
    return p;
}

static void truth_init(truth *t) {
    for (int k = 0; k < SLOTS; k++)
        for (int v = 0; v < VOCAB; v++) t->w[k][v] = 0.7 * nrand();
    t->bias = -5.0;
}

static ltr_ftrl default_ftrl(void) {
    ltr_ftrl f = {0.1, 1.0, 0.1, 1.0};
    return f;
}

static double auc_of(const double *p, const int *y, int n) {
    ltr_prog g;
    ltr_prog_init(&g, n);
    for (int i = 0; i < n; i++) ltr_prog_add(&g, p[i], y[i], 1.0);
    ltr_prog_result r;
    ltr_prog_compute(&g, &r);
    ltr_prog_fini(&g);
    return r.auc;
}

/* Trains on down-sampled data (negatives kept at rate 0.25, weight 4) and
 * checks the learned AUC against the true model's on a holdout, and that
 * avg_ctr recovers the real click rate despite the down-sampling. */
static int test_learns_known_model(void) {
    rng_state = 7;
    truth t;
    truth_init(&t);
    ltr_ftrl f = default_ftrl();
    ltr_model *m = ltr_model_new(BITS, BEAT_HASH_SEED_DEFAULT, &f, NULL, 0.01);
    CHECK(m != NULL);
    uint32_t idx[SLOTS];
    int y;
    double clicks = 0, total = 0;
    for (int i = 0; i < 300000; i++) {
        draw(&t, idx, &y);
        clicks += y;
        total += 1;
        if (!y && urand() >= 0.25) continue;
        ltr_model_learn(m, idx, SLOTS, 0, y, y ? 1.0 : 4.0);
    }
    enum { H = 20000 };
    static double pt[H], pm[H];
    static int yh[H];
    double mean_pm = 0, mean_pt = 0;
    for (int i = 0; i < H; i++) {
        pt[i] = draw(&t, idx, &yh[i]);
        pm[i] = ltr_model_predict(m, idx, SLOTS, 0);
        mean_pm += pm[i] / H;
        mean_pt += pt[i] / H;
    }
    double auc_true = auc_of(pt, yh, H), auc_model = auc_of(pm, yh, H);
    double real_ctr = clicks / total, avg = ltr_model_avg_ctr(m);
    fprintf(stderr,
            "  auc true=%.4f model=%.4f ctr real=%.4f avg_ctr=%.4f "
            "mean p model=%.4f true=%.4f\n",
            auc_true, auc_model, real_ctr, avg, mean_pm, mean_pt);
    CHECK(auc_true > 0.7);
    CHECK(auc_model > auc_true - 0.02);
    CHECK(fabs(avg - real_ctr) / real_ctr < 0.1);
    /* Importance weights keep the model calibrated on the real traffic. */
    CHECK(fabs(mean_pm - mean_pt) / mean_pt < 0.15);
    ltr_model_free(m);
    return 0;
}

static int test_initial_model_is_prior(void) {
    ltr_ftrl f = default_ftrl();
    ltr_model *m = ltr_model_new(BITS, 1, &f, NULL, 0.02);
    CHECK(m != NULL);
    uint32_t idx[3] = {1, 2, 70000};
    CHECK(fabs(ltr_model_predict(m, idx, 3, 0) - 0.02) < 1e-9);
    CHECK(fabs(ltr_model_avg_ctr(m) - 0.02) < 1e-12);
    CHECK(fabs(ltr_model_weight(m, m->dim) - log(0.02 / 0.98)) < 1e-9);
    CHECK(ltr_model_new(9, 1, &f, NULL, 0.02) == NULL);
    CHECK(ltr_model_new(BITS, 1, &f, NULL, 0.0) == NULL);
    ltr_model_free(m);
    return 0;
}

static int train_some(ltr_model *m, int n) {
    rng_state = 11;
    truth t;
    truth_init(&t);
    uint32_t idx[SLOTS];
    int y;
    for (int i = 0; i < n; i++) {
        draw(&t, idx, &y);
        ltr_model_learn(m, idx, SLOTS, 0, y, 1.0);
    }
    return 0;
}

static int test_checkpoint_round_trip(void) {
    ltr_ftrl f = default_ftrl();
    ltr_model *m = ltr_model_new(BITS, BEAT_HASH_SEED_DEFAULT, &f, NULL, 0.01);
    train_some(m, 20000);
    beat_buf out;
    beat_buf_init(&out, 64 << 20);
    ltr_ckpt_meta meta = {"trainer-x",
                          0.71,
                          0.2,
                          1700000000123LL,
                          "{\"http://ds1\":{\"epoch\":\"00000000000000ab\",\"seq\":42}}",
                          NULL};
    CHECK(ltr_model_encode(m, &meta, &out) == 0);

    beat_ckpt c;
    beat_reason why;
    CHECK(beat_ckpt_decode(out.data, out.len, 64 << 20, &c, &why) == 0);
    CHECK_EQ_STR(c.h.kind, "logreg");
    CHECK_EQ_STR(c.h.trainer, "trainer-x");
    CHECK_EQ_INT(c.h.hash_bits, BITS);
    CHECK_EQ_INT(c.h.dim, 1 << BITS);
    CHECK_EQ_INT(c.h.rank, 0);
    CHECK_EQ_INT(c.h.n_weights, (1 << BITS) + 1);
    CHECK_EQ_INT(c.h.samples_seen, 20000);
    CHECK(fabs(c.h.auc - 0.71) < 1e-9);
    CHECK(fabs(c.h.avg_ctr - ltr_model_avg_ctr(m)) < 1e-9);
    CHECK(c.h.hash_seed == BEAT_HASH_SEED_DEFAULT);
    /* The weights are what inference scores with: same predictions. */
    uint32_t idx[3] = {index_of(0, 0), index_of(1, 0), index_of(2, 1)};
    double s = c.w[1 << BITS];
    for (int k = 0; k < 3; k++) s += c.w[idx[k]];
    CHECK(fabs(1 / (1 + exp(-s)) - ltr_model_predict(m, idx, 3, 0)) < 1e-5);

    /* Full restore: optimizer state and cursors come back exactly. */
    ltr_model *r = ltr_model_new(BITS, BEAT_HASH_SEED_DEFAULT, &f, NULL, 0.01);
    char *cursors = NULL;
    bool fresh = false;
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, NULL, &why) == 0);
    CHECK(cursors != NULL && strstr(cursors, "\"seq\":42") != NULL);
    CHECK(memcmp(r->z, m->z, 2 * ((size_t)m->dim + 1) * sizeof(double)) == 0);
    CHECK_EQ_INT(r->samples_seen, 20000);
    CHECK(r->ctr_w == m->ctr_w && r->ctr_wy == m->ctr_wy);
    free(cursors);
    /* Both continue identically. */
    train_some(m, 1000);
    train_some(r, 1000);
    CHECK(memcmp(r->z, m->z, 2 * ((size_t)m->dim + 1) * sizeof(double)) == 0);

    /* A corrupted private section → warm start from the weights only. */
    ltr_model *w = ltr_model_new(BITS, BEAT_HASH_SEED_DEFAULT, &f, NULL, 0.01);
    c.priv[0] = 'X';
    CHECK(ltr_model_restore(w, &c, &cursors, &fresh, NULL, &why) == 1);
    CHECK(cursors == NULL);
    for (int k = 0; k < 3; k++) CHECK(fabs(ltr_model_weight(w, idx[k]) - c.w[idx[k]]) < 1e-6);
    CHECK(fabs(ltr_model_weight(w, w->dim) - c.w[w->dim]) < 1e-6);

    /* Another hash space → refused, model untouched. */
    ltr_model *o = ltr_model_new(BITS + 1, BEAT_HASH_SEED_DEFAULT, &f, NULL, 0.01);
    CHECK(ltr_model_restore(o, &c, &cursors, &fresh, NULL, &why) == -EINVAL);
    CHECK_EQ_INT(o->samples_seen, 0);

    /* The private section adds little: most coordinates are zero. */
    fprintf(stderr, "  checkpoint %zu bytes (weights %zu)\n", out.len,
            ((size_t)(1 << BITS) + 1) * 4);
    CHECK(out.len < ((size_t)(1 << BITS) + 1) * 4 + (200u << 10));
    beat_ckpt_fini(&c);
    ltr_model_free(m);
    ltr_model_free(r);
    ltr_model_free(w);
    ltr_model_free(o);
    beat_buf_fini(&out);
    return 0;
}

/* A model whose coordinates are nearly all touched is stored dense; the
 * round trip is exact either way. A truncated private section is refused. */
static int test_checkpoint_dense_layout(void) {
    ltr_ftrl f = default_ftrl();
    ltr_model *m = ltr_model_new(10, 3, &f, NULL, 0.01);
    rng_state = 3;
    uint32_t idx[8];
    for (int i = 0; i < 5000; i++) {
        for (int k = 0; k < 8; k++) idx[k] = (uint32_t)(urand() * 1024);
        ltr_model_learn(m, idx, 8, 0, urand() < 0.1, 1.0);
    }
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    ltr_ckpt_meta meta = {"t", 0.5, 0.1, 1, NULL, NULL};
    CHECK(ltr_model_encode(m, &meta, &out) == 0);
    beat_ckpt c;
    beat_reason why;
    CHECK(beat_ckpt_decode(out.data, out.len, 1 << 20, &c, &why) == 0);
    CHECK(c.n_priv > 1025 * 16); /* dense: all 1025 coordinates */
    ltr_model *r = ltr_model_new(10, 3, &f, NULL, 0.01);
    char *cursors = NULL;
    bool fresh = false;
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, NULL, &why) == 0);
    CHECK(memcmp(r->z, m->z, 2 * 1025 * sizeof(double)) == 0);
    free(cursors);
    c.n_priv -= 8; /* truncated → not usable: warm start */
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, NULL, &why) == 1);
    CHECK(strstr(why.msg, "layout") != NULL);
    c.n_priv += 8;
    /* A NaN accumulator in the dense block (after the u32 magic, version,
     * JSON length, the JSON, u32 layout and u64 count) → warm start. */
    uint32_t jl;
    memcpy(&jl, c.priv + 8, 4);
    uint8_t *opt = c.priv + 12 + jl + 12;
    double nan = NAN, keep;
    memcpy(&keep, opt + 1025 * 8, 8);
    memcpy(opt + 1025 * 8, &nan, 8);
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, NULL, &why) == 1);
    CHECK(strstr(why.msg, "value") != NULL);
    memcpy(opt + 1025 * 8, &keep, 8);
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, NULL, &why) == 0);
    free(cursors);
    beat_ckpt_fini(&c);
    ltr_model_free(m);
    ltr_model_free(r);
    beat_buf_fini(&out);
    return 0;
}

static int test_progressive_hand_example(void) {
    ltr_prog g;
    CHECK(ltr_prog_init(&g, 4) == 0);
    ltr_prog_result r;
    CHECK(ltr_prog_compute(&g, &r) == 0);
    CHECK_EQ_INT(r.n, 0);
    CHECK(r.auc == 0.5);
    /* positives 0.9, 0.3; negatives 0.8, 0.1 → 3 of 4 pairs ordered. */
    ltr_prog_add(&g, 0.9, 1, 1);
    ltr_prog_add(&g, 0.8, 0, 1);
    ltr_prog_add(&g, 0.3, 1, 1);
    ltr_prog_add(&g, 0.1, 0, 1);
    CHECK(ltr_prog_compute(&g, &r) == 0);
    CHECK_EQ_INT(r.n, 4);
    CHECK(fabs(r.auc - 0.75) < 1e-9);
    double ll = -(log(0.9) + log(0.2) + log(0.3) + log(0.9)) / 4;
    CHECK(fabs(r.logloss - ll) < 1e-6);
    /* Window of 4: adding a tie (positive at 0.8) evicts the 0.9 positive.
     * Entries: 0.8-, 0.3+, 0.1-, 0.8+ → pairs: 0.3>0.1 (1), 0.3<0.8 (0),
     * 0.8=0.8 (0.5), 0.8>0.1 (1) → 2.5/4. */
    ltr_prog_add(&g, 0.8, 1, 1);
    CHECK(ltr_prog_compute(&g, &r) == 0);
    CHECK_EQ_INT(r.n, 4);
    CHECK(fabs(r.auc - 0.625) < 1e-9);
    ltr_prog_fini(&g);
    /* Importance weights: a negative of weight 3 counts as three. */
    CHECK(ltr_prog_init(&g, 10) == 0);
    ltr_prog_add(&g, 0.6, 1, 1);
    ltr_prog_add(&g, 0.7, 0, 3); /* above the positive */
    ltr_prog_add(&g, 0.2, 0, 1); /* below */
    CHECK(ltr_prog_compute(&g, &r) == 0);
    CHECK(fabs(r.auc - 0.25) < 1e-9);
    ll = -(log(0.6) + 3 * log(0.3) + log(0.8)) / 5;
    CHECK(fabs(r.logloss - ll) < 1e-6);
    /* One class only: AUC undefined → 0.5. */
    ltr_prog_fini(&g);
    CHECK(ltr_prog_init(&g, 10) == 0);
    ltr_prog_add(&g, 0.6, 0, 1);
    ltr_prog_add(&g, 0.7, 0, 1);
    CHECK(ltr_prog_compute(&g, &r) == 0);
    CHECK(r.auc == 0.5);
    ltr_prog_fini(&g);
    return 0;
}

/* Learning on a sample returns the score from before the update. */
static int test_learn_returns_prior_score(void) {
    ltr_ftrl f = default_ftrl();
    ltr_model *m = ltr_model_new(BITS, 1, &f, NULL, 0.05);
    uint32_t idx[2] = {5, 6};
    double before = ltr_model_predict(m, idx, 2, 0);
    double p = ltr_model_learn(m, idx, 2, 0, 1, 1.0);
    CHECK(p == before);
    CHECK(ltr_model_predict(m, idx, 2, 0) > before);
    CHECK_EQ_INT(m->samples_seen, 1);
    ltr_model_free(m);
    return 0;
}

/* ---- factor term -------------------------------------------------------- */

#define FM_CMPS 100
#define FM_BASES 4
#define FM_VOCAB 12

/* Samples laid out as beat_feat_indices makes them (bases, crosses,
 * campaign), from a truth whose campaign × context effect is low-rank:
 * logit = -3 + Σ_f a[f] + u[c]·Σ_f v[f]. With 100 campaigns the crosses
 * see few samples each; the factors share strength across campaigns. */
typedef struct fm_truth {
    double a[FM_BASES][FM_VOCAB], v[FM_BASES][FM_VOCAB][2], u[FM_CMPS][2];
    uint64_t base_h[FM_BASES][FM_VOCAB], cmp_h[FM_CMPS];
} fm_truth;

static void fm_truth_init(fm_truth *t) {
    beat_hash_params hp = {BITS, 99};
    char id[16];
    for (int k = 0; k < FM_BASES; k++)
        for (int v = 0; v < FM_VOCAB; v++) {
            t->a[k][v] = 0.3 * nrand();
            t->v[k][v][0] = 0.8 * nrand();
            t->v[k][v][1] = 0.8 * nrand();
            beat_feat_raw one;
            beat_feat_reset(&one);
            beat_feat_add_int(&one, &hp, "ns", k * 1000 + v);
            t->base_h[k][v] = one.h[0];
        }
    for (int c = 0; c < FM_CMPS; c++) {
        t->u[c][0] = nrand();
        t->u[c][1] = nrand();
        snprintf(id, sizeof id, "c%d", c);
        t->cmp_h[c] = beat_feat_campaign_hash(&hp, id);
    }
}

/* Writes 2·FM_BASES+1 indices; returns the true probability. */
static double fm_draw(const fm_truth *t, uint32_t *idx, uint64_t *ch, int *label) {
    beat_hash_params hp = {BITS, 99};
    beat_feat_raw raw;
    beat_feat_reset(&raw);
    int c = (int)(urand() * FM_CMPS);
    double s = -3, vs[2] = {0, 0};
    for (int k = 0; k < FM_BASES; k++) {
        int v = (int)(urand() * FM_VOCAB);
        raw.h[raw.n++] = t->base_h[k][v];
        s += t->a[k][v];
        vs[0] += t->v[k][v][0];
        vs[1] += t->v[k][v][1];
    }
    s += t->u[c][0] * vs[0] + t->u[c][1] * vs[1];
    *ch = t->cmp_h[c];
    beat_feat_indices(&hp, &raw, *ch, idx, 2 * FM_BASES + 1);
    double p = 1 / (1 + exp(-s));
    *label = urand() < p;
    return p;
}

static double fm_holdout_auc(ltr_model *m, int train_n) {
    rng_state = 21;
    fm_truth t;
    fm_truth_init(&t);
    uint32_t idx[2 * FM_BASES + 1];
    uint64_t ch;
    int y;
    for (int i = 0; i < train_n; i++) {
        fm_draw(&t, idx, &ch, &y);
        ltr_model_learn(m, idx, 2 * FM_BASES + 1, ch, y, 1.0);
    }
    enum { H = 20000 };
    static double p[H];
    static int yy[H];
    for (int i = 0; i < H; i++) {
        fm_draw(&t, idx, &ch, &yy[i]);
        p[i] = ltr_model_predict(m, idx, 2 * FM_BASES + 1, ch);
    }
    return auc_of(p, yy, H);
}

/* The factor term learns what the crosses alone learn slowly. */
static int test_factors_learn_low_rank_interaction(void) {
    ltr_ftrl f = default_ftrl();
    ltr_fm fm = {8, 12, 0.02, 1e-4};
    ltr_model *lin = ltr_model_new(BITS, 99, &f, NULL, 0.05);
    ltr_model *fac = ltr_model_new(BITS, 99, &f, &fm, 0.05);
    CHECK(lin && fac);
    double a0 = fm_holdout_auc(lin, 60000), a8 = fm_holdout_auc(fac, 60000);
    fprintf(stderr, "  holdout auc rank 0 %.4f, rank 8 %.4f\n", a0, a8);
    CHECK(a8 > a0 + 0.01);
    ltr_model_free(lin);
    ltr_model_free(fac);
    /* factor_bits above hash_bits cannot map rows from indices */
    ltr_fm bad = {8, BITS + 1, 0.02, 0};
    CHECK(ltr_model_new(BITS, 99, &f, &bad, 0.05) == NULL);
    return 0;
}

/* What inference computes from the checkpoint (beat_ckpt.h formula)
 * equals the trainer's prediction; the round trip restores embeddings and
 * accumulators exactly; another rank restores the linear part only. */
static int test_factors_checkpoint(void) {
    ltr_ftrl f = default_ftrl();
    ltr_fm fm = {4, 10, 0.02, 1e-4};
    ltr_model *m = ltr_model_new(BITS, 99, &f, &fm, 0.05);
    CHECK(m != NULL);
    fm_holdout_auc(m, 5000);
    beat_buf out;
    beat_buf_init(&out, 64 << 20);
    ltr_ckpt_meta meta = {"t", 0.6, 0.2, 1, NULL, NULL};
    CHECK(ltr_model_encode(m, &meta, &out) == 0);
    beat_ckpt c;
    beat_reason why = {{0}};
    CHECK(beat_ckpt_decode(out.data, out.len, 64 << 20, &c, &why) == 0);
    CHECK_EQ_INT(c.h.rank, 4);
    CHECK_EQ_INT(c.h.factor_bits, 10);
    CHECK_EQ_INT(c.h.n_weights, (1 << BITS) + 1 + 2 * 1024 * 4);

    rng_state = 5;
    fm_truth t;
    fm_truth_init(&t);
    uint32_t idx[2 * FM_BASES + 1];
    uint64_t ch;
    int y;
    for (int i = 0; i < 50; i++) {
        fm_draw(&t, idx, &ch, &y);
        double s = c.w[c.h.dim];
        for (int k = 0; k < 2 * FM_BASES + 1; k++) s += c.w[idx[k]];
        const float *V = c.w + beat_ckpt_v_at(&c.h), *U = c.w + beat_ckpt_u_at(&c.h);
        const float *u = U + (ch & 1023) * 4;
        for (int j = 0; j < 4; j++) {
            double v = 0;
            for (int k = 0; k < FM_BASES; k++) v += V[(idx[k] & 1023) * 4 + j];
            s += u[j] * v;
        }
        CHECK(fabs(1 / (1 + exp(-s)) - ltr_model_predict(m, idx, 2 * FM_BASES + 1, ch)) < 1e-5);
    }

    ltr_model *r = ltr_model_new(BITS, 99, &f, &fm, 0.05);
    char *cursors = NULL;
    bool fresh = true;
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, NULL, &why) == 0);
    CHECK(!fresh);
    size_t emb = (size_t)1024 * 4;
    CHECK(memcmp(r->fac.V, m->fac.V, (2 * emb + 2 * 1024) * sizeof(float)) == 0);
    free(cursors);
    fm_holdout_auc(m, 1000);
    fm_holdout_auc(r, 1000);
    CHECK(memcmp(r->fac.V, m->fac.V, (2 * emb + 2 * 1024) * sizeof(float)) == 0);
    CHECK(memcmp(r->z, m->z, 2 * ((size_t)m->dim + 1) * sizeof(double)) == 0);

    /* rank 8 model from a rank 4 checkpoint: linear part kept, fresh factors */
    ltr_fm fm8 = {8, 10, 0.02, 1e-4};
    ltr_model *o = ltr_model_new(BITS, 99, &f, &fm8, 0.05);
    CHECK(ltr_model_restore(o, &c, &cursors, &fresh, NULL, &why) == 0);
    CHECK(fresh);
    CHECK_EQ_INT(o->samples_seen, 5000);
    free(cursors);
    /* rank 0 model from it: fine too (factors ignored) */
    ltr_model *z = ltr_model_new(BITS, 99, &f, NULL, 0.05);
    CHECK(ltr_model_restore(z, &c, &cursors, &fresh, NULL, &why) == 0);
    CHECK(!fresh);
    free(cursors);
    /* Another trainer's rank-0 checkpoint carrying our private section on
     * (the swap contract): the factors come back exactly from it. */
    beat_ckpt foreign = c;
    foreign.h.rank = 0;
    foreign.h.factor_bits = 0;
    foreign.h.n_weights = (uint64_t)c.h.dim + 1;
    ltr_model *f2 = ltr_model_new(BITS, 99, &f, &fm, 0.05);
    CHECK(ltr_model_restore(f2, &foreign, &cursors, &fresh, NULL, &why) == 0);
    CHECK(!fresh);
    free(cursors);
    ltr_model *r2 = ltr_model_new(BITS, 99, &f, &fm, 0.05);
    CHECK(ltr_model_restore(r2, &c, &cursors, &fresh, NULL, &why) == 0);
    CHECK(memcmp(f2->fac.V, r2->fac.V, (2 * emb + 2 * 1024) * sizeof(float)) == 0);
    free(cursors);
    /* ...and without our private section: fresh factors, warm linear part */
    foreign.n_priv = 0;
    CHECK(ltr_model_restore(f2, &foreign, &cursors, &fresh, NULL, &why) == 1);
    CHECK(fresh);
    ltr_model_free(f2);
    ltr_model_free(r2);
    beat_ckpt_fini(&c);
    ltr_model_free(m);
    ltr_model_free(r);
    ltr_model_free(o);
    ltr_model_free(z);
    beat_buf_fini(&out);
    return 0;
}

/* OpenBLAS and the plain loops compute the same steps. */
static int test_factors_blas_matches_loops(void) {
    ltr_ftrl f = default_ftrl();
    ltr_fm fm = {8, 10, 0.02, 1e-4};
    ltr_model *a = ltr_model_new(BITS, 99, &f, &fm, 0.05);
    ltr_model *b = ltr_model_new(BITS, 99, &f, &fm, 0.05);
    CHECK(a && b);
    a->fac.blas = true;
    b->fac.blas = false;
    fm_holdout_auc(a, 3000);
    fm_holdout_auc(b, 3000);
    size_t n = (size_t)1024 * 8 * 2;
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(a->fac.V[i] - b->fac.V[i]));
    fprintf(stderr, "  max |blas - loop| = %g\n", worst);
    CHECK(worst < 1e-4);
    ltr_model_free(a);
    ltr_model_free(b);
    return 0;
}

/* The progressive window rides in the private section: after a restore the
 * AUC and log loss figures continue instead of starting from nothing. */
static int test_checkpoint_keeps_progressive_window(void) {
    ltr_ftrl f = default_ftrl();
    ltr_fm fm = {2, 8, 0.02, 0};
    ltr_model *m = ltr_model_new(12, 5, &f, &fm, 0.05);
    ltr_prog g, back;
    CHECK(m && ltr_prog_init(&g, 10) == 0 && ltr_prog_init(&back, 10) == 0);
    for (int i = 0; i < 15; i++) ltr_prog_add(&g, 0.05 * (i % 7), i % 3 == 0, 1 + i % 2);
    beat_buf out;
    beat_buf_init(&out, 1 << 24);
    ltr_ckpt_meta meta = {"t", 0.5, 0.1, 1, NULL, &g};
    CHECK(ltr_model_encode(m, &meta, &out) == 0);
    beat_ckpt c;
    beat_reason why = {{0}};
    CHECK(beat_ckpt_decode(out.data, out.len, 1 << 24, &c, &why) == 0);
    ltr_model *r = ltr_model_new(12, 5, &f, &fm, 0.05);
    char *cursors = NULL;
    bool fresh = true;
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, &back, &why) == 0);
    free(cursors);
    ltr_prog_result a, b;
    ltr_prog_compute(&g, &a);
    ltr_prog_compute(&back, &b);
    CHECK_EQ_INT(b.n, 10);
    CHECK(a.auc == b.auc && fabs(a.logloss - b.logloss) < 1e-12);
    /* a truncated window block makes the private section unusable */
    c.n_priv -= 1;
    CHECK(ltr_model_restore(r, &c, &cursors, &fresh, NULL, &why) == 1);
    c.n_priv += 1;
    beat_ckpt_fini(&c);
    beat_buf_fini(&out);
    ltr_prog_fini(&g);
    ltr_prog_fini(&back);
    ltr_model_free(m);
    ltr_model_free(r);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"learns_known_model", test_learns_known_model},
        {"initial_model_is_prior", test_initial_model_is_prior},
        {"checkpoint_round_trip", test_checkpoint_round_trip},
        {"checkpoint_dense_layout", test_checkpoint_dense_layout},
        {"progressive_hand_example", test_progressive_hand_example},
        {"learn_returns_prior_score", test_learn_returns_prior_score},
        {"factors_learn_low_rank_interaction", test_factors_learn_low_rank_interaction},
        {"factors_checkpoint", test_factors_checkpoint},
        {"checkpoint_keeps_progressive_window", test_checkpoint_keeps_progressive_window},
        {"factors_blas_matches_loops", test_factors_blas_matches_loops},
        {NULL, NULL}};
    return beat_test_main("model", tests, argc, argv);
}
