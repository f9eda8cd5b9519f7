/* Landing each day of a daily budget under a simulated clock (daily.c and
 * the landing lead of pacer.c): three UTC days at rate 1000 (a day in 86.4
 * wall seconds), ticks of 250 ms, aggregates 1 s late — the demo's pace,
 * where a second of pipeline lag is more than 1% of a day. The market thins
 * in each day's last fifth (users reach their frequency caps), and bids
 * stop rising at a max bid. With the lead every day lands within 2% of its
 * budget and never over it by more than 1%; the same market without it
 * lands days further short; a new day starts from the multiplier the last
 * one cruised at, not from its landing's cut. Measured: 98.2–98.5% with the
 * lead; 97.6–97.7% without on days 2 and 3 (day 1, which starts at
 * multiplier 1, 98.7%); the last 1.5% is what the hard stop's pessimistic
 * in-flight estimate keeps back a lag before the end (docs/demo.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_clock.h"
#include "beat_test.h"
#include "daily.h"

#define T0 1700000000000LL /* wall ms at the engine's E0 */
#define E0 1767225600000LL /* 2026-01-01T00:00Z */
#define RATE 1000          /* engine ms per wall ms */
#define DAY_E 86400000LL   /* a day, engine ms */
#define TICK_MS 250        /* wall */
#define LAG 4              /* ticks: the aggregates are 1 s late */
#define D 50000000LL       /* daily budget: $50 */
#define DAYS 3

typedef struct sim {
    act_pacer_cfg cfg;
    act_pacer p;
    act_daily d;
    beat_campaign c;
    int64_t t; /* wall ms */
    double spent_true, pipe[LAG], base;
    uint64_t rng;
    double spend[DAYS];
    double cruise_end[DAYS], start_mult[DAYS]; /* before each midnight, just after it */
} sim;

static double noise(sim *s) {
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return 0.6 + 0.8 * (double)(s->rng >> 11) / 9007199254740992.0;
}

static int day_of(int64_t engine_ms) {
    int64_t k = (engine_ms - E0) / DAY_E;
    return engine_ms >= E0 && k < DAYS ? (int)k : -1;
}

/* The market: at m = 1 it spends 1.2× the day's mean plan rate over the
 * first 80% of a local day, a quarter of that after (capped users); spend
 * ∝ min(m, 4)^1.3 with ±40% noise. */
static void tick(sim *s) {
    int64_t t0 = s->t;
    s->t += TICK_MS;
    int64_t e = beat_engine_of_wall_ms(t0);
    double in_day = (double)((e - E0) % DAY_E) / (double)DAY_E;
    double supply = in_day < 0.8 ? 1.0 : 0.25;
    double spend = 0;
    if (!s->p.paused && day_of(e) >= 0)
        spend = supply * s->base * pow(fmin(s->p.multiplier, 4.0), 1.3) * noise(s);
    memmove(s->pipe + 1, s->pipe, (LAG - 1) * sizeof(double));
    s->pipe[0] = spend;
    s->spent_true += spend;
    if (day_of(e) >= 0) s->spend[day_of(e)] += spend;
    double seen = s->spent_true;
    for (int k = 0; k < LAG; k++) seen -= s->pipe[k];
    act_pacer_in in = {.start_ms = s->c.start_ms,
                       .end_ms = s->c.end_ms,
                       .budget_micros = s->c.budget_micros,
                       .spent_micros = (int64_t)seen,
                       .data_ms = s->t - LAG * TICK_MS,
                       .mode = BEAT_PACING_EVEN};
    int64_t en = beat_engine_of_wall_ms(s->t);
    int k = day_of(en);
    if (k > 0 && day_of(beat_engine_of_wall_ms(t0)) == k - 1) s->cruise_end[k - 1] = s->p.cruise;
    act_daily_scope(&s->c, &s->d, &s->p, &in, en, s->t, RATE);
    if (k > 0 && day_of(beat_engine_of_wall_ms(t0)) == k - 1) s->start_mult[k] = s->p.multiplier;
    act_pacer_step(&s->cfg, &s->p, &in, s->t);
}

static int run(sim *s, double land_lags) {
    memset(s, 0, sizeof *s);
    char spec[64];
    snprintf(spec, sizeof spec, "%lld:%lld:%d", T0, E0, RATE);
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_clock_configure(spec, &why), 0);
    act_pacer_cfg_default(&s->cfg);
    s->cfg.transit_s = 0.25;
    s->cfg.lookahead_s = TICK_MS / 1000.0;
    s->cfg.land_lags = land_lags;
    act_pacer_init(&s->p);
    snprintf(s->c.id, sizeof s->c.id, "c1");
    s->c.start_ms = E0;
    s->c.end_ms = E0 + DAYS * DAY_E;
    s->c.budget_micros = DAYS * D;
    s->c.daily_budget_micros = D;
    s->c.rollover = BEAT_ROLLOVER_NONE;
    /* Per tick at m = 1: 1.2× the mean plan rate (86.4 wall s a day). */
    s->base = 1.2 * (double)D / (DAY_E / RATE / TICK_MS);
    s->rng = 11;
    s->t = T0 - 1000;
    while (beat_engine_of_wall_ms(s->t) < s->c.end_ms + DAY_E / 20) tick(s);
    return 0;
}

static void show(const sim *s, const char *name) {
    fprintf(stderr, "  %-12s", name);
    for (int i = 0; i < DAYS; i++) fprintf(stderr, " day%d %.4f", i + 1, s->spend[i] / (double)D);
    fprintf(stderr, " | new day from %.2f %.2f (cruised %.2f %.2f)\n", s->start_mult[1],
            s->start_mult[2], s->cruise_end[0], s->cruise_end[1]);
}

static int t_days_land(void) {
    sim *s = calloc(1, sizeof *s), *z = calloc(1, sizeof *z);
    CHECK(s && z);
    CHECK_EQ_INT(run(s, 3.0), 0);
    show(s, "lead 3 lags");
    CHECK_EQ_INT(run(z, 0.0), 0);
    show(z, "no lead");
    int shorter = 0;
    for (int i = 0; i < DAYS; i++) {
        CHECK(s->spend[i] >= 0.98 * D && s->spend[i] <= 1.01 * D);
        CHECK(z->spend[i] <= 1.01 * D);
        if (z->spend[i] < s->spend[i] - 0.003 * D) shorter++;
    }
    CHECK(shorter >= 2); /* without the lead the thinning end of a day is lost */
    /* Each new day starts where the last cruised (set before its landing). */
    for (int i = 1; i < DAYS; i++) {
        CHECK(s->cruise_end[i - 1] > 0);
        CHECK(fabs(s->start_mult[i] - s->cruise_end[i - 1]) < 1e-9);
    }
    free(s);
    free(z);
    return 0;
}

static const beat_test_case tests[] = {
    {"days_land", t_days_land},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("daily_land", tests, argc, argv); }
