/* What one event of a batch adds to the hourly report rows (docs/reports.md
 * "What is counted"), decided inside the batch's ledger transaction so the
 * rows commit with the notice keys and the offset. Consumer thread. */
#ifndef DST_REPORT_COUNT_H
#define DST_REPORT_COUNT_H

#include <stdint.h>

#include "beat_wire.h"
#include "ledger.h"

/* The engine hour (its start, unix ms) of an event stamped ts_ms on the
 * wall clock, never later than now_ms: beat_clock.h's engine time. */
int64_t dst_report_hour_ms(int64_t ts_ms, int64_t now_ms);

/* Adds ev to its row in l's open batch. Call for a bid the join has not
 * seen, an opp whose key was new, and a notice whose key was new (a
 * duplicate counts nothing); spend_cpm is what its debit added (0: none). A win or bill
 * counts a win once per (auction, imp): unless the ledger holds the other
 * of the two under nts_ms. 0 or a negative errno (the batch must be
 * rolled back). */
int dst_report_count(dst_ledger *l, const beat_event *ev, int64_t spend_cpm, int64_t nts_ms,
                     int64_t now_ms);

/* Retention: deletes up to max rows of l's partition older than
 * retention_ms before the engine hour of now_ms (their own transaction).
 * How many, or a negative errno (logged "report_expire_failed"). */
int dst_report_retain(dst_ledger *l, int32_t partition, int64_t retention_ms, int max,
                      int64_t now_ms);

#endif
