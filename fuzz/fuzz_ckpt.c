/* libFuzzer target for checkpoints, the bytes a trainer hands to the
 * supervisor and inference, and the private section handed back to the
 * light trainer on restart. Byte 0 picks the mode (byte % 2):
 *   0  beat_ckpt_decode; a decoded checkpoint (any rank / factor block)
 *      must re-encode, decode again and re-encode to the same bytes, and its
 *      factor layout must be consistent (n_weights, V/U offsets in range);
 *   1  the rest is the private section of a valid small rank-2 checkpoint:
 *      ltr_model_restore must refuse it cleanly or restore a model that
 *      round-trips exactly through its own checkpoint.
 * The light trainer's model code is compiled in (unity build) because the
 * fuzz builds link libbeat only.
 * Build: see fuzz/run.sh (libFuzzer) and the Makefile (replayer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_ckpt.h"
#include "../lighttrainer/factors.c"
#include "../lighttrainer/metrics.c"
#include "../lighttrainer/model.c"
#include "fuzz.h"

#define MAX_BYTES (4 << 20)
#define BITS 10

static void fuzz_roundtrip(const uint8_t *p, size_t n) {
    beat_ckpt a, b;
    beat_reason why;
    if (beat_ckpt_decode(p, n, MAX_BYTES, &a, &why) != 0) return;
    FUZZ_CHECK(a.h.n_weights == beat_ckpt_expected_weights(&a.h));
    if (a.h.rank) {
        FUZZ_CHECK(a.h.factor_bits >= 4 && a.h.factor_bits <= a.h.hash_bits);
        FUZZ_CHECK(beat_ckpt_u_at(&a.h) + ((uint64_t)a.h.rank << a.h.factor_bits) == a.h.n_weights);
    } else {
        FUZZ_CHECK(a.h.factor_bits == 0 && a.h.n_weights == (uint64_t)a.h.dim + 1);
    }
    beat_buf e1, e2;
    beat_buf_init(&e1, MAX_BYTES);
    beat_buf_init(&e2, MAX_BYTES);
    FUZZ_CHECK(beat_ckpt_encode(&a, &e1) == 0);
    FUZZ_CHECK(beat_ckpt_decode(e1.data, e1.len, MAX_BYTES, &b, &why) == 0);
    FUZZ_CHECK(a.h.rank == b.h.rank && a.h.factor_bits == b.h.factor_bits);
    FUZZ_CHECK(memcmp(a.w, b.w, a.h.n_weights * sizeof *a.w) == 0);
    FUZZ_CHECK(a.n_priv == b.n_priv && (a.n_priv == 0 || !memcmp(a.priv, b.priv, a.n_priv)));
    FUZZ_CHECK(beat_ckpt_encode(&b, &e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(&e1, &e2));
    beat_ckpt_fini(&a);
    beat_ckpt_fini(&b);
    beat_buf_fini(&e1);
    beat_buf_fini(&e2);
}

static void fuzz_private(const uint8_t *p, size_t n) {
    static const ltr_ftrl f = {0.1, 1, 0.1, 1};
    static const ltr_fm fm = {2, 4, 0.02, 1e-4};
    ltr_model *m = ltr_model_new(BITS, 7, &f, &fm, 0.02);
    FUZZ_CHECK(m != NULL);
    beat_ckpt c;
    memset(&c, 0, sizeof c);
    snprintf(c.h.kind, sizeof c.h.kind, "logreg");
    c.h.hash_bits = BITS;
    c.h.hash_seed = 7;
    c.h.dim = 1u << BITS;
    c.h.rank = 2;
    c.h.factor_bits = 4;
    c.h.n_weights = beat_ckpt_expected_weights(&c.h);
    c.h.avg_ctr = 0.02;
    c.h.samples_seen = 5;
    float w[(1 << BITS) + 1 + 2 * 16 * 2] = {0};
    c.w = w;
    c.priv = (uint8_t *)(uintptr_t)p;
    c.n_priv = n;
    char *cursors = NULL;
    bool fresh = false;
    ltr_prog g;
    FUZZ_CHECK(ltr_prog_init(&g, 100) == 0);
    beat_reason why = {{0}};
    int rc = ltr_model_restore(m, &c, &cursors, &fresh, &g, &why);
    FUZZ_CHECK(rc == 0 || rc == 1);
    free(cursors);
    if (rc == 0) {
        /* What was restored is a model like any other: its own checkpoint
         * restores it exactly. */
        beat_buf out;
        beat_buf_init(&out, MAX_BYTES);
        ltr_ckpt_meta meta = {"fuzz", 0.5, 0.1, 1, NULL, &g};
        FUZZ_CHECK(ltr_model_encode(m, &meta, &out) == 0);
        beat_ckpt d;
        FUZZ_CHECK(beat_ckpt_decode(out.data, out.len, MAX_BYTES, &d, &why) == 0);
        ltr_model *r = ltr_model_new(BITS, 7, &f, &fm, 0.02);
        FUZZ_CHECK(ltr_model_restore(r, &d, &cursors, &fresh, NULL, &why) == 0);
        FUZZ_CHECK(!fresh);
        FUZZ_CHECK(memcmp(r->z, m->z, 2 * ((size_t)m->dim + 1) * sizeof(double)) == 0);
        FUZZ_CHECK(memcmp(r->fac.V, m->fac.V, (2 * 16 * 2 + 2 * 16) * sizeof(float)) == 0);
        free(cursors);
        ltr_model_free(r);
        beat_ckpt_fini(&d);
        beat_buf_fini(&out);
    }
    ltr_prog_fini(&g);
    ltr_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] % 2 == 0) fuzz_roundtrip(data + 1, size - 1);
    else fuzz_private(data + 1, size - 1);
    return 0;
}
