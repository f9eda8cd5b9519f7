/* Unit tests of the win-price landscape (landscape.c): the monotone fit,
 * buckets without data, decay over data time, the publish threshold, the
 * spend elasticity on known distributions, and that act_state feeds it from
 * aggregate rows and writes the curve into the state. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "landscape.h"
#include "state.h"

#define T0 1700000000000LL
#define NEAR(a, b, eps) (fabs((double)(a) - (double)(b)) <= (eps))

static act_land_cfg cfg(void) {
    act_land_cfg c;
    act_land_cfg_default(&c);
    return c;
}

/* Adds won/lost at one bucket at data time t. */
static void add1(act_land *l, const act_land_cfg *c, int i, int won, int lost, int64_t t) {
    int32_t w[BEAT_LAND_N] = {0}, s[BEAT_LAND_N] = {0};
    w[i] = won;
    s[i] = lost;
    act_land_add(l, c, w, s, t);
}

static int test_monotone_fit(void) {
    act_land_cfg c = cfg();
    act_land l = {0};
    add1(&l, &c, 5, 10, 10, T0); /* 0.5 */
    add1(&l, &c, 6, 4, 16, T0);  /* 0.2: violates, pooled with 5 → 14/40 */
    add1(&l, &c, 7, 30, 10, T0); /* 0.75 */
    add1(&l, &c, 8, 40, 0, T0);  /* 1 */
    float w[BEAT_LAND_N];
    CHECK_EQ_INT(act_land_fit(&l, &c, w), 0);
    for (int i = 0; i < 5; i++) CHECK(w[i] == 0); /* below the data */
    CHECK(NEAR(w[5], 0.35, 1e-6) && NEAR(w[6], 0.35, 1e-6));
    CHECK(NEAR(w[7], 0.75, 1e-6));
    for (int i = 8; i < BEAT_LAND_N; i++) CHECK(w[i] == 1); /* carried flat */
    /* a longer violating run pools into one block, weighted by counts */
    act_land m = {0};
    add1(&m, &c, 3, 30, 10, T0); /* 0.75 */
    add1(&m, &c, 4, 20, 20, T0); /* 0.5 */
    add1(&m, &c, 5, 5, 35, T0);  /* 0.125 → (30+20+5)/120 */
    add1(&m, &c, 6, 100, 0, T0);
    CHECK_EQ_INT(act_land_fit(&m, &c, w), 0);
    CHECK(NEAR(w[3], 55.0 / 120, 1e-6) && w[3] == w[4] && w[4] == w[5]);
    CHECK(w[6] == 1);
    for (int i = 1; i < BEAT_LAND_N; i++) CHECK(w[i] >= w[i - 1]);
    return 0;
}

static int test_empty_buckets(void) {
    act_land_cfg c = cfg();
    act_land l = {0};
    add1(&l, &c, 4, 10, 90, T0); /* 0.1 */
    add1(&l, &c, 8, 90, 10, T0); /* 0.9 */
    float w[BEAT_LAND_N];
    CHECK_EQ_INT(act_land_fit(&l, &c, w), 0);
    CHECK(w[3] == 0 && NEAR(w[4], 0.1, 1e-6));
    CHECK(NEAR(w[5], 0.3, 1e-6) && NEAR(w[6], 0.5, 1e-6) && NEAR(w[7], 0.7, 1e-6));
    CHECK(NEAR(w[8], 0.9, 1e-6) && NEAR(w[19], 0.9, 1e-6));
    return 0;
}

