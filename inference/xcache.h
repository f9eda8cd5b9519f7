/* Per-worker cache of cross weights: for a request feature f and campaign i
 * of a world, the model's weight of the cross (f, campaign i). Most request
 * features take few values (size, position, channel, device type, OS,
 * country, hour, category), so once warm a campaign's crosses are read from
 * a few small contiguous rows instead of being hashed and fetched at random
 * from a model of megabytes. Rows fill lazily, campaign by campaign, so a
 * feature value seen once (a new domain) costs what an uncached lookup
 * costs. Keyed by world id: a new world (model, campaigns or state) starts
 * cold. Two-way set-associative, least recently used out. One cache per
 * worker thread: no locks. Scores are bit-identical to inf_model_pctr. */
#ifndef INF_XCACHE_H
#define INF_XCACHE_H

#include <stdint.h>
#include "model.h"

#define INF_XCACHE_ROWS 128

typedef struct inf_xrow {
    float *v;          /* weight per campaign; NULL: this feature is uncached */
    uint64_t *filled;  /* bit i: v[i] holds campaign i's weight */
} inf_xrow;

typedef struct inf_xcache inf_xcache;

/* Caller owns the cache (inf_xcache_free); rows are allocated on first
 * use, n campaigns × (4 bytes + 1 bit) each. NULL on OOM. */
inf_xcache *inf_xcache_new(void);
void inf_xcache_free(inf_xcache *c);

/* rows[j] for raw->h[j] under w (whose model is set), claiming rows as
 * needed. A feature left uncached ({NULL}): c NULL, out of memory, or its
 * set's two rows taken by other features of the imp. Valid until the next
 * call. */
void inf_xcache_rows(inf_xcache *c, const inf_world *w, const beat_feat_raw *raw,
                     inf_xrow *rows);

/* pCTR of campaign ci of w: base (inf_model_logit_base) + its crosses
 * through rows (from this cache, or NULL) + its own weight + factor. Equal
 * to inf_model_pctr's. */
double inf_xcache_pctr(inf_xcache *c, const inf_world *w, double base,
                       const beat_feat_raw *raw, inf_xrow *rows, int ci, double factor);

/* Lookups and misses so far (tests, metrics). */
void inf_xcache_stats(const inf_xcache *c, uint64_t *lookups, uint64_t *misses);

#endif
