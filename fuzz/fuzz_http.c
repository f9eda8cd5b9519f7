/* libFuzzer target for inference's own HTTP/1.1 server (inference/http.c):
 * the input is one connection's byte stream (requests, pipelined, chunked,
 * broken) fed through inf_http_feed — no socket — once in one piece and
 * once in pieces of 1 + data[0] % 64 bytes. Invariants: no crash/UB/leak
 * (ASan/UBSan), every response is well-formed (status line, headers, a
 * Content-Length that matches the bytes that follow, or none for HEAD),
 * and how the bytes were split changes nothing but the interim "100
 * Continue" lines.
 * The handler echoes body length and headers, as in http_test.c; the
 * OpenRTB handler itself is fuzz_openrtb's job. http.c, http_conn.c and
 * http_parse.c are #included: the replayer links only fuzz/<name>.c + replay.c +
 * libbeat.a. */
#include "../inference/http.c"
#include "../inference/http_conn.c"
#include "../inference/http_parse.c"

#include <stdio.h>
#include <stdlib.h>
#include "fuzz.h"
#include "fuzz_replies.h"

static void echo(void *arg, const inf_http_req *rq, inf_http_conn *c) {
    (void)arg;
    if (!rq->post) {
        inf_http_reply_error(c, 405, NULL, "Allow: POST\r\n", "use POST");
        return;
    }
    char b[128];
    int n = snprintf(b, sizeof b, "{\"len\":%zu,\"ce\":%d,\"v\":%d}", rq->body_len,
                     rq->content_encoding != NULL, rq->ortb_version != NULL);
    inf_http_reply(c, 200, rq->ortb_version, NULL, b, (size_t)n);
}

static inf_http *server(void) {
    static inf_http *h;
    if (!h) {
        static struct event_base *base;
        base = event_base_new();
        inf_http_cfg cfg = {.listen = NULL,
                            .max_body = 2048,
                            .max_header = 1024,
                            .max_conns = 1,
                            .read_timeout_ms = 1000,
                            .idle_timeout_ms = 1000,
                            .bid = echo};
        int err = 0;
        h = inf_http_new(base, &cfg, &err);
        FUZZ_CHECK(h != NULL);
    }
    return h;
}

static int feed(void *h, const char *data, size_t len, size_t piece, beat_buf *out) {
    return inf_http_feed(h, data, len, piece, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static int once;
    if (!once) {
        beat_log_init("fuzz_http", BEAT_FATAL);
        once = 1;
    }
    fuzz_http_whole_vs_split(feed, server(), data, size, false);
    return 0;
}
