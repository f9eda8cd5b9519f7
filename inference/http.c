/* Lean HTTP/1.1 server of the inference bid path (see http.h for why).
 * Called by main.c (one server per worker event loop); calls the bid
 * handler for POST /openrtb2/bid and answers /healthz and /metrics itself.
 * It must never block the loop, never trust a byte of input (every length
 * is bounded before use; the parsing itself is http_parse.c) and never
 * allocate per request: each connection slot keeps its buffers between
 * requests and connections. */
#include "http_int.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beat_http.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"

static struct {
    beat_counter *refused, *oversize, *malformed, *timeout, *accepted, *evicted;
    beat_gauge *open;
} M;

/* The clock is read once per event callback (tick) and every timestamp
 * taken while serving it is that reading: timeouts are in seconds, and a
 * callback serving pipelined requests reads it once, not per request. */
static int64_t tick(inf_http *h) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return h->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connection slots ------------------------------------------------------ */

static void ev_set(struct event *ev, bool *on, bool want) {
    if (want == *on) return;
    if (want) event_add(ev, NULL);
    else event_del(ev);
    *on = want;
}

static void req_reset(inf_http_conn *c) {
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

static void conn_close(inf_http_conn *c) {
    inf_http *h = c->h;
    if (c->fd < 0) return;
    ev_set(c->rev, &c->rev_on, false);
    ev_set(c->wev, &c->wev_on, false);
    close(c->fd);
    c->fd = -1;
    if (c->in_cap > IN_KEEP) { /* a rare big body: give the memory back */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    if (c->out.cap > IN_KEEP) beat_buf_fini(&c->out);
    beat_buf_reset(&c->out);
    c->in_len = c->out_off = 0;
    c->next_free = h->free_head;
    h->free_head = (int)(c - h->conns);
    h->n_open--;
    beat_gauge_add(M.open, -1);
}

/* Error replies close the connection, but not at once: a client still
 * sending its (refused) body would get a reset and lose the reply. */
static void conn_linger(inf_http_conn *c) {
    c->linger = true;
    shutdown(c->fd, SHUT_WR);
    c->in_len = 0;
    c->last_ms = c->h->now_ms;
    ev_set(c->rev, &c->rev_on, true);
}

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

/* Sends what is queued. Returns false if the connection was closed. */
static bool flush(inf_http_conn *c) {
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            c->last_ms = c->h->now_ms;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_set(c->wev, &c->wev_on, true);
            /* Bounded output: no more requests until the client reads. */
            if (c->out.len - c->out_off > OUT_HIGH) ev_set(c->rev, &c->rev_on, false);
            return true;
        }
        conn_close(c); /* reset by peer */
        return false;
    }
    beat_buf_reset(&c->out);
    c->out_off = 0;
    ev_set(c->wev, &c->wev_on, false);
    if (c->closing) {
        conn_linger(c);
        return true;
    }
    if (c->peer_eof && c->in_len == 0) {
        conn_close(c);
        return false;
    }
    ev_set(c->rev, &c->rev_on, true);
    return true;
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

static void fail(inf_http_conn *c, int code) {
    beat_counter_inc(code == 413 || code == 431 ? M.oversize
                     : code == 408              ? M.timeout
                                                : M.malformed);
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
static void process(inf_http_conn *c) {
    size_t consumed = 0;
    while (!c->closing && c->out.len - c->out_off <= OUT_HIGH) {
        char *in = c->in + consumed;
        size_t len = c->in_len - consumed;
        if (c->st == ST_IDLE) { /* tolerate a few stray CRLFs between requests */
            /* A request's clock starts at its first byte, stray CRLFs
             * included, and for a connection's first request at accept:
             * bytes trickled in late or one at a time buy no time. */
            if (len && !c->crlf) c->req_start_ms = c->served ? c->h->now_ms : c->idle_ms;
            while (len && (*in == '\r' || *in == '\n') && c->crlf <= CRLF_MAX)
                in++, len--, consumed++, c->crlf++;
            if (c->crlf > CRLF_MAX) {
                fail(c, 400);
                break;
            }
            if (!len) break;
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
            fail(c, rc);
            break;
        }
        if (!raw_end) break; /* need more bytes */
        bool ka = c->ka;
        dispatch(c, in, in + c->hdr_end, blen);
        consumed += raw_end;
        if (!ka) c->closing = true;
        req_reset(c);
        c->served = true;
        c->idle_ms = c->h->now_ms;
    }
    if (consumed) {
        c->in_len -= consumed;
        if (c->in_len) memmove(c->in, c->in + consumed, c->in_len);
    }
}

/* ---- events ---------------------------------------------------------------------- */

/* Room for at least one more input byte (plus a spare): 0, -ENOMEM, or
 * the HTTP status when the request cannot fit in --max-body + headers. */
static int in_reserve(inf_http_conn *c) {
    if (c->in_cap - c->in_len >= 2) return 0;
    size_t ncap = c->in_cap ? c->in_cap * 2 : IN_INIT;
    if (ncap > c->h->in_max) ncap = c->h->in_max;
    if (ncap <= c->in_cap) return c->st == ST_BODY ? 413 : 431;
    char *nb = realloc(c->in, ncap);
    if (!nb) {
        beat_log_rl(5000, BEAT_ERROR, "http_out_of_memory", "bytes=%zu", ncap);
        return -ENOMEM;
    }
    c->in = nb;
    c->in_cap = ncap;
    return 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    inf_http_conn *c = arg;
    tick(c->h);
    if (c->linger) { /* discard until EOF or LINGER_MS */
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) conn_close(c);
        return;
    }
    int rr = in_reserve(c);
    if (rr < 0) {
        conn_close(c);
        return;
    }
    if (rr > 0) { /* full: the request cannot fit */
        ev_set(c->rev, &c->rev_on, false);
        fail(c, rr);
        (void)flush(c);
        return;
    }
    ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        conn_close(c);
        return;
    }
    if (n == 0) {
        c->peer_eof = true;
        ev_set(c->rev, &c->rev_on, false);
    } else {
        c->in_len += (size_t)n;
        c->last_ms = c->h->now_ms;
    }
    process(c);
    if (c->peer_eof && !c->closing && c->out.len == c->out_off) {
        conn_close(c); /* half-closed with nothing (more) to answer */
        return;
    }
    (void)flush(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    inf_http_conn *c = arg;
    tick(c->h);
    if (!flush(c)) return;
    if (c->out.len == 0 && !c->closing && !c->linger && c->in_len) {
        process(c); /* requests held back while the output was full */
        (void)flush(c);
    }
}

static void accept_pause_end(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    inf_http *h = arg;
    event_add(h->lev, NULL);
}

/* All slots taken: closes the connection waiting longest for a complete
 * request (lingering ones first), never one with a reply being written, so
 * a flood of idle or slow sockets cannot lock out the exchanges. A scan of
 * the slots, made only at the cap. false if every connection is busy. */
static bool evict_oldest(inf_http *h) {
    inf_http_conn *best = NULL;
    int64_t best_since = INT64_MAX;
    for (int i = 0; i < h->cfg.max_conns; i++) {
        inf_http_conn *c = &h->conns[i];
        if (c->fd < 0 || c->out.len > c->out_off) continue;
        int64_t since = c->linger                      ? INT64_MIN
                        : c->st == ST_IDLE && !c->crlf ? c->idle_ms
                                                       : c->req_start_ms;
        if (since < best_since) best = c, best_since = since;
    }
    if (!best) return false;
    beat_counter_inc(M.evicted);
    beat_log_rl(5000, BEAT_WARN, "http_conn_evicted", "max_conns=%d", h->cfg.max_conns);
    conn_close(best);
    return true;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg) {
    (void)what;
    inf_http *h = arg;
    tick(h);
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                beat_log_rl(5000, BEAT_WARN, "http_accept_failed", "err=%d", -errno);
                event_del(h->lev); /* out of fds: breathe instead of spinning */
                struct timeval tv = {0, 100000};
                evtimer_add(h->resume, &tv);
            }
            return;
        }
        if (h->free_head < 0 && !evict_oldest(h)) {
            beat_counter_inc(M.refused);
            beat_log_rl(5000, BEAT_WARN, "http_conn_limit", "max_conns=%d", h->cfg.max_conns);
            close(fd);
            continue;
        }
        inf_http_conn *c = &h->conns[h->free_head];
        h->free_head = c->next_free;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->peer = peer;
        c->in_len = c->out_off = 0;
        beat_buf_reset(&c->out);
        c->closing = c->linger = c->peer_eof = c->served = false;
        c->rev_on = c->wev_on = false;
        req_reset(c);
        c->last_ms = c->idle_ms = h->now_ms;
        event_assign(c->rev, h->base, fd, EV_READ | EV_PERSIST, on_read, c);
        event_assign(c->wev, h->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
        ev_set(c->rev, &c->rev_on, true);
        h->n_open++;
        beat_gauge_add(M.open, 1);
        beat_counter_inc(M.accepted);
    }
}

