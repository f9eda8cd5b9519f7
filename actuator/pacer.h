/* The actuator's pacing controller: pure functions of (config, controller
 * state, campaign budget/flight/spend, now). No clocks, no I/O, no globals,
 * so pacer_test.c can drive it through simulated flights tick by tick.
 * The control law is described in pacer.c. */
#ifndef ACT_PACER_H
#define ACT_PACER_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_campaign.h" /* beat_pacing */

#define ACT_PACER_HOURS 24
#define ACT_PACER_HIST 16

typedef struct act_pacer_cfg {
    double kp; /* proportional gain on the log rate error */
    double ki; /* 1/s: integral gain on the log rate error */
    double kd; /* s: derivative gain on the (filtered) log rate error */
    double min_mult, max_mult;
    double stop_margin;        /* hard stop at spent + in flight >= budget × (1 − margin) */
    double inflight_s;         /* spend in flight ≈ recent spend rate × this when
                             the age of the aggregates is unknown */
    double transit_s;          /* ...else × (age of the newest closed bucket +
                             this: notice delay and Kafka transit) */
    double lookahead_s;        /* hard stop only: spend until the next chance to
                             stop (one tick; set from --tick-ms) */
    double max_age_s;          /* an age above this (a datastream down) counts as
                             this much: a dead peer must not pause everything */
    double rate_tau_s;         /* time constant of the smoothed spend rate */
    double fast_tau_s;         /* ...of the fast one the stop uses (reacts to a
                             surge within a bucket or two, but one noisy
                             bucket of a small campaign does not stop it) */
    double smooth_tau_s;       /* time constant of the multiplier smoothing */
    double catchup_frac;       /* plan deviations are corrected over this fraction
                             of the flight (never past its end) */
    double min_horizon_s;      /* ...but never over less than this */
    double end_horizon_s;      /* near the flight's end: never less than this */
    double aim_margin;         /* track planned × (1 − this): land just under budget */
    double land_lags;          /* the plan completes this many data lags (age of the
                             aggregates + transit) before the flight's last open
                             second: a shortfall seen late still has time to be
                             bought, and the hard stop holds what runs ahead */
    double land_max_frac;      /* ...but at most this fraction of the open flight early */
    double max_catchup;        /* target rate is at most this × the mean plan rate */
    double step_down, step_up; /* bounds of the multiplier factor per second */
    double blind_max;          /* highest multiplier reached while nothing is spent */
    /* Value mode (pacer_value.c). Every time constant is a fraction of the
     * flight with a floor in seconds: the demo's flights last minutes,
     * production ones days. */
    double eff_frac, eff_min_s;     /* smoothing of spend per opportunity */
    double value_frac, value_min_s; /* λ moves toward its target over this */
    double value_end_frac;          /* ...at most this × the time left */
    double warmup;                  /* ...and this × the seconds of data seen so far */
    double guard_frac;              /* the recent spend rate may use what is left over
                             no less than this fraction of the flight */
    double surge_cap;               /* an interval's opps count in the supply forecast
                             at most this × the mean rate so far */
    double persist_frac;            /* the recent supply rate is expected to last
                             about this fraction of the flight */
    double value_gamma;             /* elasticity of spend to λ: spend ∝ λ^γ (a constant
                             until a per-campaign estimate is wired in) */
    /* Planned spend curve: relative weight of each hour (all ≥ 0, sum > 0),
     * n_weights 0 = uniform. A flight of a day or more follows the hours of
     * the UTC day; a shorter flight has the 24 weights stretched over it. */
    double weights[ACT_PACER_HOURS];
    int n_weights;
} act_pacer_cfg;

