/* Unit tests for beat_http and beat_httpc over real loopback sockets: the
 * threaded admin server (/healthz, /metrics, 404), a beat_http server run
 * on its own thread (routes, 413 for oversize bodies, query parsing,
 * bearer auth, SO_REUSEPORT), and the client's error mapping (refused,
 * timeout, oversize response). */
#include "beat_http.h"
#include "beat_httpc.h"
#include "beat_metrics.h"
#include "beat_test.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A port that was free a moment ago (the kernel picks it). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool health_cb(void *arg, beat_buf *d) {
    int *calls = arg;
    (*calls)++;
    beat_buf_puts(d, "\"state_version\":3,\"name\":\"x\\\"y\",");
    return *calls > 1;
}

static int t_admin(void) {
    beat_counter *c = beat_counter_new("beat_httptest_hits_total", "hits");
    beat_counter_add(c, 7);
    int port = free_port(), err = 0, calls = 0;
    char listen[64], url[128];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    beat_admin *a = beat_admin_start(listen, health_cb, &calls, &err);
    CHECK(a);
    beat_httpc *hc = beat_httpc_new(2000);
    CHECK(hc);
    beat_buf resp;
    beat_buf_init(&resp, 1 << 20);
    long st = 0;
    snprintf(url, sizeof url, "http://%s/healthz", listen);
    CHECK_EQ_INT(beat_httpc_get(hc, url, &resp, &st), 0);
    CHECK_EQ_INT(st, 200);
    cJSON *j = cJSON_Parse(resp.data);
    CHECK(j);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "svc")));
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "ready")));
    CHECK(cJSON_GetObjectItem(j, "pid")->valueint == (int)getpid());
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, "uptime_s")));
    CHECK(cJSON_GetObjectItem(j, "state_version")->valueint == 3);
    CHECK_EQ_STR(cJSON_GetObjectItem(j, "name")->valuestring, "x\"y");
    cJSON_Delete(j);
    /* second call: ready; same connection reused */
    CHECK_EQ_INT(beat_httpc_get(hc, url, &resp, &st), 0);
    CHECK(strstr(resp.data, "\"ready\":true"));

    snprintf(url, sizeof url, "http://%s/metrics", listen);
    CHECK_EQ_INT(beat_httpc_get(hc, url, &resp, &st), 0);
    CHECK_EQ_INT(st, 200);
    CHECK(strstr(resp.data, "# TYPE beat_httptest_hits_total counter\n"
                            "beat_httptest_hits_total 7\n"));
    /* response bigger than the buffer's max */
    beat_buf small;
    beat_buf_init(&small, 16);
    CHECK_EQ_INT(beat_httpc_get(hc, url, &small, &st), -EMSGSIZE);
    CHECK(small.len == 0);
    beat_buf_fini(&small);

    snprintf(url, sizeof url, "http://%s/nope?x=1", listen);
    CHECK_EQ_INT(beat_httpc_get(hc, url, &resp, &st), 0);
    CHECK_EQ_INT(st, 404);
    CHECK_EQ_STR(resp.data, "{\"error\":\"not found\"}");

    /* a second admin on the same port fails with an error, not a crash */
    beat_admin *a2 = beat_admin_start(listen, NULL, NULL, &err);
    CHECK(!a2);
    CHECK_EQ_INT(err, -EADDRINUSE);
    CHECK(!beat_admin_start("nonsense", NULL, NULL, &err));
    CHECK_EQ_INT(err, -EINVAL);

    beat_admin_stop(a);
    beat_admin_stop(NULL);
    /* after stop: refused */
    snprintf(url, sizeof url, "http://%s/healthz", listen);
    CHECK_EQ_INT(beat_httpc_get(hc, url, &resp, &st), -ECONNREFUSED);
    CHECK(beat_httpc_error(hc)[0]);
    beat_buf_fini(&resp);
    beat_httpc_free(hc);
    beat_httpc_free(NULL);
    return 0;
}

/* ---- a beat_http server on a thread ----------------------------------- */

