/* Shared by the beat_wire_*_test.c binaries (header-only, all static
 * inline): the table-driven check that a decoder refuses each malformed
 * body with -EBADMSG and the reason a peer's log would show, writing
 * nothing to its out-parameter (docs/style.md "Errors and ownership").
 * Tests only. */
#ifndef BEAT_WIRE_TESTLIB_H
#define BEAT_WIRE_TESTLIB_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "beat_util.h"

/* A body a decoder must refuse, and what its reason must say. */
typedef struct bad_case {
    const char *json, *reason;
} bad_case;

/* The decoder under test, decoding into out (the caller's scratch). */
typedef int (*bad_decode_fn)(const char *json, size_t len, void *out, beat_reason *why);

/* decode refuses each of bad[0..n) with -EBADMSG and the reason it names,
 * leaving out (out_size bytes) untouched. */
static inline int all_refused(const bad_case *bad, size_t n, bad_decode_fn decode, void *out,
                              size_t out_size) {
    for (size_t i = 0; i < n; i++) {
        memset(out, 0x5a, out_size);
        beat_reason why = {{0}};
        int rc = decode(bad[i].json, strlen(bad[i].json), out, &why);
        if (rc != -EBADMSG) {
            fprintf(stderr, "  case %zu (%s) rc=%d\n", i, bad[i].json, rc);
            return 1;
        }
        CHECK_REASON(why, bad[i].reason);
        CHECK(((unsigned char *)out)[0] == 0x5a); /* out untouched */
    }
    return 0;
}

/* all_refused over a whole table, into the scratch variable out. */
#define ALL_REFUSED(table, decode, out)                                                            \
    all_refused((table), sizeof(table) / sizeof(table)[0], (decode), &(out), sizeof(out))

#endif
