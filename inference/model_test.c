/* Worlds and their publication: 'C' and 'S' frames decoded into a model and
 * a snapshot (and refused when bad), per-campaign data derived from the
 * state, and world swaps under concurrent readers that must never free a
 * world in use (run under ASan by make asan-unit). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_test.h"
#include "model.h"

#define T0 1700000000000LL

static const char CAMPAIGNS[] =
    "{\"v\":1,\"campaigns\":["
    "{\"id\":\"c1\",\"advertiser\":\"A\",\"adomain\":[\"a.example\"],\"flight_s\":3600,"
    "\"budget_micros\":1000000,\"base_bid_cpm_micros\":1000000,"
    "\"max_bid_cpm_micros\":2000000,\"creatives\":[{\"crid\":\"k1\",\"w\":300,\"h\":250,"
    "\"adm\":\"x\"},{\"crid\":\"k2\",\"w\":728,\"h\":90,\"adm\":\"y\"}]},"
    "{\"id\":\"c2\",\"advertiser\":\"B\",\"adomain\":[\"b.example\"],\"flight_s\":3600,"
    "\"budget_micros\":1000000,\"base_bid_cpm_micros\":1000000,\"paused\":true,"
    "\"max_bid_cpm_micros\":2000000,\"creatives\":[{\"crid\":\"k3\",\"w\":320,\"h\":50,"
    "\"adm\":\"z\"}]},"
    "{\"id\":\"c3\",\"advertiser\":\"C\",\"adomain\":[\"c.example\"],\"flight_s\":3600,"
    "\"budget_micros\":1000000,\"base_bid_cpm_micros\":1000000,"
    "\"max_bid_cpm_micros\":2000000,\"creatives\":[{\"crid\":\"k4\",\"w\":1,\"h\":1,"
    "\"adm\":\"w\"}]}]}";

/* A 'C' frame: tag, u64le version, checkpoint bytes. */
static int ckpt_frame(beat_buf *b, int64_t version, uint32_t bits, double avg_ctr, float bias) {
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    snprintf(ck.h.trainer, sizeof ck.h.trainer, "model_test");
    ck.h.hash_bits = bits;
    ck.h.hash_seed = 0x1234;
    ck.h.dim = 1u << bits;
    ck.h.n_weights = ck.h.dim + 1;
    ck.h.avg_ctr = avg_ctr;
    ck.h.ts_ms = T0 - 5000;
    float *w = calloc(ck.h.n_weights, sizeof *w);
    if (!w) return -ENOMEM;
    w[ck.h.dim] = bias;
    ck.w = w;
    int rc = beat_ckpt_frame_encode(&ck, version, b);
    free(w);
    return rc;
}

/* An 'S' frame of CAMPAIGNS with (optionally) a state: c1 ×1.5, c2 ×1,
 * c3 absent. */
static int snap_frame(beat_buf *b, bool with_state, bool c1_paused) {
    beat_campaign_set cs;
    beat_reason why = {{0}};
    int rc =
        beat_campaigns_decode(CAMPAIGNS, strlen(CAMPAIGNS), T0, BEAT_CAMPAIGNS_STRICT, &cs, &why);
    if (rc) {
        fprintf(stderr, "  campaigns: %s\n", why.msg);
        return rc;
    }
    cs.version = 11;
    beat_state_campaign sc[2] = {{.id = "c2", .multiplier = 1.0},
                                 {.id = "c1", .multiplier = 1.5, .paused = c1_paused}};
    beat_state st = {.actuator = "t", .ts_ms = T0, .version = 22, .n = 2, .c = sc};
    rc = beat_snapshot_encode(&cs, with_state ? &st : NULL, NULL, b);
    beat_campaigns_fini(&cs);
    return rc;
}

