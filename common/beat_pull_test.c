/* Unit tests for beat_pull.c: an item is taken once, a restarted instance
 * (new epoch) sends the cursor back to 0 only when it was past 0, missed
 * items are counted, cursors round-trip through JSON (bad entries refused)
 * and peers get a trimmed URL and an escaped failure counter. */
#include "beat_pull.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"

static int t_begin_take(void) {
    beat_pull_cursor c;
    memset(&c, 0, sizeof c);
    beat_pull_check r;
    /* first answer: no epoch known, nothing counted as missed */
    beat_pull_begin(&c, 7, 3, 5, &r);
    CHECK(!r.epoch_changed && !r.refetch);
    CHECK_EQ_INT(r.missed, 0);
    CHECK(c.has_epoch && c.epoch == 7);
    CHECK(beat_pull_take(&c, 5));
    CHECK(beat_pull_take(&c, 6));
    CHECK(!beat_pull_take(&c, 6)); /* duplicate */
    CHECK(!beat_pull_take(&c, 4)); /* out of order */
    CHECK_EQ_INT(c.seq, 6);
    /* same epoch, a gap: 7..9 missed */
    beat_pull_begin(&c, 7, 2, 10, &r);
    CHECK(!r.epoch_changed && !r.refetch);
    CHECK_EQ_INT(r.missed, 3);
    CHECK(beat_pull_take(&c, 10));
    /* no items: no gap counted */
    beat_pull_begin(&c, 7, 0, 50, &r);
    CHECK_EQ_INT(r.missed, 0);
    /* restart under a cursor past 0: back to 0, answer dropped */
    beat_pull_begin(&c, 8, 2, 1, &r);
    CHECK(r.epoch_changed && r.refetch);
    CHECK_EQ_INT(r.missed, 0);
    CHECK_EQ_INT(c.seq, 0);
    CHECK(c.epoch == 8);
    /* the answer to after=0 under the new epoch is used as is */
    beat_pull_begin(&c, 8, 2, 1, &r);
    CHECK(!r.epoch_changed && !r.refetch);
    CHECK(beat_pull_take(&c, 1));
    /* restart while still at 0: counted, nothing to refetch */
    c.seq = 0;
    beat_pull_begin(&c, 9, 1, 3, &r);
    CHECK(r.epoch_changed && !r.refetch);
    CHECK_EQ_INT(r.missed, 2);
    CHECK(c.epoch == 9);
    return 0;
}

static int t_cursors_json(void) {
    beat_pull_cursor c[3];
    memset(c, 0, sizeof c);
    snprintf(c[0].url, sizeof c[0].url, "http://a\"b");
    c[0].has_epoch = true;
    c[0].epoch = 0x9f3a000000000001ULL;
    c[0].seq = 77;
    snprintf(c[1].url, sizeof c[1].url, "http://unseen"); /* no epoch: left out */
    snprintf(c[2].url, sizeof c[2].url, "http://c");
    c[2].has_epoch = true;
    c[2].epoch = 1;
    beat_buf b;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(beat_pull_cursors_encode(c, 3, &b), 0);
    CHECK_EQ_STR(b.data, "{\"http://a\\\"b\":{\"epoch\":\"9f3a000000000001\",\"seq\":77},"
                         "\"http://c\":{\"epoch\":\"0000000000000001\",\"seq\":0}}");
    cJSON *root = cJSON_Parse(b.data);
    CHECK(root);
    uint64_t e = 0, s = 0;
    CHECK_EQ_INT(
        beat_pull_cursor_decode(cJSON_GetObjectItemCaseSensitive(root, "http://a\"b"), &e, &s), 0);
    CHECK(e == 0x9f3a000000000001ULL);
    CHECK_EQ_INT(s, 77);
    CHECK_EQ_INT(beat_pull_cursor_decode(cJSON_GetObjectItemCaseSensitive(root, "nope"), &e, &s),
                 -EINVAL);
    cJSON_Delete(root);
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_pull_cursors_encode(c, 0, &b), 0);
    CHECK_EQ_STR(b.data, "{}");
    beat_buf_fini(&b);

    const char *bad[] = {
        "{\"epoch\":\"\",\"seq\":1}",
        "{\"epoch\":\"12345678901234567\",\"seq\":1}",
        "{\"epoch\":\"xyz\",\"seq\":1}",
        "{\"epoch\":1,\"seq\":1}",
        "{\"epoch\":\"a\",\"seq\":-1}",
        "{\"epoch\":\"a\",\"seq\":\"1\"}",
        "{\"epoch\":\"a\",\"seq\":1e19}",
        "{\"epoch\":\"a\"}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *v = cJSON_Parse(bad[i]);
        e = s = 42;
        CHECK_EQ_INT(beat_pull_cursor_decode(v, &e, &s), -EINVAL);
        CHECK(e == 42 && s == 42); /* nothing written */
        cJSON_Delete(v);
    }
    cJSON *v = cJSON_Parse("{\"epoch\":\"ABCdef\",\"seq\":0}");
    CHECK_EQ_INT(beat_pull_cursor_decode(v, &e, &s), 0);
    CHECK(e == 0xabcdefULL && s == 0);
    cJSON_Delete(v);
    return 0;
}

