/* Win-price landscape per campaign (landscape.h): decayed won/lost counts by
 * price bucket, a monotone win-rate fit for first-price shading, and the
 * spend elasticity the fit implies. Counts decay over data time (bucket
 * ends), not wall time, so a replay or a paused pull ages nothing; the time
 * constant lets the curve follow a market that moves during the day. */
#include "landscape.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>

/* A bucket whose decayed count is below this holds no data: its ratio
 * would be noise, and after long decay every bucket tends there. */
#define DATA_MIN 0.01

void act_land_cfg_default(act_land_cfg *cfg) {
    cfg->tau_s = 1800;
    cfg->min_bids = 100;
    cfg->min_each = 5;
}

static void scale(act_land *l, double f) {
    for (int i = 0; i < BEAT_LAND_N; i++) {
        l->won[i] *= f;
        l->lost[i] *= f;
    }
}

void act_land_add(act_land *l, const act_land_cfg *cfg, const int32_t won[BEAT_LAND_N],
                  const int32_t lost[BEAT_LAND_N], int64_t t_ms) {
    bool any = false;
    for (int i = 0; i < BEAT_LAND_N && !any; i++) any = won[i] > 0 || lost[i] > 0;
    if (!any) return; /* most rows: a campaign with no settled bids */
    double tau_ms = cfg->tau_s > 0 ? cfg->tau_s * 1000.0 : 1.0;
    double w = 1.0;
    if (l->t_ms == 0) {
        l->t_ms = t_ms;
    } else if (t_ms > l->t_ms) {
        scale(l, exp(-(double)(t_ms - l->t_ms) / tau_ms));
        l->t_ms = t_ms;
    } else {
        w = exp(-(double)(l->t_ms - t_ms) / tau_ms);
    }
    for (int i = 0; i < BEAT_LAND_N; i++) {
        if (won[i] > 0) l->won[i] += w * won[i];
        if (lost[i] > 0) l->lost[i] += w * lost[i];
    }
}

int act_land_fit(const act_land *l, const act_land_cfg *cfg, float curve[BEAT_LAND_N]) {
    double n_won = 0, n_lost = 0;
    for (int i = 0; i < BEAT_LAND_N; i++) {
        n_won += l->won[i];
        n_lost += l->lost[i];
    }
    if (!(n_won + n_lost >= cfg->min_bids) || !(n_won >= cfg->min_each) ||
        !(n_lost >= cfg->min_each))
        return -EAGAIN;
    /* Pool adjacent violators over the buckets with data, in price order:
     * blocks of (weighted mean, weight, first bucket). */
    double val[BEAT_LAND_N], wt[BEAT_LAND_N];
    int first[BEAT_LAND_N], idx[BEAT_LAND_N], nb = 0, nd = 0;
    for (int i = 0; i < BEAT_LAND_N; i++) {
        double n = l->won[i] + l->lost[i];
        if (!(n >= DATA_MIN)) continue;
        idx[nd++] = i;
        val[nb] = l->won[i] / n;
        wt[nb] = n;
        first[nb] = nd - 1;
        nb++;
        while (nb > 1 && val[nb - 2] > val[nb - 1]) {
            double w = wt[nb - 2] + wt[nb - 1];
            val[nb - 2] = (val[nb - 2] * wt[nb - 2] + val[nb - 1] * wt[nb - 1]) / w;
            wt[nb - 2] = w;
            nb--;
        }
    }
    /* nd > 0: the thresholds above are positive */
    double fit[BEAT_LAND_N]; /* per data bucket, in idx order */
    for (int b = 0; b < nb; b++) {
        int end = b + 1 < nb ? first[b + 1] : nd;
        for (int k = first[b]; k < end; k++) fit[k] = val[b];
    }
    for (int i = 0; i < BEAT_LAND_N; i++) {
        double v;
        if (i < idx[0]) {
            v = 0; /* below the data: assume no wins */
        } else if (i >= idx[nd - 1]) {
            v = fit[nd - 1]; /* above: carried flat */
        } else {
            int k = 0;
            while (idx[k + 1] <= i) k++;
            double f = (double)(i - idx[k]) / (double)(idx[k + 1] - idx[k]);
            v = fit[k] + (fit[k + 1] - fit[k]) * f;
        }
        curve[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
    /* float rounding of an interpolation must not break the order */
    for (int i = 1; i < BEAT_LAND_N; i++)
        if (curve[i] < curve[i - 1]) curve[i] = curve[i - 1];
    return 0;
}

/* Expected spend, up to a constant, with every bid scaled by k = e^lk. */
static double spend_at(const act_land *l, const float curve[BEAT_LAND_N], double lk) {
    double s = 0, dpos = lk * 5.0 / log(10.0); /* a bucket step is 10^(1/5) */
    for (int i = 0; i < BEAT_LAND_N; i++) {
        double n = l->won[i] + l->lost[i];
        if (n > 0) s += n * beat_land_win(curve, i + dpos) * beat_land_price(i + dpos);
    }
    return s;
}

int act_land_spend_elasticity(const act_land *l, const float curve[BEAT_LAND_N], double *out) {
    /* W is piecewise linear between bucket centres, where the bids sit: a
     * central difference gives the mean of the slopes either side. */
    const double h = 0.01;
    double up = spend_at(l, curve, h), down = spend_at(l, curve, -h);
    if (!(up > 0) || !(down > 0)) return -EAGAIN;
    *out = (log(up) - log(down)) / (2 * h);
    return 0;
}
