/* Read-only relay mode (--relay-from): subscribes to a primary supervisor's
 * pub socket and re-publishes the identical frames on its own pub/rep (via
 * sup_pub), so one primary can feed more inference nodes than one publisher
 * should. It never writes anything durable and never accepts writes. */
#ifndef SUP_RELAY_H
#define SUP_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include "beat_http.h"
#include "beat_util.h"
#include "publish.h"

typedef struct sup_relay sup_relay;

typedef struct sup_relay_cfg {
    const char *pub_url, *rep_url; /* the primary's */
    size_t recvmax;                /* largest frame accepted from the primary */
    int heartbeat_ms;              /* the primary's period: 3 missed → re-request */
} sup_relay_cfg;

/* Starts the subscriber thread (dials are non-blocking: the primary may
 * come up later). Borrows pub, which must outlive the relay. NULL and
 * *err on failure (logged). */
sup_relay *sup_relay_new(const sup_relay_cfg *cfg, sup_pub *pub, int *err);
/* Stops and joins the thread, drops the frames. NULL is a no-op. */
void sup_relay_free(sup_relay *r);

/* Current frames with a new reference each (caller unrefs), NULL if none. */
sup_frame *sup_relay_snapshot(sup_relay *r);
sup_frame *sup_relay_model(sup_relay *r, int64_t *version);

/* Routes the read side of the HTTP API (GETs answered from the relayed
 * frames, writes 403) on h. Borrows r. */
void sup_relay_routes(beat_http *h, sup_relay *r);

#endif
