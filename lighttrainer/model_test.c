/* Unit tests of the light trainer's model (FTRL logistic regression and
 * its checkpoint) and of progressive validation (metrics.c); the factor
 * term's are in factors_test.c. Synthetic data from a known logistic
 * model; no sockets, no sleeps. */
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
#include "model_testlib.h"

#define SLOTS 8
#define VOCAB 50

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
        {"checkpoint_keeps_progressive_window", test_checkpoint_keeps_progressive_window},
        {NULL, NULL}};
    return beat_test_main("model", tests, argc, argv);
}
