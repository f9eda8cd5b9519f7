/* The value law (pacing mode "value"): the multiplier is the price of a
 * click (λ, up to a per-campaign constant), and λ is steered so that the
 * forecast spend over the rest of the flight meets the rest of the budget,
 * from what the aggregates say about supply, not from a clock-shaped plan.
 * Pure like pacer.c: act_pacer_step calls it with time passed in.
 *
 *   supply S    = opportunities per second over the flight so far (opps
 *                 counted by inference ÷ in-flight seconds of data seen
 *                 while bidding; an interval counts at most surge_cap × the
 *                 mean so far), blended with the recent rate, which is
 *                 taken to last about persist_frac of the flight: the
 *                 forecast for the rest of the flight
 *   efficiency E = spend per opportunity at the recent λ: EWMA(spend) ÷
 *                 EWMA(opps) over data time, time constant eff_frac of the
 *                 flight (at least eff_min_s); λ̄ = EWMA of ln λ alike, of
 *                 the λ in force at data time (the one that bought it)
 *   forecast    = S × E spend per second at λ̄ (without opps, an older
 *                 inference: the EWMA of the spend rate, i.e. "supply
 *                 constant in time")
 *   need        = (budget × (1 − aim_margin) − spent − in flight) ÷ time
 *                 left before a day's landing lead (pacer.c; at least one
 *                 tick)
 *   target      = λ̄ × (need ÷ forecast)^(1/γ), the ratio clamped to e^±3;
 *                 γ the elasticity of spend to λ (value_gamma: the hook
 *                 for a per-campaign estimate from the win-price landscape)
 *   guard       target ≤ λ̄ × (left ÷ (guard_frac × flight × recent spend
 *                 rate))^(1/γ) while more than guard_frac of the flight is
 *                 left: a long surge is cut before the hard stop idles it
 *   λ           moves toward target in log space with time constant
 *                 value_frac of the flight (at least value_min_s; at most
 *                 warmup × the data seen, so the first guess is left fast,
 *                 and value_end_frac × the time left, so the budget lands);
 *                 per-second factor within [step_down, step_up]; while
 *                 nothing is spent it holds until data comes, then rises no
 *                 higher than blind_max.
 * So a surge (more opportunities at the same price) is bought at about the
 * same λ — only the supply forecast and what is left move λ, slowly — and a
 * drop does not push λ up to buy the dearest impressions. */
#include "pacer_int.h"

#include <math.h>
#include <string.h>

void act_value_init(act_pacer *p) {
    p->last_opps = 0;
    p->v_obs_s = 0.0;
    p->v_opps = 0.0;
    p->v_spend_avg = -1.0;
    p->v_opps_avg = -1.0;
    p->v_loglam = 0.0;
    p->forecast = -1.0;
    p->n_hist = 0;
}

void act_value_remember(act_pacer *p, int64_t since_ms) {
    if (since_ms <= 0) return;
    if (p->n_hist == ACT_PACER_HIST) {
        memmove(p->lam_hist, p->lam_hist + 1, (ACT_PACER_HIST - 1) * sizeof p->lam_hist[0]);
        memmove(p->lam_hist_ms, p->lam_hist_ms + 1,
                (ACT_PACER_HIST - 1) * sizeof p->lam_hist_ms[0]);
        p->n_hist--;
    }
    p->lam_hist[p->n_hist] = p->multiplier;
    p->lam_hist_ms[p->n_hist++] = since_ms;
}

double act_lam_at(const act_pacer *p, double t_ms) {
    if (p->n_hist == 0) return p->multiplier;
    int i = p->n_hist - 1;
    while (i > 0 && (double)p->lam_hist_ms[i] > t_ms) i--;
    return p->lam_hist[i];
}

static double flight_s_of(const act_pacer_in *in) {
    return fmax((double)(in->end_ms - in->start_ms) / 1000.0, 1e-3);
}

static double eff_tau_s(const act_pacer_cfg *cfg, const act_pacer_in *in) {
    return fmax(cfg->eff_frac * flight_s_of(in), cfg->eff_min_s);
}

static double value_tau_s(const act_pacer_cfg *cfg, const act_pacer_in *in) {
    return fmax(cfg->value_frac * flight_s_of(in), cfg->value_min_s);
}

void act_value_learn(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in, double dt_s,
                     double spend, double opps, bool learn) {
    if (!learn || !(dt_s > 0)) return;
    /* The in-flight part of the data interval (opps exist only in flight;
     * data time unknown: take the whole interval). */
    double in_s = dt_s;
    if (in->data_ms > 0) {
        double hi = fmin((double)in->data_ms, (double)in->end_ms);
        double lo = fmax((double)in->data_ms - dt_s * 1000.0, (double)in->start_ms);
        in_s = act_open_s(in, lo, hi); /* open time only: supply per open second */
    }
    if (in_s <= 0) return;
    /* A surge counts in the supply forecast at most surge_cap × the mean so
     * far: it is bought while it lasts, not extrapolated over the rest of
     * the flight (a lasting rise still lifts the mean, step by step). */
    double counted = opps;
    if (p->v_obs_s >= eff_tau_s(cfg, in) && p->v_opps > 0)
        counted = fmin(opps, cfg->surge_cap * p->v_opps / p->v_obs_s * in_s);
    p->v_obs_s += in_s;
    p->v_opps += counted;
    double mid_ms = (double)in->data_ms - dt_s * 500.0; /* middle of the interval */
    double lam = in->data_ms > 0 ? act_lam_at(p, mid_ms) : p->multiplier;
    double rs = spend / dt_s, ro = opps / dt_s, ll = log(lam);
    double a = 1.0 - exp(-dt_s / eff_tau_s(cfg, in));
    if (p->v_spend_avg < 0 || p->v_opps_avg < 0 || !isfinite(p->v_loglam)) {
        p->v_spend_avg = rs;
        p->v_opps_avg = ro;
        p->v_loglam = ll;
    } else {
        p->v_spend_avg += a * (rs - p->v_spend_avg);
        p->v_opps_avg += a * (ro - p->v_opps_avg);
        p->v_loglam += a * (ll - p->v_loglam);
    }
}

