/* Notice endpoints (/win /bill /loss /imp /click), called by exchanges and
 * browsers on the worker event loops. Each notice is parsed, its HMAC
 * checked (v2, or v1 during an upgrade with --notice-accept-v1), its
 * timestamp and price bounded, then turned into one Kafka event keyed by
 * auction id — except test traffic, which is answered the same way but
 * produces nothing, so it is never debited or learnt from. The answer never
 * waits on Kafka, bad input gets a 4xx with a JSON reason, and there is no
 * per-request log line: counters and the latency histogram say what
 * happened. A 2xx means the event is in the producer's queue, which keeps
 * it across a Kafka outage (no message timeout: docs/operations.md "The
 * receiver's spool"); when the queue is full the notice gets 503 with
 * Retry-After — our outage, not bad input — so an exchange that retries
 * delivers it later. A click still redirects: its caller is a browser that
 * will not retry, and the user must reach the landing page. */
#include "notices.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "beat_fx.h"
#include "beat_log.h"
#include "conv.h"

/* A 1×1 transparent GIF, the classic 43-byte tracking pixel. */
const unsigned char rcv_pixel_gif[43] = {
    'G',  'I',  'F',  '8',  '9',  'a',  0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

/* Largest bid we could have signed: 1e6 CPM (what beat_price_parse takes);
 * also keeps every number inside the event schema's 53-bit range. */
#define RCV_CPM_MAX 1000000000000LL

static const char *const reject_names[RCV_REJECT_N] = {"ok",      "malformed", "forged",
                                                       "expired", "price",     "currency"};

int rcv_reject_status(rcv_reject r) {
    switch (r) {
        case RCV_OK: return 200;
        case RCV_FORGED: return 403;
        case RCV_EXPIRED: return 410;
        default: return 400;
    }
}

const char *rcv_reject_name(rcv_reject r) {
    return (unsigned)r < RCV_REJECT_N ? reject_names[r] : "unknown";
}

/* True if the query carries an "s" parameter that looks like a signature
 * (32 lowercase hex). Without one the request is unsigned: 403, whatever
 * else is wrong with it. */
static bool has_sig_param(const char *q) {
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n >= 2 && q[0] == 's' && q[1] == '=') {
            if (n - 2 != BEAT_SIG_HEX) return false;
            for (size_t i = 2; i < n; i++)
                if (!isdigit((unsigned char)q[i]) && !(q[i] >= 'a' && q[i] <= 'f')) return false;
            return true;
        }
        q = amp ? amp + 1 : NULL;
    }
    return false;
}

/* Only absolute http(s) URLs without spaces or control characters may be
 * redirected to (header injection, javascript: and data: URLs). */
static bool landing_ok(const char *u) {
    size_t skip;
    if (strncasecmp(u, "http://", 7) == 0) skip = 7;
    else if (strncasecmp(u, "https://", 8) == 0) skip = 8;
    else return false;
    if (!u[skip] || u[skip] == '/') return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p == 0x7f) return false;
    return true;
}

