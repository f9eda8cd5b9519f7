/* Supervisor → inference sync thread. Frames ('S','C','H','E','U') are
 * defined in beat_wire.h and beat_seglist.h. The thread owns the model and snapshot it last applied,
 * builds a new world whenever either changes and publishes it; a frame that
 * fails to decode or validate is counted and dropped, keeping the last good
 * world. Requests on the rep socket back off 250 ms → 2 s on failure.
 * Versions: a frame older than what we hold is ignored unless the latest
 * heartbeat names exactly that version (the supervisor was reset), so a
 * late reply cannot roll us back while a real reset still converges. */
#include "sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include "beat_clock.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"
#include "audience.h"
#include "beat_fcap.h"
#include "exchange.h"
#include "fcap.h"
#include "lease.h"
#include "opps.h"

#define RECV_POLL_MS 100
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 2000
#define FRAME_SLACK 4096 /* tag + version + snapshot overhead over the model */

enum { W_SNAP = 0, W_CKPT = 1, W_SEGS = 2, W_N };
static const char *const what_name[W_N] = {"snapshot", "checkpoint", "segments"};
static const uint8_t what_tag[W_N] = {BEAT_FRAME_SNAPSHOT, BEAT_FRAME_CHECKPOINT,
                                      BEAT_FRAME_SEGMENTS};

struct inf_sync {
    inf_sync_cfg cfg;
    inf_holder *h;
    nng_socket sub, req;
    pthread_t thr;
    atomic_bool stop;
    /* Thread-only state below. */
    inf_model *model;
    inf_snap *snap;
    inf_segs *segs; /* first-party segment lists; NULL until the first 'U' */
    bool need[W_N];
    int64_t next_ms[W_N], backoff_ms[W_N];
    beat_heartbeat hb; /* latest heartbeat */
    bool have_hb, silent;
    int64_t last_hb_ms, last_silence_req_ms;
    beat_counter *requests[W_N], *req_failures[W_N], *swaps[W_N], *swap_failures[W_N];
    beat_counter *link_failures, *heartbeats, *bad_frames, *stale_frames, *future[W_N];
};

static int64_t held_cv(const inf_sync *s) { return s->snap ? s->snap->cs.version : 0; }
static int64_t held_sv(const inf_sync *s) {
    return s->snap && s->snap->has_state ? s->snap->st.version : 0;
}
static int64_t held_mv(const inf_sync *s) { return s->model ? s->model->version : 0; }
static int64_t held_xv(const inf_sync *s) { return s->snap ? s->snap->xs.version : 0; }
static int64_t held_gv(const inf_sync *s) { return s->segs ? s->segs->s.version : 0; }

static void publish(inf_sync *s, int kind) {
    inf_world *w = inf_world_build(s->model, s->snap);
    if (w && inf_aud_attach(w, s->segs) < 0) {
        inf_world_free(w);
        w = NULL;
    }
    for (int i = 0; w && s->cfg.leases && i < w->n; i++)
        w->camps[i].lease = inf_leases_slot(s->cfg.leases, w->camps[i].c->id);
    for (int i = 0; w && s->cfg.opps && i < w->n; i++)
        w->camps[i].opp_slot = inf_opps_slot(s->cfg.opps, w->camps[i].c->id);
    inf_exch_bind(w);
    if (!w) {
        beat_counter_inc(s->swap_failures[kind]);
        beat_log_rl(5000, BEAT_ERROR, "world_build_failed", "err=%d", -ENOMEM);
        return;
    }
    bool was_ready = false;
    inf_world *old = inf_holder_current(s->h);
    if (old) was_ready = old->model && old->snap && old->snap->has_state;
    inf_holder_publish(s->h, w);
    beat_counter_inc(s->swaps[kind]);
    bool ready = w->model && w->snap && w->snap->has_state;
    if (ready && !was_ready)
        beat_log(BEAT_INFO, "ready",
                 "model_version=%lld campaigns_version=%lld "
                 "state_version=%lld campaigns=%d",
                 (long long)held_mv(s), (long long)held_cv(s), (long long)held_sv(s), w->n);
}

