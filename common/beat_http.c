/* The daemons' HTTP server, its public side (beat_http.h): binding, routes
 * and their edge options, replies, the admin endpoints (/healthz,
 * /metrics), the threaded admin server for daemons with a blocking main
 * loop. Connections, deadlines and eviction are beat_httpd_conn.c;
 * request parsing is beat_httpd_parse.c; request accessors and helpers are
 * beat_http_req.c. Bad input gets
 * a 4xx JSON error, never a crash. Handlers run on the server's loop and
 * must never block. */
#include "beat_httpd_int.h"
#include "beat_log.h"
#include "beat_srccap.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define METRICS_MAX (16 * 1024 * 1024)

httpd_metrics httpd_m;

/* ---- replies ----------------------------------------------------------- */

static const char *reason_phrase(int code) {
    switch (code) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 204: return "No Content";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 411: return "Length Required";
        case 413: return "Payload Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 418: return "I'm a teapot";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
    }
    return code < 300   ? "OK"
           : code < 400 ? "Redirect"
           : code < 500 ? "Client Error"
                        : "Server Error";
}

/* Status line and headers; false if the output buffer refused them. */
static bool put_head(httpd_conn *c, int code, const char *ctype, size_t len) {
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n", code, reason_phrase(code));
    if (ctype && strlen(ctype) < 200)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n", ctype);
    if (code != 204 && code != 304 && code >= 200)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", len);
    if (c->closing || !c->hd.ka)
        n += snprintf(head + n, sizeof head - (size_t)n, "Connection: close\r\n");
    return evbuffer_add(c->out, head, (size_t)n) == 0 &&
           (!c->xhdr.len || evbuffer_add(c->out, c->xhdr.data, c->xhdr.len) == 0) &&
           evbuffer_add(c->out, "\r\n", 2) == 0;
}

void httpd_send(httpd_conn *c, int code, const char *ctype, const void *body, size_t len,
                bool head_only) {
    if (c->replied) return;
    c->replied = true;
    if (code == 204 || code == 304) len = 0;
    if (!put_head(c, code, ctype, len) ||
        (len && !head_only && evbuffer_add(c->out, body, len) != 0)) {
        beat_log_rl(5000, BEAT_ERROR, "http_out_of_memory", "bytes=%zu", len);
        c->closing = true;
    }
}

void httpd_send_error(httpd_conn *c, int code, const char *why) {
    beat_buf b;
    beat_buf_init(&b, 1024);
    why = why ? why : "";
    size_t n = strlen(why);
    beat_buf_puts(&b, "{\"error\":");
    if (beat_buf_json_str(&b, why, n > 512 ? 512 : n)) beat_buf_puts(&b, "\"?\"");
    beat_buf_puts(&b, "}");
    c->closing = true;
    c->replied = false;
    beat_buf_reset(&c->xhdr);
    if (code == 401) beat_buf_puts(&c->xhdr, "WWW-Authenticate: Bearer\r\n");
    if (code == 405 && c->route && c->route->o.allow)
        beat_buf_printf(&c->xhdr, "Allow: %s\r\n", c->route->o.allow);
    httpd_send(c, code, "application/json", b.data, b.len, false);
    beat_buf_fini(&b);
}

void beat_http_reply(beat_http_req *req, int code, const char *content_type, const void *body,
                     size_t len) {
    httpd_send(req->c, code, content_type, body, len, req->c->hd.method == BEAT_HTTP_HEAD);
}

void beat_http_reply_json(beat_http_req *req, int code, const char *json, size_t len) {
    beat_http_reply(req, code, "application/json", json, len);
}

void beat_http_reply_error(beat_http_req *req, int code, const char *reason) {
    beat_buf b;
    beat_buf_init(&b, 4096);
    reason = reason ? reason : "";
    beat_buf_puts(&b, "{\"error\":");
    /* Reasons are short; a giant one is cut rather than dropped. */
    size_t n = strlen(reason);
    if (beat_buf_json_str(&b, reason, n > 512 ? 512 : n)) beat_buf_puts(&b, "\"?\"");
    beat_buf_puts(&b, "}");
    beat_http_reply_json(req, code, b.data, b.len);
    beat_buf_fini(&b);
}

