/* Read-only relay (--relay-from). One thread subscribes to the primary's
 * pub socket, validates each frame (a garbage-sending primary is counted
 * and ignored, never forwarded) and hands the identical bytes to sup_pub,
 * which re-publishes them and answers its own rep. On start, on a
 * heartbeat whose versions differ from what it holds, and after 3 missed
 * heartbeats it asks the primary's rep for the latest frames. HTTP GETs are
 * answered from those frames; writes get 403. It never touches SQLite. */
#include "relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <nng/nng.h>

#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_fcap.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"
#include "beat_seglist.h"
#include "beat_wire.h"
#include "status.h"

/* The latest frame of one kind and what identifies it. */
enum { V_CAMPAIGNS, V_STATE, V_EXCHANGES, HELD_V, V_MODEL = 0 };
typedef struct held {
    sup_frame *f;
    int64_t v[HELD_V]; /* a snapshot's versions; a model's is v[V_MODEL] */
    uint32_t crc;      /* as the heartbeat carries it */
    int64_t ts;        /* ms when received */
} held;

struct sup_relay {
    sup_relay_cfg cfg;
    char *from, *from_rep; /* owned copies of the primary's URLs */
    sup_pub *pub;
    nng_socket sub, req;
    bool sub_open, req_open;
    pthread_t thr;
    bool started;
    volatile int stopping; /* atomic */

    pthread_mutex_t mu;     /* guards everything below */
    held snap, model, segs; /* segs: v[0] is the segments version */
    int64_t seen_ts;        /* ms when the primary was last heard */
    beat_ckpt_header mh;

    beat_counter *got[4], *bad, *requests, *req_fail;
};

/* Takes frame bytes unless they are the frame already held (a re-send,
 * e.g. the answer to our own request racing the pub copy; a primary
 * restarted on another db may reuse version numbers, hence the CRC): the
 * copy replaces *h's frame, versions, crc and time under the lock, and mh
 * (a model's header, NULL for a snapshot) replaces r->mh with it. Returns
 * the new frame, owned by *h (only this thread replaces it), or NULL when
 * nothing changed. */
static sup_frame *take(sup_relay *r, held *h, const int64_t v[HELD_V], uint32_t crc,
                       const beat_ckpt_header *mh, const void *data, size_t len) {
    pthread_mutex_lock(&r->mu);
    bool same = h->f && h->crc == crc && memcmp(h->v, v, sizeof h->v) == 0;
    pthread_mutex_unlock(&r->mu);
    if (same) return NULL;
    sup_frame *f = sup_frame_new(len);
    if (!f) return NULL;
    memcpy(f->data, data, len);
    pthread_mutex_lock(&r->mu);
    sup_frame *old = h->f;
    h->f = f;
    memcpy(h->v, v, sizeof h->v);
    h->crc = crc;
    h->ts = beat_now_ms();
    if (mh) r->mh = *mh;
    pthread_mutex_unlock(&r->mu);
    sup_frame_unref(old);
    return f;
}

/* Takes a 'S' frame if it decodes and differs. */
static void on_snapshot(sup_relay *r, const void *data, size_t len) {
    beat_campaign_set cs = {0};
    beat_state st = {0};
    beat_exchange_set xs = {0};
    beat_reason why = {{0}};
    if (beat_snapshot_decode(data, len, &cs, &st, &xs, &why) != 0) {
        beat_counter_inc(r->bad);
        beat_log_rl(5000, BEAT_WARN, "relay_bad_frame", "kind=snapshot reason=\"%s\"", why.msg);
        return;
    }
    int64_t v[HELD_V] = {
        [V_CAMPAIGNS] = cs.version, [V_STATE] = st.version, [V_EXCHANGES] = xs.version};
    beat_campaigns_fini(&cs);
    beat_state_fini(&st);
    beat_exchanges_fini(&xs);
    sup_frame *f = take(r, &r->snap, v, beat_crc32(data, len), NULL, data, len);
    if (!f) return;
    beat_counter_inc(r->got[0]);
    sup_pub_set_snapshot(r->pub, v[V_CAMPAIGNS], v[V_STATE], v[V_EXCHANGES], f);
}

