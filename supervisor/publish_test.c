/* Integration test of the publish module over real nng ipc:// sockets: a
 * subscriber (beat_nng_sub_open, as inference uses it) sees heartbeats with
 * the right versions/CRCs and snapshots; the rep socket answers
 * "snapshot", "checkpoint" and garbage. */
#include "publish.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>

#include "beat_ckpt.h"
#include "beat_log.h"
#include "beat_nng.h"
#include "beat_test.h"
#include "beat_wire.h"

static char pub_url[128], rep_url[128];

static sup_frame *frame_of(const void *p, size_t n) {
    sup_frame *f = sup_frame_new(n);
    if (f) memcpy(f->data, p, n);
    return f;
}

/* Next message with the given tag within timeout_ms (others skipped).
 * Returns malloc'd bytes or NULL. */
static uint8_t *recv_tag(nng_socket s, char tag, int timeout_ms, size_t *len) {
    int64_t deadline = beat_mono_ms() + timeout_ms;
    while (beat_mono_ms() < deadline) {
        void *buf = NULL;
        size_t sz = 0;
        int rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC);
        if (rv == NNG_ETIMEDOUT) continue;
        if (rv != 0) return NULL;
        if (sz > 0 && ((uint8_t *)buf)[0] == (uint8_t)tag) {
            uint8_t *out = malloc(sz);
            memcpy(out, buf, sz);
            nng_free(buf, sz);
            *len = sz;
            return out;
        }
        nng_free(buf, sz);
    }
    return NULL;
}

static sup_pub *start(void) {
    snprintf(pub_url, sizeof pub_url, "ipc:///tmp/beat-sup-test-%d-pub.ipc", (int)getpid());
    snprintf(rep_url, sizeof rep_url, "ipc:///tmp/beat-sup-test-%d-rep.ipc", (int)getpid());
    sup_pub_cfg cfg = {.pub_url = pub_url, .rep_url = rep_url, .sendbuf = 16, .heartbeat_ms = 50};
    int err = 0;
    return sup_pub_new(&cfg, &err);
}

