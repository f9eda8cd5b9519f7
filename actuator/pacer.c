/* Pacing controller: turns (budget, flight, spend so far, time) into a bid
 * multiplier and a paused flag per campaign. Called by main.c once per tick
 * for every campaign of the current set. Pure: time is passed in, nothing
 * here reads a clock, allocates or does I/O (pacer_test.c relies on it).
 *
 * The law:
 *   planned(t)  = budget × F(t), F the cumulative plan curve (uniform, or
 *                 the hourly weights), plan_rate(t) = budget × F'(t); a
 *                 day's F completes land_lags data lags early (the lead)
 *   committed   = spent + in flight: recent spend rate × (age of the
 *                 newest closed bucket + transit_s), i.e. wins not yet
 *                 billed and buckets not yet closed or pulled (the larger
 *                 of the smoothed and fast rates; in a day, the smoothed)
 *   rate        = EWMA of the measured spend rate over data time (bucket
 *                 ends; time constant rate_tau_s)
 *   target      = plan_rate + (planned × (1 − aim_margin) − committed) / H
 *                 H = catchup_frac × flight, at least min_horizon_s, at
 *                 most the time left (so the flight lands on its budget)
 *                 but not under end_horizon_s (no last-second sprint);
 *                 clamped to [0, max_catchup × budget/flight]
 *   e           = ln((target + ε) / (rate × m / m_d + ε)), ε = 2% of the
 *                 mean plan rate, clamped to ±3: spend is roughly a power
 *                 of the multiplier, so a log error makes the loop gain the
 *                 same at any traffic level; m_d is the multiplier in force
 *                 at data time (the one that bought rate), m the current
 *                 one: a cut made for a surge the data still shows is not
 *                 made again
 *   PID         u = I + kp·e + kd·de/dt,  I += ki·e·dt (conditional
 *                 integration: not while the output is saturated in e's
 *                 direction, nor above blind_max while nothing is spent)
 *   multiplier  = exp(u) clamped to [min_mult, max_mult]; rises smoothed in
 *                 log space (smooth_tau_s), falls at once; the per-second
 *                 factor bounded to [step_down, step_up]: falls are fast,
 *                 rises slow (budget safety beats revenue).
 * Hard stop: paused when operator-paused, outside the flight, or
 * committed + rate × lookahead_s (the spend until the next tick) ≥
 * budget × (1 − stop_margin); while paused the integrator and
 * the multiplier are frozen (anti-windup), and the stop lifts by itself if
 * the in-flight estimate was too pessimistic, but only when what is left
 * also covers the bidding until the data shows it (see should_pause).
 */
#include "pacer.h"
#include "pacer_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "beat_clock.h"

#define DAY_MS 86400000.0
#define HOUR_MS 3600000.0

void act_pacer_cfg_default(act_pacer_cfg *c) {
    c->kp = 0.35;
    c->ki = 0.2;
    c->kd = 0.0;
    c->min_mult = 0.05;
    c->max_mult = 10.0;
    c->stop_margin = 0.002;
    c->inflight_s = 2.0;
    c->transit_s = 0.5;
    c->lookahead_s = 1.0;
    c->max_age_s = 10.0;
    c->rate_tau_s = 2.0;
    c->fast_tau_s = 0.5;
    c->smooth_tau_s = 1.0;
    c->catchup_frac = 0.05;
    c->min_horizon_s = 15.0;
    c->end_horizon_s = 5.0;
    c->aim_margin = 0.0015;
    c->land_lags = 3.0;
    c->land_max_frac = 0.1;
    c->max_catchup = 4.0;
    c->step_down = 0.3;
    c->step_up = 1.5;
    c->blind_max = 2.0;
    c->eff_frac = 0.02;
    c->eff_min_s = 2.0;
    c->value_frac = 0.08;
    c->value_min_s = 4.0;
    c->value_end_frac = 0.25;
    c->warmup = 0.5;
    c->guard_frac = 0.2;
    c->surge_cap = 2.0;
    c->persist_frac = 0.05;
    c->value_gamma = 2.0;
    c->n_weights = 0;
    for (int h = 0; h < ACT_PACER_HOURS; h++) c->weights[h] = 1.0;
}

