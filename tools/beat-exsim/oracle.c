/* The yardsticks of the demo report. The oracle replays every auction of the
 * run offline with a linear bidder that knows the true CTR: campaign c bids
 * λ_c × CTR (capped at its max bid) on the auctions it is eligible for
 * (camps.c), the exchange takes our highest bid, and each λ_c is found by
 * bisection so that c spends its budget exactly (or everything it can, if
 * the budget is out of reach), repeated a few rounds because the campaigns
 * compete for the same auctions; a final replay in time order enforces
 * each budget as a hard stop. It reports the clicks such a bidder expects. The Bayes AUC is the AUC of the true CTR on the impressions the
 * engine won (labels = the simulated clicks), overall and per window.
 * Runs once at the end of the run; memory bounded by --oracle-max. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exsim.h"

#define ROUNDS 5
#define BISECT 40

typedef struct rec {
    int64_t t_ms;
    int32_t thresh, floor; /* CPM micros USD: price to beat, floor */
    uint8_t at;
    int8_t won; /* engine's campaign index, -1 none / unknown */
    uint8_t clicked;
    float won_ctr;
    uint64_t elig; /* bit c: campaign c eligible */
} rec;

struct exs_oracle {
    const exs_camps *cs;
    int nc;
    int64_t n, cap, max, dropped;
    rec *r;
    float *ctr; /* n × nc */
};


exs_oracle *exs_oracle_new(const exs_camps *cs, int64_t max_auctions) {
    exs_oracle *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->cs = cs;
    o->nc = cs->n;
    o->max = max_auctions;
    return o;
}

void exs_oracle_free(exs_oracle *o) {
    if (!o) return;
    free(o->r);
    free(o->ctr);
    free(o);
}

static bool grow(exs_oracle *o) {
    if (o->n < o->cap) return true;
    if (o->cap >= o->max) return false;
    int64_t cap = o->cap ? o->cap * 2 : 65536;
    if (cap > o->max) cap = o->max;
    rec *r = realloc(o->r, (size_t)cap * sizeof *r);
    if (!r) return false;
    o->r = r;
    float *c = realloc(o->ctr, (size_t)cap * (size_t)(o->nc ? o->nc : 1) * sizeof *c);
    if (!c) return false;
    o->ctr = c;
    o->cap = cap;
    return true;
}

void exs_oracle_add(exs_oracle *o, const exs_world *w, const exs_req *r, int64_t t_ms,
                    int64_t market, int won, bool clicked, double won_ctr) {
    /* A test auction buys nothing: no opportunity for the oracle either. */
    if (r->test) return;
    if (!grow(o)) {
        o->dropped++;
        return;
    }
    rec *x = &o->r[o->n];
    int64_t floor = r->private_auction ? r->deal_floor_usd_micros : r->floor_usd_micros;
    int64_t thresh = market > floor ? market : floor;
    if (thresh > INT32_MAX) thresh = INT32_MAX;
    *x = (rec){t_ms, (int32_t)thresh, (int32_t)floor, (uint8_t)r->at, (int8_t)won,
               clicked, (float)won_ctr, 0};
    float *ctr = &o->ctr[o->n * o->nc];
    for (int c = 0; c < o->nc; c++) {
        if (exs_camp_eligible(o->cs, c, w, r, t_ms)) {
            x->elig |= 1ULL << c;
            ctr[c] = (float)exs_true_ctr(w, r, exs_camp_id(o->cs, c));
        } else {
            ctr[c] = 0;
        }
    }
    o->n++;
}

static double bid_of(const exs_oracle *o, int c, double lambda, int64_t i) {
    double b = lambda * o->ctr[i * o->nc + c];
    double cap = (double)exs_camp_max_bid(o->cs, c);
    return cap > 0 && b > cap ? cap : b;
}

typedef struct res {
    double spend_cpm, clicks;
    int64_t wins, elig;
} res;

/* c's result at lambda, the others' best bids fixed in other[]. */
static res play(const exs_oracle *o, int c, double lambda, const double *other) {
    res x = {0, 0, 0, 0};
    for (int64_t i = 0; i < o->n; i++) {
        const rec *r = &o->r[i];
        if (!(r->elig >> c & 1)) continue;
        x.elig++;
        double b = bid_of(o, c, lambda, i);
        if (b <= other[i] || b <= r->thresh) continue;
        double price = r->at == 1 ? b : fmin((double)r->thresh + 10000.0, b);
        x.spend_cpm += price;
        x.clicks += o->ctr[i * o->nc + c];
        x.wins++;
    }
    return x;
}

