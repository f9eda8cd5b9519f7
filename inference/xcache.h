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
    float *v;         /* weight per campaign; NULL: this feature is uncached */
    uint64_t *filled; /* bit i: v[i] holds campaign i's weight */
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
void inf_xcache_rows(inf_xcache *c, const inf_world *w, const beat_feat_raw *raw, inf_xrow *rows);

/* Scoring a chunk of candidates: inf_xcache_fill puts the cross weights of
 * campaigns cis[0..n) (n ≤ INF_XCACHE_CHUNK) into rows, computing every
 * missing one first and starting its load before storing any, so the
 * chunk's cache misses into the model overlap instead of queueing; weights
 * of uncached features go to spill[k] for cis[k]. Then inf_xcache_score
 * gives campaign ci's pCTR (spill: its spill row): base
 * (inf_model_logit_base) + its crosses + its own weight + factor, equal to
 * inf_model_pctr's. */
#define INF_XCACHE_CHUNK 32
void inf_xcache_fill(inf_xcache *c, const inf_world *w, const beat_feat_raw *raw, inf_xrow *rows,
                     const int *cis, int n, float spill[][BEAT_FEAT_RAW_MAX]);
double inf_xcache_score(const inf_world *w, double base, const beat_feat_raw *raw,
                        const inf_xrow *rows, int ci, const float *spill, double factor);

/* Lookups and misses so far (what the tests check the hit rate with). */
void inf_xcache_stats(const inf_xcache *c, uint64_t *lookups, uint64_t *misses);

#endif
