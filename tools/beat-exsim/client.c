/* Non-blocking HTTP for the simulator on libevent's evhttp client: a pool
 * is a fixed set of keep-alive connections to one host, each carrying at
 * most one request at a time, plus an optional bounded wait queue. The
 * schedule must never wait on a slow peer, so a full pool refuses (-EBUSY)
 * and the caller counts the request as skipped or dropped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "exsim.h"

#define NOTIFIER_HOSTS_MAX 16

typedef struct pending {
    bool post;
    const char *ver; /* static string or NULL */
    char *pq, *body;
    size_t len;
    exs_done_fn cb;
    void *arg;
} pending;

struct exs_call { /* a connection slot */
    exs_pool *pool;
    struct evhttp_connection *conn;
    struct evhttp_request *req;
    bool busy;
    exs_done_fn cb;
    void *arg;
    int64_t start_us;
    enum evhttp_request_error err;
    bool have_err;
};
typedef struct exs_call slot;

struct exs_pool {
    char host[256];
    int port;
    char host_hdr[300];
    char *exchange, *key; /* owned; NULL: no exchange headers */
    int n, busy;
    slot *slots;
    pending *q;
    int q_head, q_len, q_max;
};

static int start_on(slot *s, bool post, const char *pq, const char *body, size_t len,
                    const char *ver, exs_done_fn cb, void *arg);

static void pending_free(pending *p) {
    free(p->pq);
    free(p->body);
    memset(p, 0, sizeof *p);
}

/* Starts queued requests while connections are free. */
static void drain_queue(exs_pool *p) {
    for (int i = 0; i < p->n && p->q_len > 0; i++) {
        slot *s = &p->slots[i];
        if (s->busy) continue;
        pending *q = &p->q[p->q_head];
        pending job = *q;
        memset(q, 0, sizeof *q);
        p->q_head = (p->q_head + 1) % p->q_max;
        p->q_len--;
        if (start_on(s, job.post, job.pq, job.body, job.len, job.ver, job.cb, job.arg) < 0)
            job.cb(job.arg, -EIO, NULL, 0, 0);
        pending_free(&job);
    }
}

/* The answer whose callback is running (exs_answer_header); NULL outside. */
static struct evhttp_request *g_answer;

const char *exs_answer_header(const char *name) {
    if (!g_answer) return NULL;
    return evhttp_find_header(evhttp_request_get_input_headers(g_answer), name);
}

static void on_error(enum evhttp_request_error err, void *arg) {
    slot *s = arg;
    s->err = err;
    s->have_err = true;
}

static void on_done(struct evhttp_request *req, void *arg) {
    slot *s = arg;
    exs_pool *p = s->pool;
    int64_t lat = beat_mono_us() - s->start_us;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    const char *body = NULL;
    size_t len = 0;
    if (status > 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        len = evbuffer_get_length(in);
        body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    } else {
        status = (s->have_err && s->err == EVREQ_HTTP_TIMEOUT) ? -ETIMEDOUT : -EIO;
    }
    exs_done_fn cb = s->cb;
    void *cb_arg = s->arg;
    /* Free the slot before the callback so it may send on this pool. */
    s->busy = false;
    s->cb = NULL;
    s->req = NULL;
    p->busy--;
    g_answer = status > 0 ? req : NULL;
    cb(cb_arg, status, body, len, lat);
    g_answer = NULL;
    drain_queue(p);
}

static int start_on(slot *s, bool post, const char *pq, const char *body, size_t len,
                    const char *ver, exs_done_fn cb, void *arg) {
    struct evhttp_request *req = evhttp_request_new(on_done, s);
    if (!req) return -ENOMEM;
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", s->pool->host_hdr);
    if (post) {
        evhttp_add_header(h, "Content-Type", "application/json");
        if (ver) evhttp_add_header(h, "x-openrtb-version", ver);
        if (s->pool->exchange) evhttp_add_header(h, "X-Beat-Exchange", s->pool->exchange);
        if (s->pool->key) evhttp_add_header(h, "X-Beat-Key", s->pool->key);
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    }
    s->busy = true;
    s->cb = cb;
    s->arg = arg;
    s->have_err = false;
    s->start_us = beat_mono_us();
    s->req = req;
    s->pool->busy++;
    if (evhttp_make_request(s->conn, req, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, pq) != 0) {
        s->busy = false;
        s->cb = NULL;
        s->req = NULL;
        s->pool->busy--;
        return -EIO;
    }
    return 0;
}

exs_pool *exs_pool_new(struct event_base *base, const char *host, int port, int conns,
                       int timeout_ms, int queue_max) {
    if (conns < 1 || strlen(host) >= sizeof((exs_pool *)0)->host) return NULL;
    exs_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
    snprintf(p->host_hdr, sizeof p->host_hdr, "%s:%d", host, port);
    p->n = conns;
    p->q_max = queue_max;
    p->slots = calloc((size_t)conns, sizeof *p->slots);
    p->q = queue_max > 0 ? calloc((size_t)queue_max, sizeof *p->q) : NULL;
    if (!p->slots || (queue_max > 0 && !p->q)) goto fail;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    for (int i = 0; i < conns; i++) {
        slot *s = &p->slots[i];
        s->pool = p;
        s->conn = evhttp_connection_base_new(base, NULL, host, (unsigned short)port);
        if (!s->conn) goto fail;
        evhttp_connection_set_timeout_tv(s->conn, &tv);
        evhttp_connection_set_retries(s->conn, 0);
    }
    return p;
fail:
    exs_pool_free(p);
    return NULL;
}