/* True (counted, logged) when a frame's wall-clock ts is further ahead of
 * ours than --max-clock-skew-ms (docs/contracts.md "Timestamps"). */
static bool future(inf_sync *s, int kind, int64_t ts_ms, int64_t version) {
    int64_t now = beat_now_ms();
    if (!beat_ts_ahead(ts_ms, now, s->cfg.max_clock_skew_ms)) return false;
    beat_counter_inc(s->future[kind]);
    beat_counter_inc(s->swap_failures[kind]);
    beat_log_rl(5000, BEAT_WARN, "future_timestamp",
                "what=%s version=%lld ts=%lld "
                "ahead_ms=%lld max_clock_skew_ms=%lld",
                what_name[kind], (long long)version, (long long)ts_ms, (long long)(ts_ms - now),
                (long long)s->cfg.max_clock_skew_ms);
    return true;
}

static int apply_snapshot(inf_sync *s, const void *msg, size_t len) {
    inf_snap *sn = NULL;
    beat_reason why = {{0}};
    int rc = inf_snap_decode(msg, len, &sn, &why);
    if (rc < 0) {
        beat_counter_inc(s->swap_failures[W_SNAP]);
        beat_log_rl(5000, BEAT_WARN, "snapshot_rejected", "err=%d reason=\"%s\"", rc, why.msg);
        return rc;
    }
    /* A state stamped in the future would never age past
     * --max-state-age-ms: keep the last good world instead. */
    if (sn->has_state && future(s, W_SNAP, sn->st.ts_ms, sn->st.version)) {
        inf_snap_unref(sn);
        return -ERANGE;
    }
    int64_t cv = sn->cs.version, sv = sn->has_state ? sn->st.version : 0;
    int64_t xv = sn->xs.version;
    if (s->snap && cv == held_cv(s) && sv == held_sv(s) && xv == held_xv(s) &&
        sn->has_state == s->snap->has_state) {
        inf_snap_unref(sn); /* duplicate (pub + reply): nothing changes */
        return 0;
    }
    bool reset_c = s->have_hb && cv == s->hb.campaigns_version;
    bool reset_s = s->have_hb && sv == s->hb.state_version;
    bool reset_x = s->have_hb && xv == s->hb.exchanges_version;
    if ((cv < held_cv(s) && !reset_c) || (sv < held_sv(s) && !reset_s) ||
        (xv < held_xv(s) && !reset_x)) {
        beat_counter_inc(s->stale_frames);
        inf_snap_unref(sn);
        return 0;
    }
    inf_snap_unref(s->snap); /* the published world keeps its own reference */
    s->snap = sn;
    publish(s, W_SNAP);
    beat_log(BEAT_DEBUG, "snapshot_applied",
             "campaigns_version=%lld state_version=%lld "
             "exchanges_version=%lld campaigns=%d exchanges=%d",
             (long long)cv, (long long)sv, (long long)xv, sn->cs.n, sn->xs.n);
    return 0;
}

static int apply_checkpoint(inf_sync *s, const void *msg, size_t len) {
    int64_t v = 0;
    beat_reason why = {{0}};
    if (beat_ckpt_frame_version(msg, len, &v) == 0 && s->model) {
        /* Skip the decode of a model we already hold (every reply and
         * publication of the same version). */
        if (v == held_mv(s)) return 0;
        if (v < held_mv(s) && !(s->have_hb && v == s->hb.model_version)) {
            beat_counter_inc(s->stale_frames);
            return 0;
        }
    }
    inf_model *m = NULL;
    int rc = inf_model_decode(msg, len, s->cfg.max_model_bytes, &m, &why);
    if (rc < 0) {
        beat_counter_inc(s->swap_failures[W_CKPT]);
        beat_log_rl(5000, BEAT_WARN, "checkpoint_rejected", "version=%lld err=%d reason=\"%s\"",
                    (long long)v, rc, why.msg);
        return rc;
    }
    /* Its ts feeds the model age (alerts, /healthz): same rule as states. */
    if (future(s, W_CKPT, m->ck.h.ts_ms, m->version)) {
        inf_model_unref(m);
        return -ERANGE;
    }
    inf_model_unref(s->model);
    s->model = m;
    beat_log(BEAT_INFO, "model_applied",
             "version=%lld hash_bits=%u dim=%u "
             "avg_ctr=%g trainer=%s",
             (long long)m->version, m->hp.bits, m->ck.h.dim, m->avg_ctr, m->ck.h.trainer);
    publish(s, W_CKPT);
    return 0;
}

