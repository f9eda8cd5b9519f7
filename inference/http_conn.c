/* Connection I/O of inference's HTTP server: accepting (with eviction at
 * --max-conns and a cap per source address), reading into each slot's
 * buffer, writing replies out, lingering closes and the once-a-second
 * deadline sweep; setup and teardown of a server. Runs on its worker's event loop and never blocks
 * it; what a request means is http.c's business (inf_http_process). */
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
#include "beat_loop.h"
#include "beat_metrics.h"
#include "beat_srccap.h"
#include "beat_util.h"

inf_http_metrics inf_http_m;

/* The clock is read once per event callback (tick) and every timestamp
 * taken while serving it is that reading: timeouts are in seconds, and a
 * callback serving pipelined requests reads it once, not per request. */
static int64_t tick(inf_http *h) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return h->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connection slots ------------------------------------------------------ */

static void conn_close(inf_http_conn *c) {
    inf_http *h = c->h;
    if (c->fd < 0) return;
    beat_loop_ev_set(c->rev, &c->rev_on, false);
    beat_loop_ev_set(c->wev, &c->wev_on, false);
    close(c->fd);
    c->fd = -1;
    if (c->src_counted) beat_srccap_release(h->cfg.srccap, (struct sockaddr *)&c->peer);
    c->src_counted = false;
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
    beat_gauge_add(inf_http_m.open, -1);
}

/* Error replies close the connection, but not at once: a client still
 * sending its (refused) body would get a reset and lose the reply. */
static void conn_linger(inf_http_conn *c) {
    c->linger = true;
    shutdown(c->fd, SHUT_WR);
    c->in_len = 0;
    c->last_ms = c->h->now_ms;
    beat_loop_ev_set(c->rev, &c->rev_on, true);
}

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
            /* The write deadline runs from here, not from the last byte the
             * client took: reading a byte now and then holds no slot. */
            if (!c->out_wait_ms) c->out_wait_ms = c->h->now_ms;
            beat_loop_ev_set(c->wev, &c->wev_on, true);
            /* Bounded output: no more requests until the client reads. */
            if (c->out.len - c->out_off > OUT_HIGH) beat_loop_ev_set(c->rev, &c->rev_on, false);
            return true;
        }
        conn_close(c); /* reset by peer */
        return false;
    }
    beat_buf_reset(&c->out);
    c->out_off = c->out_wait_ms = 0;
    beat_loop_ev_set(c->wev, &c->wev_on, false);
    if (c->closing) {
        conn_linger(c);
        return true;
    }
    if (c->peer_eof && c->in_len == 0) {
        conn_close(c);
        return false;
    }
    beat_loop_ev_set(c->rev, &c->rev_on, true);
    return true;
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
        beat_loop_ev_set(c->rev, &c->rev_on, false);
        inf_http_fail(c, rr);
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
        beat_loop_ev_set(c->rev, &c->rev_on, false);
    } else {
        c->in_len += (size_t)n;
        c->last_ms = c->h->now_ms;
    }
    inf_http_process(c);
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
        inf_http_process(c); /* requests held back while the output was full */
        (void)flush(c);
    }
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
        int64_t since = c->linger ? INT64_MIN : c->st == ST_IDLE ? c->idle_ms : c->req_start_ms;
        if (since < best_since) best = c, best_since = since;
    }
    if (!best) return false;
    beat_counter_inc(inf_http_m.evicted);
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
            beat_http_accept_pause(h->lev, h->resume, errno); /* out of fds: breathe */
            return;
        }
        /* The source's cap first: a connection refused anyway must not
         * evict another to make room for itself. */
        int counted = beat_srccap_admit(h->cfg.srccap, (struct sockaddr *)&peer);
        if (counted < 0 && h->cfg.exempt &&
            h->cfg.exempt(h->cfg.exempt_arg, (struct sockaddr *)&peer))
            counted = 0; /* an exchange's network: in, uncounted */
        if (counted < 0) {
            beat_counter_inc(inf_http_m.per_source);
            char ip[64];
            beat_log_rl(5000, BEAT_WARN, "http_conn_per_source", "peer=%s max_conns_per_source=%d",
                        beat_srccap_ip((struct sockaddr *)&peer, ip, sizeof ip),
                        beat_srccap_max(h->cfg.srccap));
            close(fd);
            continue;
        }
        if (h->free_head < 0 && !evict_oldest(h)) {
            if (counted) beat_srccap_release(h->cfg.srccap, (struct sockaddr *)&peer);
            beat_counter_inc(inf_http_m.refused);
            beat_log_rl(5000, BEAT_WARN, "http_conn_limit", "max_conns=%d", h->cfg.max_conns);
            close(fd);
            continue;
        }
        inf_http_conn *c = &h->conns[h->free_head];
        c->src_counted = counted > 0;
        h->free_head = c->next_free;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->peer = peer;
        c->in_len = c->out_off = 0;
        beat_buf_reset(&c->out);
        c->closing = c->linger = c->peer_eof = c->served = false;
        c->out_wait_ms = 0;
        c->rev_on = c->wev_on = false;
        inf_http_req_reset(c);
        c->last_ms = c->idle_ms = h->now_ms;
        event_assign(c->rev, h->base, fd, EV_READ | EV_PERSIST, on_read, c);
        event_assign(c->wev, h->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
        beat_loop_ev_set(c->rev, &c->rev_on, true);
        h->n_open++;
        beat_gauge_add(inf_http_m.open, 1);
        beat_counter_inc(inf_http_m.accepted);
    }
}

