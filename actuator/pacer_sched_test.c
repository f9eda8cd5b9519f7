/* Pacing a dayparted campaign (pacer.c, pacer_value.c with a schedule) on
 * a simulated engine clock: three engine days (Monday to Wednesday, open
 * 09-17 in New York) played at rate 720, i.e. a six-minute flight of one-
 * second ticks. The market spends only while the campaign is open (closed,
 * inference does not bid). Checks: nothing is planned in closed hours, each
 * open day carries a third of the budget, the multiplier holds while
 * closed, and both laws land the budget by the flight's end. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "beat_clock.h"
#include "beat_test.h"
#include "pacer.h"

#define T0 1700000000000LL   /* wall ms at the engine's E0 */
#define E0 1767589200000LL   /* Monday 2026-01-05 00:00 EST (05:00 UTC) */
#define RATE 720             /* engine ms per wall ms */
#define DAY_WALL_MS 120000LL /* one engine day */
#define HOUR_WALL_MS 5000LL  /* one engine hour */
#define BUDGET 36000000LL
#define LAG 2

typedef struct run {
    act_pacer_cfg cfg;
    act_pacer p;
    act_pacer_in in;
    beat_sched sched;
    int64_t t_ms;
    double spent_true, pipe[LAG], base;
    double closed_planned_rise, held_jump;
    uint64_t rng;
} run;

static bool open_at(const run *r, int64_t wall_ms) {
    return beat_sched_open(&r->sched, r->in.tz, beat_engine_of_wall_ms(wall_ms));
}

static int run_init(run *r, beat_pacing mode) {
    memset(r, 0, sizeof *r);
    char spec[64];
    snprintf(spec, sizeof spec, "%lld:%lld:%d", T0, E0, RATE);
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_clock_configure(spec, &why), 0);
    act_pacer_cfg_default(&r->cfg);
    r->cfg.transit_s = 0;
    act_pacer_init(&r->p);
    r->sched.on = true;
    for (int d = 1; d <= 5; d++) r->sched.hours[d] = 0x1fe00u; /* 09..16 */
    r->in.tz = beat_tz_get("America/New_York", &why);
    CHECK(r->in.tz != NULL);
    r->in.sched = &r->sched;
    /* The flight in engine time, handed over as wall times (main.c). */
    r->in.start_ms = beat_wall_of_engine_ms(E0);
    r->in.end_ms = beat_wall_of_engine_ms(E0 + 3 * 86400000LL);
    CHECK(r->in.start_ms == T0 && r->in.end_ms == T0 + 3 * DAY_WALL_MS);
    r->in.budget_micros = BUDGET;
    r->in.mode = mode;
    r->base = (double)BUDGET / (3 * 8 * HOUR_WALL_MS / 1000.0); /* per open second */
    r->t_ms = T0;
    r->rng = 7;
    return 0;
}

/* One wall second: the market spends at the multiplier while open (at
 * about 1.6× the plan at m = 1), the controller steps on lagged data. */
static void tick(run *r) {
    int64_t t0 = r->t_ms;
    r->t_ms += 1000;
    r->rng = r->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    double noise = 0.8 + 0.4 * (double)(r->rng >> 11) / 9007199254740992.0;
    double spend = 0;
    bool open = open_at(r, t0) && open_at(r, r->t_ms - 1);
    if (!r->p.paused && open && r->t_ms <= r->in.end_ms)
        spend = 1.6 * r->base * pow(fmin(r->p.multiplier, 6.0), 1.3) * noise;
    memmove(r->pipe + 1, r->pipe, (LAG - 1) * sizeof(double));
    r->pipe[0] = spend;
    r->spent_true += spend;
    double seen = r->spent_true;
    for (int k = 0; k < LAG; k++) seen -= r->pipe[k];
    r->in.spent_micros = (int64_t)seen;
    r->in.opps += open ? 1000 : 0;
    r->in.data_ms = r->t_ms - LAG * 1000LL;
    double m0 = r->p.multiplier;
    bool paused0 = r->p.paused;
    act_pacer_step(&r->cfg, &r->p, &r->in, r->t_ms);
    if (!open_at(r, t0) && !open_at(r, r->t_ms)) {
        double rise =
            act_pacer_planned(&r->cfg, &r->in, r->t_ms) - act_pacer_planned(&r->cfg, &r->in, t0);
        if (rise > r->closed_planned_rise) r->closed_planned_rise = rise;
        /* (a budget-stopped campaign may still resume at a scaled-down
         * multiplier: not a control step) */
        double j = paused0 || r->p.paused ? 0.0 : fabs(log(r->p.multiplier / m0));
        if (j > r->held_jump) r->held_jump = j;
    }
}

