/* Lean HTTP/1.1 server of the inference bid path (see http.h for why):
 * requests and replies. Serves every complete request a connection has
 * read (pipelining, Expect: 100-continue, the gate), calls the bid handler
 * for POST /openrtb2/bid and answers /healthz and /metrics itself; the
 * socket side is http_conn.c. It must never trust a byte of input (every
 * length is bounded before use; the parsing itself is http_parse.c) and
 * never allocate per request: a slot keeps its buffers between requests. */
#include "http_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beat_http.h"
#include "beat_log.h"
#include "beat_metrics.h"

/* ---- requests ---------------------------------------------------------------- */

void inf_http_req_reset(inf_http_conn *c) {
    c->st = ST_IDLE;
    c->route = R_NONE;
    c->scan = c->hdr_end = c->ce_pos = c->ov_pos = c->xe_pos = c->xk_pos = 0;
    memset(&c->gv, 0, sizeof c->gv);
    c->clen = -1;
    c->chunked = c->expect = c->cont_sent = c->post = c->head = false;
    c->ka = true;
    c->ch_state = CH_SIZE;
    c->ch_raw = c->ch_dec = 0;
    c->ch_left = 0;
    c->replied = false;
    c->crlf = 0;
}

/* ---- replies ----------------------------------------------------------------- */

static const char *reason_phrase(int code) {
    switch (code) {
        case 100: return "Continue";
        case 200: return "OK";
        case 204: return "No Content";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 413: return "Payload Too Large";
        case 415: return "Unsupported Media Type";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

static char *put_u(char *p, uint64_t v) {
    char t[24];
    int n = 0;
    do t[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n) *p++ = t[--n];
    return p;
}

static const char *date_header(inf_http *h) {
    time_t t = time(NULL);
    if (t != h->date_at) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(h->date, sizeof h->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        h->date_at = t;
    }
    return h->date;
}

void inf_http_reply(inf_http_conn *c, int code, const char *ortb_version, const char *extra_headers,
                    const char *body, size_t len) {
    if (c->replied) return;
    c->replied = true;
    if (!c->ka) c->closing = true; /* HTTP/1.0, Connection: close, errors */
    size_t start = c->out.len;
    char head[512], *p = head;
    const char *phrase = reason_phrase(code);
    memcpy(p, "HTTP/1.1 ", 9), p += 9;
    p = put_u(p, (uint64_t)code);
    *p++ = ' ';
    size_t pl = strlen(phrase);
    memcpy(p, phrase, pl), p += pl;
    memcpy(p, "\r\n", 2), p += 2;
    if (len) {
        static const char ct[] = "Content-Type: application/json\r\n";
        memcpy(p, ct, sizeof ct - 1), p += sizeof ct - 1;
    }
    if (code != 204 && code != 100) {
        static const char cl[] = "Content-Length: ";
        memcpy(p, cl, sizeof cl - 1), p += sizeof cl - 1;
        p = put_u(p, len);
        memcpy(p, "\r\n", 2), p += 2;
    }
    if (c->closing) {
        static const char cc[] = "Connection: close\r\n";
        memcpy(p, cc, sizeof cc - 1), p += sizeof cc - 1;
    }
    const char *d = date_header(c->h);
    size_t dl = strlen(d);
    memcpy(p, d, dl), p += dl;
    int rc = beat_buf_append(&c->out, head, (size_t)(p - head));
    if (!rc && ortb_version) {
        rc = beat_buf_append(&c->out, "x-openrtb-version: ", 19);
        if (!rc) rc = beat_buf_puts(&c->out, ortb_version);
        if (!rc) rc = beat_buf_append(&c->out, "\r\n", 2);
    }
    if (!rc && extra_headers) rc = beat_buf_puts(&c->out, extra_headers);
    if (!rc) rc = beat_buf_append(&c->out, "\r\n", 2);
    if (!rc && len && !c->head) rc = beat_buf_append(&c->out, body, len);
    if (rc) { /* only a giant /metrics gets here */
        c->out.len = start;
        c->closing = true;
        static const char e500[] = "HTTP/1.1 500 Internal Server Error\r\n"
                                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        (void)beat_buf_append(&c->out, e500, sizeof e500 - 1);
        beat_log_rl(5000, BEAT_ERROR, "http_reply_too_large", "code=%d len=%zu", code, len);
    }
}

void inf_http_reply_error(inf_http_conn *c, int code, const char *ortb_version,
                          const char *extra_headers, const char *reason) {
    char b[700], *p = b;
    size_t n = reason ? strlen(reason) : 0;
    if (n > 512) n = 512; /* reasons are short; a giant one is cut */
    memcpy(p, "{\"error\":\"", 10), p += 10;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && p < b + sizeof b - 16; i++) {
        unsigned char ch = (unsigned char)reason[i];
        if (ch == '"' || ch == '\\') *p++ = '\\', *p++ = (char)ch;
        else if (ch < 0x20 || ch >= 0x7f) /* ASCII only: never invalid UTF-8 */
            memcpy(p, "\\u00", 4), p += 4, *p++ = hex[ch >> 4], *p++ = hex[ch & 15];
        else *p++ = (char)ch;
    }
    memcpy(p, "\"}", 2), p += 2;
    inf_http_reply(c, code, ortb_version, extra_headers, b, (size_t)(p - b));
}

/* ---- dispatch -------------------------------------------------------------------- */

static void serve_health(inf_http_conn *c) {
    inf_http *h = c->h;
    beat_buf detail;
    beat_buf_init(&detail, 64 * 1024);
    bool ready = h->cfg.health ? h->cfg.health(h->cfg.health_arg, &detail) : true;
    beat_buf *o = &h->scratch;
    beat_buf_reset(o);
    beat_http_health_body(o, ready, h->start_ms, &detail);
    beat_buf_fini(&detail);
    inf_http_reply(c, 200, NULL, NULL, o->data, o->len);
}

static void serve_metrics(inf_http_conn *c) {
    beat_buf *o = &c->h->scratch;
    beat_buf_reset(o);
    if (beat_metrics_render(o) != 0) {
        inf_http_reply_error(c, 500, NULL, NULL, "metrics render failed");
        return;
    }
    /* Same bytes as evhttp served, but text/plain rather than JSON. */
    if (c->replied) return;
    c->replied = true;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                     "charset=utf-8\r\nContent-Length: %zu\r\n%s%s\r\n",
                     o->len, c->ka ? "" : "Connection: close\r\n", date_header(c->h));
    if (!c->ka) c->closing = true;
    if (beat_buf_append(&c->out, head, (size_t)n) ||
        (!c->head && beat_buf_append(&c->out, o->data, o->len))) {
        c->replied = false;
        inf_http_reply_error(c, 500, NULL, NULL, "metrics too large");
    }
}

