/* nng side of the supervisor. The main thread installs new frames with
 * sup_pub_set_*; a rep thread answers requests and a heartbeat thread
 * publishes versions and CRCs every heartbeat_ms. Both threads only take
 * a reference to the current frame under the mutex and copy/send outside
 * it, so nothing here ever waits on the HTTP loop or on SQLite, and a slow
 * subscriber never blocks anyone (PUB drops when its SENDBUF is full).
 * Memory bound: subscribers × SENDBUF × largest frame (checkpoints are up
 * to --max-checkpoint-bytes); subscribers must set RECVMAXSZ ≥ that. */
#include "publish.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

#include "beat_ckpt.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"
#include "beat_wire.h"

#define REP_RECVMAX 4096
#define REP_SENDTIMEO_MS 5000

sup_frame *sup_frame_new(size_t len) {
    sup_frame *f = malloc(sizeof *f + (len ? len : 1));
    if (!f) return NULL;
    f->refs = 1;
    f->len = len;
    return f;
}

sup_frame *sup_frame_ref(sup_frame *f) {
    if (f) __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

void sup_frame_unref(sup_frame *f) {
    if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) free(f);
}

struct sup_pub {
    nng_socket pub, rep;
    bool pub_open, rep_open;
    int heartbeat_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes the heartbeat thread on stop */
    bool stopping;
    sup_frame *snap, *model, *segs; /* current frames, guarded by mu */
    int64_t c_ver, sv, mv, xv, gv;
    int peers; /* atomic: pipes on the pub socket */
    uint32_t snap_crc, model_crc;

    pthread_t rep_thr, hb_thr;
    bool rep_started, hb_started;

    beat_counter *sent[5], *dropped[5]; /* by frame kind (F_*) */
    beat_counter *req_snap, *req_ckpt, *req_segs, *req_other, *rep_fail;
};

enum { F_SNAP, F_CKPT, F_HB, F_FCAP, F_SEGS, F_KINDS };
_Static_assert(F_KINDS == 5, "sup_pub.sent and dropped hold one counter per kind");

static void publish(sup_pub *p, int kind, const void *data, size_t len) {
    int rc = beat_nng_send_nb(p->pub, data, len);
    if (rc == 0) {
        beat_counter_inc(p->sent[kind]);
    } else {
        /* -EAGAIN: no subscriber or its buffer is full. Subscribers catch
         * up from the heartbeat + rep, so dropping is safe. */
        beat_counter_inc(p->dropped[kind]);
        if (rc != -EAGAIN)
            beat_log_rl(5000, BEAT_WARN, "publish_failed", "kind=%d err=%d", kind, rc);
    }
}

void sup_pub_heartbeat(sup_pub *p) {
    beat_heartbeat hb = {.ts_ms = beat_now_ms()};
    pthread_mutex_lock(&p->mu);
    hb.campaigns_version = p->c_ver;
    hb.state_version = p->sv;
    hb.exchanges_version = p->xv;
    hb.segments_version = p->gv;
    hb.model_version = p->mv;
    hb.snapshot_crc = p->snap_crc;
    hb.model_crc = p->model_crc;
    pthread_mutex_unlock(&p->mu);
    char mem[512];
    beat_buf b;
    beat_buf_init(&b, sizeof mem);
    int rc = beat_heartbeat_encode(&hb, &b);
    if (rc == 0) publish(p, F_HB, b.data, b.len);
    else beat_log_rl(5000, BEAT_ERROR, "heartbeat_encode_failed", "err=%d", rc);
    beat_buf_fini(&b);
}

void sup_pub_set_snapshot(sup_pub *p, int64_t campaigns_version, int64_t state_version,
                          int64_t exchanges_version, sup_frame *f) {
    uint32_t crc = beat_crc32(f->data, f->len);
    sup_frame_ref(f);
    pthread_mutex_lock(&p->mu);
    sup_frame *old = p->snap;
    p->snap = f;
    p->c_ver = campaigns_version;
    p->sv = state_version;
    p->xv = exchanges_version;
    p->snap_crc = crc;
    pthread_mutex_unlock(&p->mu);
    sup_frame_unref(old);
    publish(p, F_SNAP, f->data, f->len);
}

