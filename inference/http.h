/* Lean HTTP/1.1 server for the bid path (one per worker event loop), in
 * place of evhttp, whose per-request allocations and epoll re-arming cost
 * more than the bidder itself. Keep-alive, pipelining, partial reads,
 * Content-Length and chunked bodies, Expect: 100-continue; oversize → 413,
 * malformed → 400, slow clients → 408/close (timeouts swept once a second,
 * absolute from a request's first byte or from accept, idle time from the
 * last complete request; reads never extend them, stray line breaks are a
 * few at most), connection count bounded (--max-conns: at the cap the
 * connection waiting longest for a complete request is evicted) and per
 * source address (--max-conns-per-source, exchanges' networks exempt).
 * Serves /openrtb2/bid through the caller's handler plus /healthz and
 * /metrics. Never blocks, never logs per request; buffers are pooled per
 * connection slot and kept between requests. */
#ifndef INF_HTTP_H
#define INF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_http.h" /* beat_health_fn */

struct event_base;
struct sockaddr;
struct beat_srccap;

typedef struct inf_http inf_http;
typedef struct inf_http_conn inf_http_conn;

/* One parsed request; pointers are valid only during the handler call. */
typedef struct inf_http_req {
    bool post;        /* method is POST (else: other method) */
    const char *body; /* NUL-terminated; NULL when empty */
    size_t body_len;
    const char *content_encoding; /* header value or NULL */
    const char *ortb_version;     /* x-openrtb-version value or NULL */
    void *tag;                    /* what the gate admitted it with (NULL: no gate) */
    int tag_i;
} inf_http_req;

/* A bid request's head, seen by the gate before the body is read. */
typedef struct inf_http_head {
    const struct sockaddr *peer; /* NULL when unknown (inf_http_feed) */
    const char *exchange, *key;  /* X-Beat-Exchange / X-Beat-Key or NULL */
} inf_http_head;

/* The gate's answer: code 0 admits (tag / tag_i reach the bid handler in
 * inf_http_req); 403 (or any 4xx) is answered at once with reason as the
 * JSON error and the connection closed without reading the body; 204 is
 * answered, with headers ("Name: value\r\n" lines, static), once the body
 * has arrived, keeping the connection. Strings must be static. */
typedef struct inf_http_verdict {
    int code;
    const char *reason, *headers;
    void *tag;
    int tag_i;
} inf_http_verdict;
typedef void (*inf_http_gate_fn)(void *arg, const inf_http_head *hd, inf_http_verdict *v);

/* The handler must answer with exactly one inf_http_reply*() on conn before
 * it returns (a handler that does not gets a 500 on its behalf). */
typedef void (*inf_http_fn)(void *arg, const inf_http_req *req, inf_http_conn *conn);

typedef struct inf_http_cfg {
    const char *listen;         /* "host:port"; NULL: no listener (inf_http_feed) */
    bool reuseport;             /* SO_REUSEPORT: each worker binds the same address */
    size_t max_body;            /* larger bodies → 413 */
    size_t max_header;          /* request line + headers; larger → 431 */
    int max_conns;              /* open connections per server; more are refused */
    int read_timeout_ms;        /* a started request must be complete within this */
    int idle_timeout_ms;        /* idle keep-alive connections closed after this */
    struct beat_srccap *srccap; /* per-source-address cap, shared by the workers
                                   (borrowed; NULL: none) */
    /* Asked only for a connection over the per-source cap: true lets it
     * in uncounted (the worker: inside a configured exchange's networks).
     * NULL: none. */
    bool (*exempt)(void *arg, const struct sockaddr *peer);
    void *exempt_arg;
    inf_http_fn bid; /* POST /openrtb2/bid (any method reaches it) */
    void *bid_arg;
    inf_http_gate_fn gate; /* NULL: every bid request reaches bid */
    void *gate_arg;
    beat_health_fn health; /* /healthz detail + readiness */
    void *health_arg;
} inf_http_cfg;

/* Binds and starts serving on base. NULL + *err (negative errno). */
inf_http *inf_http_new(struct event_base *base, const inf_http_cfg *cfg, int *err);
/* Closes every connection and the listener; NULL is a no-op. */
void inf_http_free(inf_http *h);
/* Open connections on this server (for tests and stats). */
int inf_http_conns(const inf_http *h);
/* Runs data[0..len) through the parser and handlers as the input of one
 * connection arriving in pieces of `piece` bytes (0: all at once), and
 * appends every response to out. No socket is involved: for tests and the
 * fuzz target. 0 or a negative errno. */
int inf_http_feed(inf_http *h, const char *data, size_t len, size_t piece, beat_buf *out);
/* The bound TCP port (useful when listening on port 0); -1 if unknown. */
int inf_http_port(const inf_http *h);

/* Queues the response. extra_headers: complete "Name: value\r\n" lines or
 * NULL; ortb_version: echoed as x-openrtb-version when not NULL. A non-empty
 * body is sent as application/json. */
void inf_http_reply(inf_http_conn *c, int code, const char *ortb_version, const char *extra_headers,
                    const char *body, size_t len);
/* {"error":"<reason>"} with code. */
void inf_http_reply_error(inf_http_conn *c, int code, const char *ortb_version,
                          const char *extra_headers, const char *reason);

#endif
