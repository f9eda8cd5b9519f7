/* HTTP handlers of the supervisor, on the main libevent loop. They only
 * check method, auth and size, then hand the body to sup_app; every bad
 * input is a 4xx with {"error":reason}, never a crash. No per-request logs
 * (counters instead). A store failure is the only 5xx (503). */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"

struct sup_api {
    sup_app *app;
    sup_segs *segs; /* NULL until sup_api_segments */
    size_t max_json, max_ckpt;
    const char *token;
    beat_counter *unauthorized;
    beat_counter *too_large[4]; /* the same counters as sup_app's rejected_total */
};

static bool method_is(beat_http_req *req, beat_http_method want, const char *allow) {
    if (beat_http_req_method(req) == want) return true;
    beat_http_add_header(req, "Allow", allow);
    beat_http_reply_error(req, 405, "method not allowed");
    return false;
}

static bool auth_ok(sup_api *api, beat_http_req *req) {
    if (beat_http_bearer_ok(req, api->token)) return true;
    beat_counter_inc(api->unauthorized);
    beat_http_add_header(req, "WWW-Authenticate", "Bearer");
    beat_http_reply_error(req, 401, "missing or wrong bearer token");
    return false;
}

/* The body, bounded by max: false, a 413 reply and a count if larger. The
 * route's own limit (beat_http_route_ex) refuses most before they are read. */
static bool body(beat_http_req *req, size_t max, beat_counter *rej, const char **p, size_t *len) {
    size_t n = 0;
    const char *b = beat_http_req_body(req, &n);
    if (n > max) {
        beat_counter_inc(rej);
        char msg[96];
        snprintf(msg, sizeof msg, "body of %zu bytes is over the limit of %zu", n, max);
        beat_http_reply_error(req, 413, msg);
        return false;
    }
    *p = b;
    *len = n;
    return true;
}

static void reply_result(beat_http_req *req, int rc, int64_t version, const beat_reason *why) {
    if (rc == 0) {
        char out[64];
        int n = snprintf(out, sizeof out, "{\"version\":%lld}", (long long)version);
        beat_http_reply_json(req, 200, out, (size_t)n);
        return;
    }
    int code = rc == -EINVAL ? 400 : rc == -EMSGSIZE ? 413 : 503;
    beat_http_reply_error(req, code, why->msg[0] ? why->msg : "failed");
}

static void on_campaigns(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    beat_http_method cmd = beat_http_req_method(req);
    if (cmd == BEAT_HTTP_GET) {
        size_t len;
        const char *json = sup_app_campaigns_json(api->app, &len);
        if (json) beat_http_reply_json(req, 200, json, len);
        else beat_http_reply_error(req, 404, "no campaigns yet");
        return;
    }
    if (!method_is(req, BEAT_HTTP_PUT, "GET, PUT") || !auth_ok(api, req)) return;
    const char *p;
    size_t len;
    if (!body(req, api->max_json, api->too_large[0], &p, &len)) return;
    beat_reason why = {{0}};
    int64_t v = 0;
    int rc = sup_app_put_campaigns(api->app, p, len, &v, &why);
    reply_result(req, rc, v, &why);
}

/* Exchanges carry authentication, so reading them needs the token too, and
 * what is read has no key material (docs/exchanges.md). The route checks
 * the token of writes, size and media type before the body is read; the
 * GET's token is checked here. */
static void on_exchanges(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    if (!auth_ok(api, req)) return;
    sup_exch *x = sup_app_exchanges(api->app);
    if (beat_http_req_method(req) == BEAT_HTTP_GET) {
        beat_buf b;
        beat_buf_init(&b, SIZE_MAX - 1); /* the served set is bounded by what was accepted */
        int rc = sup_exch_public_json(x, &b);
        if (rc == 0) beat_http_reply_json(req, 200, b.data, b.len);
        else if (rc == -ENOENT) beat_http_reply_error(req, 404, "no exchanges yet");
        else beat_http_reply_error(req, 503, "cannot encode exchanges");
        beat_buf_fini(&b);
        return;
    }
    if (!method_is(req, BEAT_HTTP_PUT, "GET, PUT")) return;
    const char *p;
    size_t len;
    if (!body(req, api->max_json, api->too_large[3], &p, &len)) return;
    beat_reason why = {{0}};
    int64_t v = 0;
    int rc = sup_exch_put(x, p ? p : "", len, &v, &why);
    reply_result(req, rc, v, &why);
}