void sup_pub_set_model(sup_pub *p, int64_t model_version, sup_frame *f) {
    BEAT_ASSERT(f->len >= BEAT_CKPT_FRAME_HEAD);
    uint32_t crc = beat_crc32(f->data + BEAT_CKPT_FRAME_HEAD, f->len - BEAT_CKPT_FRAME_HEAD);
    sup_frame_ref(f);
    pthread_mutex_lock(&p->mu);
    sup_frame *old = p->model;
    p->model = f;
    p->mv = model_version;
    p->model_crc = crc;
    pthread_mutex_unlock(&p->mu);
    sup_frame_unref(old);
    publish(p, F_CKPT, f->data, f->len);
}

void sup_pub_set_segments(sup_pub *p, int64_t segments_version, sup_frame *f) {
    sup_frame_ref(f);
    pthread_mutex_lock(&p->mu);
    sup_frame *old = p->segs;
    p->segs = f;
    p->gv = segments_version;
    pthread_mutex_unlock(&p->mu);
    sup_frame_unref(old);
    publish(p, F_SEGS, f->data, f->len);
}

/* Sends one reply frame; the rep socket's SENDTIMEO bounds the wait. */
static void rep_send(sup_pub *p, const void *data, size_t len) {
    nng_msg *m = NULL;
    int rv = nng_msg_alloc(&m, len);
    if (rv == 0) {
        memcpy(nng_msg_body(m), data, len);
        rv = nng_sendmsg(p->rep, m, 0);
        if (rv != 0) nng_msg_free(m);
    }
    if (rv != 0 && rv != NNG_ECLOSED) {
        beat_counter_inc(p->rep_fail);
        beat_log_rl(5000, BEAT_WARN, "rep_send_failed", "err=\"%s\"", nng_strerror(rv));
    }
}

static void rep_error(sup_pub *p, const char *reason) {
    char m[128];
    size_t n = strlen(reason);
    if (n > sizeof m - 1) n = sizeof m - 1;
    m[0] = BEAT_FRAME_ERROR;
    memcpy(m + 1, reason, n);
    rep_send(p, m, n + 1);
}

static bool req_is(const char *buf, size_t sz, const char *word) {
    size_t n = strlen(word);
    /* Tolerate a trailing NUL from C clients that send sizeof("snapshot"). */
    return (sz == n || (sz == n + 1 && buf[n] == '\0')) && memcmp(buf, word, n) == 0;
}

static void *rep_main(void *arg) {
    sup_pub *p = arg;
    for (;;) {
        char *buf = NULL;
        size_t sz = 0;
        int rv = nng_recv(p->rep, &buf, &sz, NNG_FLAG_ALLOC);
        if (rv == NNG_ECLOSED) break;
        if (rv != 0) {
            beat_counter_inc(p->rep_fail);
            beat_log_rl(5000, BEAT_WARN, "rep_recv_failed", "err=\"%s\"", nng_strerror(rv));
            continue;
        }
        sup_frame *f = NULL;
        const char *none = NULL;
        if (req_is(buf, sz, "snapshot")) {
            beat_counter_inc(p->req_snap);
            pthread_mutex_lock(&p->mu);
            f = sup_frame_ref(p->snap);
            pthread_mutex_unlock(&p->mu);
            none = "no campaigns yet";
        } else if (req_is(buf, sz, "checkpoint")) {
            beat_counter_inc(p->req_ckpt);
            pthread_mutex_lock(&p->mu);
            f = sup_frame_ref(p->model);
            pthread_mutex_unlock(&p->mu);
            none = "no model yet";
        } else if (req_is(buf, sz, "segments")) {
            beat_counter_inc(p->req_segs);
            pthread_mutex_lock(&p->mu);
            f = sup_frame_ref(p->segs);
            pthread_mutex_unlock(&p->mu);
            none = "no segment lists yet";
        } else {
            beat_counter_inc(p->req_other);
            none = "unknown request";
        }
        nng_free(buf, sz);
        if (f) rep_send(p, f->data, f->len);
        else rep_error(p, none);
        sup_frame_unref(f);
    }
    return NULL;
}

