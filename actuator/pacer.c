/* Pacing controller: turns (budget, flight, spend so far, time) into a bid
 * multiplier and a paused flag per campaign. Called by main.c once per tick
 * for every campaign of the current set. Pure: time is passed in, nothing
 * here reads a clock, allocates or does I/O (pacer_test.c relies on it).
 *
 * The law (a proportional plan tracker around a multiplicative integral
 * rate loop; the PID issue replaces the outer term):
 *   plan_rate  = budget / (end − start)                       micros/s
 *   planned(t) = budget × (t − start)/(end − start)
 *   target     = plan_rate + (planned − spent) / H,  H = catchup_frac × flight
 *                clamped to [0, max_catchup × plan_rate]
 *                (the P term: a deviation from plan is worked off over H)
 *   rate       = EWMA of the observed spend rate, time constant rate_tau_s
 *   multiplier ← multiplier × (target / rate)^(min(1, gain × dt))
 *                with the per-step factor bounded to [step_down^dt, step_up^dt]
 *                and the result clamped to [min_mult, max_mult].
 * Spend rate is roughly proportional to the multiplier, so the inner loop
 * drives the observed rate onto the target (integral action in log space:
 * no steady-state error whatever the traffic level), and the outer term
 * makes cumulative spend converge onto the plan. Rises are bounded more
 * tightly than falls: budget safety beats revenue. No measured spend yet
 * (rate unknown or zero) counts as "too slow" and raises at step_up, but
 * not above blind_max (anti-windup while there is no traffic).
 * paused = operator pause, now < start, now ≥ end, or spent ≥ budget ×
 * (1 − stop_margin). While paused the multiplier is frozen (anti-windup). */
#include "pacer.h"

#include <math.h>

void act_pacer_cfg_default(act_pacer_cfg *c) {
    c->gain = 0.15;
    c->min_mult = 0.05;
    c->max_mult = 10.0;
    c->stop_margin = 0.005;
    c->rate_tau_s = 3.0;
    c->catchup_frac = 0.05;
    c->max_catchup = 4.0;
    c->step_down = 0.5;
    c->step_up = 1.2;
    c->blind_max = 2.0;
}

void act_pacer_init(act_pacer *p) {
    p->multiplier = 1.0;
    p->rate = -1.0;
    p->last_ms = 0;
    p->last_spent = 0;
    p->paused = false;
}

double act_pacer_planned(const act_pacer_in *in, int64_t now_ms) {
    if (in->end_ms <= in->start_ms || now_ms <= in->start_ms) return 0.0;
    if (now_ms >= in->end_ms) return (double)in->budget_micros;
    return (double)in->budget_micros * (double)(now_ms - in->start_ms) /
           (double)(in->end_ms - in->start_ms);
}

bool act_pacer_should_pause(const act_pacer_cfg *cfg, const act_pacer_in *in,
                            int64_t now_ms) {
    if (in->op_paused || in->end_ms <= in->start_ms) return true;
    if (now_ms < in->start_ms || now_ms >= in->end_ms) return true;
    return (double)in->spent_micros >=
           (double)in->budget_micros * (1.0 - cfg->stop_margin);
}

static double clampd(double x, double lo, double hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

void act_pacer_step(const act_pacer_cfg *cfg, act_pacer *p,
                    const act_pacer_in *in, int64_t now_ms) {
    double dt = p->last_ms > 0 ? (double)(now_ms - p->last_ms) / 1000.0 : 0.0;
    if (dt > 0) {
        /* Spend only grows; a smaller figure (restore from an older state)
         * is not a negative rate. */
        double delta = (double)(in->spent_micros - p->last_spent);
        double inst = delta > 0 ? delta / dt : 0.0;
        if (p->rate < 0) p->rate = inst;
        else p->rate += (1.0 - exp(-dt / cfg->rate_tau_s)) * (inst - p->rate);
    }
    /* After a clock step backwards (or a restored state stamped in the
     * future) the reference restarts here: one step without an update. */
    p->last_ms = now_ms;
    p->last_spent = in->spent_micros;
    p->paused = act_pacer_should_pause(cfg, in, now_ms);
    if (!isfinite(p->multiplier)) p->multiplier = 1.0;
    if (p->paused || dt <= 0) {
        p->multiplier = clampd(p->multiplier, cfg->min_mult, cfg->max_mult);
        return;
    }

    double flight_s = (double)(in->end_ms - in->start_ms) / 1000.0;
    double plan_rate = (double)in->budget_micros / flight_s;
    double horizon_s = cfg->catchup_frac * flight_s;
    if (horizon_s < dt) horizon_s = dt;
    double err = act_pacer_planned(in, now_ms) - (double)in->spent_micros;
    double target = clampd(plan_rate + err / horizon_s, 0.0,
                           cfg->max_catchup * plan_rate);

    /* After a long gap (restart, stall) act as if one short step passed:
     * one stale measurement must not swing the multiplier end to end. */
    double dt_ctl = fmin(dt, 5.0);
    double lo = pow(cfg->step_down, dt_ctl), hi = pow(cfg->step_up, dt_ctl);
    double factor;
    if (p->rate <= 0) factor = target > 0 ? hi : 1.0;
    else if (target <= 0) factor = lo;
    else factor = pow(target / p->rate, fmin(1.0, cfg->gain * dt_ctl));
    factor = clampd(factor, lo, hi);
    double mult = p->multiplier * factor;
    /* Blind (nothing spent at all: no traffic, no model yet, or bids too
     * low to win) we raise only up to blind_max: the first traffic must not
     * meet a multiplier wound up to the maximum. */
    if (p->rate <= 0 && mult > fmax(p->multiplier, cfg->blind_max))
        mult = fmax(p->multiplier, cfg->blind_max);
    p->multiplier = clampd(mult, cfg->min_mult, cfg->max_mult);
}
