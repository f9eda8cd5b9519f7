/* Inference's side of caps across nodes: the decision (global count + this
 * node's bid in flight, one in flight per node), a bid leaving flight when
 * a frame shows it counted or its time runs out, the race of two workers
 * for one person, the fallback to local counts when frames stop, and a
 * frame refused whole. */
#include <errno.h>
#include <string.h>

#include "beat_clock.h"
#include "beat_fcap.h"
#include "beat_test.h"
#include "fcap.h"

#define T0 1700000000000LL /* the bidding clock */
#define M0 5000000LL       /* the monotonic clock */
#define CAMP 11ULL
#define KEY 22ULL

static inf_fcap *mk(void) {
    inf_fcap_cfg c = {.rows_max = 64, .inflight_log2 = 8, .inflight_ms = 3000, .stale_ms = 2000};
    return inf_fcap_new(&c);
}

/* A complete frame with one row for (CAMP, KEY) in T0's hour. */
static int frame(inf_fcap *f, uint32_t count, int64_t counted_bid_ts, int64_t mono) {
    beat_fcap_row r = {.camp = CAMP,
                       .key = KEY,
                       .win_start_ms = beat_fcap_win_start(T0, 3600),
                       .window_s = 3600,
                       .count = count};
    r.recent[0] = (uint32_t)counted_bid_ts;
    uint8_t buf[BEAT_FCAP_HDR_BYTES + BEAT_FCAP_ROW_BYTES];
    int64_t n = beat_fcap_frame_encode(&r, 1, T0, buf, sizeof buf);
    buf[2] = 1; /* complete */
    beat_reason why;
    return inf_fcap_apply(f, buf, (size_t)n, T0, mono, &why);
}

static bool allow(inf_fcap *f, int max, int local, int64_t now, int64_t mono, uint64_t *seen) {
    return inf_fcap_allow(f, CAMP, KEY, max, 3600, local, now, mono, seen);
}

static int t_decide(void) {
    CHECK(inf_fcap_decide(true, 2, false, 99, 3));  /* global decides, local ignored */
    CHECK(!inf_fcap_decide(true, 3, false, 0, 3));  /* at the cap */
    CHECK(!inf_fcap_decide(true, 1, true, 0, 3));   /* one in flight already */
    CHECK(inf_fcap_decide(false, 99, false, 2, 3)); /* stale: own counts */
    CHECK(!inf_fcap_decide(false, 0, false, 3, 3));
    return 0;
}

static int t_global_plus_inflight(void) {
    inf_fcap *f = mk();
    CHECK(f);
    uint64_t seen;
    /* no frame yet: this node's own counts */
    CHECK(allow(f, 3, 2, T0, M0, &seen));
    CHECK(!allow(f, 3, 3, T0, M0, &seen));
    CHECK_EQ_INT(frame(f, 1, T0 - 50000, M0), 0);
    /* global 1 < 3, nothing in flight, whatever the local count says */
    CHECK(allow(f, 3, 3, T0, M0, &seen));
    CHECK(inf_fcap_take(f, CAMP, KEY, T0, seen));
    /* our bid is in flight: no second one until it is seen counted */
    CHECK(!allow(f, 3, 0, T0 + 100, M0 + 100, &seen));
    /* a frame that counted another bid (another node's) does not free it */
    CHECK_EQ_INT(frame(f, 2, T0 + 50, M0 + 200), 0);
    CHECK(!allow(f, 3, 0, T0 + 300, M0 + 300, &seen));
    /* counted: global 3 = the cap */
    CHECK_EQ_INT(frame(f, 3, T0, M0 + 400), 0);
    CHECK(!allow(f, 3, 0, T0 + 500, M0 + 500, &seen));
    /* with a cap of 5 the same state allows one more */
    CHECK(allow(f, 5, 0, T0 + 500, M0 + 500, &seen));
    inf_fcap_free(f);
    return 0;
}

static int t_inflight_expires(void) {
    inf_fcap *f = mk();
    uint64_t seen;
    CHECK_EQ_INT(frame(f, 0, 0, M0), 0);
    CHECK(allow(f, 2, 0, T0, M0, &seen) && inf_fcap_take(f, CAMP, KEY, T0, seen));
    CHECK_EQ_INT(frame(f, 0, 0, M0 + 2900), 0); /* lost: never counted */
    CHECK(!allow(f, 2, 0, T0 + 2900, M0 + 2900, &seen));
    CHECK(allow(f, 2, 0, T0 + 3001, M0 + 2900, &seen)); /* --fcap-inflight-ms later */
    inf_fcap_free(f);
    return 0;
}

/* Two workers see the person free; only the first may bid. A bid dropped
 * after taking (no lease) gives the slot back. */
