/* Unit tests for beat_ckpt.c: exact little-endian layout, round trips, and
 * refusal of every damaged checkpoint (truncation at every length, flipped
 * bytes, bad header fields, non-finite weights) with a clear reason. */
#include "beat_ckpt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "beat_test.h"
#include "beat_wire.h"

#define MAXB ((size_t)64 << 20)

static void fill(beat_ckpt *c, uint32_t bits, uint32_t rank, uint64_t n_priv) {
    memset(c, 0, sizeof *c);
    strcpy(c->h.kind, "logreg");
    strcpy(c->h.trainer, "beat-lighttrainer");
    c->h.hash_bits = bits;
    c->h.hash_seed = 0xdeadbeefcafef00dull; /* above 2^53 */
    c->h.dim = 1u << bits;
    c->h.rank = rank;
    c->h.factor_bits = rank ? 8 : 0;
    c->h.n_weights = beat_ckpt_expected_weights(&c->h);
    c->h.samples_seen = 123456789;
    c->h.auc = 0.7123;
    c->h.logloss = 0.0451;
    c->h.avg_ctr = 0.0123;
    c->h.ts_ms = 1700000000000;
    c->w = malloc(c->h.n_weights * sizeof *c->w);
    uint32_t x = 12345;
    for (uint64_t i = 0; i < c->h.n_weights; i++) {
        x = x * 1103515245u + 12345u;
        c->w[i] = ((float)(x >> 8) / 16777216.0f - 0.5f) * 8.0f;
    }
    c->w[0] = -0.0f;
    c->w[1] = 1e-40f; /* denormal */
    c->w[2] = 3.4e38f;
    c->n_priv = n_priv;
    c->priv = n_priv ? malloc(n_priv) : NULL;
    for (uint64_t i = 0; i < n_priv; i++) c->priv[i] = (uint8_t)(i * 7);
}

static int same(const beat_ckpt *a, const beat_ckpt *b) {
    const beat_ckpt_header *x = &a->h, *y = &b->h;
    int metrics = (x->auc == y->auc || (isnan(x->auc) && isnan(y->auc))) &&
                  (x->logloss == y->logloss || (isnan(x->logloss) && isnan(y->logloss))) &&
                  x->avg_ctr == y->avg_ctr;
    return metrics && !strcmp(x->kind, y->kind) && !strcmp(x->trainer, y->trainer) &&
           x->hash_bits == y->hash_bits && x->hash_seed == y->hash_seed && x->dim == y->dim &&
           x->rank == y->rank && x->factor_bits == y->factor_bits && x->n_weights == y->n_weights &&
           x->samples_seen == y->samples_seen && x->ts_ms == y->ts_ms &&
           !memcmp(a->w, b->w, x->n_weights * 4) && a->n_priv == b->n_priv &&
           (a->n_priv == 0 || !memcmp(a->priv, b->priv, a->n_priv));
}

static uint32_t le32(const char *p) { return beat_get_le32((const uint8_t *)p); }
static uint64_t le64(const char *p) { return beat_get_le64((const uint8_t *)p); }

