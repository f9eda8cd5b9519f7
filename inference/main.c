/* beat-inference: answers OpenRTB bid requests (POST /openrtb2/bid) from the
 * current world (campaigns + pacing state + CTR model) that the sync thread
 * keeps in step with the supervisor (docs/architecture.md "Bidding" and "The
 * careful link"). Flags, wiring, the HTTP handler and the worker loops live
 * here; HTTP is http.c, parse memory arena.c, parsing openrtb.c, the auction
 * bidder.c, worlds model.c, the supervisor link sync.c, bid logs bidlog.c.
 * The bid path never blocks on a peer and never logs per request. */
#include <errno.h>
#include <inttypes.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_fx.h"
#include "beat_log.h"
#include "beat_loop.h"
#include "beat_metrics.h"
#include "beat_notice.h"
#include "beat_util.h"
#include "bidder.h"
#include "bidlog.h"
#include "exchange.h"
#include "fcap.h"
#include "gunzip.h"
#include "http.h"
#include "lease.h"
#include "model.h"
#include "openrtb.h"
#include "opps.h"
#include "prof.h"
#include "privacy.h"
#include "sync.h"

#define MAX_WORKERS 64
#define RESP_MAX (1024 * 1024) /* a response that does not fit → no-bid */
#define SCRATCH_MAX (64 * 1024)

static char *o_lease, *o_listen, *o_pub, *o_rep, *o_receiver_url, *o_bidlog, *o_secret, *o_name,
    *o_log_level, *o_rates, *o_tcf_purposes;
static bool o_open, o_explain;
static int64_t o_lease_every_ms, o_tcf_vendor_id;
static int64_t o_workers, o_max_body, o_sendbuf, o_max_state_age_ms, o_max_model_bytes,
    o_tmax_reserve_ms, o_max_conns, o_bidlog_queue, o_bidlog_batch, o_read_timeout_ms,
    o_idle_timeout_ms;
static bool o_dev;
static int64_t o_clock_skew_ms, o_fcap_rows, o_fcap_inflight_ms, o_fcap_stale_ms;
static beat_alert_opts o_alert;
static double o_state_warn_s, o_state_error_s, o_model_warn_s, o_model_error_s;

