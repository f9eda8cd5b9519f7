/* Budget leases on the bid path (docs/money.md "Budget leases"): per
 * campaign, what this node may bid (granted by the supervisor, cumulative)
 * and what it has bid (used, cumulative, counted here in CPM micros: a
 * bid's price is its own worst case). Workers take from a slot with one
 * atomic add; a lease thread reports used to the supervisor's lease socket
 * every interval and applies the grants it gets back. A dead or slow
 * supervisor never blocks bidding: nodes bid on what they hold, then stop. */
#ifndef INF_LEASE_H
#define INF_LEASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "beat_wire.h"

typedef struct inf_lease_slot {
    _Alignas(64) _Atomic int64_t used_cpm;
    _Atomic int64_t granted_cpm;
    char id[BEAT_ID_MAX + 1];
} inf_lease_slot;

/* Takes cpm from the slot if it fits what was granted. Two workers racing
 * for the last of a lease may both be refused, never both served. */
static inline bool inf_lease_take(inf_lease_slot *s, int64_t cpm) {
    int64_t u = atomic_fetch_add_explicit(&s->used_cpm, cpm, memory_order_relaxed) + cpm;
    if (u <= atomic_load_explicit(&s->granted_cpm, memory_order_relaxed)) return true;
    atomic_fetch_sub_explicit(&s->used_cpm, cpm, memory_order_relaxed);
    return false;
}
/* At least cpm left: the filter before scoring, with the campaign's max
 * bid, so that the take after the auction cannot fail but for a race (and
 * an imp is never lost to a winner whose lease is nearly empty). */
static inline bool inf_lease_open(const inf_lease_slot *s, int64_t cpm) {
    return atomic_load_explicit(&s->granted_cpm, memory_order_relaxed) -
               atomic_load_explicit(&s->used_cpm, memory_order_relaxed) >=
           cpm;
}

typedef struct inf_leases inf_leases;

typedef struct inf_lease_cfg {
    const char *url;   /* supervisor lease socket (we dial req); NULL = no link */
    const char *node;  /* this node's name */
    int every_ms;      /* report interval (1000) */
    int timeout_ms;    /* per round trip (500) */
    int max_campaigns; /* slots: ids ever seen (0 = 2 × BEAT_CAMPAIGNS_MAX) */
} inf_lease_cfg;

/* A table of cfg->max_campaigns slots and, if cfg->url is set, the lease
 * thread. The incarnation is random per call. NULL + *err on failure. */
inf_leases *inf_leases_start(const inf_lease_cfg *cfg, int *err);
/* Sends a final report (best effort, one round trip), stops the thread and
 * frees the table: no worker may use a slot after this. NULL: no-op. */
void inf_leases_stop(inf_leases *t);
/* The slot of campaign id, created on first use and stable for the
 * table's life. Single writer: the sync thread (world builds). When the
 * table is full (logged once) a shared slot that is never granted anything:
 * the campaign does not bid, rather than bid unbounded. */
inf_lease_slot *inf_leases_slot(inf_leases *t, const char *id);
uint64_t inf_leases_incarnation(const inf_leases *t);
/* Health: last successful round trip (0 = never) and grants received. */
int64_t inf_leases_last_ok_ms(const inf_leases *t);
/* Every campaign this node knows has been reported and answered at least
 * once (a node is not ready to bid before: it holds no lease). */
bool inf_leases_ready(const inf_leases *t);
/* One report → grant round trip now, on the caller's thread (tests and the
 * first grant at start). 0, or a negative code. */
int inf_leases_sync_once(inf_leases *t, bool final);

#endif
