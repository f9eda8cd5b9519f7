/* Unit tests of the pacing controller (pacer.c) on a deterministic
 * simulated market, tick by tick: no sleeps, no wall clock, no sockets.
 * Every flight scenario checks the pacing targets: budget utilisation
 * ≥ 99%, overspend ≤ 0.5%, mean absolute deviation of cumulative spend
 * from the plan ≤ 5% of budget (and prints the figures). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "pacer.h"
#include "state.h"

#define T0 1700000000000LL
#define BUDGET 50000000LL
#define LAG_MAX 8
#define SURGES_MAX 4

/* The simulated market. Spend per second = traffic(t) × base × g(m) ×
 * noise, where g(m) = min(m, sat)^gamma (higher bids win more and pay
 * more, up to the max bid) and base = budget/flight (so at m = 1 and
 * traffic 1 the plan is met exactly). The actuator sees spend `lag` ticks
 * late (closed buckets, notices), like the real pipeline; nothing is spent
 * while paused, but what was already won still arrives. */
typedef struct surge {
    double at, len, factor; /* fractions of the flight */
} surge;

typedef struct sim {
    act_pacer_cfg cfg;
    act_pacer p;
    act_pacer_in in;
    int64_t t_ms, flight_ms;
    double base, traffic, sat, gamma, noise_amp;
    surge surges[SURGES_MAX];
    int n_surges, lag;
    double spent_true;    /* what the market has spent */
    double pipe[LAG_MAX]; /* spend per tick still on its way */
    uint64_t rng;
    double sum_dev, max_dev; /* |spent − planned| / budget, in flight */
    int n_dev;
    double max_mult_jump; /* largest multiplier ratio between ticks */
} sim;

static double noise(sim *s) {
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return 1.0 - s->noise_amp + 2 * s->noise_amp * (double)(s->rng >> 11) / 9007199254740992.0;
}

static void sim_init(sim *s, int flight_s, double traffic) {
    memset(s, 0, sizeof *s);
    act_pacer_cfg_default(&s->cfg);
    s->cfg.transit_s = 0; /* the sim's only delay is `lag`, which data_ms shows */
    act_pacer_init(&s->p);
    s->flight_ms = flight_s * 1000LL;
    s->in.start_ms = T0;
    s->in.end_ms = T0 + s->flight_ms;
    s->in.budget_micros = BUDGET;
    s->base = (double)BUDGET / flight_s;
    s->traffic = traffic;
    s->sat = 6.0;
    s->gamma = 1.3;
    s->noise_amp = 0.25;
    s->lag = 2;
    s->rng = 42;
    s->t_ms = T0;
}

static void sim_surge(sim *s, double at, double len, double factor) {
    if (s->n_surges < SURGES_MAX) s->surges[s->n_surges++] = (surge){at, len, factor};
}

static double traffic_at(const sim *s) {
    double x = (double)(s->t_ms - T0) / (double)s->flight_ms, tr = s->traffic;
    for (int i = 0; i < s->n_surges; i++)
        if (x >= s->surges[i].at && x < s->surges[i].at + s->surges[i].len)
            tr *= s->surges[i].factor;
    return tr;
}

/* One one-second tick: the market spends at the current multiplier, then
 * the controller steps on what it can see. */
static void sim_tick(sim *s) {
    s->t_ms += 1000;
    double spend = 0;
    if (!s->p.paused)
        spend = traffic_at(s) * s->base * pow(fmin(s->p.multiplier, s->sat), s->gamma) * noise(s);
    memmove(s->pipe + 1, s->pipe, (LAG_MAX - 1) * sizeof(double));
    s->pipe[0] = spend;
    s->spent_true += spend;
    double seen = s->spent_true;
    for (int k = 0; k < s->lag; k++) seen -= s->pipe[k];
    s->in.spent_micros = (int64_t)seen;
    s->in.data_ms = s->t_ms - s->lag * 1000LL;
    double before = s->p.multiplier;
    act_pacer_step(&s->cfg, &s->p, &s->in, s->t_ms);
    double jump = s->p.multiplier / before;
    if (jump < 1) jump = 1 / jump;
    if (!s->p.paused && jump > s->max_mult_jump) s->max_mult_jump = jump;
    if (s->t_ms <= s->in.end_ms) {
        double dev = fabs(s->spent_true - act_pacer_planned(&s->cfg, &s->in, s->t_ms)) /
                     (double)s->in.budget_micros;
        s->sum_dev += dev;
        s->n_dev++;
        if (dev > s->max_dev) s->max_dev = dev;
    }
}