static void on_state(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, BEAT_HTTP_POST, "POST") || !auth_ok(api, req)) return;
    const char *p;
    size_t len;
    if (!body(req, api->max_json, api->too_large[1], &p, &len)) return;
    beat_reason why = {{0}};
    int64_t v = 0;
    int rc = sup_app_post_state(api->app, p, len, &v, &why);
    reply_result(req, rc, v, &why);
}

static void on_state_latest(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, BEAT_HTTP_GET, "GET")) return;
    size_t len;
    const char *json = sup_app_state_json(api->app, &len);
    if (json) beat_http_reply_json(req, 200, json, len);
    else beat_http_reply_error(req, 404, "no state yet");
}

static void on_checkpoint(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, BEAT_HTTP_POST, "POST") || !auth_ok(api, req)) return;
    const char *p;
    size_t len;
    if (!body(req, api->max_ckpt, api->too_large[2], &p, &len)) return;
    beat_reason why = {{0}};
    int64_t v = 0;
    int rc = sup_app_post_checkpoint(api->app, p, len, &v, &why);
    reply_result(req, rc, v, &why);
}

static void unref_frame(const void *data, size_t len, void *arg) {
    (void)data;
    (void)len;
    sup_frame_unref(arg);
}

static void on_checkpoint_latest(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, BEAT_HTTP_GET, "GET")) return;
    int64_t v = 0;
    sup_frame *f = sup_app_model(api->app, &v);
    if (!f) {
        beat_http_reply_error(req, 404, "no model yet");
        return;
    }
    /* Zero-copy: the reply references the immutable frame until sent. */
    char ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)v);
    beat_http_add_header(req, "X-Beat-Version", ver);
    beat_http_reply_ref(req, 200, "application/octet-stream", f->data + 9, f->len - 9, unref_frame,
                        f);
}

static void on_versions(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, BEAT_HTTP_GET, "GET")) return;
    beat_buf b;
    beat_buf_init(&b, 4096);
    if (sup_app_versions_json(api->app, &b) == 0) beat_http_reply_json(req, 200, b.data, b.len);
    else beat_http_reply_error(req, 503, "cannot encode versions");
    beat_buf_fini(&b);
}

/* Budget accounts per campaign (docs/money.md): read-only, like versions. */
static void on_leases(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, BEAT_HTTP_GET, "GET")) return;
    sup_banker *bk = sup_app_banker(api->app);
    if (!bk) {
        beat_http_reply_error(req, 404, "no budget leases on this supervisor");
        return;
    }
    beat_buf b;
    beat_buf_init(&b, (size_t)64 << 20);
    if (sup_banker_json(bk, &b) == 0) beat_http_reply_json(req, 200, b.data, b.len);
    else beat_http_reply_error(req, 503, "cannot encode leases");
    beat_buf_fini(&b);
}

/* GET /v1/segments: every list's id, version and size (never its ids). */
static void on_segments(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    beat_buf b;
    beat_buf_init(&b, (size_t)1 << 20);
    if (sup_segs_json(api->segs, NULL, &b) == 0) beat_http_reply_json(req, 200, b.data, b.len);
    else beat_http_reply_error(req, 503, "cannot encode segment lists");
    beat_buf_fini(&b);
}

/* /v1/segments/<id>: GET (its version and size), PUT (one user id per
 * line, text/plain), DELETE. The route checked token, size and type. */
