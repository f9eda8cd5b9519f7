/* The lean HTTP server against raw sockets: keep-alive, pipelining, a
 * request cut into single bytes, chunked bodies, Expect: 100-continue,
 * 413/431/400/405/404/505, HTTP/1.0 close, the read timeout (408), the
 * connection limit, /healthz and /metrics. The server runs on this thread's
 * event loop; each scenario's client runs on a second thread. */
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
static atomic_int gate_peer_ok;  /* the gate saw a loopback IPv4 peer */

/* A gate deciding by X-Beat-Exchange alone: "deny" → 403, "full" → 204
 * with a reason header, anything else admitted with tag_i = its length. */
static void gate_by_id(void *arg, const inf_http_head *hd, inf_http_verdict *v) {
    (void)arg;
    const struct sockaddr_in *p = (const struct sockaddr_in *)hd->peer;
    if (p && p->sin_family == AF_INET && p->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && hd->key &&
        strcmp(hd->key, "k") == 0)
        atomic_store(&gate_peer_ok, 1);
    const char *x = hd->exchange ? hd->exchange : "";
    if (strcmp(x, "deny") == 0) {
        v->code = 403;
        v->reason = "not an exchange";
    } else if (strcmp(x, "full") == 0) {
        v->code = 204;
        v->headers = "X-Beat-Nobid-Reason: qps\r\n";
    } else {
        v->tag_i = (int)strlen(x);
    }
}

