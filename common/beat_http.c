/* HTTP serving on libevent evhttp for every daemon: binding, the admin
 * endpoints (/healthz, /metrics), the threaded admin server for daemons with
 * a blocking main loop, and small request/reply helpers. Bad input gets a
 * 4xx JSON error, never a crash; evhttp itself refuses oversize bodies (413)
 * and headers before any handler runs. Handlers must never block: they run
 * on the daemon's event loop. */
#include "beat_http.h"
#include "beat_log.h"
#include "beat_metrics.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
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

#define HTTP_MAX_HEADERS (16 * 1024)
#define HTTP_TIMEOUT_S 30
#define METRICS_MAX (16 * 1024 * 1024)

struct beat_http {
    struct event_base *base;
    struct evhttp *http;
    beat_http_fn fallback;
    void *fallback_arg;
    beat_health_fn health;
    void *health_arg;
    int64_t start_ms;
};

/* ---- replies ----------------------------------------------------------- */

void beat_http_reply(struct evhttp_request *req, int code,
                     const char *content_type, const void *body, size_t len) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (content_type) evhttp_add_header(h, "Content-Type", content_type);
    if (len) evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    evhttp_send_reply(req, code, NULL, NULL);
}

void beat_http_reply_json(struct evhttp_request *req, int code,
                          const char *json, size_t len) {
    beat_http_reply(req, code, "application/json", json, len);
}

void beat_http_reply_error(struct evhttp_request *req, int code,
                           const char *reason) {
    beat_buf b;
    beat_buf_init(&b, 4096);
    reason = reason ? reason : "";
    beat_buf_puts(&b, "{\"error\":");
    /* Reasons are short; a giant one is cut rather than dropped. */
    size_t n = strlen(reason);
    if (beat_buf_json_str(&b, reason, n > 512 ? 512 : n))
        beat_buf_puts(&b, "\"?\"");
    beat_buf_puts(&b, "}");
    beat_http_reply_json(req, code, b.data, b.len);
    beat_buf_fini(&b);
}

/* ---- admin endpoints --------------------------------------------------- */

static void on_healthz(struct evhttp_request *req, void *arg) {
    beat_http *h = arg;
    beat_buf detail, out;
    beat_buf_init(&detail, 64 * 1024);
    beat_buf_init(&out, 80 * 1024);
    bool ready = h->health ? h->health(h->health_arg, &detail) : true;
    const char *svc = beat_log_svc();
    beat_buf_puts(&out, "{\"svc\":");
    beat_buf_json_str(&out, svc, strlen(svc));
    beat_buf_printf(&out, ",\"ready\":%s,\"uptime_s\":%lld,\"pid\":%d",
                    ready ? "true" : "false",
                    (long long)((beat_mono_ms() - h->start_ms) / 1000),
                    (int)getpid());
    /* Detail is `"k":v` pairs; tolerate stray commas and spaces around. */
    const char *d = detail.data;
    size_t dl = detail.len;
    while (dl && (*d == ',' || *d == ' ' || *d == '\n')) d++, dl--;
    while (dl && (d[dl - 1] == ',' || d[dl - 1] == ' ' || d[dl - 1] == '\n'))
        dl--;
    if (dl) {
        beat_buf_puts(&out, ",");
        beat_buf_append(&out, d, dl);
    }
    beat_buf_puts(&out, "}");
    beat_http_reply_json(req, 200, out.data, out.len);
    beat_buf_fini(&detail);
    beat_buf_fini(&out);
}

static void on_metrics(struct evhttp_request *req, void *arg) {
    (void)arg;
    beat_buf out;
    beat_buf_init(&out, METRICS_MAX);
    int rc = beat_metrics_render(&out);
    if (rc) {
        beat_log_rl(10000, BEAT_ERROR, "metrics_render_failed", "err=%d", rc);
        beat_http_reply_error(req, 500, "metrics render failed");
    } else {
        beat_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                        out.data, out.len);
    }
    beat_buf_fini(&out);
}

static void on_generic(struct evhttp_request *req, void *arg) {
    beat_http *h = arg;
    if (h->fallback) h->fallback(req, h->fallback_arg);
    else beat_http_reply_error(req, 404, "not found");
}

/* ---- server ------------------------------------------------------------ */

