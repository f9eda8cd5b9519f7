/* libFuzzer target for the wire formats: events, pacing state, campaign
 * sets, checkpoints, aggregates, samples, heartbeat and snapshot frames all
 * come from peers or operators. Byte 0 picks the decoder (byte % 8), the
 * rest is its input. Any successful decode must re-encode, decode again,
 * and re-encode to the same bytes (encode is canonical, nothing is lost).
 * Build: clang -fsanitize=fuzzer,address,undefined -Icommon fuzz/fuzz_wire.c
 *        common/beat_wire.c common/beat_campaign.c common/beat_ckpt.c
 *        common/beat_util.c common/beat_log.c -lcjson -lz -lm -pthread
 * Replay saved inputs without libFuzzer: link with fuzz/replay.c instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_wire.h"
#include "fuzz.h"

#define MAX_BYTES (1 << 20)
#define NOW_MS 1700000000000LL

static void fuzz_event(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_event a, b;
    beat_reason why;
    if (beat_event_decode(p, n, &a, &why) != 0) return;
    FUZZ_CHECK(beat_event_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_event_decode(e1->data, e1->len, &b, &why) == 0);
    FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0);
    FUZZ_CHECK(beat_event_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
}

static void fuzz_state(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_state a, b;
    beat_reason why;
    if (beat_state_decode(p, n, 100, &a, &why) != 0) return;
    FUZZ_CHECK(a.n <= 100);
    FUZZ_CHECK(beat_state_encode(&a, true, e1) == 0);
    FUZZ_CHECK(beat_state_decode(e1->data, e1->len, 100, &b, &why) == 0);
    FUZZ_CHECK(a.n == b.n && a.version == b.version && a.ts_ms == b.ts_ms);
    FUZZ_CHECK(a.n == 0 || memcmp(a.c, b.c, sizeof *a.c * (size_t)a.n) == 0);
    FUZZ_CHECK((a.private_json == NULL) == (b.private_json == NULL));
    FUZZ_CHECK(!a.private_json || strcmp(a.private_json, b.private_json) == 0);
    FUZZ_CHECK(beat_state_encode(&b, true, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    beat_state_fini(&a);
    beat_state_fini(&b);
}

static void fuzz_campaigns(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_campaign_set a, b;
    beat_reason why;
    if (beat_campaigns_decode(p, n, NOW_MS, BEAT_CAMPAIGNS_STRICT, &a, &why) != 0) return;
    FUZZ_CHECK(beat_campaigns_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_campaigns_decode(e1->data, e1->len, 0, BEAT_CAMPAIGNS_STRICT, &b, &why) == 0);
    FUZZ_CHECK(a.n == b.n && a.version == b.version);
    for (int i = 0; i < a.n; i++) {
        FUZZ_CHECK(beat_campaigns_find(&b, a.c[i].id) != NULL);
        FUZZ_CHECK(a.c[i].start_ms == b.c[i].start_ms && a.c[i].end_ms == b.c[i].end_ms);
        /* a schedule survives the trip bit for bit and is open some time */
        const beat_sched *sa = &a.c[i].schedule, *sb = &b.c[i].schedule;
        FUZZ_CHECK(sa->on == sb->on && memcmp(sa->hours, sb->hours, sizeof sa->hours) == 0);
        FUZZ_CHECK(!sa->on ||
                   beat_sched_weight(sa, a.c[i].tz, NULL, NOW_MS, NOW_MS + 8 * 86400000LL) > 0);
    }
    FUZZ_CHECK(beat_campaigns_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    beat_campaigns_fini(&a);
    beat_campaigns_fini(&b);
}

/* Exchange sets share the campaigns' seeds (both are operator JSON): a set
 * that decodes re-encodes stably, and never with a plain key in it. */
