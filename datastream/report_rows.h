/* The hourly report rows of one partition (docs/reports.md): a table in
 * the partition's ledger file, written in the same transaction as the
 * batch's notice keys and next offset (ledger.c), so a crash loses nothing
 * a committed batch counted and counts nothing twice. This module holds
 * the batch's pending increments in memory and writes them at commit.
 * Consumer thread only (one object per ledger). */
#ifndef DST_REPORT_ROWS_H
#define DST_REPORT_ROWS_H

#include <stdint.h>
#include <sqlite3.h>

#include "beat_wire.h"

#define DST_HOUR_MS 3600000LL

/* A row: one engine hour (its start, unix ms) of one campaign on one
 * exchange with one creative ("" where the event names none). */
typedef struct dst_report_key {
    int64_t hour_ms;
    char campaign[BEAT_ID_MAX + 1];
    char exchange[BEAT_ID_MAX + 1];
    char creative[BEAT_ID_MAX + 1];
} dst_report_key;

/* What a row counts; spend in CPM micros (summed exactly; the reader
 * divides by 1000 after summing); conv_value: the counted conversions'
 * values (micros). */
typedef struct dst_report_delta {
    int64_t opps, bids, wins, spend_cpm, imps, clicks, convs, conv_value;
} dst_report_delta;

/* The table, created with the ledger's other tables. */
extern const char DST_REPORT_SCHEMA[];

/* Brings a file's table written by an older version up to this schema
 * (ALTER TABLE ADD COLUMN: columns added later read 0 in old rows). Inside
 * the caller's transaction, after DST_REPORT_SCHEMA. 0 or -EIO with why. */
int dst_rrows_migrate(sqlite3 *db, beat_reason *why);

typedef struct dst_rrows dst_rrows;

/* Prepares the statements on db (whose schema has the table). NULL on
 * failure (reason in why). The caller owns the result. */
dst_rrows *dst_rrows_new(sqlite3 *db, beat_reason *why);
void dst_rrows_free(dst_rrows *r); /* NULL no-op */

/* Adds d to row k in the pending batch. 0 or -ENOMEM (the batch must then
 * be rolled back). */
int dst_rrows_add(dst_rrows *r, const dst_report_key *k, const dst_report_delta *d);
/* Writes the pending rows (inside the caller's open transaction): SQLite's
 * result code (SQLITE_DONE on success). The pending rows stay until
 * dst_rrows_clear. */
int dst_rrows_flush(dst_rrows *r);
void dst_rrows_clear(dst_rrows *r); /* after commit or rollback */
int dst_rrows_pending(const dst_rrows *r);

/* Deletes at most max rows of hours before cutoff_hour_ms (in the caller's
 * transaction or autocommit): how many, or a negative SQLite code. */
int dst_rrows_expire(dst_rrows *r, int64_t cutoff_hour_ms, int max);

#endif
