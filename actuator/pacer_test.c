/* Unit tests of the pacing controller (pacer.c) and of the actuator's state
 * bookkeeping (state.c): a deterministic simulated spend process drives the
 * controller tick by tick, no sleeps, no sockets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "pacer.h"
#include "state.h"

#define T0 1700000000000LL
#define FLIGHT_S 3600
#define BUDGET 50000000LL
#define LAG_S 2 /* aggregates arrive this many ticks after the spend */

/* The simulated market: spend per second = traffic × plan_rate ×
 * multiplier (as applied LAG_S ticks ago, like closed buckets reaching the
 * actuator late), with ±20% deterministic noise; nothing is spent while the
 * campaign is paused. */
typedef struct sim {
    act_pacer_cfg cfg;
    act_pacer p;
    act_pacer_in in;
    double spent_true;      /* what the market has spent */
    double pipe[LAG_S + 1]; /* spend per tick still on its way */
    uint64_t rng;
    double max_dev;         /* max |spent − planned| / budget after warm-up */
    int64_t t_ms;
} sim;

static double noise(sim *s) {
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return 0.8 + 0.4 * (double)(s->rng >> 11) / 9007199254740992.0;
}

static void sim_init(sim *s) {
    memset(s, 0, sizeof *s);
    act_pacer_cfg_default(&s->cfg);
    act_pacer_init(&s->p);
    s->in.start_ms = T0;
    s->in.end_ms = T0 + FLIGHT_S * 1000LL;
    s->in.budget_micros = BUDGET;
    s->rng = 42;
    s->t_ms = T0;
}

/* Runs n one-second ticks at the given traffic level. */
static void sim_run(sim *s, int n, double traffic, int warmup_s) {
    double plan_rate = (double)BUDGET / FLIGHT_S;
    for (int i = 0; i < n; i++) {
        s->t_ms += 1000;
        double spend = s->p.paused ? 0.0
                                   : traffic * plan_rate * s->p.multiplier * noise(s);
        memmove(s->pipe + 1, s->pipe, LAG_S * sizeof(double));
        s->pipe[0] = spend;
        s->spent_true += spend;
        double seen = s->spent_true;
        for (int k = 0; k < LAG_S; k++) seen -= s->pipe[k];
        s->in.spent_micros = (int64_t)seen;
        act_pacer_step(&s->cfg, &s->p, &s->in, s->t_ms);
        if (s->t_ms - T0 >= warmup_s * 1000LL && s->t_ms < s->in.end_ms) {
            double dev = fabs(s->spent_true - act_pacer_planned(&s->in, s->t_ms)) /
                         BUDGET;
            if (dev > s->max_dev) s->max_dev = dev;
        }
    }
}

static int test_constant_traffic_tracks_plan(void) {
    sim s;
    sim_init(&s);
    sim_run(&s, FLIGHT_S + 5, 2.0, 120); /* mult 1 would spend at 2× plan */
    fprintf(stderr, "  constant: max_dev=%.4f mult=%.3f spent=%.4f\n", s.max_dev,
            s.p.multiplier, s.spent_true / BUDGET);
    CHECK(s.max_dev < 0.03);
    CHECK(fabs(s.p.multiplier - 0.5) < 0.15);
    CHECK(s.spent_true >= 0.97 * BUDGET);
    CHECK(s.spent_true <= 1.0 * BUDGET);
    CHECK(s.p.paused); /* flight over */
    return 0;
}

static int test_traffic_step_up(void) {
    sim s;
    sim_init(&s);
    sim_run(&s, FLIGHT_S / 2, 1.0, 120);
    double before = s.p.multiplier;
    sim_run(&s, FLIGHT_S / 2 - 10, 5.0, 120);
    fprintf(stderr, "  step x5: max_dev=%.4f mult %.3f -> %.3f\n", s.max_dev,
            before, s.p.multiplier);
    CHECK(before > 0.8 && before < 1.25);
    CHECK(s.p.multiplier < before / 3.5);
    CHECK(s.max_dev < 0.03);
    return 0;
}

static int test_traffic_drop_raises_multiplier_bounded(void) {
    sim s;
    sim_init(&s);
    sim_run(&s, 600, 1.0, 120);
    sim_run(&s, 600, 0.05, 100000); /* cannot reach plan even at max */
    CHECK(s.p.multiplier <= s.cfg.max_mult);
    CHECK(s.p.multiplier > s.cfg.max_mult * 0.99);
    sim_run(&s, 600, 1.0, 100000); /* traffic back: falls again, no windup */
    CHECK(s.p.multiplier < 3.0);
    return 0;
}

/* No spend at all (no traffic yet): the multiplier rises, but only to
 * blind_max, so the first traffic does not meet a wound-up multiplier. */
static int test_no_traffic_bounded_rise(void) {
    sim s;
    sim_init(&s);
    sim_run(&s, 120, 0.0, 100000);
    CHECK(s.p.multiplier > 1.5);
    CHECK(s.p.multiplier <= s.cfg.blind_max);
    sim_run(&s, 600, 1.0, 100000);
    CHECK(s.p.multiplier < 1.6);
    CHECK(s.p.multiplier > 0.8);
    return 0;
}

