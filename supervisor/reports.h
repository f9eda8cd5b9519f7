/* The supervisor's Reports page (docs/reports.md "The Reports page"): a
 * thread pulls the last hours' report rows by campaign and hour from every
 * datastream (GET /v1/reports), counts each store directory once (the
 * answers name theirs), sums the rest and keeps the result; GET
 * /v1/reports/recent serves it and GET /reports draws it. A datastream
 * that is down only leaves the result marked incomplete. */
#ifndef SUP_REPORTS_H
#define SUP_REPORTS_H

#include <stdint.h>

#include "beat_http.h"
#include "beat_util.h"

typedef struct sup_reports_cfg {
    const char *const *urls; /* datastream base URLs (copied) */
    int n_urls;
    int64_t every_ms, timeout_ms;
    int hours; /* how many engine hours back */
} sup_reports_cfg;

typedef struct sup_reports sup_reports;

/* Starts the puller (no thread when there are no URLs). NULL on OOM. */
sup_reports *sup_reports_new(const sup_reports_cfg *cfg);
void sup_reports_free(sup_reports *r); /* stops the thread; NULL no-op */
/* Routes GET /reports and GET /v1/reports/recent on h. */
void sup_reports_route(beat_http *h, sup_reports *r);

/* Sums the rows of one datastream answer (JSON, grouped by campaign and
 * hour) into acc: 0, or -EBADMSG with why. Exposed for tests. acc holds
 * the rows so far (owned by the caller: sup_reports_acc_fini). */
typedef struct sup_reports_row {
    char campaign[65];
    int64_t hour_ms;
    int64_t v[8]; /* opportunities, bids, wins, spend (CPM micros), impressions, clicks,
                     conversions, conv_value_micros */
} sup_reports_row;
typedef struct sup_reports_acc {
    sup_reports_row *rows;
    int n, cap;
} sup_reports_acc;
int sup_reports_add(sup_reports_acc *acc, const char *json, size_t len, char *store,
                    size_t store_len, beat_reason *why);
/* Sorts and combines equal (campaign, hour) rows, then encodes them. */
int sup_reports_encode(sup_reports_acc *acc, int64_t fetched_ms, int64_t from_ms, int answered,
                       int asked, beat_buf *out);
void sup_reports_acc_fini(sup_reports_acc *acc);

#endif