static char *o_sim_clock; /* --sim-clock: engine time spec */
/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "listen", .env = "BEAT_INFERENCE_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8080",
     .help = "HTTP address for /openrtb2/bid, /healthz, /metrics"},
    {.name = "workers", .env = "BEAT_INFERENCE_WORKERS",
     .type = BEAT_OPT_INT, .dst = &o_workers, .def = "1", .min = 1, .max = MAX_WORKERS,
     .help = "HTTP event loops, one thread each (SO_REUSEPORT when > 1)"},
    {.name = "max-body", .env = "BEAT_INFERENCE_MAX_BODY",
     .type = BEAT_OPT_INT, .dst = &o_max_body, .def = "65536", .min = 1024, .max = 16 * 1024 * 1024,
     .help = "largest bid request body in bytes (larger → 413)"},
    {.name = "max-conns", .env = "BEAT_INFERENCE_MAX_CONNS",
     .type = BEAT_OPT_INT, .dst = &o_max_conns, .def = "1024", .min = 1, .max = 65536,
     .help = "open HTTP connections per worker; at the cap a new one closes the "
             "connection that has waited longest for a request"},
    {.name = "read-timeout-ms", .env = "BEAT_INFERENCE_READ_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_read_timeout_ms, .def = "10000", .min = 100, .max = 600000,
     .help = "a started request must arrive whole within this (else 408, closed)"},
    {.name = "idle-timeout-ms", .env = "BEAT_INFERENCE_IDLE_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_idle_timeout_ms, .def = "60000", .min = 100, .max = 3600000,
     .help = "idle keep-alive connections are closed after this"},
    {.name = "supervisor-pub", .env = "BEAT_SUPERVISOR_PUB",
     .type = BEAT_OPT_STR, .dst = &o_pub, .def = "tcp://127.0.0.1:7103",
     .help = "supervisor nng pub address (snapshots, checkpoints, heartbeats)"},
    {.name = "supervisor-rep", .env = "BEAT_SUPERVISOR_REP",
     .type = BEAT_OPT_STR, .dst = &o_rep, .def = "tcp://127.0.0.1:7104",
     .help = "supervisor nng rep address (requests)"},
    {.name = "supervisor-lease", .env = "BEAT_SUPERVISOR_LEASE",
     .type = BEAT_OPT_STR, .dst = &o_lease, .def = "tcp://127.0.0.1:7105",
     .help = "primary supervisor's nng lease address: this node reports what it bid and gets "
             "its budget leases (docs/money.md); without a lease nothing is bid"},
    {.name = "lease-every-ms", .env = "BEAT_INFERENCE_LEASE_EVERY_MS",
     .type = BEAT_OPT_INT, .dst = &o_lease_every_ms, .def = "1000", .min = 100, .max = 60000,
     .help = "how often this node reports its bids and renews its leases"},
    {.name = "receiver-url", .env = "BEAT_RECEIVER_URL",
     .type = BEAT_OPT_STR, .dst = &o_receiver_url, .def = "http://127.0.0.1:8081",
     .help = "base URL of notice URLs (win/bill/loss/click)"},
    {.name = "receiver-bidlog", .env = "BEAT_RECEIVER_BIDLOG",
     .type = BEAT_OPT_STR, .dst = &o_bidlog, .def = "tcp://127.0.0.1:7101",
     .help = "receiver nng pull address for bid logs; a comma list dials every receiver "
             "and spreads bid logs over the ones that are up"},
    {.name = "bidlog-sendbuf", .env = "BEAT_INFERENCE_BIDLOG_SENDBUF",
     .type = BEAT_OPT_INT, .dst = &o_sendbuf, .def = "1024", .min = 0, .max = 8192,
     .help = "bid-log messages buffered while the receiver is slow or away; beyond it "
             "they are dropped and counted"},
    {.name = "bidlog-queue", .env = "BEAT_INFERENCE_BIDLOG_QUEUE",
     .type = BEAT_OPT_INT, .dst = &o_bidlog_queue, .def = "8192", .min = 16, .max = 1048576,
     .help = "bid events waiting for the bid-log sender thread; beyond it they are "
             "dropped and counted"},
    {.name = "bidlog-batch", .env = "BEAT_INFERENCE_BIDLOG_BATCH",
     .type = BEAT_OPT_INT, .dst = &o_bidlog_batch, .def = "32", .min = 1, .max = 1024,
     .help = "most bid events per nng message, newline-separated (1: one per message; "
             "a batch holds what queued up since the last send, so it adds no delay; "
             "keep batches under the receiver's --bidlog-max-bytes)"},
    {.name = "notice-secret", .env = "BEAT_NOTICE_SECRET",
     .type = BEAT_OPT_STR, .dst = &o_secret,
     .help = "HMAC key of notice URL signatures (same as the receiver); required unless --dev",
     .secret = true},
    BEAT_OPT_DEV(&o_dev),
    {.name = "fcap-rows", .env = "BEAT_INFERENCE_FCAP_ROWS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_rows, .def = "262144", .min = 4, .max = 1 << 28,
     .help = "global frequency-cap rows kept from the supervisor's frames (about 80 bytes "
             "each; the oldest window goes first)"},
    {.name = "fcap-inflight-ms", .env = "BEAT_INFERENCE_FCAP_INFLIGHT_MS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_inflight_ms, .def = "3000", .min = 10, .max = 3600000,
     .help = "a capped bid not seen counted this long is taken as lost: at least the time "
             "from bid to win notice to the supervisor's frame (docs/campaigns.md \"freq_cap\")"},
    {.name = "fcap-stale-ms", .env = "BEAT_INFERENCE_FCAP_STALE_MS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_stale_ms, .def = "2000", .min = 100, .max = 3600000,
     .help = "no complete frequency-cap frame for this long: caps use this node's own "
             "counts until one comes"},
    {.name = "max-state-age-ms", .env = "BEAT_INFERENCE_MAX_STATE_AGE_MS",
     .type = BEAT_OPT_INT, .dst = &o_max_state_age_ms, .def = "600000", .min = 1000,
     .max = 86400000,
     .help = "no bids while the pacing state is older than this: how long a node keeps pacing "
             "on the last multipliers while the actuator or supervisor is away (budget leases, "
             "not this, bound the money)"},
    BEAT_OPT_CLOCK_SKEW(&o_clock_skew_ms),
    {.name = "max-model-bytes", .env = "BEAT_INFERENCE_MAX_MODEL_BYTES",
     .type = BEAT_OPT_INT, .dst = &o_max_model_bytes, .def = "67108864", .min = 65536,
     .max = 1073741824,
     .help = "largest checkpoint accepted; sizes the nng receive limit (bigger messages "
             "are dropped by nng silently)"},
    BEAT_OPT_FX(&o_rates),
    {.name = "tcf-vendor-id", .env = "BEAT_INFERENCE_TCF_VENDOR_ID",
     .type = BEAT_OPT_INT, .dst = &o_tcf_vendor_id, .def = "0", .min = 0, .max = 65535,
     .help = "our IAB TCF vendor id: under GDPR personal data is used only with this "
             "vendor's consent in the TC string; 0 (no id) bids GDPR traffic "
             "contextually (docs/privacy.md)"},
    {.name = "tcf-purposes", .env = "BEAT_INFERENCE_TCF_PURPOSES",
     .type = BEAT_OPT_STR, .dst = &o_tcf_purposes, .def = "1,3,4",
     .help = "TCF purposes that need consent before personal data is used (1 store "
             "and access, 3 and 4 personalised ads profile and selection)"},
    {.name = "tmax-reserve-ms", .env = "BEAT_INFERENCE_TMAX_RESERVE_MS",
     .type = BEAT_OPT_INT, .dst = &o_tmax_reserve_ms, .def = "5", .min = 0, .max = 1000,
     .help = "time kept for the network out of a request's tmax: when less than this is "
             "left of tmax since the request arrived, answer no-bid (204)"},
    {.name = "open", .env = "BEAT_INFERENCE_OPEN",
     .type = BEAT_OPT_BOOL, .dst = &o_open, .def = "false",
     .help = "development only: answer bid requests from anyone, without exchange "
             "authentication or QPS caps (docs/exchanges.md)"},
    {.name = "explain", .env = "BEAT_INFERENCE_EXPLAIN",
     .type = BEAT_OPT_BOOL, .dst = &o_explain, .def = "false",
     .help = "grading only: every bid answer (200 and 204) carries X-Beat-Explain with our "
             "pCTR for each candidate campaign of the first imp, which tells the exchange what "
             "we think its traffic is worth; never on a real exchange (docs/demo.md)"},
    BEAT_ALERT_OPTS(&o_alert),
    {.name = "alert-state-age-warn-s", .env = "BEAT_ALERT_STATE_AGE_WARN_S",
     .type = BEAT_OPT_DBL, .dst = &o_state_warn_s, .def = "15", .min = 0, .max = 1e7,
     .help = "warn when the pacing state is this old (0 = off)"},
    {.name = "alert-state-age-error-s", .env = "BEAT_ALERT_STATE_AGE_ERROR_S",
     .type = BEAT_OPT_DBL, .dst = &o_state_error_s, .def = "30", .min = 0, .max = 1e7,
     .help = "error when the pacing state is this old (0 = off)"},
    {.name = "alert-model-age-warn-s", .env = "BEAT_ALERT_MODEL_AGE_WARN_S",
     .type = BEAT_OPT_DBL, .dst = &o_model_warn_s, .def = "3600", .min = 0, .max = 1e7,
     .help = "warn when the model is this old (0 = off)"},
    {.name = "alert-model-age-error-s", .env = "BEAT_ALERT_MODEL_AGE_ERROR_S",
     .type = BEAT_OPT_DBL, .dst = &o_model_error_s, .def = "21600", .min = 0, .max = 1e7,
     .help = "error when the model is this old (0 = off)"},
    {.name = "name", .env = "BEAT_INFERENCE_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "inference-1",
     .help = "instance name (node id in bid logs)"},
    BEAT_OPT_SIM_CLOCK(&o_sim_clock),
    {.name = "log-level", .env = "BEAT_LOG_LEVEL",
     .type = BEAT_OPT_STR, .dst = &o_log_level, .def = "info",
     .help = "debug|info|warn|error"},
    BEAT_OPT_END,
};
/* clang-format on */