static void *hb_main(void *arg) {
    sup_pub *p = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        next.tv_nsec += (long)(p->heartbeat_ms % 1000) * 1000000L;
        next.tv_sec += p->heartbeat_ms / 1000 + next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        while (!p->stopping && pthread_cond_timedwait(&p->cv, &p->mu, &next) != ETIMEDOUT) {}
        if (p->stopping) break;
        pthread_mutex_unlock(&p->mu);
        sup_pub_heartbeat(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void sup_pub_fcap(sup_pub *p, const void *data, size_t len) { publish(p, F_FCAP, data, len); }

static void make_metrics(sup_pub *p) {
    static const char *const kinds[F_KINDS] = {"snapshot", "checkpoint", "heartbeat", "fcap",
                                               "segments"};
    char name[128];
    for (int i = 0; i < F_KINDS; i++) {
        snprintf(name, sizeof name, "beat_supervisor_published_total{frame=\"%s\"}", kinds[i]);
        p->sent[i] = beat_counter_new(name, "Frames sent on the pub socket");
        snprintf(name, sizeof name, "beat_supervisor_publish_dropped_total{frame=\"%s\"}",
                 kinds[i]);
        p->dropped[i] =
            beat_counter_new(name, "Frames not sent: no subscriber or its send buffer was full");
    }
    const char *h = "Requests served on the rep socket";
    p->req_snap = beat_counter_new("beat_supervisor_rep_requests_total{req=\"snapshot\"}", h);
    p->req_ckpt = beat_counter_new("beat_supervisor_rep_requests_total{req=\"checkpoint\"}", h);
    p->req_segs = beat_counter_new("beat_supervisor_rep_requests_total{req=\"segments\"}", h);
    p->req_other = beat_counter_new("beat_supervisor_rep_requests_total{req=\"unknown\"}", h);
    p->rep_fail =
        beat_counter_new("beat_supervisor_rep_failures_total", "Rep socket receive/send failures");
}

static void on_pipe(nng_pipe pipe, nng_pipe_ev ev, void *arg) {
    (void)pipe;
    sup_pub *p = arg;
    __atomic_add_fetch(&p->peers, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1, __ATOMIC_RELAXED);
}

int sup_pub_peers(sup_pub *p) { return __atomic_load_n(&p->peers, __ATOMIC_RELAXED); }

sup_pub *sup_pub_new(const sup_pub_cfg *cfg, int *err) {
    sup_pub *p = calloc(1, sizeof *p);
    if (!p) {
        *err = -ENOMEM;
        return NULL;
    }
    p->heartbeat_ms = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 1000;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    make_metrics(p);

    int rc = beat_nng_pub_open(&p->pub, cfg->pub_url, cfg->sendbuf);
    if (rc) {
        beat_log(BEAT_ERROR, "pub_listen_failed", "url=%s err=%d", cfg->pub_url, rc);
        goto fail;
    }
    p->pub_open = true;
    nng_pipe_notify(p->pub, NNG_PIPE_EV_ADD_POST, on_pipe, p);
    nng_pipe_notify(p->pub, NNG_PIPE_EV_REM_POST, on_pipe, p);
    rc = beat_nng_rep_open(&p->rep, cfg->rep_url, REP_RECVMAX);
    if (rc) {
        beat_log(BEAT_ERROR, "rep_listen_failed", "url=%s err=%d", cfg->rep_url, rc);
        goto fail;
    }
    p->rep_open = true;
    /* A requester that vanished must not wedge the rep thread. */
    nng_socket_set_ms(p->rep, NNG_OPT_SENDTIMEO, REP_SENDTIMEO_MS);
    if ((rc = -pthread_create(&p->rep_thr, NULL, rep_main, p)) != 0) goto fail;
    p->rep_started = true;
    if ((rc = -pthread_create(&p->hb_thr, NULL, hb_main, p)) != 0) goto fail;
    p->hb_started = true;
    return p;
fail:
    *err = rc;
    sup_pub_free(p);
    return NULL;
}

void sup_pub_free(sup_pub *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->hb_started) pthread_join(p->hb_thr, NULL);
    if (p->rep_open) nng_close(p->rep); /* wakes the rep thread with ECLOSED */
    if (p->rep_started) pthread_join(p->rep_thr, NULL);
    if (p->pub_open) nng_close(p->pub);
    sup_frame_unref(p->snap);
    sup_frame_unref(p->model);
    sup_frame_unref(p->segs);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
