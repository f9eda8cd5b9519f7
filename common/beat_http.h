/* HTTP/1.1 serving for every daemon but inference's bid path: a small
 * server on a libevent event_base (common/beat_httpd_*.c) with the admin
 * endpoints (/healthz, /metrics) and helpers for daemons with their own API.
 * Two ways to use it:
 *  - beat_http_new() on the daemon's own event_base, then beat_http_route()
 *    for its API (receiver, datastream, supervisor, beat-kafka-dev);
 *  - beat_admin_start() for daemons whose main loop blocks (actuator,
 *    lighttrainer): the admin server runs on its own thread and base.
 * Its edges are bounded (docs/deploy.md "HTTP edges"): a connection cap that
 * evicts the connection waiting longest for its request, absolute header and
 * body deadlines, limits on the request line and headers, and per-route body
 * limits, bearer token and media types checked before a byte of the body is
 * read. A handler runs on the loop thread, must not block, and must answer
 * with one beat_http_reply*() before it returns (else a 500 is sent for it). */
#ifndef BEAT_HTTP_H
#define BEAT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

struct event;
struct event_base;
typedef struct beat_counter beat_counter;

typedef struct beat_http beat_http;
/* One request; valid only during the handler call. */
typedef struct beat_http_req beat_http_req;
typedef void (*beat_http_fn)(beat_http_req *req, void *arg);

/* Health callback: appends extra JSON fields (`"k":v,` pairs WITHOUT braces,
 * e.g. "\"state_version\":3,\"model_version\":2") to detail and returns
 * whether the daemon is ready to do its job. /healthz always answers 200
 * while the process serves (liveness):
 *   {"svc":"inference","ready":false,"uptime_s":12,"pid":123,...detail}
 * In the threaded admin server this runs on the admin thread. */
typedef bool (*beat_health_fn)(void *arg, beat_buf *detail);

/* Edge limits of one server; every daemon exposes them as the --http-*
 * flags of BEAT_HTTP_OPTS. Fields are int64_t (and char * for a string)
 * so the option table can write them directly. */
typedef struct beat_http_limits {
    int64_t max_conns;            /* open connections; at the cap the one waiting
                                     longest for a complete request is evicted */
    int64_t header_timeout_ms;    /* request line + headers, from the first byte
                                     (from accept for the first request) */
    int64_t body_timeout_ms;      /* body, from the end of the headers ... */
    int64_t body_min_rate;        /* ... plus Content-Length / this (bytes/s) */
    int64_t idle_timeout_ms;      /* keep-alive connection with nothing sent */
    int64_t max_conns_per_source; /* open connections one peer address may
                                     hold (beat_srccap.h); 0: no cap */
    char *exempt_networks;        /* comma-separated CIDRs not held to it;
                                     read by beat_http_new_lim, not kept */
} beat_http_limits;

#define BEAT_HTTP_LIMITS_DEFAULT                                                                   \
    { 1024, 5000, 10000, 65536, 60000, 512, NULL }
#define BEAT_HTTP_MAX_LINE 8192    /* request line; longer → 414 */
#define BEAT_HTTP_MAX_HEADER 16384 /* request line + headers; more → 431 */
#define BEAT_HTTP_MAX_HEADERS 64   /* header lines; more → 431 */

/* Option-table rows (common/beat_cfg.h) for the limits in L, a static
 * beat_http_limits of the daemon's main.c: `BEAT_HTTP_OPTS(http_lim),`. */
