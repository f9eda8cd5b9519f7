/* The datastream side of frequency caps: an impression counts once per
 * (auction, imp) on the first win, bill or imp notice joined to a bid that
 * carries a cap key, whichever came first; duplicates, losses, bids without
 * a key never count; rows of one person and window add up; a full table
 * evicts the oldest window and counts it; the answer to /v1/caps names each
 * row once at its latest change and walks on from a cursor. */
#include <stdio.h>
#include <string.h>

#include "beat_clock.h"
#include "beat_fcap.h"
#include "beat_test.h"
#include "caps.h"
#include "stream.h"

#define T0 1000000000000LL

static dst_stream *mk(void) {
    dst_stream_cfg c = {.bucket_ms = 1000,
                        .buckets_max = 100,
                        .campaigns_max = 100,
                        .join_window_ms = 30000,
                        .max_open = 1000,
                        .samples_max = 1000,
                        .neg_rate = 1,
                        .seed = 1};
    return dst_stream_new(&c, T0);
}

static void put(dst_stream *s, beat_event_type t, const char *auction, uint64_t key, int64_t ts) {
    beat_event e;
    memset(&e, 0, sizeof e);
    e.type = t;
    e.ts_ms = ts;
    snprintf(e.auction, sizeof e.auction, "%s", auction);
    snprintf(e.imp, sizeof e.imp, "1");
    snprintf(e.campaign, sizeof e.campaign, "c1");
    if (t == BEAT_EV_BID) {
        e.cap_key = key;
        e.cap_window_s = key ? 3600 : 0;
        e.price_cpm_micros = 1000;
    }
    if (t == BEAT_EV_WIN || t == BEAT_EV_BILL) e.price_cpm_micros = 500;
    dst_stream_apply(s, &e, 0, T0);
}

static int64_t counted(dst_caps *c) {
    dst_caps_stats st;
    dst_caps_stats_get(c, &st);
    return st.counted;
}

static int t_counts_impressions(void) {
    dst_stream *s = mk();
    dst_caps *c = dst_caps_new(64);
    CHECK(s && c);
    dst_stream_set_caps(s, c);
    put(s, BEAT_EV_BID, "A1", 7, T0);
    CHECK_EQ_INT(counted(c), 0); /* a bid alone is no impression */
    put(s, BEAT_EV_WIN, "A1", 0, T0 + 5);
    CHECK_EQ_INT(counted(c), 1);
    put(s, BEAT_EV_BILL, "A1", 0, T0 + 6); /* the same impression */
    put(s, BEAT_EV_WIN, "A1", 0, T0 + 5);  /* a replay */
    CHECK_EQ_INT(counted(c), 1);
    put(s, BEAT_EV_IMP, "A2", 0, T0 + 9); /* notice before its bid */
    CHECK_EQ_INT(counted(c), 1);
    put(s, BEAT_EV_BID, "A2", 7, T0 + 8);
    CHECK_EQ_INT(counted(c), 2);
    put(s, BEAT_EV_BID, "A3", 7, T0 + 10); /* lost: never counts */
    put(s, BEAT_EV_LOSS, "A3", 0, T0 + 11);
    put(s, BEAT_EV_BID, "A4", 0, T0 + 12); /* no cap key (no usable id) */
    put(s, BEAT_EV_WIN, "A4", 0, T0 + 13);
    CHECK_EQ_INT(counted(c), 2);
    /* both impressions are one row: person 7, campaign c1, one window */
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(dst_caps_encode(c, 0, 100, "ds", 1, &b), 0);
    char want[256];
    snprintf(want, sizeof want,
             "\"rows\":[[\"%016llx\",\"0000000000000007\",%lld,3600,2,[%u,%u,0,0]]]",
             (unsigned long long)beat_fcap_camp("c1"), (long long)beat_fcap_win_start(T0, 3600),
             (unsigned)(T0 + 8), (unsigned)T0);
    CHECK(strstr(b.data, want));
    CHECK(strstr(b.data, "\"first_seq\":1,\"last_seq\":2}"));
    /* from the cursor: nothing new */
    beat_buf_reset(&b);
    CHECK_EQ_INT(dst_caps_encode(c, 2, 100, "ds", 1, &b), 0);
    CHECK(strstr(b.data, "\"rows\":[]"));
    CHECK(strstr(b.data, "\"last_seq\":2}"));
    beat_buf_fini(&b);
    dst_caps_free(c);
    dst_stream_free(s);
    return 0;
}

