/* First-party segment lists (beat_seglist.h): the upload parser the
 * supervisor runs on operators' bodies, and the 'U' frame codec. Both read
 * untrusted bytes: bounded, never assert, say which line or byte is wrong. */
#include "beat_seglist.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

uint64_t beat_seglist_hash(uint64_t seed, const char *user, size_t len) {
    return XXH3_64bits_withSeed(user, len, seed);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int beat_seglist_parse(const char *body, size_t len, uint64_t seed, uint32_t max_ids,
                       uint64_t **out, uint32_t *n, beat_reason *why) {
    uint64_t *h = NULL;
    size_t nh = 0, cap = 0, line = 0;
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        size_t m = (size_t)(e - p);
        if (m && p[m - 1] == '\r') m--;
        if (m) {
            int rc = 0;
            if (m > BEAT_SEGLIST_USER_MAX)
                rc = beat_reasonf(why, -EINVAL, "line %zu: id longer than %d bytes", line,
                                  BEAT_SEGLIST_USER_MAX);
            for (size_t i = 0; !rc && i < m; i++)
                if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] > '~')
                    rc = beat_reasonf(why, -EINVAL,
                                      "line %zu: byte %zu is not printable ASCII (ids have no "
                                      "spaces or control characters)",
                                      line, i + 1);
            if (!rc && nh == max_ids)
                rc = beat_reasonf(why, -EMSGSIZE, "more than %u ids", (unsigned)max_ids);
            if (!rc && nh == cap) {
                size_t nc = cap ? 2 * cap : 1024;
                if (nc > max_ids) nc = max_ids;
                uint64_t *g = realloc(h, nc * sizeof *g);
                if (!g) rc = beat_reasonf(why, -ENOMEM, "out of memory");
                else h = g, cap = nc;
            }
            if (rc) {
                free(h);
                return rc;
            }
            h[nh++] = beat_seglist_hash(seed, p, m);
        }
        p = nl ? nl + 1 : end;
    }
    if (nh > 1) qsort(h, nh, sizeof *h, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < nh; i++)
        if (k == 0 || h[i] != h[k - 1]) h[k++] = h[i];
    *out = h;
    *n = (uint32_t)k;
    return 0;
}

bool beat_seglist_has(const beat_seglist *l, uint64_t h) {
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->h[mid] < h) lo = mid + 1;
        else hi = mid;
    }
    return lo < l->n && l->h[lo] == h;
}