/* Once a second: slow requests get 408 (read_timeout_ms after their first
 * byte, or after accept for a connection's first), idle keep-alives and
 * stuck writers are closed, lingering closes end. */
static void on_sweep(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    inf_http *h = arg;
    int64_t now = tick(h);
    for (int i = 0; i < h->cfg.max_conns; i++) {
        inf_http_conn *c = &h->conns[i];
        if (c->fd < 0) continue;
        if (c->linger) {
            if (now - c->last_ms > LINGER_MS) conn_close(c);
        } else if (c->out.len > c->out_off) {
            if (now - c->last_ms > h->cfg.read_timeout_ms) {
                beat_counter_inc(M.timeout);
                conn_close(c);
            }
        } else if (c->st != ST_IDLE || c->crlf) { /* a request started */
            if (now - c->req_start_ms > h->cfg.read_timeout_ms) {
                fail(c, 408);
                (void)flush(c);
            }
        } else if (now - c->idle_ms >
                   (c->served ? h->cfg.idle_timeout_ms : h->cfg.read_timeout_ms)) {
            if (!c->served) beat_counter_inc(M.timeout); /* connected, never asked */
            conn_close(c);
        }
    }
}

/* ---- setup -------------------------------------------------------------------------- */

static void metrics_once(void) {
    if (M.open) return; /* registering twice returns the same metrics anyway */
    M.open =
        beat_gauge_new("beat_inference_http_connections", "Open HTTP connections (all workers)");
    M.accepted =
        beat_counter_new("beat_inference_http_connections_total", "HTTP connections accepted");
    M.refused = beat_counter_new("beat_inference_http_refused_total",
                                 "Connections closed at accept: --max-conns reached "
                                 "and every connection busy answering");
    M.evicted = beat_counter_new("beat_inference_http_evicted_total",
                                 "Connections closed at --max-conns to make room: the "
                                 "one waiting longest for a complete request");
    M.oversize = beat_counter_new("beat_inference_http_rejected_total{reason=\"oversize\"}",
                                  "Requests refused by the HTTP layer");
    M.malformed = beat_counter_new("beat_inference_http_rejected_total{reason=\"malformed\"}",
                                   "Requests refused by the HTTP layer");
    M.timeout = beat_counter_new("beat_inference_http_rejected_total{reason=\"timeout\"}",
                                 "Requests refused by the HTTP layer");
}

