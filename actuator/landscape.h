/* Per-campaign win-price landscape: decayed counts of our bid prices that
 * won or lost by landscape bucket (the aggregates' won_cpm / lost_cpm), and
 * the win-rate curve fitted to them that the state carries to inference for
 * first-price shading. Pure: no I/O, no clocks (data time comes in). */
#ifndef ACT_LANDSCAPE_H
#define ACT_LANDSCAPE_H

#include <stdint.h>

#include "beat_wire.h"

typedef struct act_land {
    double won[BEAT_LAND_N], lost[BEAT_LAND_N]; /* decayed to t_ms */
    int64_t t_ms; /* data time the counts are decayed to; 0 = nothing yet */
} act_land;

/* What a curve needs before it is published. */
typedef struct act_land_cfg {
    double tau_s;    /* decay time constant over data time */
    double min_bids; /* decayed won + lost at least this... */
    double min_each; /* ...with at least this many wins and this many losses */
} act_land_cfg;
void act_land_cfg_default(act_land_cfg *cfg); /* 1800 s, 100 bids, 5 each */

/* Adds one aggregate row's counts, from a bucket that ended at t_ms. The
 * counts already held decay by exp(-Δt / tau) when t_ms is newer; a row
 * older than what is held (another datastream lagging) is added decayed by
 * its own age instead. */
void act_land_add(act_land *l, const act_land_cfg *cfg, const int32_t won[BEAT_LAND_N],
                  const int32_t lost[BEAT_LAND_N], int64_t t_ms);

/* Fits W_i = won / (won + lost) per bucket, made non-decreasing in price
 * by pooling adjacent violators (weighted by counts); buckets without data
 * between two with data are interpolated, W = 0 below the lowest bucket
 * with data and the top value carried flat above. 0 and curve written when
 * the counts pass cfg's thresholds; -EAGAIN (curve untouched) otherwise. */
int act_land_fit(const act_land *l, const act_land_cfg *cfg, float curve[BEAT_LAND_N]);

/* d ln(expected spend) / d ln(k) at k = 1 when every bid is scaled by k:
 * spend(k) ∝ Σ n_i W(k b_i) k b_i over the bid distribution n_i = won_i +
 * lost_i at bucket centres b_i, W interpolated as inference does
 * (beat_land_win). 1 means spend moves with the bids alone; above 1, bidding
 * higher also wins more. 0 and *out on success; -EAGAIN when the expected
 * spend is 0 (no bids, or none that win). */
int act_land_spend_elasticity(const act_land *l, const float curve[BEAT_LAND_N], double *out);

#endif
