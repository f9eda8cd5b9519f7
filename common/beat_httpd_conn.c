/* Connections of the daemons' HTTP server (beat_http.h): accept, reads,
 * writes, pipelining, deadlines and eviction, on the server's event_base
 * with raw events. Why it is shaped this way (docs/deploy.md "HTTP edges"):
 *  - deadlines are absolute: a request's headers must be in within
 *    header_timeout_ms of its first byte (of accept for the first request;
 *    stray line breaks are not a first byte, and a few at most),
 *    its body within body_timeout_ms + length / body_min_rate; reads never
 *    push them back, so trickling bytes buys nothing;
 *  - at max_conns a new connection evicts the one waiting longest for a
 *    complete request (never one whose reply is being written), so idle and
 *    slow sockets cannot lock out an honest client; one address may hold
 *    max_conns_per_source at most (beat_srccap.h), so a single host cannot
 *    take every slot;
 *  - route, token, Content-Length and Content-Type are checked when the
 *    headers are in: a refused body is never read, only drained briefly.
 * Runs on the loop thread only; never blocks; memory per connection is
 * bounded by the headers limit plus the route's body limit. */
#include "beat_httpd_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_loop.h"
#include "beat_srccap.h"

#define IN_INIT 4096
#define IN_KEEP (64 * 1024)
#define ACCEPT_BATCH 32
#define IOV_MAX_N 16

/* ---- waiting list and deadlines ----------------------------------------- */

static void wait_enter(httpd_conn *c) {
    if (c->waiting || c->fd < 0) return;
    beat_http *h = c->h;
    c->waiting = true;
    c->wnext = NULL;
    c->wprev = h->wtail;
    if (h->wtail) h->wtail->wnext = c;
    else h->whead = c;
    h->wtail = c;
}

static void wait_leave(httpd_conn *c) {
    if (!c->waiting) return;
    beat_http *h = c->h;
    if (c->wprev) c->wprev->wnext = c->wnext;
    else h->whead = c->wnext;
    if (c->wnext) c->wnext->wprev = c->wprev;
    else h->wtail = c->wprev;
    c->wprev = c->wnext = NULL;
    c->waiting = false;
}

static bool out_pending(const httpd_conn *c) { return evbuffer_get_length(c->out) > 0; }

/* The deadline that applies now: the state's, or the write's if sooner. */
static int64_t deadline(const httpd_conn *c) {
    int64_t d;
    switch (c->st) {
        case C_LINGER: return c->linger_dl;
        case C_HEAD: d = c->head_dl; break;
        case C_BODY: d = c->body_dl; break;
        default: d = c->first ? c->head_dl : c->idle_dl; break;
    }
    if (out_pending(c) && c->write_dl && c->write_dl < d) d = c->write_dl;
    return d;
}

static void rearm(httpd_conn *c) {
    if (!c->tmr) return;
    int64_t d = deadline(c);
    if (d == c->armed_dl) return;
    c->armed_dl = d;
    int64_t rel = d - beat_mono_ms();
    if (rel < 0) rel = 0;
    struct timeval tv = {(time_t)(rel / 1000), (suseconds_t)(rel % 1000) * 1000};
    evtimer_add(c->tmr, &tv);
}

/* ---- closing --------------------------------------------------------------- */

void httpd_conn_close(httpd_conn *c) {
    beat_http *h = c->h;
    wait_leave(c);
    if (c->pending) httpd_pending_orphan(c->pending); /* its answer is dropped when it comes */
    if (c->fd >= 0) {
        if (c->prev) c->prev->next = c->next;
        else h->conns = c->next;
        if (c->next) c->next->prev = c->prev;
        h->n_open--;
        beat_gauge_add(httpd_m.open, -1);
        close(c->fd);
        if (c->src_counted) beat_srccap_release(h->srccap, (struct sockaddr *)&c->addr);
    }
    if (c->rev) event_free(c->rev);
    if (c->wev) event_free(c->wev);
    if (c->tmr) event_free(c->tmr);
    evbuffer_free(c->out);
    beat_buf_fini(&c->xhdr);
    free(c->in);
    free(c);
}

void httpd_close_all(beat_http *h) {
    while (h->conns) httpd_conn_close(h->conns);
}