static int test_budget_exhausted_pauses(void) {
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    act_pacer p;
    act_pacer_init(&p);
    act_pacer_in in = {.start_ms = T0, .end_ms = T0 + 3600000,
                       .budget_micros = BUDGET, .spent_micros = 0};
    act_pacer_step(&cfg, &p, &in, T0 + 1000);
    CHECK(!p.paused);
    in.spent_micros = BUDGET - BUDGET / 1000; /* inside the 0.5% stop margin */
    act_pacer_step(&cfg, &p, &in, T0 + 2000);
    CHECK(p.paused);
    double m = p.multiplier;
    in.spent_micros = BUDGET + 1;
    act_pacer_step(&cfg, &p, &in, T0 + 3000);
    CHECK(p.paused);
    CHECK(p.multiplier == m); /* frozen while paused */
    cfg.stop_margin = 0.0;
    in.spent_micros = BUDGET - BUDGET / 1000;
    CHECK(!act_pacer_should_pause(&cfg, &in, T0 + 3000));
    return 0;
}

static int test_flight_bounds_pause(void) {
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    act_pacer p;
    act_pacer_init(&p);
    act_pacer_in in = {.start_ms = T0, .end_ms = T0 + 3600000,
                       .budget_micros = BUDGET};
    act_pacer_step(&cfg, &p, &in, T0 - 5000);
    CHECK(p.paused); /* before start */
    act_pacer_step(&cfg, &p, &in, T0 + 1800000);
    CHECK(!p.paused);
    act_pacer_step(&cfg, &p, &in, T0 + 3600000);
    CHECK(p.paused); /* now == end */
    in.op_paused = true;
    act_pacer_step(&cfg, &p, &in, T0 + 1000000);
    CHECK(p.paused);
    CHECK(act_pacer_planned(&in, T0 - 1) == 0.0);
    CHECK(act_pacer_planned(&in, T0 + 1800000) == BUDGET / 2.0);
    CHECK(act_pacer_planned(&in, T0 + 9999999) == (double)BUDGET);
    return 0;
}

static int test_multiplier_bounds_and_nonfinite(void) {
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    act_pacer p;
    act_pacer_init(&p);
    p.multiplier = NAN;
    act_pacer_in in = {.start_ms = T0, .end_ms = T0 + 3600000,
                       .budget_micros = BUDGET};
    p.last_ms = T0;
    act_pacer_step(&cfg, &p, &in, T0 + 1000);
    CHECK(isfinite(p.multiplier));
    /* Massive overspend: falls, but not below the floor. */
    for (int i = 2; i < 200; i++) {
        in.spent_micros += BUDGET / 400;
        act_pacer_step(&cfg, &p, &in, T0 + i * 1000LL);
    }
    CHECK(p.multiplier >= cfg.min_mult);
    CHECK(p.multiplier < 0.06);
    /* A reference in the future (clock step): no update, then normal. */
    double m = p.multiplier;
    p.last_ms = T0 + 999999;
    act_pacer_step(&cfg, &p, &in, T0 + 300000);
    CHECK(p.multiplier == m);
    CHECK_EQ_INT(p.last_ms, T0 + 300000);
    return 0;
}

/* Restoring mid-flight (multiplier, rate, spend, last step time from the
 * pushed state) continues the same trajectory instead of resetting. */
static int test_restore_continues(void) {
    sim a, b;
    sim_init(&a);
    sim_run(&a, 1800, 2.0, 120);
    b = a; /* what the restored actuator gets back... */
    act_pacer_init(&b.p);
    b.p.multiplier = a.p.multiplier;
    b.p.rate = a.p.rate;
    b.p.last_ms = a.p.last_ms;
    b.p.last_spent = a.in.spent_micros;
    sim_run(&a, 1800, 2.0, 120);
    sim_run(&b, 1800, 2.0, 120);
    CHECK(fabs(a.spent_true - b.spent_true) < 0.001 * BUDGET);
    CHECK(b.max_dev < 0.03);
    /* ...whereas a reset (multiplier 1, spend forgotten) would overspend. */
    sim c;
    sim_init(&c);
    sim_run(&c, 1800, 2.0, 120);
    act_pacer_init(&c.p);
    double before = c.spent_true;
    c.in.budget_micros = BUDGET; /* spend counter reset to zero: */
    c.spent_true = 0;
    sim_run(&c, 1800, 2.0, 100000);
    CHECK(before + c.spent_true > 1.2 * BUDGET);
    return 0;
}

/* ---- state.c: aggregates bookkeeping and the private section ---------- */

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

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"constant_traffic_tracks_plan", test_constant_traffic_tracks_plan},
        {"traffic_step_up", test_traffic_step_up},
        {"traffic_drop_raises_multiplier_bounded",
         test_traffic_drop_raises_multiplier_bounded},
        {"no_traffic_bounded_rise", test_no_traffic_bounded_rise},
        {"budget_exhausted_pauses", test_budget_exhausted_pauses},
        {"flight_bounds_pause", test_flight_bounds_pause},
        {"multiplier_bounds_and_nonfinite", test_multiplier_bounds_and_nonfinite},
        {"restore_continues", test_restore_continues},
        {"state_epochs_and_cursors", test_state_epochs_and_cursors},
        {"state_private_round_trip", test_state_private_round_trip},
        {"state_bounded", test_state_bounded},
        {NULL, NULL}};
    return beat_test_main("pacer", tests, argc, argv);
}
