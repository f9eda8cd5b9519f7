/* libFuzzer target for the daemons' HTTP server (common/beat_httpd_*.c):
 * the input is one connection's byte stream (pipelined, refused, broken
 * requests) fed through beat_http_feed — no socket — once in one piece and
 * once in pieces of 1 + data[0] % 64 bytes. Invariants: no crash/UB/leak
 * (ASan/UBSan); every response is well-formed (status line, headers, a
 * Content-Length matching the bytes that follow, or none for HEAD/204);
 * no 5xx but the 500 of a handler that does not answer; a handler never
 * sees a write without the token on /w, nor a body over its route's limit;
 * and the split changes nothing but the interim "100 Continue" lines. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_http.h"
#include "beat_log.h"
#include "fuzz.h"
#include "fuzz_replies.h"

static void echo(beat_http_req *req, void *arg) {
    (void)arg;
    size_t n;
    const char *b = beat_http_req_body(req, &n);
    FUZZ_CHECK(n <= 64 && strlen(b) <= n); /* NUL-terminated, within the limit */
    if (beat_http_req_method(req) == BEAT_HTTP_POST && strcmp(beat_http_req_path(req), "/w") == 0)
        FUZZ_CHECK(beat_http_bearer_ok(req, "tok"));
    char v[32], out[160];
    int rq = beat_http_query(req, "a", v, sizeof v);
    const char *x = beat_http_req_header(req, "x");
    int k = snprintf(out, sizeof out, "{\"len\":%zu,\"q\":%d,\"x\":%d}", n, rq, x != NULL);
    if (x) (void)beat_http_add_header(req, "X-Echo", x);
    beat_http_reply_json(req, 200, out, (size_t)k);
}

static beat_http *server(void) {
    static beat_http *h;
    if (!h) {
        static struct event_base *base;
        base = event_base_new();
        int err = 0;
        h = beat_http_new(base, NULL, 64, false, &err);
        FUZZ_CHECK(h != NULL);
        beat_http_route_opts w = {.token = "tok", .allow = "GET, POST"};
        beat_http_route_ex(h, "/w", echo, NULL, &w);
        beat_http_route_opts any = {.any_type = true, .max_body = 16};
        beat_http_route_ex(h, "/any", echo, NULL, &any);
        beat_http_route(h, "/e", echo, NULL);
    }
    return h;
}

static int feed(void *h, const char *data, size_t len, size_t piece, beat_buf *out) {
    return beat_http_feed(h, data, len, piece, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static int once;
    if (!once) {
        beat_log_init("fuzz_httpd", BEAT_FATAL);
        once = 1;
    }
    fuzz_http_whole_vs_split(feed, server(), data, size, true);
    return 0;
}