/* Sends what is queued. false if the connection was closed. */
static bool flush(httpd_conn *c) {
    if (c->fd < 0) return true; /* fed: the caller drains c->out */
    while (out_pending(c)) {
        struct evbuffer_iovec v[IOV_MAX_N];
        int nv = evbuffer_peek(c->out, -1, NULL, v, IOV_MAX_N);
        if (nv > IOV_MAX_N) nv = IOV_MAX_N;
        struct iovec iov[IOV_MAX_N];
        for (int i = 0; i < nv; i++) {
            iov[i].iov_base = v[i].iov_base;
            iov[i].iov_len = v[i].iov_len;
        }
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)nv};
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (n > 0) {
            evbuffer_drain(c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            beat_loop_ev_set(c->wev, &c->wev_on, true);
            wait_leave(c); /* being answered: not a candidate for eviction */
            if (evbuffer_get_length(c->out) > HTTPD_OUT_HIGH || c->closing)
                beat_loop_ev_set(c->rev, &c->rev_on, c->st == C_LINGER);
            rearm(c);
            return true;
        }
        httpd_conn_close(c); /* reset by the peer */
        return false;
    }
    beat_loop_ev_set(c->wev, &c->wev_on, false);
    if (c->pending) { /* being answered: neither read nor evicted meanwhile */
        wait_leave(c);
        beat_loop_ev_set(c->rev, &c->rev_on, false);
        rearm(c);
        return true;
    }
    if (c->st == C_LINGER) {
        shutdown(c->fd, SHUT_WR);
        beat_loop_ev_set(c->rev, &c->rev_on, true);
        wait_enter(c);
        rearm(c);
        return true;
    }
    if (c->closing || (c->peer_eof && c->st == C_IDLE)) {
        httpd_conn_close(c);
        return false;
    }
    wait_enter(c);
    beat_loop_ev_set(c->rev, &c->rev_on, !c->peer_eof);
    rearm(c);
    return true;
}

/* A refusal decided by the server: the reply, then read-and-discard for a
 * moment so a client still sending its body sees the reply, not a reset. */
static void refuse(httpd_conn *c, int code, const char *why, beat_counter *m) {
    beat_counter_inc(m);
    httpd_send_error(c, code, why);
    c->st = C_LINGER;
    c->in_len = 0;
    c->linger_dl = beat_mono_ms() + HTTPD_LINGER_MS;
}

