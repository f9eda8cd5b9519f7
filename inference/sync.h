/* The supervisor link (docs/architecture.md "The careful link"): one thread
 * that subscribes to the supervisor's pub socket (snapshots, checkpoints,
 * heartbeats), asks its rep socket on start, on version mismatch and after
 * heartbeat silence, and swaps validated worlds into the holder. Nothing here
 * is on the bid path; a dead or garbage-sending supervisor never stops
 * bidding on the last good world. */
#ifndef INF_SYNC_H
#define INF_SYNC_H

#include <stddef.h>
#include "model.h"

typedef struct inf_sync_cfg {
    const char *pub_url;       /* supervisor pub (we dial + subscribe) */
    const char *rep_url;       /* supervisor rep (we dial req) */
    size_t max_model_bytes;    /* checkpoint bound; sizes NNG_OPT_RECVMAXSZ */
    int req_timeout_ms;        /* 500 */
    int silence_ms;            /* heartbeats missing this long → re-request (3000) */
    int64_t max_clock_skew_ms; /* a state or model stamped further ahead of our
                                  clock is refused (beat_ts_ahead) */
    struct inf_leases *leases; /* each world's campaigns get their lease slot; NULL:
                                  leases not enforced (tests) */
    struct inf_opps *opps;     /* each world's campaigns get their opportunity
                                  slot (opps.h); NULL: not counted */
    struct inf_fcap *fcap;     /* 'F' frames are applied to it (fcap.h); NULL:
                                  ignored */
} inf_sync_cfg;

typedef struct inf_sync inf_sync;

/* Opens both sockets (dials are non-blocking) and starts the thread, which
 * publishes worlds into h (the sync thread is h's only writer).
 * NULL + *err on a bad URL or thread failure. */
inf_sync *inf_sync_start(const inf_sync_cfg *cfg, inf_holder *h, int *err);
/* Stops and joins the thread, closes the sockets. NULL is a no-op. The
 * holder (and its worlds) stay the caller's. */
void inf_sync_stop(inf_sync *s);

#endif