/* Takes a 'C' frame if its checkpoint decodes and differs. */
static void on_model(sup_relay *r, const void *data, size_t len) {
    beat_ckpt ck = {0};
    beat_reason why = {{0}};
    int64_t v[HELD_V] = {0};
    if (beat_ckpt_frame_version(data, len, &v[V_MODEL]) != 0 ||
        beat_ckpt_decode((const uint8_t *)data + BEAT_CKPT_FRAME_HEAD, len - BEAT_CKPT_FRAME_HEAD,
                         r->cfg.recvmax, &ck, &why) != 0) {
        beat_counter_inc(r->bad);
        beat_log_rl(5000, BEAT_WARN, "relay_bad_frame", "kind=checkpoint reason=\"%s\"",
                    len < BEAT_CKPT_FRAME_HEAD ? "short" : why.msg);
        return;
    }
    beat_ckpt_header h = ck.h;
    beat_ckpt_fini(&ck);
    /* The heartbeat's model_crc covers the checkpoint, not the frame head. */
    uint32_t crc =
        beat_crc32((const uint8_t *)data + BEAT_CKPT_FRAME_HEAD, len - BEAT_CKPT_FRAME_HEAD);
    sup_frame *f = take(r, &r->model, v, crc, &h, data, len);
    if (!f) return;
    beat_counter_inc(r->got[1]);
    sup_pub_set_model(r->pub, v[V_MODEL], f);
}

/* Takes a 'U' frame (segment lists) if it decodes and differs. */
static void on_segments(sup_relay *r, const void *data, size_t len) {
    beat_seglists g = {0};
    beat_reason why = {{0}};
    if (beat_seglists_decode(data, len, &g, &why) != 0) {
        beat_counter_inc(r->bad);
        beat_log_rl(5000, BEAT_WARN, "relay_bad_frame", "kind=segments reason=\"%s\"", why.msg);
        return;
    }
    int64_t v[HELD_V] = {g.version};
    beat_seglists_fini(&g);
    sup_frame *f = take(r, &r->segs, v, beat_crc32(data, len), NULL, data, len);
    if (!f) return;
    beat_counter_inc(r->got[3]);
    sup_pub_set_segments(r->pub, v[0], f);
}

/* Asks the primary's rep for "snapshot", "checkpoint" or "segments". true when the
 * answer settled the question (a frame, or 'E': the primary has none). */
static bool fetch(sup_relay *r, const char *what) {
    void *rep = NULL;
    size_t n = 0;
    beat_counter_inc(r->requests);
    int rc = beat_nng_call(r->req, what, strlen(what), &rep, &n);
    if (rc) {
        beat_counter_inc(r->req_fail);
        beat_log_rl(5000, BEAT_WARN, "peer_down", "peer=%s req=%s err=%d", r->cfg.rep_url, what,
                    rc);
        return false;
    }
    const uint8_t *p = rep;
    bool ok = true;
    if (n > 0 && p[0] == BEAT_FRAME_SNAPSHOT) on_snapshot(r, rep, n);
    else if (n > 0 && p[0] == BEAT_FRAME_CHECKPOINT) on_model(r, rep, n);
    else if (n > 0 && p[0] == BEAT_FRAME_SEGMENTS) on_segments(r, rep, n);
    else if (!(n > 0 && p[0] == BEAT_FRAME_ERROR)) ok = false, beat_counter_inc(r->bad);
    free(rep);
    return ok;
}