static int t_workers_race(void) {
    inf_fcap *f = mk();
    uint64_t s1, s2;
    CHECK_EQ_INT(frame(f, 0, 0, M0), 0);
    CHECK(allow(f, 5, 0, T0, M0, &s1) && allow(f, 5, 0, T0, M0, &s2));
    CHECK(inf_fcap_take(f, CAMP, KEY, T0, s1));
    CHECK(!inf_fcap_take(f, CAMP, KEY, T0, s2));
    inf_fcap_untake(f, CAMP, KEY, T0, s1);
    CHECK(allow(f, 5, 0, T0 + 1, M0 + 1, &s2));
    inf_fcap_free(f);
    return 0;
}

/* Frames stop (supervisor or datastream away): after --fcap-stale-ms the
 * node decides with its own counts, and goes back when one comes. */
static int t_stale_falls_back(void) {
    inf_fcap *f = mk();
    uint64_t seen;
    CHECK_EQ_INT(frame(f, 5, 0, M0), 0);
    CHECK(!allow(f, 5, 0, T0, M0 + 2000, &seen));
    CHECK(allow(f, 5, 0, T0, M0 + 2001, &seen)); /* stale: local 0 < 5 */
    inf_fcap_stats st;
    inf_fcap_stats_get(f, M0 + 2001, &st);
    CHECK_EQ_INT(st.local_decisions, 1);
    CHECK_EQ_INT(frame(f, 5, 0, M0 + 2500), 0);
    CHECK(!allow(f, 5, 0, T0, M0 + 2600, &seen));
    /* an incomplete frame (a datastream did not answer) moves rows but is
     * no freshness */
    beat_fcap_row r = {.camp = 1, .key = 2, .win_start_ms = 0, .window_s = 60, .count = 1};
    uint8_t buf[BEAT_FCAP_HDR_BYTES + BEAT_FCAP_ROW_BYTES];
    int64_t n = beat_fcap_frame_encode(&r, 1, T0, buf, sizeof buf);
    beat_reason why;
    CHECK_EQ_INT(inf_fcap_apply(f, buf, (size_t)n, T0, M0 + 5000, &why), 0);
    CHECK(allow(f, 5, 0, T0, M0 + 5000, &seen));
    /* a bad frame is refused and changes nothing */
    buf[1] = 9;
    CHECK_EQ_INT(inf_fcap_apply(f, buf, (size_t)n, T0, M0 + 5000, &why), -EBADMSG);
    inf_fcap_stats_get(f, M0 + 5000, &st);
    CHECK_EQ_INT(st.bad_frames, 1);
    CHECK_EQ_INT(st.rows, 2);
    inf_fcap_free(f);
    return 0;
}

/* Under a simulated clock at rate R a cap window of window_s seconds spans
 * window_s / R wall seconds: one engine day at 720x is two wall minutes,
 * and a person capped in it may be bid on again in the next one. */
static int t_engine_windows(void) {
    beat_reason why;
    const int64_t day0 = 1699920000000LL; /* an engine day start, at wall T0 */
    CHECK_EQ_INT(beat_clock_configure("1700000000000:1699920000000:720", &why), 0);
    inf_fcap *f = mk();
    CHECK(f);
    beat_fcap_row r = {
        .camp = CAMP, .key = KEY, .win_start_ms = day0, .window_s = 86400, .count = 2};
    uint8_t buf[BEAT_FCAP_HDR_BYTES + BEAT_FCAP_ROW_BYTES];
    int64_t n = beat_fcap_frame_encode(&r, 1, T0, buf, sizeof buf);
    buf[2] = 1;
    CHECK_EQ_INT(inf_fcap_apply(f, buf, (size_t)n, day0, M0, &why), 0);
    uint64_t seen;
    CHECK(!inf_fcap_allow(f, CAMP, KEY, 2, 86400, 0, T0 + 119999, M0, &seen));
    CHECK(inf_fcap_allow(f, CAMP, KEY, 2, 86400, 0, T0 + 120000, M0, &seen));
    /* a bid in flight at the end of the day does not hold the next one */
    CHECK(inf_fcap_take(f, CAMP, KEY, T0 + 119000, seen));
    CHECK(inf_fcap_allow(f, CAMP, KEY, 3, 86400, 0, T0 + 120500, M0, &seen));
    inf_fcap_free(f);
    CHECK_EQ_INT(beat_clock_configure(NULL, &why), 0);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"decide", t_decide},
        {"global_plus_inflight", t_global_plus_inflight},
        {"inflight_expires", t_inflight_expires},
        {"workers_race", t_workers_race},
        {"stale_falls_back", t_stale_falls_back},
        {"engine_windows", t_engine_windows},
        {0},
    };
    return beat_test_main("inf_fcap", tests, argc, argv);
}
