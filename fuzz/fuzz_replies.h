/* What the two HTTP server targets (fuzz_http: inference's bid server,
 * fuzz_httpd: the daemons' server in common/) share: the run (one input
 * fed whole and split) and the check of its output, a sequence of
 * well-formed responses. Header-only, like fuzz.h. */
#ifndef BEAT_FUZZ_REPLIES_H
#define BEAT_FUZZ_REPLIES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Checks out is a sequence of well-formed responses (status line, headers,
 * a Content-Length that matches the bytes that follow, or none for HEAD;
 * no 5xx when no_5xx); writes their status codes (100 excluded) to codes;
 * returns how many. */
static inline int fuzz_http_statuses(const beat_buf *out, int *codes, int max, bool no_5xx) {
    const char *p = out->data, *end = out->data + out->len;
    int n = 0;
    while (p < end) {
        FUZZ_CHECK(end - p >= 12 && memcmp(p, "HTTP/1.1 ", 9) == 0);
        int code = atoi(p + 9);
        FUZZ_CHECK(code >= 100 && code <= 599);
        FUZZ_CHECK(!no_5xx || code < 500);
        const char *he = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        FUZZ_CHECK(he != NULL);
        long clen = -1;
        const char *cl = memmem(p, (size_t)(he - p), "\r\nContent-Length: ", 18);
        if (cl) clen = atol(cl + 18);
        FUZZ_CHECK(code == 100 || code == 204 || clen >= 0);
        const char *next = he + 4 + (clen > 0 ? clen : 0);
        /* A HEAD answer has the Content-Length but no body. */
        bool ok =
            next == end || (next < end && end - next >= 9 && memcmp(next, "HTTP/1.1 ", 9) == 0);
        if (!ok) next = he + 4;
        FUZZ_CHECK(next <= end);
        p = next;
        if (code != 100 && n < max) codes[n++] = code;
    }
    return n;
}

/* One server's connection bytes, fed whole and in pieces (no socket). */
typedef int (*fuzz_http_feed_fn)(void *server, const char *data, size_t len, size_t piece,
                                 beat_buf *out);

/* The targets' common run: data[0] picks a piece size (1..64), the rest is
 * fed once whole and once in pieces; both outputs must be well-formed
 * responses with the same status codes in the same order. */
static inline void fuzz_http_whole_vs_split(fuzz_http_feed_fn feed, void *server,
                                            const uint8_t *data, size_t size, bool no_5xx) {
    size_t piece = 1 + data[0] % 64;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    beat_buf whole, split;
    beat_buf_init(&whole, 0);
    beat_buf_init(&split, 0);
    FUZZ_CHECK(feed(server, in, len, 0, &whole) == 0);
    FUZZ_CHECK(feed(server, in, len, piece, &split) == 0);
    int a[256], b[256];
    int na = fuzz_http_statuses(&whole, a, 256, no_5xx),
        nb = fuzz_http_statuses(&split, b, 256, no_5xx);
    FUZZ_CHECK(na == nb);
    FUZZ_CHECK(memcmp(a, b, sizeof a[0] * (size_t)na) == 0);
    beat_buf_fini(&whole);
    beat_buf_fini(&split);
}

#endif
