/* The event semantics of datastream (docs/contracts.md "Events on Kafka" and
 * "Aggregates"): dedup, join, late events, aggregates and samples. Fed by the
 * consumer thread; the clock is a parameter (now_ms) so tests replay exact
 * scripts. */
#ifndef DST_STREAM_H
#define DST_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "beat_wire.h"
#include "buckets.h"
#include "samples.h"

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
    uint64_t events[BEAT_EV_CLICK + 1]; /* by beat_event_type */
    uint64_t invalid, duplicates, late;
    uint64_t evicted, revoked, no_campaign, campaign_overflow, bad_price;
    uint64_t samples_pos, samples_neg, samples_skipped, samples_unjoined;
} dst_stream_stats;

typedef struct dst_stream dst_stream;

dst_stream *dst_stream_new(const dst_stream_cfg *cfg, int64_t now_ms);
void dst_stream_free(dst_stream *s);

/* Decodes one Kafka message value and applies it. -EBADMSG (counted as
 * invalid, reason in why) if the JSON is not a valid event. */
int dst_stream_apply_json(dst_stream *s, const char *json, size_t len,
                          int32_t partition, int64_t now_ms, beat_reason *why);
void dst_stream_apply(dst_stream *s, const beat_event *ev, int32_t partition,
                      int64_t now_ms);
/* Closes due join entries (emitting negatives) and due buckets. */
void dst_stream_tick(dst_stream *s, int64_t now_ms);
/* Drops join state of revoked partitions (no samples from them). */
void dst_stream_revoke(dst_stream *s, const int32_t *parts, int n,
                       int64_t now_ms);

dst_buckets *dst_stream_buckets(dst_stream *s);
dst_samples *dst_stream_samples(dst_stream *s);
const dst_stream_stats *dst_stream_stats_get(const dst_stream *s);
int64_t dst_stream_open(const dst_stream *s);

#endif
