/* Unit tests of the actuator's state bookkeeping (state.c): aggregates
 * counted once per (epoch, seq), the private section's round trip, bounds.
 * No sockets; only the future-time case reads the clock. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "pacer.h"
#include "state.h"

#define T0 1700000000000LL
#define BUDGET 50000000LL

static beat_agg_row row(const char *id, int64_t spend) {
    beat_agg_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.campaign, sizeof r.campaign, "%s", id);
    r.bids = 10;
    r.wins = 2;
    r.spend_micros = spend;
    r.imps = 2;
    r.clicks = 1;
    return r;
}

static void aggs(beat_aggregates *a, uint64_t epoch, uint64_t first, uint64_t last,
                 beat_agg_row *rows, int n_rows) {
    static beat_agg_bucket b[8];
    memset(a, 0, sizeof *a);
    a->epoch = epoch;
    a->first_seq = first;
    a->last_seq = last;
    int nb = (int)(last - first + 1);
    for (int i = 0; i < nb; i++) {
        b[i].seq = first + (uint64_t)i;
        b[i].n_rows = n_rows;
        b[i].rows = rows;
    }
    a->n_buckets = nb;
    a->buckets = b;
}

static int test_state_epochs_and_cursors(void) {
    act_state st;
    CHECK(act_state_init(&st, 100) == 0);
    beat_pull_cursor *cur = act_state_cursor(&st, "http://ds1");
    CHECK(cur != NULL);
    beat_agg_row rows[2] = {row("c1", 100), row("c2", 7)};
    beat_aggregates a;
    aggs(&a, 0xabc, 1, 3, rows, 2);
    act_apply_result r;
    CHECK(act_state_apply(&st, cur, &a, &r) == 0);
    CHECK_EQ_INT(act_state_find(&st, "c1")->spent_micros, 300);
    CHECK_EQ_INT(act_state_find(&st, "c2")->spent_micros, 21);
    CHECK_EQ_INT(cur->seq, 3);
    /* The same buckets again (duplicate response): not counted twice. */
    CHECK(act_state_apply(&st, cur, &a, &r) == 0);
    CHECK_EQ_INT(act_state_find(&st, "c1")->spent_micros, 300);
    /* Buckets 4..5, with 4 lost (first_seq 5 > cursor+1). */
    aggs(&a, 0xabc, 5, 5, rows, 1);
    CHECK(act_state_apply(&st, cur, &a, &r) == 0);
    CHECK_EQ_INT(r.missed, 1);
    CHECK_EQ_INT(act_state_find(&st, "c1")->spent_micros, 400);
    /* New epoch (datastream restarted): the answer to after=5 is dropped
     * and the cursor reset, so the next pull starts at 0. */
    aggs(&a, 0xdef, 6, 6, rows, 1);
    CHECK(act_state_apply(&st, cur, &a, &r) == 0);
    CHECK(r.refetch);
    CHECK_EQ_INT(cur->seq, 0);
    CHECK_EQ_INT(act_state_find(&st, "c1")->spent_micros, 400);
    aggs(&a, 0xdef, 1, 2, rows, 1);
    CHECK(act_state_apply(&st, cur, &a, &r) == 0);
    CHECK(!r.refetch);
    CHECK_EQ_INT(act_state_find(&st, "c1")->spent_micros, 600);
    CHECK_EQ_INT(cur->seq, 2);
    act_state_fini(&st);
    return 0;
}

