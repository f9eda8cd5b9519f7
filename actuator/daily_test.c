/* Pacing by day (daily.c) on a simulated market over a three-day flight,
 * tick by tick (one engine second each; no clocks, no sleeps). Day 1's
 * market is thin (it can buy about 40% of the day's budget), days 2 and 3
 * could buy twice it. Every day must spend within 1% of its budget and
 * never more than 1% over it, and the budgets of days 2 and 3 must be what
 * the roll-over rule makes of the spend counted before them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "daily.h"
#include "state.h"

#define JAN1 1767225600000LL /* 2026-01-01T00:00Z */
#define DAY 86400000LL
#define D 50000000LL /* daily budget: $50 */
#define LAG 2
#define DAYS_MAX 5

typedef struct sim {
    act_pacer_cfg cfg;
    act_pacer p;
    act_daily d;
    beat_campaign c;
    int64_t t;
    double spent_true, pipe[LAG], base;
    uint64_t rng;
    /* per local day of the flight, reckoned here (not by daily.c): the true
     * spend, and the budget the controller was given */
    int n_days;
    int64_t day0;
    double budget[DAYS_MAX], spend[DAYS_MAX];
} sim;

/* Index of the flight's local day that t falls in; -1 outside. */
static int day_index(const sim *s, int64_t t) {
    beat_day d;
    if (beat_daily_day(&s->c, t, &d) != 0) return -1;
    int i = (int)(d.day - s->day0);
    return i >= 0 && i < DAYS_MAX ? i : -1;
}

static double noise(sim *s) {
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return 0.75 + 0.5 * (double)(s->rng >> 11) / 9007199254740992.0;
}

/* The market: day 1 thin, then twice what the plan needs at m = 1, with
 * spend ∝ min(m, 6)^1.3 and ±25% noise, seen LAG seconds late. */
static void tick(sim *s, beat_pacing mode) {
    s->t += 1000;
    double traffic = s->t <= JAN1 + DAY ? 0.02 : 1.0;
    double spend = 0;
    if (!s->p.paused) spend = traffic * s->base * pow(fmin(s->p.multiplier, 6.0), 1.3) * noise(s);
    memmove(s->pipe + 1, s->pipe, (LAG - 1) * sizeof(double));
    s->pipe[0] = spend;
    s->spent_true += spend;
    int k = day_index(s, s->t - 1); /* the tick's spend was made in (t − 1 s, t] */
    if (k >= 0) s->spend[k] += spend;
    if (k + 1 > s->n_days) s->n_days = k + 1;
    double seen = s->spent_true;
    for (int k = 0; k < LAG; k++) seen -= s->pipe[k];
    act_pacer_in in = {.start_ms = s->c.start_ms,
                       .end_ms = s->c.end_ms,
                       .budget_micros = s->c.budget_micros,
                       .spent_micros = (int64_t)seen,
                       .data_ms = s->t - LAG * 1000LL,
                       .mode = mode};
    k = day_index(s, s->t);
    if (act_daily_scope(&s->c, &s->d, &s->p, &in, s->t, s->t, 1.0) == 1 && k >= 0)
        s->budget[k] = (double)in.budget_micros;
    act_pacer_step(&s->cfg, &s->p, &in, s->t);
}

/* Runs the flight (and a minute after it: late spend still counts). */
static void run(sim *s, beat_rollover r, beat_pacing mode, const char *tz, const char *weights) {
    memset(s, 0, sizeof *s);
    act_pacer_cfg_default(&s->cfg);
    s->cfg.transit_s = 0;
    if (weights) act_pacer_set_weights(&s->cfg, weights);
    act_pacer_init(&s->p);
    snprintf(s->c.id, sizeof s->c.id, "c1");
    s->c.start_ms = JAN1;
    s->c.end_ms = JAN1 + 3 * DAY;
    s->c.budget_micros = 100 * D;
    s->c.daily_budget_micros = D;
    s->c.rollover = r;
    s->c.tz = tz ? beat_tz_get(tz, NULL) : NULL;
    s->base = 2.0 * (double)D / 86400.0;
    s->rng = 7;
    beat_day d0;
    beat_daily_day(&s->c, JAN1, &d0);
    s->day0 = d0.day;
    s->t = JAN1 - 1000;
    while (s->t < s->c.end_ms + 60000) tick(s, mode);
}

/* Each day's budget by the rule, from the true spend of the days before
 * (reckoned here, not by daily.c). The controller counts spend LAG seconds
 * late: a difference far below the 0.1% allowed between the budget it was
 * given and this one. Then every day must spend within 1% of its budget
 * (the thin first day: under it) and never more than 1% over it. */
static int check_days(const sim *s, beat_rollover r, const char *name) {
    double carry = 0, want[DAYS_MAX] = {0};
    fprintf(stderr, "  %-28s", name);
    for (int i = 0; i < s->n_days; i++) {
        beat_day d;
        int64_t t = JAN1; /* the first hour of the flight in day i */
        while (day_index(s, t) != i) t += 3600000;
        CHECK_EQ_INT(beat_daily_day(&s->c, t, &d), 0);
        if (i > 0 && r != BEAT_ROLLOVER_NONE) carry += fmax(0, want[i - 1] - s->spend[i - 1]);
        double share = 0;
        if (r == BEAT_ROLLOVER_NEXT_DAY || (r == BEAT_ROLLOVER_EVEN && i == s->n_days - 1))
            share = carry;
        else if (r == BEAT_ROLLOVER_EVEN)
            share = carry * (double)d.plan_micros / (double)d.plan_left_micros;
        carry -= share;
        want[i] = (double)d.plan_micros + share;
        fprintf(stderr, " day%d %.4f of %.2f$", i + 1, s->spend[i] / want[i], want[i] / 1e6);
    }
    fprintf(stderr, "\n");
    CHECK(s->n_days >= 3);
    for (int i = 0; i < s->n_days; i++) {
        CHECK(fabs(s->budget[i] - want[i]) <= 0.001 * want[i]);
        CHECK(s->spend[i] <= 1.01 * want[i]);
        if (i > 0) CHECK(s->spend[i] >= 0.99 * want[i]);
    }
    CHECK(s->spend[0] < 0.5 * want[0]);
    return 0;
}

