/* Model checkpoints (beat_ckpt.h): the byte layout shared by the trainer
 * (encode), the supervisor and inference (decode, twice validated before a
 * model is stored or swapped in). Bytes come from disk and the network:
 * every length is bounds-checked before use, integers are packed by hand
 * as little-endian whatever the host, and nothing here may assert. */
#include "beat_ckpt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#include "beat_json.h"

#define PREFIX_LEN 16    /* magic + version + header_len */
#define HEADER_MAX 65536 /* header JSON bytes */
#define RANK_MAX 256
#define I53 BEAT_JSON_I53
#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

uint32_t beat_crc32(const void *p, size_t n) {
    const Bytef *b = p;
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return (uint32_t)crc;
}

uint64_t beat_ckpt_expected_weights(const beat_ckpt_header *h) {
    uint64_t factor_len =
        h->rank && h->factor_bits < 32 ? 2 * ((uint64_t)h->rank << h->factor_bits) : 0;
    return (uint64_t)h->dim + 1 + factor_len;
}

/* Header consistency, shared by encode (why may be NULL) and decode. */
static int header_check(const beat_ckpt_header *h, beat_reason *why) {
    if (strcmp(h->kind, "logreg") != 0)
        return FAIL("header.kind: unknown model kind \"%.31s\"", h->kind);
    if (h->hash_bits < 10 || h->hash_bits > 26)
        return FAIL("header.hash_bits: %" PRIu32 " not in [10, 26]", h->hash_bits);
    if (h->dim != (uint32_t)1 << h->hash_bits)
        return FAIL("header.dim: %" PRIu32 " != 1 << hash_bits (%" PRIu32 ")", h->dim,
                    (uint32_t)1 << h->hash_bits);
    if (h->rank > RANK_MAX) return FAIL("header.rank: %" PRIu32 " > %d", h->rank, RANK_MAX);
    if (h->rank == 0 && h->factor_bits != 0)
        return FAIL("header.factor_bits: %" PRIu32 " but rank is 0", h->factor_bits);
    if (h->rank > 0 && (h->factor_bits < 4 || h->factor_bits > h->hash_bits))
        return FAIL("header.factor_bits: %" PRIu32 " not in [4, hash_bits]", h->factor_bits);
    uint64_t want = beat_ckpt_expected_weights(h);
    if (h->n_weights != want)
        return FAIL("header.n_weights: %" PRIu64 " but dim/rank imply %" PRIu64, h->n_weights,
                    want);
    if (h->samples_seen < 0 || h->samples_seen > I53)
        return FAIL("header.samples_seen: out of range");
    if (h->ts_ms < 0 || h->ts_ms > I53) return FAIL("header.ts: out of range");
    if (!isfinite(h->avg_ctr) || h->avg_ctr < 0 || h->avg_ctr > 1)
        return FAIL("header.avg_ctr: must be in [0, 1]");
    if (isfinite(h->auc) && (h->auc < 0 || h->auc > 1))
        return FAIL("header.auc: must be in [0, 1] or null");
    if (isfinite(h->logloss) && h->logloss < 0) return FAIL("header.logloss: must be >= 0 or null");
    return 0;
}

/* ---- encode ---------------------------------------------------------------- */

static int put_metric(beat_buf *b, const char *key, double d) {
    if (!isfinite(d)) return beat_buf_printf(b, ",\"%s\":null", key);
    char tmp[40];
    beat_json_fmt_double(d, tmp);
    return beat_buf_printf(b, ",\"%s\":%s", key, tmp);
}

static int header_json(const beat_ckpt_header *h, beat_buf *b) {
    int rc;
    if ((rc = beat_buf_puts(b, "{\"kind\":")) < 0 ||
        (rc = beat_buf_json_str(b, h->kind, strnlen(h->kind, sizeof h->kind))) < 0 ||
        (rc = beat_buf_puts(b, ",\"trainer\":")) < 0 ||
        (rc = beat_buf_json_str(b, h->trainer, strnlen(h->trainer, sizeof h->trainer))) < 0 ||
        (rc = beat_buf_printf(b,
                              ",\"hash_bits\":%" PRIu32 ",\"hash_seed\":\"%016" PRIx64
                              "\",\"dim\":%" PRIu32 ",\"rank\":%" PRIu32 ",\"factor_bits\":%" PRIu32
                              ",\"n_weights\":%" PRIu64 ",\"samples_seen\":%" PRId64,
                              h->hash_bits, h->hash_seed, h->dim, h->rank, h->factor_bits,
                              h->n_weights, h->samples_seen)) < 0 ||
        (rc = put_metric(b, "auc", h->auc)) < 0 ||
        (rc = put_metric(b, "logloss", h->logloss)) < 0 ||
        (rc = put_metric(b, "avg_ctr", h->avg_ctr)) < 0 ||
        (rc = beat_buf_printf(b, ",\"ts\":%" PRId64 "}", h->ts_ms)) < 0)
        return rc;
    return 0;
}