static int t_roundtrip_layout(void) {
    beat_ckpt c, back;
    fill(&c, 10, 0, 100);
    beat_buf b;
    beat_buf_init(&b, MAXB);
    beat_buf_puts(&b, "pre"); /* encode appends */
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), 0);
    const char *p = b.data + 3;
    size_t n = b.len - 3;
    /* the documented byte layout, read independently */
    CHECK(memcmp(p, "BEATCKPT", 8) == 0);
    CHECK_EQ_INT(le32(p + 8), 1);
    uint32_t hl = le32(p + 12);
    CHECK(p[16] == '{' && p[16 + hl - 1] == '}');
    CHECK(memmem(p + 16, hl, "\"hash_seed\":\"deadbeefcafef00d\"", 30) != NULL);
    CHECK(memmem(p + 16, hl, "\"n_weights\":1025", 16) != NULL);
    CHECK_EQ_INT(le64(p + 16 + hl), 1025);
    uint32_t w3 = le32(p + 16 + hl + 8 + 3 * 4), bits3;
    memcpy(&bits3, &c.w[3], 4);
    CHECK_EQ_INT(w3, bits3);
    size_t priv_len_at = 16 + hl + 8 + 1025 * 4;
    CHECK_EQ_INT(le64(p + priv_len_at), 100);
    CHECK_EQ_INT(n, priv_len_at + 8 + 100 + 4);
    CHECK_EQ_INT(le32(p + n - 4), crc32(0, (const Bytef *)p, (uInt)(n - 4)));
    CHECK_EQ_INT(beat_crc32(p, n - 4), crc32(0, (const Bytef *)p, (uInt)(n - 4)));

    beat_reason why = {{0}};
    int rc = beat_ckpt_decode(p, n, MAXB, &back, &why);
    if (rc) fprintf(stderr, "  reason: %s\n", why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK(same(&c, &back));
    CHECK(signbit(back.w[0]));
    beat_ckpt_fini(&back);
    CHECK(back.w == NULL && back.priv == NULL);
    /* exactly max_bytes is allowed, one less is not */
    CHECK_EQ_INT(beat_ckpt_decode(p, n, n, &back, &why), 0);
    beat_ckpt_fini(&back);
    CHECK_EQ_INT(beat_ckpt_decode(p, n, n - 1, &back, &why), -EBADMSG);
    CHECK_REASON(why, "too large");
    beat_ckpt_fini(&c);
    beat_buf_fini(&b);
    return 0;
}

static int t_roundtrip_variants(void) {
    beat_buf b;
    beat_buf_init(&b, MAXB);
    beat_reason why = {{0}};
    /* rank > 0 (V and U blocks of 2^factor_bits × rank each), no private
     * section, unknown metrics (null ↔ NaN) */
    beat_ckpt c, back;
    fill(&c, 12, 3, 0);
    CHECK_EQ_INT(c.h.n_weights, 4096 + 1 + 2 * 256 * 3);
    CHECK_EQ_INT(beat_ckpt_v_at(&c.h), 4097);
    CHECK_EQ_INT(beat_ckpt_u_at(&c.h), 4097 + 256 * 3);
    c.h.auc = NAN;
    c.h.logloss = INFINITY;
    c.h.trainer[0] = 0;
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), 0);
    CHECK(memmem(b.data, b.len, "\"auc\":null", 10) != NULL);
    CHECK(memmem(b.data, b.len, "\"rank\":3,\"factor_bits\":8", 24) != NULL);
    CHECK_EQ_INT(beat_ckpt_decode(b.data, b.len, MAXB, &back, &why), 0);
    CHECK(isnan(back.h.auc) && isnan(back.h.logloss));
    c.h.logloss = NAN;
    CHECK(same(&c, &back));
    CHECK(back.priv == NULL && back.n_priv == 0);
    beat_ckpt_fini(&back);
    beat_ckpt_fini(&c);
    /* the largest hash_bits the format allows */
    fill(&c, 20, 0, 1);
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), 0);
    CHECK_EQ_INT(beat_ckpt_decode(b.data, b.len, MAXB, &back, &why), 0);
    CHECK(same(&c, &back));
    /* 4 MB of weights: on huge-page boundaries (read at random per request) */
    CHECK(((uintptr_t)back.w & ((2u << 20) - 1)) == 0);
    beat_ckpt_fini(&back);
    beat_ckpt_fini(&c);
    beat_buf_fini(&b);
    return 0;
}

