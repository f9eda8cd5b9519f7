/* The receiver's heartbeats (docs/contracts.md "Heartbeats"): every
 * --heartbeat-ms an `hb` event into every partition of the topic, so that
 * datastream can tell "no notices were sent" from "no news": Kafka keeps
 * one producer's messages to a partition in order, so a heartbeat read
 * there says every notice this receiver queued for that partition before
 * it has been read too. A thread of its own: the partition count comes from
 * the broker's metadata (a blocking call, never on an event loop). */
#ifndef RCV_HEARTBEAT_H
#define RCV_HEARTBEAT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "beat_kafka.h"
#include "beat_metrics.h"

typedef struct rcv_hb {
    beat_kproducer *prod; /* borrowed */
    char node[65];
    int64_t every_ms;
    /* Events this receiver failed to deliver so far (cumulative): read on
     * the heartbeat thread; must be thread-safe. */
    int64_t (*lost)(void *arg);
    void *lost_arg;
    pthread_t thr;
    bool started;
    atomic_bool stop;
    _Atomic int32_t partitions; /* last known; 0 = not known yet */
    beat_counter *sent, *dropped;
} rcv_hb;

/* Starts the thread. 0 or a negative errno. */
int rcv_hb_start(rcv_hb *h, beat_kproducer *prod, const char *node, int64_t every_ms,
                 int64_t (*lost)(void *), void *lost_arg);
/* Stops the thread and, when bye, queues a last heartbeat with "bye":true
 * into every known partition (a graceful stop: readers drop this receiver
 * at once instead of waiting for it). Call before the producer is freed,
 * whose flush then delivers it. Safe on a never-started h. */
void rcv_hb_stop(rcv_hb *h, bool bye);

/* Encodes one heartbeat (the thread's and the tests' one definition). */
int rcv_hb_encode(const char *node, int64_t ts_ms, int64_t lost, bool bye, char *out, size_t cap,
                  size_t *len);

#endif
