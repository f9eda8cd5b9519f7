/* Per-campaign aggregates in processing-time buckets (docs/contracts.md
 * "Aggregates", beat_wire.h). Written by the consumer thread, read by the
 * HTTP thread; every function takes the module's own lock. */
#ifndef DST_BUCKETS_H
#define DST_BUCKETS_H

#include <stdint.h>

#include "beat_util.h"
#include "beat_wire.h"

/* What one event adds to its campaign's row in the open bucket. */
typedef struct dst_delta {
    int64_t bids, wins, imps, clicks;
    int64_t price_cpm_micros; /* clearing price to debit, 0 = none */
    /* market signals (beat_wire.h): a loss notice and its class, an expired bid */
    int64_t losses, loss_outbid, loss_floor, loss_other, expired;
    double pctr_bids, pctr_wins;
    /* our bid price that won / lost, into the landscape; 0 = none */
    int64_t won_bid_cpm, lost_bid_cpm;
    int64_t opps;                     /* opportunities an inference node reported */
    int64_t convs, conv_value_micros; /* an attributed conversion and its value */
} dst_delta;

/* Totals over closed buckets (tests, stats). */
typedef struct dst_totals {
    int64_t bids, wins, spend_micros, imps, clicks;
    int64_t losses, loss_outbid, loss_floor, loss_other, expired;
    double pctr_bids, pctr_wins;
    int64_t won_cpm[BEAT_LAND_N], lost_cpm[BEAT_LAND_N];
    int64_t opps;
    int64_t convs, conv_value_micros;
} dst_totals;

typedef struct dst_buckets dst_buckets;

/* The first bucket opens at floor(now_ms / bucket_ms) * bucket_ms. */
dst_buckets *dst_buckets_new(int64_t bucket_ms, int64_t buckets_max, int64_t campaigns_max,
                             int64_t now_ms);
void dst_buckets_free(dst_buckets *b);

/* Adds d to campaign's row of the bucket open at now_ms (closing due buckets
 * first). Spend is CPM/1000 with the per-campaign sub-micro remainder carried
 * over, so the total stays exact. -EINVAL: empty or too long id. -ENOSPC: the bucket already holds
 * campaigns_max campaigns (dropped; the caller counts it). */
int dst_buckets_add(dst_buckets *b, int64_t now_ms, const char *campaign, const dst_delta *d);
/* Closes every bucket whose end is ≤ now_ms; returns how many closed.
 * Buckets without events are closed too (empty campaigns map), so seqs map
 * one-to-one onto time and readers see time pass. */
int64_t dst_buckets_tick(dst_buckets *b, int64_t now_ms);

/* GET /v1/aggregates body: closes due buckets (now_ms), then encodes closed
 * buckets with seq > after, ascending, at most max (fewer if the body would
 * pass ~8 MiB). */
int dst_buckets_encode(dst_buckets *b, int64_t now_ms, uint64_t after, int max,
                       const char *instance, uint64_t epoch, beat_buf *out);

/* Where the heard time is published (heard.h): each bucket keeps its value
 * at its close, and answers carry the last listed bucket's as heard_ms. */
void dst_buckets_set_heard_src(dst_buckets *b, const _Atomic int64_t *src);

uint64_t dst_buckets_last_seq(dst_buckets *b);
uint64_t dst_buckets_first_seq(dst_buckets *b);
/* Sums campaign's rows (or all campaigns if campaign is NULL) over closed
 * buckets with seq > after. */
void dst_buckets_sum(dst_buckets *b, const char *campaign, uint64_t after, dst_totals *out);
int64_t dst_buckets_campaign_resets(dst_buckets *b);

#endif
