/* The yardsticks of the demo report. The oracle replays every auction of the
 * run offline with a linear bidder: campaign c bids λ_c × score (capped at
 * its max bid) on the auctions it is eligible for (camps.c), the exchange
 * takes our highest bid, and each λ_c is found by bisection so that c spends
 * its budget exactly (or everything it can, if the budget is out of reach),
 * repeated a few rounds because the campaigns compete for the same
 * auctions; a final replay in time order enforces each budget as a hard
 * stop. Two oracles, both graded in true expected clicks: the true-CTR one
 * (score = the hidden CTR: the best a bidder could do) and the pCTR one
 * (score = the engine's own pCTR from X-Beat-Explain: what pacing and
 * pricing alone could do with the engine's model). In first-price auctions
 * a bid is shaded: for value v the oracle bids argmax_b (v − b)·F_c(b), F_c
 * the distribution of the price to beat over the first-price auctions c is
 * eligible for in the run (it knows the market's distribution, not each
 * draw), and pays that bid when it wins. The Bayes AUC is the AUC of the
 * true CTR on the impressions the engine won (labels = the simulated
 * clicks), overall and per window. Runs once at the end of the run; memory
 * bounded by --oracle-max. */
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

/* Upper envelope of the lines C_k·(v − b_k) (b_k: one micro above the k-th
 * distinct first-price threshold, C_k: how many thresholds it beats) and
 * the no-bid line 0: at value v the best line gives the surplus-maximising
 * first-price bid. Slopes rise with k, so the envelope is built in one
 * pass and queried by bisection on its breakpoints. */
typedef struct hull {
    int n;
    double *m, *q, *bid, *x; /* line: m·v + q; x[j]: v from which line j is best */
} hull;

struct exs_oracle {
    const exs_camps *cs;
    int nc;
    int64_t n, cap, max, dropped, explained;
    rec *r;
    float *ctr;  /* n × nc: true CTR where eligible, else 0 */
    float *pctr; /* n × nc: the engine's pCTR where eligible and told, else 0 */
    hull *h;     /* nc, built at the first solve */
};

exs_oracle *exs_oracle_new(const exs_camps *cs, int64_t max_auctions) {
    exs_oracle *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->cs = cs;
    o->nc = cs->n;
    o->max = max_auctions;
    return o;
}

static void hulls_free(exs_oracle *o) {
    for (int c = 0; o->h && c < o->nc; c++) {
        free(o->h[c].m), free(o->h[c].q), free(o->h[c].bid), free(o->h[c].x);
    }
    free(o->h);
    o->h = NULL;
}

void exs_oracle_free(exs_oracle *o) {
    if (!o) return;
    hulls_free(o);
    free(o->r);
    free(o->ctr);
    free(o->pctr);
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
    size_t per = (size_t)(o->nc ? o->nc : 1);
    float *c = realloc(o->ctr, (size_t)cap * per * sizeof *c);
    if (!c) return false;
    o->ctr = c;
    float *p = realloc(o->pctr, (size_t)cap * per * sizeof *p);
    if (!p) return false;
    o->pctr = p;
    o->cap = cap;
    return true;
}

int exs_oracle_add_raw(exs_oracle *o, int64_t t_ms, int64_t thresh, int64_t floor, int at,
                       uint64_t elig, const float *ctr, const float *pctr, int won, bool clicked,
                       double won_ctr) {
    if (!grow(o)) {
        o->dropped++;
        return -ENOSPC;
    }
    if (thresh > INT32_MAX) thresh = INT32_MAX;
    if (floor > INT32_MAX) floor = INT32_MAX;
    rec *x = &o->r[o->n];
    *x = (rec){t_ms,        (int32_t)thresh, (int32_t)floor, (uint8_t)at,
               (int8_t)won, clicked,         (float)won_ctr, 0};
    float *c = &o->ctr[o->n * o->nc], *p = &o->pctr[o->n * o->nc];
    bool told = false;
    for (int k = 0; k < o->nc; k++) {
        bool e = elig >> k & 1 && ctr[k] > 0;
        if (e) x->elig |= 1ULL << k;
        c[k] = e ? ctr[k] : 0;
        /* NaN or 0: the engine did not say; not eligible for the pCTR oracle */
        p[k] = e && pctr && pctr[k] > 0 ? pctr[k] : 0;
        told |= p[k] > 0;
    }
    o->explained += told;
    o->n++;
    return 0;
}

