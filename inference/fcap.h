/* Frequency caps across inference nodes (docs/campaigns.md "freq_cap"):
 * the global impression counts per (campaign, person, window) that the
 * supervisor publishes ('F' frames, applied by the sync thread), and this
 * node's bids in flight (made, not yet seen counted in a frame). A capped
 * campaign may bid on a person when
 *     global count + (this node has a bid in flight on them ? 1 : 0) < max
 * and no bid of this node is in flight on them — one in flight per node,
 * so N nodes exceed a cap by at most N − 1 (docs/campaigns.md gives the
 * bound and its assumptions). When no complete frame came for --fcap-stale-ms
 * (supervisor or datastream away) the node decides with its own counts, as
 * before (bidder.c). Workers read under a read lock; one writer. */
#ifndef INF_FCAP_H
#define INF_FCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_util.h"

typedef struct inf_fcap inf_fcap;

typedef struct inf_fcap_cfg {
    int64_t rows_max;    /* global rows kept */
    int inflight_log2;   /* in-flight slots: 2^this */
    int64_t inflight_ms; /* a bid not seen counted this long is taken as lost */
    int64_t stale_ms;    /* no complete frame this long → local counting */
} inf_fcap_cfg;

inf_fcap *inf_fcap_new(const inf_fcap_cfg *cfg);
void inf_fcap_free(inf_fcap *f);

/* Applies an 'F' frame (sync thread). mono_ms: this host's monotonic clock,
 * for freshness; now_ms: engine time (beat_clock.h), for eviction: rows'
 * windows are engine time. 0 or -EBADMSG
 * with a reason (the frame is then ignored). */
int inf_fcap_apply(inf_fcap *f, const uint8_t *frame, size_t len, int64_t now_ms, int64_t mono_ms,
                   beat_reason *why);

/* The decision from its parts (pure; exposed for tests): fresh = the
 * global table is current; global = its count for the window; inflight =
 * this node has a bid on the person not yet counted; local = this node's
 * own bids in the window (used only when not fresh). */
static inline bool inf_fcap_decide(bool fresh, uint32_t global, bool inflight, int local, int max) {
    if (!fresh) return local < max;
    return !inflight && (int64_t)global + (inflight ? 1 : 0) < max;
}

/* May campaign camp (id hash) with cap max per window_s bid on key now?
 * now_ms is the wall clock (bids in flight are stamped with it); the window
 * is the one of its engine time, so under a simulated clock at rate R it
 * spans window_s / R wall seconds.
 * local: this node's own count in the window (the fallback). *seen gets
 * the pair's in-flight slot as read, for inf_fcap_take. Workers. */
bool inf_fcap_allow(inf_fcap *f, uint64_t camp, uint64_t key, int max, int32_t window_s, int local,
                    int64_t now_ms, int64_t mono_ms, uint64_t *seen);
/* Marks the winner's bid in flight: false if another worker bid on the
 * pair since allow read seen (then this one must not bid). untake puts
 * seen back when the bid is dropped after all (no lease). */
bool inf_fcap_take(inf_fcap *f, uint64_t camp, uint64_t key, int64_t now_ms, uint64_t seen);
void inf_fcap_untake(inf_fcap *f, uint64_t camp, uint64_t key, int64_t now_ms, uint64_t seen);

/* For /metrics: seconds since the last complete frame (-1: none yet),
 * rows held, frames refused, rows evicted, decisions made on local counts. */
typedef struct inf_fcap_stats {
    double frame_age_s;
    int64_t rows, frames, bad_frames, evicted, local_decisions;
} inf_fcap_stats;
void inf_fcap_stats_get(inf_fcap *f, int64_t mono_ms, inf_fcap_stats *st);
/* Registers the beat_inference_fcap_* gauges over f (start-up). */
void inf_fcap_metrics_init(inf_fcap *f);

#endif