/* base: where the request starts in c->in (header positions are relative). */
static void dispatch(inf_http_conn *c, const char *base, const char *body, size_t blen) {
    switch (c->route) {
        case R_BID: {
            inf_http_req rq = {
                .post = c->post,
                .body = blen ? body : NULL,
                .body_len = blen,
                .content_encoding = c->ce_pos ? base + c->ce_pos : NULL,
                .ortb_version = c->ov_pos ? base + c->ov_pos : NULL,
                .tag = c->gv.tag,
                .tag_i = c->gv.tag_i,
            };
            if (c->gv.code) { /* refused by the gate, answered once the body is in */
                inf_http_reply(c, c->gv.code, NULL, c->gv.headers, NULL, 0);
                break;
            }
            c->h->cfg.bid(c->h->cfg.bid_arg, &rq, c);
            if (!c->replied) inf_http_reply_error(c, 500, NULL, NULL, "no reply");
            break;
        }
        case R_HEALTH: serve_health(c); break;
        case R_METRICS: serve_metrics(c); break;
        default: inf_http_reply_error(c, 404, NULL, NULL, "not found"); break;
    }
}

void inf_http_fail(inf_http_conn *c, int code) {
    beat_counter_inc(code == 413 || code == 431 ? inf_http_m.oversize
                     : code == 408              ? inf_http_m.timeout
                                                : inf_http_m.malformed);
    c->ka = false;
    c->replied = false;
    inf_http_reply_error(c, code, NULL, NULL,
                         code == 413   ? "body over --max-body"
                         : code == 431 ? "request headers too large"
                         : code == 408 ? "request not complete in time"
                         : code == 501 ? "Transfer-Encoding: only chunked"
                         : code == 505 ? "HTTP/1.x only"
                                       : "malformed HTTP request");
    c->closing = true;
}