static void sim_until(sim *s, int64_t t_ms) {
    while (s->t_ms < t_ms) sim_tick(s);
}

/* Runs to the end of the flight and a few seconds more (what was won
 * before the stop is still billed), then checks the done-means (MAD at
 * most mad_max: 5% unless the scenario itself moves the plan). */
static int sim_finish_mad(sim *s, const char *name, double mad_max) {
    sim_until(s, s->in.end_ms + 10000);
    double util = s->spent_true / (double)s->in.budget_micros;
    double mad = s->sum_dev / (s->n_dev ? s->n_dev : 1);
    fprintf(stderr, "  %-26s util=%.4f over=%.4f mad=%.4f max_dev=%.4f max_jump=%.2f\n", name, util,
            fmax(0, util - 1), mad, s->max_dev, s->max_mult_jump);
    CHECK(util >= 0.99);
    CHECK(util <= 1.005);
    CHECK(mad <= mad_max);
    CHECK(s->p.paused); /* flight over */
    return 0;
}

static int sim_finish(sim *s, const char *name) { return sim_finish_mad(s, name, 0.05); }

static int test_constant_traffic(void) {
    sim s;
    sim_init(&s, 3600, 2.0); /* m = 1 would spend at ~2× plan */
    sim_until(&s, T0 + 1800 * 1000LL);
    CHECK(fabs(s.p.multiplier - pow(0.5, 1 / 1.3)) < 0.12);
    return sim_finish(&s, "constant x2, 1h");
}

static int test_step_up_x5(void) {
    sim s;
    sim_init(&s, 3600, 1.0);
    sim_surge(&s, 0.5, 1.0, 5.0);
    sim_until(&s, T0 + 1790 * 1000LL);
    double before = s.p.multiplier;
    sim_until(&s, T0 + 1900 * 1000LL);
    CHECK(before > 0.8 && before < 1.25);
    CHECK(s.p.multiplier < before / 2.5); /* 5^(1/1.3) = 3.45 */
    return sim_finish(&s, "step x5 at 50%, 1h");
}

static int test_step_down_x02(void) {
    sim s;
    sim_init(&s, 3600, 1.0);
    sim_surge(&s, 0.5, 1.0, 0.2);
    sim_until(&s, T0 + 1790 * 1000LL);
    double before = s.p.multiplier;
    sim_until(&s, T0 + 2100 * 1000LL);
    CHECK(s.p.multiplier > before * 2.5);
    return sim_finish(&s, "step x0.2 at 50%, 1h");
}

/* The demo's shape: a short flight, traffic from a few seconds in, a ×5
 * surge for a tenth of it. */
static int test_short_flight_surge(void) {
    sim s;
    sim_init(&s, 105, 1.6);
    sim_surge(&s, 0.0, 0.06, 0.0); /* exchange not sending yet */
    sim_surge(&s, 0.55, 0.12, 5.0);
    return sim_finish(&s, "105s, surge x5 at 55%");
}

/* A noisier market (±40% per second, more than a campaign winning ~30
 * auctions a second at lognormal prices) with the demo's surge. At ±50%,
 * or with 3 s of lag, a noisy last second lands up to ~1% over. */
static int test_noisy_market(void) {
    sim s;
    sim_init(&s, 105, 1.6);
    s.noise_amp = 0.4;
    sim_surge(&s, 0.0, 0.06, 0.0);
    sim_surge(&s, 0.55, 0.12, 5.0);
    return sim_finish(&s, "105s, noise 40%");
}