int act_pacer_set_weights(act_pacer_cfg *c, const char *spec) {
    if (!spec || !*spec) {
        c->n_weights = 0;
        return 0;
    }
    double w[ACT_PACER_HOURS], sum = 0;
    const char *s = spec;
    for (int h = 0; h < ACT_PACER_HOURS; h++) {
        char *end;
        w[h] = strtod(s, &end);
        if (end == s || !isfinite(w[h]) || w[h] < 0) return -EINVAL;
        sum += w[h];
        s = end;
        while (*s == ' ') s++;
        if (h < ACT_PACER_HOURS - 1) {
            if (*s != ',') return -EINVAL;
            s++;
        }
    }
    if (*s != '\0' || !(sum > 0)) return -EINVAL;
    for (int h = 0; h < ACT_PACER_HOURS; h++) c->weights[h] = w[h];
    c->n_weights = ACT_PACER_HOURS;
    return 0;
}

void act_pacer_init(act_pacer *p) {
    p->multiplier = 1.0;
    p->integ = 0.0;
    p->err = 0.0;
    p->rate = -1.0;
    p->cruise = 0.0;
    p->flow = -1.0;
    p->inst = 0.0;
    p->fast = -1.0;
    p->paused_ms = 0;
    p->bid_since_ms = 0;
    p->last_ms = 0;
    p->last_spent = 0;
    p->last_data_ms = 0;
    p->paused = false;
    p->has_integ = false;
    p->capped = false;
    act_value_init(p);
}

#define clampd act_clampd

/* Cumulative weight of the hours of a UTC day up to t (ms since epoch). */
static double cum_daily(const act_pacer_cfg *cfg, double t_ms, double day_sum) {
    double days = floor(t_ms / DAY_MS);
    double in_day = (t_ms - days * DAY_MS) / HOUR_MS; /* [0, 24) */
    int h = (int)in_day;
    if (h > ACT_PACER_HOURS - 1) h = ACT_PACER_HOURS - 1;
    double w = 0;
    for (int i = 0; i < h; i++) w += cfg->weights[i];
    return days * day_sum + w + (in_day - h) * cfg->weights[h];
}

/* Cumulative plan fraction F(t) in [0, 1]. The flight and t are wall
 * times; the hours of the day are engine hours (the same on the wall clock;
 * under a simulated clock the map is linear, so a plan without weights is
 * unchanged). */
