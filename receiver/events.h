/* The receiver's one outbound link: events to Kafka, keyed by auction id. */
#ifndef RCV_EVENTS_H
#define RCV_EVENTS_H

#include <stdint.h>

#include "beat_kafka.h"
#include "beat_metrics.h"
#include "beat_util.h"
#include "beat_wire.h"

#define RCV_EVENT_MAX 16384 /* bytes of one encoded event */

typedef struct rcv_events {
    beat_kproducer *prod; /* NULL: every send is dropped and counted */
    beat_counter *dropped, *delivered, *delivery_errors, *encode_errors;
    uint64_t synced_delivered, synced_errors; /* owned by the sync caller */
} rcv_events;

/* Registers the Kafka metrics. prod may be NULL (tests); takes no
 * ownership: the caller frees the producer after the last send. */
void rcv_events_init(rcv_events *e, beat_kproducer *prod);
/* Encodes ev into scratch (the calling thread's own buffer, max ≥
 * RCV_EVENT_MAX) and hands it to the producer keyed by ev->auction.
 * Never blocks: 0, or a negative code when the event was dropped (counted). */
int rcv_events_send(rcv_events *e, const beat_event *ev, beat_buf *scratch);
/* Copies the producer's delivery counts into the metrics. Call from one
 * thread only (the main loop's timer). */
void rcv_events_sync(rcv_events *e);
/* Current producer stats (zeros without a producer). */
void rcv_events_stats(rcv_events *e, beat_kproducer_stats *out);

#endif
