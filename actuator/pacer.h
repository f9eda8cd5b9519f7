/* The actuator's pacing controller: pure functions of (config, controller
 * state, campaign budget/flight/spend, now). No clocks, no I/O, no globals,
 * so pacer_test.c can drive it through simulated flights tick by tick.
 * The control law is described in pacer.c. */
#ifndef ACT_PACER_H
#define ACT_PACER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct act_pacer_cfg {
    double gain;          /* 1/s: how fast ln(multiplier) follows the rate error */
    double min_mult, max_mult;
    double stop_margin;   /* pause at spent >= budget * (1 - stop_margin) */
    double rate_tau_s;    /* time constant of the smoothed spend rate */
    double catchup_frac;  /* plan deviations are corrected over this fraction
                             of the flight */
    double max_catchup;   /* target rate is at most this × the plan rate */
    double step_down, step_up; /* bounds of the multiplier factor per second */
    double blind_max;     /* highest multiplier reached while nothing is spent */
} act_pacer_cfg;

/* Per-campaign controller state (what the actuator persists in "private"). */
typedef struct act_pacer {
    double multiplier;
    double rate;        /* smoothed spend rate in micros/s; < 0 = not measured */
    int64_t last_ms;    /* time of the previous step; 0 = never stepped */
    int64_t last_spent; /* spend at the previous step */
    bool paused;
} act_pacer;

/* What the controller knows about the campaign at this step. */
typedef struct act_pacer_in {
    int64_t start_ms, end_ms, budget_micros, spent_micros;
    bool op_paused; /* paused by the campaign operator */
} act_pacer_in;

void act_pacer_cfg_default(act_pacer_cfg *c);
void act_pacer_init(act_pacer *p);
/* Planned cumulative spend at now: budget × (now − start)/(end − start),
 * clamped to [0, budget]. */
double act_pacer_planned(const act_pacer_in *in, int64_t now_ms);
/* Whether the campaign must not bid at now (budget used up, out of flight,
 * operator pause). */
bool act_pacer_should_pause(const act_pacer_cfg *cfg, const act_pacer_in *in,
                            int64_t now_ms);
/* One controller step at now (normally once per tick). */
void act_pacer_step(const act_pacer_cfg *cfg, act_pacer *p,
                    const act_pacer_in *in, int64_t now_ms);

#endif