static double plan_frac(const act_pacer_cfg *cfg, const act_pacer_in *in, double t_wall_ms) {
    double s = (double)beat_engine_of_wall_ms(in->start_ms);
    double e = (double)beat_engine_of_wall_ms(in->end_ms);
    double t_ms = (double)beat_engine_of_wall_ms((int64_t)t_wall_ms);
    if (e <= s || t_ms <= s) return 0.0;
    if (t_ms >= e) return 1.0;
    if (act_has_sched(in)) {
        /* Dayparting: closed time weighs nothing; open time weighs its UTC
         * hour's weight. A schedule never open in the flight: linear (it
         * cannot spend anyway). */
        const double *w = cfg->n_weights == ACT_PACER_HOURS ? cfg->weights : NULL;
        double all = beat_sched_weight(in->sched, in->tz, w, (int64_t)s, (int64_t)e);
        if (!(all > 0)) return (t_ms - s) / (e - s);
        return clampd(beat_sched_weight(in->sched, in->tz, w, (int64_t)s, (int64_t)t_ms) / all, 0,
                      1);
    }
    if (cfg->n_weights != ACT_PACER_HOURS) return (t_ms - s) / (e - s);
    double sum = 0;
    for (int i = 0; i < ACT_PACER_HOURS; i++) sum += cfg->weights[i];
    if (in->day_len_ms > 0) {
        /* One local day (a daily budget): its hours, whatever its length
         * (23-25 h across a daylight-saving change: hours stretched a bit). */
        double ds = (double)in->day_start_ms, dl = (double)in->day_len_ms;
        double w0 = cum_daily(cfg, (s - ds) / dl * DAY_MS, sum);
        double w1 = cum_daily(cfg, fmin((e - ds) / dl, 1.0) * DAY_MS, sum);
        if (!(w1 > w0)) return (t_ms - s) / (e - s);
        return clampd((cum_daily(cfg, (t_ms - ds) / dl * DAY_MS, sum) - w0) / (w1 - w0), 0, 1);
    }
    if (e - s >= DAY_MS) {
        double w0 = cum_daily(cfg, s, sum), w1 = cum_daily(cfg, e, sum);
        if (!(w1 > w0)) return (t_ms - s) / (e - s);
        return clampd((cum_daily(cfg, t_ms, sum) - w0) / (w1 - w0), 0, 1);
    }
    /* Shorter than a day: the 24 hours stretched over the flight. */
    double x = ACT_PACER_HOURS * (t_ms - s) / (e - s);
    int h = (int)x;
    if (h > ACT_PACER_HOURS - 1) h = ACT_PACER_HOURS - 1;
    double w = 0;
    for (int i = 0; i < h; i++) w += cfg->weights[i];
    return clampd((w + (x - h) * cfg->weights[h]) / sum, 0, 1);
}

double act_open_s(const act_pacer_in *in, double from_ms, double to_ms) {
    if (!(to_ms > from_ms)) return 0.0;
    if (!act_has_sched(in)) return (to_ms - from_ms) / 1000.0;
    int64_t a = beat_engine_of_wall_ms((int64_t)from_ms),
            b = beat_engine_of_wall_ms((int64_t)to_ms);
    return beat_sched_weight(in->sched, in->tz, NULL, a, b) / beat_clock_rate() / 1000.0;
}

/* How far behind the spend we see is: age of the newest closed bucket plus
 * notice and Kafka transit (inflight_s while the age is unknown). */
static double data_lag_s(const act_pacer_cfg *cfg, const act_pacer_in *in, int64_t now_ms) {
    if (in->data_ms < 0) return cfg->max_age_s;
    if (in->data_ms == 0) return cfg->inflight_s;
    return clampd((double)(now_ms - in->data_ms) / 1000.0, 0, cfg->max_age_s) + cfg->transit_s;
}

/* Seconds of open time the plan completes before the flight's end: a few
 * data lags. A shortfall is seen a lag late and bought back over a few
 * more; planned to the last second, whatever the market withholds near the
 * end (users capped late in a day, a window closing) is lost for good. A
 * lead spent early costs nothing: the hard stop holds the budget. On the
 * wall clock a lag of seconds is nothing against a day; under a simulated
 * clock it is minutes of engine time, which is what the lead is for. */
static double land_lead_s(const act_pacer_cfg *cfg, const act_pacer_in *in, int64_t now_ms,
                          double flight_s) {
    if (!(flight_s > 0)) return 0.0;
    return fmin(cfg->land_lags * data_lag_s(cfg, in, now_ms), cfg->land_max_frac * flight_s);
}

double act_land_lead_s(const act_pacer_cfg *cfg, const act_pacer_in *in, int64_t now_ms) {
    if (in->day_len_ms <= 0) return 0.0; /* days only, for now */
    return land_lead_s(cfg, in, now_ms, act_open_s(in, (double)in->start_ms, (double)in->end_ms));
}

/* The plan at t with the lead lead_s: the curve reaches the budget when a
 * fraction lead_s/flight_s of it (the last seconds' share on a uniform
 * plan) is still to come. */
