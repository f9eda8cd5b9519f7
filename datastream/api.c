/* HTTP handlers for the readers of datastream (actuator, lighttrainer):
 * validate the cursor parameters (400 with a reason on anything odd), then
 * encode from the buckets / samples modules, which hold their own locks.
 * Answers are bounded (buckets and samples per call); must never block on
 * the consumer thread for longer than a copy. */
#include "api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "report_query.h"
#include "report_read.h"
#include "report_serve.h"

#define BODY_MAX (32u << 20)

static beat_histogram *h_agg, *h_smp;

static bool get_only(beat_http_req *req) {
    if (beat_http_req_method(req) == BEAT_HTTP_GET) return true;
    beat_http_reply_error(req, 405, "method not allowed: use GET");
    return false;
}

static void on_aggregates(beat_http_req *req, void *arg) {
    dst_api *api = arg;
    int64_t t0 = beat_mono_us();
    if (!get_only(req)) return;
    int64_t after;
    if (beat_http_query_i64(req, "after", 0, 0, INT64_MAX, &after) != 0) {
        beat_http_reply_error(req, 400, "after must be an integer >= 0");
        return;
    }
    beat_buf out;
    beat_buf_init(&out, BODY_MAX);
    int rc = dst_buckets_encode(api->buckets, beat_now_ms(), (uint64_t)after, DST_AGG_PER_CALL_MAX,
                                api->instance, api->epoch, &out);
    if (rc) {
        beat_log_rl(5000, BEAT_ERROR, "encode_failed", "what=aggregates rc=%d", rc);
        beat_http_reply_error(req, 500, "cannot encode aggregates");
    } else {
        beat_http_reply_json(req, 200, out.data, out.len);
    }
    beat_buf_fini(&out);
    beat_histogram_observe(h_agg, (double)(beat_mono_us() - t0) / 1e6);
}

/* The spend ledger of the partitions held now (docs/contracts.md "Spend
 * ledger"): what the supervisor settles budget leases with. */
static void on_ledger(beat_http_req *req, void *arg) {
    dst_api *api = arg;
    if (!get_only(req)) return;
    beat_ledger l;
    beat_buf out;
    beat_buf_init(&out, BODY_MAX);
    int rc = dst_store_ledger(api->store, &l);
    if (rc == 0) {
        snprintf(l.instance, sizeof l.instance, "%s", api->instance);
        rc = beat_ledger_encode(&l, &out);
        beat_ledger_fini(&l);
    }
    if (rc) {
        beat_log_rl(5000, BEAT_ERROR, "encode_failed", "what=ledger rc=%d", rc);
        beat_http_reply_error(req, 503, "cannot encode the ledger");
    } else {
        beat_http_reply_json(req, 200, out.data, out.len);
    }
    beat_buf_fini(&out);
}

static void on_samples(beat_http_req *req, void *arg) {
    dst_api *api = arg;
    int64_t t0 = beat_mono_us();
    if (!get_only(req)) return;
    int64_t after, max;
    if (beat_http_query_i64(req, "after", 0, 0, INT64_MAX, &after) != 0) {
        beat_http_reply_error(req, 400, "after must be an integer >= 0");
        return;
    }
    if (beat_http_query_i64(req, "max", DST_SAMPLES_PER_CALL_DEF, 1, DST_SAMPLES_PER_CALL_MAX,
                            &max) != 0) {
        beat_http_reply_error(req, 400, "max must be an integer in [1, 10000]");
        return;
    }
    /* Conversion samples have their own ring and seqs: a click reader never
     * sees one (docs/contracts.md "Training samples"). */
    char kind[16] = "";
    int qr = beat_http_query(req, "kind", kind, sizeof kind);
    if (qr == -ENOENT) kind[0] = '\0';
    if ((qr < 0 && qr != -ENOENT) || (kind[0] && strcmp(kind, "conv") != 0)) {
        beat_http_reply_error(req, 400, "kind must be conv (or absent: clicks)");
        return;
    }
    dst_samples *ring = kind[0] && api->conv_samples ? api->conv_samples : api->samples;
    beat_buf out;
    beat_buf_init(&out, BODY_MAX);
    int rc = dst_samples_encode(ring, (uint64_t)after, (int)max, api->instance, api->epoch, &out);
    if (rc) {
        beat_log_rl(5000, BEAT_ERROR, "encode_failed", "what=samples rc=%d", rc);
        beat_http_reply_error(req, 500, "cannot encode samples");
    } else {
        beat_http_reply(req, 200, "application/x-ndjson", out.data, out.len);
    }
    beat_buf_fini(&out);
    beat_histogram_observe(h_smp, (double)(beat_mono_us() - t0) / 1e6);
}

