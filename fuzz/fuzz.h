/* What every fuzz target shares: the invariant check that aborts (so
 * libFuzzer and the replayer both report the input), the byte compare
 * of a canonical re-encoding, and the entry of the codec targets (byte 0
 * picks the codec, the rest is its input). Header-only; targets and fuzz/replay.c are
 * built one translation unit each. */
#ifndef BEAT_FUZZ_H
#define BEAT_FUZZ_H

#include <stdint.h>
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

/* One codec's round trip: pick is byte 0 of the input (the target takes
 * it modulo its number of codecs), p[0..n) the rest; e1 and e2 hold the
 * two encodings to compare. */
typedef void (*fuzz_codec_fn)(uint8_t pick, const char *p, size_t n, beat_buf *e1, beat_buf *e2);

/* LLVMFuzzerTestOneInput of a codec target: inputs of 1 to max_bytes bytes
 * go to fn as an exact-size copy, so ASan catches any read past them. */
static inline int fuzz_codecs(const uint8_t *data, size_t size, size_t max_bytes,
                              fuzz_codec_fn fn) {
    if (size < 1 || size > max_bytes) return 0;
    size_t n = size - 1;
    char *p = malloc(n ? n : 1);
    if (!p) return 0;
    memcpy(p, data + 1, n);
    beat_buf e1, e2;
    beat_buf_init(&e1, 0);
    beat_buf_init(&e2, 0);
    fn(data[0], p, n, &e1, &e2);
    beat_buf_fini(&e1);
    beat_buf_fini(&e2);
    free(p);
    return 0;
}

#endif
