/* Conversions (docs/contracts.md "Conversions"), on the worker event loops.
 * A click's 302 carries a signed token to the landing page; the
 * advertiser calls /conv with it, as a pixel (GET, answered with a 1×1
 * GIF) or a postback (POST, 204). The token is checked like a notice
 * (forged → 403, malformed → 400, past its window → 410) and becomes one
 * "conv" event keyed by auction id; datastream counts it once per click
 * (its dedup key is the click's, whatever the replays). A test click's
 * token makes a test conversion: answered, never produced. Never trusts a
 * byte of the query; no log line per request. */
#include "conv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat_log.h"

void rcv_conv_metrics_init(rcv_notices *s) {
    static const char *const reasons[RCV_REJECT_N] = {"ok",      "malformed", "forged",
                                                      "expired", "price",     "currency"};
    s->accepted[BEAT_EV_CONV] =
        beat_counter_new("beat_receiver_notices_total{type=\"conv\"}",
                         "Notices accepted and produced to Kafka, by type (test notices apart)");
    s->test[BEAT_EV_CONV] =
        beat_counter_new("beat_receiver_test_notices_total{type=\"conv\"}",
                         "Test notices (OpenRTB test=1) accepted and answered, never produced");
    char name[128];
    for (int r = RCV_MALFORMED; r <= RCV_EXPIRED; r++) {
        snprintf(name, sizeof name, "beat_receiver_convs_rejected_total{reason=\"%s\"}",
                 reasons[r]);
        s->conv_rejected[r] = beat_counter_new(name, "Conversion calls (/conv) refused, by reason");
    }
    s->conv_tokens = beat_counter_new("beat_receiver_conv_tokens_total",
                                      "Conversion tokens handed out with click redirects");
}

const char *rcv_conv_location(rcv_notices *s, const beat_notice *n, beat_buf *buf) {
    const char *param = s->cfg.conv_param;
    if (!param || !*param) return n->landing;
    beat_conv_token t;
    memset(&t, 0, sizeof t);
    memcpy(t.exchange, n->exchange, sizeof t.exchange);
    t.flags = n->flags;
    memcpy(t.auction, n->auction, sizeof t.auction);
    memcpy(t.imp, n->imp, sizeof t.imp);
    memcpy(t.campaign, n->campaign, sizeof t.campaign);
    memcpy(t.crid, n->crid, sizeof t.crid);
    t.click_ts_ms = n->ts_ms;
    t.window_s = n->conv_window_s > 0 ? n->conv_window_s : BEAT_CONV_WINDOW_DEFAULT_S;
    char tok[BEAT_CONV_TOKEN_MAX];
    int rc = beat_conv_token_make(s->cfg.secret, s->cfg.secret_len, &t, tok, sizeof tok);
    /* The token goes into the query, before any fragment. */
    const char *hash = strchr(n->landing, '#');
    size_t head = hash ? (size_t)(hash - n->landing) : strlen(n->landing);
    const char *q = memchr(n->landing, '?', head);
    const char *sep = !q                                                           ? "?"
                      : n->landing[head - 1] == '?' || n->landing[head - 1] == '&' ? ""
                                                                                   : "&";
    beat_buf_reset(buf);
    if (rc < 0 || beat_buf_append(buf, n->landing, head) < 0 || beat_buf_puts(buf, sep) < 0 ||
        beat_buf_printf(buf, "%s=%s", param, tok) < 0 || (hash && beat_buf_puts(buf, hash) < 0)) {
        beat_log_rl(10000, BEAT_WARN, "conv_token_failed", "campaign=%s err=%d", n->campaign,
                    rc < 0 ? rc : -EMSGSIZE);
        return n->landing;
    }
    beat_counter_inc(s->conv_tokens);
    return buf->data;
}

rcv_reject rcv_conv_check(const rcv_notice_cfg *cfg, const char *query, int64_t now_ms,
                          beat_conv *c, beat_reason *why) {
    int rc = beat_conv_parse(query, c, why);
    /* No token at all, or one signed for another type: unsigned. */
    if (rc == -ENOENT || rc == -EACCES) return RCV_FORGED;
    if (rc < 0) return RCV_MALFORMED;
    if (!beat_conv_verify(cfg->secret, cfg->secret_len, c)) {
        beat_reasonf(why, -EACCES, "bad signature");
        return RCV_FORGED;
    }
    if (c->tok.click_ts_ms > now_ms + cfg->max_future_ms) {
        beat_reasonf(why, -EINVAL, "timestamp in the future");
        return RCV_MALFORMED;
    }
    int64_t window_ms = (int64_t)c->tok.window_s * 1000;
    if (cfg->conv_max_age_ms > 0 && window_ms > cfg->conv_max_age_ms)
        window_ms = cfg->conv_max_age_ms;
    if (now_ms - c->tok.click_ts_ms > window_ms) {
        beat_reasonf(why, -ETIMEDOUT, "conversion window over");
        return RCV_EXPIRED;
    }
    return RCV_OK;
}

void rcv_conv_to_event(const beat_conv *c, int64_t now_ms, beat_event *ev) {
    memset(ev, 0, sizeof *ev);
    ev->type = BEAT_EV_CONV;
    ev->ts_ms = now_ms;
    memcpy(ev->auction, c->tok.auction, sizeof ev->auction);
    memcpy(ev->imp, c->tok.imp, sizeof ev->imp);
    memcpy(ev->campaign, c->tok.campaign, sizeof ev->campaign);
    memcpy(ev->crid, c->tok.crid, sizeof ev->crid);
    memcpy(ev->exchange, c->tok.exchange, sizeof ev->exchange);
    ev->notice_ts_ms = c->tok.click_ts_ms;
    ev->conv_window_s = c->tok.window_s;
    ev->value_micros = c->value_micros;
}

static void on_conv(beat_http_req *req, void *arg) {
    rcv_worker_bufs *w = arg;
    rcv_notices *s = w->shared;
    int64_t t0 = beat_mono_us();
    const char *query = rcv_notice_query(req, w, s->conv_rejected[RCV_MALFORMED]);
    if (!query) goto done;
    beat_conv c;
    beat_reason why = {{0}};
    int64_t now = beat_now_ms();
    rcv_reject r = rcv_conv_check(&s->cfg, query, now, &c, &why);
    if (r != RCV_OK) {
        beat_counter_inc(s->conv_rejected[r]);
        beat_http_reply_error(req, rcv_reject_status(r), why.msg);
        goto done;
    }
    beat_http_add_header(req, "Cache-Control", "no-store");
    if (c.tok.flags & BEAT_NOTICE_F_TEST) {
        beat_counter_inc(s->test[BEAT_EV_CONV]); /* never produced: never counted */
    } else {
        beat_event ev;
        rcv_conv_to_event(&c, now, &ev);
        int rc = rcv_events_send(s->events, &ev, &w->event);
        if (rc < 0) {
            rcv_reply_refused(req, s, rc);
            goto done;
        }
        beat_counter_inc(s->accepted[BEAT_EV_CONV]);
    }
    if (beat_http_req_method(req) == BEAT_HTTP_GET)
        beat_http_reply(req, 200, "image/gif", rcv_pixel_gif, 43);
    else beat_http_reply(req, 204, NULL, NULL, 0);
done:
    beat_histogram_observe(s->latency, (double)(beat_mono_us() - t0) / 1e6);
}

void rcv_conv_route(beat_http *h, rcv_worker_bufs *w) {
    beat_http_route_opts o = {.any_type = true};
    beat_http_route_ex(h, "/conv", on_conv, w, &o);
}
