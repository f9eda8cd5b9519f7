/* libFuzzer target for the money links' frames: lease reports and grants
 * (inference ↔ supervisor) and spend ledgers (datastream → supervisor), all
 * from peers. Byte 0 picks the decoder (byte % 3), the rest is its input.
 * A successful decode must re-encode, decode again and re-encode to the
 * same bytes. Replay saved inputs without libFuzzer: link with
 * fuzz/replay.c (the Makefile does, for `make test`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_ledger.h"
#include "beat_lease.h"
#include "fuzz.h"

#define MAX_BYTES (1 << 20)
#define ROWS_MAX 20000

static void fuzz_lease(const char *p, size_t n, char tag, beat_buf *e1, beat_buf *e2) {
    beat_lease_msg a, b;
    beat_reason why;
    if (beat_lease_decode(p, n, tag, ROWS_MAX, &a, &why) != 0) return;
    FUZZ_CHECK(beat_lease_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_lease_decode(e1->data, e1->len, tag, ROWS_MAX, &b, &why) == 0);
    FUZZ_CHECK(beat_lease_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    beat_lease_fini(&a);
    beat_lease_fini(&b);
}

static void fuzz_ledger(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_ledger a, b;
    beat_reason why;
    if (beat_ledger_decode(p, n, ROWS_MAX, &a, &why) != 0) return;
    FUZZ_CHECK(beat_ledger_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_ledger_decode(e1->data, e1->len, ROWS_MAX, &b, &why) == 0);
    FUZZ_CHECK(beat_ledger_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    beat_ledger_fini(&a);
    beat_ledger_fini(&b);
}

static void pick_codec(uint8_t pick, const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    switch (pick % 3) {
        case 0: fuzz_lease(p, n, BEAT_FRAME_LEASE_REPORT, e1, e2); break;
        case 1: fuzz_lease(p, n, BEAT_FRAME_LEASE_GRANT, e1, e2); break;
        default: fuzz_ledger(p, n, e1, e2); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_codecs(data, size, MAX_BYTES, pick_codec);
}