inf_http *inf_http_new(struct event_base *base, const inf_http_cfg *cfg, int *err) {
    int e = -ENOMEM;
    if (!base || !cfg || !cfg->bid || cfg->max_conns < 1) {
        *err = -EINVAL;
        return NULL;
    }
    metrics_once();
    inf_http *h = calloc(1, sizeof *h);
    if (!h) goto fail;
    h->base = base;
    h->cfg = *cfg;
    h->lfd = -1;
    h->start_ms = beat_mono_ms();
    h->in_max = cfg->max_header + cfg->max_body + cfg->max_body / 2 + 4096;
    beat_buf_init(&h->scratch, OUT_MAX);
    h->conns = calloc((size_t)cfg->max_conns, sizeof *h->conns);
    if (!h->conns) goto fail;
    h->free_head = -1;
    for (int i = cfg->max_conns - 1; i >= 0; i--) {
        inf_http_conn *c = &h->conns[i];
        c->h = h;
        c->fd = -1;
        beat_buf_init(&c->out, OUT_MAX);
        c->rev = malloc(event_get_struct_event_size());
        c->wev = malloc(event_get_struct_event_size());
        if (!c->rev || !c->wev) goto fail;
        c->next_free = h->free_head;
        h->free_head = i;
    }
    if (!cfg->listen) return h; /* inf_http_feed only (tests, fuzzing) */
    if ((e = beat_http_listen_socket(cfg->listen, cfg->reuseport, &h->lfd))) goto fail;
    e = -ENOMEM;
    h->lev = event_new(base, h->lfd, EV_READ | EV_PERSIST, on_accept, h);
    h->sweep = event_new(base, -1, EV_PERSIST, on_sweep, h);
    h->resume = evtimer_new(base, accept_pause_end, h);
    struct timeval sec = {1, 0};
    if (!h->lev || !h->sweep || !h->resume || event_add(h->lev, NULL) || event_add(h->sweep, &sec))
        goto fail;
    return h;
fail:
    inf_http_free(h);
    *err = e;
    return NULL;
}