static int t_encode_refuses(void) {
    beat_buf b;
    beat_buf_init(&b, MAXB);
    beat_ckpt c;
    fill(&c, 10, 0, 0);
    c.w[7] = NAN;
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), -EINVAL);
    c.w[7] = 0;
    c.h.n_weights--;
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), -EINVAL);
    c.h.n_weights++;
    c.h.dim = 1000;
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), -EINVAL);
    c.h.dim = 1024;
    c.h.avg_ctr = NAN;
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), -EINVAL);
    CHECK_EQ_INT(b.len, 0);
    beat_buf_fini(&b);
    /* too small a buffer: left unchanged */
    c.h.avg_ctr = 0.01;
    beat_buf_init(&b, 1000);
    beat_buf_puts(&b, "x");
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), -EMSGSIZE);
    CHECK_EQ_STR(b.data, "x");
    beat_buf_fini(&b);
    beat_ckpt_fini(&c);
    return 0;
}

static int t_truncated_and_flipped(void) {
    beat_ckpt c, back;
    fill(&c, 10, 0, 16);
    beat_buf b;
    beat_buf_init(&b, MAXB);
    CHECK_EQ_INT(beat_ckpt_encode(&c, &b), 0);
    beat_ckpt_fini(&c);
    beat_reason why;
    /* every truncation, read from an exact-size copy so ASan sees overreads */
    for (size_t n = 0; n < b.len; n++) {
        char *cut = malloc(n ? n : 1);
        memcpy(cut, b.data, n);
        why.msg[0] = 0;
        int rc = beat_ckpt_decode(cut, n, MAXB, &back, &why);
        free(cut);
        if (rc != -EBADMSG || !strstr(why.msg, "truncated")) {
            fprintf(stderr, "  len %zu: rc=%d reason \"%s\"\n", n, rc, why.msg);
            return 1;
        }
    }
    /* a flipped byte anywhere is refused; in the weights it is the CRC */
    uint32_t hl = le32(b.data + 12);
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x10;
        int rc = beat_ckpt_decode(b.data, b.len, MAXB, &back, &why);
        b.data[i] ^= 0x10;
        if (rc != -EBADMSG) {
            fprintf(stderr, "  flip at %zu accepted\n", i);
            return 1;
        }
        if (i >= 16 + hl + 8 && i < 16 + hl + 8 + 1025 * 4) CHECK_REASON(why, "crc mismatch");
    }
    /* trailing garbage */
    beat_buf_puts(&b, "zz");
    CHECK_EQ_INT(beat_ckpt_decode(b.data, b.len, MAXB, &back, &why), -EBADMSG);
    CHECK_REASON(why, "2 trailing bytes");
    beat_buf_fini(&b);
    return 0;
}

/* Assembles a checkpoint by hand with a correct CRC, so header and weight
 * checks are reached. nw_data weights are written from w (or zeros). */
static void build(beat_buf *b, const char *magic, uint32_t version, const char *hdr,
                  uint64_t nw_data, const float *w) {
    uint8_t tmp[8];
    beat_buf_reset(b);
    beat_buf_append(b, magic, 8);
    beat_put_le32(tmp, version);
    beat_buf_append(b, tmp, 4);
    uint32_t hl = (uint32_t)strlen(hdr);
    beat_put_le32(tmp, hl);
    beat_buf_append(b, tmp, 4);
    beat_buf_append(b, hdr, hl);
    beat_put_le64(tmp, nw_data);
    beat_buf_append(b, tmp, 8);
    for (uint64_t k = 0; k < nw_data; k++) {
        float f = w ? w[k] : 0.0f;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        beat_put_le32(tmp, bits);
        beat_buf_append(b, tmp, 4);
    }
    memset(tmp, 0, 8);
    beat_buf_append(b, tmp, 8); /* private_len 0 */
    uint32_t crc = (uint32_t)crc32(0, (const Bytef *)b->data, (uInt)b->len);
    beat_put_le32(tmp, crc);
    beat_buf_append(b, tmp, 4);
}

#define H(extra)                                                                                   \
    "{\"kind\":\"logreg\",\"hash_bits\":10,\"hash_seed\":\"ff\",\"dim\":1024," extra "}"