static void *relay_main(void *arg) {
    sup_relay *r = arg;
    bool need_snap = true, need_model = true, need_segs = true;
    int64_t last_msg = beat_mono_us(), last_fetch = 0;
    int64_t hb_us = (int64_t)r->cfg.heartbeat_ms * 1000;
    while (!__atomic_load_n(&r->stopping, __ATOMIC_ACQUIRE)) {
        int64_t now = beat_mono_us();
        if (now - last_msg > 3 * hb_us && now - last_fetch > hb_us)
            need_snap = need_model = need_segs = true; /* primary silent: poll its rep */
        if ((need_snap || need_model || need_segs) && now - last_fetch > hb_us / 4) {
            last_fetch = now;
            if (need_snap && fetch(r, "snapshot")) need_snap = false;
            if (need_model && fetch(r, "checkpoint")) need_model = false;
            if (need_segs && fetch(r, "segments")) need_segs = false;
        }
        char *buf = NULL;
        size_t sz = 0;
        int rv = nng_recv(r->sub, &buf, &sz, NNG_FLAG_ALLOC);
        if (rv == NNG_ECLOSED) break;
        if (rv != 0) continue; /* NNG_ETIMEDOUT: loop to the checks above */
        last_msg = beat_mono_us();
        pthread_mutex_lock(&r->mu);
        r->seen_ts = beat_now_ms();
        pthread_mutex_unlock(&r->mu);
        uint8_t tag = sz ? (uint8_t)buf[0] : 0;
        if (tag == BEAT_FRAME_SNAPSHOT) {
            on_snapshot(r, buf, sz);
        } else if (tag == BEAT_FRAME_CHECKPOINT) {
            on_model(r, buf, sz);
        } else if (tag == BEAT_FRAME_SEGMENTS) {
            on_segments(r, buf, sz);
        } else if (tag == BEAT_FRAME_HEARTBEAT) {
            beat_heartbeat hb;
            beat_reason why = {{0}};
            if (beat_heartbeat_decode(buf, sz, &hb, &why) == 0) {
                beat_counter_inc(r->got[2]);
                pthread_mutex_lock(&r->mu);
                const held *sn = &r->snap, *mo = &r->model;
                if (hb.campaigns_version != sn->v[V_CAMPAIGNS] ||
                    hb.state_version != sn->v[V_STATE] ||
                    hb.exchanges_version != sn->v[V_EXCHANGES] ||
                    (sn->f && hb.snapshot_crc != sn->crc))
                    need_snap = true;
                if (hb.model_version != mo->v[V_MODEL] || (mo->f && hb.model_crc != mo->crc))
                    need_model = true;
                if (hb.segments_version != r->segs.v[0]) need_segs = true;
                pthread_mutex_unlock(&r->mu);
            } else {
                beat_counter_inc(r->bad);
            }
        } else if (tag == BEAT_FRAME_FCAP) {
            sup_pub_fcap(r->pub, buf, sz); /* as is: inference checks it */
        } else {
            beat_counter_inc(r->bad);
            beat_log_rl(5000, BEAT_WARN, "relay_bad_frame", "kind=unknown tag=%d", tag);
        }
        nng_free(buf, sz);
    }
    return NULL;
}

sup_frame *sup_relay_snapshot(sup_relay *r) {
    pthread_mutex_lock(&r->mu);
    sup_frame *f = sup_frame_ref(r->snap.f);
    pthread_mutex_unlock(&r->mu);
    return f;
}

sup_frame *sup_relay_model(sup_relay *r, int64_t *version) {
    pthread_mutex_lock(&r->mu);
    sup_frame *f = sup_frame_ref(r->model.f);
    *version = r->model.v[V_MODEL];
    pthread_mutex_unlock(&r->mu);
    return f;
}

/* ---- HTTP ------------------------------------------------------------------ */

static void forbid(beat_http_req *req) { beat_http_reply_error(req, 403, "read-only relay"); }

/* Replies with member key ("campaigns" / "state") of the snapshot, with a
 * top-level "version" as the primary serves it. */
