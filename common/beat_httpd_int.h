/* Internals of the HTTP server shared by beat_http.c (server, routes,
 * replies, admin), beat_httpd_conn.c (connection I/O, deadlines, eviction)
 * and beat_httpd_parse.c (request head parsing). Not a public API: use
 * beat_http.h; the fuzz target and unit tests include it. */
#ifndef BEAT_HTTPD_INT_H
#define BEAT_HTTPD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "beat_http.h"
#include "beat_metrics.h"

struct event;
struct evbuffer;

#define HTTPD_OUT_HIGH (256 * 1024)   /* stop taking pipelined requests above */
#define HTTPD_XHDR_MAX 4096           /* extra response headers per reply */
#define HTTPD_LINGER_MS 2000          /* read-and-discard after a refusal, */
#define HTTPD_LINGER_MAX (256 * 1024) /* and at most this much of it */
#define HTTPD_CRLF_MAX 8              /* stray CRLFs allowed before a request */

/* A parsed request head. Offsets are from the request's first byte; the
 * strings they point at are NUL-terminated in place. 0 = absent (offset 0
 * is always the method). */
typedef struct httpd_head {
    beat_http_method method;
    uint32_t path, query;
    uint32_t ctype, auth;
    int64_t clen; /* -1: no Content-Length */
    bool ka, chunked, expect;
    int nhdr;
    uint32_t hname[BEAT_HTTP_MAX_HEADERS], hval[BEAT_HTTP_MAX_HEADERS];
} httpd_head;

/* Where the blank line after the headers ends in s[0..len), scanning from
 * *scan on (kept between calls); 0 while incomplete. */
size_t httpd_head_end(const char *s, size_t len, size_t *scan);
/* Parses s[0..head_len) (a complete head). 0, or an HTTP status with *why
 * (a static string) for the error reply. */
int httpd_parse_head(char *s, size_t head_len, httpd_head *hd, const char **why);
/* True if the media type in ctype (parameters ignored) is in the
 * comma-separated list, case-insensitively. */
bool httpd_type_in(const char *ctype, const char *list);
/* True if the method is named in the comma-separated list. */
bool httpd_method_in(beat_http_method m, const char *list);

typedef struct httpd_route {
    char *path;
    beat_http_fn fn;
    void *arg;
    beat_http_route_opts o;
    char *token, *types, *read_only, *allow; /* owned copies of o's strings */
} httpd_route;

typedef struct httpd_conn httpd_conn;

struct beat_http_req {
    httpd_conn *c;
    char *base; /* the request's first byte */
    const char *body;
    size_t body_len;
};

enum { C_IDLE, C_HEAD, C_BODY, C_LINGER };

struct httpd_conn {
    beat_http *h;
    int fd; /* -1: fed by beat_http_feed */
    struct event *rev, *wev, *tmr;
    bool rev_on, wev_on;
    httpd_conn *prev, *next;   /* every open connection */
    httpd_conn *wprev, *wnext; /* waiting list, oldest first */
    bool waiting;
    char *in;
    size_t in_len, in_cap;
    struct evbuffer *out;
    int st, crlf;
    size_t drained; /* bytes discarded while lingering */
    bool first, closing, peer_eof;
    size_t scan, head_len, need; /* need: head + body bytes */
    httpd_head hd;
    const httpd_route *route;
    bool cont_sent, replied;
    beat_http_pending *pending; /* a deferred answer: serves nothing else till it comes */
    beat_buf xhdr;
    int64_t head_dl, body_dl, idle_dl, write_dl, linger_dl, armed_dl;
    char peer[64];
    struct sockaddr_storage addr; /* the peer, for the per-source cap */
    bool src_counted;             /* counted in h->srccap: released at close */
};

struct beat_http {
    struct event_base *base;
    int lfd;
    struct event *lev, *resume;
    beat_http_limits lim;
    size_t max_body;
    httpd_route *routes;
    int nroutes;
    httpd_route fallback;
    beat_health_fn health;
    void *health_arg;
    int64_t start_ms;
    httpd_conn *conns;         /* every open connection */
    httpd_conn *whead, *wtail; /* waiting for a request, oldest first */
    int n_open;
    struct beat_srccap *srccap; /* lim.max_conns_per_source (owned; NULL: none) */
    struct httpd_defer *defer;  /* deferred answers (beat_httpd_defer.c); NULL until one */
};

/* Metrics shared by every server of the process (registered once). */
typedef struct httpd_metrics {
    beat_gauge *open;
    beat_counter *accepted, *evicted, *refused, *per_source;
    beat_counter *t_header, *t_body, *t_idle, *t_write;
    beat_counter *r_malformed, *r_oversize, *r_auth, *r_type, *r_length, *r_method;
} httpd_metrics;
extern httpd_metrics httpd_m;
void httpd_metrics_once(void);

/* beat_httpd_conn.c */
/* After a deferred answer was queued: serves what the client pipelined
 * meanwhile and sends. The connection may be closed on return. */
void httpd_conn_resume(httpd_conn *c);
void httpd_on_accept(int lfd, short what, void *arg);
void httpd_conn_close(httpd_conn *c);
void httpd_close_all(beat_http *h);
/* Finds the route of path (NUL-terminated), the fallback when none. */
const httpd_route *httpd_route_find(const beat_http *h, const char *path);

/* beat_http.c: writes a complete response to c->out. */
void httpd_send(httpd_conn *c, int code, const char *ctype, const void *body, size_t len,
                bool head_only);
/* An error reply from the server itself: JSON reason, connection closes. */
void httpd_send_error(httpd_conn *c, int code, const char *why);
void httpd_dispatch(httpd_conn *c, beat_http_req *req);

/* beat_httpd_defer.c: frees the queue of deferred answers (beat_http_free);
 * forgets the connection of a pending answer (its connection closed). */
void httpd_defer_free(beat_http *h);
void httpd_pending_orphan(beat_http_pending *p);

#endif
