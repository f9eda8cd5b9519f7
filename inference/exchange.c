/* Exchange gate and per-exchange slots of inference (exchange.h). The
 * gate runs on the worker threads for every bid request, after its head
 * and before its body: a lookup, at most one SHA-256 of the presented key
 * and one atomic token-bucket take; it never allocates or blocks. Slots
 * are registered rarely (a new exchange id) under a mutex and live until
 * exit, like the metrics they hold. */
#include "exchange.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "beat_log.h"

static struct {
    pthread_mutex_t mu;
    inf_xslot slots[INF_XSLOTS_MAX];
    int n;
    beat_counter *refused[BEAT_XM_N], *not_ready, *removed;
    /* node totals for the stats log (the metrics are per exchange) */
    _Atomic uint64_t outcome[INF_OUT_N], bids, nobid[INF_NB_N], n_refused, n_qps;
} X = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *const outs[INF_OUT_N] = {"bid", "nobid", "bad_request"};

static void slot_metrics(inf_xslot *s) {
    char name[192];
    for (int i = 0; i < INF_OUT_N; i++) {
        snprintf(name, sizeof name, "beat_inference_requests_total{exchange=\"%s\",outcome=\"%s\"}",
                 s->id, outs[i]);
        s->outcome[i] = beat_counter_new(name, "Bid requests by exchange and outcome");
    }
    for (int i = 1; i < INF_NB_N; i++) {
        snprintf(name, sizeof name, "beat_inference_nobid_total{exchange=\"%s\",reason=\"%s\"}",
                 s->id, inf_nobid_name((inf_nobid)i));
        s->nobid[i] = beat_counter_new(name, "No-bid answers by exchange and reason");
    }
    s->nobid[0] = s->nobid[INF_NB_NO_MATCH]; /* unreachable; keeps the index safe */
    snprintf(name, sizeof name, "beat_inference_bids_total{exchange=\"%s\"}", s->id);
    s->bids = beat_counter_new(name, "Bids answered (one per imp)");
    snprintf(name, sizeof name, "beat_inference_imps_over_limit_total{exchange=\"%s\"}", s->id);
    s->imps_over = beat_counter_new(name, "Imps beyond the per-request limit, not bid on");
    snprintf(name, sizeof name, "beat_inference_qps_limited_total{exchange=\"%s\"}", s->id);
    s->qps_limited = beat_counter_new(name, "Requests answered 204 over the exchange's "
                                            "per-node QPS cap");
    snprintf(name, sizeof name, "beat_inference_bid_latency_seconds{exchange=\"%s\"}", s->id);
    s->latency = beat_histogram_new(name, "Time to answer a bid request", beat_latency_bounds,
                                    beat_latency_nbounds);
}

inf_xslot *inf_xslot_get(const char *id) {
    pthread_mutex_lock(&X.mu);
    inf_xslot *s = NULL;
    for (int i = 0; i < X.n && !s; i++)
        if (strcmp(X.slots[i].id, id) == 0) s = &X.slots[i];
    if (!s && X.n < INF_XSLOTS_MAX) {
        s = &X.slots[X.n++];
        snprintf(s->id, sizeof s->id, "%s", id);
        slot_metrics(s);
    } else if (!s) {
        beat_log_rl(5000, BEAT_ERROR, "exchange_slots_full", "exchange=%s max=%d", id,
                    INF_XSLOTS_MAX);
    }
    pthread_mutex_unlock(&X.mu);
    return s;
}

void inf_exch_bind(inf_world *w) {
    if (!w || !w->snap) return;
    for (int i = 0; i < w->snap->xs.n; i++) w->xslot[i] = inf_xslot_get(w->snap->xs.x[i].id);
}

bool inf_exch_network_holds(const inf_world *w, const struct sockaddr *peer) {
    if (!w || !w->snap) return false;
    const beat_exchange_set *xs = &w->snap->xs;
    for (int i = 0; i < xs->n; i++)
        for (int k = 0; k < xs->x[i].n_nets; k++)
            if (beat_cidr_contains(&xs->x[i].nets[k], peer)) return true;
    return false;
}

