/* A worker: one event-loop thread with its own HTTP server on the shared
 * listen address (SO_REUSEPORT when there are several) and the bid handler
 * that runs on it, from the exchange gate to the reply and the bid logs.
 * Each worker keeps its buffers, parse arena slice and caches between
 * requests: the bid path allocates nothing and never blocks on a peer. */
#ifndef INF_WORKER_H
#define INF_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "beat_http.h"
#include "beat_loop.h"
#include "beat_util.h"
#include "beat_wire.h"
#include "bidder.h"
#include "bidlog.h"
#include "gunzip.h"
#include "http.h"
#include "model.h"
#include "openrtb.h"
#include "opps.h"
#include "prof.h"
#include "xcache.h"

/* What every worker shares (main.c fills it from the flags before the
 * first worker starts, and it outlives them all). */
typedef struct inf_worker_cfg {
    inf_holder *holder; /* the current world */
    inf_bidder *bidder;
    inf_bidlog *bidlog;
    inf_opps *opps;          /* one row per worker */
    bool open;               /* --open: no exchange gate */
    bool explain;            /* --explain: X-Beat-Explain on every answer */
    int64_t tmax_reserve_ms; /* --tmax-reserve-ms, unless the exchange sets one */
    const char *listen;
    size_t max_body;
    int max_conns, read_timeout_ms, idle_timeout_ms;
    struct beat_srccap *srccap; /* --max-conns-per-source (borrowed) */
    beat_health_fn health;      /* /healthz detail + readiness */
    void *health_arg;
} inf_worker_cfg;

typedef struct inf_worker {
    int idx; /* also the hazard slot and the arena slice */
    const inf_worker_cfg *cfg;
    struct event_base *base;
    inf_http *http;
    beat_loop_timer *tick; /* stop watch */
    pthread_t thr;
    beat_buf resp, scratch;
    inf_gunzip *gz; /* Content-Encoding: gzip bodies, bounded by --max-body */
    inf_xcache *xc; /* this worker's cross-weight cache */
    inf_req req;
    inf_result res;
    beat_event ev;
    inf_prof prof;                         /* sampled phase CPU (prof.h) */
    char explain[INF_EXPLAIN_HDR_MAX + 1]; /* --explain: this answer's header */
} inf_worker;

/* The shading counters of the bid handler (once, at start-up). */
void inf_worker_metrics_init(void);
/* Sets up worker idx (zeroed memory) and its HTTP server on cfg->listen;
 * cfg must outlive the worker. 0, or a negative code: then the worker may
 * be partly set up, and inf_worker_fini releases what was. */
int inf_worker_init(inf_worker *w, int idx, const inf_worker_cfg *cfg, bool reuseport);
/* Frees what init set up; safe on a partly set up or zeroed worker. */
void inf_worker_fini(inf_worker *w);
/* Thread entry of workers ≥ 1 (worker 0 runs on the main thread): binds
 * the worker's arena slice and runs its loop until stopped. */
void *inf_worker_main(void *arg);

#endif