void beat_http_reply_ref(beat_http_req *req, int code, const char *content_type, const void *body,
                         size_t len, void (*cleanup)(const void *body, size_t len, void *arg),
                         void *arg) {
    httpd_conn *c = req->c;
    bool head_only = c->hd.method == BEAT_HTTP_HEAD;
    if (c->replied || head_only || !len) {
        beat_http_reply(req, code, content_type, body, len);
        if (cleanup) cleanup(body, len, arg);
        return;
    }
    c->replied = true;
    if (!put_head(c, code, content_type, len) ||
        evbuffer_add_reference(c->out, body, len, cleanup, arg) != 0) {
        beat_log_rl(5000, BEAT_ERROR, "http_out_of_memory", "bytes=%zu", len);
        c->closing = true;
        if (cleanup) cleanup(body, len, arg);
    }
}

int beat_http_add_header(beat_http_req *req, const char *name, const char *value) {
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) return -EINVAL;
    beat_buf *x = &req->c->xhdr;
    size_t keep = x->len;
    if (beat_buf_printf(x, "%s: %s\r\n", name, value)) {
        x->len = keep;
        return -EMSGSIZE;
    }
    return 0;
}

/* ---- admin endpoints --------------------------------------------------- */

void beat_http_health_body(beat_buf *out, bool ready, int64_t start_ms, const beat_buf *detail) {
    const char *svc = beat_log_svc();
    beat_buf_puts(out, "{\"svc\":");
    beat_buf_json_str(out, svc, strlen(svc));
    beat_buf_printf(out, ",\"ready\":%s,\"uptime_s\":%lld,\"pid\":%d", ready ? "true" : "false",
                    (long long)((beat_mono_ms() - start_ms) / 1000), (int)getpid());
    const char *d = detail->data;
    size_t dl = detail->len;
    while (dl && (*d == ',' || *d == ' ' || *d == '\n')) d++, dl--;
    while (dl && (d[dl - 1] == ',' || d[dl - 1] == ' ' || d[dl - 1] == '\n')) dl--;
    if (dl) {
        beat_buf_puts(out, ",");
        beat_buf_append(out, d, dl);
    }
    beat_buf_puts(out, "}");
}

static void on_healthz(beat_http_req *req, void *arg) {
    beat_http *h = arg;
    beat_buf detail, out;
    beat_buf_init(&detail, 64 * 1024);
    beat_buf_init(&out, 80 * 1024);
    bool ready = h->health ? h->health(h->health_arg, &detail) : true;
    beat_http_health_body(&out, ready, h->start_ms, &detail);
    beat_http_reply_json(req, 200, out.data, out.len);
    beat_buf_fini(&detail);
    beat_buf_fini(&out);
}

static void on_metrics(beat_http_req *req, void *arg) {
    (void)arg;
    beat_buf out;
    beat_buf_init(&out, METRICS_MAX);
    int rc = beat_metrics_render(&out);
    if (rc) {
        beat_log_rl(10000, BEAT_ERROR, "metrics_render_failed", "err=%d", rc);
        beat_http_reply_error(req, 500, "metrics render failed");
    } else {
        beat_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    }
    beat_buf_fini(&out);
}

static void on_notfound(beat_http_req *req, void *arg) {
    (void)arg;
    beat_http_reply_error(req, 404, "not found");
}

void httpd_dispatch(httpd_conn *c, beat_http_req *req) { c->route->fn(req, c->route->arg); }

/* Exact paths first; then a route ending in "/" "*" takes every longer path
 * under its prefix (such a "/v1/segments/" route serves "/v1/segments/crm"). */
