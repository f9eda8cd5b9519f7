/* Producer wiring of the receiver: encodes beat_events and hands them to
 * beat_kproducer keyed by auction id (docs/contracts.md "Events on Kafka"),
 * and mirrors the producer's counts into /metrics. Called from the HTTP
 * workers and the bid-log thread; it must never block or wait for Kafka — a
 * refused event is counted and forgotten (at-most-once). */
#include "events.h"

#include <errno.h>
#include <string.h>

#include "beat_log.h"

static double queue_len(void *arg) {
    rcv_events *e = arg;
    beat_kproducer_stats st;
    rcv_events_stats(e, &st);
    return (double)st.queued;
}

void rcv_events_init(rcv_events *e, beat_kproducer *prod) {
    memset(e, 0, sizeof *e);
    e->prod = prod;
    e->dropped = beat_counter_new("beat_receiver_kafka_dropped_total",
                                  "Events dropped before Kafka (queue full or refused)");
    e->delivered =
        beat_counter_new("beat_receiver_kafka_delivered_total", "Events acknowledged by Kafka");
    e->delivery_errors =
        beat_counter_new("beat_receiver_kafka_delivery_errors_total",
                         "Events that left the local queue but were not delivered");
    e->encode_errors =
        beat_counter_new("beat_receiver_encode_errors_total", "Events that could not be encoded");
    beat_gauge_fn_new("beat_receiver_kafka_queue_messages",
                      "Messages waiting in the local Kafka queue", queue_len, e);
}

int rcv_events_send(rcv_events *e, const beat_event *ev, beat_buf *scratch) {
    beat_buf_reset(scratch);
    int rc = beat_event_encode(ev, scratch);
    if (rc < 0) {
        beat_counter_inc(e->encode_errors);
        beat_log_rl(5000, BEAT_WARN, "event_encode_failed", "err=%d auction=%s", rc, ev->auction);
        return rc;
    }
    if (!e->prod) {
        beat_counter_inc(e->dropped);
        return -ENOTCONN;
    }
    /* Keyed by auction, so an auction's events share a partition; an opp
     * summary has none: by campaign. */
    const char *key = ev->type == BEAT_EV_OPP ? ev->campaign : ev->auction;
    rc = beat_kproducer_send(e->prod, key, strlen(key), scratch->data, scratch->len);
    if (rc < 0) beat_counter_inc(e->dropped); /* logged rate-limited inside */
    return rc;
}

void rcv_events_stats(rcv_events *e, beat_kproducer_stats *out) {
    memset(out, 0, sizeof *out);
    if (e->prod) beat_kproducer_get_stats(e->prod, out);
}

void rcv_events_sync(rcv_events *e) {
    beat_kproducer_stats st;
    rcv_events_stats(e, &st);
    if (st.delivered > e->synced_delivered) {
        beat_counter_add(e->delivered, st.delivered - e->synced_delivered);
        e->synced_delivered = st.delivered;
    }
    if (st.delivery_errors > e->synced_errors) {
        beat_counter_add(e->delivery_errors, st.delivery_errors - e->synced_errors);
        e->synced_errors = st.delivery_errors;
    }
}