typedef struct worker {
    int idx; /* also the hazard slot */
    struct event_base *base;
    inf_http *http;
    beat_loop_timer *tick; /* stop watch */
    pthread_t thr;
    beat_buf resp, scratch;
    inf_gunzip *gz; /* Content-Encoding: gzip bodies, bounded by --max-body */
    inf_xcache *xc; /* this worker's cross-weight cache */
    inf_req req;
    inf_result res;
    beat_event ev;
    inf_prof prof;                         /* sampled phase CPU (prof.h) */
    char explain[INF_EXPLAIN_HDR_MAX + 1]; /* --explain: this answer's header */
} worker;

static struct {
    inf_holder *holder;
    inf_bidder *bidder;
    inf_bidlog *bidlog;
    inf_sync *sync;
    inf_leases *leases;
    inf_fcap *fcap;
    worker *w;
    int nw;
    beat_loop_timer *stats_ev;
    inf_opps *opps;                     /* opportunity counters, one row per worker */
    beat_loop_timer *opps_ev;           /* sends them every second (on worker 0) */
    beat_counter *shaded, *shade_saved; /* first-price shading (bidder.c) */
} G;

/* ---- the bid handler ------------------------------------------------------ */

/* The gate, after a bid request's head and before its body: which
 * exchange sent it, and whether its QPS cap has room (exchange.c). */
static void on_gate(void *arg, const inf_http_head *hd, inf_http_verdict *v) {
    worker *w = arg;
    const inf_world *wd = inf_holder_acquire(G.holder, w->idx);
    inf_exch_verdict xv;
    inf_exch_gate(wd, o_open, hd->exchange, hd->key, hd->peer, beat_mono_us() * 1000, &xv);
    inf_holder_release(G.holder, w->idx);
    *v = (inf_http_verdict){.code = xv.code,
                            .reason = xv.reason,
                            .headers = xv.headers,
                            .tag = xv.slot,
                            .tag_i = xv.xi};
}