static int test_checkpoint_frame(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(ckpt_frame(&b, 0x0102030405LL, 10, 0.02, 0.0f), 0);
    inf_model *m = NULL;
    beat_reason why = {{0}};
    int64_t v = 0;
    CHECK_EQ_INT(beat_ckpt_frame_version(b.data, b.len, &v), 0);
    CHECK_EQ_INT(v, 0x0102030405LL);
    CHECK_EQ_INT(inf_model_decode(b.data, b.len, 1 << 20, &m, &why), 0);
    CHECK_EQ_INT(m->version, 0x0102030405LL);
    CHECK_EQ_INT(m->hp.bits, 10);
    CHECK(m->hp.seed == 0x1234);
    CHECK(m->avg_ctr == 0.02);
    CHECK_EQ_INT(m->refs, 1);
    uint32_t idx[2] = {1, 5000 /* out of range: ignored */};
    CHECK(fabs(inf_model_score(m, idx, 2) - 0.5) < 1e-12);
    inf_model_unref(m);
    m = NULL;
    /* Over the byte limit, corrupted, truncated, wrong tag, version 0. */
    CHECK(inf_model_decode(b.data, b.len, 1024, &m, &why) < 0);
    b.data[40] ^= 1;
    CHECK(inf_model_decode(b.data, b.len, 1 << 20, &m, &why) < 0);
    b.data[40] ^= 1;
    CHECK(inf_model_decode(b.data, b.len - 1, 1 << 20, &m, &why) < 0);
    CHECK(inf_model_decode(b.data, 5, 1 << 20, &m, &why) < 0);
    b.data[0] = 'S';
    CHECK(inf_model_decode(b.data, b.len, 1 << 20, &m, &why) < 0);
    beat_buf_reset(&b);
    CHECK_EQ_INT(ckpt_frame(&b, 0, 10, 0.02, 0.0f), 0);
    CHECK(inf_model_decode(b.data, b.len, 1 << 20, &m, &why) < 0);
    CHECK(m == NULL);
    /* avg_ctr ≤ 0 falls back to 0.01. */
    beat_buf_reset(&b);
    CHECK_EQ_INT(ckpt_frame(&b, 3, 10, 0.0, 0.0f), 0);
    CHECK_EQ_INT(inf_model_decode(b.data, b.len, 1 << 20, &m, &why), 0);
    CHECK(m->avg_ctr == INF_AVG_CTR_DEFAULT);
    inf_model_unref(m);
    beat_buf_fini(&b);

    /* inf_model_new refuses what scoring cannot use; the caller keeps ck. */
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    float w[1025] = {0};
    snprintf(ck.h.kind, sizeof ck.h.kind, "forest");
    ck.h.hash_bits = 10;
    ck.h.dim = 1024;
    ck.h.n_weights = 1025;
    ck.w = w;
    CHECK_EQ_INT(inf_model_new(&ck, 1, &m, &why), -EINVAL);
    CHECK(strstr(why.msg, "kind") != NULL);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    ck.h.hash_bits = 9;
    CHECK_EQ_INT(inf_model_new(&ck, 1, &m, &why), -EINVAL);
    ck.h.hash_bits = 10;
    ck.h.n_weights = 1024;
    CHECK_EQ_INT(inf_model_new(&ck, 1, &m, &why), -EINVAL);
    CHECK(ck.w == w);
    return 0;
}

static int test_snapshot_frame_and_world(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    beat_reason why = {{0}};
    inf_snap *s = NULL;
    CHECK_EQ_INT(snap_frame(&b, true, false), 0);
    CHECK_EQ_INT(inf_snap_decode(b.data, b.len, &s, &why), 0);
    CHECK(s->has_state);
    CHECK_EQ_INT(s->cs.version, 11);
    CHECK_EQ_INT(s->st.version, 22);
    CHECK_EQ_INT(s->st.ts_ms, T0);
    beat_buf_reset(&b);
    CHECK_EQ_INT(ckpt_frame(&b, 9, 10, 0.02, 0.0f), 0);
    inf_model *m = NULL;
    CHECK_EQ_INT(inf_model_decode(b.data, b.len, 1 << 20, &m, &why), 0);

    inf_world *w = inf_world_build(m, s);
    CHECK(w != NULL);
    CHECK_EQ_INT(m->refs, 2);
    CHECK_EQ_INT(s->refs, 2);
    CHECK_EQ_INT(w->n, 3);
    /* c1: in state ×1.5; c2: paused by its campaign; c3: absent. */
    CHECK(w->camps[0].in_state && !w->camps[0].paused);
    CHECK(w->camps[0].multiplier == 1.5);
    CHECK(w->camps[1].in_state && w->camps[1].paused);
    CHECK(!w->camps[2].in_state);
    CHECK(w->camps[0].hash == beat_feat_campaign_hash(&m->hp, "c1"));
    CHECK(w->camps[0].sizes[0] == ((300u << 16) | 250u));
    CHECK(w->camps[0].sizes[1] == ((728u << 16) | 90u));
    CHECK(w->camps[0].id_hash != w->camps[1].id_hash);
    inf_world_free(w);
    CHECK_EQ_INT(m->refs, 1);
    CHECK_EQ_INT(s->refs, 1);
    inf_snap_unref(s);

    /* Paused in the state. */
    beat_buf_reset(&b);
    CHECK_EQ_INT(snap_frame(&b, true, true), 0);
    CHECK_EQ_INT(inf_snap_decode(b.data, b.len, &s, &why), 0);
    w = inf_world_build(m, s);
    CHECK(w->camps[0].paused);
    inf_world_free(w);
    inf_snap_unref(s);

    /* No state yet ("state":null): campaigns only. */
    beat_buf_reset(&b);
    CHECK_EQ_INT(snap_frame(&b, false, false), 0);
    CHECK_EQ_INT(inf_snap_decode(b.data, b.len, &s, &why), 0);
    CHECK(!s->has_state);
    w = inf_world_build(NULL, s);
    CHECK(!w->camps[0].in_state && w->camps[0].hash == 0);
    inf_world_free(w);
    inf_snap_unref(s);

    /* A bad snapshot frame is refused with a reason. */
    s = NULL;
    const char *bad = "S{\"v\":1,\"campaigns_version\":1,\"campaigns\":{}}";
    CHECK(inf_snap_decode(bad, strlen(bad), &s, &why) < 0);
    CHECK(s == NULL && why.msg[0]);
    CHECK(inf_snap_decode("S", 1, &s, &why) < 0);
    inf_model_unref(m);
    beat_buf_fini(&b);
    return 0;
}

