/* What every fuzz target shares: the invariant check that aborts (so
 * libFuzzer and the replayer both report the input), and the byte compare
 * of a canonical re-encoding. Header-only; targets and fuzz/replay.c are
 * built one translation unit each. */
#ifndef BEAT_FUZZ_H
#define BEAT_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_util.h"

#define FUZZ_CHECK(c)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s: invariant failed: %s (line %d)\n", __FILE__, #c, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline int fuzz_same_bytes(const beat_buf *a, const beat_buf *b) {
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

#endif
