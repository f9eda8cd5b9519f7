/* Opportunity counters (opps.h): a slot table by campaign id written by the
 * sync thread, worker rows written each by its worker, and a collector that
 * sends what is new once a second. Rows are padded apart so that workers
 * never write the same cache line. */
#include "opps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "beat_log.h"

struct inf_opps {
    int workers, max;
    int64_t stride;               /* counters per row, a multiple of 8 (64 bytes) */
    _Atomic uint64_t *rows;       /* workers × stride */
    _Atomic int n;                /* slots in use: an id is written before n moves */
    char (*ids)[BEAT_ID_MAX + 1]; /* max */
    int32_t *hash;                /* open addressing over ids: slot + 1, 0 = free */
    uint64_t hmask;
    uint64_t *sent; /* per slot: the sum already sent (collector) */
    bool full_logged;
};

inf_opps *inf_opps_new(int workers, int max_slots) {
    if (workers < 1 || max_slots < 1 || max_slots > (1 << 24)) return NULL;
    inf_opps *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->workers = workers;
    o->max = max_slots;
    o->stride = ((int64_t)max_slots + 7) / 8 * 8;
    uint64_t hs = 16;
    while (hs < (uint64_t)max_slots * 2) hs <<= 1;
    o->hmask = hs - 1;
    size_t bytes = (size_t)workers * (size_t)o->stride * sizeof *o->rows;
    o->rows = aligned_alloc(64, bytes);
    o->ids = calloc((size_t)max_slots, sizeof *o->ids);
    o->hash = calloc(hs, sizeof *o->hash);
    o->sent = calloc((size_t)max_slots, sizeof *o->sent);
    if (!o->rows || !o->ids || !o->hash || !o->sent) {
        inf_opps_free(o);
        return NULL;
    }
    memset(o->rows, 0, bytes);
    return o;
}

void inf_opps_free(inf_opps *o) {
    if (!o) return;
    free(o->rows);
    free(o->ids);
    free(o->hash);
    free(o->sent);
    free(o);
}

int32_t inf_opps_slot(inf_opps *o, const char *id) {
    if (!o || !id || !id[0] || strlen(id) > BEAT_ID_MAX) return -1;
    uint64_t i = XXH3_64bits(id, strlen(id)) & o->hmask;
    for (; o->hash[i]; i = (i + 1) & o->hmask)
        if (strcmp(o->ids[o->hash[i] - 1], id) == 0) return o->hash[i] - 1;
    int n = atomic_load_explicit(&o->n, memory_order_relaxed);
    if (n == o->max) {
        if (!o->full_logged)
            beat_log(BEAT_WARN, "opps_table_full", "max=%d campaign=%s", o->max, id);
        o->full_logged = true;
        return -1;
    }
    strcpy(o->ids[n], id);
    o->hash[i] = n + 1;
    atomic_store_explicit(&o->n, n + 1, memory_order_release); /* the id first */
    return n;
}

_Atomic uint64_t *inf_opps_row(inf_opps *o, int worker) {
    if (!o || worker < 0 || worker >= o->workers) return NULL;
    return o->rows + (size_t)worker * (size_t)o->stride;
}

int inf_opps_collect(inf_opps *o, int64_t now_ms, const char *node,
                     void (*emit)(void *arg, const beat_event *ev), void *arg) {
    if (!o) return 0;
    int n = atomic_load_explicit(&o->n, memory_order_acquire), out = 0;
    beat_event ev;
    for (int s = 0; s < n; s++) {
        uint64_t sum = 0;
        for (int w = 0; w < o->workers; w++)
            sum += atomic_load_explicit(&o->rows[(size_t)w * (size_t)o->stride + (size_t)s],
                                        memory_order_relaxed);
        if (sum == o->sent[s]) continue;
        memset(&ev, 0, sizeof ev);
        ev.type = BEAT_EV_OPP;
        ev.ts_ms = now_ms;
        ev.opps = (int64_t)(sum - o->sent[s]);
        snprintf(ev.node, sizeof ev.node, "%s", node ? node : "");
        memcpy(ev.campaign, o->ids[s], sizeof ev.campaign);
        o->sent[s] = sum;
        emit(arg, &ev);
        out++;
    }
    return out;
}