/* A ×4 surge over the last fifth of a short flight, ending 5-13 s before
 * it (as in a flight that ends in the demo's late surge): the cut must not
 * outlast the surge, or the flight lands short (and a late rise lands
 * over). The rate in the data was bought at the multiplier of data time,
 * so the error is taken against what the current one buys. Without that
 * the same markets land 93.1% and 101.9%. */
static int test_surge_ending_late(void) {
    static const double at[][2] = {{0.75, 0.15}, {0.78, 0.12}, {0.80, 0.11},
                                   {0.82, 0.11}, {0.84, 0.08}, {0.85, 0.08}};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        sim s;
        sim_init(&s, 138, 1.6);
        s.noise_amp = 0.3;
        sim_surge(&s, 0.0, 0.04, 0.0);
        sim_surge(&s, at[k][0], at[k][1], 4.0);
        char name[40];
        snprintf(name, sizeof name, "138s, x4 at %.0f-%.0f%%", 100 * at[k][0],
                 100 * (at[k][0] + at[k][1]));
        if (sim_finish(&s, name)) return 1;
    }
    return 0;
}

static int test_long_flight_surge_and_drop(void) {
    sim s;
    sim_init(&s, 6 * 3600, 0.7);
    sim_surge(&s, 0.3, 0.1, 5.0);
    sim_surge(&s, 0.6, 0.1, 0.2);
    return sim_finish(&s, "6h, x5 then x0.2 windows");
}

static int test_budget_change_mid_flight(void) {
    sim s;
    sim_init(&s, 3600, 1.5);
    sim_until(&s, T0 + 1800 * 1000LL);
    s.in.budget_micros = BUDGET * 6 / 10; /* cut: the plan jumps down */
    double m = s.p.multiplier;
    sim_until(&s, T0 + 1830 * 1000LL);
    CHECK(s.p.multiplier < m / 2); /* ~25 of 30 spent: slow right down */
    /* The cut leaves spend 33% of the budget above the new plan at once:
     * that much deviation is the operator's doing, not the controller's,
     * so the MAD bound is wider here (the plan is met again by ~83%). */
    if (sim_finish_mad(&s, "budget cut 50->30 at 50%", 0.10)) return 1;

    sim t;
    sim_init(&t, 3600, 1.5);
    sim_until(&t, T0 + 1800 * 1000LL);
    t.in.budget_micros = BUDGET * 14 / 10; /* raise: catches up */
    return sim_finish(&t, "budget raise 50->70 at 50%");
}

static int test_budget_cut_below_spend_stops(void) {
    sim s;
    sim_init(&s, 3600, 1.0);
    sim_until(&s, T0 + 1800 * 1000LL);
    s.in.budget_micros = (int64_t)(s.spent_true * 0.9);
    sim_until(&s, T0 + 1802 * 1000LL);
    CHECK(s.p.paused);
    double spent = s.spent_true;
    sim_until(&s, T0 + 3000 * 1000LL);
    CHECK(s.spent_true - spent < 0.002 * BUDGET); /* only what was in flight */
    return 0;
}