static void on_bid(void *arg, const inf_http_req *rq, inf_http_conn *c) {
    worker *w = arg;
    int64_t t0 = beat_mono_us();
    inf_prof_begin(&w->prof);
    inf_xslot *xs = rq->tag; /* the exchange the gate admitted it as */
    const char *ver = rq->ortb_version;
    if (!rq->post) {
        inf_exch_done(xs, INF_OUT_BAD, 0, 0, 0, t0);
        inf_http_reply_error(c, 405, NULL, "Allow: POST\r\n", "method not allowed: use POST");
        return;
    }
    const char *body = rq->body;
    size_t len = rq->body_len;
    const char *enc = rq->content_encoding;
    if (enc && strcasecmp(enc, "identity") != 0) {
        int rc = -ENOTSUP;
        if (strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0 ||
            strcasecmp(enc, "deflate") == 0)
            rc = inf_gunzip_run(w->gz, body ? body : "", len, &body, &len);
        if (rc < 0) {
            if (rc == -EMSGSIZE)
                inf_http_reply_error(c, 413, NULL, NULL, "body: inflated size over --max-body");
            else if (rc == -ENOTSUP)
                inf_http_reply_error(c, 415, NULL, NULL, "Content-Encoding: only gzip or deflate");
            else inf_http_reply_error(c, 400, NULL, NULL, "body: invalid gzip data");
            inf_exch_done(xs, INF_OUT_BAD, 0, 0, 0, t0);
            return;
        }
    }
    beat_reason why = {{0}};
    /* The parse tree lives in this worker's arena until inf_req_fini. */
    inf_arena_on();
    int prc = inf_req_parse(body, len, &w->req, &why);
    inf_arena_off();
    inf_prof_mark(&w->prof, INF_PH_PARSE);
    if (prc < 0) {
        inf_arena_reset();
        inf_http_reply_error(c, 400, ver, NULL, why.msg);
        inf_exch_done(xs, INF_OUT_BAD, 0, 0, 0, t0);
        return;
    }
    const inf_world *wd = inf_holder_acquire(G.holder, w->idx);
    /* The exchange's settings in this world; gone only if a new set dropped
     * it between the head and the body. */
    const beat_exchange *x = o_open ? NULL : inf_exch_find(wd, xs, rq->tag_i);
    if (!o_open && !x) {
        inf_holder_release(G.holder, w->idx);
        inf_req_fini(&w->req);
        inf_arena_reset();
        inf_http_reply_error(c, 403, ver, NULL, "exchange no longer configured");
        return;
    }
    w->req.exch = x;
    if (w->req.at == 0) w->req.at = x ? x->at : 2;
    if (x) inf_req_default_cur(&w->req, x->cur);
    int64_t reserve_ms = x && x->tmax_reserve_ms >= 0 ? x->tmax_reserve_ms : o_tmax_reserve_ms;

    /* tmax: the exchange stops waiting tmax ms after it sent the request; the
     * handler's entry (body read) stands in for the arrival. Less than the
     * reserve (the exchange's tmax_reserve_ms, else --tmax-reserve-ms) left
     * → a late bid would be thrown away: no-bid. */
    int64_t deadline_us =
        w->req.tmax_ms > 0 ? t0 + (w->req.tmax_ms - reserve_ms) * 1000 : INT64_MAX;
    if (beat_mono_us() >= deadline_us) {
        w->res.n = 0;
        w->res.n_explain = 0;
        w->res.reason = INF_NB_TMAX;
    } else {
        inf_bidder_run(G.bidder, wd, &w->req, beat_now_ms(), w->xc, &w->res);
        if (w->res.n > 0 && beat_mono_us() >= deadline_us) {
            w->res.n = 0;
            w->res.reason = INF_NB_TMAX;
        }
    }
    inf_prof_mark(&w->prof, INF_PH_AUCTION);
    int code = 204;
    if (w->res.n > 0) {
        beat_buf_reset(&w->resp);
        int rc = inf_bidder_response(G.bidder, wd, &w->req, &w->res, &w->resp, &w->scratch);
        inf_prof_mark(&w->prof, INF_PH_RESPONSE);
        if (rc == 0) {
            code = 200;
            for (int k = 0; k < w->res.n; k++) {
                const inf_bid *bd = &w->res.bids[k];
                if (bd->price_cpm_micros >= bd->value_cpm_micros) continue;
                beat_counter_inc(G.shaded);
                beat_counter_add(G.shade_saved,
                                 (uint64_t)(bd->value_cpm_micros - bd->price_cpm_micros));
            }
            /* test=1 is not billable traffic: no bid logs (no training,
             * no pacing spend), the answer is otherwise the same. */
            for (int k = 0; !w->req.test && k < w->res.n; k++) {
                inf_bidder_event(G.bidder, wd, &w->req, &w->res, k, &w->ev);
                inf_bidlog_send(G.bidlog, &w->ev);
            }
            inf_prof_mark(&w->prof, INF_PH_EVENT);
        } else {
            w->res.reason = INF_NB_RESPONSE;
            beat_log_rl(5000, BEAT_ERROR, "response_too_large", "err=%d max=%d", rc, RESP_MAX);
        }
    }
    if (o_explain) inf_bidder_explain(wd, &w->res, w->explain, sizeof w->explain);
    inf_holder_release(G.holder, w->idx);
    inf_http_reply(c, code, ver, o_explain ? w->explain : NULL, w->resp.data,
                   code == 200 ? w->resp.len : 0);
    inf_exch_done(xs, code == 200 ? INF_OUT_BID : INF_OUT_NOBID, w->res.reason,
                  code == 200 ? w->res.n : 0, w->req.n_imp_total - w->req.n_imp, t0);
    inf_req_fini(&w->req); /* after the reply: the response used its strings */
    inf_arena_reset();
}

