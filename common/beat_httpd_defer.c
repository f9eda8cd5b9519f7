/* Deferred replies of the daemons' HTTP server (beat_http.h "deferred
 * replies"): a handler hands a slow answer to another thread, which queues
 * it here from any thread; an eventfd wakes the server's loop, which sends
 * it on the connection (if still open) and resumes that connection. So a
 * slow answer never holds the loop, and the loop never waits for a worker
 * (the lock only guards the queue). */
#include "beat_httpd_int.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "beat_log.h"

struct beat_http_pending {
    beat_http *h;
    httpd_conn *c; /* loop thread only; NULL once the connection closed */
    int code;
    char ctype[128];
    char *body; /* owned (malloc) */
    size_t len;
    beat_http_pending *next;
};

typedef struct httpd_defer {
    int fd; /* eventfd: the loop's wake-up */
    struct event *ev;
    pthread_mutex_t mu; /* guards head/tail */
    beat_http_pending *head, *tail;
} httpd_defer;

static void body_free(const void *body, size_t len, void *arg) {
    (void)len;
    (void)arg;
    free((void *)body);
}

static void pending_free(beat_http_pending *p) {
    free(p->body);
    free(p);
}

/* Loop thread: every queued answer to its connection. */
static void on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    beat_http *h = arg;
    uint64_t v;
    (void)!read(fd, &v, sizeof v);
    httpd_defer *d = h->defer;
    pthread_mutex_lock(&d->mu);
    beat_http_pending *p = d->head;
    d->head = d->tail = NULL;
    pthread_mutex_unlock(&d->mu);
    while (p) {
        beat_http_pending *next = p->next;
        httpd_conn *c = p->c;
        if (c) {
            c->pending = NULL;
            beat_http_req req = {.c = c};
            char *body = p->body;
            p->body = NULL; /* the output buffer frees it once sent */
            beat_http_reply_ref(&req, p->code, p->ctype[0] ? p->ctype : NULL, body, p->len,
                                body_free, NULL);
            httpd_conn_resume(c);
        }
        pending_free(p);
        p = next;
    }
}

static httpd_defer *defer_of(beat_http *h) {
    if (h->defer) return h->defer;
    httpd_defer *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->fd >= 0) d->ev = event_new(h->base, d->fd, EV_READ | EV_PERSIST, on_wake, h);
    if (!d->ev || event_add(d->ev, NULL) != 0) {
        beat_log_rl(5000, BEAT_ERROR, "http_defer_failed", "err=%d", d->fd < 0 ? -errno : -ENOMEM);
        if (d->ev) event_free(d->ev);
        if (d->fd >= 0) close(d->fd);
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    return h->defer = d;
}

beat_http_pending *beat_http_defer(beat_http_req *req) {
    httpd_conn *c = req->c;
    if (c->replied || c->pending || !defer_of(c->h)) return NULL;
    beat_http_pending *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->h = c->h;
    p->c = c;
    c->pending = p;
    return p;
}

void beat_http_pending_reply(beat_http_pending *p, int code, const char *content_type,
                             beat_buf *body) {
    p->code = code;
    snprintf(p->ctype, sizeof p->ctype, "%s", content_type ? content_type : "");
    if (body && body->cap && body->len) { /* the bytes are the pending answer's now */
        p->body = body->data;
        p->len = body->len;
        beat_buf_init(body, body->max);
    }
    httpd_defer *d = p->h->defer; /* made by beat_http_defer, before any worker saw p */
    pthread_mutex_lock(&d->mu);
    p->next = NULL;
    if (d->tail) d->tail->next = p;
    else d->head = p;
    d->tail = p;
    pthread_mutex_unlock(&d->mu);
    uint64_t one = 1;
    (void)!write(d->fd, &one, sizeof one);
}

void httpd_pending_orphan(beat_http_pending *p) {
    if (p->c) p->c->pending = NULL;
    p->c = NULL;
}

void httpd_defer_free(beat_http *h) {
    httpd_defer *d = h->defer;
    if (!d) return;
    for (beat_http_pending *p = d->head, *n; p; p = n) {
        n = p->next;
        pending_free(p);
    }
    event_free(d->ev);
    close(d->fd);
    pthread_mutex_destroy(&d->mu);
    free(d);
    h->defer = NULL;
}
