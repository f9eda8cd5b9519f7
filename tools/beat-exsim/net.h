/* beat-exsim's HTTP (client.c): pools of keep-alive connections that never
 * make the schedule wait, and the notice sender over per-host pools. */
#ifndef EXS_NET_H
#define EXS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define EXS_URL_MAX 4096 /* notice and click URLs; longer ones are refused */
/* status: HTTP code, or -ETIMEDOUT / -ECONNREFUSED / -EIO when no answer.
 * body is valid only during the call. */
typedef void (*exs_done_fn)(void *arg, int status, const char *body, size_t len,
                            int64_t latency_us);
typedef struct exs_pool exs_pool;
typedef struct exs_call exs_call; /* one request in flight on a connection */
exs_pool *exs_pool_new(struct event_base *base, const char *host, int port, int conns,
                       int timeout_ms, int queue_max);
void exs_pool_free(exs_pool *p); /* NULL is a no-op; aborts what is pending */
/* Every POST of p carries X-Beat-Exchange: exchange and, when key is not
 * NULL or empty, X-Beat-Key: key (docs/exchanges.md). Copies both; an
 * empty exchange sends neither. 0 or -ENOMEM. */
int exs_pool_set_exchange(exs_pool *p, const char *exchange, const char *key);
/* Starts (or queues) a request; body NULL for GET; ortb_ver NULL or e.g.
 * "2.6" for the x-openrtb-version header. 0 on success, then cb is called
 * exactly once unless the call is cancelled; *call (may be NULL) names it
 * while it runs on a connection (NULL when queued). -EBUSY when every
 * connection is busy and the queue is full (cb is not called). */
int exs_pool_request(exs_pool *p, bool post, const char *path_query, const char *body, size_t len,
                     const char *ortb_ver, exs_done_fn cb, void *arg, exs_call **call);
/* During an exs_done_fn call with an HTTP status: that answer's header
 * name (case-insensitive), or NULL (absent, or outside a callback). The
 * string is valid only during the callback. */
const char *exs_answer_header(const char *name);
/* Abandons a running call (its connection is reset); cb is never called. */
void exs_call_cancel(exs_call *c);
int exs_pool_pending(const exs_pool *p); /* in flight + queued */
int exs_pool_busy(const exs_pool *p);    /* in flight */
int exs_pool_size(const exs_pool *p);

/* Notice sender: GETs absolute http:// URLs over per-host pools.
 * -EINVAL bad URL, -ENOSPC too many hosts, -EBUSY queue full. */
typedef struct exs_notifier exs_notifier;
exs_notifier *exs_notifier_new(struct event_base *base, int conns, int timeout_ms, int queue_max);
void exs_notifier_free(exs_notifier *n);
int exs_notifier_get(exs_notifier *n, const char *url, exs_done_fn cb, void *arg);
int exs_notifier_pending(const exs_notifier *n);

#endif