/* Opportunities per second over the rest of the flight: the flight's mean
 * so far, except that the recent rate (v_opps_avg) is taken to persist for
 * about persist_frac of the flight: over a long rest it hardly counts (a
 * surge or a drop is not the future), near the end it is the forecast (the
 * budget lands on the supply there is, not the flight's average). */
static double supply_fc(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                        double left_s) {
    double mean = p->v_opps / p->v_obs_s;
    double tau = fmax(cfg->persist_frac * flight_s_of(in), cfg->value_min_s);
    double w = left_s > 1e-3 ? tau / left_s * (1.0 - exp(-left_s / tau)) : 1.0;
    return w * p->v_opps_avg + (1.0 - w) * mean;
}

/* Spend per second the rest of the flight would bring at λ̄; < 0 = not
 * known yet. */
static double forecast_rate(const act_pacer_cfg *cfg, const act_pacer *p, const act_pacer_in *in,
                            double left_s) {
    bool have_opps = p->v_opps > 0 && p->v_opps_avg > 0 && p->v_spend_avg >= 0 &&
                     p->v_obs_s >= eff_tau_s(cfg, in);
    /* Without opps (an inference that counts none) supply is taken as
     * constant in time: the recent spend rate is the forecast. */
    if (!have_opps) return p->v_spend_avg;
    return supply_fc(cfg, p, in, left_s) * (p->v_spend_avg / p->v_opps_avg);
}

void act_value_step(const act_pacer_cfg *cfg, act_pacer *p, const act_pacer_in *in, int64_t now_ms,
                    double dt_s, double lead_s) {
    double flight_s = flight_s_of(in);
    /* The supply still to come is the open time left. */
    double left_s = fmax(act_open_s(in, (double)now_ms, (double)in->end_ms), 0.0);
    /* Unbiased in flight: a forecast that leans low undershoots the budget
     * (the stop keeps its own, pessimistic estimate). */
    double committed = (double)in->spent_micros + act_inflight_mean(cfg, p, in, now_ms);
    double left = (double)in->budget_micros * (1.0 - cfg->aim_margin) - committed;
    /* Over the time left before the landing lead (pacer.c; a day's), but
     * not less than a tick: what is bid in the last seconds shows only
     * after the flight, and the hard stop guards it. */
    double end_s = fmax(left_s - lead_s, cfg->lookahead_s);
    double need = fmax(left, 0.0) / end_s;
    double fr = forecast_rate(cfg, p, in, left_s);
    double lm = log(p->multiplier);
    bool blind = !(fr > 0) || !(p->v_spend_avg > 0);
    p->forecast = committed + fmax(fr, 0.0) * left_s;
    double ratio;
    if (blind) ratio = exp(3.0);
    else {
        double eps = 0.02 * (double)in->budget_micros / flight_s;
        ratio = act_clampd((need + eps) / (fr + eps), exp(-3.0), exp(3.0));
    }
    double gamma = cfg->value_gamma > 0.1 ? cfg->value_gamma : 1.0;
    double base = blind ? lm : p->v_loglam;
    double target = base + log(ratio) / gamma;
    /* Guard: whatever the forecast, the recent spend rate must not use up
     * what is left within guard_frac of the flight (a surge is bought at
     * about the same λ, but not until the hard stop idles the campaign). */
    double h = cfg->guard_frac * flight_s;
    if (!blind && p->v_spend_avg > 0 && left_s > h) { /* later: the hard stop */
        double g = fmax(left, 1.0) / (h * p->v_spend_avg);
        if (g < 1.0) target = fmin(target, p->v_loglam + fmax(log(g), -3.0) / gamma);
    }
    /* Blind: rise (up to blind_max) only once the data shows opportunities
     * that our bids do not win, or shows spend without opps (an inference
     * that counts none); before any data, hold. */
    if (blind && p->v_obs_s < eff_tau_s(cfg, in)) target = lm;
    if (blind) target = fmin(target, fmax(lm, log(cfg->blind_max)));
    /* The first λ is a guess (1 = the campaign's value): leave it as fast as
     * the data allows, i.e. over half the time seen so far; then slowly. */
    double tau = fmin(value_tau_s(cfg, in), fmax(p->v_obs_s * cfg->warmup, cfg->value_min_s));
    tau = fmin(tau, fmax(cfg->value_end_frac * left_s, cfg->eff_min_s));
    double step = (target - lm) * (1.0 - exp(-dt_s / tau));
    step = act_clampd(step, dt_s * log(cfg->step_down), dt_s * log(cfg->step_up));
    p->multiplier = act_clampd(exp(lm + step), cfg->min_mult, cfg->max_mult);
}
