/* Shared by pacer.c and pacer_value.c only: the value law's learning and
 * control steps, called from act_pacer_step, which owns the measurement,
 * the hard stop and the resume for every mode. */
#ifndef ACT_PACER_INT_H
#define ACT_PACER_INT_H

#include "pacer.h"

static inline double act_clampd(double x, double lo, double hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

/* Sets the value-mode fields of a fresh controller. */
void act_value_init(act_pacer *p);
/* Folds dt_s seconds of data (spend and opps deltas) into the value
 * estimates; learn: the data covers bidding time (else only the
 * references move, a pause is not a dry market). */
void act_value_learn(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in,
                     double dt_s, double spend, double opps, bool learn);
/* One value-law step: sets p->multiplier (and p->forecast). dt_s > 0. */
void act_value_step(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in,
                    int64_t now_ms, double dt_s);

#endif