/* clang-format off */
#define BEAT_HTTP_OPTS(L)                                                                           \
    {.name = "http-max-conns", .env = "BEAT_HTTP_MAX_CONNS",                                        \
     .type = BEAT_OPT_INT, .dst = &(L).max_conns, .def = "1024", .min = 1, .max = 1000000,          \
     .help = "Open HTTP connections per server; at the cap a new connection evicts the one "        \
             "waiting longest for a complete request (never one being answered)"},                  \
    {.name = "http-header-timeout-ms", .env = "BEAT_HTTP_HEADER_TIMEOUT_MS",                        \
     .type = BEAT_OPT_INT, .dst = &(L).header_timeout_ms, .def = "5000", .min = 100, .max = 600000, \
     .help = "A request's line and headers must arrive within this from its first byte "            \
             "(from accept for a connection's first request); not extended by reads"},              \
    {.name = "http-body-timeout-ms", .env = "BEAT_HTTP_BODY_TIMEOUT_MS",                            \
     .type = BEAT_OPT_INT, .dst = &(L).body_timeout_ms, .def = "10000", .min = 100, .max = 3600000, \
     .help = "A request body must arrive within this (plus its length at "                          \
             "--http-body-min-rate) from the end of its headers"},                                  \
    {.name = "http-body-min-rate", .env = "BEAT_HTTP_BODY_MIN_RATE",                                \
     .type = BEAT_OPT_INT, .dst = &(L).body_min_rate, .def = "65536", .min = 1024, .max = 1e12,     \
     .help = "Slowest body upload allowed, in bytes per second, on top of "                         \
             "--http-body-timeout-ms"},                                                             \
    {.name = "http-idle-timeout-ms", .env = "BEAT_HTTP_IDLE_TIMEOUT_MS",                            \
     .type = BEAT_OPT_INT, .dst = &(L).idle_timeout_ms, .def = "60000", .min = 100, .max = 3600000, \
     .help = "An idle keep-alive connection is closed after this"},                                 \
    {.name = "http-max-conns-per-source", .env = "BEAT_HTTP_MAX_CONNS_PER_SOURCE",                  \
     .type = BEAT_OPT_INT, .dst = &(L).max_conns_per_source, .def = "512", .min = 0, .max = 1000000,\
     .help = "Open HTTP connections one client address may hold per server; more are "             \
             "closed at accept; 0: no cap"},                                                        \
    {.name = "http-exempt-networks", .env = "BEAT_HTTP_EXEMPT_NETWORKS",                            \
     .type = BEAT_OPT_STR, .dst = &(L).exempt_networks, .def = "",                                  \
     .help = "Comma-separated CIDRs not held to --http-max-conns-per-source (the exchanges' "       \
             "networks, a trusted proxy)"}
/* clang-format on */

/* What a route accepts, checked when the headers are in and before any of
 * the body is read. A zeroed struct means: the server's max_body, no token,
 * bodies of writes must be application/json. */
typedef struct beat_http_route_opts {
    size_t max_body;            /* 0: the server's max_body; larger → 413 */
    const char *token;          /* writes (not GET/HEAD) need "Authorization: Bearer
                             <token>" → 401; NULL or "": no token needed */
    const char *types;          /* comma-separated media types a write's body may
                             have → 415; NULL: "application/json" */
    bool any_type;              /* any Content-Type (or none) is accepted */
    const char *read_only;      /* non-NULL: writes get 403 with this reason */
    const char *allow;          /* methods served, "GET, PUT" → 405 for others with
                             an Allow header; NULL: the handler checks */
    beat_counter *unauthorized; /* also counts this route's 401s, if set */
    beat_counter *too_large;    /* also counts this route's 413s, if set */
} beat_http_route_opts;

/* A non-blocking, listening TCP socket on listen ("host:port"; ":8080" or
 * "0.0.0.0:8080" = all IPv4 addresses), SO_REUSEADDR, and SO_REUSEPORT when
 * reuseport. 0 and *fd_out (the caller owns it), or a negative errno. For
 * servers that do their own accept loop (inference's bid path). */
int beat_http_listen_socket(const char *listen, bool reuseport, int *fd_out);

/* For a server's accept loop (beat_http's and inference's): after accept
 * failed with errno err, when the process is out of descriptors or memory
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM), logs http_accept_failed
 * (rate-limited), stops listening on lev and has resume listen again in
 * 100 ms: the loop breathes instead of spinning on a listener it cannot
 * drain. Other errors: nothing. resume: from beat_http_accept_resume_new. */