rcv_reject rcv_notice_check(const rcv_notice_cfg *cfg, beat_event_type type, const char *query,
                            int64_t now_ms, beat_notice *n, beat_reason *why) {
    if (!query) query = "";
    if (beat_notice_parse(type, query, n, why) != 0) {
        if (!has_sig_param(query)) {
            beat_reasonf(why, -EACCES, "missing or malformed signature");
            return RCV_FORGED;
        }
        return RCV_MALFORMED;
    }
    /* v1 signs neither the type nor the creative: a v1 loss URL re-typed
     * to /bill would verify. Only while URLs handed out before the upgrade
     * may still come back (docs/contracts.md "Notice URLs"). */
    if (n->version == 1 && !cfg->accept_v1) {
        beat_reasonf(why, -EACCES, "signature v1 not accepted");
        return RCV_FORGED;
    }
    /* The type signed is the URL path's (n->type): a notice moved to
     * another path fails here like any other tampering. */
    if (!beat_notice_verify(cfg->secret, cfg->secret_len, n)) {
        beat_reasonf(why, -EACCES, "bad signature");
        return RCV_FORGED;
    }
    /* Refused here, where the sender gets a 400, rather than by datastream
     * (found by fuzz/fuzz_receiver.c). */
    if (!beat_id_text_ok(n->auction) || !beat_id_text_ok(n->imp) || !beat_id_text_ok(n->campaign) ||
        !beat_id_text_ok(n->crid) || !beat_id_text_ok(n->exchange)) {
        beat_reasonf(why, -EINVAL, "ids must be UTF-8 text without control characters");
        return RCV_MALFORMED;
    }
    if (n->bid_cpm_micros > RCV_CPM_MAX) {
        beat_reasonf(why, -EINVAL, "bid out of range");
        return RCV_MALFORMED;
    }
    if (n->ts_ms > now_ms + cfg->max_future_ms) {
        beat_reasonf(why, -EINVAL, "timestamp in the future");
        return RCV_MALFORMED;
    }
    if (n->ts_ms < now_ms - cfg->max_age_ms) {
        beat_reasonf(why, -ETIMEDOUT, "notice expired");
        return RCV_EXPIRED;
    }
    /* Counted in USD micros, whatever the exchange charged in: p is in
     * cur, or without one in the currency we bid in (bc; absent: USD).
     * A currency we have no rate for is refused, never counted as if USD
     * (docs/contracts.md "Currencies"). */
    if (n->price_cpm_micros >= 0) {
        const char *cur = n->currency[0]       ? n->currency
                          : n->bid_currency[0] ? n->bid_currency
                                               : "USD";
        int64_t usd = 0;
        int rc = beat_fx_to_usd(cfg->fx, cur, n->price_cpm_micros, &usd);
        if (rc == -ENOENT) {
            beat_reasonf(why, -EINVAL, "unknown currency %.7s", cur);
            return RCV_CURRENCY;
        }
        if (rc < 0) {
            beat_reasonf(why, -EINVAL, "price out of range in USD");
            return RCV_PRICE;
        }
        n->price_cpm_micros = usd;
        memcpy(n->currency, "USD", 4);
    }
    /* A second-price exchange never charges more than we bid; a larger
     * price is tampering or an exchange bug, and would overspend. Loss
     * notices carry the winner's price, which may well be higher. */
    if ((type == BEAT_EV_WIN || type == BEAT_EV_BILL) && n->price_cpm_micros > n->bid_cpm_micros) {
        beat_reasonf(why, -EINVAL, "price above bid");
        return RCV_PRICE;
    }
    if (type == BEAT_EV_CLICK && !landing_ok(n->landing)) {
        beat_reasonf(why, -EINVAL, "landing must be an http(s) URL");
        return RCV_MALFORMED;
    }
    return RCV_OK;
}

void rcv_notice_to_event(const beat_notice *n, int64_t now_ms, beat_event *ev) {
    memset(ev, 0, sizeof *ev);
    ev->type = n->type;
    ev->ts_ms = now_ms;
    memcpy(ev->auction, n->auction, sizeof ev->auction);
    memcpy(ev->imp, n->imp, sizeof ev->imp);
    memcpy(ev->campaign, n->campaign, sizeof ev->campaign);
    memcpy(ev->crid, n->crid, sizeof ev->crid);
    memcpy(ev->exchange, n->exchange, sizeof ev->exchange); /* signed: x */
    ev->price_cpm_micros = n->price_cpm_micros > 0 ? n->price_cpm_micros : 0;
    ev->bid_cpm_micros = n->bid_cpm_micros;
    ev->notice_ts_ms = n->ts_ms;
    ev->loss_code = n->loss_code > 0 ? n->loss_code : 0;
}