static const struct {
    const char *magic;
    uint32_t version;
    const char *hdr;
    uint64_t nw;
    const char *reason;
} bad_ckpts[] = {
    {"BEATCKPX", 1, H("\"n_weights\":1025"), 1025, "bad magic"},
    {"BEATCKPT", 2, H("\"n_weights\":1025"), 1025, "unsupported format version 2"},
    {"BEATCKPT", 1, "", 1025, "header_len 0"},
    {"BEATCKPT", 1, "{\"kind\":", 1025, "header: invalid JSON"},
    {"BEATCKPT", 1, H("\"n_weights\":1025} "), 1025, "header: invalid JSON"},
    {"BEATCKPT", 1, "[1]", 1025, "header: must be a JSON object"},
    {"BEATCKPT", 1,
     "{\"kind\":\"fm\",\"hash_bits\":10,\"hash_seed\":\"ff\",\"dim\":1024,\"n_weights\":1025}",
     1025, "header.kind: unknown model kind"},
    {"BEATCKPT", 1, "{\"hash_bits\":10,\"hash_seed\":\"ff\",\"dim\":1024,\"n_weights\":1025}", 1025,
     "header.kind: missing"},
    {"BEATCKPT", 1,
     "{\"kind\":\"logreg\",\"hash_bits\":9,\"hash_seed\":\"ff\",\"dim\":512,\"n_weights\":513}",
     513, "header.hash_bits: 9 not in [10, 26]"},
    {"BEATCKPT", 1,
     "{\"kind\":\"logreg\",\"hash_bits\":27,\"hash_seed\":\"ff\",\"dim\":134217728,\"n_weights\":"
     "1}",
     1, "header.hash_bits: 27"},
    {"BEATCKPT", 1,
     "{\"kind\":\"logreg\",\"hash_bits\":10,\"hash_seed\":\"ff\",\"dim\":1000,\"n_weights\":1001}",
     1001, "header.dim: 1000 != 1 << hash_bits"},
    {"BEATCKPT", 1, H("\"n_weights\":1024"), 1024,
     "header.n_weights: 1024 but dim/rank imply 1025"},
    {"BEATCKPT", 1, H("\"rank\":1,\"factor_bits\":8,\"n_weights\":1025"), 1025,
     "header.n_weights: 1025 but dim/rank imply 1537"},
    {"BEATCKPT", 1, H("\"rank\":1,\"n_weights\":1025"), 1025,
     "header.factor_bits: 0 not in [4, hash_bits]"},
    {"BEATCKPT", 1, H("\"rank\":1,\"factor_bits\":11,\"n_weights\":5121"), 5121,
     "header.factor_bits: 11 not in [4, hash_bits]"},
    {"BEATCKPT", 1, H("\"factor_bits\":8,\"n_weights\":1025"), 1025,
     "header.factor_bits: 8 but rank is 0"},
    {"BEATCKPT", 1, H("\"rank\":1,\"factor_bits\":1e3,\"n_weights\":1025"), 1025,
     "header.factor_bits: must be an integer"},
    {"BEATCKPT", 1, H("\"n_weights\":1025"), 1024, "n_weights: header says 1025, data has 1024"},
    {"BEATCKPT", 1, H("\"n_weights\":1.5"), 1025, "header.n_weights: must be an integer"},
    {"BEATCKPT", 1,
     "{\"kind\":\"logreg\",\"hash_bits\":10,\"hash_seed\":255,\"dim\":1024,\"n_weights\":1025}",
     1025, "header.hash_seed: must be 1-16 hex"},
    {"BEATCKPT", 1,
     "{\"kind\":\"logreg\",\"hash_bits\":10,\"hash_seed\":\"0x1\",\"dim\":1024,\"n_weights\":1025}",
     1025, "header.hash_seed: must be 1-16 hex"},
    {"BEATCKPT", 1, "{\"kind\":\"logreg\",\"hash_bits\":10,\"dim\":1024,\"n_weights\":1025}", 1025,
     "header.hash_seed: missing"},
    {"BEATCKPT", 1, H("\"n_weights\":1025,\"avg_ctr\":2"), 1025,
     "header.avg_ctr: must be in [0, 1]"},
    {"BEATCKPT", 1, H("\"n_weights\":1025,\"auc\":1e999"), 1025,
     "header.auc: must be a finite number or null"},
    {"BEATCKPT", 1, H("\"n_weights\":1025,\"samples_seen\":-1"), 1025,
     "header.samples_seen: must be an integer"},
    {"BEATCKPT", 1, H("\"n_weights\":1025,\"dim\":1024"), 1025, "header.dim: duplicate key"},
    {"BEATCKPT", 1, H("\"n_weights\":1025,\"trainer\":\"t\\u0001\""), 1025,
     "header.trainer: control character"},
};