/* ---- world swaps under readers -------------------------------------------- */

static inf_holder *H;
static atomic_bool stop_readers;
static atomic_long reads;

static void *reader(void *arg) {
    int slot = (int)(intptr_t)arg;
    while (!atomic_load(&stop_readers)) {
        const inf_world *w = inf_holder_acquire(H, slot);
        if (w) {
            /* Touch the world deeply: ASan catches a freed one. */
            volatile size_t sum = 0;
            for (int i = 0; i < w->n; i++) sum += strlen(w->camps[i].c->id);
            sum += (size_t)w->model->ck.w[0];
            (void)sum;
            atomic_fetch_add(&reads, 1);
        }
        inf_holder_release(H, slot);
    }
    return NULL;
}

static int test_holder_swaps(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    beat_reason why = {{0}};
    inf_snap *s = NULL;
    inf_model *m = NULL;
    CHECK_EQ_INT(snap_frame(&b, true, false), 0);
    CHECK_EQ_INT(inf_snap_decode(b.data, b.len, &s, &why), 0);
    beat_buf_reset(&b);
    CHECK_EQ_INT(ckpt_frame(&b, 9, 10, 0.02, 0.0f), 0);
    CHECK_EQ_INT(inf_model_decode(b.data, b.len, 1 << 20, &m, &why), 0);
    beat_buf_fini(&b);

    H = inf_holder_new(4);
    CHECK(H != NULL);
    inf_versions v;
    inf_holder_versions(H, &v);
    CHECK(!v.has_model && !v.has_state && v.model_v == 0);
    CHECK(inf_holder_acquire(H, 0) == NULL);
    inf_holder_release(H, 0);
    /* Single thread: a held world survives a swap until released. */
    inf_holder_publish(H, inf_world_build(m, s));
    const inf_world *held = inf_holder_acquire(H, 0);
    inf_holder_publish(H, inf_world_build(m, s));
    CHECK_EQ_INT(inf_holder_retired(H), 1);
    CHECK_EQ_INT(held->n, 3);
    inf_holder_release(H, 0);
    inf_holder_reclaim(H);
    CHECK_EQ_INT(inf_holder_retired(H), 0);
    inf_holder_versions(H, &v);
    CHECK(v.has_model && v.has_state);
    CHECK_EQ_INT(v.model_v, 9);
    CHECK_EQ_INT(v.state_v, 22);
    CHECK_EQ_INT(v.campaigns_v, 11);
    CHECK_EQ_INT(v.state_ts_ms, T0);
    CHECK_EQ_INT(v.model_ts_ms, T0 - 5000);
    CHECK_EQ_INT(v.n_campaigns, 3);
    /* Four readers against a writer swapping as fast as it can. */
    pthread_t th[4];
    atomic_store(&stop_readers, false);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, reader, (void *)(intptr_t)i), 0);
    /* At least 20000 swaps and 200000 reads overlapping them (bounded: 10 s). */
    int64_t deadline = beat_mono_ms() + 10000;
    for (int k = 0; (k < 20000 || atomic_load(&reads) < 200000) && beat_mono_ms() < deadline; k++)
        inf_holder_publish(H, inf_world_build(m, s));
    atomic_store(&stop_readers, true);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    inf_holder_reclaim(H);
    CHECK_EQ_INT(inf_holder_retired(H), 0);
    CHECK(atomic_load(&reads) >= 200000);
    CHECK_EQ_INT(m->refs, 2); /* ours + the current world's */
    inf_holder_free(H);
    CHECK_EQ_INT(m->refs, 1);
    CHECK_EQ_INT(s->refs, 1);
    inf_model_unref(m);
    inf_snap_unref(s);
    return 0;
}