typedef struct {
    struct event_base *base;
    beat_http *h;
    const char *token;
} srv;

static void on_echo(beat_http_req *req, void *arg) {
    (void)arg;
    beat_buf b;
    beat_buf_init(&b, 4096);
    int rc = beat_http_body(req, &b);
    if (rc) beat_http_reply_error(req, 400, "body too big");
    else beat_http_reply(req, 200, "application/octet-stream", b.data, b.len);
    beat_buf_fini(&b);
}

static void on_smallbody(beat_http_req *req, void *arg) {
    (void)arg;
    beat_buf b;
    beat_buf_init(&b, 8);
    int rc = beat_http_body(req, &b);
    char out[64];
    snprintf(out, sizeof out, "{\"rc\":%d}", rc);
    beat_http_reply_json(req, 200, out, strlen(out));
    beat_buf_fini(&b);
}

static void on_query(beat_http_req *req, void *arg) {
    (void)arg;
    char v[16];
    int64_t n = 0;
    int rc1 = beat_http_query(req, "name", v, sizeof v);
    int rc2 = beat_http_query_i64(req, "after", -1, 0, 1000, &n);
    beat_buf b;
    beat_buf_init(&b, 4096);
    beat_buf_printf(&b, "{\"rc1\":%d,\"rc2\":%d,\"n\":%lld,\"v\":", rc1, rc2, (long long)n);
    if (rc1 == 0) beat_buf_json_str(&b, v, strlen(v));
    else beat_buf_puts(&b, "null");
    beat_buf_puts(&b, "}");
    beat_http_reply_json(req, 200, b.data, b.len);
    beat_buf_fini(&b);
}

static void on_auth(beat_http_req *req, void *arg) {
    srv *s = arg;
    if (!beat_http_bearer_ok(req, s->token)) beat_http_reply_error(req, 401, "unauthorized");
    else beat_http_reply_json(req, 200, "{}", 2);
}

static void on_quit(beat_http_req *req, void *arg) {
    srv *s = arg;
    beat_http_reply(req, 200, NULL, NULL, 0);
    /* Leave the loop a little later so the reply gets written first. */
    struct timeval tv = {0, 100 * 1000};
    event_base_loopexit(s->base, &tv);
}

/* Prefix route: echoes the full path it was called with. */
static void on_prefix(beat_http_req *req, void *arg) {
    (void)arg;
    const char *p = beat_http_req_path(req);
    beat_http_reply(req, 200, "text/plain", p, strlen(p));
}

static void on_fallback(beat_http_req *req, void *arg) {
    (void)arg;
    beat_http_reply_error(req, 418, "fallback \"here\"\n");
}

static void *srv_main(void *arg) {
    srv *s = arg;
    event_base_dispatch(s->base);
    return NULL;
}

static long req(beat_httpc *c, const char *method, const char *url, const void *body, size_t len,
                const char *bearer, beat_buf *resp) {
    long st = -1;
    int rc = beat_httpc_send(c, method, url, "application/json", body, len, bearer, resp, &st);
    return rc ? rc : st;
}