static int test_state_private_round_trip(void) {
    act_state st;
    CHECK(act_state_init(&st, 100) == 0);
    act_camp *c = act_state_get(&st, "c1");
    CHECK(c != NULL);
    c->spent_micros = 123456789;
    c->ctl.multiplier = 0.375;
    c->ctl.rate = 1234.5;
    c->ctl.integ = -0.98;
    c->ctl.has_integ = true;
    c->in_set = true;
    c->start_ms = T0;
    c->end_ms = T0 + 3600000;
    c->budget_micros = BUDGET;
    act_camp *d = act_state_get(&st, "gone");
    d->spent_micros = 5;
    beat_pull_cursor *cur = act_state_cursor(&st, "http://127.0.0.1:1/x\"y");
    cur->epoch = 0x9f3a000000000001ULL;
    cur->has_epoch = true;
    cur->seq = 77;
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    CHECK(act_state_encode(&st, "act-1", T0 + 5000, &out) == 0);

    act_state r;
    CHECK(act_state_init(&r, 100) == 0);
    beat_reason why;
    CHECK(act_state_restore(&r, out.data, out.len, &why) == 0);
    act_camp *rc = act_state_find(&r, "c1");
    CHECK(rc != NULL);
    CHECK_EQ_INT(rc->spent_micros, 123456789);
    CHECK(rc->ctl.multiplier == 0.375);
    CHECK(fabs(rc->ctl.rate - 1234.5) < 1e-9);
    CHECK(rc->ctl.has_integ && rc->ctl.integ == -0.98);
    CHECK_EQ_INT(rc->ctl.last_ms, T0 + 5000);
    CHECK_EQ_INT(rc->ctl.last_spent, 123456789);
    CHECK_EQ_INT(act_state_find(&r, "gone")->spent_micros, 5);
    beat_pull_cursor *rcur = act_state_cursor(&r, "http://127.0.0.1:1/x\"y");
    CHECK(rcur->has_epoch);
    CHECK(rcur->epoch == 0x9f3a000000000001ULL);
    CHECK_EQ_INT(rcur->seq, 77);
    /* Public part: only campaigns of the set. */
    CHECK(strstr(out.data, "\"campaigns\":{\"c1\":{") != NULL);
    CHECK(act_state_restore(&r, "{\"v\":1", 6, &why) < 0);
    CHECK(act_state_restore(&r, "[1,2]", 5, &why) < 0);
    /* A state with no private part restores nothing, without failing. */
    act_state e;
    CHECK(act_state_init(&e, 100) == 0);
    const char *np = "{\"v\":1,\"actuator\":\"x\",\"ts\":1,\"campaigns\":{}}";
    CHECK(act_state_restore(&e, np, strlen(np), &why) == 0);
    CHECK(act_state_find(&e, "c1") == NULL);
    /* Garbage inside private fields is skipped field by field. */
    const char *bad = "{\"v\":1,\"ts\":1,\"private\":{\"spend\":{\"c1\":\"x\","
                      "\"c2\":-5,\"c3\":9},\"mult\":{\"c3\":1e999},"
                      "\"cursors\":{\"u\":{\"epoch\":\"zz\",\"seq\":1}}}}";
    CHECK(act_state_restore(&e, bad, strlen(bad), &why) == 0);
    CHECK(act_state_find(&e, "c1") == NULL);
    CHECK(act_state_find(&e, "c2") == NULL);
    CHECK_EQ_INT(act_state_find(&e, "c3")->spent_micros, 9);
    CHECK(isfinite(act_state_find(&e, "c3")->ctl.multiplier));
    act_state_fini(&e);
    act_state_fini(&r);
    act_state_fini(&st);
    beat_buf_fini(&out);
    return 0;
}

/* Data time: the oldest newest-bucket-end over datastreams, leaving out
 * an instance far behind the freshest (down). */
static int test_state_data_time(void) {
    act_state st;
    CHECK(act_state_init(&st, 10) == 0);
    CHECK(act_state_data_ms(&st, 10000) == 0);
    beat_agg_row rows[1] = {row("c1", 1)};
    beat_aggregates a;
    act_apply_result r;
    beat_pull_cursor *c1 = act_state_cursor(&st, "http://ds1");
    beat_pull_cursor *c2 = act_state_cursor(&st, "http://ds2");
    aggs(&a, 1, 1, 3, rows, 1); /* buckets end at 0 (aggs leaves times 0) */
    for (int i = 0; i < 3; i++) a.buckets[i].end_ms = T0 + 1000 * (i + 1);
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), T0 + 3000);
    aggs(&a, 2, 1, 1, rows, 1);
    a.buckets[0].end_ms = T0 + 2000;
    CHECK(act_state_apply(&st, c2, &a, &r) == 0);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), T0 + 2000);
    aggs(&a, 1, 4, 4, rows, 1);
    a.buckets[0].end_ms = T0 + 60000; /* ds2 now 58 s behind: left out */
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), T0 + 60000);
    /* heard_ms caps it: ds1 has heard every notice up to T0 + 58 s only */
    aggs(&a, 1, 5, 5, rows, 1);
    a.buckets[0].end_ms = T0 + 61000;
    a.has_heard = true;
    a.heard_ms = T0 + 58000;
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), T0 + 58000);
    /* an answer with no new bucket still moves it */
    aggs(&a, 1, 5, 5, rows, 0);
    a.n_buckets = 0;
    a.has_heard = true;
    a.heard_ms = T0 + 60500;
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), T0 + 60500);
    /* heard_ms 0: that datastream does not know: unknown (0) */
    a.heard_ms = 0;
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), 0);
    /* a datastream that sends none (older) leaves bucket ends alone */
    a.has_heard = false;
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), T0 + 61000);
    act_state_fini(&st);
    return 0;
}