static void fuzz_exchanges(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_exchange_set a, b;
    beat_reason why;
    beat_buf_reset(e1);
    beat_buf_reset(e2);
    if (beat_exchanges_decode(p, n, BEAT_EXCHANGES_STRICT, &a, &why) != 0) return;
    FUZZ_CHECK(beat_exchanges_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_exchanges_decode(e1->data, e1->len, BEAT_EXCHANGES_STRICT, &b, &why) == 0);
    FUZZ_CHECK(a.n == b.n && a.version == b.version);
    FUZZ_CHECK(beat_exchanges_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    FUZZ_CHECK(!strstr(e1->data, "\"key\":\""));
    beat_buf_reset(e2);
    FUZZ_CHECK(beat_exchanges_encode_public(&a, e2) == 0);
    beat_exchanges_fini(&a);
    beat_exchanges_fini(&b);
}

static void fuzz_ckpt(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_ckpt a, b;
    beat_reason why;
    if (beat_ckpt_decode(p, n, MAX_BYTES, &a, &why) != 0) return;
    FUZZ_CHECK(a.h.n_weights == beat_ckpt_expected_weights(&a.h));
    FUZZ_CHECK(beat_ckpt_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_ckpt_decode(e1->data, e1->len, MAX_BYTES, &b, &why) == 0);
    FUZZ_CHECK(a.h.n_weights == b.h.n_weights && a.n_priv == b.n_priv);
    FUZZ_CHECK(memcmp(a.w, b.w, a.h.n_weights * sizeof *a.w) == 0);
    FUZZ_CHECK(a.n_priv == 0 || memcmp(a.priv, b.priv, a.n_priv) == 0);
    FUZZ_CHECK(beat_ckpt_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    beat_ckpt_fini(&a);
    beat_ckpt_fini(&b);
}

static void fuzz_aggregates(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_aggregates a, b;
    beat_reason why;
    if (beat_aggregates_decode(p, n, &a, &why) != 0) return;
    FUZZ_CHECK(beat_aggregates_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_aggregates_decode(e1->data, e1->len, &b, &why) == 0);
    FUZZ_CHECK(a.n_buckets == b.n_buckets && a.epoch == b.epoch);
    FUZZ_CHECK(beat_aggregates_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    beat_aggregates_fini(&a);
    beat_aggregates_fini(&b);
}

static int reencode_sample(void *arg, const beat_sample *s) {
    FUZZ_CHECK(s->n_feat <= BEAT_FEAT_MAX && (s->label == 0 || s->label == 1));
    FUZZ_CHECK(beat_sample_encode(s, arg) == 0);
    return 0;
}

static void fuzz_samples(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_samples_header h, h2;
    beat_reason why;
    beat_buf lines;
    beat_buf_init(&lines, 0);
    if (beat_samples_decode(p, n, &h, reencode_sample, &lines, &why) == 0) {
        FUZZ_CHECK(beat_samples_header_encode(&h, e1) == 0);
        FUZZ_CHECK(beat_buf_append(e1, lines.data, lines.len) == 0);
        beat_buf_reset(&lines);
        FUZZ_CHECK(beat_samples_decode(e1->data, e1->len, &h2, reencode_sample, &lines, &why) == 0);
        FUZZ_CHECK(memcmp(&h, &h2, sizeof h) == 0);
        FUZZ_CHECK(beat_samples_header_encode(&h2, e2) == 0);
        FUZZ_CHECK(beat_buf_append(e2, lines.data, lines.len) == 0);
        FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    }
    beat_buf_fini(&lines);
}

static void fuzz_heartbeat(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_heartbeat a, b;
    beat_reason why;
    if (beat_heartbeat_decode(p, n, &a, &why) != 0) return;
    FUZZ_CHECK(beat_heartbeat_encode(&a, e1) == 0);
    FUZZ_CHECK(beat_heartbeat_decode(e1->data, e1->len, &b, &why) == 0);
    FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0);
    FUZZ_CHECK(beat_heartbeat_encode(&b, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
}

static void fuzz_snapshot(const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    beat_campaign_set ca, cb;
    beat_state sa, sb;
    beat_exchange_set xa, xb;
    beat_reason why;
    if (beat_snapshot_decode(p, n, &ca, &sa, &xa, &why) != 0) return;
    /* no state decodes as an empty one; it re-encodes as such, stably */
    FUZZ_CHECK(beat_snapshot_encode(&ca, &sa, &xa, e1) == 0);
    FUZZ_CHECK(beat_snapshot_decode(e1->data, e1->len, &cb, &sb, &xb, &why) == 0);
    FUZZ_CHECK(ca.n == cb.n && ca.version == cb.version);
    FUZZ_CHECK(sa.n == sb.n && sa.version == sb.version && sb.private_json == NULL);
    FUZZ_CHECK(xa.n == xb.n && xa.version == xb.version);
    FUZZ_CHECK(beat_snapshot_encode(&cb, &sb, &xb, e2) == 0);
    FUZZ_CHECK(fuzz_same_bytes(e1, e2));
    beat_exchanges_fini(&xa);
    beat_exchanges_fini(&xb);
    beat_campaigns_fini(&ca);
    beat_campaigns_fini(&cb);
    beat_state_fini(&sa);
    beat_state_fini(&sb);
}

static void pick_codec(uint8_t pick, const char *p, size_t n, beat_buf *e1, beat_buf *e2) {
    switch (pick % 8) {
        case 0: fuzz_event(p, n, e1, e2); break;
        case 1: fuzz_state(p, n, e1, e2); break;
        case 2:
            fuzz_campaigns(p, n, e1, e2);
            fuzz_exchanges(p, n, e1, e2);
            break;
        case 3: fuzz_ckpt(p, n, e1, e2); break;
        case 4: fuzz_aggregates(p, n, e1, e2); break;
        case 5: fuzz_samples(p, n, e1, e2); break;
        case 6: fuzz_heartbeat(p, n, e1, e2); break;
        default: fuzz_snapshot(p, n, e1, e2); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_codecs(data, size, MAX_BYTES, pick_codec);
}
