/* The cross-weight cache must never change a score: every pCTR through it
 * equals inf_model_pctr's to the bit, warm or cold, when two features of an
 * imp share a row, when a new world reuses the old one's memory, and when a
 * world grows. And it must actually hit once warm. */
#include "xcache.h"

#include <stdlib.h>
#include <string.h>

#include "beat_test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd64(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

enum { BITS = 12, MAXC = 300 };

/* A logistic model with random weights, built through inf_model_new. */
static inf_model *rand_model(void) {
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    ck.h.hash_bits = BITS;
    ck.h.hash_seed = 0x77;
    ck.h.dim = 1u << BITS;
    ck.h.n_weights = ck.h.dim + 1;
    ck.h.avg_ctr = 0.01;
    float *w = malloc(ck.h.n_weights * sizeof *w);
    if (!w) return NULL;
    for (uint32_t i = 0; i < ck.h.n_weights; i++)
        w[i] = (float)((int64_t)(rnd64() % 2001) - 1000) / 4000.0f;
    ck.w = w;
    inf_model *m = NULL;
    beat_reason why;
    if (inf_model_new(&ck, 1, &m, &why) < 0) {
        free(w);
        return NULL;
    }
    return m;
}

static inf_camp camps[MAXC];

/* A hand-built world: what the cache reads (model, n, camps' hash/own_w, id). */
static void set_world(inf_world *w, inf_model *m, int n, uint64_t id) {
    memset(w, 0, sizeof *w);
    w->model = m;
    w->n = n;
    w->camps = camps;
    w->id = id;
    uint32_t mask = (1u << BITS) - 1;
    for (int i = 0; i < n; i++) {
        camps[i].hash = rnd64();
        camps[i].own_w = m->ck.w[camps[i].hash & mask];
    }
}

/* Features from a small pool (rows get reused), plus fresh values (one-off
 * domains) one time in fresh_in. */
enum { POOL = 16 };
static uint64_t pool[POOL];

static void rand_raw(beat_feat_raw *raw, int fresh_in) {
    raw->n = 1 + (int)(rnd64() % 10);
    for (int j = 0; j < raw->n; j++)
        raw->h[j] = fresh_in && rnd64() % (uint64_t)fresh_in == 0 ? rnd64() : pool[rnd64() % POOL];
}

static int same_scores(inf_xcache *xc, const inf_world *w, int reqs, int fresh_in) {
    for (int q = 0; q < reqs; q++) {
        beat_feat_raw raw;
        rand_raw(&raw, fresh_in);
        inf_xrow rows[BEAT_FEAT_RAW_MAX];
        inf_xcache_rows(xc, w, &raw, rows);
        double base = inf_model_logit_base(w->model, &raw);
        /* 60 candidates in chunks of 1..INF_XCACHE_CHUNK, as the bidder
         * scores them */
        for (int done = 0; done < 60;) {
            int cis[INF_XCACHE_CHUNK], n = 1 + (int)(rnd64() % INF_XCACHE_CHUNK);
            for (int k = 0; k < n; k++) cis[k] = (int)(rnd64() % (uint64_t)w->n);
            float spill[INF_XCACHE_CHUNK][BEAT_FEAT_RAW_MAX];
            inf_xcache_fill(xc, w, &raw, rows, cis, n, spill);
            for (int k = 0; k < n; k++, done++) {
                double f = done % 5 ? 0.0 : 0.125;
                double want = inf_model_pctr(w->model, base, &raw, w->camps[cis[k]].hash, f);
                double got = inf_xcache_score(w, base, &raw, rows, cis[k], spill[k], f);
                if (memcmp(&want, &got, sizeof want) != 0) {
                    fprintf(stderr, "  req %d campaign %d: %.17g != %.17g\n", q, cis[k], got, want);
                    return 1;
                }
            }
        }
    }
    return 0;
}

static int t_equal_to_model_and_hits(void) {
    for (int i = 0; i < POOL; i++) pool[i] = rnd64();
    inf_model *m = rand_model();
    CHECK(m);
    inf_xcache *xc = inf_xcache_new();
    CHECK(xc);
    static inf_world w;
    set_world(&w, m, 200, 1);
    CHECK_EQ_INT(same_scores(xc, &w, 300, 0), 0); /* warm-up */
    uint64_t l0, m0, l1, m1;
    inf_xcache_stats(xc, &l0, &m0);
    CHECK(m0 > 0);
    CHECK_EQ_INT(same_scores(xc, &w, 1000, 0), 0);
    inf_xcache_stats(xc, &l1, &m1);
    CHECK(l1 - l0 > 100000);
    CHECK(m1 - m0 < (l1 - l0) / 20); /* warm: nearly every cross from a row */
    /* one-off values mixed in: same answers, and they do not flush the
     * pool's rows (misses stay near the one-offs' own share, ~1/8) */
    CHECK_EQ_INT(same_scores(xc, &w, 1000, 8), 0);
    inf_xcache_stats(xc, &l0, &m0);
    CHECK(m0 - m1 < (l0 - l1) / 5);
    /* no cache at all: the same answers */
    CHECK_EQ_INT(same_scores(NULL, &w, 200, 4), 0);
    /* a new world in the same memory, new weights: nothing stale is read */
    inf_model *m2 = rand_model();
    CHECK(m2);
    set_world(&w, m2, 200, 2);
    CHECK_EQ_INT(same_scores(xc, &w, 500, 4), 0);
    /* a bigger world: rows grow */
    set_world(&w, m2, MAXC, 3);
    CHECK_EQ_INT(same_scores(xc, &w, 500, 4), 0);
    inf_xcache_free(xc);
    inf_model_unref(m);
    inf_model_unref(m2);
    return 0;
}

static int t_features_sharing_a_row(void) {
    inf_model *m = rand_model();
    CHECK(m);
    inf_xcache *xc = inf_xcache_new();
    static inf_world w;
    set_world(&w, m, 100, 10);
    /* three hashes on one two-way set ((h >> 32) % sets), different values */
    enum { SETS = INF_XCACHE_ROWS / 2 };
    beat_feat_raw raw = {.n = 4};
    raw.h[0] = 0x0000000500000001ULL;
    raw.h[1] = ((uint64_t)(5 + SETS) << 32) | 2;
    raw.h[2] = ((uint64_t)(5 + 2 * SETS) << 32) | 3;
    raw.h[3] = raw.h[0]; /* a repeat shares the row */
    inf_xrow rows[BEAT_FEAT_RAW_MAX];
    for (int round = 0; round < 3; round++) {
        inf_xcache_rows(xc, &w, &raw, rows);
        CHECK(rows[0].v != NULL && rows[1].v != NULL && rows[0].v != rows[1].v);
        CHECK(rows[2].v == NULL);
        CHECK(rows[3].v == rows[0].v);
        double base = inf_model_logit_base(m, &raw);
        for (int ci = 0; ci < w.n; ci++) {
            float spill[1][BEAT_FEAT_RAW_MAX];
            inf_xcache_fill(xc, &w, &raw, rows, &ci, 1, spill);
            double want = inf_model_pctr(m, base, &raw, camps[ci].hash, 0.0);
            double got = inf_xcache_score(&w, base, &raw, rows, ci, spill[0], 0.0);
            CHECK(memcmp(&want, &got, sizeof want) == 0);
        }
    }
    inf_xcache_free(xc);
    inf_model_unref(m);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"equal_to_model_and_hits", t_equal_to_model_and_hits},
        {"features_sharing_a_row", t_features_sharing_a_row},
        {0},
    };
    return beat_test_main("xcache", tests, argc, argv);
}
