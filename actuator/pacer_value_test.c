/* The value law (pacer_value.c) on a small simulated market, tick by tick:
 * opportunities arrive along a daily wave with a ×5 surge and a ×0.3 drop,
 * each with a pCTR and a lognormal competing price; our bid is λ × value,
 * capped, second price; the actuator sees spend and opps two ticks late.
 * The same market (same seed) is then paced by the even law: value pacing
 * must land the budget as well and buy at least as many clicks. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "market_testlib.h"
#include "beat_test.h"
#include "pacer.h"

#define T0 1700000000000LL
#define LAG 2
#define BASE_CPM 1000000.0 /* the campaign's base bid (CPM micros) */
#define MAX_CPM 4000000.0
#define AVG_CTR 0.01

typedef struct mkt {
    uint64_t rng;
    double flight_s, opp_rate, wave_amp, wave_period_s;
    double surge_at, surge_len, drop_at, drop_len; /* fractions of the flight */
    double wave_phase;                             /* of the wave, in periods */
    double drop_factor;                            /* 0 = 0.3 */
    bool no_opps;                                  /* an inference that counts no opportunities */
    double budget_frac; /* of what λ = 1 spends on the flight; 0 = 0.5 */
} mkt;

typedef struct run {
    double spent, clicks;    /* true spend (micros), Σ pCTR of wins */
    double lam_min, lam_max; /* while bidding, before the first stop */
    double stop_s;           /* when the hard stop first paused it */
    double lam_pre_surge, lam_min_surge, lam_pre_drop, lam_max_drop;
} run;

static double opp_rate_at(const mkt *m, double t_s) {
    double r = m->opp_rate *
               (1.0 + m->wave_amp * sin(2.0 * M_PI * (t_s / m->wave_period_s + m->wave_phase)));
    double x = t_s / m->flight_s;
    if (x >= m->surge_at && x < m->surge_at + m->surge_len) r *= 5.0;
    if (x >= m->drop_at && x < m->drop_at + m->drop_len)
        r *= m->drop_factor > 0 ? m->drop_factor : 0.3;
    return r;
}

/* One opportunity: (pCTR, competing price in CPM micros). */
static void opp_draw(uint64_t *s, double *pctr, double *comp) {
    *pctr = AVG_CTR * exp(0.7 * gauss(s) - 0.245);
    *comp = 800000.0 * exp(0.6 * gauss(s));
}

/* Spend (micros) and Σ pCTR of one opportunity bid at multiplier lam. */
static void auction(uint64_t *s, double lam, double *spend, double *clicks) {
    double pctr, comp;
    opp_draw(s, &pctr, &comp);
    double bid = fmin(lam * BASE_CPM * pctr / AVG_CTR, MAX_CPM);
    if (bid > comp) {
        *spend += comp / 1000.0;
        *clicks += pctr;
    }
}

/* The budget: half of what bidding the campaign's value (λ = 1) would
 * spend on the flight's supply without surge or drop. */
static int64_t budget_of(const mkt *m) {
    uint64_t s = 7;
    double spend = 0, clicks = 0;
    for (int i = 0; i < 20000; i++) auction(&s, 1.0, &spend, &clicks);
    double f = m->budget_frac > 0 ? m->budget_frac : 0.5;
    return (int64_t)(f * spend / 20000 * m->opp_rate * m->flight_s);
}

