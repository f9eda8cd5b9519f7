/* Bid log: every bid we answer is pushed as a beat_event JSON (type "bid")
 * over nng to the receiver, which puts it on Kafka for the join with wins
 * and clicks. The HTTP workers only copy the event into a bounded queue;
 * a sender thread encodes and pushes it, so neither JSON encoding nor a
 * socket write sits on the bid path. A full queue, a full nng buffer or an
 * absent receiver drops and counts, never blocks. */
#ifndef INF_BIDLOG_H
#define INF_BIDLOG_H

#include "beat_util.h"
#include "beat_wire.h"

typedef struct inf_bidlog inf_bidlog;

typedef struct inf_bidlog_cfg {
    const char *url; /* receiver's nng pull address, or a comma list of them
                        (each dialled non-blocking; nng spreads messages over
                        the receivers that are up) */
    int sendbuf;     /* messages nng buffers while the receiver is slow/away */
    int queue;       /* events waiting for the sender thread; more are dropped */
    int batch;       /* events per nng message, '\n'-separated; 1 = one event
                        per message; the receiver splits batches */
} inf_bidlog_cfg;

/* Dials cfg->url and starts the sender thread. NULL + *err. */
inf_bidlog *inf_bidlog_new(const inf_bidlog_cfg *cfg, int *err);
/* Stops the thread (events still queued are dropped); NULL is a no-op. */
void inf_bidlog_free(inf_bidlog *b);
/* Copies ev into the queue without blocking (a short lock; thread-safe). */
void inf_bidlog_send(inf_bidlog *b, const beat_event *ev);

#endif