/* ---- health, metrics, stats --------------------------------------------------- */

static bool health(void *arg, beat_buf *d) {
    (void)arg;
    inf_versions v;
    inf_holder_versions(G.holder, &v);
    int64_t now = beat_now_ms();
    int64_t state_age = v.has_state ? now - v.state_ts_ms : -1;
    beat_buf_puts(d, "\"name\":");
    beat_buf_json_str(d, o_name, strlen(o_name));
    beat_buf_printf(
        d,
        ",\"workers\":%d,\"has_model\":%s,\"has_state\":%s,"
        "\"model_version\":%lld,\"campaigns_version\":%lld,"
        "\"state_version\":%lld,\"campaigns\":%d,\"state_age_ms\":%lld,"
        "\"model_age_ms\":%lld,\"state_stale\":%s,\"lease_age_ms\":%lld",
        G.nw, v.has_model ? "true" : "false", v.has_state ? "true" : "false", (long long)v.model_v,
        (long long)v.campaigns_v, (long long)v.state_v, v.n_campaigns, (long long)state_age,
        (long long)(v.has_model ? now - v.model_ts_ms : -1),
        state_age > o_max_state_age_ms ? "true" : "false",
        (long long)(inf_leases_last_ok_ms(G.leases) ? now - inf_leases_last_ok_ms(G.leases) : -1));
    beat_buf_printf(d, ",\"exchanges_version\":%lld,\"exchanges\":%d,\"open\":%s",
                    (long long)v.exchanges_v, v.n_exchanges, o_open ? "true" : "false");
    beat_buf_printf(d, ",\"segments_version\":%lld,\"segment_lists\":%d", (long long)v.segments_v,
                    v.n_segment_lists);
    /* Without an exchange configured every bid request is refused: not
     * ready to do the job (docs/exchanges.md "Before the first snapshot"). */
    return v.has_model && v.has_state && inf_leases_ready(G.leases) &&
           (o_open || v.n_exchanges > 0);
}

enum { GV_MODEL_V, GV_STATE_V, GV_CAMP_V, GV_CAMPS, GV_STATE_AGE, GV_MODEL_AGE };
static const int gauge_sel[] = {GV_MODEL_V, GV_STATE_V,   GV_CAMP_V,
                                GV_CAMPS,   GV_STATE_AGE, GV_MODEL_AGE};

static double gauge_fn(void *arg) {
    inf_versions v;
    inf_holder_versions(G.holder, &v);
    double now = (double)beat_now_ms();
    switch (*(const int *)arg) {
        case GV_MODEL_V: return (double)v.model_v;
        case GV_STATE_V: return (double)v.state_v;
        case GV_CAMP_V: return (double)v.campaigns_v;
        case GV_CAMPS: return v.n_campaigns;
        case GV_STATE_AGE: return v.has_state ? (now - (double)v.state_ts_ms) / 1e3 : -1;
        case GV_MODEL_AGE: return v.has_model ? (now - (double)v.model_ts_ms) / 1e3 : -1;
    }
    return 0;
}

static void metrics_init(void) {
    inf_exch_metrics_init(); /* the per-request metrics are per exchange (exchange.c) */
    inf_prof_metrics_init();
    G.shaded = beat_counter_new("beat_inference_shaded_bids_total",
                                "First-price bids answered below their value (shaded "
                                "by the campaign's win_curve)");
    G.shade_saved = beat_counter_new("beat_inference_shade_cpm_micros_total",
                                     "Sum over shaded bids of value minus bid (CPM micros)");
    beat_gauge_fn_new("beat_inference_model_version", "Model version held", gauge_fn,
                      (void *)&gauge_sel[GV_MODEL_V]);
    beat_gauge_fn_new("beat_inference_state_version", "Pacing state version held", gauge_fn,
                      (void *)&gauge_sel[GV_STATE_V]);
    beat_gauge_fn_new("beat_inference_campaigns_version", "Campaign set version held", gauge_fn,
                      (void *)&gauge_sel[GV_CAMP_V]);
    beat_gauge_fn_new("beat_inference_campaigns", "Campaigns in the world", gauge_fn,
                      (void *)&gauge_sel[GV_CAMPS]);
    beat_gauge_fn_new("beat_inference_state_age_seconds",
                      "Age of the pacing state (by its ts); -1 if none", gauge_fn,
                      (void *)&gauge_sel[GV_STATE_AGE]);
    beat_gauge_fn_new("beat_inference_model_age_seconds",
                      "Age of the model (checkpoint ts); -1 if none", gauge_fn,
                      (void *)&gauge_sel[GV_MODEL_AGE]);
}

