/* Snapshots and worlds: decoding 'S' frames, building worlds from a model
 * and a snapshot (sync thread) and publishing them to the bidding threads
 * without locks. Readers announce the world they use in a per-thread hazard
 * slot and re-check the current pointer (classic hazard pointers, seq_cst);
 * the single writer retires the old world and frees it only when no slot
 * names it. A reader never blocks, allocates or frees here. */
#include "model.h"

#include <cblas.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "audience.h"
#include "rtpl.h"

inf_snap *inf_snap_new(beat_campaign_set *cs, beat_state *st, bool has_state) {
    inf_snap *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->refs = 1;
    s->cs = *cs;
    memset(cs, 0, sizeof *cs);
    if (st) {
        s->st = *st;
        memset(st, 0, sizeof *st);
    }
    s->has_state = has_state;
    return s;
}

int inf_snap_decode(const void *frame, size_t len, inf_snap **out, beat_reason *why) {
    beat_campaign_set cs;
    beat_state st;
    beat_exchange_set xs = {0};
    memset(&cs, 0, sizeof cs);
    memset(&st, 0, sizeof st);
    int rc = beat_snapshot_decode(frame, len, &cs, &st, &xs, why);
    if (rc < 0) return rc;
    /* The frame carries "state":null until an actuator posted one. */
    bool has_state = st.version != 0 || st.n > 0 || st.ts_ms != 0;
    inf_snap *s = inf_snap_new(&cs, &st, has_state);
    if (!s) {
        beat_campaigns_fini(&cs);
        beat_state_fini(&st);
        beat_exchanges_fini(&xs);
        return -ENOMEM;
    }
    s->xs = xs;
    *out = s;
    return 0;
}

void inf_snap_unref(inf_snap *s) {
    if (!s || --s->refs > 0) return;
    beat_campaigns_fini(&s->cs);
    beat_state_fini(&s->st);
    beat_exchanges_fini(&s->xs);
    free(s);
}

static int cmp_state_ptr(const void *a, const void *b) {
    const beat_state_campaign *x = *(const beat_state_campaign *const *)a;
    const beat_state_campaign *y = *(const beat_state_campaign *const *)b;
    return strcmp(x->id, y->id);
}

