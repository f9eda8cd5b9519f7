/* HTTP handlers of the supervisor, on the main libevent loop. They only
 * check method, auth and size, then hand the body to sup_app; every bad
 * input is a 4xx with {"error":reason}, never a crash. No per-request logs
 * (counters instead). A store failure is the only 5xx (503). */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "beat_log.h"
#include "beat_metrics.h"

struct sup_api {
    sup_app *app;
    size_t max_json, max_ckpt;
    const char *token;
    beat_counter *unauthorized;
    beat_counter *too_large[4]; /* the same counters as sup_app's rejected_total */
};

static bool method_is(struct evhttp_request *req, enum evhttp_cmd_type want,
                      const char *allow) {
    if (evhttp_request_get_command(req) == want) return true;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    beat_http_reply_error(req, 405, "method not allowed");
    return false;
}

static bool auth_ok(sup_api *api, struct evhttp_request *req) {
    if (beat_http_bearer_ok(req, api->token)) return true;
    beat_counter_inc(api->unauthorized);
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
    beat_http_reply_error(req, 401, "missing or wrong bearer token");
    return false;
}

/* The body as one contiguous block (evbuffer_pullup), bounded by max:
 * false, a 413 reply and a count if larger. evhttp's own limit is the
 * larger of the JSON and checkpoint limits. */
static bool body(struct evhttp_request *req, size_t max, beat_counter *rej, const char **p,
                 size_t *len) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > max) {
        beat_counter_inc(rej);
        char msg[96];
        snprintf(msg, sizeof msg, "body of %zu bytes is over the limit of %zu", n, max);
        beat_http_reply_error(req, 413, msg);
        return false;
    }
    *p = n ? (const char *)evbuffer_pullup(in, -1) : "";
    *len = n;
    if (!*p) {
        beat_http_reply_error(req, 503, "out of memory");
        return false;
    }
    return true;
}

static void reply_result(struct evhttp_request *req, int rc, int64_t version,
                         const beat_reason *why) {
    if (rc == 0) {
        char out[64];
        int n = snprintf(out, sizeof out, "{\"version\":%lld}", (long long)version);
        beat_http_reply_json(req, 200, out, (size_t)n);
        return;
    }
    int code = rc == -EINVAL ? 400 : rc == -EMSGSIZE ? 413 : 503;
    beat_http_reply_error(req, code, why->msg[0] ? why->msg : "failed");
}

static void on_campaigns(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd == EVHTTP_REQ_GET) {
        size_t len;
        const char *json = sup_app_campaigns_json(api->app, &len);
        if (json) beat_http_reply_json(req, 200, json, len);
        else beat_http_reply_error(req, 404, "no campaigns yet");
        return;
    }
    if (!method_is(req, EVHTTP_REQ_PUT, "GET, PUT") || !auth_ok(api, req)) return;
    const char *p;
    size_t len;
    if (!body(req, api->max_json, api->too_large[0], &p, &len)) return;
    beat_reason why = {{0}};
    int64_t v = 0;
    int rc = sup_app_put_campaigns(api->app, p, len, &v, &why);
    reply_result(req, rc, v, &why);
}

/* Exchanges carry authentication, so reading them needs the token too, and
 * what is read has no key material (docs/exchanges.md). Besides this
 * file's method/auth helpers, only beat_http_* calls: the handler moves
 * with them to another HTTP server. */
static void on_exchanges(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    if (!auth_ok(api, req)) return;
    sup_exch *x = sup_app_exchanges(api->app);
    beat_buf b;
    beat_buf_init(&b, api->max_json);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        b.max = SIZE_MAX - 1; /* the served set is bounded by what was accepted */
        int rc = sup_exch_public_json(x, &b);
        if (rc == 0) beat_http_reply_json(req, 200, b.data, b.len);
        else if (rc == -ENOENT) beat_http_reply_error(req, 404, "no exchanges yet");
        else beat_http_reply_error(req, 503, "cannot encode exchanges");
    } else if (method_is(req, EVHTTP_REQ_PUT, "GET, PUT")) {
        int rc = beat_http_body(req, &b);
        beat_reason why = {{0}};
        int64_t v = 0;
        if (rc == -EMSGSIZE) {
            beat_counter_inc(api->too_large[3]);
            beat_http_reply_error(req, 413, "body over --max-json-bytes");
        } else if (rc) {
            beat_http_reply_error(req, 503, "out of memory");
        } else {
            rc = sup_exch_put(x, b.data ? b.data : "", b.len, &v, &why);
            reply_result(req, rc, v, &why);
        }
    }
    beat_buf_fini(&b);
}

static void on_state(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, EVHTTP_REQ_POST, "POST") || !auth_ok(api, req)) return;
    const char *p;
    size_t len;
    if (!body(req, api->max_json, api->too_large[1], &p, &len)) return;
    beat_reason why = {{0}};
    int64_t v = 0;
    int rc = sup_app_post_state(api->app, p, len, &v, &why);
    reply_result(req, rc, v, &why);
}

static void on_state_latest(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, EVHTTP_REQ_GET, "GET")) return;
    size_t len;
    const char *json = sup_app_state_json(api->app, &len);
    if (json) beat_http_reply_json(req, 200, json, len);
    else beat_http_reply_error(req, 404, "no state yet");
}

static void on_checkpoint(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, EVHTTP_REQ_POST, "POST") || !auth_ok(api, req)) return;
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

static void on_checkpoint_latest(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, EVHTTP_REQ_GET, "GET")) return;
    int64_t v = 0;
    sup_frame *f = sup_app_model(api->app, &v);
    if (!f) {
        beat_http_reply_error(req, 404, "no model yet");
        return;
    }
    /* Zero-copy: the reply references the immutable frame until sent. */
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add_reference(out, f->data + 9, f->len - 9, unref_frame, f) != 0) {
        if (out) evbuffer_free(out);
        sup_frame_unref(f);
        beat_http_reply_error(req, 503, "out of memory");
        return;
    }
    char ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)v);
    struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
    evhttp_add_header(hdr, "Content-Type", "application/octet-stream");
    evhttp_add_header(hdr, "X-Beat-Version", ver);
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void on_versions(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, EVHTTP_REQ_GET, "GET")) return;
    beat_buf b;
    beat_buf_init(&b, 4096);
    if (sup_app_versions_json(api->app, &b) == 0) beat_http_reply_json(req, 200, b.data, b.len);
    else beat_http_reply_error(req, 503, "cannot encode versions");
    beat_buf_fini(&b);
}

/* Budget accounts per campaign (docs/money.md): read-only, like versions. */
static void on_leases(struct evhttp_request *req, void *arg) {
    sup_api *api = arg;
    if (!method_is(req, EVHTTP_REQ_GET, "GET")) return;
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

sup_api *sup_api_new(beat_http *h, sup_app *a, const char *admin_token,
                     const sup_cfg *cfg) {
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
    beat_http_route(h, "/v1/campaigns", on_campaigns, api);
    beat_http_route(h, "/v1/exchanges", on_exchanges, api);
    beat_http_route(h, "/v1/state", on_state, api);
    beat_http_route(h, "/v1/state/latest", on_state_latest, api);
    beat_http_route(h, "/v1/checkpoint", on_checkpoint, api);
    beat_http_route(h, "/v1/checkpoint/latest", on_checkpoint_latest, api);
    beat_http_route(h, "/v1/versions", on_versions, api);
    beat_http_route(h, "/v1/leases", on_leases, api);
    beat_http_set_health(h, sup_app_health, a);
    return api;
}

void sup_api_free(sup_api *api) { free(api); }