const httpd_route *httpd_route_find(const beat_http *h, const char *path) {
    for (int i = 0; i < h->nroutes; i++)
        if (strcmp(h->routes[i].path, path) == 0) return &h->routes[i];
    for (int i = 0; i < h->nroutes; i++) {
        const char *rp = h->routes[i].path;
        size_t n = strlen(rp);
        if (n >= 2 && rp[n - 1] == '*' && rp[n - 2] == '/' && strncmp(path, rp, n - 1) == 0 &&
            path[n - 1])
            return &h->routes[i];
    }
    return &h->fallback;
}

/* ---- server ------------------------------------------------------------ */

static void metrics_init(void) {
    httpd_metrics *m = &httpd_m;
    m->open = beat_gauge_new("beat_http_connections", "Open HTTP connections");
    m->accepted = beat_counter_new("beat_http_connections_total", "HTTP connections accepted");
    m->evicted = beat_counter_new(
        "beat_http_evicted_total",
        "Connections closed at --http-max-conns to make room: the one waiting longest "
        "for a complete request");
    static const char *const rf = "Connections closed at accept: --http-max-conns reached and "
                                  "all being answered, or the peer at --http-max-conns-per-source";
    m->refused = beat_counter_new("beat_http_refused_total{reason=\"max_conns\"}", rf);
    m->per_source = beat_counter_new("beat_http_refused_total{reason=\"per_source\"}", rf);
    static const char *const th = "Connections closed by a deadline";
    m->t_header = beat_counter_new("beat_http_timeouts_total{phase=\"header\"}", th);
    m->t_body = beat_counter_new("beat_http_timeouts_total{phase=\"body\"}", th);
    m->t_idle = beat_counter_new("beat_http_timeouts_total{phase=\"idle\"}", th);
    m->t_write = beat_counter_new("beat_http_timeouts_total{phase=\"write\"}", th);
    static const char *const rh = "Requests refused by the HTTP layer before any handler";
    m->r_malformed = beat_counter_new("beat_http_rejected_total{reason=\"malformed\"}", rh);
    m->r_oversize = beat_counter_new("beat_http_rejected_total{reason=\"oversize\"}", rh);
    m->r_auth = beat_counter_new("beat_http_rejected_total{reason=\"unauthorized\"}", rh);
    m->r_type = beat_counter_new("beat_http_rejected_total{reason=\"media_type\"}", rh);
    m->r_length = beat_counter_new("beat_http_rejected_total{reason=\"length_required\"}", rh);
    m->r_method = beat_counter_new("beat_http_rejected_total{reason=\"method\"}", rh);
}

void httpd_metrics_once(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, metrics_init);
}

/* ---- binding ------------------------------------------------------------ */

int beat_http_listen_socket(const char *listen_addr, bool reuseport, int *fd_out) {
    char host[256];
    int port;
    if (beat_parse_hostport(listen_addr, host, sizeof host, &port)) return -EINVAL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    const char *node = host;
    if (!host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0) {
        node = NULL;
        hints.ai_family = AF_INET;
    }
    int g = getaddrinfo(node, ps, &hints, &ai);
    if (g) return g == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
    int rc = -EADDRNOTAVAIL;
    for (struct addrinfo *p = ai; p; p = p->ai_next) {
        int fd =
            socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            rc = -errno;
            close(fd);
            continue;
        }
        if (bind(fd, p->ai_addr, p->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
            rc = -errno;
            close(fd);
            continue;
        }
        *fd_out = fd;
        rc = 0;
        break;
    }
    freeaddrinfo(ai);
    return rc;
}

