/* Notice endpoints of the receiver: /win /bill /loss /imp /click, and
 * /conv (conv.c). */
#ifndef RCV_NOTICES_H
#define RCV_NOTICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_http.h"
#include "beat_notice.h"
#include "events.h"

typedef enum {
    RCV_OK = 0,
    RCV_MALFORMED, /* 400: unparsable, bad landing, ts in the future */
    RCV_FORGED,    /* 403: missing or wrong signature (a re-typed notice
                      included), or v1 while --notice-accept-v1 is off */
    RCV_EXPIRED,   /* 410: signed ts older than max age */
    RCV_PRICE,     /* 400: clearing price above the signed bid */
    RCV_CURRENCY,  /* 400: a price in a currency the rate table does not know */
    RCV_REJECT_N
} rcv_reject;

typedef struct rcv_notice_cfg {
    const void *secret;
    size_t secret_len;
    int64_t max_age_ms;       /* older signed ts → expired */
    int64_t max_future_ms;    /* ts further ahead than this → malformed */
    bool accept_v1;           /* --notice-accept-v1: the upgrade window */
    int retry_after_s;        /* Retry-After of a 503 (event not queued for Kafka) */
    const struct beat_fx *fx; /* --currency-rates (borrowed); NULL = USD only */
    /* Conversions (conv.c): the landing's query parameter that carries the
     * token ("" or NULL = none handed out), and the longest any window may
     * run (a token older than min(its window, this) is expired). */
    const char *conv_param;
    int64_t conv_max_age_ms;
} rcv_notice_cfg;

/* Parses, verifies and checks one notice query string (pure; no I/O).
 * On RCV_OK *n is filled, its price converted to USD micros (currency
 * "USD"); otherwise why says what was wrong. */
rcv_reject rcv_notice_check(const rcv_notice_cfg *cfg, beat_event_type type, const char *query,
                            int64_t now_ms, beat_notice *n, beat_reason *why);
int rcv_reject_status(rcv_reject r);       /* HTTP status for a rejection */
const char *rcv_reject_name(rcv_reject r); /* metric label */
/* The Kafka event for an accepted notice, stamped now_ms. */
void rcv_notice_to_event(const beat_notice *n, int64_t now_ms, beat_event *ev);

/* Shared by every worker: config, events link and metrics. */
typedef struct rcv_notices {
    rcv_notice_cfg cfg;
    rcv_events *events;
    beat_counter *accepted[BEAT_EV_CONV + 1];  /* by type, real traffic only */
    beat_counter *test[BEAT_EV_CONV + 1];      /* test notices, by type */
    beat_counter *conv_rejected[RCV_REJECT_N]; /* /conv calls refused, by reason */
    beat_counter *conv_tokens;                 /* tokens handed out on clicks */
    beat_counter *v1;                          /* v1 notices accepted */
    beat_counter *rejected[RCV_REJECT_N];
    /* Valid notices answered 503 because their event could not be queued
     * for Kafka: [0] the local queue (spool) is full, [1] other refusals. */
    beat_counter *refused[2];
    beat_histogram *latency;
} rcv_notices;

/* Per-worker scratch, so workers never share buffers. */
typedef struct rcv_worker_bufs {
    rcv_notices *shared;
    beat_buf body, event, location;
} rcv_worker_bufs;

void rcv_notices_init(rcv_notices *s, const rcv_notice_cfg *cfg, rcv_events *events);
/* What follows an accepted notice (rcv_notice_check said RCV_OK): a real
 * one becomes a Kafka event (scratch: the worker's event buffer) and counts
 * as accepted once queued; a test one (BEAT_NOTICE_F_TEST) produces
 * nothing, only its counter moves. 0, or rcv_events_send's negative code
 * (not queued: -ENOBUFS when the spool is full; the caller answers 503). */
int rcv_notice_accept(rcv_notices *s, const beat_notice *n, int64_t now_ms, beat_buf *scratch);
/* The notice's query: the URL's, or for a POST without one, the
 * form-encoded body (trailing whitespace trimmed). NULL = already answered:
 * 405 for a method other than GET/POST, 413 for a body too big (counted in
 * malformed). */
const char *rcv_notice_query(beat_http_req *req, rcv_worker_bufs *w, beat_counter *malformed);
/* Answers 503 with Retry-After for an event that could not be queued (rc
 * from rcv_events_send), counting it. */
void rcv_reply_refused(beat_http_req *req, rcv_notices *s, int rc);
void rcv_worker_bufs_init(rcv_worker_bufs *w, rcv_notices *s, size_t max_body);
void rcv_worker_bufs_fini(rcv_worker_bufs *w);
/* Routes the five notice paths on h; w must outlive h. */
void rcv_notices_route(beat_http *h, rcv_worker_bufs *w);
uint64_t rcv_notices_accepted(const rcv_notices *s); /* real, all types */
uint64_t rcv_notices_test(const rcv_notices *s);     /* test, all types */
uint64_t rcv_notices_rejected(const rcv_notices *s);
uint64_t rcv_notices_refused(const rcv_notices *s);

#endif
