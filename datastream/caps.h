/* Impressions per (campaign, person, cap window) for frequency caps across
 * inference nodes (docs/campaigns.md "freq_cap"): counted by the consumer
 * thread (stream.c) when a capped bid's first win, bill or imp notice joins
 * it, read by the supervisor as deltas over HTTP (api.c, GET /v1/caps;
 * docs/contracts.md "Frequency caps"). Bounded: a table of --fcap-rows
 * rows (oldest windows evicted and counted) and a change journal of as
 * many entries. Thread-safe (one mutex, held for a count or one answer). */
#ifndef DST_CAPS_H
#define DST_CAPS_H

#include <stdint.h>

#include "beat_util.h"

#define DST_CAPS_PER_CALL_MAX 8192 /* rows per /v1/caps answer */

typedef struct dst_caps dst_caps;

/* max_rows ≥ 4. NULL on bad args or OOM. */
dst_caps *dst_caps_new(int64_t max_rows);
void dst_caps_free(dst_caps *c);

/* One impression of a bid made at bid_ts_ms by campaign on the person key
 * (beat_fcap_key), in that campaign's window of window_s seconds. */
void dst_caps_count(dst_caps *c, const char *campaign, uint64_t key, int32_t window_s,
                    int64_t bid_ts_ms);

/* Appends the answer to "after=SEQ" (at most max rows, each row once at its
 * latest change) to out: {"v":1,"instance":…,"epoch":"hex","first_seq":F,
 * "last_seq":L,"rows":[["camp hex","key hex",start_ms,window_s,count,
 * [recent…]],…]}. 0 or -EMSGSIZE. */
int dst_caps_encode(dst_caps *c, uint64_t after, int max, const char *instance, uint64_t epoch,
                    beat_buf *out);

typedef struct dst_caps_stats {
    int64_t rows, counted, evicted;
} dst_caps_stats;
void dst_caps_stats_get(dst_caps *c, dst_caps_stats *st);

#endif