/* The bidding threads are the parallelism: an sgemv that spawned its own
 * threads would fight them for the cores. Set with the first model, of any
 * kind: OpenBLAS starts its pool when loaded, and idle pool threads spin
 * (sched_yield) for a while after any call, stealing slices from workers. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single_thread(void) { openblas_set_num_threads(1); }

inf_world *inf_world_build(inf_model *m, inf_snap *s) {
    if (m) pthread_once(&blas_once, blas_single_thread);
    inf_world *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    int n = s ? s->cs.n : 0;
    const beat_state_campaign **idx = NULL;
    int n_st = (s && s->has_state) ? s->st.n : 0;
    if (n > 0) {
        /* aligned so each campaign's hot 64 bytes are one cache line */
        w->camps = aligned_alloc(64, (size_t)n * sizeof *w->camps);
        if (w->camps) memset(w->camps, 0, (size_t)n * sizeof *w->camps);
        w->sizes = calloc((size_t)n * BEAT_CREATIVES_MAX, sizeof *w->sizes);
        idx = n_st > 0 ? malloc((size_t)n_st * sizeof *idx) : NULL;
        if (!w->camps || !w->sizes || (n_st > 0 && !idx)) {
            free(idx);
            inf_world_free(w); /* holds no references yet */
            return NULL;
        }
    }
    /* Sorted pointers into the state so the lookup below is n log n, not
     * n² over 10k campaigns. */
    for (int i = 0; i < n_st; i++) idx[i] = &s->st.c[i];
    if (n_st > 1) qsort(idx, (size_t)n_st, sizeof *idx, cmp_state_ptr);
    for (int i = 0; i < n; i++) {
        inf_camp *cp = &w->camps[i];
        const beat_campaign *c = &s->cs.c[i];
        cp->c = c;
        cp->n_creatives = c->n_creatives < BEAT_CREATIVES_MAX ? c->n_creatives : BEAT_CREATIVES_MAX;
        cp->rules = c->schain_complete || c->sellers.n || c->schedule.on;
        cp->opp_slot = -1; /* until the sync thread gives it one */
        cp->start_ms = c->start_ms;
        cp->end_ms = c->end_ms;
        cp->base_bid_cpm_micros = c->base_bid_cpm_micros;
        cp->max_bid_cpm_micros = c->max_bid_cpm_micros;
        cp->freq_cap_max = c->freq_cap_max;
        cp->id_hash = XXH3_64bits(c->id, strlen(c->id));
        cp->hash = m ? beat_feat_campaign_hash(&m->hp, c->id) : 0;
        if (m) {
            uint32_t own = (uint32_t)(cp->hash & beat_feat_mask(&m->hp));
            cp->own_w = own < m->ck.h.dim ? m->ck.w[own] : 0.0f;
        }
        cp->paused = c->paused;
        beat_state_campaign key, *kp = &key;
        memcpy(key.id, c->id, sizeof key.id);
        const beat_state_campaign **hit =
            n_st > 0 ? bsearch(&kp, idx, (size_t)n_st, sizeof *idx, cmp_state_ptr) : NULL;
        if (hit) {
            cp->in_state = true;
            cp->multiplier = (*hit)->multiplier;
            cp->paused = cp->paused || (*hit)->paused;
            if ((*hit)->has_curve) cp->win_curve = (*hit)->win_curve;
        }
        uint32_t *sz = w->sizes + (size_t)i * BEAT_CREATIVES_MAX;
        /* Banners whose size packs exactly; 0 (never an imp's key) for the
         * rest, so a key that matches is a banner of that very size and the
         * filter reads the creative only for battr (creative.c). */
        for (int k = 0; k < c->n_creatives && k < BEAT_CREATIVES_MAX; k++) {
            const beat_creative *cr = &c->creatives[k];
            bool packs = cr->format == BEAT_FMT_BANNER && cr->w > 0 && cr->w <= 0xffff &&
                         cr->h > 0 && cr->h <= 0xffff;
            sz[k] = packs ? ((uint32_t)cr->w << 16) | (uint32_t)cr->h : 0;
        }
        cp->sizes = sz;
    }
    free(idx);
    bool live[BEAT_CAMPAIGNS_MAX];
    for (int i = 0; i < n && i < BEAT_CAMPAIGNS_MAX; i++)
        live[i] = w->camps[i].in_state && !w->camps[i].paused && w->camps[i].multiplier > 0;
    w->tx = inf_tindex_build(s ? s->cs.c : NULL, live, n);
    if (!w->tx) {
        inf_world_free(w);
        return NULL;
    }
    /* U rows of this world's campaigns, contiguous: one sgemv scores them
     * all per imp. Campaigns beyond the set's order are never scored. */
    if (m && m->rank > 0 && n > 0) {
        w->fu = malloc((size_t)n * m->rank * sizeof *w->fu);
        if (!w->fu) {
            inf_world_free(w);
            return NULL;
        }
        for (int i = 0; i < n; i++)
            memcpy(w->fu + (size_t)i * m->rank,
                   m->U + (size_t)(w->camps[i].hash & m->factor_mask) * m->rank,
                   m->rank * sizeof *w->fu);
    }
    static _Atomic uint64_t next_id = 1;
    w->id = atomic_fetch_add(&next_id, 1);
    w->n = n;
    w->model = m;
    w->snap = s;
    if (m) m->refs++;
    if (s) s->refs++;
    /* geography and segments are enforced from the start; the sync thread
     * attaches the lists it holds */
    if (inf_aud_attach(w, NULL) < 0 || !(w->rtpl = inf_rtpl_build(w))) {
        inf_world_free(w);
        return NULL;
    }
    return w;
}

void inf_world_free(inf_world *w) {
    if (!w) return;
    inf_model_unref(w->model);
    inf_snap_unref(w->snap);
    free(w->camps);
    free(w->sizes);
    free(w->fu);
    inf_tindex_free(w->tx);
    inf_aud_free(w->aud);
    inf_rtpl_free(w->rtpl);
    free(w);
}

bool inf_world_factor_scores(const inf_world *w, const beat_feat_raw *raw, float *out, int out_cap,
                             bool blas) {
    const inf_model *m = w->model;
    if (!m || m->rank == 0 || !w->fu || w->n <= 0 || w->n > out_cap) return false;
    int r = (int)m->rank, nf = beat_feat_count(raw);
    float v[256];
    memset(v, 0, (size_t)r * sizeof *v);
    for (int i = 0; i < nf; i++) {
        const float *row = m->V + (size_t)(raw->h[i] & m->factor_mask) * r;
        for (int j = 0; j < r; j++) v[j] += row[j];
    }
    if (blas) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, w->n, r, 1.0f, w->fu, r, v, 1, 0.0f, out, 1);
        return true;
    }
    for (int i = 0; i < w->n; i++) {
        const float *u = w->fu + (size_t)i * r;
        float t = 0;
        for (int j = 0; j < r; j++) t += u[j] * v[j];
        out[i] = t;
    }
    return true;
}

/* ---- publication ---------------------------------------------------------- */

/* One cache line per slot: slots are written on every request by different
 * threads. */
typedef struct hazard_slot {
    _Atomic(const inf_world *) w;
    char pad[64 - sizeof(void *)];
} hazard_slot;

