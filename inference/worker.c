/* The workers of beat-inference: each runs one event loop with its HTTP
 * server (http.c, http_conn.c), and on it the exchange gate (exchange.c) and the bid
 * handler: inflate, parse (openrtb.c, in the worker's arena), the auction
 * (bidder.c) against the world it holds, the reply and the bid logs. Runs
 * on the worker threads only; never blocks on a peer, never logs per
 * request (docs/architecture.md "Bidding"). */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "exchange.h"

#define RESP_MAX (1024 * 1024) /* a response that does not fit → no-bid */
#define SCRATCH_MAX (64 * 1024)

static beat_counter *shaded, *shade_saved; /* first-price shading (bidder.c) */

void inf_worker_metrics_init(void) {
    shaded = beat_counter_new("beat_inference_shaded_bids_total",
                              "First-price bids answered below their value (shaded "
                              "by the campaign's win_curve)");
    shade_saved = beat_counter_new("beat_inference_shade_cpm_micros_total",
                                   "Sum over shaded bids of value minus bid (CPM micros)");
}

/* The gate, after a bid request's head and before its body: which
 * exchange sent it, and whether its QPS cap has room (exchange.c). */
static void on_gate(void *arg, const inf_http_head *hd, inf_http_verdict *v) {
    inf_worker *w = arg;
    const inf_worker_cfg *cfg = w->cfg;
    const inf_world *wd = inf_holder_acquire(cfg->holder, w->idx);
    inf_exch_verdict xv;
    inf_exch_gate(wd, cfg->open, hd->exchange, hd->key, hd->peer, beat_mono_us() * 1000, &xv);
    inf_holder_release(cfg->holder, w->idx);
    *v = (inf_http_verdict){.code = xv.code,
                            .reason = xv.reason,
                            .headers = xv.headers,
                            .tag = xv.slot,
                            .tag_i = xv.xi};
}

/* A connection over --max-conns-per-source: let in if an exchange of the
 * current world lists its network (exchanges reach a node from few
 * addresses with many keep-alive connections each). */
static bool on_exempt(void *arg, const struct sockaddr *peer) {
    inf_worker *w = arg;
    const inf_world *wd = inf_holder_acquire(w->cfg->holder, w->idx);
    bool in = inf_exch_network_holds(wd, peer);
    inf_holder_release(w->cfg->holder, w->idx);
    return in;
}