void inf_http_free(inf_http *h) {
    if (!h) return;
    if (h->conns) {
        for (int i = 0; i < h->cfg.max_conns; i++) {
            inf_http_conn *c = &h->conns[i];
            if (c->fd >= 0) conn_close(c);
            free(c->in);
            beat_buf_fini(&c->out);
            free(c->rev);
            free(c->wev);
        }
        free(h->conns);
    }
    if (h->lev) event_free(h->lev);
    if (h->sweep) event_free(h->sweep);
    if (h->resume) event_free(h->resume);
    if (h->lfd >= 0) close(h->lfd);
    beat_buf_fini(&h->scratch);
    free(h);
}

int inf_http_conns(const inf_http *h) { return h ? h->n_open : 0; }

int inf_http_feed(inf_http *h, const char *data, size_t len, size_t piece, beat_buf *out) {
    inf_http_conn c;
    memset(&c, 0, sizeof c);
    c.h = h;
    c.fd = -1; /* no socket: nothing here may send or close */
    beat_buf_init(&c.out, OUT_MAX);
    req_reset(&c);
    if (!piece) piece = len ? len : 1;
    int rc = 0;
    for (size_t off = 0; off < len && !c.closing;) {
        int rr = in_reserve(&c);
        if (rr < 0) {
            rc = rr;
            break;
        }
        if (rr > 0) {
            fail(&c, rr);
            break;
        }
        size_t n = len - off;
        if (n > piece) n = piece;
        if (n > c.in_cap - c.in_len - 1) n = c.in_cap - c.in_len - 1;
        memcpy(c.in + c.in_len, data + off, n);
        c.in_len += n;
        tick(h);
        off += n;
        process(&c);
        if (beat_buf_append(out, c.out.data, c.out.len)) rc = -EMSGSIZE;
        beat_buf_reset(&c.out); /* as if flushed */
    }
    if (!rc && beat_buf_append(out, c.out.data, c.out.len)) rc = -EMSGSIZE;
    free(c.in);
    beat_buf_fini(&c.out);
    return rc;
}

int inf_http_port(const inf_http *h) { return h ? beat_http_sock_port(h->lfd) : -1; }
