/* Bid-log link: inference pushes beat_event JSON lines (type bid or opp; one or a
 * newline-separated batch per message) over nng; this thread pulls them, validates each with beat_event_decode and
 * produces the canonical re-encoding to Kafka keyed by auction id. Garbage
 * is counted and dropped, never fatal; the producer never blocks, so a slow
 * or dead Kafka only turns into drops. recvmax bounds each message (nng
 * drops bigger ones silently: docs/architecture.md "Library facts"). */
#include "bidlog.h"

#include <errno.h>
#include <string.h>

#include "beat_log.h"
#include "beat_nng.h"

#define RCV_BIDLOG_RECVBUF 256 /* messages (bounded: 256 × recvmax) */

void rcv_bidlog_init(rcv_bidlog *b, rcv_events *events) {
    memset(b, 0, sizeof *b);
    b->events = events;
    beat_buf_init(&b->scratch, RCV_EVENT_MAX);
    b->accepted =
        beat_counter_new("beat_receiver_bidlogs_total", "Valid bid logs received from inference");
    b->invalid =
        beat_counter_new("beat_receiver_bidlog_invalid_total", "Bid logs rejected as invalid");
    b->shed = beat_counter_new("beat_receiver_bidlogs_shed_total",
                               "Valid bid logs dropped to keep spool room for notices "
                               "(local Kafka queue at --bidlog-spool-pct)");
}

int rcv_bidlog_accept(rcv_bidlog *b, const void *data, size_t len) {
    beat_event ev;
    beat_reason why = {{0}};
    if (beat_event_decode(data, len, &ev, &why) != 0) {
        beat_counter_inc(b->invalid);
        beat_log_rl(5000, BEAT_WARN, "bidlog_invalid", "reason=\"%s\"", why.msg);
        return -EBADMSG;
    }
    if (ev.type != BEAT_EV_BID && ev.type != BEAT_EV_OPP) {
        beat_counter_inc(b->invalid);
        beat_log_rl(5000, BEAT_WARN, "bidlog_invalid", "reason=\"type %s is not bid or opp\"",
                    beat_event_type_name(ev.type));
        return -EBADMSG;
    }
    beat_counter_inc(b->accepted);
    /* A bid log lost in an outage costs a training join; a notice lost
     * costs money: bid logs stop at shed_at, notices may fill the queue. */
    if (b->shed_at > 0 && b->events->prod && beat_kproducer_queued(b->events->prod) >= b->shed_at) {
        beat_counter_inc(b->shed);
        beat_counter_inc(b->events->dropped);
        beat_log_rl(5000, BEAT_WARN, "bidlog_shed", "queued_at_least=%lld", (long long)b->shed_at);
        return -ENOBUFS;
    }
    return rcv_events_send(b->events, &ev, &b->scratch);
}

static void *bidlog_main(void *arg) {
    rcv_bidlog *b = arg;
    for (;;) {
        nng_msg *m = NULL;
        int rv = nng_recvmsg(b->sock, &m, 0);
        if (rv == NNG_ECLOSED) break;
        if (rv != 0) {
            beat_log_rl(5000, BEAT_WARN, "bidlog_recv_failed", "err=\"%s\"", nng_strerror(rv));
            continue;
        }
        /* Inference may batch several events per message (--bidlog-batch),
         * newline-separated; each line stands or falls on its own. */
        const char *p = nng_msg_body(m), *end = p + nng_msg_len(m);
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            if (stop > p) (void)rcv_bidlog_accept(b, p, (size_t)(stop - p));
            p = stop + 1;
        }
        nng_msg_free(m);
    }
    return NULL;
}

int rcv_bidlog_start(rcv_bidlog *b, const char *url, size_t recvmax) {
    int rc = beat_nng_pull_open(&b->sock, url, recvmax);
    if (rc != 0) {
        beat_log(BEAT_ERROR, "bidlog_listen_failed", "url=%s err=%d", url, rc);
        return rc;
    }
    /* A receive buffer lets nng keep reading from inference while this
     * thread encodes and produces; without one every message is a
     * hand-off between nng's threads and ours (a few µs each). Only a speed
     * option: if nng refused it, bid logs would still flow. */
    (void)nng_socket_set_int(b->sock, NNG_OPT_RECVBUF, RCV_BIDLOG_RECVBUF);
    if (pthread_create(&b->thr, NULL, bidlog_main, b) != 0) {
        nng_close(b->sock);
        beat_log(BEAT_ERROR, "bidlog_listen_failed", "url=%s err=thread", url);
        return -EAGAIN;
    }
    b->running = true;
    beat_log(BEAT_INFO, "bidlog_listening", "url=%s recvmax=%zu", url, recvmax);
    return 0;
}

void rcv_bidlog_fini(rcv_bidlog *b) {
    if (b->running) {
        nng_close(b->sock); /* wakes the blocked receive with NNG_ECLOSED */
        pthread_join(b->thr, NULL);
        b->running = false;
    }
    beat_buf_fini(&b->scratch);
}