void exs_pool_free(exs_pool *p) {
    if (!p) return;
    /* evhttp_connection_free drops in-flight requests without calling their
     * callbacks: tell the owners so they can release their context. */
    for (int i = 0; i < p->n; i++) {
        slot *s = &p->slots[i];
        if (s->conn) evhttp_connection_free(s->conn);
        s->conn = NULL;
        if (s->busy && s->cb) s->cb(s->arg, -ECANCELED, NULL, 0, 0);
        s->busy = false;
    }
    for (int k = 0; k < p->q_len; k++) {
        pending *q = &p->q[(p->q_head + k) % p->q_max];
        q->cb(q->arg, -ECANCELED, NULL, 0, 0);
        pending_free(q);
    }
    free(p->q);
    free(p->slots);
    free(p->exchange);
    free(p->key);
    free(p);
}

int exs_pool_set_exchange(exs_pool *p, const char *exchange, const char *key) {
    free(p->exchange);
    free(p->key);
    p->exchange = p->key = NULL;
    if (!exchange || !*exchange) return 0;
    p->exchange = strdup(exchange);
    if (key && *key) p->key = strdup(key);
    return p->exchange && (p->key || !key || !*key) ? 0 : -ENOMEM;
}

int exs_pool_request(exs_pool *p, bool post, const char *pq, const char *body, size_t len,
                     const char *ver, exs_done_fn cb, void *arg, exs_call **call) {
    if (call) *call = NULL;
    if (p->busy < p->n) {
        for (int i = 0; i < p->n; i++)
            if (!p->slots[i].busy) {
                int rc = start_on(&p->slots[i], post, pq, body, len, ver, cb, arg);
                if (rc == 0 && call) *call = &p->slots[i];
                return rc;
            }
    }
    if (p->q_len >= p->q_max) return -EBUSY;
    pending *q = &p->q[(p->q_head + p->q_len) % p->q_max];
    q->pq = strdup(pq);
    q->body = body ? malloc(len ? len : 1) : NULL;
    if (!q->pq || (body && !q->body)) {
        pending_free(q);
        return -ENOMEM;
    }
    if (body && len) memcpy(q->body, body, len);
    q->post = post;
    q->ver = ver;
    q->len = len;
    q->cb = cb;
    q->arg = arg;
    p->q_len++;
    return 0;
}

void exs_call_cancel(exs_call *s) {
    if (!s || !s->busy) return;
    exs_pool *p = s->pool;
    /* libevent frees the request and resets the connection (it reconnects
     * by itself on the next request); the callback is not called. */
    if (s->req) evhttp_cancel_request(s->req);
    s->req = NULL;
    s->busy = false;
    s->cb = NULL;
    p->busy--;
    drain_queue(p);
}

int exs_pool_pending(const exs_pool *p) { return p->busy + p->q_len; }
int exs_pool_size(const exs_pool *p) { return p->n; }
int exs_pool_busy(const exs_pool *p) { return p->busy; }

/* ---- notices: absolute URLs over per-host pools ---------------------------- */
struct exs_notifier {
    struct event_base *base;
    int conns, timeout_ms, queue_max;
    int n;
    exs_pool *pools[NOTIFIER_HOSTS_MAX];
};

exs_notifier *exs_notifier_new(struct event_base *base, int conns, int timeout_ms, int queue_max) {
    exs_notifier *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->base = base;
    n->conns = conns;
    n->timeout_ms = timeout_ms;
    n->queue_max = queue_max;
    return n;
}

void exs_notifier_free(exs_notifier *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) exs_pool_free(n->pools[i]);
    free(n);
}

int exs_notifier_get(exs_notifier *n, const char *url, exs_done_fn cb, void *arg) {
    struct evhttp_uri *u = evhttp_uri_parse(url);
    if (!u) return -EINVAL;
    int rc = -EINVAL;
    const char *scheme = evhttp_uri_get_scheme(u);
    const char *host = evhttp_uri_get_host(u);
    int port = evhttp_uri_get_port(u);
    if (!scheme || strcmp(scheme, "http") != 0 || !host || !*host) goto out;
    if (port < 0) port = 80;
    exs_pool *p = NULL;
    for (int i = 0; i < n->n && !p; i++)
        if (n->pools[i]->port == port && strcmp(n->pools[i]->host, host) == 0) p = n->pools[i];
    if (!p) {
        rc = -ENOSPC;
        if (n->n >= NOTIFIER_HOSTS_MAX) goto out;
        rc = -ENOMEM;
        if (!(p = exs_pool_new(n->base, host, port, n->conns, n->timeout_ms, n->queue_max)))
            goto out;
        n->pools[n->n++] = p;
    }
    const char *path = evhttp_uri_get_path(u);
    const char *query = evhttp_uri_get_query(u);
    char pq[EXS_URL_MAX];
    int k = snprintf(pq, sizeof pq, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
                     query ? query : "");
    rc = -EINVAL;
    if (k < 0 || (size_t)k >= sizeof pq) goto out;
    rc = exs_pool_request(p, false, pq, NULL, 0, NULL, cb, arg, NULL);
out:
    evhttp_uri_free(u);
    return rc;
}

int exs_notifier_pending(const exs_notifier *n) {
    int k = 0;
    for (int i = 0; i < n->n; i++) k += exs_pool_pending(n->pools[i]);
    return k;
}