static double planned_at(const act_pacer_cfg *cfg, const act_pacer_in *in, double t_ms,
                         double lead_frac) {
    if (t_ms >= (double)in->end_ms && in->end_ms > in->start_ms) return (double)in->budget_micros;
    double f = plan_frac(cfg, in, t_ms) / (1.0 - clampd(lead_frac, 0.0, 0.5));
    return (double)in->budget_micros * fmin(f, 1.0);
}

double act_pacer_planned(const act_pacer_cfg *cfg, const act_pacer_in *in, int64_t now_ms) {
    double lead_frac = 0.0;
    if (in->day_len_ms > 0) {
        double flight_s = act_open_s(in, (double)in->start_ms, (double)in->end_ms);
        if (flight_s > 0) lead_frac = land_lead_s(cfg, in, now_ms, flight_s) / flight_s;
    }
    return planned_at(cfg, in, (double)now_ms, lead_frac);
}

/* The spend rate as counted: the larger of the smoothed and the fast one
 * (right after a surge the smoothed rate lags, and in-flight money is what
 * overspends). */
static double counted_rate(const act_pacer *p) {
    return fmax(p->flow < 0 ? p->rate : p->flow, p->fast < 0 ? p->inst : p->fast);
}

static double inflight_at(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                          int64_t now_ms, double r) {
    if (!(r > 0)) return 0.0;
    /* While paused, only what was won before the pause is in flight: once
     * the data covers the pause, just the notice transit is left. */
    double lag = data_lag_s(cfg, in, now_ms);
    if (p->paused && p->paused_ms > 0 && in->data_ms > 0)
        lag = fmin(lag, fmax(0.0, (double)(p->paused_ms - in->data_ms) / 1000.0) + cfg->transit_s);
    return r * lag;
}

double act_pacer_inflight(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                          int64_t now_ms) {
    return inflight_at(cfg, p, in, now_ms, counted_rate(p));
}

double act_inflight_mean(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                         int64_t now_ms) {
    return inflight_at(cfg, p, in, now_ms, p->flow < 0 ? p->rate : p->flow);
}

/* The budget stop's arithmetic: *left = budget × (1 − stop_margin) − spent −
 * in flight; returns what bidding at the current multiplier would spend
 * before the next chance to stop. Not pausing now means bidding until the
 * next tick, at the rate our bids last met in the market (p->rate, frozen
 * while paused) — not at the flow, which decays while paused: a resume
 * judged on the decayed flow bursts at the old multiplier into a surge.
 * And a resume is blind until its spend shows in the aggregates, so from a
 * pause it must also cover that lag (age of the data + transit). */
static double budget_need(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                          int64_t now_ms, double *left) {
    *left = (double)in->budget_micros * (1.0 - cfg->stop_margin) - (double)in->spent_micros -
            act_pacer_inflight(cfg, p, in, now_ms);
    double bid_r = fmax(counted_rate(p), p->rate);
    double ahead_s = cfg->lookahead_s + (p->paused ? data_lag_s(cfg, in, now_ms) : 0.0);
    /* Inference stops bidding at the flight's end by itself: no spend to
     * come beyond it (what was won before it is the in-flight part). */
    ahead_s = fmin(ahead_s, fmax(0.0, (double)(in->end_ms - now_ms) / 1000.0));
    return bid_r > 0 ? bid_r * ahead_s : 0.0;
}

bool act_pacer_should_pause(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                            int64_t now_ms) {
    if (in->op_paused || in->end_ms <= in->start_ms) return true;
    if (now_ms < in->start_ms || now_ms >= in->end_ms) return true;
    double left, need = budget_need(cfg, p, in, now_ms, &left);
    return need >= left;
}

/* Budget-stopped, with room left but not enough for the blind stretch of a
 * resume at the old multiplier: resume at a lower one, scaled so that the
 * blind stretch spends at most half of what is left (spend grows at least
 * linearly with the multiplier in practice, so this errs on the safe side). */
