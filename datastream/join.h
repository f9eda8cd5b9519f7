/* Join table of datastream: one entry per (auction, imp) seen recently, plus
 * a bounded "recently closed" set so that duplicates arriving after the
 * window are still recognised. Single-threaded (the consumer thread). */
#ifndef DST_JOIN_H
#define DST_JOIN_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_wire.h"

/* Entry flags: bit (1 << type) for each beat_event_type seen, plus: */
#define DST_F_WON 0x0100     /* a win or bill was counted (wins++) */
#define DST_F_SPENT 0x0200   /* spend was counted from a priced win/bill */
#define DST_F_HASBID 0x0400  /* the bid (features) joined */
#define DST_F_POS 0x0800     /* a positive sample was emitted */
#define DST_F_SETTLED 0x1000 /* a priced win/bill or a loss was read (docs/money.md) */
#define DST_F_LANDED 0x2000  /* the bid's price is in the win-price landscape */
#define DST_F_CAPPED 0x4000  /* the impression was counted for its frequency cap */
#define DST_F_TYPEBIT(t) ((uint16_t)(1u << (unsigned)(t)))

typedef enum { DST_CLOSE_EXPIRED, DST_CLOSE_EVICTED, DST_CLOSE_REVOKED } dst_close_reason;

typedef struct dst_entry {
    uint64_t key;
    struct dst_entry *hnext;       /* hash chain */
    struct dst_entry *prev, *next; /* FIFO by first sight = expiry order */
    int64_t first_ms;
    int64_t bid_ts_ms;
    int64_t bid_cpm; /* the bid's price (its worst case), from the bid log */
    double pctr;
    uint64_t cap_key; /* the bid's frequency-cap key, 0 = none */
    int32_t cap_window_s;
    int32_t partition;
    uint16_t flags;
    uint16_t n_feat;
    uint32_t *feat; /* owned, n_feat entries; NULL until the bid joined */
    char campaign[BEAT_ID_MAX + 1];
} dst_entry;

/* Called just before an entry leaves the table (it is freed afterwards). */
typedef void (*dst_close_fn)(void *arg, dst_entry *e, dst_close_reason why);

typedef struct dst_join dst_join;

/* max_open ≥ 1 entries; window_ms from first sight. NULL on bad args/OOM. */
dst_join *dst_join_new(int64_t max_open, int64_t window_ms, dst_close_fn fn, void *arg);
void dst_join_free(dst_join *j); /* frees entries without calling fn */

uint64_t dst_join_key(const char *auction, const char *imp);
dst_entry *dst_join_find(dst_join *j, uint64_t key);
/* New entry (flags 0). When full, the oldest is closed first (EVICTED).
 * NULL only on OOM. */
dst_entry *dst_join_insert(dst_join *j, uint64_t key, int32_t partition, int64_t now_ms);
/* Sets the bid's features on an entry (copied). 0 or -ENOMEM. */
int dst_join_set_feat(dst_entry *e, const uint32_t *feat, uint32_t n);

/* Recently closed set: flags of a closed key, false if unknown. */
bool dst_join_closed_get(dst_join *j, uint64_t key, uint16_t *flags);
void dst_join_closed_put(dst_join *j, uint64_t key, uint16_t flags, int64_t now_ms);

/* Closes entries whose window ended (EXPIRED); ages the closed set. */
void dst_join_expire(dst_join *j, int64_t now_ms);
/* Closes every entry of these partitions (REVOKED). Returns how many. */
int64_t dst_join_drop_partitions(dst_join *j, const int32_t *parts, int n, int64_t now_ms);

int64_t dst_join_open(const dst_join *j);
int64_t dst_join_closed_count(const dst_join *j);

#endif