static void on_bid(void *arg, const inf_http_req *rq, inf_http_conn *c) {
    inf_worker *w = arg;
    const inf_worker_cfg *cfg = w->cfg;
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
    /* The parse (the body's copy, its nodes) lives in this worker's arena
     * until inf_req_fini. */
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
    const inf_world *wd = inf_holder_acquire(cfg->holder, w->idx);
    /* The exchange's settings in this world; gone only if a new set dropped
     * it between the head and the body. */
    const beat_exchange *x = cfg->open ? NULL : inf_exch_find(wd, xs, rq->tag_i);
    if (!cfg->open && !x) {
        inf_holder_release(cfg->holder, w->idx);
        inf_req_fini(&w->req);
        inf_arena_reset();
        inf_http_reply_error(c, 403, ver, NULL, "exchange no longer configured");
        return;
    }
    w->req.exch = x;
    if (w->req.at == 0) w->req.at = x ? x->at : 2;
    if (x) inf_req_default_cur(&w->req, x->cur);
    int64_t reserve_ms = x && x->tmax_reserve_ms >= 0 ? x->tmax_reserve_ms : cfg->tmax_reserve_ms;

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
        inf_bidder_run(cfg->bidder, wd, &w->req, beat_now_ms(), w->xc, &w->res);
        if (w->res.n > 0 && beat_mono_us() >= deadline_us) {
            w->res.n = 0;
            w->res.reason = INF_NB_TMAX;
        }
    }
    inf_prof_mark(&w->prof, INF_PH_AUCTION);
    int code = 204;
    if (w->res.n > 0) {
        beat_buf_reset(&w->resp);
        int rc = inf_bidder_response(cfg->bidder, wd, &w->req, &w->res, &w->resp, &w->scratch);
        inf_prof_mark(&w->prof, INF_PH_RESPONSE);
        if (rc == 0) {
            code = 200;
            for (int k = 0; k < w->res.n; k++) {
                const inf_bid *bd = &w->res.bids[k];
                if (bd->price_cpm_micros >= bd->value_cpm_micros) continue;
                beat_counter_inc(shaded);
                beat_counter_add(shade_saved,
                                 (uint64_t)(bd->value_cpm_micros - bd->price_cpm_micros));
            }
            /* test=1 is not billable traffic: no bid logs (no training,
             * no pacing spend), the answer is otherwise the same. */
            for (int k = 0; !w->req.test && k < w->res.n; k++) {
                inf_bidder_event(cfg->bidder, wd, &w->req, &w->res, k, &w->ev);
                inf_bidlog_send(cfg->bidlog, &w->ev);
            }
            inf_prof_mark(&w->prof, INF_PH_EVENT);
        } else {
            w->res.reason = INF_NB_RESPONSE;
            beat_log_rl(5000, BEAT_ERROR, "response_too_large", "err=%d max=%d", rc, RESP_MAX);
        }
    }
    if (cfg->explain) inf_bidder_explain(wd, &w->res, w->explain, sizeof w->explain);
    inf_holder_release(cfg->holder, w->idx);
    inf_http_reply(c, code, ver, cfg->explain ? w->explain : NULL, w->resp.data,
                   code == 200 ? w->resp.len : 0);
    inf_exch_done(xs, code == 200 ? INF_OUT_BID : INF_OUT_NOBID, w->res.reason,
                  code == 200 ? w->res.n : 0, w->req.n_imp_total - w->req.n_imp, t0);
    inf_req_fini(&w->req); /* after the reply: the response used its strings */
    inf_arena_reset();
}

int inf_worker_init(inf_worker *w, int idx, const inf_worker_cfg *cfg, bool reuseport) {
    int err = 0;
    w->idx = idx;
    w->cfg = cfg;
    w->res.opps = inf_opps_row(cfg->opps, idx);
    beat_buf_init(&w->resp, RESP_MAX);
    beat_buf_init(&w->scratch, SCRATCH_MAX);
    w->gz = inf_gunzip_new(cfg->max_body);
    w->xc = inf_xcache_new();
    if (!w->gz || !w->xc) return -ENOMEM;
    w->base = event_base_new();
    if (!w->base) return -ENOMEM;
    inf_http_cfg hc = {
        .listen = cfg->listen,
        .reuseport = reuseport,
        .max_body = cfg->max_body,
        .max_header = 16 * 1024,
        .max_conns = cfg->max_conns,
        .read_timeout_ms = cfg->read_timeout_ms,
        .idle_timeout_ms = cfg->idle_timeout_ms,
        .srccap = cfg->srccap,
        .exempt = on_exempt,
        .exempt_arg = w,
        .bid = on_bid,
        .bid_arg = w,
        .gate = on_gate,
        .gate_arg = w,
        .health = cfg->health,
        .health_arg = cfg->health_arg,
    };
    w->http = inf_http_new(w->base, &hc, &err);
    if (!w->http) return err ? err : -EIO;
    w->tick = beat_loop_stop_watch(w->base);
    if (!w->tick) return -ENOMEM;
    return 0;
}

void inf_worker_fini(inf_worker *w) {
    beat_loop_timer_free(w->tick);
    inf_http_free(w->http);
    if (w->base) event_base_free(w->base);
    beat_buf_fini(&w->resp);
    beat_buf_fini(&w->scratch);
    inf_gunzip_free(w->gz);
    inf_xcache_free(w->xc);
}

/* Worker threads parse in their own arena slice (the main thread has 0). */
void *inf_worker_main(void *arg) {
    inf_worker *w = arg;
    char name[16]; /* per-thread CPU in top -H and the bench */
    snprintf(name, sizeof name, "inf-w%d", w->idx);
    pthread_setname_np(pthread_self(), name);
    inf_arena_bind(w->idx);
    return beat_loop_thread(w->base);
}