static void run_flight(const mkt *m0, beat_pacing mode, run *r) {
    mkt m = *m0;
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    cfg.transit_s = 0; /* the only delay is LAG, which data_ms shows */
    act_pacer p;
    act_pacer_init(&p);
    act_pacer_in in;
    memset(&in, 0, sizeof in);
    in.start_ms = T0;
    in.end_ms = T0 + (int64_t)(m.flight_s * 1000);
    in.budget_micros = budget_of(&m);
    in.mode = mode;
    double pipe_s[LAG] = {0}, pipe_o[LAG] = {0}, seen_s = 0, seen_o = 0;
    memset(r, 0, sizeof *r);
    r->lam_min_surge = 1e9;
    r->lam_min = 1e9;
    int n = (int)m.flight_s + 10;
    for (int k = 0; k < n; k++) {
        double t = k + 0.5, x = t / m.flight_s;
        double spend = 0, opps = 0;
        if (!p.paused && x < 1.0) {
            double want = opp_rate_at(&m, t) + u01(&m.rng) - 0.5;
            for (int i = 0; i < (int)fmax(want, 0.0); i++)
                auction(&m.rng, p.multiplier, &spend, &r->clicks);
            opps = floor(fmax(want, 0.0));
        }
        r->spent += spend;
        seen_s += pipe_s[LAG - 1];
        seen_o += pipe_o[LAG - 1];
        memmove(pipe_s + 1, pipe_s, (LAG - 1) * sizeof *pipe_s);
        memmove(pipe_o + 1, pipe_o, (LAG - 1) * sizeof *pipe_o);
        pipe_s[0] = spend;
        pipe_o[0] = opps;
        int64_t now = T0 + (int64_t)(k + 1) * 1000;
        in.spent_micros = (int64_t)seen_s;
        in.opps = m.no_opps ? 0 : (int64_t)seen_o;
        in.data_ms = now - LAG * 1000;
        act_pacer_step(&cfg, &p, &in, now);
        double xn = (double)(k + 1) / m.flight_s;
        if (!p.paused && r->stop_s == 0) { /* until the first stop */
            r->lam_min = fmin(r->lam_min, p.multiplier);
            r->lam_max = fmax(r->lam_max, p.multiplier);
        } else if (r->stop_s == 0) {
            r->stop_s = k + 1;
        }
        if (xn <= m.surge_at) r->lam_pre_surge = p.multiplier;
        else if (xn < m.surge_at + m.surge_len && !p.paused)
            r->lam_min_surge = fmin(r->lam_min_surge, p.multiplier);
        if (xn <= m.drop_at) r->lam_pre_drop = p.multiplier;
        else if (xn < m.drop_at + m.drop_len && !p.paused)
            r->lam_max_drop = fmax(r->lam_max_drop, p.multiplier);
    }
    r->spent /= (double)in.budget_micros; /* as a fraction of the budget */
}

/* One λ over the whole flight, the opportunities drawn as if the campaign
 * never paused, until budget is spent (INFINITY: never). Returns the spend
 * (micros); *clicks gets Σ pCTR of the wins. */
static double replay_constant(const mkt *m0, double lam, double budget, double *clicks) {
    mkt m = *m0;
    double spend = 0;
    *clicks = 0;
    for (int k = 0; k < (int)m.flight_s && spend < budget; k++) {
        double want = opp_rate_at(&m, k + 0.5) + u01(&m.rng) - 0.5;
        for (int i = 0; i < (int)fmax(want, 0.0) && spend < budget; i++)
            auction(&m.rng, lam, &spend, clicks);
    }
    return spend;
}

/* The hindsight bidder on the same market: one λ for the whole flight,
 * found by bisection so that it spends the budget. Σ pCTR of its wins. */
static double hindsight_clicks(const mkt *m0) {
    double budget = (double)budget_of(m0), lo = 0.01, hi = 100, clicks = 0;
    for (int it = 0; it < 40; it++) {
        double lam = sqrt(lo * hi);
        if (replay_constant(m0, lam, budget, &clicks) < budget) lo = lam;
        else hi = lam;
    }
    return clicks;
}

/* Runs the market under both laws and checks the value law's outcome:
 * used ≥ min_used and ≤ 100.5%, at least as many clicks as even pacing and
 * ≥ 0.9 of the hindsight bidder's, and, where the market has only that event (so the other one's aftermath
 * does not blur it), λ during the surge ≥ 0.55 × and during the drop
 * ≤ 1.5 × λ just before. */