void beat_http_accept_pause(struct event *lev, struct event *resume, int err);
/* The timer beat_http_accept_pause arms: adds lev back when it fires.
 * NULL on OOM; the caller frees it (event_free) along with lev. */
struct event *beat_http_accept_resume_new(struct event_base *base, struct event *lev);

/* Binds listen ("host:port"; ":8080" = all addresses) on base and installs
 * /healthz and /metrics. max_body: the default body limit of routes.
 * reuseport: SO_REUSEPORT so several workers can each bind the same address
 * with their own base (receiver --workers). lim: NULL for the defaults;
 * copied. listen NULL: no listener (beat_http_feed only). Returns NULL and
 * *err (negative errno) on failure; the caller
 * logs it. Every connection is freed by beat_http_free. */
beat_http *beat_http_new(struct event_base *base, const char *listen, size_t max_body,
                         bool reuseport, int *err);
beat_http *beat_http_new_lim(struct event_base *base, const char *listen, size_t max_body,
                             bool reuseport, const beat_http_limits *lim, int *err);
void beat_http_free(beat_http *h); /* NULL is a no-op */
/* The bound TCP port (useful with port 0); -1 if unknown. */
int beat_http_port(const beat_http *h);
/* The TCP port a bound socket listens on; -1 if unknown (any server that
 * does its own accept loop, e.g. inference's bid path). */
int beat_http_sock_port(int fd);
/* Open connections (for tests and stats). */
int beat_http_conns(const beat_http *h);
/* Exact-path route (the query is not part of the path); the handler checks
 * the method itself. opts NULL: zeroed options; copied. A path ending in
 * "/" followed by "*" is a prefix route: it serves every non-empty path below the prefix
 * that has no exact route (beat_http_req_path gives the full path). */
void beat_http_route(beat_http *h, const char *path, beat_http_fn fn, void *arg);
void beat_http_route_ex(beat_http *h, const char *path, beat_http_fn fn, void *arg,
                        const beat_http_route_opts *opts);
/* Handler for paths with no route (default: 404 JSON error). */
void beat_http_fallback(beat_http *h, beat_http_fn fn, void *arg);
void beat_http_set_health(beat_http *h, beat_health_fn fn, void *arg);
/* Writes the /healthz body every server answers (this one and inference's
 * bid server): {"svc","ready","uptime_s","pid", ...detail} where detail
 * holds a beat_health_fn's `"k":v` pairs (stray commas and spaces around
 * them are tolerated). start_ms: the server's beat_mono_ms() at start. */
void beat_http_health_body(beat_buf *out, bool ready, int64_t start_ms, const beat_buf *detail);
/* Runs data[0..len) through the parser, limits and handlers as one
 * connection's input arriving in pieces of `piece` bytes (0: at once) and
 * appends every byte the server would send to out. No socket, no timers:
 * for tests and the fuzz target. 0 or a negative errno. */
int beat_http_feed(beat_http *h, const char *data, size_t len, size_t piece, beat_buf *out);

/* Admin server on its own thread: /healthz and /metrics only, default
 * limits (lim NULL) or the daemon's --http-* flags. */
typedef struct beat_admin beat_admin;
beat_admin *beat_admin_start(const char *listen, beat_health_fn fn, void *arg, int *err);
beat_admin *beat_admin_start_lim(const char *listen, beat_health_fn fn, void *arg,
                                 const beat_http_limits *lim, int *err);
void beat_admin_stop(beat_admin *a); /* joins the thread; NULL is a no-op */

/* ---- the request ------------------------------------------------------- */

typedef enum {
    BEAT_HTTP_OTHER,
    BEAT_HTTP_GET,
    BEAT_HTTP_HEAD,
    BEAT_HTTP_POST,
    BEAT_HTTP_PUT,
    BEAT_HTTP_DELETE,
} beat_http_method;

