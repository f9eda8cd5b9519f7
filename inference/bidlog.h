/* Bid log: every bid we answer is pushed as a beat_event JSON (type "bid")
 * over nng to the receiver, which puts it on Kafka for the join with wins
 * and clicks. Fire-and-forget from the HTTP workers: a full buffer or an
 * absent receiver drops and counts, and never blocks the bid path. */
#ifndef INF_BIDLOG_H
#define INF_BIDLOG_H

#include "beat_util.h"
#include "beat_wire.h"

typedef struct inf_bidlog inf_bidlog;

/* Dials url non-blocking (the receiver may come up later); sendbuf is the
 * number of messages nng buffers while it is away or slow. NULL + *err. */
inf_bidlog *inf_bidlog_new(const char *url, int sendbuf, int *err);
void inf_bidlog_free(inf_bidlog *b); /* NULL is a no-op */
/* Encodes ev into scratch and sends it without blocking. Thread-safe. */
void inf_bidlog_send(inf_bidlog *b, const beat_event *ev, beat_buf *scratch);

#endif
