/* Internals of inference's HTTP server shared by http_conn.c (accept,
 * read, write, deadlines), http.c (requests, replies, dispatch) and
 * http_parse.c (request head and chunked body): the connection slot and
 * server layouts. Not a public API: use http.h. */
#ifndef INF_HTTP_INT_H
#define INF_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "beat_metrics.h"
#include "http.h"

struct event;

#define IN_INIT (16 * 1024)        /* first input buffer of a slot */
#define IN_KEEP (64 * 1024)        /* larger ones are freed on close */
#define OUT_MAX (32 * 1024 * 1024) /* /metrics may be big; bids are small */
#define OUT_HIGH (256 * 1024)      /* stop taking pipelined requests above */
#define HEADERS_MAX 100            /* header lines per request; more → 431 */
#define CHUNK_LINE_MAX 1024        /* a chunk-size line longer than this → 400 */
#define LINGER_MS 2000             /* read-and-discard after an error reply */
#define ACCEPT_BATCH 32
#define CRLF_MAX 8 /* stray CRLFs before a request; more → 400 */

enum { ST_IDLE, ST_HEAD, ST_BODY };
enum { R_NONE, R_BID, R_HEALTH, R_METRICS, R_NOTFOUND };
enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

struct inf_http_conn {
    inf_http *h;
    int fd; /* -1: slot free */
    int next_free;
    struct event *rev, *wev;
    bool rev_on, wev_on;
    char *in;
    size_t in_len, in_cap;
    beat_buf out;
    size_t out_off;
    /* Current request; positions are relative to in[0] (the buffer is
     * compacted so that a request always starts at 0). */
    int st, route;
    size_t scan, hdr_end, ce_pos, ov_pos, xe_pos, xk_pos; /* *_pos 0: header absent */
    int64_t clen;
    bool chunked, ka, expect, cont_sent, post, head;
    int ch_state;
    size_t ch_raw, ch_dec;
    uint64_t ch_left;
    bool replied, closing, linger, peer_eof;
    bool served;          /* a request was answered: idle is keep-alive, not a start */
    bool src_counted;     /* counted in cfg.srccap: released at close */
    int crlf;             /* stray CRLFs before this request (bounded; they do not start it) */
    int64_t req_start_ms; /* the current request's clock: its first byte, or accept */
    int64_t last_ms;
    int64_t out_wait_ms;          /* since when replies wait for the client to read (0: not) */
    struct sockaddr_storage peer; /* ss_family 0: unknown */
    inf_http_verdict gv;          /* the gate's verdict on the current request */
    int64_t idle_ms;              /* since when idle: accept or the last complete request;
                                     reads do not move it, so trickled CRLFs buy no time */
};

struct inf_http {
    struct event_base *base;
    inf_http_cfg cfg;
    int lfd;
    struct event *lev, *sweep, *resume;
    inf_http_conn *conns;
    int free_head, n_open;
    size_t in_max;
    int64_t start_ms;
    int64_t now_ms; /* monotonic ms read at the start of the current callback */
    time_t date_at;
    char date[64];
    beat_buf scratch; /* /healthz and /metrics rendering */
};

/* The server's metrics, registered once by the first inf_http_new and
 * shared by every worker's server (updates are atomic). */
typedef struct inf_http_metrics {
    beat_counter *refused, *per_source, *oversize, *malformed, *timeout, *accepted, *evicted;
    beat_gauge *open;
} inf_http_metrics;
extern inf_http_metrics inf_http_m;

/* Serves every complete request in c's input (pipelining), then compacts
 * what is left of a partial one to the front. Queues replies in c->out;
 * the caller flushes them. */
void inf_http_process(inf_http_conn *c);
/* Answers an HTTP error (counted as oversize, timeout or malformed) and
 * marks the connection closing. */
void inf_http_fail(inf_http_conn *c, int code);
/* Clears the per-request fields before the next request on c. */
void inf_http_req_reset(inf_http_conn *c);

/* Parses the request line and headers in in[0..hdr_end), NUL-terminating
 * the values kept. 0, or an HTTP status for the error reply. */
int inf_http_parse_head(inf_http_conn *c);
/* Finds the end of the header block from c->scan on (sets hdr_end). */
bool inf_http_find_head_end(inf_http_conn *c);
/* Decodes a chunked body in place. 1 done, 0 need more, or an HTTP status. */
int inf_http_dechunk(inf_http_conn *c);

#endif