static int check_market(const char *name, const mkt *m, bool surge, bool drop, double min_used) {
    run v, e;
    run_flight(m, BEAT_PACING_VALUE, &v);
    run_flight(m, BEAT_PACING_EVEN, &e);
    double h = hindsight_clicks(m);
    fprintf(stderr,
            "  %-16s value: used=%.4f surge=%.2f drop=%.2f | even: used=%.4f surge=%.2f "
            "drop=%.2f | clicks value/even=%.3f | ÷ hindsight value %.3f even %.3f\n",
            name, v.spent, surge ? v.lam_min_surge / v.lam_pre_surge : 0,
            drop ? v.lam_max_drop / v.lam_pre_drop : 0, e.spent,
            surge ? e.lam_min_surge / e.lam_pre_surge : 0,
            drop ? e.lam_max_drop / e.lam_pre_drop : 0, v.clicks / e.clicks, v.clicks / h,
            e.clicks / h);
    CHECK(v.spent >= min_used);
    CHECK(v.spent <= 1.005);
    CHECK(!surge || v.lam_min_surge >= 0.55 * v.lam_pre_surge);
    CHECK(!drop || v.lam_max_drop <= 1.5 * v.lam_pre_drop);
    CHECK(v.clicks >= e.clicks);
    /* The point of the law: close to a bidder that knew the flight's
     * supply in advance (0.90-0.99 measured here; even pacing 0.76-0.93). */
    CHECK(v.clicks >= 0.9 * h);
    return 0;
}

/* The demo's flights (90-140 s) with the wave over twice the flight, a ×5
 * surge for a tenth of it (at a constant λ it alone would take 40% of the
 * budget, so λ must give some way) and a ×0.3 drop; then the same with
 * only the surge and only the drop. With only a late drop (the last fifth
 * of the flight then has to spend what the drop left, and the data is two
 * ticks late) the landing is 98.5-99.8% (even pacing: 97.4-104.4% on the
 * same markets): checked at 98%. */
static int test_demo_flights(void) {
    static const double flights[] = {90, 120, 140};
    int seeds = 3;
    for (int f = 0; f < 3; f++)
        for (int seed = 1; seed <= seeds; seed++)
            for (int kind = 0; kind < 3; kind++) {
                mkt m = {.rng = (uint64_t)seed * 1000003u,
                         .flight_s = flights[f],
                         .opp_rate = 300,
                         .wave_amp = 0.3,
                         .wave_period_s = 2 * flights[f],
                         .surge_at = 0.4,
                         .surge_len = kind == 2 ? 0 : 0.1,
                         .drop_at = 0.65,
                         .drop_len = kind == 1 ? 0 : 0.15};
                char name[48];
                snprintf(name, sizeof name, "%.0fs seed %d %s", flights[f], seed,
                         kind == 0   ? "both"
                         : kind == 1 ? "surge"
                                     : "drop");
                if (check_market(name, &m, kind == 1, kind == 2, kind == 2 ? 0.98 : 0.99)) return 1;
            }
    return 0;
}

/* A day: the daily wave (±50%), a ×5 surge for an hour, a ×0.3 drop for
 * two; every time constant scales with the flight. */
static int test_day_flight(void) {
    for (int seed = 1; seed <= 2; seed++)
        for (int kind = 0; kind < 3; kind++) {
            mkt m = {.rng = (uint64_t)seed * 7919u,
                     .flight_s = 86400,
                     .opp_rate = 8,
                     .wave_amp = 0.5,
                     .wave_period_s = 86400,
                     .surge_at = 0.4,
                     .surge_len = kind == 2 ? 0 : 1.0 / 24,
                     .drop_at = 0.65,
                     .drop_len = kind == 1 ? 0 : 2.0 / 24};
            char name[48];
            snprintf(name, sizeof name, "1d seed %d %s", seed,
                     kind == 0   ? "both"
                     : kind == 1 ? "surge"
                                 : "drop");
            if (check_market(name, &m, kind == 1, kind == 2, 0.99)) return 1;
        }
    return 0;
}

