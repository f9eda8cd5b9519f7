/* Global cap counts and bids in flight (fcap.h). The global rows live in
 * a beat_fcap table behind a rwlock: the sync thread writes a frame's
 * rows at once, workers look one row up per capped candidate. Bids in
 * flight are 64-bit atomic slots, direct-mapped by (campaign, key): a
 * 32-bit tag and the low 32 bits of the bid time (ms). A colliding pair
 * overwrites the slot (the other's bid is then no longer in flight: the
 * bound may be exceeded by one more, rarely); a tag collision (2^-32)
 * holds a bid back until its in-flight time ends. Never blocks beyond the
 * read lock, never allocates after start. */
#include "fcap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "beat_clock.h"
#include "beat_fcap.h"
#include "beat_metrics.h"

struct inf_fcap {
    inf_fcap_cfg cfg;
    pthread_rwlock_t mu;
    beat_fcap_tab *tab;
    beat_fcap_row *scratch; /* BEAT_FCAP_FRAME_ROWS: a frame decoded (sync thread) */
    _Atomic uint64_t *slots;
    uint64_t mask;
    _Atomic int64_t last_complete_mono; /* INT64_MIN: none yet */
    _Atomic int64_t frames, bad_frames, evicted, local_decisions;
};

inf_fcap *inf_fcap_new(const inf_fcap_cfg *cfg) {
    int lg = cfg->inflight_log2 > 0 && cfg->inflight_log2 <= 26 ? cfg->inflight_log2 : 18;
    inf_fcap *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->cfg = *cfg;
    f->tab = beat_fcap_tab_new(cfg->rows_max);
    f->scratch = calloc(BEAT_FCAP_FRAME_ROWS, sizeof *f->scratch);
    f->slots = calloc((size_t)1 << lg, sizeof *f->slots);
    if (!f->tab || !f->scratch || !f->slots) {
        beat_fcap_tab_free(f->tab);
        free(f->scratch);
        free((void *)f->slots);
        free(f);
        return NULL;
    }
    f->mask = ((uint64_t)1 << lg) - 1;
    pthread_rwlock_init(&f->mu, NULL);
    atomic_init(&f->last_complete_mono, INT64_MIN);
    return f;
}

void inf_fcap_free(inf_fcap *f) {
    if (!f) return;
    pthread_rwlock_destroy(&f->mu);
    beat_fcap_tab_free(f->tab);
    free(f->scratch);
    free((void *)f->slots);
    free(f);
}

int inf_fcap_apply(inf_fcap *f, const uint8_t *frame, size_t len, int64_t now_ms, int64_t mono_ms,
                   beat_reason *why) {
    int64_t ts;
    int n;
    if (beat_fcap_frame_decode(frame, len, &ts, f->scratch, BEAT_FCAP_FRAME_ROWS, &n, why) != 0) {
        atomic_fetch_add(&f->bad_frames, 1);
        return -EBADMSG;
    }
    int64_t ev = 0;
    pthread_rwlock_wrlock(&f->mu);
    for (int i = 0; i < n; i++) {
        const beat_fcap_row *in = &f->scratch[i];
        bool e;
        beat_fcap_row *r = beat_fcap_tab_upsert(f->tab, in->camp, in->key, in->win_start_ms,
                                                in->window_s, now_ms, &e);
        ev += e;
        /* counts only grow within a window: a late or re-sent row never
         * takes impressions back */
        if (in->count >= r->count) {
            r->count = in->count;
            for (int k = 0; k < BEAT_FCAP_RECENT; k++) r->recent[k] = in->recent[k];
        }
    }
    pthread_rwlock_unlock(&f->mu);
    atomic_fetch_add(&f->frames, 1);
    if (ev) atomic_fetch_add(&f->evicted, ev);
    if (frame[2] & 1) atomic_store(&f->last_complete_mono, mono_ms);
    return 0;
}