static void reply_member(sup_relay *r, beat_http_req *req, const char *key, const char *verkey,
                         const char *none) {
    sup_frame *f = sup_relay_snapshot(r);
    cJSON *root = f ? cJSON_ParseWithLength((const char *)f->data + 1, f->len - 1) : NULL;
    sup_frame_unref(f);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(root, key);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, verkey);
    char *out = NULL;
    if (cJSON_IsObject(m) && cJSON_IsNumber(v)) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "version");
        cJSON_AddNumberToObject(m, "version", v->valuedouble);
        out = cJSON_PrintUnformatted(m);
    }
    if (out) beat_http_reply_json(req, 200, out, strlen(out));
    else beat_http_reply_error(req, 404, none);
    free(out);
    cJSON_Delete(root);
}

static void on_campaigns(beat_http_req *req, void *arg) {
    if (beat_http_req_method(req) != BEAT_HTTP_GET) return forbid(req);
    reply_member(arg, req, "campaigns", "campaigns_version", "no campaigns yet");
}

static void on_state_latest(beat_http_req *req, void *arg) {
    if (beat_http_req_method(req) != BEAT_HTTP_GET) return forbid(req);
    reply_member(arg, req, "state", "state_version", "no state yet");
}

static void on_write_only(beat_http_req *req, void *arg) {
    (void)arg;
    forbid(req);
}

static void unref_frame(const void *data, size_t len, void *arg) {
    (void)data;
    (void)len;
    sup_frame_unref(arg);
}

static void on_checkpoint_latest(beat_http_req *req, void *arg) {
    if (beat_http_req_method(req) != BEAT_HTTP_GET) return forbid(req);
    int64_t v = 0;
    sup_frame *f = sup_relay_model(arg, &v);
    if (!f) {
        beat_http_reply_error(req, 404, "no model yet");
        return;
    }
    char ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)v);
    beat_http_add_header(req, "X-Beat-Version", ver);
    beat_http_reply_ref(req, 200, "application/octet-stream", f->data + BEAT_CKPT_FRAME_HEAD,
                        f->len - BEAT_CKPT_FRAME_HEAD, unref_frame, f);
}

static int versions_json(sup_relay *r, beat_buf *b) {
    pthread_mutex_lock(&r->mu);
    int64_t cv = r->snap.v[V_CAMPAIGNS], sv = r->snap.v[V_STATE], mv = r->model.v[V_MODEL];
    int64_t st = r->snap.ts, mt = r->model.ts;
    int64_t seen = r->seen_ts;
    beat_ckpt_header h = r->mh;
    bool model = r->model.f != NULL;
    pthread_mutex_unlock(&r->mu);
    int rc = beat_buf_printf(b,
                             "{\"campaigns\":%lld,\"state\":%lld,\"model\":%lld,"
                             "\"campaigns_ts\":%lld,\"state_ts\":%lld,\"model_ts\":%lld,"
                             "\"relay_from\":",
                             (long long)cv, (long long)sv, (long long)mv, (long long)st,
                             (long long)st, (long long)mt);
    if (!rc) rc = beat_buf_json_str(b, r->from, strlen(r->from));
    if (!rc)
        rc = beat_buf_printf(b, ",\"primary_seen_ts\":%lld,\"peers\":%d", (long long)seen,
                             sup_pub_peers(r->pub));
    if (!rc) rc = sup_status_model_json(b, model ? &h : NULL);
    if (!rc) rc = beat_buf_puts(b, "}");
    return rc;
}

static void on_versions(beat_http_req *req, void *arg) {
    if (beat_http_req_method(req) != BEAT_HTTP_GET) return forbid(req);
    beat_buf b;
    beat_buf_init(&b, 4096);
    if (versions_json(arg, &b) == 0) beat_http_reply_json(req, 200, b.data, b.len);
    else beat_http_reply_error(req, 503, "cannot encode versions");
    beat_buf_fini(&b);
}

