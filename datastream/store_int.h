/* What the partition store's files share (store.h): store.c (the
 * partitions' ledgers: open, refuse, retention, snapshots), store_ingest.c
 * (a consumed batch: decode, record, commit, apply) and store_expiry.c
 * (bids released without a notice). Not for other modules. */
#ifndef DST_STORE_INT_H
#define DST_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "beat_metrics.h"
#include "beat_util.h"
#include "store.h"

typedef struct dst_store_part {
    dst_ledger *l;
    bool assigned, refused;
    int64_t next_retry_ms, next_expire_ms, next_report_ms;
    /* The ledger's committed totals as GET /v1/ledger serves them; under
     * mu (the HTTP thread reads them). snap_seq < 0: not held here. */
    beat_ledger_row *snap;
    int snap_n;
    int64_t snap_seq;
} dst_store_part;

struct dst_store {
    dst_store_cfg cfg;
    char *dir, *topic;
    dst_store_part p[DST_STORE_PARTS_MAX];
    bool assigned_once;
    /* batch scratch, grown on demand */
    beat_event *ev;
    uint8_t *what;
    int cap;
    uint64_t *bids; /* the batch's bid keys (open addressing), 2 × cap slots */
    uint32_t *bgen; /* a slot is used when its generation is the batch's */
    uint32_t gen;
    /* Unsettled bids waiting for their partition's heard time (expiry). */
    dst_unsettled *wait;
    int n_wait;
    pthread_mutex_t mu; /* guards info and the parts' snapshots */
    dst_store_info info;
};

/* The store's metrics, all registered by the first dst_store_new (one
 * place, so /metrics keeps listing them in the same order). */
typedef struct dst_store_metrics {
    beat_gauge *keys, *fill, *full, *refused;
    beat_counter *errors, *expired, *batches, *full_batches;
    beat_counter *bids_expired, *expiry_dropped;
    beat_histogram *commit;
} dst_store_metrics;
extern dst_store_metrics dst_store_m;

static inline bool dst_store_part_ok(int32_t p) { return p >= 0 && p < DST_STORE_PARTS_MAX; }

/* Recomputes the info snapshot and gauges (after every change;
 * O(partitions)). */
void dst_store_publish(dst_store *st);
/* Copies partition i's committed totals for the HTTP thread (after a
 * commit or an open); a closed ledger's snapshot goes. */
void dst_store_snap(dst_store *st, int32_t i);
/* Closes partition i's ledger: it stops being consumed until its ledger
 * opens again (logged "store_failed", retried by dst_store_maintain). */
void dst_store_refuse(dst_store *st, int32_t i, const char *op, const beat_reason *why,
                      int64_t now_ms);

#endif