static bool resume_scaled(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in,
                          int64_t now_ms) {
    if (in->op_paused || now_ms < in->start_ms || now_ms >= in->end_ms) return false;
    double left, need = budget_need(cfg, p, in, now_ms, &left);
    if (!(left > 0) || !(need > 0)) return false;
    double k = 0.5 * left / need;
    if (k >= 1.0 || p->multiplier * k < cfg->min_mult) return false;
    p->multiplier *= k;
    if (p->rate > 0) p->rate *= k;
    p->integ = log(p->multiplier);
    p->err = 0.0;
    p->paused = false;
    return true;
}

/* One even-law step (the law in the header comment): dt > 0 seconds since
 * the last step, lead_s the day's landing lead (0 outside a day). */
static void even_step(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in,
                      int64_t now_ms, double dt, double lead_s) {
    double lmin = log(cfg->min_mult), lmax = log(cfg->max_mult);
    /* With a schedule, the flight is its open time. */
    double flight_s = (double)(in->end_ms - in->start_ms) / 1000.0;
    double left_s = (double)(in->end_ms - now_ms) / 1000.0;
    if (act_has_sched(in)) {
        flight_s = fmax(act_open_s(in, (double)in->start_ms, (double)in->end_ms), 1.0);
        left_s = act_open_s(in, (double)now_ms, (double)in->end_ms);
    }
    double mean_rate = (double)in->budget_micros / flight_s;
    double lead_frac = lead_s / flight_s, planned = planned_at(cfg, in, (double)now_ms, lead_frac);
    double plan_rate = planned_at(cfg, in, (double)now_ms + 1000, lead_frac) - planned;
    if (left_s < 1.0) plan_rate = mean_rate;
    double horizon_s = fmax(cfg->catchup_frac * flight_s, cfg->min_horizon_s);
    /* Near the end the gap is closed by the plan's landing, but never over
     * less than end_horizon_s: what a rise spends shows only a lag later. */
    horizon_s = fmax(fmin(horizon_s, left_s - lead_s), fmax(dt, cfg->end_horizon_s));
    /* A day's plan completes a lead early, so it is tracked on the
     * unbiased in-flight estimate: the pessimistic one, right for the
     * stop, would land every day short by its bias (~1% of a day at a
     * simulated clock's pace). A flight without a lead keeps tracking on
     * the pessimistic one: a surge in its last seconds then cannot push it
     * over the budget (pacer_test surge_ending_late). */
    double committed =
        (double)in->spent_micros + (lead_s > 0 ? act_inflight_mean(cfg, p, in, now_ms)
                                               : act_pacer_inflight(cfg, p, in, now_ms));
    /* Aim a little under the plan: landing exactly on the budget means
     * half of the flights end a noisy last second above it. */
    double gap = planned * (1.0 - cfg->aim_margin) - committed;
    double target = clampd(plan_rate + gap / horizon_s, 0.0, cfg->max_catchup * mean_rate);

    double eps = 0.02 * mean_rate;
    bool blind = p->rate <= 0;
    /* The rate was bought at the multiplier in force at data time: what
     * the current one buys is expected to differ by their ratio (spend at
     * least proportional to the multiplier), so a cut already made is not
     * made again while the data still shows the surge it answered. */
    double seen = fmax(p->rate, 0.0);
    if (in->data_ms > 0 && !blind) {
        double lam_d = act_lam_at(p, (double)in->data_ms);
        if (lam_d > 0) seen *= clampd(p->multiplier / lam_d, 0.1, 10.0);
    }
    double e = clampd(log((target + eps) / (seen + eps)), -3.0, 3.0);
    /* After a long gap (restart, stall) act as if one short step passed:
     * one stale measurement must not swing the multiplier end to end. */
    double dt_ctl = fmin(dt, 5.0);
    double de = (e - p->err) / dt_ctl;
    p->err = e;

    double u_p = cfg->kp * e + cfg->kd * de;
    double integ = p->integ + cfg->ki * e * dt_ctl;
    double u = integ + u_p;
    /* Conditional integration: the integrator does not run further into a
     * saturated output, nor above blind_max while nothing is spent. */
    if ((u > lmax && e > 0) || (u < lmin && e < 0)) integ = p->integ;
    if (blind && e > 0) integ = fmin(integ, fmax(p->integ, log(cfg->blind_max)));
    p->integ = clampd(integ, lmin, lmax);
    u = clampd(p->integ + u_p, lmin, lmax);
    if (blind) u = fmin(u, fmax(log(p->multiplier), log(cfg->blind_max)));

    double lm = log(p->multiplier);
    /* Rises are smoothed; falls are taken at once (within step_down):
     * budget safety beats revenue. */
    double alpha = u < lm ? 1.0 : 1.0 - exp(-dt_ctl / cfg->smooth_tau_s);
    double step =
        clampd(alpha * (u - lm), dt_ctl * log(cfg->step_down), dt_ctl * log(cfg->step_up));
    p->multiplier = clampd(exp(lm + step), cfg->min_mult, cfg->max_mult);
}