static int t_peer(void) {
    beat_pull_peer p;
    beat_pull_peer_init(&p, "t", "http://h:1/x\"y//", NULL, "datastream0");
    CHECK_EQ_STR(p.url, "http://h:1/x\"y");
    CHECK(p.failures);
    CHECK(beat_counter_new("beat_t_link_failures_total{peer=\"http://h:1/x\\\"y\"}", "x") ==
          p.failures);
    beat_pull_peer_failed(&p);
    CHECK_EQ_INT(beat_counter_get(p.failures), 1);
    beat_pull_peer s;
    beat_pull_peer_init(&s, "t", "http://sup/", "supervisor", NULL);
    CHECK_EQ_STR(s.url, "http://sup");
    CHECK(beat_counter_new("beat_t_link_failures_total{peer=\"supervisor\"}", "x") == s.failures);
    /* a daemon name the registry refuses: no counter, counting is a no-op */
    beat_pull_peer bad;
    beat_pull_peer_init(&bad, "t-x", "http://z", NULL, NULL);
    CHECK(bad.failures == NULL);
    beat_pull_peer_failed(&bad);
    char *urls[] = {"http://d1/", "http://d2"};
    beat_strlist l = {urls, 2};
    beat_pull_peer *ps = beat_pull_peers_new("t", &l);
    CHECK(ps);
    CHECK_EQ_STR(ps[0].url, "http://d1");
    CHECK_EQ_STR(ps[1].url, "http://d2");
    CHECK(ps[1].failures ==
          beat_counter_new("beat_t_link_failures_total{peer=\"http://d2\"}", "x"));
    free(ps);
    beat_strlist none = {NULL, 0};
    ps = beat_pull_peers_new("t", &none);
    CHECK(ps != NULL);
    free(ps);
    return 0;
}

static int t_get_dead_peer(void) {
    beat_httpc *h = beat_httpc_new(500);
    CHECK(h);
    beat_pull_peer p;
    beat_pull_peer_init(&p, "t", "http://127.0.0.1:1", NULL, NULL);
    beat_buf b;
    beat_buf_init(&b, 1024);
    int rc = beat_pull_get(h, &p, "http://127.0.0.1:1/v1/samples", &b);
    CHECK(rc < 0);
    CHECK_EQ_INT(beat_counter_get(p.failures), 1);
    beat_buf_fini(&b);
    beat_httpc_free(h);
    return 0;
}

static int t_status(void) {
    static beat_pull_status st; /* zero: restoring, nothing pushed */
    beat_buf b;
    beat_buf_init(&b, 1024);
    CHECK(!beat_pull_health(&st, &b));
    CHECK_EQ_STR(b.data, "\"detail\":\"restoring\"");
    CHECK_EQ_INT(beat_pull_push_age_ms(&st), -1);
    CHECK(beat_pull_push_age_s(&st) == -1.0);
    atomic_store(&st.restore, BEAT_RESTORE_FRESH);
    beat_buf_reset(&b);
    CHECK(beat_pull_health(&st, &b));
    CHECK_EQ_STR(b.data, "\"restore\":\"fresh\"");
    atomic_store(&st.restore, BEAT_RESTORE_DONE);
    beat_buf_reset(&b);
    CHECK(beat_pull_health(&st, &b));
    CHECK_EQ_STR(b.data, "\"restore\":\"restored\"");
    atomic_store(&st.last_push_ms, beat_now_ms() - 3000);
    int64_t age = beat_pull_push_age_ms(&st);
    CHECK(age >= 3000 && age < 60000);
    CHECK(beat_pull_push_age_s(&st) >= 3.0);
    beat_buf_fini(&b);
    return 0;
}

/* 100 ms doubling to 5 s; the first try does not wait; a stop ends it. */
static int t_retry(void) {
    int64_t backoff = 0;
    int64_t t0 = beat_mono_ms();
    CHECK(beat_pull_retry(&backoff));
    CHECK(beat_mono_ms() - t0 < 50);
    CHECK_EQ_INT(backoff, 100);
    CHECK(beat_pull_retry(&backoff));
    CHECK(beat_mono_ms() - t0 >= 100);
    CHECK_EQ_INT(backoff, 200);
    backoff = 4000;
    beat_stop_request(); /* the sleep returns at once, and the loop ends */
    CHECK(!beat_pull_retry(&backoff));
    CHECK_EQ_INT(backoff, 5000);
    return 0;
}

static const beat_test_case cases[] = {
    {"begin_take", t_begin_take},
    {"cursors_json", t_cursors_json},
    {"peer", t_peer},
    {"get_dead_peer", t_get_dead_peer},
    {"status", t_status},
    {"retry", t_retry}, /* last: requests a stop */
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_pull", cases, argc, argv); }