/* A corrupt or oversize 'U' frame is refused whole: the lists held stay. */
static int apply_segments(inf_sync *s, const void *msg, size_t len) {
    inf_segs *g = NULL;
    beat_reason why = {{0}};
    int rc = inf_segs_decode(msg, len, &g, &why);
    if (rc < 0) {
        beat_counter_inc(s->swap_failures[W_SEGS]);
        beat_log_rl(5000, BEAT_WARN, "segments_rejected", "err=%d reason=\"%s\"", rc, why.msg);
        return rc;
    }
    int64_t v = g->s.version;
    if (s->segs && v == held_gv(s)) {
        inf_segs_unref(g); /* duplicate (pub + reply) */
        return 0;
    }
    if (v < held_gv(s) && !(s->have_hb && v == s->hb.segments_version)) {
        beat_counter_inc(s->stale_frames);
        inf_segs_unref(g);
        return 0;
    }
    inf_segs_unref(s->segs);
    s->segs = g;
    publish(s, W_SEGS);
    beat_log(BEAT_INFO, "segments_applied", "version=%lld lists=%d", (long long)v, g->s.n);
    return 0;
}

static void on_heartbeat(inf_sync *s, const void *msg, size_t len) {
    beat_heartbeat hb;
    beat_reason why = {{0}};
    if (beat_heartbeat_decode(msg, len, &hb, &why) < 0) {
        beat_counter_inc(s->bad_frames);
        beat_log_rl(5000, BEAT_WARN, "heartbeat_rejected", "reason=\"%s\"", why.msg);
        return;
    }
    beat_counter_inc(s->heartbeats);
    s->hb = hb;
    s->have_hb = true;
    s->last_hb_ms = beat_mono_ms();
    if (s->silent) {
        s->silent = false;
        beat_log(BEAT_INFO, "supervisor_back", "model_version=%lld state_version=%lld",
                 (long long)hb.model_version, (long long)hb.state_version);
    }
    if (hb.campaigns_version != held_cv(s) || hb.state_version != held_sv(s) ||
        hb.exchanges_version != held_xv(s))
        s->need[W_SNAP] = true;
    if (hb.model_version != held_mv(s)) s->need[W_CKPT] = true;
    if (hb.segments_version != held_gv(s)) s->need[W_SEGS] = true;
}

/* Returns 0 when the frame was understood (applied, duplicate or stale). */
static int on_frame(inf_sync *s, const uint8_t *msg, size_t len) {
    if (len == 0) goto bad;
    switch (msg[0]) {
        case BEAT_FRAME_SNAPSHOT: return apply_snapshot(s, msg, len);
        case BEAT_FRAME_CHECKPOINT: return apply_checkpoint(s, msg, len);
        case BEAT_FRAME_HEARTBEAT: on_heartbeat(s, msg, len); return 0;
        case BEAT_FRAME_FCAP: {
            if (!s->cfg.fcap) return 0; /* not used here */
            beat_reason why = {{0}};
            if (inf_fcap_apply(s->cfg.fcap, msg, len, beat_engine_ms(), beat_mono_ms(), &why) == 0)
                return 0;
            beat_log_rl(5000, BEAT_WARN, "fcap_frame_rejected", "reason=\"%s\"", why.msg);
            return -EBADMSG;
        }
        case BEAT_FRAME_SEGMENTS: return apply_segments(s, msg, len);
        default: break;
    }
bad:
    beat_counter_inc(s->bad_frames);
    beat_log_rl(5000, BEAT_WARN, "bad_frame", "len=%zu tag=%d", len, len ? msg[0] : -1);
    return -EBADMSG;
}

