/* Pacing laws on a simulated market where our campaigns compete for the
 * same opportunities, as in the demo: each opportunity is open to some of
 * them, the one with the highest bid enters the auction (second price
 * against a lognormal competing price), and every campaign's pacer sees only
 * its own spend and opps, two ticks late. A sibling's win looks to a pacer
 * like a dearer market. Compared with a hindsight bidder that knows the
 * flight and gives each campaign one price per click for all of it. */
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
#define NC 3
#define BASE_CPM 1000000.0
#define MAX_CPM 4000000.0
#define AVG_CTR 0.01

typedef struct jmkt {
    uint64_t seed;
    double flight_s, opp_rate, wave_amp, wave_period_s, wave_phase;
    double surge_at, surge_len, drop_at, drop_len, drop_factor; /* fractions of the flight */
    double elig[NC]; /* share of the opportunities open to each campaign */
    double budget_frac[NC];
} jmkt;

static double rate_at(const jmkt *m, double t_s) {
    double r = m->opp_rate *
               (1.0 + m->wave_amp * sin(2.0 * M_PI * (t_s / m->wave_period_s + m->wave_phase)));
    double x = t_s / m->flight_s;
    if (x >= m->surge_at && x < m->surge_at + m->surge_len) r *= 5.0;
    if (x >= m->drop_at && x < m->drop_at + m->drop_len) r *= m->drop_factor;
    return r;
}

/* One opportunity: the same number of draws whatever the bids, so every
 * run of a market sees the same opportunities. A shared context factor
 * makes the campaigns' pCTRs correlate (a good site is good for all). */
static void opportunity(uint64_t *s, const jmkt *m, const double lam[NC], const bool active[NC],
                        double spend[NC], double clicks[NC], double opps[NC]) {
    double ctx = gauss(s), comp = 800000.0 * exp(0.6 * gauss(s) + 0.2 * ctx);
    int best = -1;
    double best_bid = 0, pctr[NC];
    for (int c = 0; c < NC; c++) {
        bool open = u01(s) < m->elig[c];
        pctr[c] = AVG_CTR * exp(0.5 * ctx + 0.5 * gauss(s) - 0.25);
        if (!open || !active[c]) continue;
        opps[c] += 1;
        double bid = fmin(lam[c] * BASE_CPM * pctr[c] / AVG_CTR, MAX_CPM);
        if (bid > best_bid) {
            best_bid = bid;
            best = c;
        }
    }
    if (best >= 0 && best_bid > comp) {
        spend[best] += comp / 1000.0;
        clicks[best] += pctr[best];
    }
}

/* Constant multipliers over the flight, each campaign stopped when its
 * budget is spent (budget NULL: never). */
static void replay(const jmkt *m, const double lam[NC], const double *budget, double spend[NC],
                   double clicks[NC]) {
    uint64_t s = m->seed;
    double opps[NC] = {0};
    memset(spend, 0, NC * sizeof *spend);
    memset(clicks, 0, NC * sizeof *clicks);
    for (int k = 0; k < (int)m->flight_s; k++) {
        double want = rate_at(m, k + 0.5) + u01(&s) - 0.5;
        for (int i = 0; i < (int)fmax(want, 0.0); i++) {
            bool active[NC];
            for (int c = 0; c < NC; c++) active[c] = !budget || spend[c] < budget[c];
            opportunity(&s, m, lam, active, spend, clicks, opps);
        }
    }
}

static void budgets_of(const jmkt *m, double budget[NC]) {
    double lam[NC], spend[NC], clicks[NC];
    for (int c = 0; c < NC; c++) lam[c] = 1.0;
    replay(m, lam, NULL, spend, clicks);
    for (int c = 0; c < NC; c++) budget[c] = m->budget_frac[c] * spend[c];
}

/* The hindsight bidder: one multiplier per campaign, found by bisection
 * in turns (the campaigns move each other's spend), each spending its
 * budget. Total Σ pCTR of the wins. */
static double hindsight(const jmkt *m, const double budget[NC]) {
    double lam[NC], spend[NC], clicks[NC];
    for (int c = 0; c < NC; c++) lam[c] = 1.0;
    for (int round = 0; round < 4; round++)
        for (int c = 0; c < NC; c++) {
            double lo = 0.01, hi = 100;
            for (int it = 0; it < 24; it++) {
                lam[c] = sqrt(lo * hi);
                replay(m, lam, budget, spend, clicks);
                if (spend[c] < budget[c] * 0.9999) lo = lam[c];
                else hi = lam[c];
            }
            lam[c] = hi;
        }
    replay(m, lam, budget, spend, clicks);
    double total = 0;
    for (int c = 0; c < NC; c++) total += clicks[c];
    return total;
}

typedef struct jrun {
    double used[NC], clicks, lam_lo[NC], lam_hi[NC];
} jrun;