void exs_oracle_add(exs_oracle *o, const exs_world *w, const exs_req *r, int64_t t_ms,
                    int64_t market, int won, bool clicked, double won_ctr, const float *pctr) {
    /* A test auction buys nothing: no opportunity for the oracle either. */
    if (r->test) return;
    int64_t floor = r->private_auction ? r->deal_floor_usd_micros : r->floor_usd_micros;
    int64_t thresh = market > floor ? market : floor;
    float ctr[64];
    uint64_t elig = 0;
    for (int c = 0; c < o->nc && c < 64; c++) {
        ctr[c] = 0;
        if (exs_camp_eligible(o->cs, c, w, r, t_ms)) {
            elig |= 1ULL << c;
            ctr[c] = (float)exs_true_ctr(w, r, exs_camp_id(o->cs, c));
        }
    }
    exs_oracle_add_raw(o, t_ms, thresh, floor, r->at, elig, ctr, pctr, won, clicked, won_ctr);
}

/* ---- first-price shading ---------------------------------------------------- */

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int hull_build(hull *h, int32_t *t, int64_t m) {
    qsort(t, (size_t)m, sizeof *t, cmp_i32);
    size_t cap = (size_t)m + 1;
    h->m = malloc(cap * sizeof *h->m), h->q = malloc(cap * sizeof *h->q);
    h->bid = malloc(cap * sizeof *h->bid), h->x = malloc(cap * sizeof *h->x);
    if (!h->m || !h->q || !h->bid || !h->x) return -ENOMEM;
    h->n = 1; /* the no-bid line */
    h->m[0] = 0, h->q[0] = 0, h->bid[0] = 0, h->x[0] = -INFINITY;
    for (int64_t i = 0; i < m; i++) {
        if (i + 1 < m && t[i + 1] == t[i]) continue; /* C counts every equal one */
        double M = (double)(i + 1), B = (double)t[i] + 1.0, Q = -M * B;
        double x = 0;
        while (h->n > 0) { /* drop lines the new one beats from their start on */
            int j = h->n - 1;
            x = (h->q[j] - Q) / (M - h->m[j]);
            if (x > h->x[j]) break;
            h->n--;
        }
        int j = h->n++;
        h->m[j] = M, h->q[j] = Q, h->bid[j] = B, h->x[j] = h->n == 1 ? -INFINITY : x;
    }
    return 0;
}

static double hull_bid(const hull *h, double v) {
    int lo = 0, hi = h->n - 1; /* the last line with x ≤ v */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (h->x[mid] <= v) lo = mid;
        else hi = mid - 1;
    }
    return h->bid[lo];
}

static int hulls_build(exs_oracle *o) {
    if (o->h) return 0;
    o->h = calloc((size_t)(o->nc ? o->nc : 1), sizeof *o->h);
    int32_t *t = malloc((size_t)(o->n ? o->n : 1) * sizeof *t);
    int rc = o->h && t ? 0 : -ENOMEM;
    for (int c = 0; rc == 0 && c < o->nc; c++) {
        int64_t m = 0;
        for (int64_t i = 0; i < o->n; i++)
            if (o->r[i].at == 1 && o->r[i].elig >> c & 1) t[m++] = o->r[i].thresh;
        rc = hull_build(&o->h[c], t, m);
    }
    free(t);
    if (rc) hulls_free(o);
    return rc;
}

double exs_oracle_shade(exs_oracle *o, int c, double value) {
    if (hulls_build(o) < 0 || c < 0 || c >= o->nc) return value;
    return hull_bid(&o->h[c], value);
}

/* ---- the replay ---------------------------------------------------------------- */