/* The measurement phase of a step, dt seconds after the last: folds the
 * spend (and opps) the data shows since the last step into the rates and
 * the value estimates, and moves the references. Returns true when the
 * data is absent or stale: then nothing is learnt and the control holds. */
static bool measure(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in, int64_t now_ms,
                    double dt) {
    /* No aggregates at all, or only stale ones (every datastream down):
     * nothing is measured, so nothing is learnt. The controller holds its
     * multiplier (a rising one would spend blind) and keeps its rate and
     * references for when data flows again; the hard stop still applies. */
    bool hold =
        in->data_ms < 0 || (in->data_ms > 0 && now_ms - in->data_ms > cfg->max_age_s * 1000.0);
    /* The rate is measured over data time (bucket ends) when known: a tick
     * that saw no new bucket, or two, is not a rate of 0 or 2×. */
    double dt_rate = dt;
    if (in->data_ms > 0 && p->last_data_ms > 0)
        dt_rate = (double)(in->data_ms - p->last_data_ms) / 1000.0;
    if (hold) dt_rate = 0;
    /* Dayparting: only data from open time says what our bids meet; an
     * interval that is closed, even in part, teaches nothing (the
     * references still move). */
    bool open_data = true;
    if (act_has_sched(in) && dt_rate > 0) {
        double hi = in->data_ms > 0 ? (double)in->data_ms : (double)now_ms;
        open_data = act_open_s(in, hi - dt_rate * 1000.0, hi) >= dt_rate * 0.999;
    }
    if (dt > 0 && dt_rate > 0) {
        /* Spend only grows; a smaller figure (restore from an older state)
         * is not a negative rate. */
        double delta = (double)(in->spent_micros - p->last_spent);
        double a = 1.0 - exp(-dt_rate / cfg->rate_tau_s);
        p->inst = delta > 0 ? delta / dt_rate : 0.0;
        double af = 1.0 - exp(-dt_rate / cfg->fast_tau_s);
        p->fast = p->fast < 0 ? p->inst : p->fast + af * (p->inst - p->fast);
        if (p->flow < 0) p->flow = p->rate >= 0 ? p->rate : p->inst;
        p->flow += a * (p->inst - p->flow);
        /* The market's answer to our bids: only what was spent while
         * bidding, once the data covers bidding time (after a pause the
         * first buckets are empty because we did not bid, not because the
         * market dried up; a rate learnt then would bid up into a surge). */
        bool learn = !p->paused && open_data &&
                     ((p->bid_since_ms > 0 && in->data_ms != 0 &&
                       (in->data_ms < 0 || in->data_ms > p->bid_since_ms)) ||
                      in->data_ms == 0); /* data time unknown */
        if (learn) {
            if (p->rate < 0) p->rate = p->inst;
            else p->rate += a * (p->inst - p->rate);
        }
        double d_opps = (double)(in->opps - p->last_opps);
        act_value_learn(cfg, p, in, dt_rate, delta > 0 ? delta : 0.0, d_opps > 0 ? d_opps : 0.0,
                        learn);
    }
    if (!(dt > 0 && dt_rate == 0)) { /* else: no new data, keep the reference */
        p->last_spent = in->spent_micros;
        p->last_opps = in->opps;
        p->last_data_ms = in->data_ms;
    }
    return hold;
}