/* Alert rules (ops): inputs are the registry counters of bidlog.c and
 * sync.c (same name = same counter) and the age gauges above. */
static beat_alert_rules *start_alert_rules(void) {
    beat_counter *hb = beat_counter_new("beat_inference_heartbeats_total", "");
    beat_counter *sent = beat_counter_new("beat_inference_bidlog_sent_total", "");
    beat_counter *drop = beat_counter_new("beat_inference_bidlog_dropped_total", "");
    char sup[300], rcv[300];
    snprintf(sup, sizeof sup, "supervisor %s silent (no heartbeat)", o_pub);
    snprintf(rcv, sizeof rcv, "receiver %s: bid-log pushes failing", o_bidlog);
    beat_alert_rule r[] = {
        {.name = "supervisor_unreachable",
         .what = sup,
         .unit = "s",
         .kind = BEAT_RULE_SILENT,
         .value = beat_alert_counter_fn,
         .value_arg = hb,
         .warn = o_alert.peer_warn_s,
         .error = o_alert.peer_error_s},
        {.name = "receiver_unreachable",
         .what = rcv,
         .unit = "s",
         .kind = BEAT_RULE_FAILING,
         .value = beat_alert_counter_fn,
         .value_arg = drop,
         .total = beat_alert_counter_fn,
         .total_arg = sent,
         .warn = o_alert.peer_warn_s,
         .error = o_alert.peer_error_s},
        {.name = "bidlog_drop_rate",
         .what = "bid logs dropped",
         .unit = "%",
         .kind = BEAT_RULE_RATIO,
         .value = beat_alert_counter_fn,
         .value_arg = drop,
         .total = beat_alert_counter_fn,
         .total_arg = sent,
         .total_is_rest = true,
         .warn = o_alert.drop_warn_pct,
         .error = o_alert.drop_error_pct},
        {.name = "state_stale",
         .what = "pacing state age",
         .unit = "s",
         .kind = BEAT_RULE_VALUE,
         .value = gauge_fn,
         .value_arg = (void *)&gauge_sel[GV_STATE_AGE],
         .warn = o_state_warn_s,
         .error = o_state_error_s},
        {.name = "model_stale",
         .what = "model age",
         .unit = "s",
         .kind = BEAT_RULE_VALUE,
         .value = gauge_fn,
         .value_arg = (void *)&gauge_sel[GV_MODEL_AGE],
         .warn = o_model_warn_s,
         .error = o_model_error_s},
    };
    return beat_alert_rules_run(&o_alert, o_name, r, (int)(sizeof r / sizeof r[0]));
}

static void log_stats(void) {
    inf_versions v;
    inf_holder_versions(G.holder, &v);
    inf_exch_totals t;
    inf_exch_get_totals(&t);
    beat_log(
        BEAT_INFO, "stats",
        "bid=%llu nobid=%llu bad_request=%llu bids=%llu no_model=%llu "
        "no_state=%llu stale_state=%llu refused=%llu qps_limited=%llu "
        "model_version=%lld campaigns_version=%lld state_version=%lld "
        "exchanges_version=%lld",
        (unsigned long long)t.outcome[INF_OUT_BID], (unsigned long long)t.outcome[INF_OUT_NOBID],
        (unsigned long long)t.outcome[INF_OUT_BAD], (unsigned long long)t.bids,
        (unsigned long long)t.nobid[INF_NB_NO_MODEL], (unsigned long long)t.nobid[INF_NB_NO_STATE],
        (unsigned long long)t.nobid[INF_NB_STALE_STATE], (unsigned long long)t.refused,
        (unsigned long long)t.qps_limited, (long long)v.model_v, (long long)v.campaigns_v,
        (long long)v.state_v, (long long)v.exchanges_v);
}

/* ---- workers ---------------------------------------------------------------- */

static void stats_tick(void *arg) {
    (void)arg;
    log_stats();
}

/* Opportunities counted since the last second, into the bid log. */
static void emit_opp(void *arg, const beat_event *ev) {
    (void)arg;
    inf_bidlog_send(G.bidlog, ev);
}

static void opps_tick(void *arg) {
    (void)arg;
    inf_opps_collect(G.opps, beat_now_ms(), o_name, emit_opp, NULL);
}