typedef struct solver {
    const exs_oracle *o;
    const float *score; /* o->ctr or o->pctr */
    bool shade;
} solver;

/* c's bid in auction i at lambda: 0 where it may not bid. */
static double bid_of(const solver *s, int c, double lambda, int64_t i) {
    const exs_oracle *o = s->o;
    double b = lambda * s->score[i * o->nc + c];
    if (!(b > 0)) return 0;
    double cap = (double)exs_camp_max_bid(o->cs, c);
    if (cap > 0 && b > cap) b = cap;
    if (s->shade && o->r[i].at == 1) b = hull_bid(&o->h[c], b);
    return b;
}

static double price_of(const rec *r, double b) {
    return r->at == 1 ? b : fmin((double)r->thresh + 10000.0, b);
}

/* c's result at lambda, the others' best bids fixed in other[]. */
static exs_oracle_res play(const solver *s, int c, double lambda, const double *other) {
    const exs_oracle *o = s->o;
    exs_oracle_res x = {0};
    for (int64_t i = 0; i < o->n; i++) {
        const rec *r = &o->r[i];
        if (!(s->score[i * o->nc + c] > 0)) continue;
        x.elig++;
        double b = bid_of(s, c, lambda, i);
        if (b <= other[i] || b <= r->thresh) continue;
        x.spend_cpm += price_of(r, b);
        x.clicks += o->ctr[i * o->nc + c];
        x.wins++;
    }
    return x;
}