/* Frequency-cap rows changed after a cursor (docs/contracts.md "Frequency
 * caps"): what the supervisor relays to every inference node. */
static void on_caps(beat_http_req *req, void *arg) {
    dst_api *api = arg;
    if (!get_only(req)) return;
    int64_t after, max;
    if (beat_http_query_i64(req, "after", 0, 0, INT64_MAX, &after) != 0) {
        beat_http_reply_error(req, 400, "after must be an integer >= 0");
        return;
    }
    if (beat_http_query_i64(req, "max", DST_CAPS_PER_CALL_MAX, 1, DST_CAPS_PER_CALL_MAX, &max) !=
        0) {
        beat_http_reply_error(req, 400, "max must be an integer in [1, 8192]");
        return;
    }
    beat_buf out;
    beat_buf_init(&out, BODY_MAX);
    int rc = dst_caps_encode(api->caps, (uint64_t)after, (int)max, api->instance, api->epoch, &out);
    if (rc) {
        beat_log_rl(5000, BEAT_ERROR, "encode_failed", "what=caps rc=%d", rc);
        beat_http_reply_error(req, 500, "cannot encode caps");
    } else {
        beat_http_reply_json(req, 200, out.data, out.len);
    }
    beat_buf_fini(&out);
}

/* Hourly report rows of every partition file in the store directory
 * (docs/reports.md): parsed here, read by a report worker
 * (report_serve.h), or here when none could start. */
static void on_reports(beat_http_req *req, void *arg) {
    dst_api *api = arg;
    if (!get_only(req)) return;
    dst_rq q;
    beat_reason why = {{0}};
    if (dst_rq_parse(beat_http_req_query(req), beat_http_req_header(req, "Accept"), &q, &why)) {
        beat_http_reply_error(req, 400, why.msg);
        return;
    }
    if (api->rserve) {
        dst_rserve_handle(api->rserve, req, &q);
        return;
    }
    beat_buf out;
    beat_buf_init(&out, BODY_MAX);
    int rc = dst_report_read(api->store_dir, api->topic, api->store_id, &q, &out, &why);
    if (rc == -E2BIG) {
        beat_http_reply_error(req, 400, why.msg);
    } else if (rc) {
        beat_log_value_safe(why.msg);
        beat_log_rl(5000, BEAT_WARN, "report_failed", "reason=\"%s\"", why.msg);
        beat_http_reply_error(req, 503, "cannot read the report rows (see the log)");
    } else if (q.csv) {
        beat_http_reply(req, 200, "text/csv; charset=utf-8", out.data, out.len);
    } else {
        beat_http_reply_json(req, 200, out.data, out.len);
    }
    beat_buf_fini(&out);
}

void dst_api_install(beat_http *h, dst_api *api) {
    h_agg = beat_histogram_new("beat_datastream_http_request_seconds{path=\"/v1/aggregates\"}",
                               "Time to answer API requests.", beat_latency_bounds,
                               beat_latency_nbounds);
    h_smp = beat_histogram_new("beat_datastream_http_request_seconds{path=\"/v1/samples\"}",
                               "Time to answer API requests.", beat_latency_bounds,
                               beat_latency_nbounds);
    /* Read-only API: other methods are refused before any body is read. */
    beat_http_route_opts o = {.allow = "GET"};
    beat_http_route_ex(h, "/v1/aggregates", on_aggregates, api, &o);
    beat_http_route_ex(h, "/v1/samples", on_samples, api, &o);
    beat_http_route_ex(h, "/v1/ledger", on_ledger, api, &o);
    if (api->caps) beat_http_route_ex(h, "/v1/caps", on_caps, api, &o);
    if (!api->store_dir) return;
    dst_rserve_cfg rc = {.dir = api->store_dir,
                         .topic = api->topic,
                         .store_id = api->store_id,
                         .workers = api->report_workers,
                         .queue_max = api->report_queue_max};
    if (api->report_workers > 0) api->rserve = dst_rserve_new(&rc);
    beat_http_route_ex(h, "/v1/reports", on_reports, api, &o);
}

void dst_api_stop(dst_api *api) {
    dst_rserve_free(api->rserve);
    api->rserve = NULL;
}