int beat_ckpt_encode(const beat_ckpt *c, beat_buf *out) {
    const beat_ckpt_header *h = &c->h;
    if (header_check(h, NULL) != 0 || (h->n_weights && !c->w) || (c->n_priv && !c->priv) ||
        memchr(h->kind, 0, sizeof h->kind) == NULL ||
        memchr(h->trainer, 0, sizeof h->trainer) == NULL)
        return -EINVAL;
    for (uint64_t i = 0; i < h->n_weights; i++)
        if (!isfinite(c->w[i])) return -EINVAL;
    size_t start = out->len;
    uint8_t pre[PREFIX_LEN];
    memcpy(pre, BEAT_CKPT_MAGIC, 8);
    beat_put_le32(pre + 8, BEAT_CKPT_VERSION);
    beat_put_le32(pre + 12, 0); /* header_len, patched below */
    int rc = beat_buf_append(out, pre, sizeof pre);
    if (rc == 0) rc = header_json(h, out);
    size_t hl = out->len - start - PREFIX_LEN;
    if (rc == 0 && hl > HEADER_MAX) rc = -EINVAL;
    if (rc == 0) {
        beat_put_le32((uint8_t *)out->data + start + 12, (uint32_t)hl);
        uint8_t u64[8], chunk[4096];
        beat_put_le64(u64, h->n_weights);
        rc = beat_buf_append(out, u64, 8);
        for (uint64_t i = 0; rc == 0 && i < h->n_weights;) {
            size_t k = 0;
            for (; k < sizeof chunk && i < h->n_weights; k += 4, i++) {
                uint32_t bits;
                memcpy(&bits, &c->w[i], 4);
                beat_put_le32(chunk + k, bits);
            }
            rc = beat_buf_append(out, chunk, k);
        }
        beat_put_le64(u64, c->n_priv);
        if (rc == 0) rc = beat_buf_append(out, u64, 8);
        if (rc == 0 && c->n_priv) rc = beat_buf_append(out, c->priv, c->n_priv);
    }
    if (rc == 0) {
        uint8_t crc[4];
        beat_put_le32(crc, beat_crc32(out->data + start, out->len - start));
        rc = beat_buf_append(out, crc, 4);
    }
    if (rc < 0) {
        out->len = start;
        if (out->data) out->data[start] = 0;
        return rc;
    }
    return 0;
}

/* ---- decode ---------------------------------------------------------------- */

static int j_uint(const cJSON *o, const char *name, bool required, int64_t hi, int64_t *out,
                  beat_reason *why) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v) return required ? FAIL("header.%s: missing", name) : 0;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || !isfinite(d) || d != trunc(d) || d < 0 || d > (double)hi)
        return FAIL("header.%s: must be an integer in [0, %" PRId64 "]", name, hi);
    *out = (int64_t)d;
    return 0;
}

/* Metrics may be null (unknown, e.g. no positives in the holdout) → NaN. */
static int j_metric(const cJSON *o, const char *name, double dflt, double *out, beat_reason *why) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v)) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return FAIL("header.%s: must be a finite number or null", name);
    *out = v->valuedouble;
    return 0;
}

/* Text into a fixed field of cap bytes; an absent optional one is left as is. */
static int j_text(const cJSON *o, const char *name, bool required, char *out, size_t cap,
                  beat_reason *why) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v && !required) return 0;
    return beat_json_text(v, "header", name, cap - 1, 0, out, why);
}

/* The header is not NUL-terminated inside the checkpoint: beat_json_parse
 * reads a bounded copy and refuses bytes after the JSON value. The reason
 * stays short: a byte offset into a binary file helps nobody. */
static cJSON *parse_header(const char *p, size_t len, beat_reason *why) {
    cJSON *o;
    int rc = beat_json_parse(p, len, &o, why);
    if (rc == -EBADMSG) FAIL("header: invalid JSON");
    return rc ? NULL : o;
}

/* Refuses duplicate keys: two "dim" keys must not mean different things to
 * the supervisor and to inference. */
static int header_from(const cJSON *o, beat_ckpt_header *h, beat_reason *why) {
    if (!cJSON_IsObject(o)) return FAIL("header: must be a JSON object");
    int rc = beat_json_unique_keys(o, "header", why);
    if (rc) return rc;
    int64_t bits, dim, rank = 0, fbits = 0, nw, seen = 0, ts = 0;
    if ((rc = j_text(o, "kind", true, h->kind, sizeof h->kind, why)) ||
        (rc = j_text(o, "trainer", false, h->trainer, sizeof h->trainer, why)) ||
        (rc = j_uint(o, "hash_bits", true, 64, &bits, why)) ||
        (rc = j_uint(o, "dim", true, UINT32_MAX, &dim, why)) ||
        (rc = j_uint(o, "rank", false, UINT32_MAX, &rank, why)) ||
        (rc = j_uint(o, "factor_bits", false, 64, &fbits, why)) ||
        (rc = j_uint(o, "n_weights", true, I53, &nw, why)) ||
        (rc = j_uint(o, "samples_seen", false, I53, &seen, why)) ||
        (rc = j_uint(o, "ts", false, I53, &ts, why)) ||
        (rc = j_metric(o, "auc", NAN, &h->auc, why)) ||
        (rc = j_metric(o, "logloss", NAN, &h->logloss, why)) ||
        (rc = j_metric(o, "avg_ctr", 0, &h->avg_ctr, why)))
        return rc;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(o, "hash_seed");
    if ((rc = beat_json_hex64(seed, "header", "hash_seed", &h->hash_seed, why))) return rc;
    h->hash_bits = (uint32_t)bits;
    h->dim = (uint32_t)dim;
    h->rank = (uint32_t)rank;
    h->factor_bits = (uint32_t)fbits;
    h->n_weights = (uint64_t)nw;
    h->samples_seen = seen;
    h->ts_ms = ts;
    return header_check(h, why);
}