static void others(const solver *s, int c, const double *lambda, double *other) {
    const exs_oracle *o = s->o;
    for (int64_t i = 0; i < o->n; i++) {
        double best = 0;
        uint64_t m = o->r[i].elig & ~(1ULL << c);
        for (int k = 0; m && k < o->nc; k++)
            if (m >> k & 1) {
                double b = bid_of(s, k, lambda[k], i);
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
static void final_pass(const solver *s, const double *lambda, exs_oracle_res *out) {
    const exs_oracle *o = s->o;
    for (int c = 0; c < o->nc; c++) out[c] = (exs_oracle_res){.lambda = lambda[c]};
    for (int64_t i = 0; i < o->n; i++) {
        const rec *r = &o->r[i];
        int win = -1;
        double best = 0, price = 0;
        for (int c = 0; c < o->nc; c++) {
            if (!(s->score[i * o->nc + c] > 0)) continue;
            out[c].elig++;
            double b = bid_of(s, c, lambda[c], i);
            if (b <= best || b <= r->thresh) continue;
            double p = price_of(r, b);
            if (out[c].spend_cpm + p > (double)exs_camp_budget(o->cs, c) * 1000.0) continue;
            win = c;
            best = b;
            price = p;
        }
        if (win < 0) continue;
        exs_oracle_res *x = &out[win];
        x->spend_cpm += price;
        x->clicks += o->ctr[i * o->nc + win];
        x->score_sum += s->score[i * o->nc + win];
        x->wins++;
        if (r->at == 1) {
            x->fp_wins++;
            x->fp_paid_cpm += price;
        }
    }
}

int exs_oracle_solve(exs_oracle *o, bool by_pctr, bool shade, exs_oracle_res *out) {
    int nc = o->nc;
    if (shade && hulls_build(o) < 0) return -ENOMEM;
    solver s = {o, by_pctr ? o->pctr : o->ctr, shade};
    double *lambda = calloc((size_t)(nc ? nc : 1), sizeof *lambda);
    double *other = calloc((size_t)(o->n ? o->n : 1), sizeof *other);
    if (!lambda || !other) {
        free(lambda), free(other);
        return -ENOMEM;
    }
    for (int c = 0; c < nc; c++) lambda[c] = 5e7; /* ~$1 CPM at a 2 % CTR */
    for (int round = 0; round < ROUNDS; round++)
        for (int c = 0; c < nc; c++) {
            others(&s, c, lambda, other);
            double budget_cpm = (double)exs_camp_budget(o->cs, c) * 1000.0;
            double lo = log(1e3), hi = log(1e12);
            if (play(&s, c, exp(hi), other).spend_cpm <= budget_cpm) {
                lambda[c] = exp(hi); /* the budget is out of reach: buy all it can */
                continue;
            }
            for (int it = 0; it < BISECT; it++) {
                double mid = (lo + hi) / 2;
                if (play(&s, c, exp(mid), other).spend_cpm > budget_cpm) hi = mid;
                else lo = mid;
            }
            lambda[c] = exp(lo); /* the largest λ within the budget */
        }
    final_pass(&s, lambda, out);
    free(lambda), free(other);
    return 0;
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
    if (!rc)
        rc = beat_buf_printf(out,
                             ",\"n\":%" PRId64 ",\"clicks\":%" PRId64 ",\"window_ms\":%" PRId64
                             ",\"windows\":[",
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
    exs_oracle_res *t = calloc((size_t)(nc ? nc : 1), sizeof *t);
    exs_oracle_res *p = calloc((size_t)(nc ? nc : 1), sizeof *p);
    int rc = t && p ? 0 : -ENOMEM;
    if (!rc) rc = exs_oracle_solve(o, false, true, t);
    if (!rc) rc = exs_oracle_solve(o, true, true, p);
    if (rc) {
        free(t), free(p);
        return rc;
    }
    /* What the engine's wins were worth in expected clicks, per campaign. */
    double sum_t = 0, sum_p = 0, sum_e = 0;
    rc = beat_buf_printf(out,
                         ",\"oracle\":{\"auctions\":%" PRId64 ",\"dropped\":%" PRId64
                         ",\"explained\":%" PRId64 ",\"campaigns\":{",
                         o->n, o->dropped, o->explained);
    for (int c = 0; rc == 0 && c < nc; c++) {
        double eng = 0, eng_p = 0;
        int64_t eng_wins = 0;
        for (int64_t i = 0; i < o->n; i++)
            if (o->r[i].won == c) {
                eng += o->r[i].won_ctr;
                eng_p += o->pctr[i * nc + c];
                eng_wins++;
            }
        sum_t += t[c].clicks, sum_p += p[c].clicks, sum_e += eng;
        if (c) rc = beat_buf_puts(out, ",");
        if (!rc) rc = beat_buf_json_str(out, exs_camp_id(o->cs, c), strlen(exs_camp_id(o->cs, c)));
        if (!rc)
            rc = beat_buf_printf(out,
                                 ":{\"eligible\":%" PRId64 ",\"wins\":%" PRId64
                                 ",\"spend_micros\":%.0f,\"budget_micros\":%" PRId64
                                 ",\"clicks\":%.2f,\"lambda\":%.6g,\"fp_wins\":%" PRId64
                                 ",\"fp_spend_micros\":%.0f,\"engine_wins\":%" PRId64
                                 ",\"engine_exp_clicks\":%.2f,\"engine_pctr_sum\":%.2f",
                                 t[c].elig, t[c].wins, t[c].spend_cpm / 1000.0,
                                 exs_camp_budget(o->cs, c), t[c].clicks, t[c].lambda, t[c].fp_wins,
                                 t[c].fp_paid_cpm / 1000.0, eng_wins, eng, eng_p);
        if (!rc)
            rc = beat_buf_printf(out,
                                 ",\"pctr_oracle\":{\"eligible\":%" PRId64 ",\"wins\":%" PRId64
                                 ",\"spend_micros\":%.0f"
                                 ",\"clicks\":%.2f,\"pctr_sum\":%.2f,\"lambda\":%.6g}}",
                                 p[c].elig, p[c].wins, p[c].spend_cpm / 1000.0, p[c].clicks,
                                 p[c].score_sum, p[c].lambda);
    }
    if (!rc)
        rc = beat_buf_printf(out,
                             "},\"clicks\":%.2f,\"pctr_clicks\":%.2f"
                             ",\"engine_exp_clicks\":%.2f}",
                             sum_t, sum_p, sum_e);
    if (!rc) rc = bayes_json(o, window_ms, out);
    free(t), free(p);
    return rc;
}