/* Per-campaign controller state (what the actuator persists in "private"). */
typedef struct act_pacer {
    double multiplier;    /* the smoothed output */
    double integ;         /* integral term = ln of the multiplier at zero error */
    double err;           /* filtered log rate error (for the D term) */
    double rate;          /* smoothed spend rate while bidding (micros/s), what
                           the market gives at this multiplier; frozen while
                           paused; < 0 = not measured */
    double flow;          /* smoothed spend rate as counted, paused or not: the
                           in-flight estimate; < 0 = not measured */
    double inst;          /* last instantaneous spend rate (micros/s) */
    double fast;          /* EWMA of inst over fast_tau_s; < 0 = not measured */
    int64_t paused_ms;    /* when the current pause began (0 = bidding) */
    int64_t bid_since_ms; /* when bidding last resumed (0 = not bidding) */
    int64_t last_ms;      /* time of the previous step; 0 = never stepped */
    int64_t last_spent;   /* spend at the previous step */
    int64_t last_data_ms; /* data time (newest bucket end) at the previous step */
    bool paused;
    bool has_integ; /* integ is valid (else it starts at ln multiplier) */
    bool capped;    /* asap: the budget stop has been hit; the multiplier
                           a scaled resume chose stands (1 would burst) */
    /* Value mode: what the aggregates say about supply and its price. All
     * measured over data time while bidding; persisted. */
    int64_t last_opps;              /* opportunities at the previous step */
    double v_obs_s;                 /* in-flight seconds of data seen while bidding */
    double v_opps;                  /* opportunities counted over those seconds */
    double v_spend_avg, v_opps_avg; /* EWMAs (per second) of spend and opps:
                                       their ratio is the spend per opp at the
                                       λ in v_loglam; < 0 = not measured */
    double v_loglam;                /* EWMA of ln λ over the same time constant */
    /* The multipliers of the last ticks, oldest first: the spend in the
     * aggregates was bought at the one in force at data time, not now. */
    double lam_hist[ACT_PACER_HIST];
    int64_t lam_hist_ms[ACT_PACER_HIST]; /* in force from this time on */
    int n_hist;
    double cruise;   /* the multiplier before the current day's end game,
                           where the landing cuts it: the next day starts
                           from it (daily.c); 0 = none yet */
    double forecast; /* value law's last forecast of the flight's total
                           spend at the current λ (micros; < 0 = none) */
} act_pacer;

/* What the controller knows about the campaign at this step. */
typedef struct act_pacer_in {
    int64_t start_ms, end_ms, budget_micros, spent_micros;
    int64_t data_ms;  /* spent_micros covers spend up to this time (end of
                        the newest closed bucket pulled); 0 = unknown (the
                        rate is measured over wall time); < 0 = no
                        aggregates at all yet (the controller holds) */
    bool op_paused;   /* paused by the campaign operator */
    int64_t opps;     /* opportunities counted from the aggregates, cumulative
                       like spent_micros (0 = inference counts none) */
    beat_pacing mode; /* DEFAULT is EVEN here (state.c resolves the default) */
    /* The campaign's schedule in its zone (NULL or !on: open at every
     * hour): the plan and the supply forecast count open time only, and
     * the controller neither learns nor moves while it is closed. */
    const beat_sched *sched;
    const beat_tz *tz;
    /* A daily budget (daily.c): [start_ms, end_ms) is (part of) one local
     * day, which runs from day_start_ms for day_len_ms (engine time, like
     * the plan's hours); the hourly weights follow its local hours.
     * day_len_ms 0: no day (the flight's plan). */
    int64_t day_start_ms, day_len_ms;
} act_pacer_in;

void act_pacer_cfg_default(act_pacer_cfg *c);
/* Parses "w0,w1,...,w23" (24 numbers ≥ 0, sum > 0) into c; "" = uniform.
 * -EINVAL (c untouched) otherwise. */
int act_pacer_set_weights(act_pacer_cfg *c, const char *spec);
void act_pacer_init(act_pacer *p);
/* Planned cumulative spend at now (micros), along the weighted curve
 * compressed to complete land_lags data lags before the end (the lag
 * measured at now), 0 before start and budget from then on. */
double act_pacer_planned(const act_pacer_cfg *cfg, const act_pacer_in *in, int64_t now_ms);
/* Spend believed in flight: won or about to be counted, not yet in
 * spent_micros. */
double act_pacer_inflight(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                          int64_t now_ms);
/* Whether the campaign must not bid at now (operator pause, out of flight,
 * or spent + in flight at the hard stop). */
bool act_pacer_should_pause(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                            int64_t now_ms);
/* One controller step at now (normally once per tick), by in->mode: EVEN
 * follows the plan curve (pacer.c), VALUE meets the budget from the
 * forecast supply (pacer_value.c), ASAP bids at multiplier 1. The hard stop
 * applies in every mode. */
void act_pacer_step(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in, int64_t now_ms);

#endif
