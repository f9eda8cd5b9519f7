/* The lean HTTP server's connections against raw sockets: the read timeout
 * (408), the connection limit (the oldest idle one makes room), an idle
 * timeout that stray line breaks do not refresh, the per-source cap and a
 * client too slow to take its replies. The harness is http_testlib.h. */
#include "http_testlib.h"

static int conns_seen;

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

static int test_read_timeout(void) {
    CHECK(run(sc_timeout, 8, 200) == 0);
    CHECK(strncmp(got, "HTTP/1.1 408 ", 13) == 0);
    CHECK(got_eof);
    return 0;
}

static int test_conn_limit(void) {
    CHECK(run(sc_limit, 2, 5000) == 0);
    CHECK_EQ_INT(conns_seen, 1);               /* the oldest idle one was evicted */
    CHECK(strstr(got, "HTTP/1.1 200 OK\r\n")); /* the newcomer is served */
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
        {"read_timeout", test_read_timeout},
        {"conn_limit", test_conn_limit},
        {"idle_not_refreshed", test_idle_not_refreshed},
        {"per_source_cap", test_per_source_cap},
        {"slow_reader", test_slow_reader},
        {NULL, NULL},
    };
    return beat_test_main("http_conn", cases, argc, argv);
}