static int test_pub_and_rep(void) {
    sup_pub *p = start();
    CHECK(p != NULL);
    nng_socket sub, req;
    CHECK_EQ_INT(beat_nng_sub_open(&sub, pub_url, 1 << 20), 0);
    CHECK_EQ_INT(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 100), 0);
    CHECK_EQ_INT(beat_nng_req_open(&req, rep_url, 2000, 1 << 20), 0);

    /* Nothing yet: heartbeats say version 0, rep answers 'E'. */
    size_t n = 0;
    uint8_t *m = recv_tag(sub, 'H', 3000, &n);
    CHECK(m != NULL);
    beat_heartbeat hb;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_heartbeat_decode(m, n, &hb, &why), 0);
    CHECK_EQ_INT(hb.campaigns_version, 0);
    CHECK_EQ_INT(hb.model_version, 0);
    free(m);
    void *rep = NULL;
    size_t rn = 0;
    CHECK_EQ_INT(beat_nng_call(req, "snapshot", 8, &rep, &rn), 0);
    CHECK(rn == 17 && memcmp(rep, "Eno campaigns yet", 17) == 0);
    free(rep);
    CHECK_EQ_INT(beat_nng_call(req, "checkpoint", 10, &rep, &rn), 0);
    CHECK(rn == 13 && memcmp(rep, "Eno model yet", 13) == 0);
    free(rep);

    /* A snapshot is published to the (now connected) subscriber. */
    static const char snap[] = "S{\"v\":1,\"campaigns_version\":3,\"state_version\":7}";
    sup_frame *sf = frame_of(snap, sizeof snap - 1);
    sup_pub_set_snapshot(p, 3, 7, 0, sf);
    m = recv_tag(sub, 'S', 3000, &n);
    CHECK(m != NULL);
    CHECK(n == sizeof snap - 1 && memcmp(m, snap, n) == 0);
    free(m);

    /* A checkpoint frame, then a heartbeat carrying both CRCs. */
    uint8_t cbuf[BEAT_CKPT_FRAME_HEAD + 1000];
    beat_ckpt_frame_head(cbuf, 5);
    for (int i = 0; i < 1000; i++) cbuf[BEAT_CKPT_FRAME_HEAD + i] = (uint8_t)(i * 13);
    sup_frame *cf = frame_of(cbuf, sizeof cbuf);
    sup_pub_set_model(p, 5, cf);
    m = recv_tag(sub, 'C', 3000, &n);
    CHECK(m != NULL);
    CHECK(n == sizeof cbuf && memcmp(m, cbuf, n) == 0);
    free(m);
    int ok = 0;
    for (int tries = 0; tries < 20 && !ok; tries++) {
        m = recv_tag(sub, 'H', 3000, &n);
        CHECK(m != NULL);
        CHECK_EQ_INT(beat_heartbeat_decode(m, n, &hb, &why), 0);
        free(m);
        ok = hb.model_version == 5;
    }
    CHECK(ok);
    CHECK_EQ_INT(hb.campaigns_version, 3);
    CHECK_EQ_INT(hb.state_version, 7);
    CHECK(hb.snapshot_crc == beat_crc32(snap, sizeof snap - 1));
    CHECK(hb.model_crc == beat_crc32(cbuf + 9, 1000));

    /* The rep socket serves the current frames; garbage gets 'E'. */
    CHECK_EQ_INT(beat_nng_call(req, "snapshot", 8, &rep, &rn), 0);
    CHECK(rn == sizeof snap - 1 && memcmp(rep, snap, rn) == 0);
    free(rep);
    CHECK_EQ_INT(beat_nng_call(req, "checkpoint", 10, &rep, &rn), 0);
    CHECK(rn == sizeof cbuf && memcmp(rep, cbuf, rn) == 0);
    free(rep);
    CHECK_EQ_INT(beat_nng_call(req, "gimme", 5, &rep, &rn), 0);
    CHECK(rn == 16 && memcmp(rep, "Eunknown request", 16) == 0);
    free(rep);

    /* Replacing a frame while the old one is referenced is safe. */
    sup_frame *old = sup_frame_ref(sf);
    static const char snap2[] = "S{\"v\":1,\"campaigns_version\":4,\"state_version\":7}";
    sup_frame *sf2 = frame_of(snap2, sizeof snap2 - 1);
    sup_pub_set_snapshot(p, 4, 7, 0, sf2);
    CHECK(memcmp(old->data, snap, sizeof snap - 1) == 0);
    sup_frame_unref(old);
    CHECK_EQ_INT(beat_nng_call(req, "snapshot", 8, &rep, &rn), 0);
    CHECK(rn == sizeof snap2 - 1 && memcmp(rep, snap2, rn) == 0);
    free(rep);

    sup_frame_unref(sf);
    sup_frame_unref(sf2);
    sup_frame_unref(cf);
    nng_close(sub);
    nng_close(req);
    sup_pub_free(p);
    return 0;
}

static int test_listen_conflict_fails_cleanly(void) {
    sup_pub *p = start();
    CHECK(p != NULL);
    sup_pub_cfg cfg = {.pub_url = pub_url, .rep_url = rep_url, .sendbuf = 4, .heartbeat_ms = 1000};
    int err = 0;
    sup_pub *q = sup_pub_new(&cfg, &err);
    CHECK(q == NULL);
    CHECK(err < 0);
    sup_pub_free(p);
    sup_pub_free(NULL);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("publish_test", BEAT_FATAL);
    static const beat_test_case tests[] = {
        {"pub_and_rep", test_pub_and_rep},
        {"listen_conflict_fails_cleanly", test_listen_conflict_fails_cleanly},
        {NULL, NULL},
    };
    return beat_test_main("publish", tests, argc, argv);
}