void rcv_notices_init(rcv_notices *s, const rcv_notice_cfg *cfg, rcv_events *events) {
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->events = events;
    char name[128];
    for (int t = BEAT_EV_WIN; t <= BEAT_EV_CLICK; t++) {
        snprintf(name, sizeof name, "beat_receiver_notices_total{type=\"%s\"}",
                 beat_event_type_name((beat_event_type)t));
        s->accepted[t] = beat_counter_new(
            name, "Notices accepted and produced to Kafka, by type (test notices apart)");
        snprintf(name, sizeof name, "beat_receiver_test_notices_total{type=\"%s\"}",
                 beat_event_type_name((beat_event_type)t));
        s->test[t] = beat_counter_new(
            name, "Test notices (OpenRTB test=1) accepted and answered, never produced");
    }
    s->v1 = beat_counter_new("beat_receiver_notices_v1_total",
                             "Notices accepted with signature v1 (--notice-accept-v1)");
    for (int r = RCV_MALFORMED; r < RCV_REJECT_N; r++) {
        snprintf(name, sizeof name, "beat_receiver_rejected_total{reason=\"%s\"}", reject_names[r]);
        s->rejected[r] = beat_counter_new(name, "Notices rejected, by reason");
    }
    rcv_conv_metrics_init(s);
    s->refused[0] =
        beat_counter_new("beat_receiver_notices_refused_total{reason=\"spool_full\"}",
                         "Valid notices answered 503 (event not queued for Kafka), by reason");
    s->refused[1] =
        beat_counter_new("beat_receiver_notices_refused_total{reason=\"producer\"}",
                         "Valid notices answered 503 (event not queued for Kafka), by reason");
    s->latency = beat_histogram_new("beat_receiver_request_duration_seconds",
                                    "Notice handling time (excludes network)", beat_latency_bounds,
                                    beat_latency_nbounds);
}

void rcv_worker_bufs_init(rcv_worker_bufs *w, rcv_notices *s, size_t max_body) {
    w->shared = s;
    beat_buf_init(&w->body, max_body);
    beat_buf_init(&w->event, RCV_EVENT_MAX);
    beat_buf_init(&w->location, BEAT_URL_MAX + BEAT_CONV_TOKEN_MAX + 64);
}

void rcv_worker_bufs_fini(rcv_worker_bufs *w) {
    beat_buf_fini(&w->body);
    beat_buf_fini(&w->event);
    beat_buf_fini(&w->location);
}

int rcv_notice_accept(rcv_notices *s, const beat_notice *n, int64_t now_ms, beat_buf *scratch) {
    if (n->version == 1) beat_counter_inc(s->v1);
    if (n->flags & BEAT_NOTICE_F_TEST) {
        /* Test traffic: nothing reaches Kafka, so no reader can debit it,
         * count it as a win or turn its click into a training label. */
        beat_counter_inc(s->test[n->type]);
        return 0;
    }
    beat_event ev;
    rcv_notice_to_event(n, now_ms, &ev);
    int rc = rcv_events_send(s->events, &ev, scratch); /* drops are counted */
    if (rc == 0) beat_counter_inc(s->accepted[n->type]);
    return rc;
}

uint64_t rcv_notices_accepted(const rcv_notices *s) {
    uint64_t n = 0;
    for (int t = BEAT_EV_WIN; t <= BEAT_EV_CLICK; t++) n += beat_counter_get(s->accepted[t]);
    return n + beat_counter_get(s->accepted[BEAT_EV_CONV]);
}

uint64_t rcv_notices_test(const rcv_notices *s) {
    uint64_t n = 0;
    for (int t = BEAT_EV_WIN; t <= BEAT_EV_CLICK; t++) n += beat_counter_get(s->test[t]);
    return n + beat_counter_get(s->test[BEAT_EV_CONV]);
}

uint64_t rcv_notices_refused(const rcv_notices *s) {
    return beat_counter_get(s->refused[0]) + beat_counter_get(s->refused[1]);
}

uint64_t rcv_notices_rejected(const rcv_notices *s) {
    uint64_t n = 0;
    for (int r = RCV_MALFORMED; r < RCV_REJECT_N; r++)
        n += beat_counter_get(s->rejected[r]) + beat_counter_get(s->conv_rejected[r]);
    return n;
}