/* beat_ckpt_decode refuses b with -EBADMSG and a reason holding reason,
 * its out-parameter untouched; what names the case on failure. */
static int refused(const beat_buf *b, const char *reason, const char *what) {
    beat_ckpt c;
    beat_reason why = {{0}};
    memset(&c, 0x5a, sizeof c);
    int rc = beat_ckpt_decode(b->data, b->len, MAXB, &c, &why);
    if (rc != -EBADMSG || !strstr(why.msg, reason)) {
        fprintf(stderr, "  %s: rc=%d reason \"%s\" want \"%s\"\n", what, rc, why.msg, reason);
        return 1;
    }
    CHECK(c.n_priv == 0x5a5a5a5a5a5a5a5aull); /* out untouched */
    return 0;
}

static int t_bad_headers(void) {
    beat_buf b;
    beat_buf_init(&b, MAXB);
    beat_ckpt c;
    beat_reason why;
    /* the builder itself produces a valid checkpoint */
    build(&b, "BEATCKPT", 1, H("\"n_weights\":1025"), 1025, NULL);
    CHECK_EQ_INT(beat_ckpt_decode(b.data, b.len, MAXB, &c, &why), 0);
    CHECK_EQ_INT(c.h.hash_seed, 255);
    CHECK(isnan(c.h.auc) && c.h.avg_ctr == 0 && c.h.rank == 0 && c.h.factor_bits == 0);
    beat_ckpt_fini(&c);
    /* factor blocks: 1024 + 1 + 2 × 16 × 2 */
    build(&b, "BEATCKPT", 1, H("\"rank\":2,\"factor_bits\":4,\"n_weights\":1089"), 1089, NULL);
    CHECK_EQ_INT(beat_ckpt_decode(b.data, b.len, MAXB, &c, &why), 0);
    CHECK(c.h.rank == 2 && c.h.factor_bits == 4 && c.h.n_weights == 1089);
    CHECK_EQ_INT(beat_ckpt_u_at(&c.h), 1025 + 32);
    beat_ckpt_fini(&c);
    /* additive header keys of a newer writer are ignored (format version
     * rule: a bump only for an incompatible change) */
    build(&b, "BEATCKPT", 1, H("\"n_weights\":1025,\"zz_future\":{\"a\":[1]},\"zz_n\":2"), 1025,
          NULL);
    CHECK_EQ_INT(beat_ckpt_decode(b.data, b.len, MAXB, &c, &why), 0);
    CHECK(c.h.n_weights == 1025);
    beat_ckpt_fini(&c);
    for (size_t i = 0; i < sizeof bad_ckpts / sizeof bad_ckpts[0]; i++) {
        build(&b, bad_ckpts[i].magic, bad_ckpts[i].version, bad_ckpts[i].hdr, bad_ckpts[i].nw,
              NULL);
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        if (refused(&b, bad_ckpts[i].reason, what)) return 1;
    }
    /* non-finite weights, with a valid CRC */
    float *w = calloc(1025, sizeof *w);
    w[5] = NAN;
    build(&b, "BEATCKPT", 1, H("\"n_weights\":1025"), 1025, w);
    if (refused(&b, "weight[5]: not finite", "NaN weight")) return 1;
    w[5] = 0;
    w[1024] = -INFINITY;
    build(&b, "BEATCKPT", 1, H("\"n_weights\":1025"), 1025, w);
    if (refused(&b, "weight[1024]: not finite", "infinite weight")) return 1;
    free(w);
    /* a header_len beyond the data, and a huge n_weights */
    build(&b, "BEATCKPT", 1, H("\"n_weights\":1025"), 1025, NULL);
    b.data[14] = 1; /* header_len += 65536 */
    if (refused(&b, "header_len", "header_len")) return 1;
    build(&b, "BEATCKPT", 1, H("\"n_weights\":1025"), 1025, NULL);
    uint32_t hl = le32(b.data + 12);
    memset(b.data + 16 + hl, 0xff, 8);
    if (refused(&b, "truncated in weights", "huge n_weights")) return 1;
    beat_buf_fini(&b);
    return 0;
}