static int t_server(void) {
    srv s = {.token = "s3cret-token"};
    s.base = event_base_new();
    int port = free_port(), err = 0;
    char listen[64], base_url[96], url[256];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
    s.h = beat_http_new(s.base, listen, 1024, false, &err);
    CHECK(s.h);
    CHECK_EQ_INT(beat_http_port(s.h), port);
    beat_http_route(s.h, "/echo", on_echo, &s);
    beat_http_route(s.h, "/small", on_smallbody, &s);
    beat_http_route(s.h, "/q", on_query, &s);
    beat_http_route(s.h, "/auth", on_auth, &s);
    beat_http_route(s.h, "/quit", on_quit, &s);
    beat_http_route(s.h, "/p/*", on_prefix, &s);
    beat_http_fallback(s.h, on_fallback, &s);
    /* binding the same port again fails unless both use SO_REUSEPORT */
    beat_http *dup = beat_http_new(s.base, listen, 1024, false, &err);
    CHECK(!dup);
    CHECK_EQ_INT(err, -EADDRINUSE);
    /* From here on only the server thread touches the base. */
    pthread_t th;
    pthread_create(&th, NULL, srv_main, &s);

    beat_httpc *c = beat_httpc_new(3000);
    beat_buf r;
    beat_buf_init(&r, 1 << 16);
    char body[2048];
    memset(body, 'b', sizeof body);

    snprintf(url, sizeof url, "%s/echo", base_url);
    CHECK_EQ_INT(req(c, "POST", url, "hello", 5, NULL, &r), 200);
    CHECK_EQ_STR(r.data, "hello");
    CHECK_EQ_INT(req(c, "PUT", url, body, 1024, NULL, &r), 200);
    CHECK_EQ_INT(r.len, 1024);
    CHECK_EQ_INT(req(c, "POST", url, body, 1025, NULL, &r), 413);
    CHECK_EQ_INT(req(c, "POST", url, body, sizeof body, NULL, &r), 413);
    /* the server keeps serving after a 413 */
    CHECK_EQ_INT(req(c, "POST", url, "ok", 2, NULL, &r), 200);
    CHECK_EQ_STR(r.data, "ok");
    snprintf(url, sizeof url, "%s/small", base_url);
    CHECK_EQ_INT(req(c, "POST", url, body, 9, NULL, &r), 200);
    CHECK_EQ_STR(r.data, "{\"rc\":-90}"); /* -EMSGSIZE */
    CHECK_EQ_INT(req(c, "POST", url, body, 8, NULL, &r), 200);
    CHECK_EQ_STR(r.data, "{\"rc\":0}");

    /* query parsing */
    static const struct {
        const char *q;
        const char *want;
    } qs[] = {
        {"", "{\"rc1\":-2,\"rc2\":0,\"n\":-1,\"v\":null}"},
        {"?name=bob&after=42", "{\"rc1\":0,\"rc2\":0,\"n\":42,\"v\":\"bob\"}"},
        {"?after=1000&name=a%20b+c", "{\"rc1\":0,\"rc2\":0,\"n\":1000,\"v\":\"a b c\"}"},
        {"?after=1001", "{\"rc1\":-2,\"rc2\":-22,\"n\":0,\"v\":null}"},
        {"?after=-1", "{\"rc1\":-2,\"rc2\":-22,\"n\":0,\"v\":null}"},
        {"?after=12x", "{\"rc1\":-2,\"rc2\":-22,\"n\":0,\"v\":null}"},
        {"?after=", "{\"rc1\":-2,\"rc2\":-22,\"n\":0,\"v\":null}"},
        {"?name=0123456789abcdef", "{\"rc1\":-90,\"rc2\":0,\"n\":-1,\"v\":null}"},
        {"?name=%zz%4", "{\"rc1\":0,\"rc2\":0,\"n\":-1,\"v\":\"%zz%4\"}"},
        {"?name=a%00b", "{\"rc1\":-22,\"rc2\":0,\"n\":-1,\"v\":null}"},
        {"?na%6De=x&flag&&after=3", "{\"rc1\":0,\"rc2\":0,\"n\":3,\"v\":\"x\"}"},
        {"?name", "{\"rc1\":0,\"rc2\":0,\"n\":-1,\"v\":\"\"}"},
        {"?names=1&xname=2", "{\"rc1\":-2,\"rc2\":0,\"n\":-1,\"v\":null}"},
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        snprintf(url, sizeof url, "%s/q%s", base_url, qs[i].q);
        CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 200);
        if (strcmp(r.data, qs[i].want) != 0) fprintf(stderr, "  query %s\n", qs[i].q);
        CHECK_EQ_STR(r.data, qs[i].want);
    }

    /* bearer */
    snprintf(url, sizeof url, "%s/auth", base_url);
    CHECK_EQ_INT(req(c, "POST", url, "{}", 2, NULL, &r), 401);
    CHECK_EQ_STR(r.data, "{\"error\":\"unauthorized\"}");
    CHECK_EQ_INT(req(c, "POST", url, "{}", 2, "s3cret-token", &r), 200);
    CHECK_EQ_INT(req(c, "POST", url, "{}", 2, "s3cret-toke", &r), 401);
    CHECK_EQ_INT(req(c, "POST", url, "{}", 2, "s3cret-tokenX", &r), 401);
    CHECK_EQ_INT(req(c, "POST", url, "{}", 2, "S3cret-token", &r), 401);
    CHECK_EQ_INT(req(c, "POST", url, "{}", 2, "", &r), 401);

    /* fallback replaces the 404; JSON error escaped */
    snprintf(url, sizeof url, "%s/other/path", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 418);
    CHECK_EQ_STR(r.data, "{\"error\":\"fallback \\\"here\\\"\\n\"}");
    /* a prefix route serves the paths below it, not the prefix itself */
    snprintf(url, sizeof url, "%s/p/list-1?x=2", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 200);
    CHECK_EQ_STR(r.data, "/p/list-1");
    snprintf(url, sizeof url, "%s/p/", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 418);
    snprintf(url, sizeof url, "%s/p", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 418);
    snprintf(url, sizeof url, "%s/px/1", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 418);
    /* routes match the path without the query */
    snprintf(url, sizeof url, "%s/healthz?x=1", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 200);
    CHECK(strstr(r.data, "\"ready\":true"));
    snprintf(url, sizeof url, "%s/metrics", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 200);

    snprintf(url, sizeof url, "%s/quit", base_url);
    CHECK_EQ_INT(req(c, "GET", url, NULL, 0, NULL, &r), 200);
    pthread_join(th, NULL);
    beat_http_free(s.h);
    beat_http_free(NULL);
    event_base_free(s.base);
    beat_buf_fini(&r);
    beat_httpc_free(c);
    return 0;
}