/* Hourly weights stretched over a short flight: spend follows the curve. */
static int test_hourly_weights(void) {
    sim s;
    sim_init(&s, 2400, 1.0);
    CHECK(act_pacer_set_weights(&s.cfg, "1,1,1,1,1,1,2,3,3,3,2,2,2,2,2,2,3,3,3,2,1,1,1,1") == 0);
    act_pacer_in in = s.in;
    /* 24 hours over 2400 s: hour 0 = first 100 s; weights sum to 44. */
    CHECK(fabs(act_pacer_planned(&s.cfg, &in, T0 + 100000) - BUDGET / 44.0) < 1);
    CHECK(fabs(act_pacer_planned(&s.cfg, &in, T0 + 650000) - BUDGET * 7.0 / 44.0) < 1);
    if (sim_finish(&s, "hourly weights, 40 min")) return 1;
    /* A flight of whole days follows the UTC hours: at midnight UTC
     * (T0 is 22:13:20 UTC) the planned fraction is that of 1h46m40s of day 0. */
    act_pacer_cfg c;
    act_pacer_cfg_default(&c);
    CHECK(act_pacer_set_weights(&c, "0,0,0,0,0,0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1") == 0);
    int64_t midnight = (T0 / 86400000 + 1) * 86400000;
    act_pacer_in d = {.start_ms = T0, .end_ms = T0 + 2 * 86400000LL, .budget_micros = 36000};
    CHECK(fabs(act_pacer_planned(&c, &d, midnight) -
               36000.0 * (1 + 46 / 60.0 + 40 / 3600.0) / 36.0) < 1e-6);
    CHECK(act_pacer_planned(&c, &d, midnight + 3 * 3600000) ==
          act_pacer_planned(&c, &d, midnight)); /* nights weigh 0 */
    /* Bad specs are refused and leave the curve alone. */
    CHECK(act_pacer_set_weights(&c, "1,2,3") < 0);
    CHECK(act_pacer_set_weights(&c, "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0") < 0);
    CHECK(act_pacer_set_weights(&c, "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,-1") < 0);
    CHECK(act_pacer_set_weights(&c, "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1") < 0);
    CHECK(c.n_weights == 24 && c.weights[0] == 0);
    CHECK(act_pacer_set_weights(&c, "") == 0 && c.n_weights == 0);
    return 0;
}

/* Restart mid-flight from the pushed state: the restored controller goes
 * on from the same spend, integrator and multiplier (no reset, no burst),
 * after 8 s down during which inference kept the last multiplier. */
static int test_restart_from_private_state(void) {
    sim s;
    sim_init(&s, 3600, 2.0);
    sim_surge(&s, 0.7, 0.1, 4.0);
    sim_until(&s, T0 + 1800 * 1000LL);

    act_state st;
    CHECK(act_state_init(&st, 10) == 0);
    act_camp *c = act_state_get(&st, "c1");
    c->in_set = true;
    c->spent_micros = s.in.spent_micros;
    c->ctl = s.p;
    beat_buf out;
    beat_buf_init(&out, 1 << 16);
    CHECK(act_state_encode(&st, "act-1", s.t_ms, &out) == 0);
    double before = s.p.multiplier;

    /* Down for 8 s: the market goes on at the last published multiplier. */
    for (int i = 0; i < 8; i++) {
        s.t_ms += 1000;
        double spend = s.traffic * s.base * pow(fmin(s.p.multiplier, s.sat), s.gamma);
        memmove(s.pipe + 1, s.pipe, (LAG_MAX - 1) * sizeof(double));
        s.pipe[0] = spend;
        s.spent_true += spend;
    }
    act_state r;
    CHECK(act_state_init(&r, 10) == 0);
    beat_reason why;
    CHECK(act_state_restore(&r, out.data, out.len, &why) == 0);
    act_camp *rc = act_state_find(&r, "c1");
    CHECK(rc != NULL);
    s.p = rc->ctl;
    CHECK(s.p.has_integ);
    CHECK_EQ_INT(rc->spent_micros, s.in.spent_micros);
    sim_tick(&s);
    CHECK(s.p.multiplier > before / 1.3 && s.p.multiplier < before * 1.3); /* no burst */
    act_state_fini(&r);
    act_state_fini(&st);
    beat_buf_fini(&out);
    return sim_finish(&s, "restart at 50% (8s down)");
}

/* A reset instead (multiplier 1, spend forgotten) overspends badly: the
 * restore above is what keeps the budget. */
static int test_reset_would_overspend(void) {
    sim s;
    sim_init(&s, 3600, 2.0);
    sim_until(&s, T0 + 1800 * 1000LL);
    double before = s.spent_true;
    act_pacer_init(&s.p);
    s.spent_true = 0;
    memset(s.pipe, 0, sizeof s.pipe);
    sim_until(&s, s.in.end_ms + 10000);
    CHECK(before + s.spent_true > 1.3 * BUDGET);
    return 0;
}

/* No spend at all (no traffic yet): the multiplier rises, but only to
 * blind_max, so the first traffic does not meet a wound-up multiplier. */