static int test_state_bounded(void) {
    act_state st;
    CHECK(act_state_init(&st, 3) == 0);
    CHECK(act_state_get(&st, "a") != NULL);
    CHECK(act_state_get(&st, "b") != NULL);
    CHECK(act_state_get(&st, "c") != NULL);
    CHECK(act_state_get(&st, "d") == NULL);
    CHECK(act_state_get(&st, "a") != NULL);
    act_state_fini(&st);
    return 0;
}

/* A datastream clock far ahead: its spend is counted, but a bucket end or
 * heard_ms from the future is not taken as how far the data is complete
 * (it would hide the other datastreams as "behind"). */
static int test_state_future_times(void) {
    act_state st;
    CHECK(act_state_init(&st, 10) == 0);
    st.max_skew_ms = 2000;
    int64_t now = beat_now_ms();
    beat_agg_row rows[1] = {row("c1", 5)};
    beat_aggregates a;
    act_apply_result r;
    beat_pull_cursor *c1 = act_state_cursor(&st, "http://ds1");
    beat_pull_cursor *c2 = act_state_cursor(&st, "http://ds2");
    aggs(&a, 1, 1, 1, rows, 1);
    a.buckets[0].end_ms = now - 1000;
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(r.future, 0);
    aggs(&a, 2, 1, 1, rows, 1);
    a.buckets[0].end_ms = now + 3600000; /* an hour ahead */
    CHECK(act_state_apply(&st, c2, &a, &r) == 0);
    CHECK_EQ_INT(r.future, 1);
    CHECK_EQ_INT(act_state_find(&st, "c1")->spent_micros, 10); /* counted */
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), now - 1000);
    /* heard_ms from the future: "does not know", never a watermark */
    aggs(&a, 1, 2, 2, rows, 1);
    a.buckets[0].end_ms = now;
    a.has_heard = true;
    a.heard_ms = now + 3600000;
    CHECK(act_state_apply(&st, c1, &a, &r) == 0);
    CHECK_EQ_INT(r.future, 1);
    CHECK_EQ_INT(act_state_data_ms(&st, 10000), 0);
    act_state_fini(&st);
    return 0;
}

/* Pacing modes and the value law's estimates: a campaign's own mode wins,
 * else the default; opps are counted from the rows; the estimates survive
 * a restart and a bad one is skipped alone. */
