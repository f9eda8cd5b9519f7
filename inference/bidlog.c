/* Bid-log push socket (inference → receiver). nng sockets are thread-safe,
 * so every worker sends on the one socket; beat_nng_send_nb never waits:
 * -EAGAIN (no receiver, or the send buffer is full) is a counted drop. */
#include "bidlog.h"

#include <errno.h>
#include <stdlib.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"

struct inf_bidlog {
    nng_socket s;
    beat_counter *sent, *dropped, *failed;
};

inf_bidlog *inf_bidlog_new(const char *url, int sendbuf, int *err) {
    inf_bidlog *b = calloc(1, sizeof *b);
    if (!b) {
        *err = -ENOMEM;
        return NULL;
    }
    int rc = beat_nng_push_open(&b->s, url, sendbuf);
    if (rc < 0) {
        free(b);
        *err = rc;
        return NULL;
    }
    b->sent = beat_counter_new("beat_inference_bidlog_sent_total",
                               "Bid events handed to the bid-log socket");
    b->dropped = beat_counter_new("beat_inference_bidlog_dropped_total",
                                  "Bid events dropped: receiver absent or buffer full");
    b->failed = beat_counter_new("beat_inference_link_failures_total{peer=\"receiver\"}",
                                 "Failures on links to peers");
    return b;
}

void inf_bidlog_free(inf_bidlog *b) {
    if (!b) return;
    nng_close(b->s);
    free(b);
}

void inf_bidlog_send(inf_bidlog *b, const beat_event *ev, beat_buf *scratch) {
    beat_buf_reset(scratch);
    int rc = beat_event_encode(ev, scratch);
    if (rc < 0) {
        beat_counter_inc(b->dropped);
        beat_log_rl(5000, BEAT_WARN, "bidlog_encode_failed", "err=%d", rc);
        return;
    }
    rc = beat_nng_send_nb(b->s, scratch->data, scratch->len);
    if (rc == 0) {
        beat_counter_inc(b->sent);
        return;
    }
    beat_counter_inc(b->dropped);
    if (rc == -EAGAIN) {
        beat_log_rl(10000, BEAT_WARN, "bidlog_dropped", "reason=%s",
                    "receiver absent or send buffer full");
    } else {
        beat_counter_inc(b->failed);
        beat_log_rl(5000, BEAT_WARN, "bidlog_send_failed", "err=%d", rc);
    }
}
