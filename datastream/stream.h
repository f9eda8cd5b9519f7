/* The event semantics of datastream (docs/contracts.md "Events on Kafka" and
 * "Aggregates"): dedup, join, late events, aggregates and samples. Fed by the
 * consumer thread; the clock is a parameter (now_ms) so tests replay exact
 * scripts. */
#ifndef DST_STREAM_H
#define DST_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_wire.h"
#include "buckets.h"
#include "heard.h"
#include "samples.h"

/* A clearing price above $1M CPM is not money we believe in; refusing it
 * also keeps the int64 sums far from overflow. Spend is debited only for
 * prices in (0, DST_PRICE_CPM_MAX]. */
#define DST_PRICE_CPM_MAX 1000000000000LL

typedef struct dst_stream_cfg {
    int64_t bucket_ms, buckets_max, campaigns_max;
    int64_t join_window_ms, max_open;
    int64_t samples_max;
    double neg_rate; /* (0, 1]: negatives kept with this probability */
    uint64_t seed;   /* for the negative down-sampling */
} dst_stream_cfg;

/* Counters of one stream (also mirrored into /metrics). Written by the
 * consumer thread only; read them on that thread (or in tests). */
typedef struct dst_stream_stats {
    uint64_t events[BEAT_EV_CONV + 1]; /* by beat_event_type (hb, opp apart) */
    uint64_t invalid, duplicates, late;
    uint64_t durable_duplicates; /* of duplicates: caught by the ledger */
    uint64_t debited_before;     /* priced win/bill whose spend the ledger
                                    says was counted already */
    uint64_t evicted, revoked, no_campaign, campaign_overflow, bad_price;
    uint64_t samples_pos, samples_neg, samples_skipped, samples_unjoined;
    uint64_t heartbeats;       /* receivers' hb events: no aggregate, sample or key */
    uint64_t opp_events;       /* inference nodes' opp events: aggregated, never joined */
    uint64_t convs_attributed; /* conv events counted for their click's campaign */
    uint64_t convs_late;       /* conv events after their signed window: not counted */
    uint64_t conv_samples;     /* conversion samples emitted */
    uint64_t conv_unjoined;    /* attributed, but the click's features were not held */
} dst_stream_stats;

typedef struct dst_stream dst_stream;

/* The time a notice's dedup key is stored under (ledger.h): its signed ts
 * (the event's ts when it has none). A conversion's key is stored under the
 * end of its window instead, the last moment the receiver takes it, so it
 * is kept --dedup-retention-s past that and a replay is always a duplicate
 * (docs/contracts.md "Conversions"). */
int64_t dst_stream_dedup_ts(const beat_event *ev);

dst_stream *dst_stream_new(const dst_stream_cfg *cfg, int64_t now_ms);
void dst_stream_free(dst_stream *s);

/* Decodes one Kafka message value and applies it. -EBADMSG (counted as
 * invalid, reason in why) if the JSON is not a valid event. */
int dst_stream_apply_json(dst_stream *s, const char *json, size_t len, int32_t partition,
                          int64_t now_ms, beat_reason *why);
void dst_stream_apply(dst_stream *s, const beat_event *ev, int32_t partition, int64_t now_ms);
/* As dst_stream_apply, with what the partition's ledger knows (store_ingest.c):
 * DST_APPLY_DEBITED = the spend of this (auction, imp) was already counted
 * (by this process before a restart, or by the partition's previous
 * owner): the event still counts as a win, never as spend again. */
#define DST_APPLY_DEBITED 1u
void dst_stream_apply_ex(dst_stream *s, const beat_event *ev, int32_t partition, int64_t now_ms,
                         unsigned flags);
/* Counts an event the ledger already held (a durable duplicate): in the
 * event and duplicate counters, never in aggregates or samples. */
void dst_stream_count_duplicate(dst_stream *s, const beat_event *ev);
/* Whether the join still remembers an event of this type for (auction,
 * imp) (an open entry, or a closed one's flags): one applied now would be
 * a duplicate to the aggregates. */
bool dst_stream_seen(dst_stream *s, const char *auction, const char *imp, beat_event_type type);
/* Counts a message that is not a valid event (see dst_stream_apply_json). */
void dst_stream_count_invalid(dst_stream *s);
/* A bid whose join entry closed with no settling notice read (no priced
 * win/bill, no loss): a candidate for expiry (docs/money.md), which
 * store_expiry.c decides with the partition's heard time. */
typedef struct dst_unsettled {
    uint64_t join_key;
    int32_t partition;
    int64_t bid_ts_ms, bid_cpm, closed_ms;
    bool landed;   /* already in the landscape (won without a price) */
    bool released; /* store_expiry.c: released in the transaction under way */
    char campaign[BEAT_ID_MAX + 1];
} dst_unsettled;
#define DST_UNSETTLED_MAX 65536 /* beyond, candidates are dropped (never expire) */
/* Moves up to max candidates into out; returns how many. */
int dst_stream_take_unsettled(dst_stream *s, dst_unsettled *out, int max);
/* u expired (the ledger released its bid, once): unless it was already in
 * the landscape it counts as expired and as lost at its bid price in the
 * bucket open at now_ms, and a late notice no longer moves it. */
void dst_stream_expired(dst_stream *s, const dst_unsettled *u, int64_t now_ms);

/* Closes due join entries (emitting negatives) and due buckets. */
void dst_stream_tick(dst_stream *s, int64_t now_ms);
/* Drops join state of revoked partitions (no samples from them). */
void dst_stream_revoke(dst_stream *s, const int32_t *parts, int n, int64_t now_ms);

/* Impressions of capped bids are counted in c from now on (borrowed; NULL:
 * not counted). */
struct dst_caps;
void dst_stream_set_caps(dst_stream *s, struct dst_caps *c);
/* Heartbeats applied from now on go to h (borrowed; NULL: only counted). */
void dst_stream_set_heard(dst_stream *s, dst_heard *h);

dst_buckets *dst_stream_buckets(dst_stream *s);
dst_samples *dst_stream_samples(dst_stream *s);
/* Conversion samples (docs/contracts.md "Training samples", "conv":1): the
 * features of a clicked bid again, when a conversion of that click was
 * attributed while the click is among the last DST_CLICKS_MAX remembered. */
dst_samples *dst_stream_conv_samples(dst_stream *s);
#define DST_CLICKS_MAX 8192
const dst_stream_stats *dst_stream_stats_get(const dst_stream *s);
int64_t dst_stream_open(const dst_stream *s);

#endif
