/* Shared by the inference HTTP server tests (http_test.c: requests and
 * replies; http_conn_test.c: connection lifetimes and limits). Header-only:
 * the echo handler, raw-socket client helpers and run(), which serves one
 * scenario on this thread's event loop while its client runs on a second. */
#ifndef INF_HTTP_TESTLIB_H
#define INF_HTTP_TESTLIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_srccap.h"
#include "beat_test.h"
#include "http.h"

static int port;
static atomic_int done;
static atomic_int bids_seen;     /* bid handler calls */
static inf_http_gate_fn gate_fn; /* the gate of the next run (NULL: none) */

/* Echo handler: {"len":N,"v":"<x-openrtb-version>","ce":"<encoding>"}. */
static inline void on_bid(void *arg, const inf_http_req *rq, inf_http_conn *c) {
    (void)arg;
    if (!rq->post) {
        inf_http_reply_error(c, 405, NULL, "Allow: POST\r\n", "use POST");
        return;
    }
    char b[256];
    atomic_fetch_add(&bids_seen, 1);
    int n = snprintf(b, sizeof b, "{\"len\":%zu,\"v\":\"%s\",\"ce\":\"%s\",\"b0\":\"%c\",\"t\":%d}",
                     rq->body_len, rq->ortb_version ? rq->ortb_version : "",
                     rq->content_encoding ? rq->content_encoding : "",
                     rq->body_len ? rq->body[0] : '-', rq->tag_i);
    inf_http_reply(c, 200, rq->ortb_version, NULL, b, (size_t)n);
}

static inline bool health(void *arg, beat_buf *d) {
    (void)arg;
    beat_buf_puts(d, "\"x\":1");
    return true;
}

/* rcvbuf > 0: a receive buffer that small (a client slow to take replies). */
static inline int dial_buf(int rcvbuf) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
static inline int dial(void) { return dial_buf(0); }

/* Reads until EOF or quiet_ms of silence; returns bytes read, *eof set. */
static inline size_t slurp(int fd, char *out, size_t cap, int quiet_ms, bool *eof) {
    size_t n = 0;
    *eof = false;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, quiet_ms) <= 0) break;
        ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
        if (k <= 0) {
            *eof = true;
            break;
        }
        n += (size_t)k;
    }
    out[n] = '\0';
    return n;
}

static inline int count(const char *hay, const char *needle) {
    int k = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) k++;
    return k;
}

/* ---- scenarios (client thread) ------------------------------------------- */

static char got[1 << 16];
static bool got_eof;

typedef void (*scenario)(void);

static inline void send_all(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

static inline void exchange(const char *req, int quiet_ms) {
    int fd = dial();
    if (fd < 0) {
        got[0] = '\0';
        return;
    }
    send_all(fd, req, strlen(req));
    slurp(fd, got, sizeof got, quiet_ms, &got_eof);
    close(fd);
}

#define POST1                                                                                      \
    "POST /openrtb2/bid HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"                              \
    "x-openrtb-version: 2.6\r\n\r\nhello"

static inline int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- harness ------------------------------------------------------------------ */

static int run_idle_ms = 60000;     /* the next run's idle timeout */
static struct beat_srccap *run_cap; /* the next run's per-source cap */

static inline void *client_main(void *arg) {
    ((scenario)arg)();
    atomic_store(&done, 1);
    return NULL;
}

static inline void poll_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    if (atomic_load(&done)) event_base_loopbreak(arg);
}

static inline int run(scenario sc, int max_conns, int read_timeout_ms) {
    struct event_base *base = event_base_new();
    inf_http_cfg cfg = {.listen = "127.0.0.1:0",
                        .max_body = 4096,
                        .max_header = 1024,
                        .max_conns = max_conns,
                        .read_timeout_ms = read_timeout_ms,
                        .idle_timeout_ms = run_idle_ms,
                        .srccap = run_cap,
                        .bid = on_bid,
                        .health = health,
                        .gate = gate_fn};
    int err = 0;
    inf_http *h = inf_http_new(base, &cfg, &err);
    if (!h) {
        fprintf(stderr, "  inf_http_new: %d\n", err);
        event_base_free(base);
        return 1;
    }
    port = inf_http_port(h);
    atomic_store(&done, 0);
    got[0] = '\0';
    struct event *tick = event_new(base, -1, EV_PERSIST, poll_done, base);
    struct timeval tv = {0, 10000};
    event_add(tick, &tv);
    pthread_t th;
    pthread_create(&th, NULL, client_main, (void *)sc);
    event_base_dispatch(base);
    pthread_join(th, NULL);
    event_free(tick);
    inf_http_free(h);
    event_base_free(base);
    return 0;
}

#endif
