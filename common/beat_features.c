/* Feature hashing shared by inference (extracts + scores) and the trainer
 * (sees indices only). The exact byte layout below is the contract: change
 * it and every stored model becomes garbage, so it is versioned by the
 * checkpoint's hashing parameters and must never change silently.
 *   hash(ns, value)   = XXH3_64(ns ‖ 0x1f ‖ value, seed)
 *   int features      = hash(ns, decimal text of the integer)
 *   campaign          = hash("cmp", id)
 *   cross(base, cmp)  = XXH3_64(le64(base) ‖ le64(cmp), seed)
 *   index             = h & (2^bits - 1) */
#include "beat_features.h"
#include "beat_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Inlined: the bidder hashes ~10 crosses per scored campaign, and a call
 * into the shared library costs more than the 16-byte hash itself. Same
 * algorithm and version as the library (beat_features_test compares). */
#define XXH_INLINE_ALL
#include <xxhash.h>

#define FEAT_SEP '\x1f' /* ASCII unit separator: cannot occur in a namespace */

static uint32_t feat_mask(const beat_hash_params *p) {
    /* Parameters are validated where they are read (checkpoint, config);
     * here an out-of-range value must still not be undefined behaviour. */
    if (p->bits == 0) return 0;
    if (p->bits >= 32) return UINT32_MAX;
    return (UINT32_C(1) << p->bits) - 1;
}

static uint64_t feat_hash(const beat_hash_params *p, const char *ns, const char *val,
                          size_t val_len) {
    size_t ns_len = strlen(ns);
    char buf[256];
    if (ns_len + 1 + val_len <= sizeof buf) {
        memcpy(buf, ns, ns_len);
        buf[ns_len] = FEAT_SEP;
        if (val_len) memcpy(buf + ns_len + 1, val, val_len);
        return XXH3_64bits_withSeed(buf, ns_len + 1 + val_len, p->seed);
    }
    /* Long values (rare: domains are < 256 bytes): the same one-shot digest
     * over a heap copy. */
    char *big = malloc(ns_len + 1 + val_len);
    if (!big) return 0; /* out of memory: a hash collision, not a crash */
    memcpy(big, ns, ns_len);
    big[ns_len] = FEAT_SEP;
    memcpy(big + ns_len + 1, val, val_len);
    uint64_t h = XXH3_64bits_withSeed(big, ns_len + 1 + val_len, p->seed);
    free(big);
    return h;
}

static uint64_t feat_cross(const beat_hash_params *p, uint64_t base, uint64_t campaign) {
    unsigned char b[16];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* the bytes are the values' own: the compiler folds this away */
    memcpy(b, &base, 8);
    memcpy(b + 8, &campaign, 8);
#else
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(base >> (8 * i));
        b[8 + i] = (unsigned char)(campaign >> (8 * i));
    }
#endif
    return XXH3_64bits_withSeed(b, sizeof b, p->seed);
}

void beat_feat_reset(beat_feat_raw *f) { f->n = 0; }

void beat_feat_add(beat_feat_raw *f, const beat_hash_params *p, const char *ns, const char *val,
                   size_t val_len) {
    if (f->n < 0 || f->n >= BEAT_FEAT_RAW_MAX) return;
    f->h[f->n++] = feat_hash(p, ns, val ? val : "", val ? val_len : 0);
}

void beat_feat_add_int(beat_feat_raw *f, const beat_hash_params *p, const char *ns, int64_t val) {
    char txt[BEAT_I64_CHARS];
    int n = beat_fmt_i64(txt, val); /* same text as "%lld", without printf */
    beat_feat_add(f, p, ns, txt, (size_t)n);
}

uint64_t beat_feat_campaign_hash(const beat_hash_params *p, const char *id) {
    return feat_hash(p, "cmp", id, strlen(id));
}

uint32_t beat_feat_mask(const beat_hash_params *p) { return feat_mask(p); }

uint32_t beat_feat_cross_index(const beat_hash_params *p, uint64_t feat_hash,
                               uint64_t campaign_hash) {
    return (uint32_t)(feat_cross(p, feat_hash, campaign_hash) & feat_mask(p));
}

int beat_feat_indices(const beat_hash_params *p, const beat_feat_raw *f, uint64_t campaign_hash,
                      uint32_t *out, int out_max) {
    uint32_t mask = feat_mask(p);
    int n = beat_feat_count(f);
    int k = 0;
    /* Order: bases, crosses, campaign bias — so a truncated out keeps the
     * campaign-independent part first (documented in the header). */
    for (int i = 0; i < n && k < out_max; i++) out[k++] = (uint32_t)(f->h[i] & mask);
    for (int i = 0; i < n && k < out_max; i++)
        out[k++] = (uint32_t)(feat_cross(p, f->h[i], campaign_hash) & mask);
    if (k < out_max) out[k++] = (uint32_t)(campaign_hash & mask);
    return k;
}