beat_http *beat_http_new_lim(struct event_base *base, const char *listen, size_t max_body,
                             bool reuseport, const beat_http_limits *lim, int *err) {
    int e = -ENOMEM;
    beat_http *h = NULL;
    if (!base) {
        e = -EINVAL;
        goto fail;
    }
    httpd_metrics_once();
    if (!(h = calloc(1, sizeof *h))) goto fail;
    static const beat_http_limits def = BEAT_HTTP_LIMITS_DEFAULT;
    h->base = base;
    h->lfd = -1;
    h->lim = lim ? *lim : def;
    if (h->lim.max_conns < 1 || h->lim.body_min_rate < 1) {
        e = -EINVAL;
        goto fail;
    }
    /* A counted connection holds one of max_conns (plus the one being
     * accepted): that bounds the addresses the table tracks. */
    if (h->lim.max_conns_per_source &&
        !(h->srccap = beat_srccap_new((int)h->lim.max_conns_per_source, (int)h->lim.max_conns + 1,
                                      h->lim.exempt_networks, &e))) {
        if (e == -EINVAL)
            beat_log(BEAT_ERROR, "http_bad_exempt_networks", "networks=\"%s\"",
                     h->lim.exempt_networks);
        goto fail;
    }
    h->lim.exempt_networks = NULL; /* parsed: the caller's string is not kept */
    h->max_body = max_body ? max_body : 64 * 1024;
    h->start_ms = beat_mono_ms();
    h->fallback.fn = on_notfound;
    if (listen) { /* NULL: no listener, beat_http_feed only (fuzzing) */
        if ((e = beat_http_listen_socket(listen, reuseport, &h->lfd))) goto fail;
        e = -ENOMEM;
        h->lev = event_new(base, h->lfd, EV_READ | EV_PERSIST, httpd_on_accept, h);
        h->resume = h->lev ? beat_http_accept_resume_new(base, h->lev) : NULL;
        if (!h->lev || !h->resume || event_add(h->lev, NULL)) goto fail;
    }
    e = -ENOMEM;
    beat_http_route(h, "/healthz", on_healthz, h);
    beat_http_route(h, "/metrics", on_metrics, h);
    if (h->nroutes != 2) goto fail;
    return h;
fail:
    beat_http_free(h);
    if (err) *err = e;
    return NULL;
}

beat_http *beat_http_new(struct event_base *base, const char *listen, size_t max_body,
                         bool reuseport, int *err) {
    return beat_http_new_lim(base, listen, max_body, reuseport, NULL, err);
}

static void route_fini(httpd_route *r) {
    free(r->path);
    free(r->token);
    free(r->types);
    free(r->read_only);
    free(r->allow);
}

void beat_http_free(beat_http *h) {
    if (!h) return;
    httpd_close_all(h);
    httpd_defer_free(h);
    if (h->lev) event_free(h->lev);
    if (h->resume) event_free(h->resume);
    if (h->lfd >= 0) close(h->lfd);
    for (int i = 0; i < h->nroutes; i++) route_fini(&h->routes[i]);
    free(h->routes);
    beat_srccap_free(h->srccap); /* after the connections: they release it */
    free(h);
}

static void accept_resume(evutil_socket_t fd, short what, void *lev) {
    (void)fd;
    (void)what;
    event_add(lev, NULL);
}

struct event *beat_http_accept_resume_new(struct event_base *base, struct event *lev) {
    return evtimer_new(base, accept_resume, lev);
}

void beat_http_accept_pause(struct event *lev, struct event *resume, int err) {
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) return;
    beat_log_rl(5000, BEAT_WARN, "http_accept_failed", "err=%d", -err);
    event_del(lev);
    struct timeval tv = {0, 100000};
    evtimer_add(resume, &tv);
}

int beat_http_sock_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int beat_http_port(const beat_http *h) { return h ? beat_http_sock_port(h->lfd) : -1; }