/* Once a second: slow requests get 408 (read_timeout_ms after their first
 * byte, or after accept for a connection's first); idle keep-alives
 * (idle_timeout_ms after the last complete request, read_timeout_ms after
 * accept if none yet) and writers whose client has not taken their reply
 * for read_timeout_ms are closed; lingering closes end. */
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
            int64_t since = c->out_wait_ms ? c->out_wait_ms : c->last_ms;
            if (now - since > h->cfg.read_timeout_ms) {
                beat_counter_inc(inf_http_m.timeout);
                conn_close(c);
            }
        } else if (c->st != ST_IDLE) { /* a request started */
            if (now - c->req_start_ms > h->cfg.read_timeout_ms) {
                inf_http_fail(c, 408);
                (void)flush(c);
            }
        } else if (now - c->idle_ms >
                   (c->served ? h->cfg.idle_timeout_ms : h->cfg.read_timeout_ms)) {
            if (!c->served) beat_counter_inc(inf_http_m.timeout); /* connected, never asked */
            conn_close(c);
        }
    }
}

/* ---- setup -------------------------------------------------------------------------- */

static void metrics_once(void) {
    if (inf_http_m.open) return; /* registering twice returns the same metrics anyway */
    inf_http_m.open =
        beat_gauge_new("beat_inference_http_connections", "Open HTTP connections (all workers)");
    inf_http_m.accepted =
        beat_counter_new("beat_inference_http_connections_total", "HTTP connections accepted");
    static const char *const rf = "Connections closed at accept: --max-conns reached and every "
                                  "connection busy answering, or the source address at "
                                  "--max-conns-per-source";
    inf_http_m.refused =
        beat_counter_new("beat_inference_http_refused_total{reason=\"max_conns\"}", rf);
    inf_http_m.per_source =
        beat_counter_new("beat_inference_http_refused_total{reason=\"per_source\"}", rf);
    inf_http_m.evicted = beat_counter_new("beat_inference_http_evicted_total",
                                          "Connections closed at --max-conns to make room: the "
                                          "one waiting longest for a complete request");
    inf_http_m.oversize =
        beat_counter_new("beat_inference_http_rejected_total{reason=\"oversize\"}",
                         "Requests refused by the HTTP layer");
    inf_http_m.malformed =
        beat_counter_new("beat_inference_http_rejected_total{reason=\"malformed\"}",
                         "Requests refused by the HTTP layer");
    inf_http_m.timeout = beat_counter_new("beat_inference_http_rejected_total{reason=\"timeout\"}",
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
    h->resume = h->lev ? beat_http_accept_resume_new(base, h->lev) : NULL;
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
    inf_http_req_reset(&c);
    if (!piece) piece = len ? len : 1;
    int rc = 0;
    for (size_t off = 0; off < len && !c.closing;) {
        int rr = in_reserve(&c);
        if (rr < 0) {
            rc = rr;
            break;
        }
        if (rr > 0) {
            inf_http_fail(&c, rr);
            break;
        }
        size_t n = len - off;
        if (n > piece) n = piece;
        if (n > c.in_cap - c.in_len - 1) n = c.in_cap - c.in_len - 1;
        memcpy(c.in + c.in_len, data + off, n);
        c.in_len += n;
        tick(h);
        off += n;
        inf_http_process(&c);
        if (beat_buf_append(out, c.out.data, c.out.len)) rc = -EMSGSIZE;
        beat_buf_reset(&c.out); /* as if flushed */
    }
    if (!rc && beat_buf_append(out, c.out.data, c.out.len)) rc = -EMSGSIZE;
    free(c.in);
    beat_buf_fini(&c.out);
    return rc;
}

int inf_http_port(const inf_http *h) { return h ? beat_http_sock_port(h->lfd) : -1; }