static int test_decay(void) {
    act_land_cfg c = cfg();
    c.tau_s = 100;
    act_land l = {0};
    add1(&l, &c, 2, 100, 50, T0);
    CHECK(l.t_ms == T0 && l.won[2] == 100 && l.lost[2] == 50);
    add1(&l, &c, 3, 10, 0, T0 + 100000); /* one tau later: old counts × 1/e */
    CHECK(l.t_ms == T0 + 100000);
    CHECK(NEAR(l.won[2], 100 / M_E, 1e-9) && NEAR(l.lost[2], 50 / M_E, 1e-9));
    CHECK(l.won[3] == 10);
    /* a row older than what is held (a lagging datastream) comes in decayed
     * by its own age, and the clock does not go back */
    add1(&l, &c, 4, 0, 20, T0 + 50000);
    CHECK(l.t_ms == T0 + 100000 && NEAR(l.lost[4], 20 * exp(-0.5), 1e-9));
    /* empty rows change nothing, not even the time */
    int32_t z[BEAT_LAND_N] = {0};
    act_land_add(&l, &c, z, z, T0 + 900000);
    CHECK(l.t_ms == T0 + 100000 && l.won[3] == 10);
    /* the market moves: after a few tau the new prices dominate the fit */
    act_land m = {0};
    for (int k = 0; k < 10; k++) add1(&m, &c, 10, 50, 50, T0 + k * 10000);
    float w[BEAT_LAND_N];
    CHECK_EQ_INT(act_land_fit(&m, &c, w), 0);
    CHECK(NEAR(w[10], 0.5, 1e-6));
    for (int k = 0; k < 10; k++) add1(&m, &c, 10, 10, 90, T0 + 500000 + k * 10000);
    CHECK_EQ_INT(act_land_fit(&m, &c, w), 0);
    CHECK(w[10] < 0.15);
    return 0;
}

static int test_publish_threshold(void) {
    act_land_cfg c = cfg();
    float w[BEAT_LAND_N], keep[BEAT_LAND_N];
    for (int i = 0; i < BEAT_LAND_N; i++) w[i] = keep[i] = 0.25f;
    act_land l = {0};
    CHECK_EQ_INT(act_land_fit(&l, &c, w), -EAGAIN); /* nothing yet */
    add1(&l, &c, 9, 50, 49, T0);                    /* 99 bids */
    CHECK_EQ_INT(act_land_fit(&l, &c, w), -EAGAIN);
    CHECK(memcmp(w, keep, sizeof w) == 0); /* untouched */
    add1(&l, &c, 9, 1, 0, T0);
    CHECK_EQ_INT(act_land_fit(&l, &c, w), 0);
    act_land few = {0};
    add1(&few, &c, 9, 4, 200, T0); /* only 4 wins */
    CHECK_EQ_INT(act_land_fit(&few, &c, w), -EAGAIN);
    add1(&few, &c, 9, 1, 0, T0);
    CHECK_EQ_INT(act_land_fit(&few, &c, w), 0);
    act_land nolose = {0};
    add1(&nolose, &c, 9, 300, 4, T0);
    CHECK_EQ_INT(act_land_fit(&nolose, &c, w), -EAGAIN);
    /* old data decays below the threshold */
    add1(&l, &c, 9, 1, 1, T0 + 3600000);
    CHECK_EQ_INT(act_land_fit(&l, &c, w), -EAGAIN);
    return 0;
}

static int test_elasticity(void) {
    act_land_cfg c = cfg();
    act_land l = {0};
    add1(&l, &c, 10, 50, 50, T0);
    float w[BEAT_LAND_N];
    for (int i = 0; i < BEAT_LAND_N; i++) w[i] = 0.5f;
    double e = 0;
    /* flat W: spend moves with the bid alone */
    CHECK_EQ_INT(act_land_spend_elasticity(&l, w, &e), 0);
    CHECK(NEAR(e, 1.0, 1e-9));
    /* W rising 0.1 per bucket step (10^(1/5)) at 0.5: 1 + (0.1 / (ln 10 / 5)) / 0.5 */
    w[9] = 0.4f;
    w[11] = 0.6f;
    for (int i = 12; i < BEAT_LAND_N; i++) w[i] = 0.6f;
    for (int i = 0; i < 9; i++) w[i] = 0.4f;
    CHECK_EQ_INT(act_land_spend_elasticity(&l, w, &e), 0);
    double want = 1 + (0.1 * 5 / log(10)) / 0.5;
    CHECK(NEAR(e, want, 1e-3));
    /* two price points, one on a flat part: the weights are spends */
    add1(&l, &c, 15, 30, 10, T0); /* at a price 10× higher, W flat at 0.6 */
    CHECK_EQ_INT(act_land_spend_elasticity(&l, w, &e), 0);
    double s10 = 100 * 0.5 * beat_land_price(10), s15 = 40 * 0.6 * beat_land_price(15);
    want = (s10 * (1 + (0.1 * 5 / log(10)) / 0.5) + s15 * 1.0) / (s10 + s15);
    CHECK(NEAR(e, want, 1e-3));
    /* no expected spend: nothing to say */
    act_land none = {0};
    CHECK_EQ_INT(act_land_spend_elasticity(&none, w, &e), -EAGAIN);
    float zero[BEAT_LAND_N] = {0};
    CHECK_EQ_INT(act_land_spend_elasticity(&l, zero, &e), -EAGAIN);
    return 0;
}