static void backoff(inf_sync *s, int what, int64_t now) {
    s->next_ms[what] = now + s->backoff_ms[what];
    s->backoff_ms[what] *= 2;
    if (s->backoff_ms[what] > BACKOFF_MAX_MS) s->backoff_ms[what] = BACKOFF_MAX_MS;
}

static void request(inf_sync *s, int what) {
    const char *q = what_name[what];
    void *rep = NULL;
    size_t n = 0;
    beat_counter_inc(s->requests[what]);
    int rc = beat_nng_call(s->req, q, strlen(q), &rep, &n);
    int64_t now = beat_mono_ms();
    if (rc < 0) {
        beat_counter_inc(s->req_failures[what]);
        beat_counter_inc(s->link_failures);
        beat_log_rl(5000, BEAT_WARN, "supervisor_request_failed", "what=%s url=%s err=%d", q,
                    s->cfg.rep_url, rc);
        backoff(s, what, now);
        return;
    }
    const uint8_t *m = rep;
    if (n > 0 && m[0] == BEAT_FRAME_ERROR) {
        /* Nothing to give yet: the next heartbeat whose version differs
         * from ours asks again. */
        beat_log_rl(10000, BEAT_INFO, "supervisor_has_none", "what=%s reason=\"%.*s\"", q,
                    (int)(n > 120 ? 120 : n - 1), (const char *)m + 1);
        s->need[what] = false;
        s->backoff_ms[what] = BACKOFF_MIN_MS;
    } else if (n > 0 && m[0] != what_tag[what]) {
        beat_counter_inc(s->req_failures[what]);
        beat_counter_inc(s->bad_frames);
        beat_log_rl(5000, BEAT_WARN, "supervisor_bad_reply", "what=%s tag=%d", q, m[0]);
        backoff(s, what, now);
    } else if (on_frame(s, m, n) == 0) {
        s->need[what] = false;
        s->backoff_ms[what] = BACKOFF_MIN_MS;
    } else {
        beat_counter_inc(s->req_failures[what]);
        backoff(s, what, now);
    }
    free(rep);
}

static void check_silence(inf_sync *s, int64_t now) {
    if (now - s->last_hb_ms <= s->cfg.silence_ms) return;
    if (!s->silent) {
        s->silent = true;
        beat_counter_inc(s->link_failures);
        beat_log(BEAT_WARN, "supervisor_silent", "url=%s ms=%lld", s->cfg.pub_url,
                 (long long)(now - s->last_hb_ms));
    }
    /* Re-ask at most once per silence period; the request backoff applies. */
    if (now - s->last_silence_req_ms >= s->cfg.silence_ms) {
        s->last_silence_req_ms = now;
        for (int w = 0; w < W_N; w++) s->need[w] = true;
    }
}

static void *sync_main(void *arg) {
    inf_sync *s = arg;
    pthread_setname_np(pthread_self(), "inf-sync");
    s->last_hb_ms = s->last_silence_req_ms = beat_mono_ms();
    while (!atomic_load(&s->stop)) {
        int64_t now = beat_mono_ms();
        for (int w = 0; w < W_N; w++)
            if (s->need[w] && now >= s->next_ms[w]) request(s, w);
        void *buf = NULL;
        size_t len = 0;
        int rv = nng_recv(s->sub, &buf, &len, NNG_FLAG_ALLOC);
        if (rv == 0) {
            on_frame(s, buf, len);
            nng_free(buf, len);
        } else if (rv != NNG_ETIMEDOUT) {
            beat_log_rl(5000, BEAT_WARN, "supervisor_recv_failed", "err=%d", beat_nng_err(rv));
            if (rv == NNG_ECLOSED) break;
        }
        check_silence(s, beat_mono_ms());
        inf_holder_reclaim(s->h);
    }
    return NULL;
}