beat_http_method beat_http_req_method(const beat_http_req *req);
/* The path as sent, without the query. */
const char *beat_http_req_path(const beat_http_req *req);
/* The raw query after '?', or NULL when the target has none. */
const char *beat_http_req_query(const beat_http_req *req);
/* The first header of that name (case-insensitive), trimmed, or NULL. */
const char *beat_http_req_header(const beat_http_req *req, const char *name);
/* The body (NUL-terminated; "" when empty) and its length. */
const char *beat_http_req_body(const beat_http_req *req, size_t *len);
/* The peer as "ip:port" ("-" when unknown). */
const char *beat_http_req_peer(const beat_http_req *req);

/* ---- replies ------------------------------------------------------------ */

/* Adds a response header for the reply to come; 0, or -EINVAL for CR/LF in
 * name or value, -EMSGSIZE when the extra headers pass 4 KiB. */
int beat_http_add_header(beat_http_req *req, const char *name, const char *value);
/* Replies (once; later calls do nothing). body is copied; content_type NULL
 * sends none. reply_json sets Content-Type: application/json. */
void beat_http_reply(beat_http_req *req, int code, const char *content_type, const void *body,
                     size_t len);
void beat_http_reply_json(beat_http_req *req, int code, const char *json, size_t len);
/* {"error":"<reason>"} with the code; reason is JSON-escaped. */
void beat_http_reply_error(beat_http_req *req, int code, const char *reason);
/* Like beat_http_reply, but body is not copied: cleanup(body, len, arg) runs
 * once the bytes are sent or dropped (also when this call fails). */
void beat_http_reply_ref(beat_http_req *req, int code, const char *content_type, const void *body,
                         size_t len, void (*cleanup)(const void *body, size_t len, void *arg),
                         void *arg);

/* ---- deferred replies --------------------------------------------------- */

/* For an answer that takes long to compute (reading files): the handler
 * calls beat_http_defer(), hands the handle to another thread and returns
 * at once, so the loop keeps serving other connections. This connection
 * then reads and answers nothing else (pipelined requests wait) until
 * beat_http_pending_reply(), which may be called from any thread, queues
 * the answer for the loop to send. The request itself is gone when the
 * handler returns: copy what the answer needs first. Headers added with
 * beat_http_add_header() before deferring go out with the answer. An
 * answer not ready within the idle timeout (--http-idle-timeout-ms) is
 * dropped with the connection. NULL (out of memory, or already answered):
 * reply now instead. */
typedef struct beat_http_pending beat_http_pending;
beat_http_pending *beat_http_defer(beat_http_req *req);
/* Answers a deferred request exactly once (the handle is freed); takes
 * body's bytes (body is left empty, reusable). Every deferred request must
 * be answered before beat_http_free. */
void beat_http_pending_reply(beat_http_pending *p, int code, const char *content_type,
                             beat_buf *body);

/* ---- request helpers ---------------------------------------------------- */

/* Copies the request body into out (bounded by out->max: -EMSGSIZE). */
int beat_http_body(beat_http_req *req, beat_buf *out);
/* Query parameter of the request URI, copied into val (NUL-terminated).
 * -ENOENT if absent, -EMSGSIZE if longer than val_len-1. */
int beat_http_query(beat_http_req *req, const char *key, char *val, size_t val_len);
/* Integer query parameter; def if absent; -EINVAL if present but not an
 * integer in [min, max]. */
int beat_http_query_i64(beat_http_req *req, const char *key, int64_t def, int64_t min, int64_t max,
                        int64_t *out);
/* True if "Authorization: Bearer <token>" matches (constant time). An empty
 * or NULL token means no auth is configured: always true. */
bool beat_http_bearer_ok(beat_http_req *req, const char *token);
/* The same check on a raw header value (NULL: absent). */
bool beat_http_bearer_match(const char *authorization, const char *token);

#endif