static void run_paced(const jmkt *m, beat_pacing mode, const double budget[NC], jrun *r) {
    act_pacer_cfg cfg;
    act_pacer_cfg_default(&cfg);
    cfg.transit_s = 0; /* the only delay is LAG, which data_ms shows */
    act_pacer p[NC];
    act_pacer_in in[NC];
    double pipe_s[NC][LAG], pipe_o[NC][LAG], seen_s[NC] = {0}, seen_o[NC] = {0};
    double spend[NC] = {0}, clicks[NC] = {0};
    memset(pipe_s, 0, sizeof pipe_s);
    memset(pipe_o, 0, sizeof pipe_o);
    memset(r, 0, sizeof *r);
    for (int c = 0; c < NC; c++) {
        act_pacer_init(&p[c]);
        memset(&in[c], 0, sizeof in[c]);
        in[c].start_ms = T0;
        in[c].end_ms = T0 + (int64_t)(m->flight_s * 1000);
        in[c].budget_micros = (int64_t)budget[c];
        in[c].mode = mode;
        r->lam_lo[c] = 1e9;
    }
    uint64_t s = m->seed;
    for (int k = 0; k < (int)m->flight_s + 10; k++) {
        double sp[NC] = {0}, op[NC] = {0}, lam[NC];
        bool active[NC];
        for (int c = 0; c < NC; c++) {
            lam[c] = p[c].multiplier;
            active[c] = !p[c].paused;
        }
        if (k < (int)m->flight_s) {
            double want = rate_at(m, k + 0.5) + u01(&s) - 0.5;
            for (int i = 0; i < (int)fmax(want, 0.0); i++)
                opportunity(&s, m, lam, active, sp, clicks, op);
        }
        int64_t now = T0 + (int64_t)(k + 1) * 1000;
        for (int c = 0; c < NC; c++) {
            spend[c] += sp[c];
            seen_s[c] += pipe_s[c][LAG - 1];
            seen_o[c] += pipe_o[c][LAG - 1];
            memmove(pipe_s[c] + 1, pipe_s[c], (LAG - 1) * sizeof(double));
            memmove(pipe_o[c] + 1, pipe_o[c], (LAG - 1) * sizeof(double));
            pipe_s[c][0] = sp[c];
            pipe_o[c][0] = op[c];
            in[c].spent_micros = (int64_t)seen_s[c];
            in[c].opps = (int64_t)seen_o[c];
            in[c].data_ms = now - LAG * 1000;
            act_pacer_step(&cfg, &p[c], &in[c], now);
            if (!p[c].paused && k > m->flight_s * 0.1 && k < m->flight_s * 0.9) {
                r->lam_lo[c] = fmin(r->lam_lo[c], p[c].multiplier);
                r->lam_hi[c] = fmax(r->lam_hi[c], p[c].multiplier);
            }
        }
    }
    for (int c = 0; c < NC; c++) {
        r->used[c] = spend[c] / budget[c];
        r->clicks += clicks[c];
    }
}

/* Three campaigns, two of them open to most of the same supply, on the
 * demo's shape (thin first, a ×0.15 drop, a ×5 surge at 60%, the crest),
 * with small budgets (multipliers well under 1) and large ones (1-5, the
 * max bid reached by the better opportunities). Measured: the value law
 * buys 0.90-0.95 of the hindsight bidder's clicks and lands 98.5-99.5% of
 * every budget (even: 0.65-0.87 of hindsight), and the multipliers do not
 * climb each other up: one campaign's win is a sibling's dearer market,
 * but both loops settle. So what the demo loses on this shape is not
 * the competition between our campaigns alone. One thing it does cost:
 * a campaign that stops hands its supply to the others at once, a surge
 * they see two ticks late (1 s here, 250 ms in the demo): one budget
 * landed at 101.9%. Checked: ≥ 0.88 of hindsight, more than even, every
 * budget 98-102.5%. */
static int test_shared_supply(void) {
    static const double fracs[2][NC] = {{0.35, 0.35, 0.5}, {1.5, 1.5, 2.0}};
    for (int seed = 1; seed <= 2; seed++)
        for (int f = 0; f < 2; f++) {
            double fl = f ? 140 : 90;
            jmkt m = {.seed = (uint64_t)seed * 7717u,
                      .flight_s = fl,
                      .opp_rate = 300,
                      .wave_amp = 0.5,
                      .wave_period_s = fl * 1.1,
                      .wave_phase = 0.3,
                      .surge_at = 0.6,
                      .surge_len = 0.1,
                      .drop_at = 0.25,
                      .drop_len = 0.05,
                      .drop_factor = 0.15,
                      .elig = {0.8, 0.7, 0.3}};
            memcpy(m.budget_frac, fracs[f], sizeof m.budget_frac);
            double budget[NC];
            budgets_of(&m, budget);
            double h = hindsight(&m, budget);
            jrun v, e;
            run_paced(&m, BEAT_PACING_VALUE, budget, &v);
            run_paced(&m, BEAT_PACING_EVEN, budget, &e);
            fprintf(stderr,
                    "  seed %d %.0fs budget ×%.2f: value %.3f of hindsight, used %.4f %.4f %.4f, "
                    "λ %.2f-%.2f %.2f-%.2f %.2f-%.2f | even %.3f\n",
                    seed, fl, fracs[f][0], v.clicks / h, v.used[0], v.used[1], v.used[2],
                    v.lam_lo[0], v.lam_hi[0], v.lam_lo[1], v.lam_hi[1], v.lam_lo[2], v.lam_hi[2],
                    e.clicks / h);
            CHECK(v.clicks >= 0.88 * h && v.clicks > e.clicks);
            for (int c = 0; c < NC; c++) CHECK(v.used[c] >= 0.98 && v.used[c] <= 1.025);
        }
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"shared_supply", test_shared_supply},
        {NULL, NULL},
    };
    return beat_test_main("pacer_joint", cases, argc, argv);
}