const char *rcv_notice_query(beat_http_req *req, rcv_worker_bufs *w, beat_counter *malformed) {
    beat_http_method cmd = beat_http_req_method(req);
    if (cmd != BEAT_HTTP_GET && cmd != BEAT_HTTP_POST) {
        beat_http_reply_error(req, 405, "use GET or POST");
        return NULL;
    }
    const char *q = beat_http_req_query(req);
    if ((q && *q) || cmd != BEAT_HTTP_POST) return q ? q : "";
    beat_buf_reset(&w->body);
    if (beat_http_body(req, &w->body) < 0) {
        beat_counter_inc(malformed);
        beat_http_reply_error(req, 413, "body too large");
        return NULL;
    }
    while (w->body.len > 0 && isspace((unsigned char)w->body.data[w->body.len - 1]))
        w->body.data[--w->body.len] = '\0';
    return w->body.data ? w->body.data : "";
}

void rcv_reply_refused(beat_http_req *req, rcv_notices *s, int rc) {
    beat_counter_inc(s->refused[rc == -ENOBUFS ? 0 : 1]);
    char ra[16];
    snprintf(ra, sizeof ra, "%d", s->cfg.retry_after_s);
    beat_http_add_header(req, "Retry-After", ra);
    beat_http_reply_error(req, 503,
                          rc == -ENOBUFS ? "event spool full (Kafka slow or down); retry later"
                                         : "event not queued for Kafka; retry later");
}

static void handle(beat_http_req *req, rcv_worker_bufs *w, beat_event_type type) {
    int64_t t0 = beat_mono_us();
    rcv_notices *s = w->shared;
    const char *query = rcv_notice_query(req, w, s->rejected[RCV_MALFORMED]);
    if (!query) goto done;
    beat_notice n;
    beat_reason why = {{0}};
    int64_t now = beat_now_ms();
    rcv_reject r = rcv_notice_check(&s->cfg, type, query, now, &n, &why);
    if (r != RCV_OK) {
        beat_counter_inc(s->rejected[r]);
        beat_http_reply_error(req, rcv_reject_status(r), why.msg);
        goto done;
    }
    int rc = rcv_notice_accept(s, &n, now, &w->event);
    /* Test or not, the answer is the same. */
    beat_http_add_header(req, "Cache-Control", "no-store");
    if (rc < 0 && type != BEAT_EV_CLICK) {
        rcv_reply_refused(req, s, rc);
        goto done;
    }
    if (type == BEAT_EV_IMP) {
        beat_http_reply(req, 200, "image/gif", rcv_pixel_gif, sizeof rcv_pixel_gif);
    } else if (type == BEAT_EV_CLICK) {
        /* The landing, with the click's conversion token when there is room. */
        beat_http_add_header(req, "Location", rcv_conv_location(s, &n, &w->location));
        beat_http_reply(req, 302, NULL, NULL, 0);
    } else {
        beat_http_reply(req, 204, NULL, NULL, 0);
    }
done:
    beat_histogram_observe(s->latency, (double)(beat_mono_us() - t0) / 1e6);
}

static void on_win(beat_http_req *r, void *a) { handle(r, a, BEAT_EV_WIN); }
static void on_bill(beat_http_req *r, void *a) { handle(r, a, BEAT_EV_BILL); }
static void on_loss(beat_http_req *r, void *a) { handle(r, a, BEAT_EV_LOSS); }
static void on_imp(beat_http_req *r, void *a) { handle(r, a, BEAT_EV_IMP); }
static void on_click(beat_http_req *r, void *a) { handle(r, a, BEAT_EV_CLICK); }

void rcv_notices_route(beat_http *h, rcv_worker_bufs *w) {
    /* Notices are signed: who posts one does not matter, so any body type
     * is taken (exchanges send form-encoded bodies, some text/plain). */
    beat_http_route_opts o = {.any_type = true};
    beat_http_route_ex(h, "/win", on_win, w, &o);
    beat_http_route_ex(h, "/bill", on_bill, w, &o);
    beat_http_route_ex(h, "/loss", on_loss, w, &o);
    beat_http_route_ex(h, "/imp", on_imp, w, &o);
    beat_http_route_ex(h, "/click", on_click, w, &o);
    rcv_conv_route(h, w);
}