static int t_rules_even_law(void) {
    static const beat_rollover rules[] = {BEAT_ROLLOVER_NONE, BEAT_ROLLOVER_NEXT_DAY,
                                          BEAT_ROLLOVER_EVEN};
    for (int i = 0; i < 3; i++) {
        sim *s = calloc(1, sizeof *s);
        CHECK(s);
        run(s, rules[i], BEAT_PACING_EVEN, NULL, NULL);
        char name[64];
        snprintf(name, sizeof name, "even law, %s", beat_rollover_name(rules[i]));
        CHECK_EQ_INT(check_days(s, rules[i], name), 0);
        free(s);
    }
    return 0;
}

/* Local days (+05:30: the flight covers a partial first and last day) and
 * hourly weights that follow the local hours. */
static int t_zone_and_weights(void) {
    sim *s = calloc(1, sizeof *s);
    CHECK(s);
    run(s, BEAT_ROLLOVER_NEXT_DAY, BEAT_PACING_EVEN, "+05:30",
        "1,1,1,1,1,1,2,3,4,4,4,4,4,4,4,4,4,4,4,3,2,2,1,1");
    CHECK_EQ_INT(check_days(s, BEAT_ROLLOVER_NEXT_DAY, "even law, +05:30, weights"), 0);
    CHECK(s->n_days == 4);
    free(s);
    return 0;
}

/* The value law targets the day's remaining budget; asap runs to the
 * day's stop and starts again the next day. */
static int t_value_and_asap(void) {
    sim *s = calloc(1, sizeof *s);
    CHECK(s);
    run(s, BEAT_ROLLOVER_EVEN, BEAT_PACING_VALUE, NULL, NULL);
    CHECK_EQ_INT(check_days(s, BEAT_ROLLOVER_EVEN, "value law, even"), 0);
    run(s, BEAT_ROLLOVER_NEXT_DAY, BEAT_PACING_ASAP, NULL, NULL);
    CHECK_EQ_INT(check_days(s, BEAT_ROLLOVER_NEXT_DAY, "asap, next_day"), 0);
    free(s);
    return 0;
}

/* The day account travels in the state's "private" part: an actuator
 * restarted mid-day keeps the day's base (else it would start the day over
 * from the spend at its restart). A malformed entry is skipped alone. */
static int t_state_roundtrip(void) {
    act_state st, back;
    beat_campaign c = {.start_ms = JAN1,
                       .end_ms = JAN1 + 3 * DAY,
                       .budget_micros = 100 * D,
                       .daily_budget_micros = D,
                       .rollover = BEAT_ROLLOVER_EVEN};
    snprintf(c.id, sizeof c.id, "c1");
    beat_campaign_set cs = {.n = 1, .c = &c};
    CHECK_EQ_INT(act_state_init(&st, 16), 0);
    CHECK_EQ_INT(act_state_init(&back, 16), 0);
    CHECK_EQ_INT(act_state_set_campaigns(&st, &cs), 0);
    act_camp *a = act_state_find(&st, "c1");
    CHECK(a && a->day_c.daily_budget_micros == D && a->day_c.rollover == BEAT_ROLLOVER_EVEN);
    a->daily.day = (beat_daily){
        .set = true, .day = 20454, .start_ms = JAN1 + DAY, .base = 123, .share = 45, .carry = 6};
    beat_buf b;
    beat_buf_init(&b, 0);
    CHECK_EQ_INT(act_state_encode(&st, "act", JAN1, &b), 0);
    CHECK(strstr(b.data, "\"daily\":{\"c1\":[20454,") != NULL);
    beat_reason why = {{0}};
    CHECK_EQ_INT(act_state_restore(&back, b.data, b.len, &why), 0);
    act_camp *r = act_state_find(&back, "c1");
    CHECK(r && r->daily.day.set && r->daily.day.day == 20454 && r->daily.day.base == 123 &&
          r->daily.day.share == 45 && r->daily.day.carry == 6 &&
          r->daily.day.start_ms == JAN1 + DAY);
    static const char bad[] = "{\"v\":1,\"private\":{\"daily\":{\"c2\":[1,2],\"c3\":\"x\","
                              "\"c4\":[1,2,3,4,\"5\"],\"c5\":[1,2,3,4,5]}}}";
    CHECK_EQ_INT(act_state_restore(&back, bad, sizeof bad - 1, &why), 0);
    CHECK(!act_state_find(&back, "c2") && !act_state_find(&back, "c3") &&
          !act_state_find(&back, "c4"));
    CHECK(act_state_find(&back, "c5") && act_state_find(&back, "c5")->daily.day.base == 3);
    beat_buf_fini(&b);
    act_state_fini(&st);
    act_state_fini(&back);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"rules_even_law", t_rules_even_law},
        {"zone_and_weights", t_zone_and_weights},
        {"value_and_asap", t_value_and_asap},
        {"state_roundtrip", t_state_roundtrip},
        {0},
    };
    return beat_test_main("daily", tests, argc, argv);
}