static void metrics_init(inf_sync *s) {
    char name[128];
    for (int w = 0; w < W_N; w++) {
        snprintf(name, sizeof name, "beat_inference_sync_requests_total{what=\"%s\"}",
                 what_name[w]);
        s->requests[w] = beat_counter_new(name, "Requests sent to the supervisor rep socket");
        snprintf(name, sizeof name, "beat_inference_sync_failures_total{what=\"%s\"}",
                 what_name[w]);
        s->req_failures[w] = beat_counter_new(name, "Supervisor requests that failed");
        snprintf(name, sizeof name, "beat_inference_swaps_total{kind=\"%s\"}", what_name[w]);
        s->swaps[w] = beat_counter_new(name, "New worlds published");
        snprintf(name, sizeof name, "beat_inference_swap_failures_total{kind=\"%s\"}",
                 what_name[w]);
        s->swap_failures[w] =
            beat_counter_new(name, "Frames rejected by validation; the last good world is kept");
        snprintf(name, sizeof name, "beat_inference_sync_future_ts_total{what=\"%s\"}",
                 what_name[w]);
        s->future[w] = beat_counter_new(
            name, "Frames refused because their ts is further ahead of this clock than "
                  "--max-clock-skew-ms (also counted as swap failures)");
    }
    s->link_failures = beat_counter_new("beat_inference_link_failures_total{peer=\"supervisor\"}",
                                        "Failures on links to peers");
    s->heartbeats =
        beat_counter_new("beat_inference_heartbeats_total", "Supervisor heartbeats received");
    s->bad_frames = beat_counter_new("beat_inference_sync_bad_frames_total",
                                     "Unknown or undecodable frames from the supervisor");
    s->stale_frames = beat_counter_new("beat_inference_sync_stale_frames_total",
                                       "Frames older than what we hold, ignored");
}

inf_sync *inf_sync_start(const inf_sync_cfg *cfg, inf_holder *h, int *err) {
    inf_sync *s = calloc(1, sizeof *s);
    if (!s) {
        *err = -ENOMEM;
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.req_timeout_ms <= 0) s->cfg.req_timeout_ms = 500;
    if (s->cfg.silence_ms <= 0) s->cfg.silence_ms = 3000;
    s->h = h;
    for (int w = 0; w < W_N; w++) {
        s->need[w] = true;
        s->backoff_ms[w] = BACKOFF_MIN_MS;
    }
    atomic_init(&s->stop, false);
    metrics_init(s);
    size_t recvmax = cfg->max_model_bytes > BEAT_SEGLISTS_FRAME_MAX ? cfg->max_model_bytes
                                                                    : BEAT_SEGLISTS_FRAME_MAX;
    recvmax += FRAME_SLACK;
    int rc = beat_nng_sub_open(&s->sub, cfg->pub_url, recvmax);
    if (rc < 0) goto fail;
    rc = beat_nng_req_open(&s->req, cfg->rep_url, s->cfg.req_timeout_ms, recvmax);
    if (rc < 0) {
        nng_close(s->sub);
        goto fail;
    }
    nng_socket_set_ms(s->sub, NNG_OPT_RECVTIMEO, RECV_POLL_MS);
    if ((rc = -pthread_create(&s->thr, NULL, sync_main, s)) < 0) {
        nng_close(s->sub);
        nng_close(s->req);
        goto fail;
    }
    return s;
fail:
    *err = rc;
    free(s);
    return NULL;
}

void inf_sync_stop(inf_sync *s) {
    if (!s) return;
    atomic_store(&s->stop, true);
    pthread_join(s->thr, NULL);
    nng_close(s->sub);
    nng_close(s->req);
    inf_holder_reclaim(s->h);
    inf_model_unref(s->model);
    inf_snap_unref(s->snap);
    inf_segs_unref(s->segs);
    free(s);
}
