/* The sync thread and first-party segment lists, against a stand-in
 * supervisor (an nng pub socket, no rep): a good 'U' frame is applied; a
 * corrupt one (unsorted hashes) and an oversize one (a count over the
 * bound) are refused and the lists held stay — were either taken, its
 * higher version would make the next good frame look stale and the test
 * would time out. */
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audience.h"
#include "beat_nng.h"
#include "beat_seglist.h"
#include "beat_test.h"
#include "sync.h"

/* The 'U' frame of one list "crm" holding hashes h[0..n). */
static void frame(beat_buf *b, int64_t version, const uint64_t *h, uint32_t n) {
    beat_seglist l = {.id = "crm", .version = version, .n = n, .h = h};
    beat_seglists s = {.version = version, .seed = 9, .n = 1, .l = &l};
    beat_buf_reset(b);
    if (beat_seglists_encode(&s, b) != 0) fprintf(stderr, "  encode failed\n");
}

/* Publishes f every 20 ms until the holder reports want (5 s at most). */
static bool until(nng_socket pub, inf_holder *h, const beat_buf *f, int64_t want, int lists) {
    for (int i = 0; i < 250; i++) {
        beat_nng_send_nb(pub, f->data, f->len);
        inf_versions v;
        inf_holder_versions(h, &v);
        if (v.segments_v == want && v.n_segment_lists == lists) return true;
        usleep(20000);
    }
    return false;
}

static int t_bad_frames_keep_last_good(void) {
    char dir[] = "/tmp/beat-sync-seg-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char pub_url[128], rep_url[128];
    snprintf(pub_url, sizeof pub_url, "ipc://%s/pub.ipc", dir);
    snprintf(rep_url, sizeof rep_url, "ipc://%s/rep.ipc", dir);
    nng_socket pub;
    CHECK_EQ_INT(beat_nng_pub_open(&pub, pub_url, 64), 0);
    inf_holder *h = inf_holder_new(1);
    inf_sync_cfg cfg = {.pub_url = pub_url,
                        .rep_url = rep_url, /* nobody answers: requests back off */
                        .max_model_bytes = 1 << 20,
                        .req_timeout_ms = 100,
                        .silence_ms = 60000};
    int err = 0;
    inf_sync *s = inf_sync_start(&cfg, h, &err);
    CHECK(h && s);
    beat_buf good, bad;
    beat_buf_init(&good, 1 << 20);
    beat_buf_init(&bad, 1 << 20);
    uint64_t hs[3] = {10, 20, 30};
    frame(&good, 1, hs, 3);
    CHECK(until(pub, h, &good, 1, 1));
    /* corrupt: hashes out of order, version 5 */
    frame(&bad, 5, hs, 3);
    size_t h_off = BEAT_SEGLISTS_FRAME_HEAD + 1 + 3 + 12;
    beat_put_le64((uint8_t *)bad.data + h_off, 99);
    for (int i = 0; i < 5; i++) beat_nng_send_nb(pub, bad.data, bad.len);
    /* oversize: a count over the bound, version 6 */
    frame(&bad, 6, hs, 3);
    beat_put_le32((uint8_t *)bad.data + h_off - 4, BEAT_SEGLIST_IDS_MAX + 1);
    for (int i = 0; i < 5; i++) beat_nng_send_nb(pub, bad.data, bad.len);
    inf_versions v;
    inf_holder_versions(h, &v);
    CHECK_EQ_INT(v.segments_v, 1);
    /* the next good frame (version 2 < 5, 6) is taken */
    frame(&good, 2, hs, 2);
    CHECK(until(pub, h, &good, 2, 1));
    inf_sync_stop(s);
    inf_holder_free(h);
    nng_close(pub);
    beat_buf_fini(&good);
    beat_buf_fini(&bad);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    return 0;
}

static const beat_test_case cases[] = {
    {"bad_frames_keep_last_good", t_bad_frames_keep_last_good},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("sync_segments", cases, argc, argv); }
