/* datastream's HTTP API: GET /v1/aggregates and GET /v1/samples
 * (beat_wire.h formats), GET /v1/ledger (beat_ledger.h) and GET /v1/caps
 * (caps.h), GET /v1/reports (report_read.h, answered by the report
 * workers of report_serve.h). Runs on the libevent main thread. */
#ifndef DST_API_H
#define DST_API_H

#include <stdint.h>

#include "beat_http.h"
#include "buckets.h"
#include "caps.h"
#include "samples.h"
#include "store.h"

#define DST_AGG_PER_CALL_MAX 600 /* buckets per /v1/aggregates answer */
#define DST_SAMPLES_PER_CALL_MAX 10000
#define DST_SAMPLES_PER_CALL_DEF 1000

typedef struct dst_api {
    dst_buckets *buckets;          /* borrowed */
    dst_samples *samples;          /* borrowed */
    dst_samples *conv_samples;     /* borrowed; ?kind=conv */
    dst_store *store;              /* borrowed */
    dst_caps *caps;                /* borrowed */
    const char *store_dir, *topic; /* GET /v1/reports reads their files */
    const char *store_id;          /* the directory's (report_read.h) */
    int report_workers;            /* report_serve.h; 0: answered on the HTTP thread */
    int report_queue_max;
    struct dst_rserve *rserve; /* made by dst_api_install */
    const char *instance;
    uint64_t epoch;
} dst_api;

/* Routes the endpoints on h and starts the report workers; api must
 * outlive h. */
void dst_api_install(beat_http *h, dst_api *api);
/* Stops the report workers: after the loop, before beat_http_free(h). */
void dst_api_stop(dst_api *api);

#endif