const beat_seglist *beat_seglists_find(const beat_seglists *s, const char *id) {
    int lo = 0, hi = s ? s->n : 0;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(s->l[mid].id, id);
        if (c == 0) return &s->l[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int beat_seglists_encode(const beat_seglists *s, beat_buf *out) {
    if (s->n < 0 || s->n > BEAT_SEGLISTS_MAX || s->version < 0) return -EINVAL;
    size_t total = 0;
    for (int i = 0; i < s->n; i++) {
        const beat_seglist *l = &s->l[i];
        size_t il = strnlen(l->id, BEAT_ID_MAX + 1);
        if (!beat_id_ok(l->id, il, BEAT_ID_MAX) || (i && strcmp(s->l[i - 1].id, l->id) >= 0) ||
            l->version < 0 || l->n > BEAT_SEGLIST_IDS_MAX)
            return -EINVAL;
        for (uint32_t k = 1; k < l->n; k++)
            if (l->h[k] <= l->h[k - 1]) return -EINVAL;
        total += l->n;
    }
    if (total > BEAT_SEGLIST_TOTAL_MAX) return -EINVAL;
    size_t start = out->len;
    static_assert(BEAT_SEGLISTS_FRAME_HEAD == 2 + 8 + 8 + 4, "tag, v, version, seed, count");
    uint8_t head[BEAT_SEGLISTS_FRAME_HEAD];
    head[0] = BEAT_FRAME_SEGMENTS;
    head[1] = BEAT_SEGLISTS_V;
    beat_put_le64(head + 2, (uint64_t)s->version);
    beat_put_le64(head + 10, s->seed);
    beat_put_le32(head + 18, (uint32_t)s->n);
    int rc = beat_buf_append(out, head, sizeof head);
    uint8_t tmp[8 * 64];
    for (int i = 0; !rc && i < s->n; i++) {
        const beat_seglist *l = &s->l[i];
        uint8_t il = (uint8_t)strlen(l->id), lh[12];
        beat_put_le64(lh, (uint64_t)l->version);
        beat_put_le32(lh + 8, l->n);
        if ((rc = beat_buf_append(out, &il, 1)) || (rc = beat_buf_append(out, l->id, il)) ||
            (rc = beat_buf_append(out, lh, sizeof lh)))
            break;
        for (uint32_t k = 0; !rc && k < l->n; k += 64) {
            uint32_t m = l->n - k < 64 ? l->n - k : 64;
            for (uint32_t j = 0; j < m; j++) beat_put_le64(tmp + 8 * j, l->h[k + j]);
            rc = beat_buf_append(out, tmp, 8 * (size_t)m);
        }
    }
    if (rc) {
        out->len = start;
        if (out->data) out->data[start] = '\0';
    }
    return rc;
}

/* First pass: every rule, counting hashes, so the second pass can copy
 * into exact allocations. */
static int check_frame(const uint8_t *p, size_t len, int *n_lists, size_t *total,
                       beat_reason *why) {
    if (len < BEAT_SEGLISTS_FRAME_HEAD || p[0] != BEAT_FRAME_SEGMENTS)
        return FAIL("not a segment lists frame");
    if (p[1] != BEAT_SEGLISTS_V) return FAIL("segments: unsupported version %d", p[1]);
    if (beat_get_le64(p + 2) > ((uint64_t)1 << 53)) return FAIL("segments: version out of range");
    uint32_t n = beat_get_le32(p + 18);
    if (n > BEAT_SEGLISTS_MAX) return FAIL("segments: too many lists (%u)", n);
    size_t off = BEAT_SEGLISTS_FRAME_HEAD, sum = 0;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < 1) return FAIL("segments[%u]: truncated", i);
        size_t il = p[off++];
        if (len - off < il + 12) return FAIL("segments[%u]: truncated", i);
        if (!beat_id_ok((const char *)p + off, il, BEAT_ID_MAX))
            return FAIL("segments[%u]: bad list id", i);
        if (prev) {
            int c = memcmp(prev, p + off, il < prev_len ? il : prev_len);
            if (c > 0 || (c == 0 && prev_len >= il))
                return FAIL("segments[%u]: list ids not ascending", i);
        }
        prev = p + off;
        prev_len = il;
        off += il;
        if (beat_get_le64(p + off) > ((uint64_t)1 << 53))
            return FAIL("segments[%u]: version out of range", i);
        uint32_t cnt = beat_get_le32(p + off + 8);
        off += 12;
        if (cnt > BEAT_SEGLIST_IDS_MAX) return FAIL("segments[%u]: too many ids (%u)", i, cnt);
        sum += cnt;
        if (sum > BEAT_SEGLIST_TOTAL_MAX)
            return FAIL("segments: more than %d ids in all", BEAT_SEGLIST_TOTAL_MAX);
        if ((len - off) / 8 < cnt) return FAIL("segments[%u]: truncated", i);
        for (uint32_t k = 1; k < cnt; k++)
            if (beat_get_le64(p + off + 8 * k) <= beat_get_le64(p + off + 8 * (k - 1)))
                return FAIL("segments[%u]: hashes not strictly ascending", i);
        off += 8 * (size_t)cnt;
    }
    if (off != len) return FAIL("segments: %zu trailing bytes", len - off);
    *n_lists = (int)n;
    *total = sum;
    return 0;
}

int beat_seglists_decode(const void *msg, size_t len, beat_seglists *out, beat_reason *why) {
    const uint8_t *p = msg;
    int n = 0;
    size_t total = 0;
    int rc = check_frame(p, len, &n, &total, why);
    if (rc) return rc;
    beat_seglists s = {.version = (int64_t)beat_get_le64(p + 2), .seed = beat_get_le64(p + 10)};
    s.l = calloc(n ? (size_t)n : 1, sizeof *s.l);
    s.store = malloc((total ? total : 1) * sizeof *s.store);
    if (!s.l || !s.store) {
        beat_seglists_fini(&s);
        return beat_reasonf(why, -ENOMEM, "out of memory");
    }
    size_t off = BEAT_SEGLISTS_FRAME_HEAD, at = 0;
    for (int i = 0; i < n; i++) {
        beat_seglist *l = &s.l[i];
        size_t il = p[off++];
        memcpy(l->id, p + off, il);
        l->id[il] = '\0';
        off += il;
        l->version = (int64_t)beat_get_le64(p + off);
        l->n = beat_get_le32(p + off + 8);
        off += 12;
        l->h = s.store + at;
        for (uint32_t k = 0; k < l->n; k++) s.store[at++] = beat_get_le64(p + off + 8 * k);
        off += 8 * (size_t)l->n;
    }
    s.n = n;
    *out = s;
    return 0;
}

void beat_seglists_fini(beat_seglists *s) {
    if (!s) return;
    free(s->l);
    free(s->store);
    memset(s, 0, sizeof *s);
}
