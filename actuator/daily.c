/* Pacing by day (daily.h): converts a campaign's flight-level controller
 * input into its current local day's, by the day accounts of beat_daily.h
 * kept in counted spend. */
#include "daily.h"

#include <math.h>

/* A time of the engine's day in the controller's time base. */
static int64_t ctl_time(int64_t t_engine, int64_t engine_ms, int64_t now_ms, double rate) {
    return now_ms + (int64_t)((double)(t_engine - engine_ms) / rate);
}

/* Takes base off the spend the controller compares with (and off its
 * reference, so the change of base is not read as a negative rate). */
static void apply_base(act_daily *d, act_pacer *p, int64_t base) {
    p->last_spent -= base - d->applied;
    d->applied = base;
}

int act_daily_scope(const beat_campaign *c, act_daily *d, act_pacer *p, act_pacer_in *in,
                    int64_t engine_ms, int64_t now_ms, double rate) {
    beat_day day;
    int rc = beat_daily_roll(c, &d->day, engine_ms, in->spent_micros, 1);
    if (rc < 0 || beat_daily_day(c, engine_ms, &day) != 0) {
        apply_base(d, p, 0);
        return 0;
    }
    if (rc > 0) {
        p->capped = false; /* asap: a new day, a new stop */
        /* The last day's landing cut the multiplier to stop on its budget:
         * the new day starts where that day cruised (the integrator with
         * it: bumpless), not a window's worth of catching up below it. */
        if (p->cruise > 0) {
            p->multiplier = p->cruise;
            p->integ = log(p->cruise);
            p->err = 0.0;
        }
    }
    if (!(rate > 0)) rate = 1.0;
    int64_t budget = beat_daily_budget(c, &d->day, 1);
    int64_t life = in->budget_micros - d->day.base;
    if (budget > life) budget = life;
    if (budget < 1) budget = 1; /* nothing left: the hard stop holds */
    apply_base(d, p, d->day.base);
    in->spent_micros -= d->day.base;
    in->budget_micros = budget;
    in->start_ms = ctl_time(day.start_ms, engine_ms, now_ms, rate);
    in->end_ms = ctl_time(day.end_ms, engine_ms, now_ms, rate);
    in->day_start_ms = day.day_start_ms; /* engine time: the plan reads hours in it */
    in->day_len_ms = day.day_end_ms - day.day_start_ms;
    return 1;
}
