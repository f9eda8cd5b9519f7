/* HTTP serving on libevent evhttp: the admin endpoints every daemon has
 * (/healthz, /metrics) plus helpers for daemons with their own API.
 * Two ways to use it:
 *  - beat_http_new() on the daemon's own event_base, then beat_http_route()
 *    for its API (inference, receiver, datastream, supervisor);
 *  - beat_admin_start() for daemons whose main loop blocks (actuator,
 *    lighttrainer): the admin server runs on its own thread and base.
 * Bodies over max_body are refused by evhttp with 413 before any handler. */
#ifndef BEAT_HTTP_H
#define BEAT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

struct event_base;
struct evhttp;
struct evhttp_request;

typedef struct beat_http beat_http;
typedef void (*beat_http_fn)(struct evhttp_request *req, void *arg);

/* Health callback: appends extra JSON fields (`"k":v,` pairs WITHOUT braces,
 * e.g. "\"state_version\":3,\"model_version\":2") to detail and returns
 * whether the daemon is ready to do its job. /healthz always answers 200
 * while the process serves (liveness):
 *   {"svc":"inference","ready":false,"uptime_s":12,"pid":123,...detail}
 * In the threaded admin server this runs on the admin thread. */
typedef bool (*beat_health_fn)(void *arg, beat_buf *detail);

/* A non-blocking, listening TCP socket on listen ("host:port"; ":8080" or
 * "0.0.0.0:8080" = all IPv4 addresses), SO_REUSEADDR, and SO_REUSEPORT when
 * reuseport. 0 and *fd_out (the caller owns it), or a negative errno. For
 * servers that do their own accept loop (inference's bid path). */
int beat_http_listen_socket(const char *listen, bool reuseport, int *fd_out);

/* Binds listen ("host:port"; ":8080" = all addresses) on base and installs
 * /healthz and /metrics. reuseport: set SO_REUSEPORT so several workers can
 * each bind the same address with their own base (inference --workers).
 * Returns NULL and *err (negative errno) on failure; the caller logs it. */
beat_http *beat_http_new(struct event_base *base, const char *listen,
                         size_t max_body, bool reuseport, int *err);
void beat_http_free(beat_http *h); /* NULL is a no-op */
struct evhttp *beat_http_evhttp(beat_http *h);
/* Exact-path route; the handler checks the method itself. */
void beat_http_route(beat_http *h, const char *path, beat_http_fn fn, void *arg);
/* Handler for paths with no route (default: 404 JSON error). */
void beat_http_fallback(beat_http *h, beat_http_fn fn, void *arg);
void beat_http_set_health(beat_http *h, beat_health_fn fn, void *arg);

/* Admin server on its own thread: /healthz and /metrics only. */
typedef struct beat_admin beat_admin;
beat_admin *beat_admin_start(const char *listen, beat_health_fn fn, void *arg,
                             int *err);
void beat_admin_stop(beat_admin *a); /* joins the thread; NULL is a no-op */

/* Reply helpers. reply_json sets Content-Type: application/json. */
void beat_http_reply(struct evhttp_request *req, int code,
                     const char *content_type, const void *body, size_t len);
void beat_http_reply_json(struct evhttp_request *req, int code,
                          const char *json, size_t len);
/* {"error":"<reason>"} with the code; reason is JSON-escaped. */
void beat_http_reply_error(struct evhttp_request *req, int code,
                           const char *reason);

/* Copies the request body into out (bounded by out->max: -EMSGSIZE). */
int beat_http_body(struct evhttp_request *req, beat_buf *out);
/* Query parameter of the request URI, copied into val (NUL-terminated).
 * -ENOENT if absent, -EMSGSIZE if longer than val_len-1. */
int beat_http_query(struct evhttp_request *req, const char *key, char *val,
                    size_t val_len);
/* Integer query parameter; def if absent; -EINVAL if present but not an
 * integer in [min, max]. */
int beat_http_query_i64(struct evhttp_request *req, const char *key,
                        int64_t def, int64_t min, int64_t max, int64_t *out);
/* True if "Authorization: Bearer <token>" matches (constant time). An empty
 * or NULL token means no auth is configured: always true. */
bool beat_http_bearer_ok(struct evhttp_request *req, const char *token);

#endif