void act_pacer_step(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in,
                    int64_t now_ms) {
    double dt = p->last_ms > 0 ? (double)(now_ms - p->last_ms) / 1000.0 : 0.0;
    if (now_ms > p->last_ms) act_value_remember(p, p->last_ms);
    bool hold = measure(cfg, p, in, now_ms, dt);
    /* After a clock step backwards (or a restored state stamped in the
     * future) the reference restarts here: one step without an update. */
    p->last_ms = now_ms;
    bool was_paused = p->paused;
    p->paused = act_pacer_should_pause(cfg, p, in, now_ms);
    /* A scaled resume skips this tick's control step: the loop would start
     * raising the multiplier it just cut before any of its spend shows. */
    bool scaled = was_paused && p->paused && resume_scaled(cfg, p, in, now_ms);
    if (p->paused && !was_paused) p->paused_ms = now_ms;
    if (!p->paused) p->paused_ms = 0;
    if (p->paused) p->bid_since_ms = 0;
    else if (was_paused || p->bid_since_ms == 0) p->bid_since_ms = now_ms;
    if (!isfinite(p->multiplier) || p->multiplier <= 0) p->multiplier = 1.0;
    double lmin = log(cfg->min_mult), lmax = log(cfg->max_mult);
    if (!p->has_integ || !isfinite(p->integ)) {
        /* Bumpless start: from a state that had only a multiplier (another
         * actuator's, or an older format) the loop continues from it. */
        p->integ = log(p->multiplier);
        p->err = 0.0;
        p->has_integ = true;
    }
    if (!isfinite(p->err)) p->err = 0.0;
    p->integ = clampd(p->integ, lmin, lmax);
    if (in->mode == BEAT_PACING_ASAP) {
        /* No pacing: the campaign's own value, until the hard stop; what is
         * left after it is spent at the multiplier a scaled resume chose. */
        bool budget_stop =
            p->paused && !in->op_paused && now_ms >= in->start_ms && now_ms < in->end_ms;
        if (budget_stop || scaled) p->capped = true;
        if (!p->paused && !p->capped) p->multiplier = clampd(1.0, cfg->min_mult, cfg->max_mult);
        p->integ = log(p->multiplier);
        return;
    }
    /* Closed by its schedule: inference does not bid, so the multiplier
     * holds where the last open hour left it. */
    bool closed =
        act_has_sched(in) && !beat_sched_open(in->sched, in->tz, beat_engine_of_wall_ms(now_ms));
    if (p->paused || dt <= 0 || hold || scaled || closed) {
        p->multiplier = clampd(p->multiplier, cfg->min_mult, cfg->max_mult);
        return;
    }
    /* Before the end game (twice the landing lead from the end) the
     * multiplier is what the market asks of this campaign; a new day
     * starts from it, not from the landing's cut. */
    double lead_s = act_land_lead_s(cfg, in, now_ms);
    if (lead_s > 0 && act_open_s(in, (double)now_ms, (double)in->end_ms) > 2.0 * lead_s)
        p->cruise = p->multiplier;
    if (in->mode == BEAT_PACING_VALUE) {
        act_value_step(cfg, p, in, now_ms, fmin(dt, 5.0), lead_s);
        /* The even law's integrator follows, for a switch back to it. */
        p->integ = log(p->multiplier);
        p->err = 0.0;
        return;
    }
    even_step(cfg, p, in, now_ms, dt, lead_s);
}
