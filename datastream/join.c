/* Join table: (auction, imp) → what was seen, for --join-window-ms from first
 * sight, at most --max-open-auctions entries (oldest evicted). Closed keys
 * move to a two-generation hash set of 64-bit key hashes with their flags,
 * kept one to two windows, so late duplicates are still caught. Owned and
 * called only by the consumer thread (stream.c); it decides nothing about
 * aggregates or samples, it only keeps state and says when entries close. */
#include "join.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct closed_slot {
    uint64_t key; /* 0 = empty */
    uint16_t flags;
} closed_slot;

typedef struct closed_gen {
    closed_slot *s;
    int64_t n;
} closed_gen;

struct dst_join {
    int64_t max_open, window_ms, n_open;
    dst_entry **tab;
    uint64_t tab_mask;
    dst_entry *head, *tail; /* oldest first */
    dst_close_fn fn;
    void *arg;
    /* closed set: cur is filled, prev only read; rotated every window or
     * when cur reaches half its slots. */
    closed_gen gen[2];
    int cur;
    uint64_t cmask;
    int64_t climit, gen_start_ms;
};

static uint64_t pow2_at_least(uint64_t v) {
    uint64_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

dst_join *dst_join_new(int64_t max_open, int64_t window_ms, dst_close_fn fn, void *arg) {
    if (max_open < 1 || max_open > (1LL << 30) || window_ms < 1) return NULL;
    dst_join *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->max_open = max_open;
    j->window_ms = window_ms;
    j->fn = fn;
    j->arg = arg;
    uint64_t tsz = pow2_at_least((uint64_t)max_open);
    j->tab = calloc(tsz, sizeof *j->tab);
    j->tab_mask = tsz - 1;
    uint64_t csz = pow2_at_least((uint64_t)max_open * 2);
    if (csz < 1024) csz = 1024;
    j->cmask = csz - 1;
    j->climit = (int64_t)(csz / 2);
    j->gen[0].s = calloc(csz, sizeof(closed_slot));
    j->gen[1].s = calloc(csz, sizeof(closed_slot));
    j->gen_start_ms = INT64_MIN;
    if (!j->tab || !j->gen[0].s || !j->gen[1].s) {
        dst_join_free(j);
        return NULL;
    }
    return j;
}

static void entry_free(dst_entry *e) {
    free(e->feat);
    free(e);
}

void dst_join_free(dst_join *j) {
    if (!j) return;
    for (dst_entry *e = j->head, *n; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    free(j->tab);
    free(j->gen[0].s);
    free(j->gen[1].s);
    free(j);
}

uint64_t dst_join_key(const char *auction, const char *imp) {
    char buf[2 * (BEAT_ID_MAX + 1)];
    size_t a = strnlen(auction, BEAT_ID_MAX), i = strnlen(imp, BEAT_ID_MAX);
    memcpy(buf, auction, a);
    buf[a] = '\0'; /* separates: ("a1","2") differs from ("a","12") */
    memcpy(buf + a + 1, imp, i);
    uint64_t k = XXH3_64bits(buf, a + 1 + i);
    return k ? k : 1; /* 0 marks an empty closed slot */
}

dst_entry *dst_join_find(dst_join *j, uint64_t key) {
    for (dst_entry *e = j->tab[key & j->tab_mask]; e; e = e->hnext)
        if (e->key == key) return e;
    return NULL;
}

/* ---- closed set ------------------------------------------------------------ */

static closed_slot *gen_find(dst_join *j, closed_gen *g, uint64_t key) {
    for (uint64_t i = key & j->cmask;; i = (i + 1) & j->cmask) {
        if (g->s[i].key == key) return &g->s[i];
        if (g->s[i].key == 0) return NULL;
    }
}

static void rotate(dst_join *j, int64_t now_ms) {
    j->cur ^= 1;
    closed_gen *g = &j->gen[j->cur];
    memset(g->s, 0, (j->cmask + 1) * sizeof(closed_slot));
    g->n = 0;
    j->gen_start_ms = now_ms;
}

static void age(dst_join *j, int64_t now_ms) {
    if (j->gen_start_ms == INT64_MIN) j->gen_start_ms = now_ms;
    else if (now_ms - j->gen_start_ms >= j->window_ms) rotate(j, now_ms);
}

bool dst_join_closed_get(dst_join *j, uint64_t key, uint16_t *flags) {
    closed_slot *s = gen_find(j, &j->gen[j->cur], key);
    if (!s) s = gen_find(j, &j->gen[j->cur ^ 1], key);
    if (!s) return false;
    *flags = s->flags;
    return true;
}

void dst_join_closed_put(dst_join *j, uint64_t key, uint16_t flags, int64_t now_ms) {
    age(j, now_ms);
    closed_gen *g = &j->gen[j->cur];
    closed_slot *s = gen_find(j, g, key);
    if (s) {
        s->flags = flags;
        return;
    }
    /* Full generation: rotate early rather than grow (bounded memory); the
     * older generation is forgotten sooner, never the newest keys. */
    if (g->n >= j->climit) {
        rotate(j, now_ms);
        g = &j->gen[j->cur];
    }
    uint64_t i = key & j->cmask;
    while (g->s[i].key != 0) i = (i + 1) & j->cmask;
    g->s[i].key = key;
    g->s[i].flags = flags;
    g->n++;
}

int64_t dst_join_closed_count(const dst_join *j) { return j->gen[0].n + j->gen[1].n; }

/* ---- open entries ---------------------------------------------------------- */

static void unlink_entry(dst_join *j, dst_entry *e) {
    dst_entry **pp = &j->tab[e->key & j->tab_mask];
    while (*pp != e) pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->prev) e->prev->next = e->next;
    else j->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else j->tail = e->prev;
    j->n_open--;
}

static void close_entry(dst_join *j, dst_entry *e, dst_close_reason why, int64_t now_ms) {
    if (j->fn) j->fn(j->arg, e, why);
    unlink_entry(j, e);
    dst_join_closed_put(j, e->key, e->flags, now_ms);
    entry_free(e);
}

dst_entry *dst_join_insert(dst_join *j, uint64_t key, int32_t partition, int64_t now_ms) {
    if (j->n_open >= j->max_open && j->head) close_entry(j, j->head, DST_CLOSE_EVICTED, now_ms);
    dst_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->key = key;
    e->partition = partition;
    e->first_ms = now_ms;
    uint64_t b = key & j->tab_mask;
    e->hnext = j->tab[b];
    j->tab[b] = e;
    e->prev = j->tail;
    if (j->tail) j->tail->next = e;
    else j->head = e;
    j->tail = e;
    j->n_open++;
    return e;
}

int dst_join_set_feat(dst_entry *e, const uint32_t *feat, uint32_t n) {
    if (n > BEAT_FEAT_MAX) n = BEAT_FEAT_MAX;
    uint32_t *f = NULL;
    if (n) {
        f = malloc(sizeof *f * n);
        if (!f) return -ENOMEM;
        memcpy(f, feat, sizeof *f * n);
    }
    free(e->feat);
    e->feat = f;
    e->n_feat = (uint16_t)n;
    return 0;
}

void dst_join_expire(dst_join *j, int64_t now_ms) {
    age(j, now_ms);
    /* first_ms is non-decreasing along the list unless the wall clock
     * stepped back; then entries wait a little longer, which is harmless. */
    while (j->head && now_ms - j->head->first_ms >= j->window_ms)
        close_entry(j, j->head, DST_CLOSE_EXPIRED, now_ms);
}

int64_t dst_join_drop_partitions(dst_join *j, const int32_t *parts, int n, int64_t now_ms) {
    if (n <= 0) return 0;
    int64_t dropped = 0;
    for (dst_entry *e = j->head, *nx; e; e = nx) {
        nx = e->next;
        for (int i = 0; i < n; i++) {
            if (e->partition == parts[i]) {
                close_entry(j, e, DST_CLOSE_REVOKED, now_ms);
                dropped++;
                break;
            }
        }
    }
    return dropped;
}

int64_t dst_join_open(const dst_join *j) { return j->n_open; }