/* The hook after a bid request's head: who sent it, before a byte of its
 * body is read. True when refused outright (4xx sent, connection closing);
 * a 204 verdict is kept in c->gv and answered by dispatch. */
static bool gate(inf_http_conn *c) {
    if (!c->h->cfg.gate) return false;
    inf_http_head hd = {
        .peer = c->peer.ss_family ? (const struct sockaddr *)&c->peer : NULL,
        .exchange = c->xe_pos ? c->in + c->xe_pos : NULL,
        .key = c->xk_pos ? c->in + c->xk_pos : NULL,
    };
    c->h->cfg.gate(c->h->cfg.gate_arg, &hd, &c->gv);
    if (c->gv.code < 400) return false;
    c->ka = false;
    inf_http_reply_error(c, c->gv.code, NULL, NULL, c->gv.reason ? c->gv.reason : "forbidden");
    c->closing = true; /* the unread body is discarded by the linger */
    return true;
}

/* Serves every complete request in the input buffer (pipelining), then
 * compacts what is left of a partial one to the front. */
void inf_http_process(inf_http_conn *c) {
    size_t consumed = 0;
    while (!c->closing && c->out.len - c->out_off <= OUT_HIGH) {
        char *in = c->in + consumed;
        size_t len = c->in_len - consumed;
        if (c->st == ST_IDLE) {
            /* A few stray CRLFs between requests are tolerated (RFC 9112
             * 2.2), more are refused. They start no request: the
             * connection stays idle, timed from its last complete request
             * (or accept), so line breaks trickled in buy no time. */
            while (len && (*in == '\r' || *in == '\n') && c->crlf <= CRLF_MAX)
                in++, len--, consumed++, c->crlf++;
            if (c->crlf > CRLF_MAX) {
                inf_http_fail(c, 400);
                break;
            }
            if (!len) break;
            /* A request's clock starts at its first byte, and for a
             * connection's first request at accept: a client silent until
             * late gets no fresh read timeout. */
            c->req_start_ms = c->served ? c->h->now_ms : c->idle_ms;
            c->st = ST_HEAD;
        }
        /* Parse relative to the request start: shift the view. */
        char *save_in = c->in;
        size_t save_len = c->in_len;
        c->in = in;
        c->in_len = len;
        int rc = 0;
        size_t raw_end = 0, blen = 0;
        if (c->st == ST_HEAD) {
            if (!inf_http_find_head_end(c)) {
                if (len > c->h->cfg.max_header) rc = 431;
            } else if (c->hdr_end > c->h->cfg.max_header) {
                rc = 431; /* the same whether it came in one read or many */
            } else if ((rc = inf_http_parse_head(c)) == 0) {
                c->st = ST_BODY;
                if (c->route == R_BID && gate(c)) { /* answered: no body read */
                    c->in = save_in;
                    c->in_len = save_len;
                    break;
                }
            }
        }
        if (!rc && c->st == ST_BODY) {
            if (c->chunked) {
                int d = inf_http_dechunk(c);
                if (d == 1) raw_end = c->ch_raw, blen = c->ch_dec - c->hdr_end;
                else if (d > 1) rc = d;
            } else {
                uint64_t need = c->hdr_end + (uint64_t)(c->clen > 0 ? c->clen : 0);
                if (len >= need) raw_end = (size_t)need, blen = need - c->hdr_end;
            }
            if (!rc && !raw_end && c->expect && !c->cont_sent) {
                c->cont_sent = true;
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                (void)beat_buf_append(&c->out, cont, sizeof cont - 1);
            }
        }
        c->in = save_in;
        c->in_len = save_len;
        if (rc) {
            inf_http_fail(c, rc);
            break;
        }
        if (!raw_end) break; /* need more bytes */
        bool ka = c->ka;
        dispatch(c, in, in + c->hdr_end, blen);
        consumed += raw_end;
        if (!ka) c->closing = true;
        inf_http_req_reset(c);
        c->served = true;
        c->idle_ms = c->h->now_ms;
    }
    if (consumed) {
        c->in_len -= consumed;
        if (c->in_len) memmove(c->in, c->in + consumed, c->in_len);
    }
}