/* Echo handler: {"len":N,"v":"<x-openrtb-version>","ce":"<encoding>"}. */
static void on_bid(void *arg, const inf_http_req *rq, inf_http_conn *c) {
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

static bool health(void *arg, beat_buf *d) {
    (void)arg;
    beat_buf_puts(d, "\"x\":1");
    return true;
}

/* rcvbuf > 0: a receive buffer that small (a client slow to take replies). */
static int dial_buf(int rcvbuf) {
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
static int dial(void) { return dial_buf(0); }

/* Reads until EOF or quiet_ms of silence; returns bytes read, *eof set. */
static size_t slurp(int fd, char *out, size_t cap, int quiet_ms, bool *eof) {
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

static int count(const char *hay, const char *needle) {
    int k = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) k++;
    return k;
}

/* ---- scenarios (client thread) ------------------------------------------- */

static char got[1 << 16];
static bool got_eof;
static int conns_seen;

typedef void (*scenario)(void);

static void send_all(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

static void exchange(const char *req, int quiet_ms) {
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

static void sc_keepalive(void) {
    int fd = dial();
    send_all(fd, POST1, strlen(POST1));
    char a[4096];
    bool eof;
    slurp(fd, a, sizeof a, 200, &eof);
    send_all(fd, POST1, strlen(POST1)); /* same connection */
    slurp(fd, got, sizeof got, 200, &got_eof);
    if (count(a, "HTTP/1.1 200") != 1) got[0] = '\0';
    close(fd);
}

static void sc_pipeline(void) {
    exchange(POST1 POST1 "POST /openrtb2/bid?q=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 200);
}

static void sc_bytewise(void) {
    int fd = dial();
    const char *r = POST1;
    for (size_t i = 0; r[i]; i++) {
        send_all(fd, r + i, 1);
        usleep(200);
    }
    slurp(fd, got, sizeof got, 200, &got_eof);
    close(fd);
}

static void sc_chunked(void) {
    exchange("POST /openrtb2/bid HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n",
             200);
}

static void sc_oversize(void) {
    exchange("POST /openrtb2/bid HTTP/1.1\r\nContent-Length: 999999\r\n\r\nxx", 300);
}

static void sc_oversize_chunked(void) {
    exchange("POST /openrtb2/bid HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "fffff\r\n",
             300);
}

static void sc_malformed(void) { exchange("GARBAGE\r\n\r\n", 300); }
static void sc_badheader(void) {
    exchange("POST /openrtb2/bid HTTP/1.1\r\nNo colon here\r\n\r\n", 300);
}
static void sc_smuggle(void) {
    exchange("POST /openrtb2/bid HTTP/1.1\r\nContent-Length: 3\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
             300);
}
static void sc_version(void) { exchange("GET /healthz HTTP/2.0\r\n\r\n", 300); }

static void sc_expect(void) {
    int fd = dial();
    const char *h = "POST /openrtb2/bid HTTP/1.1\r\nContent-Length: 4\r\n"
                    "Expect: 100-continue\r\n\r\n";
    send_all(fd, h, strlen(h));
    char a[1024];
    bool eof;
    slurp(fd, a, sizeof a, 200, &eof);
    send_all(fd, "wxyz", 4);
    slurp(fd, got, sizeof got, 200, &got_eof);
    if (!strstr(a, "HTTP/1.1 100 Continue\r\n\r\n") || strstr(a, "200 OK")) got[0] = '\0';
    close(fd);
}

static void sc_routes(void) {
    exchange("GET /openrtb2/bid HTTP/1.1\r\n\r\n"
             "GET /healthz HTTP/1.1\r\n\r\n"
             "GET /metrics HTTP/1.1\r\n\r\n"
             "GET /nope HTTP/1.1\r\n\r\n",
             200);
}

static void sc_http10(void) {
    exchange("POST /openrtb2/bid HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", 1000);
}

static void sc_timeout(void) { /* headers never finish: 408 by the sweep */
    exchange("POST /openrtb2/bid HTTP/1.1\r\nContent-Le", 2500);
}

static void sc_limit(void) {
    int a = dial(), b = dial();
    usleep(100 * 1000);
    int c = dial(); /* the server holds 2: the oldest waiting one (a) makes room */
    char buf[64];
    bool eof = false;
    if (a >= 0) slurp(a, buf, sizeof buf, 1000, &eof);
    conns_seen = eof ? 1 : 0;
    if (c >= 0) {
        send_all(c, POST1, strlen(POST1));
        slurp(c, got, sizeof got, 200, &got_eof);
    }
    if (a >= 0) close(a);
    close(b);
    if (c >= 0) close(c);
}

/* More than CRLF_MAX stray line breaks before a request: 400, closed. */
static void sc_crlf_flood(void) {
    exchange("\r\n\r\n\r\n\r\n\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n", 300);
}
static void sc_crlf_few(void) { exchange("\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n", 300); }

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t idle_closed_ms, drip_closed_ms;

/* A served connection dripping line breaks (fewer than the bound) is
 * closed when its idle time since the last complete request runs out, as
 * a silent one is: the line breaks do not start a request's clock. Both
 * are watched from the same instant; *_closed_ms stay -1 if not closed. */
static void sc_idle_drip(void) {
    const char *req = "GET /healthz HTTP/1.1\r\n\r\n";
    int fds[2] = {dial(), dial()};
    char buf[4096];
    bool eof;
    for (int i = 0; i < 2; i++) {
        send_all(fds[i], req, strlen(req));
        slurp(fds[i], buf, sizeof buf, 100, &eof);
    }
    int64_t t0 = mono_ms(), *closed[2] = {&idle_closed_ms, &drip_closed_ms};
    idle_closed_ms = drip_closed_ms = -1;
    while (mono_ms() - t0 < 6000 && (idle_closed_ms < 0 || drip_closed_ms < 0)) {
        struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
        if (poll(p, 2, 300) == 0 && drip_closed_ms < 0) /* one break per 300 ms: ~7 in 2 s */
            (void)send(fds[1], "\n", 1, MSG_NOSIGNAL);
        for (int i = 0; i < 2; i++)
            if (*closed[i] < 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                recv(fds[i], buf, sizeof buf, 0) <= 0)
                *closed[i] = mono_ms() - t0;
    }
    close(fds[0]);
    close(fds[1]);
}

/* Three connections from one address against a cap of 2: the third is
 * closed at accept and the first two are served; once one closes, a new
 * one gets in. */
static int cap_served, cap_third_eof, cap_after_served;
static int served(int fd) { /* 1 if a /healthz on fd is answered 200 */
    char buf[4096];
    bool eof;
    send_all(fd, "GET /healthz HTTP/1.1\r\n\r\n", 25);
    slurp(fd, buf, sizeof buf, 300, &eof);
    return count(buf, "HTTP/1.1 200 OK");
}
static void sc_per_source(void) {
    char buf[64];
    bool eof;
    int a = dial(), b = dial(), c = dial();
    slurp(c, buf, sizeof buf, 1000, &eof);
    cap_third_eof = eof && !buf[0];
    cap_served = served(a) + served(b);
    close(a);
    usleep(100 * 1000); /* the server sees a's EOF on its next loop turn */
    int d = dial();
    cap_after_served = served(d);
    close(b);
    close(c);
    close(d);
}

/* A client that pipelines requests faster than it reads the replies
 * (16 KB every 100 ms): the replies back up, and the slot is freed
 * read_timeout_ms after that (the deadline runs from when they backed up,
 * not from the last byte the client took). */
static int64_t slow_reader_ms;
static void sc_slow_reader(void) {
    int fd = dial_buf(4096);
    slow_reader_ms = -2;
    if (fd < 0) return;
    static char reqs[40000 * 26];
    size_t n = 0, off = 0;
    for (int i = 0; i < 40000; i++) n += (size_t)sprintf(reqs + n, "GET /healthz HTTP/1.1\r\n\r\n");
    int64_t t0 = mono_ms();
    static char b[16384];
    slow_reader_ms = -1;
    while (mono_ms() - t0 < 8000) {
        /* non-blocking: as much as the server takes, more each turn */
        for (ssize_t k = 1; off < n && k > 0;) {
            k = send(fd, reqs + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k > 0) off += (size_t)k;
        }
        usleep(100 * 1000);
        ssize_t k = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN)) {
            slow_reader_ms = mono_ms() - t0;
            break;
        }
    }
    close(fd);
}

/* ---- harness ------------------------------------------------------------------ */

static int run_idle_ms = 60000;     /* the next run's idle timeout */
static struct beat_srccap *run_cap; /* the next run's per-source cap */

static void *client_main(void *arg) {
    ((scenario)arg)();
    atomic_store(&done, 1);
    return NULL;
}

static void poll_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    if (atomic_load(&done)) event_base_loopbreak(arg);
}

static int run(scenario sc, int max_conns, int read_timeout_ms) {
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

static int test_keepalive(void) {
    CHECK(run(sc_keepalive, 8, 5000) == 0);
    CHECK_EQ_INT(count(got, "HTTP/1.1 200 OK\r\n"), 1);
    CHECK(strstr(got, "\"len\":5,\"v\":\"2.6\""));
    CHECK(strstr(got, "x-openrtb-version: 2.6\r\n"));
    CHECK(strstr(got, "Content-Type: application/json\r\n"));
    CHECK(!strstr(got, "Connection: close"));
    CHECK(!got_eof);
    return 0;
}

static int test_pipeline(void) {
    CHECK(run(sc_pipeline, 8, 5000) == 0);
    CHECK_EQ_INT(count(got, "HTTP/1.1 200 OK\r\n"), 3);
    const char *third = strstr(got, "\"len\":3");
    CHECK(third && strstr(got, "\"len\":5") < third); /* in order */
    CHECK(strstr(third, "\"b0\":\"a\""));
    return 0;
}

static int test_bytewise(void) {
    CHECK(run(sc_bytewise, 8, 5000) == 0);
    CHECK_EQ_INT(count(got, "HTTP/1.1 200 OK\r\n"), 1);
    CHECK(strstr(got, "\"len\":5,\"v\":\"2.6\",\"ce\":\"\",\"b0\":\"h\""));
    return 0;
}

static int test_chunked(void) {
    CHECK(run(sc_chunked, 8, 5000) == 0);
    CHECK_EQ_INT(count(got, "HTTP/1.1 200 OK\r\n"), 1);
    CHECK(strstr(got, "\"len\":7"));
    CHECK(strstr(got, "\"b0\":\"a\""));
    return 0;
}

static int test_errors_close(void) {
    struct {
        scenario sc;
        const char *status;
    } cases[] = {
        {sc_oversize, "HTTP/1.1 413 "},  {sc_oversize_chunked, "HTTP/1.1 413 "},
        {sc_malformed, "HTTP/1.1 400 "}, {sc_badheader, "HTTP/1.1 400 "},
        {sc_smuggle, "HTTP/1.1 400 "},   {sc_version, "HTTP/1.1 505 "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(run(cases[i].sc, 8, 5000) == 0);
        if (strncmp(got, cases[i].status, strlen(cases[i].status)) != 0) {
            fprintf(stderr, "  case %zu: got %.60s\n", i, got);
            return 1;
        }
        CHECK(strstr(got, "Connection: close\r\n"));
        CHECK(strstr(got, "{\"error\":\""));
        CHECK(got_eof);
    }
    return 0;
}

static int test_expect_continue(void) {
    CHECK(run(sc_expect, 8, 5000) == 0);
    CHECK(strstr(got, "HTTP/1.1 200 OK\r\n"));
    CHECK(strstr(got, "\"len\":4"));
    return 0;
}

static int test_routes(void) {
    CHECK(run(sc_routes, 8, 5000) == 0);
    const char *a = strstr(got, "HTTP/1.1 405 "), *b = strstr(got, "HTTP/1.1 200 OK");
    const char *m = strstr(got, "text/plain; version=0.0.4"), *d = strstr(got, "HTTP/1.1 404 ");
    CHECK(a && b && m && d && a < b && b < m && m < d);
    CHECK(strstr(got, "Allow: POST\r\n"));
    CHECK(strstr(got, "{\"svc\":"));
    CHECK(strstr(got, "\"ready\":true"));
    CHECK(strstr(got, ",\"x\":1}"));
    CHECK(strstr(got, "beat_inference_http_connections"));
    return 0;
}

static int test_http10_closes(void) {
    CHECK(run(sc_http10, 8, 5000) == 0);
    CHECK(strstr(got, "HTTP/1.1 200 OK\r\n"));
    CHECK(strstr(got, "Connection: close\r\n"));
    CHECK(strstr(got, "\"len\":2"));
    CHECK(got_eof);
    return 0;
}

static int test_read_timeout(void) {
    CHECK(run(sc_timeout, 8, 200) == 0);
    CHECK(strncmp(got, "HTTP/1.1 408 ", 13) == 0);
    CHECK(got_eof);
    return 0;
}

#define XPOST(x)                                                                                   \
    "POST /openrtb2/bid HTTP/1.1\r\nHost: x\r\nX-Beat-Exchange: " x                                \
    "\r\nX-Beat-Key: k\r\nContent-Length: 5\r\n\r\nhello"

static void sc_gate_pipeline(void) { exchange(XPOST("abc") XPOST("full") XPOST("abcd"), 300); }

static void sc_gate_deny(void) {
    /* the body never arrives: a refusal must not wait for it */
    exchange("POST /openrtb2/bid HTTP/1.1\r\nX-Beat-Exchange: deny\r\n"
             "Content-Length: 1000\r\n\r\n",
             2000);
}

/* The hook after the head: admitted requests reach the handler with the
 * gate's tag, a 204 verdict is answered once its body is in and keeps the
 * connection, a 403 is answered at once, without the body, and closes it. */
static int test_gate(void) {
    gate_fn = gate_by_id;
    atomic_store(&bids_seen, 0);
    int rc = run(sc_gate_pipeline, 8, 5000);
    gate_fn = NULL;
    CHECK(rc == 0);
    const char *a = strstr(got, "\"t\":3}"), *b = strstr(got, "HTTP/1.1 204 "),
               *c = strstr(got, "\"t\":4}");
    CHECK(a && b && c && a < b && b < c);
    CHECK(strstr(b, "X-Beat-Nobid-Reason: qps\r\n"));
    CHECK_EQ_INT(atomic_load(&bids_seen), 2);
    CHECK(atomic_load(&gate_peer_ok));
    CHECK(!got_eof);

    gate_fn = gate_by_id;
    atomic_store(&bids_seen, 0);
    rc = run(sc_gate_deny, 8, 5000);
    gate_fn = NULL;
    CHECK(rc == 0);
    CHECK(strncmp(got, "HTTP/1.1 403 ", 13) == 0);
    CHECK(strstr(got, "{\"error\":\"not an exchange\"}"));
    CHECK(strstr(got, "Connection: close\r\n"));
    CHECK_EQ_INT(atomic_load(&bids_seen), 0);
    return 0;
}

static int test_conn_limit(void) {
    CHECK(run(sc_limit, 2, 5000) == 0);
    CHECK_EQ_INT(conns_seen, 1);               /* the oldest idle one was evicted */
    CHECK(strstr(got, "HTTP/1.1 200 OK\r\n")); /* the newcomer is served */
    return 0;
}

static int test_stray_crlf(void) {
    CHECK(run(sc_crlf_few, 8, 5000) == 0);
    CHECK(strncmp(got, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(!got_eof);
    CHECK(run(sc_crlf_flood, 8, 5000) == 0);
    CHECK(strncmp(got, "HTTP/1.1 400 ", 13) == 0);
    CHECK(got_eof);
    return 0;
}

static int test_idle_not_refreshed(void) {
    run_idle_ms = 1500;
    int rc = run(sc_idle_drip, 8, 5000);
    run_idle_ms = 60000;
    CHECK(rc == 0);
    /* 1.5 s idle + up to 1 s of sweep (+ scheduling); a drip that started
     * a request's clock would add the 5 s read timeout */
    CHECK(idle_closed_ms > 0 && idle_closed_ms < 3500);
    CHECK(drip_closed_ms > 0 && drip_closed_ms < 3500);
    return 0;
}

static int test_per_source_cap(void) {
    int err = 0;
    run_cap = beat_srccap_new(2, 16, NULL, &err);
    CHECK(run_cap != NULL);
    int rc = run(sc_per_source, 8, 5000);
    int left = beat_srccap_sources(run_cap);
    beat_srccap_free(run_cap);
    run_cap = NULL;
    CHECK(rc == 0);
    CHECK(cap_third_eof);
    CHECK_EQ_INT(cap_served, 2);
    CHECK_EQ_INT(cap_after_served, 1);
    CHECK_EQ_INT(left, 0); /* every close gave its count back */
    /* exempt: the same three are all let in */
    run_cap = beat_srccap_new(2, 16, "127.0.0.0/8", &err);
    CHECK(run_cap != NULL);
    rc = run(sc_per_source, 8, 5000);
    beat_srccap_free(run_cap);
    run_cap = NULL;
    CHECK(rc == 0);
    CHECK(!cap_third_eof);
    return 0;
}

static int test_slow_reader(void) {
    CHECK(run(sc_slow_reader, 8, 1000) == 0);
    /* backed up for 1 s + up to 1 s of sweep */
    CHECK(slow_reader_ms > 0 && slow_reader_ms < 4000);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("inference", BEAT_ERROR);
    static const beat_test_case cases[] = {
        {"keepalive", test_keepalive},
        {"pipeline", test_pipeline},
        {"bytewise", test_bytewise},
        {"chunked", test_chunked},
        {"errors_close", test_errors_close},
        {"expect_continue", test_expect_continue},
        {"routes", test_routes},
        {"http10_closes", test_http10_closes},
        {"read_timeout", test_read_timeout},
        {"conn_limit", test_conn_limit},
        {"gate", test_gate},
        {"stray_crlf", test_stray_crlf},
        {"idle_not_refreshed", test_idle_not_refreshed},
        {"per_source_cap", test_per_source_cap},
        {"slow_reader", test_slow_reader},
        {NULL, NULL},
    };
    return beat_test_main("http", cases, argc, argv);
}