static int worker_init(worker *w, int idx, bool reuseport) {
    int err = 0;
    w->idx = idx;
    w->res.opps = inf_opps_row(G.opps, idx);
    beat_buf_init(&w->resp, RESP_MAX);
    beat_buf_init(&w->scratch, SCRATCH_MAX);
    w->gz = inf_gunzip_new((size_t)o_max_body);
    w->xc = inf_xcache_new();
    if (!w->gz || !w->xc) return -ENOMEM;
    w->base = event_base_new();
    if (!w->base) return -ENOMEM;
    inf_http_cfg hc = {
        .listen = o_listen,
        .reuseport = reuseport,
        .max_body = (size_t)o_max_body,
        .max_header = 16 * 1024,
        .max_conns = (int)o_max_conns,
        .read_timeout_ms = (int)o_read_timeout_ms,
        .idle_timeout_ms = (int)o_idle_timeout_ms,
        .bid = on_bid,
        .bid_arg = w,
        .gate = on_gate,
        .gate_arg = w,
        .health = health,
    };
    w->http = inf_http_new(w->base, &hc, &err);
    if (!w->http) return err ? err : -EIO;
    w->tick = beat_loop_stop_watch(w->base);
    if (!w->tick) return -ENOMEM;
    return 0;
}

static void worker_fini(worker *w) {
    beat_loop_timer_free(w->tick);
    inf_http_free(w->http);
    if (w->base) event_base_free(w->base);
    beat_buf_fini(&w->resp);
    beat_buf_fini(&w->scratch);
    inf_gunzip_free(w->gz);
    inf_xcache_free(w->xc);
}

/* Worker threads parse in their own arena slice (the main thread has 0). */
static void *worker_main(void *arg) {
    worker *w = arg;
    char name[16]; /* per-thread CPU in top -H and the bench */
    snprintf(name, sizeof name, "inf-w%d", w->idx);
    pthread_setname_np(pthread_self(), name);
    inf_arena_bind(w->idx);
    return beat_loop_thread(w->base);
}

