/* GET /v1/reports parameters (docs/reports.md "Query"): parsed from the raw
 * query string and the Accept header, which come from anyone who can reach
 * the port, so every byte is checked and anything odd is refused with a
 * reason for the 400 (fuzz/fuzz_reports.c). Pure: no I/O, any thread. */
#ifndef DST_REPORT_QUERY_H
#define DST_REPORT_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_util.h"
#include "beat_wire.h"

/* The group_by columns. */
typedef enum {
    DST_RQ_HOUR,
    DST_RQ_CAMPAIGN,
    DST_RQ_EXCHANGE,
    DST_RQ_CREATIVE,
    DST_RQ_NCOLS
} dst_rq_col;

#define DST_RQ_TIME_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

typedef struct dst_rq {
    /* Hours whose start h is in [from_ms, to_ms); from_ms is floored to its
     * hour, so the hour holding "from" is in. */
    int64_t from_ms, to_ms;
    int n_group;                    /* 0: one row of totals */
    dst_rq_col group[DST_RQ_NCOLS]; /* in the order given */
    char campaign[BEAT_ID_MAX + 1]; /* "" = every campaign */
    bool csv;
} dst_rq;

/* Parses query (the part after '?', NULL or "" = defaults: everything
 * retained, grouped by hour, campaign, exchange, creative, JSON) and accept
 * (the Accept header or NULL: "text/csv" picks CSV unless format= says
 * otherwise). 0, or -EINVAL with the reason. out is written on success. */
int dst_rq_parse(const char *query, const char *accept, dst_rq *out, beat_reason *why);

/* A time: unix ms (digits) or ISO-8601 UTC "YYYY-MM-DD", "YYYY-MM-DDTHH",
 * "…THH:MM", "…THH:MM:SS", optional ".fff" and "Z" (or "+00:00"). 0 or
 * -EINVAL with the reason. */
int dst_rq_time(const char *s, int64_t *ms, beat_reason *why);

const char *dst_rq_col_name(dst_rq_col c);

#endif
