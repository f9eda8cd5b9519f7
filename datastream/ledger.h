/* One Kafka partition's dedup ledger: a SQLite file (WAL) holding the notice
 * keys this partition ever counted, within the retention, and the next
 * offset to consume (docs/contracts.md "Aggregates", docs/operations.md
 * "The datastream store"). Used by store.c on the consumer thread; one
 * ledger object is used by one thread at a time, but several processes may
 * open the same file (the partition's old and new owner): SQLite's locks
 * serialise their transactions. */
#ifndef DST_LEDGER_H
#define DST_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_util.h"
#include "beat_wire.h"

#define DST_LEDGER_FORMAT 1 /* meta "format": refused when different */

/* The key kinds beside the notice types (beat_event_type 1..6): a debit
 * marker per (auction, imp) says its spend was already counted. */
#define DST_LEDGER_DEBIT 0

typedef struct dst_ledger dst_ledger;

/* 63-bit key of (auction, imp, kind), kind a beat_event_type or
 * DST_LEDGER_DEBIT. Part of the file format: never change it. */
int64_t dst_ledger_key(const char *auction, const char *imp, int kind);

/* Opens (creating when absent) dir/<topic>-<partition>.db. A file that is
 * not a ledger of this topic and partition, of another format, read-only,
 * or unreadable is refused: -EBADMSG (corrupt or foreign) or -EIO, with a
 * reason. sync_full: fsync every commit (synchronous=FULL), else only at
 * checkpoints (NORMAL: a power cut may lose the last commits). */
int dst_ledger_open(const char *dir, const char *topic, int32_t partition,
                    bool sync_full, dst_ledger **out, beat_reason *why);
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
int dst_ledger_commit(dst_ledger *l, int64_t next_offset, int64_t clock_ms,
                      beat_reason *why);
void dst_ledger_rollback(dst_ledger *l);

/* Deletes at most max keys whose nts < cutoff_ms (its own transaction).
 * Returns how many, or a negative errno. */
int dst_ledger_expire(dst_ledger *l, int64_t cutoff_ms, int max, beat_reason *why);

#endif