static int test_no_traffic_bounded_rise(void) {
    sim s;
    sim_init(&s, 3600, 0.0);
    sim_until(&s, T0 + 120 * 1000LL);
    CHECK(s.p.multiplier > 1.5);
    CHECK(s.p.multiplier <= s.cfg.blind_max + 1e-9);
    s.traffic = 1.0;
    sim_until(&s, T0 + 900 * 1000LL);
    CHECK(s.p.multiplier < 1.6);
    CHECK(s.p.multiplier > 0.8);
    return 0;
}

/* Traffic too thin for the plan: the multiplier goes to max and no
 * further (the integrator stops: anti-windup), and falls back fast when
 * traffic returns. */
static int test_saturation_anti_windup(void) {
    sim s;
    sim_init(&s, 3600, 1.0);
    sim_until(&s, T0 + 600 * 1000LL);
    s.traffic = 0.02;
    sim_until(&s, T0 + 1200 * 1000LL);
    CHECK(s.p.multiplier > s.cfg.max_mult * 0.99);
    CHECK(s.p.integ <= log(s.cfg.max_mult) + 1e-9);
    s.traffic = 1.0;
    sim_until(&s, T0 + 1260 * 1000LL);
    CHECK(s.p.multiplier < 3.0);
    return 0;
}

/* A ×5 surge in the last seconds of a short flight: what is won before
 * the surge shows in the aggregates (lag + one tick) is spent whatever the
 * controller does, so the overspend is bounded by surge × plan rate ×
 * (lag + 1 s), not by the stop margin; and once the hard stop lifts, the
 * controller must not bid up into the surge (it learnt the surge rate). */
static int test_late_surge_bounded(void) {
    double worst = 0;
    for (int k = 0; k < 6; k++)
        for (int seed = 1; seed <= 5; seed++) {
            sim s;
            sim_init(&s, 90, 1.0);
            s.lag = 1;
            s.noise_amp = 0.3;
            s.rng = (uint64_t)seed;
            sim_surge(&s, 0.7 + 0.05 * k, 0.3, 5.0);
            sim_until(&s, s.in.end_ms + 10000);
            double over = s.spent_true / BUDGET - 1.0;
            if (over > worst) worst = over;
            CHECK(s.spent_true >= 0.97 * BUDGET);
        }
    fprintf(stderr, "  %-26s worst over=%.4f (bound %.4f)\n", "90s, x5 surge near the end", worst,
            5.0 * 2 / 90);
    CHECK(worst <= 5.0 * 2 / 90);
    return 0;
}

/* No aggregates at all (data_ms < 0), or only stale ones (every datastream
 * down): the controller holds its multiplier instead of bidding up blind,
 * and picks up again when data flows. */
static int test_no_data_holds(void) {
    sim s;
    sim_init(&s, 3600, 1.0);
    sim_until(&s, T0 + 600 * 1000LL);
    double m0 = s.p.multiplier, m = 0;
    for (int i = 0; i < 60; i++) { /* datastreams down: nothing new seen */
        s.t_ms += 1000;
        s.in.data_ms = T0 + 600 * 1000LL - 2000;
        act_pacer_step(&s.cfg, &s.p, &s.in, s.t_ms);
        if (i == 10) m = s.p.multiplier; /* data older than max_age_s from here */
    }
    CHECK(s.p.multiplier == m);
    CHECK(m > m0 / 1.5 && m < m0 * 1.5);
    CHECK(!s.p.paused);
    act_pacer p;
    act_pacer_init(&p);
    p.multiplier = 0.7;
    act_pacer_in in = {
        .start_ms = T0, .end_ms = T0 + 3600000, .budget_micros = BUDGET, .data_ms = -1};
    for (int i = 1; i < 100; i++) act_pacer_step(&s.cfg, &p, &in, T0 + i * 1000LL);
    CHECK(p.multiplier == 0.7); /* restored, nothing pulled yet: held */
    return sim_finish(&s, "1h, datastreams down 60s");
}