int beat_http_conns(const beat_http *h) { return h ? h->n_open : 0; }

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void beat_http_route_ex(beat_http *h, const char *path, beat_http_fn fn, void *arg,
                        const beat_http_route_opts *opts) {
    static const beat_http_route_opts none;
    if (!opts) opts = &none;
    httpd_route r = {.fn = fn, .arg = arg, .o = *opts};
    r.path = strdup(path);
    r.o.token = r.token = dup_or_null(opts->token);
    r.o.types = r.types = dup_or_null(opts->types);
    r.o.read_only = r.read_only = dup_or_null(opts->read_only);
    r.o.allow = r.allow = dup_or_null(opts->allow);
    if (!r.path || (opts->token && !r.token) || (opts->types && !r.types) ||
        (opts->read_only && !r.read_only) || (opts->allow && !r.allow))
        goto fail;
    for (int i = 0; i < h->nroutes; i++) { /* a second route for a path replaces it */
        if (strcmp(h->routes[i].path, path) == 0) {
            route_fini(&h->routes[i]);
            h->routes[i] = r;
            return;
        }
    }
    httpd_route *nr = realloc(h->routes, (size_t)(h->nroutes + 1) * sizeof *nr);
    if (!nr) goto fail;
    h->routes = nr;
    h->routes[h->nroutes++] = r;
    return;
fail:
    route_fini(&r);
    beat_log(BEAT_ERROR, "http_route_failed", "path=%s", path);
}

void beat_http_route(beat_http *h, const char *path, beat_http_fn fn, void *arg) {
    beat_http_route_ex(h, path, fn, arg, NULL);
}

void beat_http_fallback(beat_http *h, beat_http_fn fn, void *arg) {
    h->fallback.fn = fn ? fn : on_notfound;
    h->fallback.arg = arg;
}

void beat_http_set_health(beat_http *h, beat_health_fn fn, void *arg) {
    h->health = fn;
    h->health_arg = arg;
}

/* ---- threaded admin server -------------------------------------------- */

struct beat_admin {
    struct event_base *base;
    beat_http *http;
    struct event *wake;
    int pipe[2];
    pthread_t th;
};

/* Runs on the admin thread: the stop byte arrived, leave the loop. */
static void admin_wake_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    beat_admin *a = arg;
    event_base_loopbreak(a->base);
}

static void *admin_main(void *arg) {
    beat_admin *a = arg;
    event_base_loop(a->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void admin_free(beat_admin *a) {
    if (a->http) beat_http_free(a->http);
    if (a->wake) event_free(a->wake);
    if (a->base) event_base_free(a->base);
    if (a->pipe[0] >= 0) close(a->pipe[0]);
    if (a->pipe[1] >= 0) close(a->pipe[1]);
    free(a);
}

beat_admin *beat_admin_start_lim(const char *listen, beat_health_fn fn, void *arg,
                                 const beat_http_limits *lim, int *err) {
    int e = 0;
    beat_admin *a = calloc(1, sizeof *a);
    if (!a) {
        if (err) *err = -ENOMEM;
        return NULL;
    }
    a->pipe[0] = a->pipe[1] = -1;
    /* A pipe instead of evthread locking: stopping needs no global
     * libevent threading state shared with the daemon's own bases. */
    if (pipe2(a->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        e = -errno;
        goto fail;
    }
    if (!(a->base = event_base_new())) {
        e = -ENOMEM;
        goto fail;
    }
    a->wake = event_new(a->base, a->pipe[0], EV_READ | EV_PERSIST, admin_wake_cb, a);
    if (!a->wake || event_add(a->wake, NULL) != 0) {
        e = -ENOMEM;
        goto fail;
    }
    /* Binding happens here, on the caller's thread, so errors return. */
    if (!(a->http = beat_http_new_lim(a->base, listen, 4096, false, lim, &e))) goto fail;
    beat_http_set_health(a->http, fn, arg);
    int prc = pthread_create(&a->th, NULL, admin_main, a);
    if (prc) {
        e = -prc;
        goto fail;
    }
    return a;
fail:
    admin_free(a);
    if (err) *err = e ? e : -EIO;
    return NULL;
}

beat_admin *beat_admin_start(const char *listen, beat_health_fn fn, void *arg, int *err) {
    return beat_admin_start_lim(listen, fn, arg, NULL, err);
}

void beat_admin_stop(beat_admin *a) {
    if (!a) return;
    char c = 1;
    while (write(a->pipe[1], &c, 1) < 0 && errno == EINTR) {}
    pthread_join(a->th, NULL);
    admin_free(a);
}
