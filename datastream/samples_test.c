/* Sample ring: seqs, cursor reads, the oldest falling off, and the JSON-lines
 * answer decoded back with the shared beat_wire decoder. */
#include <string.h>

#include "beat_test.h"
#include "samples.h"

static int n_seen;
static int count(void *arg, const beat_sample *s) {
    (void)arg;
    (void)s;
    n_seen++;
    return 0;
}

static int test_ring(void) {
    dst_samples *s = dst_samples_new(5);
    uint32_t f[3] = {1, 2, 3};
    for (int i = 1; i <= 8; i++) CHECK_EQ_INT(dst_samples_push(s, "c1", i % 2, 1.0f, i, f, 3), i);
    CHECK_EQ_INT(dst_samples_last_seq(s), 8);
    CHECK_EQ_INT(dst_samples_first_seq(s), 4);
    beat_sample out[10];
    CHECK_EQ_INT(dst_samples_get(s, 0, 10, out), 5); /* 4..8 */
    CHECK_EQ_INT(out[0].seq, 4);
    CHECK_EQ_INT(out[4].seq, 8);
    CHECK_EQ_INT(out[4].feat[2], 3);
    CHECK_EQ_INT(dst_samples_get(s, 6, 10, out), 2);
    CHECK_EQ_INT(out[0].seq, 7);
    CHECK_EQ_INT(dst_samples_get(s, 6, 1, out), 1);
    CHECK_EQ_INT(dst_samples_get(s, 8, 10, out), 0);
    CHECK_EQ_INT(dst_samples_get(s, 100, 10, out), 0);
    dst_samples_free(s);
    return 0;
}

static int test_encode(void) {
    dst_samples *s = dst_samples_new(100);
    uint32_t f[BEAT_FEAT_MAX];
    for (int i = 0; i < BEAT_FEAT_MAX; i++) f[i] = 4000000000u + (uint32_t)i;
    dst_samples_push(s, "c1", 1, 1.0f, 1700000000000LL, f, BEAT_FEAT_MAX);
    dst_samples_push(s, "c\"2", 0, 10.0f, 1700000000001LL, f, 0);
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(dst_samples_encode(s, 0, 1000, "ds-1", 0x1234ULL, &b), 0);
    beat_samples_header h;
    beat_reason why = {{0}};
    n_seen = 0;
    CHECK_EQ_INT(beat_samples_decode(b.data, b.len, &h, count, NULL, &why), 0);
    CHECK_EQ_INT(h.n, 2);
    CHECK_EQ_INT(n_seen, 2);
    CHECK_EQ_INT(h.first_seq, 1);
    CHECK_EQ_INT(h.last_seq, 2);
    CHECK(h.epoch == 0x1234ULL);
    beat_buf_reset(&b);
    CHECK_EQ_INT(dst_samples_encode(s, 1, 1, "ds-1", 1, &b), 0);
    n_seen = 0;
    CHECK_EQ_INT(beat_samples_decode(b.data, b.len, &h, count, NULL, &why), 0);
    CHECK_EQ_INT(h.n, 1);
    CHECK(strstr(b.data, "\"w\":10") != NULL);
    beat_buf_fini(&b);
    dst_samples_free(s);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case t[] = {
        {"ring", test_ring},
        {"encode", test_encode},
        {NULL, NULL},
    };
    return beat_test_main("samples", t, argc, argv);
}