static void on_segment_list(beat_http_req *req, void *arg) {
    sup_api *api = arg;
    const char *id = beat_http_req_path(req) + strlen("/v1/segments/");
    beat_http_method m = beat_http_req_method(req);
    beat_reason why = {{0}};
    int64_t v = 0;
    int rc;
    char out[128];
    if (m == BEAT_HTTP_GET) {
        beat_buf b;
        beat_buf_init(&b, 4096);
        rc = sup_segs_json(api->segs, id, &b);
        if (rc == 0) beat_http_reply_json(req, 200, b.data, b.len);
        else beat_http_reply_error(req, rc == -ENOENT ? 404 : 503, "no such list");
        beat_buf_fini(&b);
        return;
    }
    if (m == BEAT_HTTP_DELETE) {
        rc = sup_segs_delete(api->segs, id, &v, &why);
        if (rc == -ENOENT) beat_http_reply_error(req, 404, why.msg);
        else reply_result(req, rc, v, &why);
        return;
    }
    size_t len = 0;
    const char *body = beat_http_req_body(req, &len);
    uint32_t n = 0;
    rc = sup_segs_put(api->segs, id, body ? body : "", len, &v, &n, &why);
    if (rc) {
        reply_result(req, rc, v, &why);
        return;
    }
    int k = snprintf(out, sizeof out, "{\"version\":%lld,\"size\":%u}", (long long)v, n);
    beat_http_reply_json(req, 200, out, (size_t)k);
}

void sup_api_segments(sup_api *api, beat_http *h, sup_segs *g, size_t max_body) {
    api->segs = g;
    beat_http_route_opts o = {
        .token = api->token, .unauthorized = api->unauthorized, .allow = "GET"};
    beat_http_route_ex(h, "/v1/segments", on_segments, api, &o);
    o.allow = "GET, PUT, DELETE";
    o.max_body = max_body;
    o.types = "text/plain";
    beat_http_route_ex(h, "/v1/segments/*", on_segment_list, api, &o);
}

sup_api *sup_api_new(beat_http *h, sup_app *a, const char *admin_token, const sup_cfg *cfg) {
    sup_api *api = calloc(1, sizeof *api);
    if (!api) return NULL;
    api->app = a;
    api->max_json = cfg->max_json_bytes;
    api->max_ckpt = cfg->max_ckpt_bytes;
    api->token = admin_token ? admin_token : "";
    api->unauthorized = beat_counter_new("beat_supervisor_unauthorized_total",
                                         "Writes refused for a missing or wrong token");
    static const char *const kinds[4] = {"campaigns", "state", "checkpoint", "exchanges"};
    for (int k = 0; k < 4; k++) {
        char name[96];
        snprintf(name, sizeof name, "beat_supervisor_rejected_total{kind=\"%s\"}", kinds[k]);
        api->too_large[k] = beat_counter_new(name, "Writes rejected as invalid or too large");
    }
    /* Token, size and media type are checked by the server before a byte of
     * a write's body is read; application/json is not a type a browser may
     * POST cross-site without asking first (docs/deploy.md "HTTP edges"). */
    beat_http_route_opts o = {.max_body = api->max_json,
                              .token = api->token,
                              .unauthorized = api->unauthorized,
                              .too_large = api->too_large[0]};
    o.allow = "GET, PUT";
    beat_http_route_ex(h, "/v1/campaigns", on_campaigns, api, &o);
    o.too_large = api->too_large[3];
    beat_http_route_ex(h, "/v1/exchanges", on_exchanges, api, &o);
    o.too_large = api->too_large[1];
    o.allow = "POST";
    beat_http_route_ex(h, "/v1/state", on_state, api, &o);
    beat_http_route(h, "/v1/state/latest", on_state_latest, api);
    o.max_body = api->max_ckpt;
    o.too_large = api->too_large[2];
    o.types = "application/octet-stream";
    o.allow = "POST";
    beat_http_route_ex(h, "/v1/checkpoint", on_checkpoint, api, &o);
    beat_http_route(h, "/v1/checkpoint/latest", on_checkpoint_latest, api);
    beat_http_route(h, "/v1/versions", on_versions, api);
    beat_http_route(h, "/v1/leases", on_leases, api);
    beat_http_set_health(h, sup_app_health, a);
    return api;
}

void sup_api_free(sup_api *api) { free(api); }
