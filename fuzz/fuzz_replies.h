/* What the two HTTP server targets (fuzz_http: inference's bid server,
 * fuzz_httpd: the daemons' server in common/) check of a connection's
 * output: a sequence of well-formed responses. Header-only, like fuzz.h. */
#ifndef BEAT_FUZZ_REPLIES_H
#define BEAT_FUZZ_REPLIES_H

#include <stdbool.h>
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
        bool ok = next == end || (next < end && end - next >= 9 &&
                                  memcmp(next, "HTTP/1.1 ", 9) == 0);
        if (!ok) next = he + 4;
        FUZZ_CHECK(next <= end);
        p = next;
        if (code != 100 && n < max) codes[n++] = code;
    }
    return n;
}

#endif
