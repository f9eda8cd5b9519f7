/* Unit tests for the daemons' HTTP server edges: the head parser, the
 * checks made before a body is read (beat_http_feed, no socket), and over
 * real loopback sockets the absolute header/body deadlines (a trickle of
 * bytes does not extend them) and eviction at the connection cap. */
#include "beat_httpd_int.h"
#include "beat_test.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- parser ------------------------------------------------------------- */

static int parse(const char *text, httpd_head *hd, const char **why) {
    static char buf[64 * 1024];
    size_t n = strlen(text);
    memcpy(buf, text, n + 1);
    size_t scan = 0, he = httpd_head_end(buf, n, &scan);
    if (!he) return -1;
    int rc = httpd_parse_head(buf, he, hd, why);
    if (rc == 0) {
        static char keep[64 * 1024];
        memcpy(keep, buf, he); /* offsets stay valid for the caller */
    }
    return rc;
}

static int t_parse(void) {
    httpd_head hd;
    const char *why = NULL;
    char b[256] = "GET /v1/x?a=1&b=2 HTTP/1.1\r\nHost: h\r\nX-Y:  v v \r\n\r\n";
    size_t scan = 0, he = httpd_head_end(b, strlen(b), &scan);
    CHECK_EQ_INT(he, strlen(b));
    CHECK_EQ_INT(httpd_parse_head(b, he, &hd, &why), 0);
    CHECK_EQ_INT(hd.method, BEAT_HTTP_GET);
    CHECK_EQ_STR(b + hd.path, "/v1/x");
    CHECK_EQ_STR(b + hd.query, "a=1&b=2");
    CHECK(hd.ka);
    CHECK_EQ_INT(hd.nhdr, 2);
    CHECK_EQ_STR(b + hd.hname[1], "X-Y");
    CHECK_EQ_STR(b + hd.hval[1], "v v");
    CHECK_EQ_INT(hd.clen, -1);
    /* the end of the head found across pieces, bare LF too */
    const char *lf = "POST /p HTTP/1.0\nContent-Length: 3\nConnection: keep-alive\n\nabc";
    memcpy(b, lf, strlen(lf) + 1);
    scan = 0;
    for (size_t n = 1; n < 55; n++) CHECK_EQ_INT(httpd_head_end(b, n, &scan), 0);
    CHECK_EQ_INT(httpd_head_end(b, strlen(lf), &scan), strlen(lf) - 3);
    CHECK_EQ_INT(httpd_parse_head(b, strlen(lf) - 3, &hd, &why), 0);
    CHECK(hd.ka && hd.clen == 3 && hd.method == BEAT_HTTP_POST);
    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n", &hd, &why), 0);
    CHECK(!hd.ka && !hd.query);
    CHECK_EQ_INT(parse("GET http://h:1/a?q HTTP/1.1\r\n\r\n", &hd, &why), 0);

    static const struct {
        const char *req;
        int code;
    } bad[] = {
        {"GET / HTTP/2.0\r\n\r\n", 400},
        {"GET / HTTP/1.1 x\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\n\r\n", 400},
        {"GET * HTTP/1.1\r\n\r\n", 400},
        {"GET /\x01 HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nA b: c\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i].req, &hd, &why);
        if (rc != bad[i].code) fprintf(stderr, "  case %zu: %d\n", i, rc);
        CHECK_EQ_INT(rc, bad[i].code);
        CHECK(why && why[0]);
    }
    /* limits: request line and header count */
    static char big[40000];
    int n = snprintf(big, sizeof big, "GET /");
    memset(big + n, 'a', BEAT_HTTP_MAX_LINE);
    strcpy(big + n + BEAT_HTTP_MAX_LINE, " HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(parse(big, &hd, &why), 414);
    n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= BEAT_HTTP_MAX_HEADERS; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "H%d: x\r\n", i);
    snprintf(big + n, sizeof big - (size_t)n, "\r\n");
    CHECK_EQ_INT(parse(big, &hd, &why), 431);
    /* media types */
    CHECK(httpd_type_in("application/json", NULL) == false);
    CHECK(httpd_type_in("Application/JSON; charset=utf-8", "application/json"));
    CHECK(httpd_type_in("application/octet-stream", "application/json, application/octet-stream"));
    CHECK(!httpd_type_in("text/plain", "application/json"));
    CHECK(!httpd_type_in("application/jsonx", "application/json"));
    CHECK(!httpd_type_in("", "application/json"));
    CHECK(httpd_method_in(BEAT_HTTP_PUT, "GET, PUT"));
    CHECK(!httpd_method_in(BEAT_HTTP_HEAD, "GET, PUT"));
    CHECK(!httpd_method_in(BEAT_HTTP_OTHER, "GET"));
    return 0;
}

/* ---- feed: checks before the body -------------------------------------- */

static int handled;

static void on_echo(beat_http_req *req, void *arg) {
    (void)arg;
    handled++;
    size_t n;
    const char *b = beat_http_req_body(req, &n);
    const char *x = beat_http_req_header(req, "x-tag");
    char out[128];
    int k = snprintf(out, sizeof out, "%s|%s|%zu|%s", beat_http_req_path(req), x ? x : "-", n, b);
    beat_http_add_header(req, "X-Seen", "1");
    if (beat_http_add_header(req, "Bad", "a\r\nb") != -EINVAL) k = 0;
    beat_http_reply(req, 200, "text/plain", out, (size_t)k);
}

static void on_silent(beat_http_req *req, void *arg) {
    (void)req;
    (void)arg;
}

static beat_http *feed_server(struct event_base **base) {
    *base = event_base_new();
    int err = 0;
    beat_http *h = beat_http_new(*base, "127.0.0.1:0", 64, false, &err);
    if (!h) return NULL;
    beat_http_route_opts o = {.token = "tok", .allow = "GET, POST"};
    beat_http_route_ex(h, "/w", on_echo, NULL, &o);
    beat_http_route_opts any = {.any_type = true, .max_body = 8};
    beat_http_route_ex(h, "/any", on_echo, NULL, &any);
    beat_http_route(h, "/e", on_echo, NULL);
    beat_http_route(h, "/silent", on_silent, NULL);
    return h;
}

static int feed(beat_http *h, const char *in, size_t piece, beat_buf *out) {
    beat_buf_reset(out);
    return beat_http_feed(h, in, strlen(in), piece, out);
}

static int count(const beat_buf *b, const char *needle) {
    int n = 0;
    for (const char *p = b->data; p && (p = strstr(p, needle)); p++) n++;
    return n;
}

static int t_feed(void) {
    struct event_base *base;
    beat_http *h = feed_server(&base);
    CHECK(h);
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    /* pipelined, byte by byte: answered in order, keep-alive */
    const char *three = "GET /e?x HTTP/1.1\r\nX-Tag: 1\r\n\r\n"
                        "POST /e HTTP/1.1\r\nContent-Type: application/json\r\n"
                        "Content-Length: 2\r\nX-Tag: 2\r\n\r\n{}"
                        "HEAD /e HTTP/1.1\r\n\r\n";
    for (size_t piece = 0; piece < 3; piece++) {
        handled = 0;
        CHECK_EQ_INT(feed(h, three, piece, &out), 0);
        CHECK_EQ_INT(handled, 3);
        CHECK_EQ_INT(count(&out, "HTTP/1.1 200 OK\r\n"), 3);
        char *a = strstr(out.data, "/e|1|0|"), *b = strstr(out.data, "/e|2|2|{}");
        CHECK(a && b && a < b);
        CHECK(!strstr(out.data, "/e|-|")); /* HEAD: no body */
        CHECK(count(&out, "X-Seen: 1\r\n") == 3);
        CHECK(!strstr(out.data, "Connection: close"));
    }
    /* more pipelined replies than the output holds: held back, then served */
    static char many[400 * 32];
    size_t ml = 0;
    for (int i = 0; i < 400; i++)
        ml += (size_t)snprintf(many + ml, sizeof many - ml, "GET /metrics HTTP/1.1\r\n\r\n");
    beat_buf big;
    beat_buf_init(&big, 1 << 30);
    CHECK_EQ_INT(beat_http_feed(h, many, ml, 0, &big), 0);
    CHECK_EQ_INT(count(&big, "HTTP/1.1 200 OK\r\n"), 400);
    CHECK(big.len > HTTPD_OUT_HIGH);
    beat_buf_fini(&big);
    /* HTTP/1.0 closes; Connection: close too */
    CHECK_EQ_INT(feed(h, "GET /e HTTP/1.0\r\n\r\nGET /e HTTP/1.0\r\n\r\n", 0, &out), 0);
    CHECK_EQ_INT(count(&out, "HTTP/1.1 200"), 1);
    CHECK(strstr(out.data, "Connection: close\r\n"));

    static const struct {
        const char *req;
        const char *want;
    } early[] = {
        /* token first: 401 before the body, which never arrives */
        {"POST /w HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9999\r\n\r\n",
         "HTTP/1.1 401 Unauthorized\r\n"},
        {"POST /w HTTP/1.1\r\nAuthorization: Bearer nope\r\nContent-Length: 1\r\n\r\n",
         "WWW-Authenticate: Bearer\r\n"},
        {"PUT /w HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n", "HTTP/1.1 405 "},
        {"PUT /w HTTP/1.1\r\n\r\n", "Allow: GET, POST\r\n"},
        /* authorised but oversize: 413 from the head alone */
        {"POST /w HTTP/1.1\r\nAuthorization: Bearer tok\r\nContent-Type: application/json\r\n"
         "Content-Length: 65\r\n\r\n",
         "HTTP/1.1 413 "},
        {"POST /any HTTP/1.1\r\nContent-Length: 9\r\n\r\n", "HTTP/1.1 413 "},
        /* writes need the route's media type */
        {"POST /w HTTP/1.1\r\nAuthorization: Bearer tok\r\nContent-Type: text/plain\r\n"
         "Content-Length: 2\r\n\r\n{}",
         "HTTP/1.1 415 "},
        {"POST /e HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "HTTP/1.1 415 "},
        {"POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n",
         "HTTP/1.1 411 "},
        {"\r\n\r\n\r\n\r\n\r\nGET /e HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET /e HTTP/2.0\r\n\r\n", "HTTP/1.1 400 "},
        {"GET /nope HTTP/1.1\r\n\r\n", "HTTP/1.1 404 "},
        {"GET /silent HTTP/1.1\r\n\r\n", "HTTP/1.1 500 "},
    };
    for (size_t i = 0; i < sizeof early / sizeof early[0]; i++) {
        handled = 0;
        CHECK_EQ_INT(feed(h, early[i].req, 0, &out), 0);
        if (!strstr(out.data ? out.data : "", early[i].want))
            fprintf(stderr, "  case %zu: %s\n", i, out.data ? out.data : "(none)");
        CHECK(out.data && strstr(out.data, early[i].want));
        CHECK(strstr(out.data, "\r\n\r\n{\"error\":\""));
        if (i != sizeof early / sizeof early[0] - 1) CHECK_EQ_INT(handled, 0);
    }
    /* the good forms of the same */
    CHECK_EQ_INT(feed(h,
                      "POST /w HTTP/1.1\r\nAuthorization: Bearer tok\r\nContent-Type: "
                      "application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}",
                      1, &out),
                 0);
    CHECK(strstr(out.data, "HTTP/1.1 200 OK\r\n") && strstr(out.data, "/w|-|2|{}"));
    CHECK_EQ_INT(feed(h, "GET /w HTTP/1.1\r\n\r\n", 0, &out), 0); /* reads need no token */
    CHECK(strstr(out.data, "HTTP/1.1 200 OK\r\n"));
    CHECK_EQ_INT(feed(h,
                      "POST /any HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 8"
                      "\r\nExpect: 100-continue\r\n\r\n12345678",
                      0, &out),
                 0);
    CHECK(strstr(out.data, "HTTP/1.1 200 OK\r\n"));
    CHECK_EQ_INT(feed(h,
                      "POST /any HTTP/1.1\r\nContent-Length: 8\r\nExpect: 100-continue\r\n\r\n"
                      "12345678",
                      63, &out),
                 0);
    CHECK(strncmp(out.data, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200", 37) == 0);
    /* headers that never end: 431 once past the limit, not a bigger buffer */
    static char flood[BEAT_HTTP_MAX_HEADER + 100];
    int n = snprintf(flood, sizeof flood, "GET /e HTTP/1.1\r\n");
    while ((size_t)n < sizeof flood - 10)
        n += snprintf(flood + n, sizeof flood - (size_t)n, "A: b\r\n");
    CHECK_EQ_INT(feed(h, flood, 1000, &out), 0);
    CHECK(strstr(out.data, "HTTP/1.1 431 "));
    memset(flood, 'a', sizeof flood - 1);
    memcpy(flood, "GET /", 5);
    CHECK_EQ_INT(feed(h, flood, 0, &out), 0);
    CHECK(strstr(out.data, "HTTP/1.1 414 "));
    beat_buf_fini(&out);
    beat_http_free(h);
    event_base_free(base);
    return 0;
}

/* ---- sockets: deadlines and eviction ------------------------------------ */

typedef struct {
    struct event_base *base;
    beat_http *h;
    pthread_t th;
} srv;

static void *srv_main(void *arg) {
    srv *s = arg;
    event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int srv_start(srv *s, const beat_http_limits *lim) {
    s->base = event_base_new();
    int err = 0;
    s->h = beat_http_new_lim(s->base, "127.0.0.1:0", 1 << 20, false, lim, &err);
    if (!s->h) return err;
    beat_http_route(s->h, "/e", on_echo, NULL);
    return pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(srv *s) {
    event_base_loopbreak(s->base); /* evthread: wakes the loop thread */
    pthread_join(s->th, NULL);
    beat_http_free(s->h);
    event_base_free(s->base);
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until EOF or the 3 s receive timeout; the bytes read, or -1. */
static ssize_t read_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
        if (r <= 0) {
            buf[n] = '\0';
            return r == 0 || n ? (ssize_t)n : -1;
        }
        n += (size_t)r;
        if (n + 1 >= cap) break;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

static int healthz_ok(int port) {
    int fd = dial(port);
    if (fd < 0) return 0;
    const char *r = "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n";
    char buf[4096];
    int ok = send(fd, r, strlen(r), MSG_NOSIGNAL) == (ssize_t)strlen(r) &&
             read_all(fd, buf, sizeof buf) > 0 && strstr(buf, "HTTP/1.1 200 OK") != NULL;
    close(fd);
    return ok;
}

static int t_deadlines(void) {
    beat_http_limits lim = {.max_conns = 64,
                            .header_timeout_ms = 400,
                            .body_timeout_ms = 400,
                            .body_min_rate = 1 << 20,
                            .idle_timeout_ms = 300};
    srv s;
    CHECK_EQ_INT(srv_start(&s, &lim), 0);
    int port = beat_http_port(s.h);
    uint64_t th0 = beat_counter_get(httpd_m.t_header), tb0 = beat_counter_get(httpd_m.t_body);
    /* slowloris: a byte every 50 ms never completes the head; the deadline
     * counts from the first byte, so it is closed at ~400 ms, not later */
    int fd = dial(port);
    CHECK(fd >= 0);
    int64_t t0 = beat_mono_ms();
    const char *head = "GET /e HTTP/1.1\r\nX-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool closed = false;
    for (size_t i = 0; head[i] && !closed; i++) {
        if (send(fd, head + i, 1, MSG_NOSIGNAL) != 1) closed = true;
        usleep(50 * 1000);
        char c;
        if (recv(fd, &c, 1, MSG_DONTWAIT) >= 0) closed = true; /* 408 or EOF */
    }
    int64_t took = beat_mono_ms() - t0;
    CHECK(closed);
    CHECK(took < 1500);
    close(fd);
    CHECK(beat_counter_get(httpd_m.t_header) == th0 + 1);
    /* slow body: the head is fine, the body trickles */
    fd = dial(port);
    const char *post = "POST /e HTTP/1.1\r\nContent-Type: application/json\r\n"
                       "Content-Length: 1000\r\n\r\n";
    CHECK(send(fd, post, strlen(post), MSG_NOSIGNAL) > 0);
    t0 = beat_mono_ms();
    closed = false;
    for (int i = 0; i < 60 && !closed; i++) {
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) closed = true;
        usleep(50 * 1000);
        char buf[512];
        ssize_t r = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (r >= 0) {
            closed = true;
            buf[r > 0 ? r : 0] = '\0';
            CHECK(r == 0 || strstr(buf, "HTTP/1.1 408 "));
        }
    }
    took = beat_mono_ms() - t0;
    CHECK(closed && took < 1500);
    close(fd);
    CHECK(beat_counter_get(httpd_m.t_body) == tb0 + 1);
    /* idle keep-alive: closed after idle_timeout_ms */
    fd = dial(port);
    const char *get = "GET /e HTTP/1.1\r\n\r\n";
    CHECK(send(fd, get, strlen(get), MSG_NOSIGNAL) > 0);
    char buf[4096];
    t0 = beat_mono_ms();
    CHECK(read_all(fd, buf, sizeof buf) > 0 && strstr(buf, "HTTP/1.1 200 OK"));
    took = beat_mono_ms() - t0;
    CHECK(took >= 250 && took < 2000);
    close(fd);
    /* line breaks dripped after a request start no request: closed at the
     * idle deadline, silently, not given a header deadline (408) */
    fd = dial(port);
    CHECK(send(fd, get, strlen(get), MSG_NOSIGNAL) > 0);
    CHECK(recv(fd, buf, sizeof buf, 0) > 0 && strstr(buf, "HTTP/1.1 200 OK"));
    bool eof = false;
    for (int i = 0; i < 20 && !eof; i++) {
        usleep(100 * 1000);
        (void)send(fd, "\n", 1, MSG_NOSIGNAL);
        ssize_t r = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (r > 0) buf[r] = '\0';
        CHECK(r <= 0 || !strstr(buf, "408"));
        eof = r == 0 || (r < 0 && errno != EAGAIN);
    }
    CHECK(eof);
    close(fd);
    srv_stop(&s);
    return 0;
}

static int t_evict(void) {
    beat_http_limits lim = {.max_conns = 8,
                            .header_timeout_ms = 30000,
                            .body_timeout_ms = 30000,
                            .body_min_rate = 1 << 20,
                            .idle_timeout_ms = 30000};
    srv s;
    CHECK_EQ_INT(srv_start(&s, &lim), 0);
    int port = beat_http_port(s.h);
    uint64_t ev0 = beat_counter_get(httpd_m.evicted);
    int fds[20];
    for (int i = 0; i < 20; i++) { /* more idle/slow sockets than the cap */
        fds[i] = dial(port);
        CHECK(fds[i] >= 0);
        if (i % 2) CHECK(send(fds[i], "GET / HT", 8, MSG_NOSIGNAL) == 8);
    }
    /* an honest client still gets through, at once, every time */
    for (int i = 0; i < 5; i++) {
        int64_t t0 = beat_mono_ms();
        CHECK(healthz_ok(port));
        CHECK(beat_mono_ms() - t0 < 1000);
    }
    CHECK(beat_counter_get(httpd_m.evicted) >= ev0 + 12);
    CHECK(beat_http_conns(s.h) <= 8);
    /* the oldest went first: the first socket reads EOF */
    char buf[64];
    CHECK(read_all(fds[0], buf, sizeof buf) == 0);
    for (int i = 0; i < 20; i++) close(fds[i]);
    srv_stop(&s);
    return 0;
}

/* One address holds at most max_conns_per_source: more are closed at
 * accept, without evicting anyone; a close makes room; an exempt network
 * is not counted. */
static int t_per_source(void) {
    beat_http_limits lim = {.max_conns = 16,
                            .header_timeout_ms = 30000,
                            .body_timeout_ms = 30000,
                            .body_min_rate = 1 << 20,
                            .idle_timeout_ms = 30000,
                            .max_conns_per_source = 3};
    for (int exempt = 0; exempt < 2; exempt++) {
        lim.exempt_networks = exempt ? "10.0.0.0/8, 127.0.0.0/8" : NULL;
        srv s;
        CHECK_EQ_INT(srv_start(&s, &lim), 0);
        int port = beat_http_port(s.h);
        uint64_t ps0 = beat_counter_get(httpd_m.per_source);
        uint64_t ev0 = beat_counter_get(httpd_m.evicted);
        int fds[5];
        char buf[64];
        for (int i = 0; i < 5; i++) CHECK((fds[i] = dial(port)) >= 0);
        if (!exempt) {
            CHECK(read_all(fds[3], buf, sizeof buf) == 0); /* closed at accept */
            CHECK(read_all(fds[4], buf, sizeof buf) == 0);
            CHECK(!healthz_ok(port)); /* this address is at its cap */
            CHECK_EQ_INT(beat_counter_get(httpd_m.per_source), ps0 + 3);
            close(fds[0]);
            fds[0] = -1;
            /* the close is seen on the server's next loop turn */
            int64_t t0 = beat_mono_ms();
            while (!healthz_ok(port) && beat_mono_ms() - t0 < 2000) usleep(10 * 1000);
            CHECK(beat_mono_ms() - t0 < 2000);
        } else {
            for (int i = 0; i < 5; i++) CHECK(healthz_ok(port));
            CHECK_EQ_INT(beat_counter_get(httpd_m.per_source), ps0);
        }
        CHECK_EQ_INT(beat_counter_get(httpd_m.evicted), ev0);
        for (int i = 0; i < 5; i++)
            if (fds[i] >= 0) close(fds[i]);
        srv_stop(&s);
    }
    /* a bad network is refused at creation */
    lim.exempt_networks = "10.0.0.1/8";
    int err = 0;
    struct event_base *b = event_base_new();
    CHECK(beat_http_new_lim(b, "127.0.0.1:0", 1024, false, &lim, &err) == NULL);
    CHECK_EQ_INT(err, -EINVAL);
    event_base_free(b);
    return 0;
}

int main(int argc, char **argv) {
    evthread_use_pthreads();
    static const beat_test_case tests[] = {
        {"parse", t_parse},           {"feed", t_feed},
        {"deadlines", t_deadlines},   {"evict", t_evict},
        {"per_source", t_per_source}, {0},
    };
    return beat_test_main("beat_httpd", tests, argc, argv);
}