/* The weights (free()able). A model of megabytes is read at random, a
 * cross weight per (feature, campaign) per request, so with 4 KB pages most
 * reads also miss the TLB; 2 MB-aligned and advised as huge pages (where
 * the kernel has transparent huge pages in madvise mode) the whole model
 * needs a few TLB entries. The advice is a hint: refused, the weights work
 * as they are. */
#define HUGE_PAGE (2u << 20)
static float *weights_alloc(size_t n) {
    size_t bytes = n ? n * sizeof(float) : 1;
    if (bytes < HUGE_PAGE) return malloc(bytes);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) return NULL;
    (void)madvise(p, (bytes + 4095) & ~(size_t)4095, MADV_HUGEPAGE);
    return p;
}

int beat_ckpt_decode(const void *p, size_t n, size_t max_bytes, beat_ckpt *out, beat_reason *why) {
    const uint8_t *b = p;
    if (n > max_bytes) return FAIL("too large: %zu bytes > max %zu", n, max_bytes);
    if (memcmp(b, BEAT_CKPT_MAGIC, n < 8 ? n : 8) != 0)
        return FAIL("bad magic: not a BEAT checkpoint");
    if (n < PREFIX_LEN) return FAIL("truncated: %zu bytes, prefix needs %d", n, PREFIX_LEN);
    uint32_t ver = beat_get_le32(b + 8), hl = beat_get_le32(b + 12);
    if (ver != BEAT_CKPT_VERSION) return FAIL("unsupported format version %" PRIu32, ver);
    if (hl < 2 || hl > HEADER_MAX)
        return FAIL("header_len %" PRIu32 " not in [2, %d]", hl, HEADER_MAX);
    size_t off = PREFIX_LEN;
    if (n - off < hl) return FAIL("truncated in header (header_len %" PRIu32 ")", hl);
    size_t hdr_at = off;
    off += hl;
    if (n - off < 8) return FAIL("truncated before n_weights");
    uint64_t nw = beat_get_le64(b + off);
    off += 8;
    if (nw > (n - off) / 4) return FAIL("truncated in weights (n_weights %" PRIu64 ")", nw);
    size_t w_at = off;
    off += (size_t)nw * 4;
    if (n - off < 8) return FAIL("truncated before private_len");
    uint64_t pl = beat_get_le64(b + off);
    off += 8;
    if (pl > n - off) return FAIL("truncated in private section (private_len %" PRIu64 ")", pl);
    size_t priv_at = off;
    off += (size_t)pl;
    if (n - off < 4) return FAIL("truncated before crc");
    if (n - off > 4) return FAIL("%zu trailing bytes after crc", n - off - 4);
    uint32_t want = beat_get_le32(b + off), got = beat_crc32(b, off);
    if (want != got)
        return FAIL("crc mismatch: stored %08" PRIx32 ", computed %08" PRIx32, want, got);

    beat_ckpt c;
    memset(&c, 0, sizeof c);
    cJSON *hj = parse_header((const char *)b + hdr_at, hl, why);
    if (!hj) return -EBADMSG;
    int rc = header_from(hj, &c.h, why);
    cJSON_Delete(hj);
    if (rc) return rc;
    if (c.h.n_weights != nw)
        return FAIL("n_weights: header says %" PRIu64 ", data has %" PRIu64, c.h.n_weights, nw);
    if (!(c.w = weights_alloc((size_t)nw))) return beat_reasonf(why, -ENOMEM, "out of memory");
    for (uint64_t i = 0; i < nw; i++) {
        uint32_t bits = beat_get_le32(b + w_at + 4 * i);
        memcpy(&c.w[i], &bits, 4);
        if (!isfinite(c.w[i])) {
            free(c.w);
            return FAIL("weight[%" PRIu64 "]: not finite", i);
        }
    }
    if (pl) {
        if (!(c.priv = malloc((size_t)pl))) {
            free(c.w);
            return beat_reasonf(why, -ENOMEM, "out of memory");
        }
        memcpy(c.priv, b + priv_at, (size_t)pl);
    }
    c.n_priv = pl;
    *out = c;
    return 0;
}

void beat_ckpt_fini(beat_ckpt *c) {
    if (!c) return;
    free(c->w);
    free(c->priv);
    memset(c, 0, sizeof *c);
}