static int test_state_value_fields(void) {
    act_state st;
    CHECK(act_state_init(&st, 10) == 0);
    CHECK_EQ_INT(st.default_mode, BEAT_PACING_EVEN);
    beat_campaign bc[2];
    memset(bc, 0, sizeof bc);
    snprintf(bc[0].id, sizeof bc[0].id, "named");
    bc[0].pacing = BEAT_PACING_ASAP;
    snprintf(bc[1].id, sizeof bc[1].id, "plain");
    beat_campaign_set cs = {.version = 1, .n = 2, .c = bc};
    CHECK_EQ_INT(act_state_set_campaigns(&st, &cs), 0);
    act_camp *named = act_state_find(&st, "named"), *plain = act_state_find(&st, "plain");
    CHECK_EQ_INT(named->mode, BEAT_PACING_ASAP);
    CHECK_EQ_INT(plain->mode, BEAT_PACING_EVEN);
    /* A change of mode restarts the even law's integrator bumplessly. */
    plain->ctl.has_integ = true;
    bc[1].pacing = BEAT_PACING_VALUE;
    CHECK_EQ_INT(act_state_set_campaigns(&st, &cs), 0);
    CHECK_EQ_INT(plain->mode, BEAT_PACING_VALUE);
    CHECK(!plain->ctl.has_integ);

    beat_agg_row rows[1] = {row("plain", 50)};
    rows[0].opps = 40;
    beat_aggregates a;
    act_apply_result r;
    aggs(&a, 1, 1, 2, rows, 1);
    CHECK(act_state_apply(&st, act_state_cursor(&st, "http://ds"), &a, &r) == 0);
    CHECK_EQ_INT(plain->opps, 80);
    plain->ctl.v_obs_s = 12.5;
    plain->ctl.v_opps = 75;
    plain->ctl.v_spend_avg = 3.25;
    plain->ctl.v_opps_avg = 6.5;
    plain->ctl.v_loglam = -0.5;
    plain->ctl.cruise = 1.75;
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    CHECK(act_state_encode(&st, "act-1", T0, &out) == 0);
    act_state back;
    CHECK(act_state_init(&back, 10) == 0);
    beat_reason why;
    CHECK(act_state_restore(&back, out.data, out.len, &why) == 0);
    act_camp *p = act_state_find(&back, "plain");
    CHECK(p != NULL);
    CHECK_EQ_INT(p->mode, BEAT_PACING_VALUE);
    CHECK_EQ_INT(p->opps, 80);
    CHECK_EQ_INT(p->ctl.last_opps, 80);
    CHECK(p->ctl.v_obs_s == 12.5 && p->ctl.v_opps == 75);
    CHECK(p->ctl.v_spend_avg == 3.25 && p->ctl.v_opps_avg == 6.5);
    CHECK(p->ctl.v_loglam == -0.5);
    CHECK(p->ctl.cruise == 1.75); /* a restarted actuator starts tomorrow where today cruised */
    CHECK_EQ_INT(act_state_find(&back, "named")->mode, BEAT_PACING_ASAP);
    /* The public part still carries only multiplier, paused, spend. */
    const char *pub = strstr(out.data, "\"campaigns\":{");
    const char *priv = strstr(out.data, "\"private\":");
    CHECK(pub && priv && pub < priv);
    CHECK(memmem(pub, (size_t)(priv - pub), "opps", 4) == NULL);
    /* Bad fields: each one skipped alone. */
    const char *bad = "{\"v\":1,\"ts\":1,\"private\":{\"value\":{"
                      "\"x\":{\"mode\":\"fast\",\"opps\":-1,\"obs_s\":\"a\","
                      "\"flight_opps\":7,\"spend_avg\":1,\"opps_avg\":2,\"loglam\":99},"
                      "\"y\":[1],\"z\":{\"obs_s\":1e999}}}}";
    act_state e;
    CHECK(act_state_init(&e, 10) == 0);
    CHECK(act_state_restore(&e, bad, strlen(bad), &why) == 0);
    act_camp *x = act_state_find(&e, "x");
    CHECK(x != NULL);
    CHECK_EQ_INT(x->mode, BEAT_PACING_DEFAULT);
    CHECK_EQ_INT(x->opps, 0);
    CHECK(x->ctl.v_obs_s == 0 && x->ctl.v_opps == 7);
    CHECK(x->ctl.v_spend_avg < 0); /* loglam out of range: the trio is dropped */
    CHECK(act_state_find(&e, "y") == NULL);
    CHECK(act_state_find(&e, "z")->ctl.v_obs_s == 0);
    act_state_fini(&e);
    act_state_fini(&back);
    act_state_fini(&st);
    beat_buf_fini(&out);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"state_epochs_and_cursors", test_state_epochs_and_cursors},
        {"state_private_round_trip", test_state_private_round_trip},
        {"state_data_time", test_state_data_time},
        {"state_bounded", test_state_bounded},
        {"state_future_times", test_state_future_times},
        {"state_value_fields", test_state_value_fields},
        {NULL, NULL}};
    return beat_test_main("state", tests, argc, argv);
}
