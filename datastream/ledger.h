/* One Kafka partition's dedup ledger: a SQLite file (WAL) holding the notice
 * keys this partition ever counted, within the retention, and the next
 * offset to consume (docs/contracts.md "Aggregates", docs/operations.md
 * "The datastream store"). Used by store*.c on the consumer thread; one
 * ledger object is used by one thread at a time, but several processes may
 * open the same file (the partition's old and new owner): SQLite's locks
 * serialise their transactions. */
#ifndef DST_LEDGER_H
#define DST_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_ledger.h"
#include "beat_util.h"
#include "beat_wire.h"
#include "report_rows.h"

#define DST_LEDGER_FORMAT 1 /* meta "format": refused when different */

/* The key kinds beside the notice types (beat_event_type 1..6, and 9 for a
 * conversion, stored under the end of its window: stream.h): a debit
 * marker per (auction, imp) says its spend was already counted, a release
 * marker that its bid was settled (docs/money.md: its price no longer
 * counts as committed). */
#define DST_LEDGER_DEBIT 0
#define DST_LEDGER_RELEASE 8

typedef struct dst_ledger dst_ledger;

/* The last message of the last committed batch: its offset, Kafka
 * timestamp and a hash of key + value (beat_kafka.h, beat_kc_mark). Read
 * again before a partition resumes, it tells the log we read from a new
 * one that reused its offsets (docs/operations.md "The datastream store"). */
typedef struct dst_ledger_mark {
    int64_t offset; /* -1 = none */
    int64_t ts_ms;
    uint64_t hash;
} dst_ledger_mark;

/* 63-bit key of (auction, imp, kind), kind a beat_event_type or
 * DST_LEDGER_DEBIT. Part of the file format: never change it. */
int64_t dst_ledger_key(const char *auction, const char *imp, int kind);
/* The release marker's key, from the (auction, imp) join key (join.h), so
 * that a bid expired from its join entry (which keeps no ids) and one
 * settled by its notice share one marker. Part of the file format. */
int64_t dst_ledger_release_key(uint64_t join_key);

/* Opens (creating when absent) dir/<topic>-<partition>.db. A file that is
 * not a ledger of this topic and partition, of another format, read-only,
 * or unreadable is refused: -EBADMSG (corrupt or foreign) or -EIO, with a
 * reason. sync_full: fsync every commit (synchronous=FULL), else only at
 * checkpoints (NORMAL: a power cut may lose the last commits). */
int dst_ledger_open(const char *dir, const char *topic, int32_t partition, bool sync_full,
                    dst_ledger **out, beat_reason *why);
void dst_ledger_close(dst_ledger *l); /* rolls back an open batch; NULL no-op */

const char *dst_ledger_path(const dst_ledger *l);
/* The next offset to consume, -1 when none was ever stored. */
int64_t dst_ledger_next_offset(const dst_ledger *l);
/* Highest event ts seen (ms), the retention clock; 0 when none. */
int64_t dst_ledger_clock_ms(const dst_ledger *l);
int64_t dst_ledger_keys(const dst_ledger *l); /* rows in the key table */

/* A batch is one transaction: begin, add keys, commit with the next
 * offset. Nothing of it is visible (or durable) before commit. */
int dst_ledger_begin(dst_ledger *l, beat_reason *why);
/* 1 = (nts, key) is new (stored now), 0 = it was there (a duplicate), or
 * a negative errno (the batch must be rolled back). A notice is identified
 * by both: its replays carry the same signed ts. */
int dst_ledger_add(dst_ledger *l, int64_t key, int64_t nts_ms);
/* 1 = (nts, key) is stored (committed or in the open batch), 0 = not, or
 * a negative errno. */
int dst_ledger_has(dst_ledger *l, int64_t key, int64_t nts_ms);
int dst_ledger_commit(dst_ledger *l, int64_t next_offset, int64_t clock_ms, beat_reason *why);
void dst_ledger_rollback(dst_ledger *l);
/* The mark of the open batch's last message, written at its commit (a
 * batch committed without one leaves no mark). */
void dst_ledger_set_mark(dst_ledger *l, const dst_ledger_mark *m);
/* The committed mark: offset -1 when there is none for next_offset - 1. */
void dst_ledger_mark_get(const dst_ledger *l, dst_ledger_mark *out);

/* Adds to a campaign's spend and released totals in the open batch (written
 * at commit, dropped at rollback): docs/contracts.md "Spend ledger". */
int dst_ledger_credit(dst_ledger *l, const char *campaign, int64_t spend_cpm, int64_t released_cpm);
/* Committed batches so far: never goes back (it is in the file). */
int64_t dst_ledger_seq(const dst_ledger *l);
/* The committed totals per campaign (valid until the next batch). */
int dst_ledger_totals(const dst_ledger *l, const beat_ledger_row **rows);

/* Adds d to report row k in the open batch (written at commit, dropped at
 * rollback): report_rows.h. 0, -EINVAL (no batch) or -ENOMEM. */
int dst_ledger_report(dst_ledger *l, const dst_report_key *k, const dst_report_delta *d);
/* Deletes at most max report rows of hours before cutoff_hour_ms (its own
 * transaction): how many, or a negative errno. */
int dst_ledger_report_expire(dst_ledger *l, int64_t cutoff_hour_ms, int max, beat_reason *why);

/* Deletes at most max keys whose nts < cutoff_ms (its own transaction).
 * Returns how many, or a negative errno. */
int dst_ledger_expire(dst_ledger *l, int64_t cutoff_ms, int max, beat_reason *why);

#endif
