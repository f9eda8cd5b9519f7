/* Feature hashing shared by inference (which extracts request features and
 * scores) and the trainer (which only sees indices). Both sides must hash
 * identically, so this is the single implementation (xxHash XXH3 64).
 *
 * A request feature is a namespace and a value ("dom" + "news.example").
 * Namespaces used by inference (keep in sync with docs/contracts.md):
 *   dom (site.domain or app.bundle), pub (publisher id), dt (device type),
 *   os, ctry (geo country), sz ("300x250"), pos (banner pos), chan ("site"
 *   or "app"), cat (first site/app category), hr (hour of day, UTC).
 * For a campaign, the indices are: every request feature, every request
 * feature crossed with the campaign, and the campaign alone (its own bias).
 * Index = hash & (2^bits - 1). */
#ifndef BEAT_FEATURES_H
#define BEAT_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#define BEAT_HASH_BITS_DEFAULT 20
#define BEAT_HASH_SEED_DEFAULT 0x6265617466656174ULL /* "beatfeat" */
#define BEAT_FEAT_RAW_MAX 24                         /* request features kept per impression */

typedef struct beat_hash_params {
    uint32_t bits; /* 10..26 */
    uint64_t seed;
} beat_hash_params;

/* Request features as 64-bit hashes, before campaign crossing. */
typedef struct beat_feat_raw {
    uint64_t h[BEAT_FEAT_RAW_MAX];
    int n;
} beat_feat_raw;

void beat_feat_reset(beat_feat_raw *f);
/* f->n clamped to [0, BEAT_FEAT_RAW_MAX]: how many of f->h to read. */
static inline int beat_feat_count(const beat_feat_raw *f) {
    return f->n < 0 ? 0 : f->n > BEAT_FEAT_RAW_MAX ? BEAT_FEAT_RAW_MAX : f->n;
}
/* Adds hash(ns, value); silently ignores features beyond BEAT_FEAT_RAW_MAX
 * (callers add the most useful first). */
void beat_feat_add(beat_feat_raw *f, const beat_hash_params *p, const char *ns, const char *val,
                   size_t val_len);
void beat_feat_add_int(beat_feat_raw *f, const beat_hash_params *p, const char *ns, int64_t val);
uint64_t beat_feat_campaign_hash(const beat_hash_params *p, const char *id);
/* 2^bits - 1: index = hash & mask. */
uint32_t beat_feat_mask(const beat_hash_params *p);
/* One cross index: request feature hash × campaign hash. */
uint32_t beat_feat_cross_index(const beat_hash_params *p, uint64_t feat_hash,
                               uint64_t campaign_hash);
/* Writes 2*f->n + 1 indices (base, crosses, campaign) into out, at most
 * out_max; returns how many were written. */
int beat_feat_indices(const beat_hash_params *p, const beat_feat_raw *f, uint64_t campaign_hash,
                      uint32_t *out, int out_max);

#endif
