/* Opportunities per campaign (docs/contracts.md, the opp event): an imp of
 * a billable request where the campaign was a candidate — it passed
 * targeting, flight, seat, deals, creative fit and its supply-chain rules,
 * before frequency cap, budget lease and price. Each worker counts into its
 * own row (single writer, no contention); once a second a timer sums the
 * rows and hands one opp event per campaign with new opportunities to the
 * bid log. Counters are indexed by a slot per campaign id, stable for the
 * table's life, so a world swap loses nothing. */
#ifndef INF_OPPS_H
#define INF_OPPS_H

#include <stdatomic.h>
#include <stdint.h>

#include "beat_wire.h"

typedef struct inf_opps inf_opps;

/* Rows for workers ≥ 1, max_slots campaign ids ≥ 1. NULL on OOM/bad args. */
inf_opps *inf_opps_new(int workers, int max_slots);
void inf_opps_free(inf_opps *o); /* NULL: no-op; after every worker stopped */

/* The slot of campaign id, created on first use; -1 when the table is full
 * (logged once: that campaign's opportunities are not counted). Single
 * writer: the sync thread (world builds). */
int32_t inf_opps_slot(inf_opps *o, const char *id);

/* Worker's row (its idx < workers): pass to the bidder (inf_result.opps). */
_Atomic uint64_t *inf_opps_row(inf_opps *o, int worker);

/* One more opportunity in slot, on the worker that owns row. */
static inline void inf_opps_inc(_Atomic uint64_t *row, int32_t slot) {
    atomic_store_explicit(&row[slot], atomic_load_explicit(&row[slot], memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Sums the rows and calls emit with an opp event (node, ts now_ms) for
 * every campaign counted since the last call. One thread only (the
 * timer). Returns how many events it emitted. */
int inf_opps_collect(inf_opps *o, int64_t now_ms, const char *node,
                     void (*emit)(void *arg, const beat_event *ev), void *arg);

#endif