/* A deep wave (±80%) whose trough falls on the flight's last fifth: a law
 * that forecasts the supply from the flight so far expects more than comes
 * and, with bids near the max bid, cannot make up for it at the end. The
 * known limit of the value law, measured: it lands 94-97% of 90-140 s
 * flights and 90-93% of a day (even: 99%), while buying 0.88-0.90 of the
 * hindsight bidder's clicks (even: 0.67-0.77). A floor on the spend
 * (behind the even plan by at most a share that shrinks to the end)
 * lands 2-4 points more but breaks the surge and landing checks above.
 * Checked as measured, so a change of the law shows here. */
static int test_deep_wave(void) {
    for (int seed = 1; seed <= 3; seed++)
        for (int f = 0; f < 3; f++) {
            double fl = f == 0 ? 90 : f == 1 ? 140 : 86400;
            mkt m = {.rng = (uint64_t)seed * 7u,
                     .flight_s = fl,
                     .opp_rate = fl > 1000 ? 8 : 300,
                     .wave_amp = 0.8,
                     .wave_period_s = fl * 1.2,
                     .surge_at = 0.2,
                     .surge_len = 0.08,
                     .drop_at = 0.7,
                     .drop_len = 0.05};
            run v, e;
            run_flight(&m, BEAT_PACING_VALUE, &v);
            run_flight(&m, BEAT_PACING_EVEN, &e);
            double h = hindsight_clicks(&m);
            fprintf(stderr, "  deep seed %d %.0fs: value used=%.4f %.3f even used=%.4f %.3f\n",
                    seed, fl, v.spent, v.clicks / h, e.spent, e.clicks / h);
            CHECK(v.spent >= 0.90 && v.spent <= 1.005);
            CHECK(v.clicks >= 0.87 * h && v.clicks > e.clicks);
        }
    return 0;
}

/* A large budget (1.6× what bidding the campaign's value would spend) and
 * a ×0.3 drop over the last fifth of the flight: what is left at the drop
 * must be spent on thin supply, at a λ the law reaches only a data lag
 * after it needs it. Measured: the value law lands 99.6-100% of 90 s
 * flights and 97.5-97.7% of 140 s ones (even pacing: 96% and 91%); a
 * reserve at the end lands more but overspends by 1-2% through the same
 * lag, so the law keeps none. Checked: ≥ 97%, ≤ 100.5%, above even. */
static int test_tight_budget(void) {
    for (int seed = 1; seed <= 3; seed++)
        for (int f = 0; f < 2; f++) {
            mkt m = {.rng = (uint64_t)seed * 104729u,
                     .flight_s = f ? 140 : 90,
                     .opp_rate = 300,
                     .wave_amp = 0.3,
                     .wave_period_s = 180,
                     .surge_at = 0.3,
                     .surge_len = 0.1,
                     .drop_at = 0.8,
                     .drop_len = 0.15,
                     .budget_frac = 1.6};
            run v, e;
            run_flight(&m, BEAT_PACING_VALUE, &v);
            run_flight(&m, BEAT_PACING_EVEN, &e);
            double cl, cap = replay_constant(&m, 100, INFINITY, &cl) / (double)budget_of(&m);
            fprintf(stderr, "  tight seed %d %.0fs: value used=%.4f even used=%.4f max=%.3f\n",
                    seed, m.flight_s, v.spent, e.spent, cap);
            CHECK(cap > 2.0); /* the budget is within the market's reach */
            CHECK(v.spent >= 0.97 && v.spent <= 1.005 && v.spent > e.spent);
        }
    return 0;
}

/* Without opps (an older inference) the supply is taken as constant in
 * time: the budget still lands. */
