/* Bid-log queue and sender thread (inference → receiver). Workers call
 * inf_bidlog_send on the bid path: a copy into a fixed ring under a mutex
 * held for a memcpy. Under load the sender wakes on its own clock, every
 * FILL_WAIT_NS, and takes what queued up meanwhile: a worker wakes it only
 * when it sleeps idle (the first event after a quiet spell) or the ring is
 * a quarter full, so the bid path makes no system call here and the
 * sender's wake-ups (context switches on a worker's core) are a few a
 * second per hundred events, not one per batch of 64. The sender encodes
 * and sends with beat_nng_send_nb, which never waits: -EAGAIN (no
 * receiver, nng buffer full) is a counted drop. Never blocks a worker. */
#include "bidlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"

#define FILL_WAIT_NS 10000000L /* a woken sender gathers events this long */
/* Bytes per batched message: under the receiver's default --bidlog-max-bytes
 * (64 KiB), since nng drops a larger message without a word
 * (docs/architecture.md "Library facts"). */
#define MSG_MAX (60 * 1024)

struct inf_bidlog {
    nng_socket s;
    inf_bidlog_cfg cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool started, opened, stop, idle, filling;
    int wake_at;      /* queued events that cut a gathering short: a quarter of the ring */
    beat_event *ring; /* cfg.queue slots */
    int head, n;      /* [head, head+n) queued; the sender owns [head, head+taken) */
    beat_buf msg, one;
    beat_counter *sent, *dropped, *qfull, *failed;
};

static void count_send(inf_bidlog *b, int rc, uint64_t events) {
    if (rc == 0) {
        beat_counter_add(b->sent, events);
        return;
    }
    beat_counter_add(b->dropped, events);
    if (rc == -EAGAIN) {
        beat_log_rl(10000, BEAT_WARN, "bidlog_dropped", "reason=%s",
                    "receiver absent or send buffer full");
    } else {
        beat_counter_inc(b->failed);
        beat_log_rl(5000, BEAT_WARN, "bidlog_send_failed", "err=%d", rc);
    }
}

/* Encodes and sends events [head, head+k) of the ring (sender thread only). */
static void send_some(inf_bidlog *b, int head, int k) {
    int in_msg = 0;
    beat_buf_reset(&b->msg);
    for (int i = 0; i < k; i++) {
        const beat_event *ev = &b->ring[(head + i) % b->cfg.queue];
        beat_buf_reset(&b->one);
        int rc = beat_event_encode(ev, &b->one);
        if (rc < 0) {
            beat_counter_inc(b->dropped);
            beat_log_rl(5000, BEAT_WARN, "bidlog_encode_failed", "err=%d", rc);
            continue;
        }
        if (b->cfg.batch <= 1) {
            count_send(b, beat_nng_send_nb(b->s, b->one.data, b->one.len), 1);
            continue;
        }
        if (in_msg && (in_msg == b->cfg.batch || b->msg.len + 1 + b->one.len > MSG_MAX)) {
            count_send(b, beat_nng_send_nb(b->s, b->msg.data, b->msg.len), (uint64_t)in_msg);
            beat_buf_reset(&b->msg);
            in_msg = 0;
        }
        if ((in_msg && beat_buf_append(&b->msg, "\n", 1)) ||
            beat_buf_append(&b->msg, b->one.data, b->one.len)) {
            beat_counter_inc(b->dropped);
            continue;
        }
        in_msg++;
    }
    if (in_msg) count_send(b, beat_nng_send_nb(b->s, b->msg.data, b->msg.len), (uint64_t)in_msg);
}

static void *sender_main(void *arg) {
    inf_bidlog *b = arg;
    pthread_setname_np(pthread_self(), "inf-bidlog");
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->stop && b->n == 0) {
            b->idle = true;
            pthread_cond_wait(&b->cv, &b->mu);
            b->idle = false;
        }
        if (b->stop) break;
        if (b->n < b->wake_at) { /* let a batch gather: one wake-up per period */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += FILL_WAIT_NS;
            if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            b->filling = true;
            pthread_cond_timedwait(&b->cv, &b->mu, &ts);
            b->filling = false;
            if (b->stop) break;
        }
        int head = b->head, k = b->n;
        pthread_mutex_unlock(&b->mu);
        send_some(b, head, k);
        pthread_mutex_lock(&b->mu);
        b->head = (b->head + k) % b->cfg.queue;
        b->n -= k;
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

void inf_bidlog_send(inf_bidlog *b, const beat_event *ev) {
    pthread_mutex_lock(&b->mu);
    if (b->n == b->cfg.queue) {
        pthread_mutex_unlock(&b->mu);
        beat_counter_inc(b->qfull);
        beat_counter_inc(b->dropped);
        beat_log_rl(10000, BEAT_WARN, "bidlog_dropped", "reason=%s", "queue full");
        return;
    }
    memcpy(&b->ring[(b->head + b->n) % b->cfg.queue], ev, sizeof *ev);
    b->n++;
    bool wake = b->idle || (b->filling && b->n == b->wake_at);
    pthread_mutex_unlock(&b->mu);
    if (wake) pthread_cond_signal(&b->cv);
}

inf_bidlog *inf_bidlog_new(const inf_bidlog_cfg *cfg, int *err) {
    if (!cfg || !cfg->url || cfg->queue < 1 || cfg->batch < 1) {
        *err = -EINVAL;
        return NULL;
    }
    inf_bidlog *b = calloc(1, sizeof *b);
    if (!b) {
        *err = -ENOMEM;
        return NULL;
    }
    b->cfg = *cfg;
    b->wake_at = cfg->queue / 4 > 0 ? cfg->queue / 4 : 1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    beat_buf_init(&b->msg, MSG_MAX + 1);
    beat_buf_init(&b->one, 64 * 1024);
    b->ring = calloc((size_t)cfg->queue, sizeof *b->ring);
    if (!b->ring) {
        inf_bidlog_free(b);
        *err = -ENOMEM;
        return NULL;
    }
    int rc = beat_nng_push_open(&b->s, cfg->url, cfg->sendbuf);
    if (rc < 0) {
        inf_bidlog_free(b);
        *err = rc;
        return NULL;
    }
    b->opened = true;
    b->sent = beat_counter_new("beat_inference_bidlog_sent_total",
                               "Bid events handed to the bid-log socket");
    b->dropped = beat_counter_new("beat_inference_bidlog_dropped_total",
                                  "Bid events dropped: receiver absent or buffer full");
    b->qfull = beat_counter_new("beat_inference_bidlog_queue_full_total",
                                "Bid events dropped because the sender queue was full");
    b->failed = beat_counter_new("beat_inference_link_failures_total{peer=\"receiver\"}",
                                 "Failures on links to peers");
    if ((rc = pthread_create(&b->th, NULL, sender_main, b)) != 0) {
        inf_bidlog_free(b);
        *err = -rc;
        return NULL;
    }
    b->started = true;
    return b;
}

void inf_bidlog_free(inf_bidlog *b) {
    if (!b) return;
    if (b->started) {
        pthread_mutex_lock(&b->mu);
        b->stop = true;
        pthread_mutex_unlock(&b->mu);
        pthread_cond_broadcast(&b->cv);
        pthread_join(b->th, NULL);
    }
    if (b->opened) nng_close(b->s);
    free(b->ring);
    beat_buf_fini(&b->msg);
    beat_buf_fini(&b->one);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