/* A full table gives up its oldest window (counted); the journal answer
 * walks at most max rows and a cursor behind the journal learns it. */
static int t_eviction_and_cursor(void) {
    dst_caps *c = dst_caps_new(4);
    CHECK(c);
    for (int i = 0; i < 4; i++) dst_caps_count(c, "c1", 100 + i, 60, T0 + i * 60000);
    dst_caps_count(c, "c1", 200, 60, T0 + 10 * 60000);
    dst_caps_stats st;
    dst_caps_stats_get(c, &st);
    CHECK_EQ_INT(st.rows, 4);
    CHECK_EQ_INT(st.counted, 5);
    /* the clock is the latest bid: every older window had ended */
    CHECK_EQ_INT(st.evicted, 0);
    dst_caps_count(c, "c1", 300, 3600, T0 + 10 * 60000); /* evicts a window still open */
    dst_caps_count(c, "c1", 301, 3600, T0 + 10 * 60000);
    dst_caps_count(c, "c1", 302, 3600, T0 + 10 * 60000);
    dst_caps_count(c, "c1", 303, 3600, T0 + 10 * 60000);
    dst_caps_stats_get(c, &st);
    CHECK_EQ_INT(st.evicted, 1);
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(dst_caps_encode(c, 0, 2, "ds", 1, &b), 0);
    /* 9 changes, a journal of 4: the reader at 0 missed seq 1..5 */
    CHECK(strstr(b.data, "\"first_seq\":6,\"last_seq\":7}"));
    beat_buf_fini(&b);
    dst_caps_free(c);
    return 0;
}

/* Under a simulated clock at rate R a window of window_s seconds is
 * window_s engine seconds: window_s / R wall seconds (here one engine day
 * at 720x: two wall minutes), not window_s wall seconds. */
static int t_engine_windows(void) {
    beat_reason why;
    /* engine 2023-11-14 00:00 UTC (a day start) at wall T0, 720x */
    CHECK_EQ_INT(beat_clock_configure("1000000000000:1699920000000:720", &why), 0);
    dst_caps *c = dst_caps_new(64);
    CHECK(c);
    dst_caps_count(c, "c1", 9, 86400, T0);
    dst_caps_count(c, "c1", 9, 86400, T0 + 119999); /* the same engine day */
    dst_caps_stats st;
    dst_caps_stats_get(c, &st);
    CHECK_EQ_INT(st.rows, 1);
    dst_caps_count(c, "c1", 9, 86400, T0 + 120000); /* the next engine day */
    dst_caps_stats_get(c, &st);
    CHECK_EQ_INT(st.rows, 2);
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(dst_caps_encode(c, 0, 10, "ds", 1, &b), 0);
    /* rows carry the engine window start; recent keeps the bid's wall ms */
    CHECK(strstr(b.data, ",1699920000000,86400,2,"));
    CHECK(strstr(b.data, ",1700006400000,86400,1,"));
    beat_buf_fini(&b);
    dst_caps_free(c);
    CHECK_EQ_INT(beat_clock_configure(NULL, &why), 0);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"counts_impressions", t_counts_impressions},
        {"eviction_and_cursor", t_eviction_and_cursor},
        {"engine_windows", t_engine_windows},
        {0},
    };
    return beat_test_main("dst_caps", tests, argc, argv);
}
