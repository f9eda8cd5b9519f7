/* Which exchange sent a bid request, decided from its head alone (headers
 * and peer address, common/beat_exchange.h) before its body is read, and
 * the per-exchange data of this node that outlives worlds: the QPS token
 * bucket shared by every worker, and the per-exchange bid-path metrics.
 * The gate runs on the HTTP worker threads and never blocks; slots are
 * created by the sync thread (or main at start) and never freed. */
#ifndef INF_EXCHANGE_H
#define INF_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>
#include "beat_exchange.h"
#include "beat_metrics.h"
#include "bidder.h"
#include "model.h"

#define INF_XSLOTS_MAX 1024  /* exchange ids one process ever sees; then refused */
#define INF_EXCH_OPEN "open" /* metric label of --open traffic */

enum { INF_OUT_BID, INF_OUT_NOBID, INF_OUT_BAD, INF_OUT_N };

typedef struct inf_xslot {
    char id[BEAT_ID_MAX + 1];
    beat_tbucket bucket;
    beat_counter *outcome[INF_OUT_N], *nobid[INF_NB_N], *bids, *imps_over, *qps_limited;
    beat_histogram *latency;
} inf_xslot;

/* The slot of exchange id (registering its metrics the first time), or NULL
 * when INF_XSLOTS_MAX ids were already seen (logged). Thread-safe; slow:
 * call when a world is built, not per request. */
inf_xslot *inf_xslot_get(const char *id);

/* Resolves the slots of every exchange of w's snapshot into w->xslot. */
void inf_exch_bind(inf_world *w);

/* The decision on one request head. code 0: admitted, slot and xi (index
 * into the world's exchange set; -1 in --open mode) name the exchange.
 * Otherwise the answer: 403 with reason (JSON body), or 204 with headers
 * (QPS cap, not ready yet). Counted in metrics here. */
typedef struct inf_exch_verdict {
    int code;
    const char *reason;  /* static text */
    const char *headers; /* static "Name: value\r\n" lines or NULL */
    inf_xslot *slot;
    int xi;
} inf_exch_verdict;

/* w: the worker's acquired world (may be NULL: no snapshot yet). open:
 * --open mode (everyone admitted as the "open" slot). */
void inf_exch_gate(const inf_world *w, bool open, const char *id, const char *key,
                   const struct sockaddr *peer, int64_t now_ns, inf_exch_verdict *out);

/* The exchange config of an admitted request in world w (which may be a
 * newer one than the gate saw), or NULL if it is no longer configured. */
const beat_exchange *inf_exch_find(const inf_world *w, const inf_xslot *slot, int xi);

/* Whether peer is inside the networks of an exchange of world w (NULL:
 * none): such a connection is not held to --max-conns-per-source. A scan
 * of every network; asked only for a connection over that cap. */
bool inf_exch_network_holds(const inf_world *w, const struct sockaddr *peer);

/* Registers the refusal counters (call once at start, before serving). */
void inf_exch_metrics_init(void);

/* Counts one answered bid request in its exchange's metrics (s NULL: only
 * in the node's totals): outcome INF_OUT_*, the no-bid reason when
 * INF_OUT_NOBID, bids answered, imps over the limit, latency since t0_us
 * (beat_mono_us). Lock-free. */
void inf_exch_done(inf_xslot *s, int outcome, inf_nobid reason, int bids, int imps_over,
                   int64_t t0_us);
/* The node's totals over every exchange (the stats log). */
typedef struct inf_exch_totals {
    uint64_t outcome[INF_OUT_N], bids, nobid[INF_NB_N], refused, qps_limited;
} inf_exch_totals;
void inf_exch_get_totals(inf_exch_totals *out);

#endif