/* act_state_apply feeds the landscape from rows; the state carries the
 * curve once there is enough data. */
static int test_state_feeds_curve(void) {
    act_state st;
    CHECK(act_state_init(&st, 10) == 0);
    beat_pull_cursor *cur = act_state_cursor(&st, "http://ds1");
    beat_agg_row rw = {0};
    snprintf(rw.campaign, sizeof rw.campaign, "c1");
    rw.bids = 120;
    rw.won_cpm[8] = 20;
    rw.lost_cpm[8] = 40;
    rw.won_cpm[12] = 50;
    rw.lost_cpm[12] = 10;
    beat_agg_bucket bk = {.seq = 1, .start_ms = T0 - 1000, .end_ms = T0, .n_rows = 1, .rows = &rw};
    beat_aggregates a = {.epoch = 7,
                         .bucket_ms = 1000,
                         .first_seq = 1,
                         .last_seq = 1,
                         .n_buckets = 1,
                         .buckets = &bk};
    act_apply_result r;
    CHECK(act_state_apply(&st, cur, &a, &r) == 0 && r.buckets == 1);
    act_camp *c = act_state_find(&st, "c1");
    CHECK(c && c->land.won[8] == 20 && c->land.lost[12] == 10 && c->land.t_ms == T0);
    c->in_set = true;
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    CHECK(act_state_encode(&st, "act", T0, &b) == 0);
    beat_state dec;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_state_decode(b.data, b.len, 10, &dec, &why), 0);
    const beat_state_campaign *sc = beat_state_find(&dec, "c1");
    CHECK(sc && sc->has_curve);
    CHECK(sc->win_curve[7] == 0 && NEAR(sc->win_curve[8], 1.0 / 3, 1e-6));
    CHECK(NEAR(sc->win_curve[10], 7.0 / 12, 1e-6) && NEAR(sc->win_curve[19], 5.0 / 6, 1e-6));
    beat_state_fini(&dec);
    /* the same bucket again is not counted twice */
    CHECK(act_state_apply(&st, cur, &a, &r) == 0 && r.buckets == 0);
    CHECK(c->land.won[8] == 20);
    /* a restart restores the counts from the private state, so the curve
     * comes back at once; a bad landscape is skipped alone */
    act_state st2;
    CHECK(act_state_init(&st2, 10) == 0);
    CHECK_EQ_INT(act_state_restore(&st2, b.data, b.len, &why), 0);
    act_camp *c2 = act_state_find(&st2, "c1");
    CHECK(c2 && c2->land.t_ms == T0 && c2->land.won[8] == 20 && c2->land.lost[12] == 10);
    act_state_fini(&st2);
    static const char bad[] =
        "{\"ts\":1,\"private\":{\"spend\":{\"c1\":5},\"land\":{\"c1\":{\"t\":1,"
        "\"won\":[1,2],\"lost\":[1,2]},\"c2\":[]}}}";
    CHECK(act_state_init(&st2, 10) == 0);
    CHECK_EQ_INT(act_state_restore(&st2, bad, strlen(bad), &why), 0);
    c2 = act_state_find(&st2, "c1");
    CHECK(c2 && c2->spent_micros == 5 && c2->land.t_ms == 0);
    act_state_fini(&st2);
    /* below the threshold: no curve key at all */
    st.land_cfg.min_bids = 1000;
    beat_buf_reset(&b);
    CHECK(act_state_encode(&st, "act", T0, &b) == 0);
    CHECK(strstr(b.data, "win_curve") == NULL);
    beat_buf_fini(&b);
    act_state_fini(&st);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"monotone_fit", test_monotone_fit},
        {"empty_buckets", test_empty_buckets},
        {"decay", test_decay},
        {"publish_threshold", test_publish_threshold},
        {"elasticity", test_elasticity},
        {"state_feeds_curve", test_state_feeds_curve},
        {NULL, NULL},
    };
    return beat_test_main("landscape", cases, argc, argv);
}