static void others(const exs_oracle *o, int c, const double *lambda, double *other) {
    for (int64_t i = 0; i < o->n; i++) {
        double best = 0;
        uint64_t m = o->r[i].elig & ~(1ULL << c);
        for (int k = 0; m && k < o->nc; k++)
            if (m >> k & 1) {
                double b = bid_of(o, k, lambda[k], i);
                if (b > best) best = b;
            }
        other[i] = best;
    }
}

/* The replay with every λ fixed, in the order the auctions happened, as
 * one bidder: our highest affordable bid per auction; a campaign whose
 * budget cannot pay the price sits the auction out (its hard stop). The
 * bisection rounds make the λ consistent only approximately, so this pass
 * is what guarantees no campaign spends more than its budget. */
static void final_pass(const exs_oracle *o, const double *lambda, res *out) {
    for (int c = 0; c < o->nc; c++) out[c] = (res){0, 0, 0, 0};
    for (int64_t i = 0; i < o->n; i++) {
        const rec *r = &o->r[i];
        int win = -1;
        double best = 0, price = 0;
        for (int c = 0; c < o->nc; c++) {
            if (!(r->elig >> c & 1)) continue;
            double b = bid_of(o, c, lambda[c], i);
            if (b <= best || b <= r->thresh) continue;
            double p = r->at == 1 ? b : fmin((double)r->thresh + 10000.0, b);
            if (out[c].spend_cpm + p > (double)exs_camp_budget(o->cs, c) * 1000.0) continue;
            win = c;
            best = b;
            price = p;
        }
        for (int c = 0; c < o->nc; c++) out[c].elig += r->elig >> c & 1;
        if (win < 0) continue;
        out[win].spend_cpm += price;
        out[win].clicks += o->ctr[i * o->nc + win];
        out[win].wins++;
    }
}

/* AUC of score vs label over idx[0..n) (ties get the average rank). */
static const rec *g_recs;
static int by_score(const void *a, const void *b) {
    float x = g_recs[*(const int64_t *)a].won_ctr, y = g_recs[*(const int64_t *)b].won_ctr;
    return (x > y) - (x < y);
}

static double auc_of(const rec *r, int64_t *idx, int64_t n, int64_t *pos_out) {
    g_recs = r;
    qsort(idx, (size_t)n, sizeof *idx, by_score);
    double rank_sum = 0;
    int64_t pos = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && r[idx[j]].won_ctr == r[idx[i]].won_ctr) j++;
        double avg = (double)(i + j + 1) / 2.0; /* ranks i+1..j */
        for (int64_t k = i; k < j; k++)
            if (r[idx[k]].clicked) {
                rank_sum += avg;
                pos++;
            }
        i = j;
    }
    *pos_out = pos;
    int64_t neg = n - pos;
    if (pos == 0 || neg == 0) return NAN;
    return (rank_sum - (double)pos * (double)(pos + 1) / 2.0) / ((double)pos * (double)neg);
}

static int put_auc(beat_buf *out, double a) {
    return isfinite(a) ? beat_buf_printf(out, "%.5f", a) : beat_buf_puts(out, "null");
}