int beat_http_listen_socket(const char *listen_addr, bool reuseport, int *fd_out) {
    char host[256];
    int port;
    if (beat_parse_hostport(listen_addr, host, sizeof host, &port))
        return -EINVAL;
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
        int fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        p->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (reuseport &&
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
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

beat_http *beat_http_new(struct event_base *base, const char *listen,
                         size_t max_body, bool reuseport, int *err) {
    int e = 0, fd = -1;
    beat_http *h = NULL;
    if (!base || !listen) {
        e = -EINVAL;
        goto fail;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        e = -ENOMEM;
        goto fail;
    }
    h->base = base;
    h->start_ms = beat_mono_ms();
    h->http = evhttp_new(base);
    if (!h->http) {
        e = -ENOMEM;
        goto fail;
    }
    if ((e = beat_http_listen_socket(listen, reuseport, &fd))) goto fail;
    /* evhttp now owns fd and closes it when freed. */
    if (!evhttp_accept_socket_with_handle(h->http, fd)) {
        close(fd);
        e = -ENOMEM;
        goto fail;
    }
    evhttp_set_max_body_size(h->http, max_body ? (ev_ssize_t)max_body : -1);
    evhttp_set_max_headers_size(h->http, HTTP_MAX_HEADERS);
    evhttp_set_timeout(h->http, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_DELETE);
    evhttp_set_cb(h->http, "/healthz", on_healthz, h);
    evhttp_set_cb(h->http, "/metrics", on_metrics, h);
    evhttp_set_gencb(h->http, on_generic, h);
    return h;
fail:
    if (h && h->http) evhttp_free(h->http);
    free(h);
    if (err) *err = e ? e : -EIO;
    return NULL;
}

void beat_http_free(beat_http *h) {
    if (!h) return;
    evhttp_free(h->http);
    free(h);
}

struct evhttp *beat_http_evhttp(beat_http *h) { return h ? h->http : NULL; }

void beat_http_route(beat_http *h, const char *path, beat_http_fn fn,
                     void *arg) {
    evhttp_del_cb(h->http, path);
    if (evhttp_set_cb(h->http, path, fn, arg) != 0)
        beat_log(BEAT_ERROR, "http_route_failed", "path=%s", path);
}

void beat_http_fallback(beat_http *h, beat_http_fn fn, void *arg) {
    h->fallback = fn;
    h->fallback_arg = arg;
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

beat_admin *beat_admin_start(const char *listen, beat_health_fn fn, void *arg,
                             int *err) {
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
    a->wake = event_new(a->base, a->pipe[0], EV_READ | EV_PERSIST,
                        admin_wake_cb, a);
    if (!a->wake || event_add(a->wake, NULL) != 0) {
        e = -ENOMEM;
        goto fail;
    }
    /* Binding happens here, on the caller's thread, so errors return. */
    if (!(a->http = beat_http_new(a->base, listen, 64 * 1024, false, &e)))
        goto fail;
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

void beat_admin_stop(beat_admin *a) {
    if (!a) return;
    char c = 1;
    while (write(a->pipe[1], &c, 1) < 0 && errno == EINTR) {
    }
    pthread_join(a->th, NULL);
    admin_free(a);
}

/* ---- request helpers --------------------------------------------------- */

int beat_http_body(struct evhttp_request *req, beat_buf *out) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = in ? evbuffer_get_length(in) : 0;
    beat_buf_reset(out);
    if (n == 0) return 0;
    size_t max = out->max ? out->max : SIZE_MAX - 1;
    if (n > max) return -EMSGSIZE;
    /* Linearise in place (no copy when the body sits in one chunk, the
     * usual case) rather than copying through a temporary. */
    const unsigned char *p = evbuffer_pullup(in, -1);
    if (!p) return -ENOMEM;
    return beat_buf_append(out, p, n);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (+ is a space); returns the length, or
 * -EMSGSIZE if it would not fit in out_len-1 bytes. */
static int query_decode(const char *s, size_t n, char *out, size_t out_len) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') c = ' ';
        else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                 hexval(s[i + 2]) >= 0) {
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (m + 1 >= out_len) return -EMSGSIZE;
        out[m++] = (char)c;
    }
    out[m] = '\0';
    return (int)m;
}

int beat_http_query(struct evhttp_request *req, const char *key, char *val,
                    size_t val_len) {
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!q || !key || !val || !val_len) return -ENOENT;
    size_t klen = strlen(key);
    char kbuf[256];
    while (*q) {
        size_t pl = strcspn(q, "&;");
        const char *eq = memchr(q, '=', pl);
        size_t kl = eq ? (size_t)(eq - q) : pl;
        int dk = query_decode(q, kl, kbuf, sizeof kbuf);
        if (dk >= 0 && (size_t)dk == klen && memcmp(kbuf, key, klen) == 0) {
            const char *v = eq ? eq + 1 : q + pl;
            size_t vl = eq ? pl - kl - 1 : 0;
            int dv = query_decode(v, vl, val, val_len);
            if (dv < 0) return dv;
            /* An embedded NUL (%00) would silently cut the value. */
            if ((size_t)dv != strlen(val)) return -EINVAL;
            return 0;
        }
        q += pl;
        if (*q) q++;
    }
    return -ENOENT;
}

int beat_http_query_i64(struct evhttp_request *req, const char *key,
                        int64_t def, int64_t min, int64_t max, int64_t *out) {
    char v[32];
    int rc = beat_http_query(req, key, v, sizeof v);
    if (rc == -ENOENT) {
        *out = def;
        return 0;
    }
    int64_t x;
    if (rc || beat_parse_i64(v, &x) || x < min || x > max) return -EINVAL;
    *out = x;
    return 0;
}

bool beat_http_bearer_ok(struct evhttp_request *req, const char *token) {
    if (!token || !*token) return true;
    const char *h =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ') h++;
    size_t hl = strlen(h), tl = strlen(token);
    while (hl && (h[hl - 1] == ' ' || h[hl - 1] == '\t')) hl--;
    /* Constant time in the token's content; the length is not secret. */
    if (hl != tl) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)h[i] ^ (unsigned char)token[i];
    return diff == 0;
}
