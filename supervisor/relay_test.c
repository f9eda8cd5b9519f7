/* The relay over real nng ipc:// sockets, in one process: a primary
 * sup_pub, a relay (sup_relay + its own sup_pub), and a requester on the
 * relay's rep. Frames set at the primary come out of the relay byte for
 * byte; a garbage frame from the primary is counted and never forwarded. */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>

#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_features.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"
#include "beat_test.h"
#include "beat_wire.h"

static char url[4][128];

static sup_frame *frame_of(const void *p, size_t n) {
    sup_frame *f = sup_frame_new(n);
    if (f) memcpy(f->data, p, n);
    return f;
}

/* A valid 'S' frame of the example campaigns with the given version. */
static sup_frame *snapshot(int64_t cv) {
    const char *paths[] = {"docs/examples/campaigns.json", "../docs/examples/campaigns.json"};
    FILE *f = NULL;
    for (int i = 0; i < 2 && !f; i++) f = fopen(paths[i], "rb");
    if (!f) return NULL;
    static char json[1 << 16];
    size_t n = fread(json, 1, sizeof json, f);
    fclose(f);
    beat_campaign_set cs = {0};
    beat_reason why = {{0}};
    if (beat_campaigns_decode(json, n, beat_now_ms(), BEAT_CAMPAIGNS_STRICT, &cs, &why) != 0)
        return NULL;
    cs.version = cv;
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    sup_frame *fr = beat_snapshot_encode(&cs, NULL, NULL, &b) == 0 ? frame_of(b.data, b.len) : NULL;
    beat_buf_fini(&b);
    beat_campaigns_fini(&cs);
    return fr;
}

/* A valid 'C' frame: hash_bits 10 logreg of zeros. */
static sup_frame *model(int64_t v) {
    beat_ckpt c = {0};
    snprintf(c.h.kind, sizeof c.h.kind, "logreg");
    snprintf(c.h.trainer, sizeof c.h.trainer, "relay-test");
    c.h.hash_bits = 10;
    c.h.hash_seed = BEAT_HASH_SEED_DEFAULT;
    c.h.dim = 1024;
    c.h.n_weights = 1025;
    c.h.auc = 0.6;
    c.h.logloss = 0.5;
    c.h.avg_ctr = 0.01;
    c.w = calloc(1025, sizeof(float));
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    sup_frame *fr = NULL;
    if (c.w && beat_ckpt_frame_encode(&c, v, &b) == 0) fr = frame_of(b.data, b.len);
    beat_buf_fini(&b);
    free(c.w);
    return fr;
}

/* Polls the relay's rep until it answers `what` with exactly f (5 s). */
static int served(nng_socket req, const char *what, const sup_frame *f) {
    int64_t deadline = beat_mono_ms() + 5000;
    while (beat_mono_ms() < deadline) {
        void *rep = NULL;
        size_t n = 0;
        if (beat_nng_call(req, what, strlen(what), &rep, &n) == 0) {
            int same = n == f->len && memcmp(rep, f->data, n) == 0;
            free(rep);
            if (same) return 1;
        }
        usleep(20000);
    }
    return 0;
}

static int test_relays_identical_frames_and_drops_garbage(void) {
    const char *names[4] = {"pub", "rep", "rpub", "rrep"};
    for (int i = 0; i < 4; i++)
        snprintf(url[i], sizeof url[i], "ipc:///tmp/beat-relay-test-%d-%s.ipc", (int)getpid(),
                 names[i]);
    int err = 0;
    sup_pub_cfg pc = {.pub_url = url[0], .rep_url = url[1], .sendbuf = 16, .heartbeat_ms = 50};
    sup_pub *primary = sup_pub_new(&pc, &err);
    CHECK(primary != NULL);
    sup_pub_cfg rc = {.pub_url = url[2], .rep_url = url[3], .sendbuf = 16, .heartbeat_ms = 50};
    sup_pub *rpub = sup_pub_new(&rc, &err);
    CHECK(rpub != NULL);
    sup_relay_cfg cfg = {
        .pub_url = url[0], .rep_url = url[1], .recvmax = 1 << 20, .heartbeat_ms = 50};
    sup_relay *r = sup_relay_new(&cfg, rpub, &err);
    CHECK(r != NULL);
    nng_socket req;
    CHECK_EQ_INT(beat_nng_req_open(&req, url[3], 2000, 1 << 20), 0);

    sup_frame *s1 = snapshot(2), *m1 = model(3);
    CHECK(s1 != NULL && m1 != NULL);
    sup_pub_set_snapshot(primary, 2, 0, 0, s1);
    sup_pub_set_model(primary, 3, m1);
    CHECK(served(req, "snapshot", s1));
    CHECK(served(req, "checkpoint", m1));
    int64_t v = 0;
    sup_frame *got = sup_relay_model(r, &v);
    CHECK(got != NULL && v == 3 && got->len == m1->len);
    sup_frame_unref(got);

    /* Garbage from the primary: counted, the relay keeps serving s1. */
    beat_counter *bad = beat_counter_new("beat_supervisor_relay_bad_frames_total", "x");
    uint64_t bad0 = beat_counter_get(bad);
    static const char junk[] = "S{\"v\":1,\"campaigns_version\":9";
    sup_frame *sj = frame_of(junk, sizeof junk - 1);
    sup_pub_set_snapshot(primary, 9, 0, 0, sj);
    int64_t deadline = beat_mono_ms() + 5000;
    while (beat_counter_get(bad) == bad0 && beat_mono_ms() < deadline) usleep(10000);
    CHECK(beat_counter_get(bad) > bad0);
    CHECK(served(req, "snapshot", s1));

    /* A good frame again replaces it. */
    sup_frame *s2 = snapshot(4);
    CHECK(s2 != NULL);
    sup_pub_set_snapshot(primary, 4, 0, 0, s2);
    CHECK(served(req, "snapshot", s2));

    nng_close(req);
    sup_relay_free(r);
    sup_pub_free(rpub);
    sup_pub_free(primary);
    sup_frame_unref(s1);
    sup_frame_unref(s2);
    sup_frame_unref(sj);
    sup_frame_unref(m1);
    sup_relay_free(NULL);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("relay_test", BEAT_FATAL);
    static const beat_test_case tests[] = {
        {"relays_identical_frames_and_drops_garbage",
         test_relays_identical_frames_and_drops_garbage},
        {NULL, NULL},
    };
    return beat_test_main("relay", tests, argc, argv);
}