static void cleanup(void) {
    inf_sync_stop(G.sync); /* before the holder: it is the holder's writer */
    for (int i = 0; i < G.nw; i++) worker_fini(&G.w[i]);
    beat_loop_timer_free(G.stats_ev);
    beat_loop_timer_free(G.opps_ev);
    inf_holder_free(G.holder);
    inf_opps_free(G.opps); /* no world or worker counts any more */
    /* After the workers and every world: the final report is exact, and no
     * campaign points at a slot any more. */
    inf_leases_stop(G.leases);
    inf_bidlog_free(G.bidlog);
    inf_bidder_free(G.bidder);
    inf_fcap_free(G.fcap); /* after the sync thread and the workers */
    free(G.w);
    inf_arena_fini();
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-inference", "inference",
                       "Answers OpenRTB bid requests from the campaigns, pacing state "
                       "and CTR model kept in sync with the supervisor.",
                       opts, argc, argv, &o_log_level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-inference", o_sim_clock) != 0) return 64;
    if (beat_cfg_secret("beat-inference", "notice-secret", "BEAT_NOTICE_SECRET", &o_secret,
                        BEAT_NOTICE_DEV_SECRET, o_dev) != 0)
        return 64;
    /* Notice URLs are built on it for every bid: refuse a base the exchange
     * could not call back, rather than bid with dead notice URLs. */
    if (strncmp(o_receiver_url, "http://", 7) != 0 && strncmp(o_receiver_url, "https://", 8) != 0) {
        fprintf(stderr, "beat-inference: --receiver-url: must start with http:// or "
                        "https://\n");
        return 64;
    }
    if (!*o_name || strlen(o_name) > BEAT_ID_MAX) {
        fprintf(stderr,
                "beat-inference: --name: 1..%d bytes (it is the node id in bid "
                "logs)\n",
                BEAT_ID_MAX);
        return 64;
    }
    beat_reason why = {{0}};
    if (inf_openrtb_rates_set(o_rates, &why) != 0) {
        fprintf(stderr, "beat-inference: --currency-rates: %s\n", why.msg);
        return 64;
    }
    if (inf_privacy_config((int)o_tcf_vendor_id, o_tcf_purposes, &why) != 0) {
        fprintf(stderr, "beat-inference: --tcf-purposes: %s\n", why.msg);
        return 64;
    }
    beat_stop_install();
    beat_cfg_log(opts);
    if (o_open)
        beat_log(BEAT_WARN, "open_mode",
                 "msg=\"--open: bid requests are answered for anyone, "
                 "unauthenticated and uncapped; for development only\"");
    metrics_init();
    inf_privacy_metrics_init();

    G.nw = (int)o_workers;
    /* cJSON hooks before any thread parses (the sync thread starts below).
     * Slices are address space only until used; a parse that does not fit
     * falls back to malloc. */
    if (inf_arena_init(G.nw, (size_t)o_max_body * 32 + (1u << 20)) != 0)
        beat_log(BEAT_WARN, "arena_unavailable", "msg=\"parsing with malloc\"");
    inf_arena_bind(0);
    G.w = calloc((size_t)G.nw, sizeof *G.w);
    G.holder = inf_holder_new(G.nw);
    inf_fcap_cfg fcfg = {
        .rows_max = o_fcap_rows, .inflight_ms = o_fcap_inflight_ms, .stale_ms = o_fcap_stale_ms};
    G.fcap = inf_fcap_new(&fcfg);
    inf_bidder_cfg bcfg = {
        .fcap = G.fcap,
        .receiver_url = o_receiver_url,
        .secret = o_secret,
        .secret_len = strlen(o_secret),
        .node = o_name,
        .max_state_age_ms = o_max_state_age_ms,
        .explain = o_explain,
    };
    G.bidder = inf_bidder_new(&bcfg);
    if (!G.w || !G.holder || !G.bidder || !G.fcap) {
        beat_log(BEAT_FATAL, "out_of_memory", "what=startup");
        return 1;
    }
    inf_fcap_metrics_init(G.fcap);
    int rc = 0;
    inf_bidlog_cfg lcfg = {
        .url = o_bidlog,
        .sendbuf = (int)o_sendbuf,
        .queue = (int)o_bidlog_queue,
        .batch = (int)o_bidlog_batch,
    };
    G.bidlog = inf_bidlog_new(&lcfg, &rc);
    if (!G.bidlog) {
        beat_log(BEAT_FATAL, "bidlog_open_failed", "url=%s err=%d", o_bidlog, rc);
        cleanup();
        return 1;
    }
    inf_lease_cfg lscfg = {
        .url = o_lease,
        .node = o_name,
        .every_ms = (int)o_lease_every_ms,
        .timeout_ms = 500,
    };
    G.leases = inf_leases_start(&lscfg, &rc);
    if (!G.leases) {
        beat_log(BEAT_FATAL, "lease_link_failed", "url=%s err=%d", o_lease, rc);
        cleanup();
        return 1;
    }
    G.opps = inf_opps_new(G.nw, 2 * BEAT_CAMPAIGNS_MAX);
    if (!G.opps) {
        beat_log(BEAT_FATAL, "out_of_memory", "what=opps");
        cleanup();
        return 1;
    }
    inf_sync_cfg scfg = {
        .pub_url = o_pub,
        .rep_url = o_rep,
        .max_model_bytes = (size_t)o_max_model_bytes,
        .req_timeout_ms = 500,
        .silence_ms = 3000,
        .max_clock_skew_ms = o_clock_skew_ms,
        .leases = G.leases,
        .opps = G.opps,
        .fcap = G.fcap,
    };
    G.sync = inf_sync_start(&scfg, G.holder, &rc);
    if (!G.sync) {
        beat_log(BEAT_FATAL, "supervisor_link_failed", "pub=%s rep=%s err=%d", o_pub, o_rep, rc);
        cleanup();
        return 1;
    }
    for (int i = 0; i < G.nw; i++) {
        if ((rc = worker_init(&G.w[i], i, G.nw > 1)) != 0) {
            beat_log(BEAT_FATAL, "listen_failed", "listen=%s err=%d", o_listen, rc);
            G.nw = i + 1; /* fini what was (partly) set up */
            cleanup();
            return 1;
        }
    }
    G.stats_ev = beat_loop_every(G.w[0].base, 10000, stats_tick, NULL);
    G.opps_ev = beat_loop_every(G.w[0].base, 1000, opps_tick, NULL);
    beat_alert_rules *alert_rules = start_alert_rules();

    int started = 1;
    for (int i = 1; i < G.nw; i++, started++)
        if (pthread_create(&G.w[i].thr, NULL, worker_main, &G.w[i]) != 0) {
            /* Its socket would accept connections nobody serves: stop. */
            beat_log(BEAT_FATAL, "worker_start_failed", "worker=%d", i);
            beat_stop_request();
            break;
        }
    beat_log(BEAT_INFO, "listening",
             "listen=%s workers=%d supervisor_pub=%s "
             "supervisor_rep=%s supervisor_lease=%s receiver_bidlog=%s name=%s "
             "incarnation=%016" PRIx64,
             o_listen, started, o_pub, o_rep, o_lease, o_bidlog, o_name,
             inf_leases_incarnation(G.leases));
    event_base_dispatch(G.w[0].base);

    beat_log(BEAT_INFO, "stopping", "name=%s", o_name);
    for (int i = 1; i < started; i++) pthread_join(G.w[i].thr, NULL);
    log_stats();
    beat_alert_rules_end(alert_rules);
    cleanup();
    beat_log(BEAT_INFO, "stopped", "name=%s", o_name);
    return 0;
}