/* Factor term: the world gathers the campaigns' U rows; one sgemv per imp
 * gives U[c]·Σ V[f] for every campaign, equal to the plain loops and to
 * the formula of beat_ckpt.h; a rank-0 model gives no scores. */
static int test_factor_scores(void) {
    enum { BITS = 10, FB = 6, R = 4 };
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    ck.h.hash_bits = BITS;
    ck.h.hash_seed = 0x1234;
    ck.h.dim = 1u << BITS;
    ck.h.rank = R;
    ck.h.factor_bits = FB;
    ck.h.n_weights = beat_ckpt_expected_weights(&ck.h);
    ck.h.avg_ctr = 0.02;
    ck.w = calloc(ck.h.n_weights, sizeof *ck.w);
    CHECK(ck.w != NULL);
    for (uint64_t i = ck.h.dim + 1; i < ck.h.n_weights; i++)
        ck.w[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
    float *V = ck.w + beat_ckpt_v_at(&ck.h), *U = ck.w + beat_ckpt_u_at(&ck.h);
    inf_model *m = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(inf_model_new(&ck, 1, &m, &why), 0);
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(snap_frame(&b, true, false), 0);
    inf_snap *s = NULL;
    CHECK_EQ_INT(inf_snap_decode(b.data, b.len, &s, &why), 0);
    inf_world *w = inf_world_build(m, s);
    CHECK(w != NULL && w->fu != NULL && w->n == 3);
    beat_feat_raw raw;
    beat_feat_reset(&raw);
    beat_feat_add(&raw, &m->hp, "dom", "news.example", 12);
    beat_feat_add_int(&raw, &m->hp, "dt", 4);
    beat_feat_add(&raw, &m->hp, "ctry", "USA", 3);
    float a[3], c[3];
    CHECK(inf_world_factor_scores(w, &raw, a, 3, true));
    CHECK(inf_world_factor_scores(w, &raw, c, 3, false));
    CHECK(!inf_world_factor_scores(w, &raw, c, 2, true)); /* no room */
    for (int i = 0; i < 3; i++) {
        double t = 0;
        const float *u = U + (w->camps[i].hash & ((1u << FB) - 1)) * R;
        for (int j = 0; j < R; j++) {
            double v = 0;
            for (int f = 0; f < raw.n; f++) v += V[(raw.h[f] & ((1u << FB) - 1)) * R + j];
            t += u[j] * v;
        }
        CHECK(fabs(a[i] - t) < 1e-5 && fabs(c[i] - t) < 1e-5);
    }
    /* the factor adds to the logit */
    uint32_t idx[1] = {3};
    CHECK(fabs(inf_model_score_with(m, idx, 1, 0.7) - 1 / (1 + exp(-0.7))) < 1e-9);
    inf_world_free(w);
    inf_model_unref(m);
    /* rank 0: no scores; a factor block of the wrong size is refused */
    beat_buf_reset(&b);
    CHECK_EQ_INT(ckpt_frame(&b, 2, 10, 0.02, 0.0f), 0);
    CHECK_EQ_INT(inf_model_decode(b.data, b.len, 1 << 20, &m, &why), 0);
    w = inf_world_build(m, s);
    CHECK(w && w->fu == NULL && !inf_world_factor_scores(w, &raw, a, 3, true));
    inf_world_free(w);
    inf_model_unref(m);
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    ck.h.hash_bits = 10;
    ck.h.dim = 1024;
    ck.h.rank = 2;
    ck.h.factor_bits = 4;
    ck.h.n_weights = 1025;
    float w0[1025] = {0};
    ck.w = w0;
    CHECK_EQ_INT(inf_model_new(&ck, 1, &m, &why), -EINVAL);
    CHECK(strstr(why.msg, "factor") != NULL);
    inf_snap_unref(s);
    beat_buf_fini(&b);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"checkpoint_frame", test_checkpoint_frame},
        {"snapshot_frame_and_world", test_snapshot_frame_and_world},
        {"holder_swaps", test_holder_swaps},
        {"factor_scores", test_factor_scores},
        {NULL, NULL},
    };
    return beat_test_main("model", cases, argc, argv);
}