static int t_reuseport(void) {
    struct event_base *b1 = event_base_new(), *b2 = event_base_new();
    int port = free_port(), err = 0;
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    beat_http *h1 = beat_http_new(b1, listen, 1024, true, &err);
    beat_http *h2 = beat_http_new(b2, listen, 1024, true, &err);
    CHECK(h1);
    CHECK(h2);
    beat_http_free(h1);
    beat_http_free(h2);
    /* any-address forms */
    snprintf(listen, sizeof listen, ":%d", port);
    h1 = beat_http_new(b1, listen, 1024, false, &err);
    CHECK(h1);
    beat_http_free(h1);
    snprintf(listen, sizeof listen, "0.0.0.0:%d", port);
    h1 = beat_http_new(b1, listen, 1024, false, &err);
    CHECK(h1);
    beat_http_free(h1);
    event_base_free(b1);
    event_base_free(b2);
    return 0;
}

static int t_client_timeout(void) {
    /* A listener that never accepts: the handshake completes in the
     * kernel, no reply ever comes. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fd, 8) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &l) == 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    beat_httpc *c = beat_httpc_new(200);
    beat_buf r;
    beat_buf_init(&r, 1024);
    long st = 0;
    int64_t t0 = beat_mono_ms();
    CHECK_EQ_INT(beat_httpc_get(c, url, &r, &st), -ETIMEDOUT);
    int64_t took = beat_mono_ms() - t0;
    CHECK(took >= 150 && took < 2000);
    CHECK(strstr(beat_httpc_error(c), "imeout") || strstr(beat_httpc_error(c), "imed out"));
    /* garbage URL: an error, not a crash */
    CHECK_EQ_INT(beat_httpc_get(c, "notaurl://x", &r, &st), -EIO);
    close(fd);
    beat_buf_fini(&r);
    beat_httpc_free(c);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"admin", t_admin},
        {"server", t_server},
        {"reuseport", t_reuseport},
        {"client_timeout", t_client_timeout},
        {0},
    };
    return beat_test_main("beat_http", tests, argc, argv);
}
