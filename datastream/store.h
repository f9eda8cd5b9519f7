/* The durable side of datastream's consumer (docs/contracts.md "Aggregates",
 * docs/operations.md "The datastream store"): one ledger (ledger.h) per
 * assigned partition, opened on assignment and closed on revoke, which
 * decides where reading resumes and which notices were already counted.
 * Each consumed batch of a partition is one transaction (keys + next
 * offset); only after it committed do the new events reach the stream.
 * Consumer thread only, except dst_store_info_get (any thread). */
#ifndef DST_STORE_H
#define DST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_ledger.h"
#include "heard.h"
#include "ledger.h"
#include "stream.h"

#define DST_STORE_PARTS_MAX 1024 /* partitions 0..1023 (as beat_kconsumer) */

/* Start offsets handed back by assign and maintain, beside offsets >= 0: */
#define DST_STORE_FROM_START (-1) /* nothing stored yet: the log's start */
#define DST_STORE_REFUSED (-2)    /* the ledger is unusable: do not consume */

typedef struct dst_store_cfg {
    const char *dir, *topic;
    int64_t retention_ms;     /* keys whose nts is older than this go */
    int64_t max_keys;         /* per partition; beyond it: full, never forget */
    bool sync_full;           /* fsync each commit (ledger.h) */
    int64_t retry_ms;         /* a refused ledger is tried again this often */
    int expire_batch;         /* keys per DELETE (0 = 2000) */
    int64_t expire_budget_ms; /* per maintain call (0 = 20) */
    /* Report rows of engine hours older than this go (0 = 400 days). */
    int64_t report_retention_ms;
} dst_store_cfg;

/* One consumed Kafka message: its value and offset. */
typedef struct dst_store_msg {
    const void *payload;
    size_t len;
    int64_t offset;
} dst_store_msg;

typedef struct dst_store_info {
    bool assigned_once; /* assign ran at least once */
    int open, refused;  /* ledgers open / assigned partitions refused */
    int64_t keys;       /* over the open ledgers */
    double fill_ratio;  /* max over open ledgers of keys / max_keys */
    bool full;          /* one of them reached max_keys */
    int n_listed;       /* refused partitions (the first 16) */
    int32_t refused_parts[16];
} dst_store_info;

typedef struct dst_store dst_store;

/* Copies cfg (and its strings). NULL on bad config or OOM. The directory
 * must exist. */
dst_store *dst_store_new(const dst_store_cfg *cfg);
void dst_store_free(dst_store *st); /* closes every ledger; NULL no-op */

/* Opens the ledgers of newly assigned partitions and fills start[i]: the
 * stored next offset, DST_STORE_FROM_START or DST_STORE_REFUSED (logged
 * "store_failed", retried by dst_store_maintain). */
void dst_store_assign(dst_store *st, const int32_t *parts, int n, int64_t *start, int64_t now_ms);
void dst_store_revoke(dst_store *st, const int32_t *parts, int n);

/* One partition's messages of a batch, in offset order: decodes them,
 * records the notice keys (and debit markers) and the next offset in one
 * transaction and, once it committed, applies the new events to s
 * (duplicates and invalid messages only counted). 0, or -EIO: nothing was
 * applied, the partition is refused (the caller stops consuming it; it is
 * retried from its stored offset by dst_store_maintain). -ENOENT: the
 * partition has no open ledger (refused or not assigned): nothing applied. */
int dst_store_ingest(dst_store *st, dst_stream *s, int32_t partition, const dst_store_msg *m, int n,
                     int64_t now_ms);
/* The same, recording last (the batch's last message: dst_ledger_mark)
 * with the offset, so that a resume can tell whether the broker's log is
 * still the one read (NULL: no mark). */
int dst_store_ingest_marked(dst_store *st, dst_stream *s, int32_t partition, const dst_store_msg *m,
                            int n, int64_t now_ms, const dst_ledger_mark *last);
/* The committed mark of an open partition (offset -1: none, or not open). */
void dst_store_mark(dst_store *st, int32_t partition, dst_ledger_mark *out);

/* The spend ledger of every partition held now (GET /v1/ledger), copied:
 * out owns its arrays (beat_ledger_fini). Any thread. 0 or -ENOMEM. */
int dst_store_ledger(dst_store *st, beat_ledger *out);

/* Expiry (docs/money.md): takes the stream's closed, unsettled bids and
 * releases, in one transaction per partition, those whose partition has
 * heard every receiver at least settle_ms past the bid with no gap since
 * (a release marker each, so a notice that still comes never releases the
 * same bid twice; a late bill still debits). The others wait, or are
 * dropped once they never can (their price then stays committed). Returns
 * how many were released. Consumer thread. */
int dst_store_expire(dst_store *st, dst_stream *s, const dst_heard *h, int64_t settle_ms,
                     int64_t now_ms);

/* Retention (a bounded amount of deletes) and retries of refused ledgers.
 * Fills parts/start (up to max) with the partitions whose ledger opened
 * again: resume them at start. Returns how many. */
int dst_store_maintain(dst_store *st, int64_t now_ms, int32_t *parts, int64_t *start, int max);

/* Closes the partition's ledger and treats it as refused, so that
 * dst_store_maintain reopens it and hands it back later (when the caller
 * could not resume reading it). */
void dst_store_retry_later(dst_store *st, int32_t partition, int64_t now_ms, const char *reason);

void dst_store_info_get(dst_store *st, dst_store_info *out); /* thread-safe */

#endif