/* A deadline passed: a best-effort reply (if any), then close at once. */
static void expire(httpd_conn *c, int code, const char *why, beat_counter *m) {
    beat_counter_inc(m);
    if (code && !out_pending(c)) {
        httpd_send_error(c, code, why);
        struct evbuffer_iovec v;
        if (evbuffer_peek(c->out, -1, NULL, &v, 1) >= 1)
            (void)send(c->fd, v.iov_base, v.iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    httpd_conn_close(c);
}

/* ---- requests --------------------------------------------------------------- */

static void req_reset(httpd_conn *c) {
    c->st = C_IDLE;
    c->crlf = 0;
    c->scan = c->head_len = c->need = 0;
    c->route = NULL;
    c->cont_sent = c->replied = false;
    c->idle_dl = beat_mono_ms() + c->h->lim.idle_timeout_ms;
}

static bool is_write(beat_http_method m) { return m != BEAT_HTTP_GET && m != BEAT_HTTP_HEAD; }

/* Checks made with the headers in and no body read. 0, or a status with
 * *why and the counter to count it in. */
static int admit(httpd_conn *c, char *p, const char **why, beat_counter **m) {
    const httpd_head *hd = &c->hd;
    const beat_http_route_opts *o = &c->route->o;
    bool write = is_write(hd->method);
    *m = httpd_m.r_method;
    if (o->allow && !httpd_method_in(hd->method, o->allow)) {
        *why = "method not allowed";
        return 405;
    }
    *m = httpd_m.r_auth;
    if (write && o->read_only) {
        *why = o->read_only;
        return 403;
    }
    if (write && o->token && o->token[0] &&
        !beat_http_bearer_match(hd->auth ? p + hd->auth : NULL, o->token)) {
        *why = "missing or wrong bearer token";
        return 401;
    }
    *m = httpd_m.r_length;
    if (hd->chunked) {
        *why = "chunked bodies are not accepted: send Content-Length";
        return 411;
    }
    *m = httpd_m.r_oversize;
    size_t max = o->max_body ? o->max_body : c->h->max_body;
    if (hd->clen > 0 && (uint64_t)hd->clen > max) {
        *why = "body over the limit of this route";
        return 413;
    }
    *m = httpd_m.r_type;
    if (write && hd->clen > 0 && !o->any_type &&
        !httpd_type_in(hd->ctype ? p + hd->ctype : NULL,
                       o->types ? o->types : "application/json")) {
        *why = "unsupported Content-Type for this route";
        return 415;
    }
    return 0;
}

static void dispatch(httpd_conn *c, char *p) {
    beat_http_req req = {
        .c = c, .base = p, .body = p + c->head_len, .body_len = c->need - c->head_len};
    /* The body is NUL-terminated for handlers: borrow the byte after it
     * (there is always room: the buffer keeps a spare byte). */
    char saved = p[c->need];
    p[c->need] = '\0';
    beat_buf_reset(&c->xhdr);
    httpd_dispatch(c, &req);
    p[c->need] = saved;
    if (!c->replied && !c->pending) httpd_send_error(c, 500, "the handler sent no reply");
}

/* Serves every complete request in the input (pipelining), stopping when
 * the output is full, then moves a partial request to the front. */
static void process(httpd_conn *c) {
    beat_http *h = c->h;
    size_t off = 0;
    while (!c->closing && !c->pending && c->st != C_LINGER &&
           evbuffer_get_length(c->out) <= HTTPD_OUT_HIGH) {
        char *p = c->in + off;
        size_t len = c->in_len - off;
        if (c->st == C_IDLE) {
            /* A few stray CRLFs between requests are tolerated, more are
             * refused. They start no request: the idle deadline (for a
             * first request the header deadline from accept) runs on, so
             * line breaks trickled in buy no time. */
            while (len && (*p == '\r' || *p == '\n')) {
                if (++c->crlf > HTTPD_CRLF_MAX) {
                    refuse(c, 400, "line breaks before the request", httpd_m.r_malformed);
                    goto out;
                }
                p++, len--, off++;
            }
            if (!len) break;
            c->st = C_HEAD;
            if (!c->first) c->head_dl = beat_mono_ms() + h->lim.header_timeout_ms;
        }
        if (c->st == C_HEAD) {
            size_t he = httpd_head_end(p, len, &c->scan);
            if (!he) {
                if (len > BEAT_HTTP_MAX_LINE && !memchr(p, '\n', BEAT_HTTP_MAX_LINE + 1))
                    refuse(c, 414, "request line too long", httpd_m.r_oversize);
                else if (len > BEAT_HTTP_MAX_HEADER)
                    refuse(c, 431, "request headers too large", httpd_m.r_oversize);
                break;
            }
            const char *why = NULL;
            int rc = httpd_parse_head(p, he, &c->hd, &why);
            if (rc) {
                refuse(c, rc, why, rc == 400 ? httpd_m.r_malformed : httpd_m.r_oversize);
                break;
            }
            c->head_len = he;
            c->route = httpd_route_find(h, p + c->hd.path);
            beat_counter *m = NULL;
            if ((rc = admit(c, p, &why, &m))) {
                const beat_http_route_opts *o = &c->route->o;
                if (rc == 401 && o->unauthorized) beat_counter_inc(o->unauthorized);
                if (rc == 413 && o->too_large) beat_counter_inc(o->too_large);
                refuse(c, rc, why, m);
                break;
            }
            uint64_t clen = c->hd.clen > 0 ? (uint64_t)c->hd.clen : 0;
            c->need = he + (size_t)clen;
            c->st = C_BODY;
            c->body_dl = beat_mono_ms() + h->lim.body_timeout_ms +
                         (int64_t)(clen * 1000 / (uint64_t)h->lim.body_min_rate);
            if (c->hd.expect && clen && len < c->need && !c->cont_sent) {
                c->cont_sent = true;
                evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                c->write_dl = c->body_dl;
            }
        }
        if (c->st == C_BODY) {
            if (len < c->need) break;
            bool ka = c->hd.ka;
            dispatch(c, p);
            off += c->need;
            c->first = false;
            req_reset(c);
            if (!ka) c->closing = true;
            c->write_dl =
                beat_mono_ms() + h->lim.body_timeout_ms +
                (int64_t)(evbuffer_get_length(c->out) * 1000 / (size_t)h->lim.body_min_rate);
        }
    }
out:
    if (c->st == C_LINGER) return;
    if (off) {
        c->in_len -= off;
        if (c->in_len) memmove(c->in, c->in + off, c->in_len);
    }
    if (c->in_cap > IN_KEEP && c->in_len < IN_INIT && c->st == C_IDLE) {
        char *nb = realloc(c->in, IN_INIT * 4);
        if (nb) c->in = nb, c->in_cap = IN_INIT * 4;
    }
}

/* Room for more input: the request's head and body plus one more head
 * (pipelined) and the spare byte dispatch() borrows. */
static int in_reserve(httpd_conn *c, size_t *room) {
    size_t limit = (c->st == C_BODY ? c->need : 0) + BEAT_HTTP_MAX_HEADER + 2;
    if (c->in_len + 1 >= limit) {
        *room = 0;
        return 0;
    }
    if (c->in_cap - c->in_len < 2048 && c->in_cap < limit) {
        size_t ncap = c->in_cap ? c->in_cap * 2 : IN_INIT;
        if (c->st == C_BODY && ncap < c->need + 2048) ncap = c->need + 2048;
        if (ncap > limit) ncap = limit;
        char *nb = realloc(c->in, ncap);
        if (!nb) {
            beat_log_rl(5000, BEAT_ERROR, "http_out_of_memory", "bytes=%zu", ncap);
            return -ENOMEM;
        }
        c->in = nb;
        c->in_cap = ncap;
    }
    *room = c->in_cap - c->in_len - 1;
    return 0;
}

/* ---- events ------------------------------------------------------------------- */

static void on_read(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    httpd_conn *c = arg;
    if (c->st == C_LINGER) { /* drain until EOF or the linger deadline */
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n > 0) c->drained += (size_t)n;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
            c->drained > HTTPD_LINGER_MAX) /* a refused body is not read whole */
            httpd_conn_close(c);
        return;
    }
    size_t room = 0;
    if (in_reserve(c, &room) < 0) {
        httpd_conn_close(c);
        return;
    }
    if (room == 0) { /* a full buffer waits for the output to drain */
        beat_loop_ev_set(c->rev, &c->rev_on, false);
        return;
    }
    ssize_t n = recv(fd, c->in + c->in_len, room, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        httpd_conn_close(c);
        return;
    }
    if (n == 0) {
        c->peer_eof = true;
        beat_loop_ev_set(c->rev, &c->rev_on, false);
    } else {
        c->in_len += (size_t)n;
    }
    process(c);
    if (c->peer_eof && c->st != C_LINGER && !out_pending(c) && !c->pending) {
        httpd_conn_close(c); /* half-closed with nothing (more) to answer */
        return;
    }
    (void)flush(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    httpd_conn *c = arg;
    if (!flush(c)) return;
    if (!out_pending(c) && c->st != C_LINGER && c->in_len && !c->pending) {
        process(c); /* requests held back while the output was full */
        (void)flush(c);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    httpd_conn *c = arg;
    c->armed_dl = 0;
    int64_t now = beat_mono_ms();
    if (now < deadline(c)) {
        rearm(c);
        return;
    }
    if (c->st == C_LINGER) httpd_conn_close(c);
    else if (out_pending(c) && c->write_dl && now >= c->write_dl)
        expire(c, 0, NULL, httpd_m.t_write);
    else if (c->st == C_HEAD || (c->st == C_IDLE && c->first))
        expire(c, 408, "request headers not complete in time", httpd_m.t_header);
    else if (c->st == C_BODY) expire(c, 408, "request body not complete in time", httpd_m.t_body);
    else expire(c, 0, NULL, httpd_m.t_idle);
}

static httpd_conn *conn_new(beat_http *h, int fd) {
    httpd_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->h = h;
    c->fd = fd;
    c->out = evbuffer_new();
    beat_buf_init(&c->xhdr, HTTPD_XHDR_MAX);
    c->first = true;
    strcpy(c->peer, "-");
    req_reset(c);
    c->head_dl = beat_mono_ms() + h->lim.header_timeout_ms;
    if (!c->out) {
        free(c);
        return NULL;
    }
    return c;
}

static void evict_oldest(beat_http *h) {
    httpd_conn *v = h->whead;
    beat_counter_inc(httpd_m.evicted);
    beat_log_rl(5000, BEAT_WARN, "http_conn_evicted", "max_conns=%lld peer=%s",
                (long long)h->lim.max_conns, v->peer);
    httpd_conn_close(v);
}

void httpd_on_accept(int lfd, short what, void *arg) {
    (void)what;
    beat_http *h = arg;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if ((errno == EMFILE || errno == ENFILE) && h->whead) {
                evict_oldest(h); /* out of fds: make room the same way */
                continue;
            }
            beat_http_accept_pause(h->lev, h->resume, errno);
            return;
        }
        /* The source's cap first: a connection refused anyway must not
         * evict another to make room for itself. */
        int counted = beat_srccap_admit(h->srccap, (struct sockaddr *)&ss);
        if (counted < 0) {
            beat_counter_inc(httpd_m.per_source);
            char ip[64];
            beat_log_rl(5000, BEAT_WARN, "http_conn_per_source",
                        "peer=%s max_conns_per_source=%lld",
                        beat_srccap_ip((struct sockaddr *)&ss, ip, sizeof ip),
                        (long long)h->lim.max_conns_per_source);
            close(fd);
            continue;
        }
        if (h->n_open >= h->lim.max_conns) {
            if (!h->whead) { /* every connection is being answered */
                if (counted) beat_srccap_release(h->srccap, (struct sockaddr *)&ss);
                beat_counter_inc(httpd_m.refused);
                beat_log_rl(5000, BEAT_WARN, "http_conn_limit", "max_conns=%lld",
                            (long long)h->lim.max_conns);
                close(fd);
                continue;
            }
            evict_oldest(h);
        }
        httpd_conn *c = conn_new(h, fd);
        if (c) {
            c->rev = event_new(h->base, fd, EV_READ | EV_PERSIST, on_read, c);
            c->wev = event_new(h->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
            c->tmr = evtimer_new(h->base, on_timer, c);
        }
        if (!c || !c->rev || !c->wev || !c->tmr) {
            if (counted) beat_srccap_release(h->srccap, (struct sockaddr *)&ss);
            beat_log_rl(5000, BEAT_ERROR, "http_out_of_memory", "what=conn");
            if (c) {
                c->fd = -1;
                httpd_conn_close(c);
            }
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            port = ntohs(a->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
        c->addr = ss;
        c->src_counted = counted > 0;
        c->next = h->conns;
        if (h->conns) h->conns->prev = c;
        h->conns = c;
        h->n_open++;
        beat_gauge_add(httpd_m.open, 1);
        beat_counter_inc(httpd_m.accepted);
        wait_enter(c);
        beat_loop_ev_set(c->rev, &c->rev_on, true);
        rearm(c);
    }
}

void httpd_conn_resume(httpd_conn *c) {
    beat_http *h = c->h;
    c->replied = false; /* that answer is out: the next request's is to come */
    c->write_dl = beat_mono_ms() + h->lim.body_timeout_ms +
                  (int64_t)(evbuffer_get_length(c->out) * 1000 / (size_t)h->lim.body_min_rate);
    if (c->fd < 0) return; /* fed: beat_http_feed drains the output */
    if (c->st != C_LINGER && c->in_len) process(c);
    (void)flush(c);
}

int beat_http_feed(beat_http *h, const char *data, size_t len, size_t piece, beat_buf *out) {
    httpd_conn *c = conn_new(h, -1);
    if (!c) return -ENOMEM;
    if (!piece) piece = len ? len : 1;
    int rc = 0;
    for (size_t off = 0; off < len && !c->closing && c->st != C_LINGER;) {
        size_t room = 0;
        if ((rc = in_reserve(c, &room)) < 0) break;
        if (room == 0) break; /* would wait for output that no one reads */
        size_t n = len - off;
        if (n > piece) n = piece;
        if (n > room) n = room;
        memcpy(c->in + c->in_len, data + off, n);
        c->in_len += n;
        off += n;
        /* As the socket path does: drain the output, then take the requests
         * held back while it was full, until nothing moves. */
        for (size_t ol = 1; ol;) {
            process(c);
            ol = evbuffer_get_length(c->out);
            if (ol) {
                unsigned char *p = evbuffer_pullup(c->out, -1);
                if (!p || beat_buf_append(out, p, ol)) rc = -EMSGSIZE;
                evbuffer_drain(c->out, ol);
            }
            if (c->closing || c->st == C_LINGER) break;
        }
    }
    httpd_conn_close(c);
    return rc;
}
