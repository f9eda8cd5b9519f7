/* Bid logs from inference (nng pull) forwarded to Kafka. */
#ifndef RCV_BIDLOG_H
#define RCV_BIDLOG_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "events.h"

typedef struct rcv_bidlog {
    nng_socket sock;
    pthread_t thr;
    bool running;
    rcv_events *events;
    beat_buf scratch;
    beat_counter *accepted, *invalid, *shed;
    /* Bid logs are dropped while the producer's local queue holds this many
     * messages or more, so notices (money) keep the rest of the spool
     * during a Kafka outage; 0 = never. Set before start. */
    int64_t shed_at;
} rcv_bidlog;

/* Registers the bid-log metrics (also needed by rcv_bidlog_accept alone). */
void rcv_bidlog_init(rcv_bidlog *b, rcv_events *events);
/* Listens on url (pull, recvmax bytes per message) and starts the thread.
 * 0 or a negative code (logged). */
int rcv_bidlog_start(rcv_bidlog *b, const char *url, size_t recvmax);
/* Closes the socket, joins the thread, frees buffers. Safe if not started. */
void rcv_bidlog_fini(rcv_bidlog *b);
/* Validates one message (a beat_event of type bid) and produces it keyed by
 * auction id. 0, -EBADMSG (invalid, counted), -ENOBUFS when the queue has
 * reached shed_at (shed, counted) or the send error (dropped, counted by
 * events). Uses b->scratch: one thread at a time. */
int rcv_bidlog_accept(rcv_bidlog *b, const void *data, size_t len);

#endif