static int bayes_json(exs_oracle *o, int64_t window_ms, beat_buf *out) {
    int64_t *idx = malloc((size_t)(o->n ? o->n : 1) * sizeof *idx);
    if (!idx) return -ENOMEM;
    int64_t n = 0, pos = 0, t_first = 0, t_last = 0;
    for (int64_t i = 0; i < o->n; i++)
        if (o->r[i].won >= -1 && o->r[i].won_ctr > 0) {
            if (!n || o->r[i].t_ms < t_first) t_first = o->r[i].t_ms;
            if (o->r[i].t_ms > t_last) t_last = o->r[i].t_ms;
            idx[n++] = i;
        }
    double all = auc_of(o->r, idx, n, &pos);
    int rc = beat_buf_puts(out, ",\"bayes_auc\":{\"overall\":");
    if (!rc) rc = put_auc(out, all);
    if (!rc) rc = beat_buf_printf(out, ",\"n\":%" PRId64 ",\"clicks\":%" PRId64
                                  ",\"window_ms\":%" PRId64 ",\"windows\":[",
                                  n, pos, window_ms);
    int first = 1;
    for (int64_t t0 = t_first; rc == 0 && n > 0 && t0 <= t_last; t0 += window_ms) {
        int64_t k = 0, p = 0;
        for (int64_t i = 0; i < o->n; i++)
            if (o->r[i].won_ctr > 0 && o->r[i].t_ms >= t0 && o->r[i].t_ms < t0 + window_ms)
                idx[k++] = i;
        double a = auc_of(o->r, idx, k, &p);
        rc = beat_buf_printf(out, "%s{\"t0_ms\":%" PRId64 ",\"t1_ms\":%" PRId64 ",\"auc\":",
                             first ? "" : ",", t0, t0 + window_ms);
        if (!rc) rc = put_auc(out, a);
        if (!rc) rc = beat_buf_printf(out, ",\"n\":%" PRId64 ",\"clicks\":%" PRId64 "}", k, p);
        first = 0;
    }
    if (!rc) rc = beat_buf_puts(out, "]}");
    free(idx);
    return rc;
}

int exs_oracle_json(exs_oracle *o, const exs_world *w, int64_t window_ms, beat_buf *out) {
    (void)w;
    int nc = o->nc;
    double *lambda = calloc((size_t)(nc ? nc : 1), sizeof *lambda);
    double *other = calloc((size_t)(o->n ? o->n : 1), sizeof *other);
    res *best = calloc((size_t)(nc ? nc : 1), sizeof *best);
    if (!lambda || !other || !best) {
        free(lambda), free(other), free(best);
        return -ENOMEM;
    }
    for (int c = 0; c < nc; c++) lambda[c] = 5e7; /* ~$1 CPM at a 2 % CTR */
    for (int round = 0; round < ROUNDS; round++)
        for (int c = 0; c < nc; c++) {
            others(o, c, lambda, other);
            double budget_cpm = (double)exs_camp_budget(o->cs, c) * 1000.0;
            double lo = log(1e3), hi = log(1e12);
            if (play(o, c, exp(hi), other).spend_cpm <= budget_cpm) {
                lambda[c] = exp(hi); /* the budget is out of reach: buy all it can */
                continue;
            }
            for (int it = 0; it < BISECT; it++) {
                double mid = (lo + hi) / 2;
                if (play(o, c, exp(mid), other).spend_cpm > budget_cpm) hi = mid;
                else lo = mid;
            }
            lambda[c] = exp(lo); /* the largest λ within the budget */
        }
    final_pass(o, lambda, best);
    /* What the engine's wins were worth in expected clicks, per campaign. */
    int rc = beat_buf_printf(out, ",\"oracle\":{\"auctions\":%" PRId64 ",\"dropped\":%" PRId64
                             ",\"campaigns\":{", o->n, o->dropped);
    for (int c = 0; rc == 0 && c < nc; c++) {
        double eng = 0;
        int64_t eng_wins = 0;
        for (int64_t i = 0; i < o->n; i++)
            if (o->r[i].won == c) {
                eng += o->r[i].won_ctr;
                eng_wins++;
            }
        if (c) rc = beat_buf_puts(out, ",");
        if (!rc) rc = beat_buf_json_str(out, exs_camp_id(o->cs, c), strlen(exs_camp_id(o->cs, c)));
        if (!rc)
            rc = beat_buf_printf(out, ":{\"eligible\":%" PRId64 ",\"wins\":%" PRId64
                                 ",\"spend_micros\":%.0f,\"budget_micros\":%" PRId64
                                 ",\"clicks\":%.2f,\"lambda\":%.6g,\"engine_wins\":%" PRId64
                                 ",\"engine_exp_clicks\":%.2f}",
                                 best[c].elig, best[c].wins, best[c].spend_cpm / 1000.0,
                                 exs_camp_budget(o->cs, c), best[c].clicks, lambda[c],
                                 eng_wins, eng);
    }
    if (!rc) rc = beat_buf_puts(out, "}}");
    if (!rc) rc = bayes_json(o, window_ms, out);
    free(lambda), free(other), free(best);
    return rc;
}
