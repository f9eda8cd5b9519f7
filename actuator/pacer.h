/* The actuator's pacing controller: pure functions of (config, controller
 * state, campaign budget/flight/spend, now). No clocks, no I/O, no globals,
 * so pacer_test.c can drive it through simulated flights tick by tick.
 * The control law is described in pacer.c. */
#ifndef ACT_PACER_H
#define ACT_PACER_H

#include <stdbool.h>
#include <stdint.h>

#define ACT_PACER_HOURS 24

typedef struct act_pacer_cfg {
    double kp;            /* proportional gain on the log rate error */
    double ki;            /* 1/s: integral gain on the log rate error */
    double kd;            /* s: derivative gain on the (filtered) log rate error */
    double min_mult, max_mult;
    double stop_margin;   /* hard stop at spent + in flight >= budget × (1 − margin) */
    double inflight_s;    /* spend in flight ≈ recent spend rate × this when
                             the age of the aggregates is unknown */
    double transit_s;     /* ...else × (age of the newest closed bucket +
                             this: notice delay and Kafka transit) */
    double lookahead_s;   /* hard stop only: spend until the next chance to
                             stop (one tick; set from --tick-ms) */
    double max_age_s;     /* an age above this (a datastream down) counts as
                             this much: a dead peer must not pause everything */
    double rate_tau_s;    /* time constant of the smoothed spend rate */
    double fast_tau_s;    /* ...of the fast one the stop uses (reacts to a
                             surge within a bucket or two, but one noisy
                             bucket of a small campaign does not stop it) */
    double smooth_tau_s;  /* time constant of the multiplier smoothing */
    double catchup_frac;  /* plan deviations are corrected over this fraction
                             of the flight (never past its end) */
    double min_horizon_s; /* ...but never over less than this */
    double end_horizon_s; /* near the flight's end: never less than this */
    double aim_margin;    /* track planned × (1 − this): land just under budget */
    double max_catchup;   /* target rate is at most this × the mean plan rate */
    double step_down, step_up; /* bounds of the multiplier factor per second */
    double blind_max;     /* highest multiplier reached while nothing is spent */
    /* Planned spend curve: relative weight of each hour (all ≥ 0, sum > 0),
     * n_weights 0 = uniform. A flight of a day or more follows the hours of
     * the UTC day; a shorter flight has the 24 weights stretched over it. */
    double weights[ACT_PACER_HOURS];
    int n_weights;
} act_pacer_cfg;

/* Per-campaign controller state (what the actuator persists in "private"). */
typedef struct act_pacer {
    double multiplier;  /* the smoothed output */
    double integ;       /* integral term = ln of the multiplier at zero error */
    double err;         /* filtered log rate error (for the D term) */
    double rate;        /* smoothed spend rate while bidding (micros/s), what
                           the market gives at this multiplier; frozen while
                           paused; < 0 = not measured */
    double flow;        /* smoothed spend rate as counted, paused or not: the
                           in-flight estimate; < 0 = not measured */
    double inst;        /* last instantaneous spend rate (micros/s) */
    double fast;        /* EWMA of inst over fast_tau_s; < 0 = not measured */
    int64_t paused_ms;  /* when the current pause began (0 = bidding) */
    int64_t bid_since_ms; /* when bidding last resumed (0 = not bidding) */
    int64_t last_ms;    /* time of the previous step; 0 = never stepped */
    int64_t last_spent; /* spend at the previous step */
    int64_t last_data_ms; /* data time (newest bucket end) at the previous step */
    bool paused;
    bool has_integ;     /* integ is valid (else it starts at ln multiplier) */
} act_pacer;

/* What the controller knows about the campaign at this step. */
typedef struct act_pacer_in {
    int64_t start_ms, end_ms, budget_micros, spent_micros;
    int64_t data_ms; /* spent_micros covers spend up to this time (end of
                        the newest closed bucket pulled); 0 = unknown (the
                        rate is measured over wall time); < 0 = no
                        aggregates at all yet (the controller holds) */
    bool op_paused; /* paused by the campaign operator */
} act_pacer_in;

void act_pacer_cfg_default(act_pacer_cfg *c);
/* Parses "w0,w1,...,w23" (24 numbers ≥ 0, sum > 0) into c; "" = uniform.
 * -EINVAL (c untouched) otherwise. */
int act_pacer_set_weights(act_pacer_cfg *c, const char *spec);
void act_pacer_init(act_pacer *p);
/* Planned cumulative spend at now (micros), along the weighted curve,
 * 0 before start and budget from end on. */
double act_pacer_planned(const act_pacer_cfg *cfg, const act_pacer_in *in,
                         int64_t now_ms);
/* Spend believed in flight: won or about to be counted, not yet in
 * spent_micros. */
double act_pacer_inflight(const act_pacer_cfg *cfg, const act_pacer *p,
                          const act_pacer_in *in, int64_t now_ms);
/* Whether the campaign must not bid at now (operator pause, out of flight,
 * or spent + in flight at the hard stop). */
bool act_pacer_should_pause(const act_pacer_cfg *cfg, const act_pacer *p,
                            const act_pacer_in *in, int64_t now_ms);
/* One controller step at now (normally once per tick). */
void act_pacer_step(const act_pacer_cfg *cfg, act_pacer *p,
                    const act_pacer_in *in, int64_t now_ms);

#endif