/* Buckets keep closing but the notices are unheard (every receiver down,
 * Kafka down, datastream lagging: empty buckets are "no news", not "no
 * spend"): the aggregates answers carry an old heard_ms, the data time the
 * state derives stays there, and the controller holds its multiplier. The
 * same answers without heard_ms (a datastream from before heartbeats) read
 * as "nothing spent" and the multiplier climbs: what heard_ms prevents. */
static int unheard_run(bool with_heard, double *m_before, double *m_after, double *m_15) {
    sim s;
    sim_init(&s, 3600, 1.0);
    sim_until(&s, T0 + 600 * 1000LL);
    act_state st;
    CHECK(act_state_init(&st, 10) == 0);
    beat_pull_cursor *cur = act_state_cursor(&st, "http://ds1");
    CHECK(cur != NULL);
    int64_t heard = s.t_ms - 2000; /* the last time notices were heard */
    *m_before = s.p.multiplier;
    for (uint64_t k = 1; k <= 60; k++) {
        s.t_ms += 1000;
        beat_agg_bucket b = {.seq = k, .start_ms = s.t_ms - 2000, .end_ms = s.t_ms - 1000};
        beat_aggregates a = {.epoch = 7,
                             .bucket_ms = 1000,
                             .first_seq = 1,
                             .last_seq = k,
                             .heard_ms = heard,
                             .has_heard = with_heard,
                             .n_buckets = 1,
                             .buckets = &b};
        act_apply_result r;
        CHECK(act_state_apply(&st, cur, &a, &r) == 0);
        CHECK_EQ_INT(r.buckets, 1);
        int64_t data_ms = act_state_data_ms(&st, 10000);
        CHECK_EQ_INT(data_ms, with_heard ? heard : s.t_ms - 1000);
        s.in.data_ms = data_ms; /* spent_micros stays: the buckets are empty */
        act_pacer_step(&s.cfg, &s.p, &s.in, s.t_ms);
        if (k == 15) *m_15 = s.p.multiplier; /* data older than max_age_s from here */
    }
    *m_after = s.p.multiplier;
    act_state_fini(&st);
    return 0;
}

static int test_unheard_holds(void) {
    double m0, m1, m15;
    CHECK_EQ_INT(unheard_run(true, &m0, &m1, &m15), 0);
    fprintf(stderr, "  %-26s multiplier %.3f -> %.3f\n", "60 s unheard (heard_ms)", m0, m1);
    CHECK(m1 <= m0 * 1.0001); /* never bid up blind */
    CHECK(m1 == m15);         /* and held once the heard time is stale */
    CHECK_EQ_INT(unheard_run(false, &m0, &m1, &m15), 0);
    fprintf(stderr, "  %-26s multiplier %.3f -> %.3f\n", "60 s empty (no heard_ms)", m0, m1);
    CHECK(m1 > m0 * 1.2);
    return 0;
}

static int test_budget_exhausted_pauses(void) {
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    act_pacer p;
    act_pacer_init(&p);
    act_pacer_in in = {
        .start_ms = T0, .end_ms = T0 + 3600000, .budget_micros = BUDGET, .spent_micros = 0};
    act_pacer_step(&cfg, &p, &in, T0 + 1000);
    CHECK(!p.paused);
    in.spent_micros = BUDGET - BUDGET / 1000; /* inside the stop margin */
    act_pacer_step(&cfg, &p, &in, T0 + 2000);
    CHECK(p.paused);
    double m = p.multiplier;
    in.spent_micros = BUDGET + 1;
    act_pacer_step(&cfg, &p, &in, T0 + 3000);
    CHECK(p.paused);
    CHECK(p.multiplier == m); /* frozen while paused */
    /* In flight counts: 95% spent at a rate that brings 6% within the
     * in-flight window pauses already. */
    act_pacer_init(&p);
    p.rate = 0.03 * BUDGET;
    p.last_ms = T0 + 10000;
    in.spent_micros = BUDGET * 95 / 100;
    p.last_spent = in.spent_micros - (int64_t)(0.03 * BUDGET);
    act_pacer_step(&cfg, &p, &in, T0 + 11000);
    CHECK(act_pacer_inflight(&cfg, &p, &in, T0 + 11000) >= 0.05 * BUDGET);
    CHECK(p.paused);
    /* ...and the stop lifts once that rate has died away unspent, but at a
     * multiplier cut so that the blind seconds of a resume (one tick plus
     * the data lag) at the market's last rate spend at most half of what
     * is left: at the lift the multiplier is at most half the old one. */
    double m_lift = -1;
    for (int i = 12; i < 40 && m_lift < 0; i++) {
        act_pacer_step(&cfg, &p, &in, T0 + i * 1000LL);
        if (!p.paused) m_lift = p.multiplier;
    }
    CHECK(m_lift > 0 && m_lift <= 0.5);
    return 0;
}

