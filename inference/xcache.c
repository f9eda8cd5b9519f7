/* Cross-weight cache (xcache.h). A row is (world id, feature hash) → one
 * float per campaign plus a bit set of which are filled; claiming a row for
 * a new key clears the bits (n/8 bytes), not the floats. Two-way sets with
 * least-recently-used replacement: the hot rows (size, country, hour…),
 * used by nearly every request, survive the stream of one-off domains and
 * publishers, which mostly evict each other. */
#include "xcache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
    uint64_t world, h; /* world 0: unused */
    uint64_t used;     /* tick of the last imp that used it */
    float *v;
    uint64_t *filled;
    int cap; /* campaigns v and filled have room for */
} row;

#define SETS (INF_XCACHE_ROWS / 2)

struct inf_xcache {
    row r[INF_XCACHE_ROWS]; /* set s: r[2s], r[2s + 1] */
    uint64_t tick, lookups, misses;
};

inf_xcache *inf_xcache_new(void) { return calloc(1, sizeof(inf_xcache)); }

void inf_xcache_free(inf_xcache *c) {
    if (!c) return;
    for (int i = 0; i < INF_XCACHE_ROWS; i++) {
        free(c->r[i].v);
        free(c->r[i].filled);
    }
    free(c);
}

static bool row_fit(row *r, int n) {
    if (r->cap >= n) return true;
    size_t words = ((size_t)n + 63) / 64;
    float *v = malloc((size_t)n * sizeof *v);
    uint64_t *f = malloc(words * sizeof *f);
    if (!v || !f) {
        free(v);
        free(f);
        return false;
    }
    free(r->v);
    free(r->filled);
    r->v = v;
    r->filled = f;
    r->cap = n;
    return true;
}

/* The row for h in w: its own if present, else the set's least recently
 * used one not already taken by this imp (NULL if both are). */
static row *claim(inf_xcache *c, const inf_world *w, uint64_t h) {
    row *set = &c->r[2 * ((h >> 32) % SETS)];
    for (int k = 0; k < 2; k++)
        if (set[k].world == w->id && set[k].h == h) {
            set[k].used = c->tick;
            return &set[k];
        }
    row *r = set[0].used <= set[1].used ? &set[0] : &set[1];
    if (r->used == c->tick) return NULL; /* both ways serve this imp */
    if (!row_fit(r, w->n)) {
        r->world = 0;
        return NULL;
    }
    memset(r->filled, 0, (((size_t)w->n + 63) / 64) * sizeof *r->filled);
    r->world = w->id;
    r->h = h;
    r->used = c->tick;
    return r;
}

void inf_xcache_rows(inf_xcache *c, const inf_world *w, const beat_feat_raw *raw, inf_xrow *rows) {
    int n = beat_feat_count(raw);
    if (c) c->tick++;
    for (int j = 0; j < n; j++) {
        row *r = c && w->n > 0 ? claim(c, w, raw->h[j]) : NULL;
        rows[j] = r ? (inf_xrow){r->v, r->filled} : (inf_xrow){NULL, NULL};
    }
}

void inf_xcache_fill(inf_xcache *c, const inf_world *w, const beat_feat_raw *raw, inf_xrow *rows,
                     const int *cis, int n, float spill[][BEAT_FEAT_RAW_MAX]) {
    const inf_model *m = w->model;
    const float *wt = m->ck.w;
    uint32_t dim = m->ck.h.dim;
    int nf = beat_feat_count(raw);
    uint32_t idx[INF_XCACHE_CHUNK][BEAT_FEAT_RAW_MAX];
    /* pass 1: the indices of what is missing, each load started */
    for (int k = 0; k < n; k++) {
        int ci = cis[k];
        uint64_t bit = 1ULL << (ci & 63);
        for (int j = 0; j < nf; j++) {
            const inf_xrow *r = &rows[j];
            if (r->v && (r->filled[ci >> 6] & bit)) {
                idx[k][j] = UINT32_MAX; /* cached */
                continue;
            }
            uint32_t x = beat_feat_cross_index(&m->hp, raw->h[j], w->camps[ci].hash);
            idx[k][j] = x;
            if (x < dim) __builtin_prefetch(&wt[x]);
            if (c) c->misses++;
        }
    }
    /* pass 2: the loads, by now arriving */
    for (int k = 0; k < n; k++) {
        int ci = cis[k];
        uint64_t bit = 1ULL << (ci & 63);
        for (int j = 0; j < nf; j++) {
            inf_xrow *r = &rows[j];
            uint32_t x = idx[k][j];
            if (r->v && x == UINT32_MAX) continue;
            /* as inf_model_pctr: an index out of range adds 0 */
            float v = x < dim ? wt[x] : 0.0f;
            if (r->v) {
                r->v[ci] = v;
                r->filled[ci >> 6] |= bit;
            } else {
                spill[k][j] = v;
            }
        }
    }
    if (c) c->lookups += (uint64_t)n * (uint64_t)nf;
}

double inf_xcache_score(const inf_world *w, double base, const beat_feat_raw *raw,
                        const inf_xrow *rows, int ci, const float *spill, double factor) {
    int nf = beat_feat_count(raw);
    double z = base;
    for (int j = 0; j < nf; j++) z += rows[j].v ? rows[j].v[ci] : spill[j];
    z += w->camps[ci].own_w;
    if (isfinite(factor)) z += factor;
    return inf_model_sigmoid(z);
}

void inf_xcache_stats(const inf_xcache *c, uint64_t *lookups, uint64_t *misses) {
    *lookups = c ? c->lookups : 0;
    *misses = c ? c->misses : 0;
}
