/* Answers GET /v1/reports (docs/reports.md) from every partition file in the
 * store directory, whoever owns the partition now: every datastream of a
 * host shares the directory, so any of them answers for all its
 * partitions, also those of an instance that is down. Files are opened
 * read-only per request (WAL: readers never wait for the writers). Runs on
 * a report worker (report_serve.h); the work is bounded by the rows in the
 * asked hours. Thread-safe: every call has its own connections. */
#ifndef DST_REPORT_READ_H
#define DST_REPORT_READ_H

#include "beat_util.h"
#include "report_query.h"

#define DST_REPORT_ROWS_MAX 100000 /* result rows; more is refused (narrow the query) */

/* Appends the answer to q (JSON or CSV as q->csv says) to out. 0; -E2BIG
 * (more than DST_REPORT_ROWS_MAX rows: a 400 with why); -EIO (the store
 * directory or a file could not be read: why). */
int dst_report_read(const char *dir, const char *topic, const char *store_id, const dst_rq *q,
                    beat_buf *out, beat_reason *why);

/* The store directory's identity (docs/reports.md "Across hosts"): 32 hex
 * digits kept in dir/store-id, created at random when absent, so readers
 * that ask several datastreams count each directory once. 0 or -errno. */
int dst_report_store_id(const char *dir, char out[33]);

/* The UTC text of unix ms t: "YYYY-MM-DDTHH:MM:SSZ" (buf of 24+). */
void dst_report_iso(int64_t t, char *buf, size_t n);

#endif
