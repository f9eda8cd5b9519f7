/* Frequency caps across nodes (docs/campaigns.md "freq_cap", docs/contracts.md
 * "Frequency-cap frame"): the keyed hash a person's id travels as, the
 * bounded table of impression counts per (campaign, key, window) that
 * datastream counts in, the supervisor merges in and inference reads, and
 * the 'F' frame that carries rows from the supervisor to inference. No
 * threads and no locks here: each owner guards its table. The decoder never
 * trusts a byte of its input. */
#ifndef BEAT_FCAP_H
#define BEAT_FCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_util.h"

#define BEAT_FCAP_V 1
#define BEAT_FRAME_FCAP 'F'
#define BEAT_FCAP_RECENT 4        /* bid times of the latest impressions kept per row */
#define BEAT_FCAP_FRAME_ROWS 8192 /* rows per frame at most */
#define BEAT_FCAP_ROW_BYTES 48    /* camp, key, start, window_s, count, recent */
#define BEAT_FCAP_HDR_BYTES 15    /* tag, version, flags, ts, n */
#define BEAT_FCAP_FRAME_MAX (BEAT_FCAP_HDR_BYTES + BEAT_FCAP_FRAME_ROWS * BEAT_FCAP_ROW_BYTES)

/* Which id a cap key was made from, best first (docs/privacy.md "Frequency
 * caps"): our own cookie id, the device's advertising id, the exchange's
 * user id (qualified by the exchange, since two exchanges' ids may collide). */
typedef enum {
    BEAT_FCAP_ID_NONE = 0,
    BEAT_FCAP_ID_BUYERUID,
    BEAT_FCAP_ID_IFA,
    BEAT_FCAP_ID_USER,
} beat_fcap_id_kind;

/* The 64-bit cap key of an id: the first 8 bytes of HMAC-SHA256 keyed by a
 * key derived from secret (the notice secret every node shares), over the
 * kind, the exchange (for BEAT_FCAP_ID_USER only; "" when none) and the id.
 * Never 0 (0 means "no key" on the wire). 0 for kind NONE or a NULL id. */
uint64_t beat_fcap_key(const void *secret, size_t secret_len, beat_fcap_id_kind kind,
                       const char *exchange, const char *id);

/* The campaign half of a row's key: the campaign id hashed (XXH3, seed 0). */
uint64_t beat_fcap_camp(const char *campaign_id);

/* The start of the tumbling window of window_s seconds holding t_ms. */
static inline int64_t beat_fcap_win_start(int64_t t_ms, int32_t window_s) {
    int64_t w = (int64_t)(window_s > 0 ? window_s : 1) * 1000;
    int64_t q = t_ms / w;
    if (t_ms < 0 && q * w != t_ms) q--;
    return q * w;
}

/* One (campaign, key, window) and the impressions counted in it. recent
 * holds the low 32 bits of the bid time (ms) of the latest impressions,
 * newest first, 0 = none: how a node recognises its own bid in flight as
 * counted. seq is the owner's bookkeeping (datastream's change sequence),
 * never on the wire. */
typedef struct beat_fcap_row {
    uint64_t camp, key;
    int64_t win_start_ms;
    int32_t window_s;
    uint32_t count;
    uint32_t recent[BEAT_FCAP_RECENT];
    uint64_t seq;
} beat_fcap_row;

static inline int64_t beat_fcap_row_end(const beat_fcap_row *r) {
    return r->win_start_ms + (int64_t)r->window_s * 1000;
}
/* Adds one impression whose bid was at bid_ts_ms (count saturates). */
void beat_fcap_row_add(beat_fcap_row *r, int64_t bid_ts_ms);
/* True if recent names a bid made at bid_ts_ms. */
bool beat_fcap_row_has(const beat_fcap_row *r, int64_t bid_ts_ms);

/* A bounded table of rows: 4-way sets, a row's set chosen by its
 * (camp, key, window). A row whose window ended before the caller's now is
 * free; when a set is full, the row with the oldest window end is evicted. */
typedef struct beat_fcap_tab beat_fcap_tab;

/* Room for at least max_rows rows (≥ 4, ≤ 2^28). NULL on bad args / OOM. */
beat_fcap_tab *beat_fcap_tab_new(int64_t max_rows);
void beat_fcap_tab_free(beat_fcap_tab *t);
/* The row of (camp, key, win_start_ms), or NULL. */
beat_fcap_row *beat_fcap_tab_find(beat_fcap_tab *t, uint64_t camp, uint64_t key,
                                  int64_t win_start_ms);
/* Finds the row or makes a new one (count 0, seq 0). *evicted is set when
 * a row of a window still open at now_ms had to go. Never NULL. */
beat_fcap_row *beat_fcap_tab_upsert(beat_fcap_tab *t, uint64_t camp, uint64_t key,
                                    int64_t win_start_ms, int32_t window_s, int64_t now_ms,
                                    bool *evicted);
/* Slots (capacity) and the row in slot i (empty: window_s == 0). */
int64_t beat_fcap_tab_slots(const beat_fcap_tab *t);
beat_fcap_row *beat_fcap_tab_slot(beat_fcap_tab *t, int64_t i);
int64_t beat_fcap_tab_index(const beat_fcap_tab *t, const beat_fcap_row *r);
/* Rows held (including rows of ended windows not yet reused). */
int64_t beat_fcap_tab_rows(const beat_fcap_tab *t);

/* ---- the 'F' frame ------------------------------------------------------------------ */
/* 'F', u8 version, u8 flags (0), i64 LE ts_ms (the supervisor's clock when
 * sent), u32 LE n ≤ BEAT_FCAP_FRAME_ROWS, then n rows of u64 camp, u64 key,
 * i64 win_start_ms, i32 window_s (1..2^31-1), u32 count, 4 × u32 recent. */

/* Writes the frame of rows[0..n) (n ≤ BEAT_FCAP_FRAME_ROWS) into out (room
 * for BEAT_FCAP_HDR_BYTES + n * BEAT_FCAP_ROW_BYTES). Returns its length,
 * or -EINVAL. */
int64_t beat_fcap_frame_encode(const beat_fcap_row *rows, int n, int64_t ts_ms, uint8_t *out,
                               size_t cap);
/* Reads a frame. On success *ts_ms and *n are set and rows[0..n) filled
 * (rows has room for max_rows); -EBADMSG with a reason otherwise (nothing
 * useful written). */
int beat_fcap_frame_decode(const uint8_t *p, size_t len, int64_t *ts_ms, beat_fcap_row *rows,
                           int max_rows, int *n, beat_reason *why);

#endif
