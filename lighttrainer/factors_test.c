/* Unit tests of the light trainer's factor term (factors.c, through the
 * model): it learns a low-rank campaign × context effect the crosses alone
 * learn slowly, its checkpoint gives inference the trainer's predictions
 * and restores exactly (or the linear part only, for another rank), and
 * OpenBLAS and the plain loops agree. Synthetic data; no sockets, no sleeps. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_ckpt.h"
#include "beat_features.h"
#include "beat_test.h"
#include "model.h"
#include "model_testlib.h"

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

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"factors_learn_low_rank_interaction", test_factors_learn_low_rank_interaction},
        {"factors_checkpoint", test_factors_checkpoint},
        {"factors_blas_matches_loops", test_factors_blas_matches_loops},
        {NULL, NULL}};
    return beat_test_main("factors", tests, argc, argv);
}