static int test_no_opps_fallback(void) {
    for (int seed = 1; seed <= 3; seed++) {
        mkt m = {.rng = (uint64_t)seed * 31u,
                 .flight_s = 120,
                 .opp_rate = 300,
                 .wave_amp = 0.3,
                 .wave_period_s = 240,
                 .surge_at = 0.4,
                 .surge_len = 0.1,
                 .drop_at = 0.65,
                 .drop_len = 0.15,
                 .no_opps = true};
        run v;
        run_flight(&m, BEAT_PACING_VALUE, &v);
        fprintf(stderr, "  no opps, seed %d: used=%.4f\n", seed, v.spent);
        CHECK(v.spent >= 0.99 && v.spent <= 1.005);
    }
    return 0;
}

/* asap: multiplier 1 (the campaign's own value) until the hard stop, which
 * comes early here (at λ = 1 the market takes twice the budget); the rest
 * is spent at what the scaled resume chose, without a burst at 1. */
static int test_asap(void) {
    mkt m = {.rng = 5, .flight_s = 120, .opp_rate = 300, .wave_amp = 0.3, .wave_period_s = 240};
    run v;
    run_flight(&m, BEAT_PACING_ASAP, &v);
    fprintf(stderr, "  asap: used=%.4f stopped at %.0f s, lambda %.3f..%.3f\n", v.spent, v.stop_s,
            v.lam_min, v.lam_max);
    CHECK(v.lam_min == 1.0 && v.lam_max == 1.0);
    CHECK(v.stop_s > 30 && v.stop_s < 90);
    CHECK(v.spent >= 0.99 && v.spent <= 1.005);
    return 0;
}

/* Thin first, rich later, like the standard demo: the flight starts on
 * the wave's way down (±50%), a ×0.15 drop at a quarter, the trough at
 * 40%, then a ×5 surge at 60% and the crest. A causal law cannot know the
 * surge is coming, yet a single campaign here stays near the hindsight
 * bidder (0.906-0.970 measured; even pacing 0.75-0.89): what the demo
 * loses on this shape (value ÷ pCTR-oracle 0.79-0.81) comes from what
 * this market lacks — six campaigns outbidding each other on shared
 * supply (each loop reads a sibling's win as a dearer market), a CTR model
 * that learns during the flight, first-price shading and bids held at
 * the max bid, where λ no longer moves spend. Checked: used 98-100.5%,
 * ≥ 0.9 of hindsight, more clicks than even. */
static int test_trough_then_surge(void) {
    for (int seed = 1; seed <= 3; seed++)
        for (int f = 0; f < 3; f++) {
            double fl = f == 0 ? 90 : f == 1 ? 140 : 86400;
            mkt m = {.rng = (uint64_t)seed * 13u,
                     .flight_s = fl,
                     .opp_rate = fl > 1000 ? 8 : 300,
                     .wave_amp = 0.5,
                     .wave_period_s = fl * 1.1,
                     .wave_phase = 0.3,
                     .surge_at = 0.6,
                     .surge_len = 0.1,
                     .drop_at = 0.25,
                     .drop_len = 0.05,
                     .drop_factor = 0.15};
            run v, e;
            run_flight(&m, BEAT_PACING_VALUE, &v);
            run_flight(&m, BEAT_PACING_EVEN, &e);
            double h = hindsight_clicks(&m);
            fprintf(stderr, "  trough seed %d %.0fs: value used=%.4f %.3f even used=%.4f %.3f\n",
                    seed, fl, v.spent, v.clicks / h, e.spent, e.clicks / h);
            CHECK(v.spent >= 0.98 && v.spent <= 1.005);
            CHECK(v.clicks >= 0.9 * h && v.clicks > e.clicks);
        }
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"demo_flights", test_demo_flights},
        {"day_flight", test_day_flight},
        {"no_opps_fallback", test_no_opps_fallback},
        {"tight_budget", test_tight_budget},
        {"deep_wave", test_deep_wave},
        {"asap", test_asap},
        {"trough_then_surge", test_trough_then_surge},
        {NULL, NULL},
    };
    return beat_test_main("pacer_value", cases, argc, argv);
}
