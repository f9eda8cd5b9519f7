/* GET /v1/reports off the HTTP thread (docs/reports.md "Query"): a report
 * reads files for up to a second or more, so the handler (api.c) defers
 * the request (beat_http.h "deferred replies") to a small pool of worker
 * threads, and the aggregates, ledger, samples and caps answers the
 * actuator, trainer and supervisor depend on never wait behind it. The
 * queries accepted at once are bounded: beyond, 503 with Retry-After. */
#ifndef DST_REPORT_SERVE_H
#define DST_REPORT_SERVE_H

#include <stdbool.h>

#include "beat_http.h"
#include "report_query.h"

typedef struct dst_rserve_cfg {
    const char *dir, *topic, *store_id; /* borrowed; outlive the server */
    int workers;                        /* threads computing reports */
    int queue_max;                      /* queries waiting for a worker */
} dst_rserve_cfg;

typedef struct dst_rserve dst_rserve;

/* Starts the workers. NULL (logged) when none could start. The caller owns
 * the result: dst_rserve_free before beat_http_free. */
dst_rserve *dst_rserve_new(const dst_rserve_cfg *cfg);
/* Stops the workers (a running query finishes), answers queued ones 503;
 * NULL is a no-op. */
void dst_rserve_free(dst_rserve *rs);

/* HTTP thread: answers GET /v1/reports for q, now (503 + Retry-After when
 * the pool is full) or later from a worker. */
void dst_rserve_handle(dst_rserve *rs, beat_http_req *req, const dst_rq *q);

#endif
