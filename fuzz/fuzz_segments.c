/* libFuzzer target for first-party segment lists (beat_seglist.h): the
 * upload parser reads operators' bodies, the 'U' frame decoder reads what
 * reaches inference. Byte 0 picks (byte % 2), the rest is the input. A
 * parsed upload must be sorted and distinct and within max ids; a decoded
 * frame must re-encode to the same bytes and decode again.
 * Replay saved inputs without libFuzzer: link with fuzz/replay.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_seglist.h"
#include "fuzz.h"

#define MAX_BYTES (1 << 20)
#define MAX_IDS 1000

static void fuzz_upload(const char *p, size_t n) {
    uint64_t *h = NULL;
    uint32_t nh = 0;
    beat_reason why;
    if (beat_seglist_parse(p, n, 42, MAX_IDS, &h, &nh, &why) != 0) return;
    FUZZ_CHECK(nh <= MAX_IDS);
    for (uint32_t i = 1; i < nh; i++) FUZZ_CHECK(h[i - 1] < h[i]);
    beat_seglist l = {.id = "x", .n = nh, .h = h};
    for (uint32_t i = 0; i < nh; i++) FUZZ_CHECK(beat_seglist_has(&l, h[i]));
    free(h);
}

static void fuzz_frame(const char *p, size_t n) {
    beat_seglists a, b;
    beat_reason why;
    if (beat_seglists_decode(p, n, &a, &why) != 0) return;
    beat_buf e1, e2;
    beat_buf_init(&e1, 0);
    beat_buf_init(&e2, 0);
    FUZZ_CHECK(beat_seglists_encode(&a, &e1) == 0);
    FUZZ_CHECK(e1.len == n && memcmp(e1.data, p, n) == 0);
    FUZZ_CHECK(beat_seglists_decode(e1.data, e1.len, &b, &why) == 0);
    FUZZ_CHECK(beat_seglists_encode(&b, &e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(&e1, &e2));
    for (int i = 0; i < a.n; i++) FUZZ_CHECK(beat_seglists_find(&b, a.l[i].id) != NULL);
    beat_seglists_fini(&a);
    beat_seglists_fini(&b);
    beat_buf_fini(&e1);
    beat_buf_fini(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > MAX_BYTES) return 0;
    size_t n = size - 1;
    char *p = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    if (!p) return 0;
    memcpy(p, data + 1, n);
    if (data[0] % 2 == 0) fuzz_upload(p, n);
    else fuzz_frame(p, n);
    free(p);
    return 0;
}