static int land(beat_pacing mode, const char *name, double util_min) {
    run r;
    if (run_init(&r, mode)) return 1;
    /* The plan: nothing before Monday 09:00, a third of the budget by each
     * open day's 17:00, flat overnight. */
    const act_pacer_cfg *c = &r.cfg;
    CHECK(act_pacer_planned(c, &r.in, T0 + 9 * HOUR_WALL_MS) == 0);
    for (int d = 0; d < 3; d++) {
        int64_t close = T0 + d * DAY_WALL_MS + 17 * HOUR_WALL_MS;
        CHECK(fabs(act_pacer_planned(c, &r.in, close) - BUDGET * (d + 1) / 3.0) < 1.0);
        CHECK(fabs(act_pacer_planned(c, &r.in, close + 15 * HOUR_WALL_MS) -
                   BUDGET * (d + 1) / 3.0) < 1.0);
        /* mid-day: half the day's share */
        CHECK(fabs(act_pacer_planned(c, &r.in, close - 4 * HOUR_WALL_MS) -
                   BUDGET * (d + 0.5) / 3.0) < 1.0);
    }
    while (r.t_ms < r.in.end_ms + 10000) tick(&r);
    double util = r.spent_true / (double)BUDGET;
    fprintf(stderr, "  %-22s util=%.4f closed_plan_rise=%.3f held=%.3f\n", name, util,
            r.closed_planned_rise, r.held_jump);
    CHECK(r.closed_planned_rise == 0.0);
    CHECK(r.held_jump == 0.0); /* the multiplier holds through the night */
    CHECK(util >= util_min);
    CHECK(util <= 1.005);
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_clock_configure(NULL, &why), 0);
    return 0;
}

static int test_even_lands_over_open_hours(void) {
    return land(BEAT_PACING_EVEN, "even, 3 days 09-17", 0.99);
}
static int test_value_lands_over_open_hours(void) {
    return land(BEAT_PACING_VALUE, "value, 3 days 09-17", 0.98);
}

/* With weights, open hours weigh their UTC hour's weight; closed ones
 * nothing, whatever their weight. */
static int test_weights_combine(void) {
    run r;
    if (run_init(&r, BEAT_PACING_EVEN)) return 1;
    char w[200] = "";
    for (int h = 0; h < 24; h++)
        strcat(w, h == 0 ? (h == 14 ? "3" : "1") : (h == 14 ? ",3" : ",1"));
    CHECK(act_pacer_set_weights(&r.cfg, w) == 0);
    /* Monday 09:00-17:00 EST = 14:00-22:00 UTC: weights 3 + 7 × 1 = 10 per
     * day; by 10:00 EST (15:00 UTC) the plan holds 3/30 of the budget. */
    CHECK(fabs(act_pacer_planned(&r.cfg, &r.in, T0 + 10 * HOUR_WALL_MS) - BUDGET * 3.0 / 30.0) <
          1.0);
    CHECK(fabs(act_pacer_planned(&r.cfg, &r.in, T0 + 17 * HOUR_WALL_MS) - BUDGET / 3.0) < 1.0);
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_clock_configure(NULL, &why), 0);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"even_lands_over_open_hours", test_even_lands_over_open_hours},
        {"value_lands_over_open_hours", test_value_lands_over_open_hours},
        {"weights_combine", test_weights_combine},
        {0},
    };
    return beat_test_main("pacer_sched", tests, argc, argv);
}