struct inf_holder {
    _Atomic(inf_world *) cur;
    int readers;
    hazard_slot *slots;
    inf_world *retired; /* writer-only list */
    _Atomic int64_t model_v, campaigns_v, state_v, model_ts, state_ts;
    _Atomic int n_campaigns, n_exchanges;
    _Atomic int64_t exchanges_v, segments_v;
    _Atomic int n_segment_lists;
    _Atomic bool has_model, has_state;
};

inf_holder *inf_holder_new(int readers) {
    inf_holder *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->readers = readers > 0 ? readers : 1;
    h->slots = calloc((size_t)h->readers, sizeof *h->slots);
    if (!h->slots) {
        free(h);
        return NULL;
    }
    for (int i = 0; i < h->readers; i++) atomic_init(&h->slots[i].w, NULL);
    atomic_init(&h->cur, NULL);
    return h;
}

void inf_holder_free(inf_holder *h) {
    if (!h) return;
    inf_world_free(atomic_load(&h->cur));
    while (h->retired) {
        inf_world *w = h->retired;
        h->retired = w->retired_next;
        inf_world_free(w);
    }
    free(h->slots);
    free(h);
}

const inf_world *inf_holder_acquire(inf_holder *h, int slot) {
    BEAT_ASSERT(slot >= 0 && slot < h->readers);
    for (;;) {
        inf_world *w = atomic_load(&h->cur);
        atomic_store(&h->slots[slot].w, w);
        /* If cur still equals w after the slot is visible, the writer's
         * reclaim (which scans slots after swapping cur) must see it. */
        if (atomic_load(&h->cur) == w) return w;
    }
}

void inf_holder_release(inf_holder *h, int slot) { atomic_store(&h->slots[slot].w, NULL); }

void inf_holder_publish(inf_holder *h, inf_world *w) {
    inf_world *old = atomic_exchange(&h->cur, w);
    if (old) {
        old->retired_next = h->retired;
        h->retired = old;
    }
    bool hm = w && w->model, hs = w && w->snap && w->snap->has_state;
    atomic_store(&h->model_v, hm ? w->model->version : 0);
    atomic_store(&h->model_ts, hm ? w->model->ck.h.ts_ms : 0);
    atomic_store(&h->campaigns_v, w && w->snap ? w->snap->cs.version : 0);
    atomic_store(&h->n_campaigns, w ? w->n : 0);
    atomic_store(&h->exchanges_v, w && w->snap ? w->snap->xs.version : 0);
    atomic_store(&h->n_exchanges, w && w->snap ? w->snap->xs.n : 0);
    atomic_store(&h->state_v, hs ? w->snap->st.version : 0);
    atomic_store(&h->state_ts, hs ? w->snap->st.ts_ms : 0);
    atomic_store(&h->has_model, hm);
    atomic_store(&h->has_state, hs);
    int64_t gv = 0;
    int gn = 0;
    inf_aud_segs(w ? w->aud : NULL, &gv, &gn);
    atomic_store(&h->segments_v, gv);
    atomic_store(&h->n_segment_lists, gn);
    inf_holder_reclaim(h);
}

static bool held_by_reader(inf_holder *h, const inf_world *w) {
    for (int i = 0; i < h->readers; i++)
        if (atomic_load(&h->slots[i].w) == w) return true;
    return false;
}

void inf_holder_reclaim(inf_holder *h) {
    inf_world **pp = &h->retired;
    while (*pp) {
        inf_world *w = *pp;
        if (held_by_reader(h, w)) {
            pp = &w->retired_next;
        } else {
            *pp = w->retired_next;
            inf_world_free(w);
        }
    }
}

inf_world *inf_holder_current(inf_holder *h) { return atomic_load(&h->cur); }

int inf_holder_retired(inf_holder *h) {
    int n = 0;
    for (inf_world *w = h->retired; w; w = w->retired_next) n++;
    return n;
}

void inf_holder_versions(inf_holder *h, inf_versions *out) {
    out->model_v = atomic_load(&h->model_v);
    out->campaigns_v = atomic_load(&h->campaigns_v);
    out->state_v = atomic_load(&h->state_v);
    out->model_ts_ms = atomic_load(&h->model_ts);
    out->state_ts_ms = atomic_load(&h->state_ts);
    out->n_campaigns = atomic_load(&h->n_campaigns);
    out->exchanges_v = atomic_load(&h->exchanges_v);
    out->n_exchanges = atomic_load(&h->n_exchanges);
    out->has_model = atomic_load(&h->has_model);
    out->has_state = atomic_load(&h->has_state);
    out->segments_v = atomic_load(&h->segments_v);
    out->n_segment_lists = atomic_load(&h->n_segment_lists);
}