/* The 'C' frame's head: tag + little-endian version, read back without
 * decoding the checkpoint; short frames and other tags are refused. */
static int test_frame_head(void) {
    uint8_t f[BEAT_CKPT_FRAME_HEAD + 1] = {0};
    beat_ckpt_frame_head(f, 0x0102030405LL);
    CHECK(f[0] == BEAT_FRAME_CHECKPOINT && f[1] == 0x05 && f[5] == 0x01 && f[8] == 0);
    int64_t v = -1;
    CHECK_EQ_INT(beat_ckpt_frame_version(f, sizeof f, &v), 0);
    CHECK(v == 0x0102030405LL);
    v = -1;
    CHECK_EQ_INT(beat_ckpt_frame_version(f, BEAT_CKPT_FRAME_HEAD - 1, &v), -EBADMSG);
    f[0] = BEAT_FRAME_SNAPSHOT;
    CHECK_EQ_INT(beat_ckpt_frame_version(f, sizeof f, &v), -EBADMSG);
    CHECK(v == -1);
    return 0;
}

/* A whole 'C' frame: the head for the version, then the checkpoint exactly
 * as beat_ckpt_encode writes it, appended after what out held. */
static int test_frame_encode(void) {
    beat_ckpt c;
    fill(&c, 10, 0, 10);
    beat_buf f, ck;
    beat_buf_init(&f, MAXB);
    beat_buf_init(&ck, MAXB);
    beat_buf_puts(&f, "pre");
    CHECK_EQ_INT(beat_ckpt_frame_encode(&c, 77, &f), 0);
    CHECK_EQ_INT(beat_ckpt_encode(&c, &ck), 0);
    CHECK(f.len == 3 + BEAT_CKPT_FRAME_HEAD + ck.len);
    int64_t v = -1;
    CHECK_EQ_INT(beat_ckpt_frame_version(f.data + 3, f.len - 3, &v), 0);
    CHECK(v == 77);
    CHECK(memcmp(f.data + 3 + BEAT_CKPT_FRAME_HEAD, ck.data, ck.len) == 0);
    beat_buf_fini(&f);
    beat_buf_fini(&ck);
    beat_ckpt_fini(&c);
    return 0;
}

static const beat_test_case cases[] = {
    {"frame_head", test_frame_head},          {"frame_encode", test_frame_encode},
    {"roundtrip_layout", t_roundtrip_layout}, {"roundtrip_variants", t_roundtrip_variants},
    {"encode_refuses", t_encode_refuses},     {"truncated_and_flipped", t_truncated_and_flipped},
    {"bad_headers", t_bad_headers},           {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_ckpt", cases, argc, argv); }