static bool relay_health(void *arg, beat_buf *detail) {
    sup_relay *r = arg;
    pthread_mutex_lock(&r->mu);
    beat_buf_printf(detail,
                    "\"relay\":true,\"campaigns_version\":%lld,\"state_version\":%lld,"
                    "\"model_version\":%lld,\"primary_seen_ts\":%lld",
                    (long long)r->snap.v[V_CAMPAIGNS], (long long)r->snap.v[V_STATE],
                    (long long)r->model.v[V_MODEL], (long long)r->seen_ts);
    pthread_mutex_unlock(&r->mu);
    return true; /* serving what it has; a missing primary is a weak link */
}

void sup_relay_routes(beat_http *h, sup_relay *r) {
    /* Writes are refused before their body is read. */
    beat_http_route_opts ro = {.read_only = "read-only relay"};
    beat_http_route_ex(h, "/v1/campaigns", on_campaigns, r, &ro);
    beat_http_route_ex(h, "/v1/state", on_write_only, r, &ro);
    beat_http_route(h, "/v1/state/latest", on_state_latest, r);
    beat_http_route_ex(h, "/v1/checkpoint", on_write_only, r, &ro);
    beat_http_route(h, "/v1/checkpoint/latest", on_checkpoint_latest, r);
    beat_http_route(h, "/v1/versions", on_versions, r);
    beat_http_set_health(h, relay_health, r);
}

/* ---- lifecycle ------------------------------------------------------------- */

sup_relay *sup_relay_new(const sup_relay_cfg *cfg, sup_pub *pub, int *err) {
    sup_relay *r = calloc(1, sizeof *r);
    if (!r || !(r->from = strdup(cfg->pub_url)) || !(r->from_rep = strdup(cfg->rep_url))) {
        if (r) free(r->from);
        free(r);
        *err = -ENOMEM;
        return NULL;
    }
    r->cfg = *cfg;
    r->cfg.pub_url = r->from;
    r->cfg.rep_url = r->from_rep;
    r->pub = pub;
    pthread_mutex_init(&r->mu, NULL);
    static const char *const kinds[4] = {"snapshot", "checkpoint", "heartbeat", "segments"};
    char name[128];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "beat_supervisor_relay_received_total{frame=\"%s\"}", kinds[i]);
        r->got[i] = beat_counter_new(name, "New frames taken from the primary");
    }
    r->bad = beat_counter_new("beat_supervisor_relay_bad_frames_total",
                              "Frames from the primary that failed validation (dropped)");
    r->requests = beat_counter_new("beat_supervisor_relay_requests_total",
                                   "Requests sent to the primary's rep socket");
    r->req_fail = beat_counter_new("beat_supervisor_link_failures_total{peer=\"primary\"}",
                                   "Failed requests to the primary's rep socket");
    int rc = beat_nng_sub_open(&r->sub, cfg->pub_url, cfg->recvmax);
    if (rc == 0) {
        r->sub_open = true;
        nng_socket_set_ms(r->sub, NNG_OPT_RECVTIMEO, cfg->heartbeat_ms);
        rc = beat_nng_req_open(&r->req, cfg->rep_url, 2 * cfg->heartbeat_ms + 1000, cfg->recvmax);
    }
    if (rc == 0) {
        r->req_open = true;
        rc = -pthread_create(&r->thr, NULL, relay_main, r);
    }
    if (rc) {
        beat_log(BEAT_ERROR, "relay_start_failed", "from=%s err=%d", cfg->pub_url, rc);
        *err = rc;
        sup_relay_free(r);
        return NULL;
    }
    r->started = true;
    return r;
}

void sup_relay_free(sup_relay *r) {
    if (!r) return;
    __atomic_store_n(&r->stopping, 1, __ATOMIC_RELEASE);
    if (r->sub_open) nng_close(r->sub); /* wakes the thread with ECLOSED */
    if (r->req_open) nng_close(r->req);
    if (r->started) pthread_join(r->thr, NULL);
    sup_frame_unref(r->snap.f);
    sup_frame_unref(r->model.f);
    sup_frame_unref(r->segs.f);
    pthread_mutex_destroy(&r->mu);
    free(r->from);
    free(r->from_rep);
    free(r);
}