static uint64_t slot_hash(uint64_t camp, uint64_t key) {
    uint64_t h = (camp ^ 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL ^ key;
    return h ^ (h >> 31);
}

bool inf_fcap_allow(inf_fcap *f, uint64_t camp, uint64_t key, int max, int32_t window_s, int local,
                    int64_t now_ms, int64_t mono_ms, uint64_t *seen) {
    uint64_t h = slot_hash(camp, key);
    uint64_t v = atomic_load_explicit(&f->slots[h & f->mask], memory_order_relaxed);
    *seen = v;
    int64_t last = atomic_load_explicit(&f->last_complete_mono, memory_order_relaxed);
    bool fresh = last != INT64_MIN && mono_ms - last <= f->cfg.stale_ms;
    if (!fresh) {
        atomic_fetch_add_explicit(&f->local_decisions, 1, memory_order_relaxed);
        return inf_fcap_decide(false, 0, false, local, max);
    }
    /* The window is engine time; in-flight stamps stay wall ms (a bid's
     * identity), so the window's start is compared in wall ms too. */
    int64_t start = beat_fcap_win_start(beat_engine_of_wall_ms(now_ms), window_s);
    int64_t start_wall = beat_wall_of_engine_ms(start);
    uint32_t global = 0;
    beat_fcap_row row = {0};
    pthread_rwlock_rdlock(&f->mu);
    const beat_fcap_row *r = beat_fcap_tab_find(f->tab, camp, key, start);
    if (r) row = *r;
    pthread_rwlock_unlock(&f->mu);
    global = row.count;
    bool inflight = false;
    if (v && (uint32_t)(v >> 32) == (uint32_t)(h >> 32)) {
        uint32_t t = (uint32_t)v, age = (uint32_t)now_ms - t;
        /* in flight: recent enough, in this window, and not yet seen counted */
        inflight = age < (uint64_t)f->cfg.inflight_ms && age <= (uint64_t)(now_ms - start_wall) &&
                   !beat_fcap_row_has(&row, t);
    }
    return inf_fcap_decide(true, global, inflight, local, max);
}

bool inf_fcap_take(inf_fcap *f, uint64_t camp, uint64_t key, int64_t now_ms, uint64_t seen) {
    uint64_t h = slot_hash(camp, key);
    uint64_t nv = (h >> 32 << 32) | (uint32_t)now_ms;
    /* From what allow saw: a worker that bid on the same pair since then
     * changed the slot, and this bid must not go out as a second one. */
    return atomic_compare_exchange_strong_explicit(&f->slots[h & f->mask], &seen, nv,
                                                   memory_order_relaxed, memory_order_relaxed);
}

void inf_fcap_untake(inf_fcap *f, uint64_t camp, uint64_t key, int64_t now_ms, uint64_t seen) {
    uint64_t h = slot_hash(camp, key);
    uint64_t mine = (h >> 32 << 32) | (uint32_t)now_ms;
    atomic_compare_exchange_strong_explicit(&f->slots[h & f->mask], &mine, seen,
                                            memory_order_relaxed, memory_order_relaxed);
}

static double age_fn(void *arg) {
    inf_fcap_stats st;
    inf_fcap_stats_get(arg, beat_mono_ms(), &st);
    return st.frame_age_s;
}

static double rows_fn(void *arg) {
    inf_fcap_stats st;
    inf_fcap_stats_get(arg, beat_mono_ms(), &st);
    return (double)st.rows;
}

static double local_fn(void *arg) {
    inf_fcap_stats st;
    inf_fcap_stats_get(arg, beat_mono_ms(), &st);
    return (double)st.local_decisions;
}

static double evicted_fn(void *arg) {
    inf_fcap_stats st;
    inf_fcap_stats_get(arg, beat_mono_ms(), &st);
    return (double)st.evicted;
}

void inf_fcap_metrics_init(inf_fcap *f) {
    beat_gauge_fn_new("beat_inference_fcap_frame_age_seconds",
                      "Since the last complete frequency-cap frame from the supervisor; -1 if "
                      "none yet (older than --fcap-stale-ms: caps use this node's counts)",
                      age_fn, f);
    beat_gauge_fn_new("beat_inference_fcap_rows", "Global frequency-cap rows held (of --fcap-rows)",
                      rows_fn, f);
    beat_gauge_fn_new("beat_inference_fcap_local_decisions",
                      "Cap decisions made on this node's own counts (no current frame), "
                      "cumulative",
                      local_fn, f);
    beat_gauge_fn_new("beat_inference_fcap_evicted",
                      "Global cap rows of an open window dropped "
                      "(--fcap-rows reached), cumulative",
                      evicted_fn, f);
}

void inf_fcap_stats_get(inf_fcap *f, int64_t mono_ms, inf_fcap_stats *st) {
    int64_t last = atomic_load(&f->last_complete_mono);
    pthread_rwlock_rdlock(&f->mu);
    st->rows = beat_fcap_tab_rows(f->tab);
    pthread_rwlock_unlock(&f->mu);
    st->frame_age_s = last == INT64_MIN ? -1 : (double)(mono_ms - last) / 1000.0;
    st->frames = atomic_load(&f->frames);
    st->bad_frames = atomic_load(&f->bad_frames);
    st->evicted = atomic_load(&f->evicted);
    st->local_decisions = atomic_load(&f->local_decisions);
}