static int test_flight_bounds_pause(void) {
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    act_pacer p;
    act_pacer_init(&p);
    act_pacer_in in = {.start_ms = T0, .end_ms = T0 + 3600000, .budget_micros = BUDGET};
    act_pacer_step(&cfg, &p, &in, T0 - 5000);
    CHECK(p.paused); /* before start */
    act_pacer_step(&cfg, &p, &in, T0 + 1800000);
    CHECK(!p.paused);
    act_pacer_step(&cfg, &p, &in, T0 + 3600000);
    CHECK(p.paused); /* now == end */
    in.op_paused = true;
    act_pacer_step(&cfg, &p, &in, T0 + 1000000);
    CHECK(p.paused);
    CHECK(act_pacer_planned(&cfg, &in, T0 - 1) == 0.0);
    CHECK(act_pacer_planned(&cfg, &in, T0 + 1800000) == BUDGET / 2.0);
    CHECK(act_pacer_planned(&cfg, &in, T0 + 9999999) == (double)BUDGET);
    return 0;
}

static int test_multiplier_bounds_and_nonfinite(void) {
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    act_pacer p;
    act_pacer_init(&p);
    p.multiplier = NAN;
    p.integ = INFINITY;
    p.has_integ = true;
    act_pacer_in in = {.start_ms = T0, .end_ms = T0 + 3600000, .budget_micros = BUDGET};
    p.last_ms = T0;
    act_pacer_step(&cfg, &p, &in, T0 + 1000);
    CHECK(isfinite(p.multiplier) && isfinite(p.integ));
    /* Massive overspend (but under the budget): falls, not below the floor. */
    for (int i = 2; i < 200; i++) {
        in.spent_micros += BUDGET / 400;
        act_pacer_step(&cfg, &p, &in, T0 + i * 1000LL);
    }
    CHECK(!p.paused);
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

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"constant_traffic", test_constant_traffic},
        {"step_up_x5", test_step_up_x5},
        {"step_down_x02", test_step_down_x02},
        {"short_flight_surge", test_short_flight_surge},
        {"noisy_market", test_noisy_market},
        {"surge_ending_late", test_surge_ending_late},
        {"long_flight_surge_and_drop", test_long_flight_surge_and_drop},
        {"budget_change_mid_flight", test_budget_change_mid_flight},
        {"budget_cut_below_spend_stops", test_budget_cut_below_spend_stops},
        {"hourly_weights", test_hourly_weights},
        {"restart_from_private_state", test_restart_from_private_state},
        {"reset_would_overspend", test_reset_would_overspend},
        {"no_traffic_bounded_rise", test_no_traffic_bounded_rise},
        {"saturation_anti_windup", test_saturation_anti_windup},
        {"late_surge_bounded", test_late_surge_bounded},
        {"no_data_holds", test_no_data_holds},
        {"unheard_holds", test_unheard_holds},
        {"budget_exhausted_pauses", test_budget_exhausted_pauses},
        {"flight_bounds_pause", test_flight_bounds_pause},
        {"multiplier_bounds_and_nonfinite", test_multiplier_bounds_and_nonfinite},
        {NULL, NULL}};
    return beat_test_main("pacer", tests, argc, argv);
}
