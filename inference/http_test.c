/* The lean HTTP server against raw sockets, request by request: keep-alive,
 * pipelining, a request cut into single bytes, chunked bodies, Expect:
 * 100-continue, 413/431/400/405/404/505, HTTP/1.0 close, stray line breaks,
 * the gate, /healthz and /metrics. Connection lifetimes and limits are in
 * http_conn_test.c; the harness (server on this thread's event loop, each
 * scenario's client on a second thread) is http_testlib.h. */
#include "http_testlib.h"

static atomic_int gate_peer_ok; /* the gate saw a loopback IPv4 peer */

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

/* More than CRLF_MAX stray line breaks before a request: 400, closed. */
static void sc_crlf_flood(void) {
    exchange("\r\n\r\n\r\n\r\n\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n", 300);
}
static void sc_crlf_few(void) { exchange("\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n", 300); }

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

static int test_stray_crlf(void) {
    CHECK(run(sc_crlf_few, 8, 5000) == 0);
    CHECK(strncmp(got, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(!got_eof);
    CHECK(run(sc_crlf_flood, 8, 5000) == 0);
    CHECK(strncmp(got, "HTTP/1.1 400 ", 13) == 0);
    CHECK(got_eof);
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
        {"gate", test_gate},
        {"stray_crlf", test_stray_crlf},
        {NULL, NULL},
    };
    return beat_test_main("http", cases, argc, argv);
}
