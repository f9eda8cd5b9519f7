/* libFuzzer target for frequency caps across nodes: the 'F' frame inference
 * reads from the supervisor (byte 0 even) and the /v1/caps answer the
 * supervisor reads from a datastream (byte 0 odd), both from peers.
 * Invariants: a frame that decodes re-encodes to the same bytes (flags
 * aside) and its rows go into inference's table; an answer that merges
 * gives at most the room it was given, with keys never 0.
 * The supervisor's puller is compiled in (#include) because the Makefile
 * builds fuzz targets from fuzz/<name>.c + libbeat only; its publisher is a
 * stub here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "beat_fcap.h"
#include "fuzz.h"

#include "../inference/fcap.c"
#include "../supervisor/fcap.c"

void sup_pub_fcap(sup_pub *p, const void *data, size_t len) {
    (void)p;
    (void)data;
    (void)len;
}

static void fuzz_frame(const uint8_t *p, size_t n) {
    static beat_fcap_row rows[BEAT_FCAP_FRAME_ROWS];
    static uint8_t out[BEAT_FCAP_FRAME_MAX];
    int64_t ts;
    int k;
    beat_reason why;
    if (beat_fcap_frame_decode(p, n, &ts, rows, BEAT_FCAP_FRAME_ROWS, &k, &why) != 0) return;
    int64_t len = beat_fcap_frame_encode(rows, k, ts, out, sizeof out);
    FUZZ_CHECK(len == (int64_t)n);
    out[2] = p[2];
    FUZZ_CHECK(memcmp(out, p, n) == 0);
    inf_fcap_cfg c = {.rows_max = 64, .inflight_log2 = 4, .inflight_ms = 1000, .stale_ms = 1000};
    inf_fcap *f = inf_fcap_new(&c);
    FUZZ_CHECK(f && inf_fcap_apply(f, p, n, ts, 0, &why) == 0);
    uint64_t seen;
    for (int i = 0; i < k && i < 8; i++)
        (void)inf_fcap_allow(f, rows[i].camp, rows[i].key, 3, rows[i].window_s, 0,
                             rows[i].win_start_ms, 0, &seen);
    inf_fcap_free(f);
}

static void fuzz_answer(const uint8_t *p, size_t n) {
    const char *urls[2] = {"http://a", "http://b"};
    sup_fcap_cfg c = {.urls = urls, .n_urls = 2, .every_ms = 250, .rows_max = 64};
    sup_fcap *f = sup_fcap_new_detached(&c);
    FUZZ_CHECK(f != NULL);
    static beat_fcap_row out[16];
    beat_reason why;
    for (int src = 0; src < 2; src++) {
        int k = sup_fcap_merge(f, src, (const char *)p, n, 0, out, 16, &why);
        FUZZ_CHECK(k <= 16);
        for (int i = 0; i < k; i++) FUZZ_CHECK(out[i].key != 0 && out[i].window_s > 0);
    }
    sup_fcap_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > BEAT_FCAP_FRAME_MAX + 1) return 0;
    if (data[0] % 2 == 0) fuzz_frame(data + 1, size - 1);
    else fuzz_answer(data + 1, size - 1);
    return 0;
}