void inf_exch_metrics_init(void) {
    char name[128];
    for (int i = 1; i < BEAT_XM_N; i++) {
        snprintf(name, sizeof name, "beat_inference_exchange_refused_total{reason=\"%s\"}",
                 beat_xmatch_name((beat_xmatch)i));
        X.refused[i] = beat_counter_new(name, "Bid requests refused (403): not from a "
                                              "configured exchange");
    }
    X.removed = beat_counter_new("beat_inference_exchange_refused_total{reason=\"removed\"}",
                                 "Bid requests refused (403): not from a configured exchange");
    X.not_ready = beat_counter_new("beat_inference_not_ready_total",
                                   "Bid requests answered 204 before the first snapshot "
                                   "(no exchange configuration yet)");
}

void inf_exch_gate(const inf_world *w, bool open, const char *id, const char *key,
                   const struct sockaddr *peer, int64_t now_ns, inf_exch_verdict *out) {
    static inf_xslot *_Atomic open_slot;
    memset(out, 0, sizeof *out);
    out->xi = -1;
    if (open) {
        inf_xslot *s = atomic_load_explicit(&open_slot, memory_order_acquire);
        if (!s) { /* first request only */
            s = inf_xslot_get(INF_EXCH_OPEN);
            atomic_store_explicit(&open_slot, s, memory_order_release);
        }
        out->slot = s;
        return;
    }
    if (!w || !w->snap) {
        /* No snapshot yet, so no way to tell an exchange from anyone else:
         * a no-bid that says why, as before the first model. */
        beat_counter_inc(X.not_ready);
        out->code = 204;
        out->headers = "X-Beat-Nobid-Reason: not_ready\r\n";
        return;
    }
    int xi = -1;
    beat_xmatch m = beat_exchange_match(&w->snap->xs, id, key, peer, &xi);
    if (m == BEAT_XM_OK && !w->xslot[xi]) m = BEAT_XM_UNKNOWN; /* slot table full */
    if (m != BEAT_XM_OK) {
        beat_counter_inc(X.refused[m]);
        atomic_fetch_add_explicit(&X.n_refused, 1, memory_order_relaxed);
        out->code = 403;
        out->reason = beat_xmatch_reason(m);
        return;
    }
    const beat_exchange *x = &w->snap->xs.x[xi];
    inf_xslot *s = w->xslot[xi];
    if (!beat_tbucket_take(&s->bucket, now_ns, x->qps, x->burst)) {
        beat_counter_inc(s->qps_limited);
        atomic_fetch_add_explicit(&X.n_qps, 1, memory_order_relaxed);
        out->code = 204;
        out->headers = "X-Beat-Nobid-Reason: qps\r\n";
        out->slot = s;
        return;
    }
    out->slot = s;
    out->xi = xi;
}

const beat_exchange *inf_exch_find(const inf_world *w, const inf_xslot *slot, int xi) {
    if (!w || !w->snap || !slot) return NULL;
    const beat_exchange_set *xs = &w->snap->xs;
    if (xi >= 0 && xi < xs->n && w->xslot[xi] == slot) return &xs->x[xi];
    for (int i = 0; i < xs->n; i++) /* a newer world: look it up again */
        if (w->xslot[i] == slot) return &xs->x[i];
    beat_counter_inc(X.removed);
    return NULL;
}

void inf_exch_done(inf_xslot *s, int outcome, inf_nobid reason, int bids, int imps_over,
                   int64_t t0_us) {
    atomic_fetch_add_explicit(&X.outcome[outcome], 1, memory_order_relaxed);
    if (outcome == INF_OUT_NOBID)
        atomic_fetch_add_explicit(&X.nobid[reason], 1, memory_order_relaxed);
    if (bids) atomic_fetch_add_explicit(&X.bids, (uint64_t)bids, memory_order_relaxed);
    if (!s) return;
    beat_counter_inc(s->outcome[outcome]);
    if (outcome == INF_OUT_NOBID) beat_counter_inc(s->nobid[reason]);
    if (bids) beat_counter_add(s->bids, (uint64_t)bids);
    if (imps_over > 0) beat_counter_add(s->imps_over, (uint64_t)imps_over);
    beat_histogram_observe(s->latency, (double)(beat_mono_us() - t0_us) / 1e6);
}

void inf_exch_get_totals(inf_exch_totals *out) {
    for (int i = 0; i < INF_OUT_N; i++) out->outcome[i] = atomic_load(&X.outcome[i]);
    for (int i = 0; i < INF_NB_N; i++) out->nobid[i] = atomic_load(&X.nobid[i]);
    out->bids = atomic_load(&X.bids);
    out->refused = atomic_load(&X.n_refused);
    out->qps_limited = atomic_load(&X.n_qps);
}
