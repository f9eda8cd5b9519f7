/* Heartbeats into every partition (heartbeat.h). The thread sleeps in
 * small steps so that a stop is quick; it asks the broker for the partition
 * count at start and every 30 s (a failed look-up keeps the last count; no
 * count yet means no heartbeat: nothing could be heard anyway). A heartbeat
 * is queued like any event (the spool keeps it in order with the notices
 * while Kafka is away); a full spool drops it, counted. Never logs per
 * heartbeat. */
#include "heartbeat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beat_log.h"
#include "beat_util.h"
#include "beat_wire.h"

#define META_EVERY_MS 30000
#define META_WAIT_MS 1000

int rcv_hb_encode(const char *node, int64_t ts_ms, int64_t lost, bool bye, char *out, size_t cap,
                  size_t *len) {
    beat_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = BEAT_EV_HB;
    if (snprintf(ev.node, sizeof ev.node, "%s", node) >= (int)sizeof ev.node) return -EINVAL;
    ev.ts_ms = ts_ms;
    ev.lost = lost;
    ev.bye = bye;
    beat_buf b;
    beat_buf_init(&b, cap);
    int rc = beat_event_encode(&ev, &b);
    if (rc == 0) {
        if (b.len + 1 > cap) rc = -EMSGSIZE;
        else {
            memcpy(out, b.data, b.len);
            out[b.len] = '\0';
            *len = b.len;
        }
    }
    beat_buf_fini(&b);
    return rc;
}

/* One heartbeat into each of the n partitions. */
static void beat_all(rcv_hb *h, int32_t n, bool bye) {
    char buf[256];
    size_t len = 0;
    int64_t lost = h->lost ? h->lost(h->lost_arg) : 0;
    if (rcv_hb_encode(h->node, beat_now_ms(), lost, bye, buf, sizeof buf, &len) != 0) return;
    for (int32_t p = 0; p < n; p++) {
        /* Aside from the event counts: the receiver's kafka_* figures stay
         * about notices and bid logs. */
        if (beat_kproducer_send_to(h->prod, p, h->node, strlen(h->node), buf, len, false) == 0) {
            beat_counter_inc(h->sent);
        } else {
            beat_counter_inc(h->dropped);
            beat_log_rl(10000, BEAT_WARN, "heartbeat_dropped", "partition=%d", (int)p);
        }
    }
}

static void *hb_main(void *arg) {
    rcv_hb *h = arg;
    int64_t next_meta = 0, next_beat = beat_mono_ms();
    while (!atomic_load(&h->stop)) {
        int64_t now = beat_mono_ms();
        if (now >= next_meta) {
            int n = beat_kproducer_partitions(h->prod, META_WAIT_MS);
            if (n > 0) {
                if (n != atomic_load(&h->partitions))
                    beat_log(BEAT_INFO, "heartbeat_partitions", "partitions=%d", n);
                atomic_store(&h->partitions, n);
                next_meta = now + META_EVERY_MS;
            } else {
                beat_log_rl(30000, BEAT_WARN, "heartbeat_no_metadata", "err=%d", n);
                next_meta = now + 1000;
            }
            now = beat_mono_ms();
        }
        if (now >= next_beat) {
            int32_t n = atomic_load(&h->partitions);
            if (n > 0) beat_all(h, n, false);
            next_beat += h->every_ms;
            if (next_beat <= now) next_beat = now + h->every_ms; /* no burst */
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static double g_partitions(void *arg) {
    rcv_hb *h = arg;
    return (double)atomic_load(&h->partitions);
}

int rcv_hb_start(rcv_hb *h, beat_kproducer *prod, const char *node, int64_t every_ms,
                 int64_t (*lost)(void *), void *lost_arg) {
    memset(h, 0, sizeof *h);
    if (!prod || !node || !*node || strlen(node) >= sizeof h->node || every_ms < 1) return -EINVAL;
    h->prod = prod;
    snprintf(h->node, sizeof h->node, "%s", node);
    h->every_ms = every_ms;
    h->lost = lost;
    h->lost_arg = lost_arg;
    h->sent = beat_counter_new("beat_receiver_heartbeats_total",
                               "Heartbeat events queued for Kafka (one per partition "
                               "every --heartbeat-ms).");
    h->dropped = beat_counter_new("beat_receiver_heartbeats_dropped_total",
                                  "Heartbeat events refused by a full local queue.");
    beat_gauge_fn_new("beat_receiver_heartbeat_partitions",
                      "Partitions the receiver beats into (from the broker's metadata; "
                      "0 = not known yet).",
                      g_partitions, h);
    atomic_init(&h->stop, false);
    if (pthread_create(&h->thr, NULL, hb_main, h) != 0) return -EAGAIN;
    h->started = true;
    return 0;
}

void rcv_hb_stop(rcv_hb *h, bool bye) {
    if (!h->started) return;
    atomic_store(&h->stop, true);
    pthread_join(h->thr, NULL);
    h->started = false;
    int32_t n = atomic_load(&h->partitions);
    if (bye && n > 0) beat_all(h, n, true);
}
