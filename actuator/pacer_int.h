/* Shared by pacer.c and pacer_value.c only: the value law's learning and
 * control steps, called from act_pacer_step, which owns the measurement,
 * the hard stop and the resume for every mode. */
#ifndef ACT_PACER_INT_H
#define ACT_PACER_INT_H

#include "pacer.h"

static inline double act_clampd(double x, double lo, double hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

/* The in-flight spend at the smoothed rate: act_pacer_inflight takes the
 * larger of it and the fast one, right for a stop, biased for a forecast. */
double act_inflight_mean(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                         int64_t now_ms);
/* True when in has a schedule (pacer.h). */
static inline bool act_has_sched(const act_pacer_in *in) { return in->sched && in->sched->on; }
/* Seconds of open time (all of it without a schedule) between two wall
 * times; the schedule is read on engine time (beat_clock.h). */
double act_open_s(const act_pacer_in *in, double from_ms, double to_ms);
/* Seconds of open time before the end at which the plan (and the value
 * law's need) completes: land_lags data lags, capped (pacer.c). */
double act_land_lead_s(const act_pacer_cfg *cfg, const act_pacer_in *in, int64_t now_ms);
/* The multiplier in force at t_ms (the oldest remembered one before the
 * history; the current one when nothing is remembered). */
double act_lam_at(const act_pacer *p, double t_ms);
/* Sets the value-mode fields of a fresh controller. */
void act_value_init(act_pacer *p);
/* Remembers the multiplier in force since since_ms (the previous step). */
void act_value_remember(act_pacer *p, int64_t since_ms);
/* Folds dt_s seconds of data (spend and opps deltas) into the value
 * estimates; learn: the data covers bidding time (else only the
 * references move, a pause is not a dry market). */
void act_value_learn(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in, double dt_s,
                     double spend, double opps, bool learn);
/* One value-law step: sets p->multiplier (and p->forecast). dt_s > 0;
 * lead_s the day's landing lead (act_land_lead_s, 0 outside a day). */
void act_value_step(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in, int64_t now_ms,
                    double dt_s, double lead_s);

#endif
