/* Cap keys (order-independent properties: keyed, scoped, never 0), the
 * bounded table (eviction of the oldest window, ended windows reused), and
 * the 'F' frame codec (round trip, every truncation and a bad version
 * refused). */
#include <errno.h>
#include <string.h>

#include "beat_fcap.h"
#include "beat_test.h"

static int t_key(void) {
    const char s1[] = "secret-one", s2[] = "secret-two";
    uint64_t a = beat_fcap_key(s1, strlen(s1), BEAT_FCAP_ID_BUYERUID, "x1", "u1");
    CHECK(a != 0);
    CHECK_EQ_INT(a, beat_fcap_key(s1, strlen(s1), BEAT_FCAP_ID_BUYERUID, "x2", "u1"));
    /* keyed: another secret, another key */
    CHECK(a != beat_fcap_key(s2, strlen(s2), BEAT_FCAP_ID_BUYERUID, "x1", "u1"));
    /* an ifa and a buyeruid that happen to be equal strings stay apart */
    CHECK(a != beat_fcap_key(s1, strlen(s1), BEAT_FCAP_ID_IFA, "x1", "u1"));
    /* an exchange's user id is scoped by the exchange */
    uint64_t u1 = beat_fcap_key(s1, strlen(s1), BEAT_FCAP_ID_USER, "x1", "u1");
    uint64_t u2 = beat_fcap_key(s1, strlen(s1), BEAT_FCAP_ID_USER, "x2", "u1");
    CHECK(u1 != u2 && u1 && u2);
    CHECK_EQ_INT(beat_fcap_key(s1, strlen(s1), BEAT_FCAP_ID_NONE, "x1", "u1"), 0);
    CHECK_EQ_INT(beat_fcap_key(s1, strlen(s1), BEAT_FCAP_ID_IFA, "x1", NULL), 0);
    return 0;
}

static int t_window(void) {
    CHECK_EQ_INT(beat_fcap_win_start(3599999, 3600), 0);
    CHECK_EQ_INT(beat_fcap_win_start(3600000, 3600), 3600000);
    CHECK_EQ_INT(beat_fcap_win_start(-1, 60), -60000);
    return 0;
}

static int t_row(void) {
    beat_fcap_row r = {.window_s = 60};
    for (int i = 1; i <= 6; i++) beat_fcap_row_add(&r, 1000 + i);
    CHECK_EQ_INT(r.count, 6);
    CHECK(beat_fcap_row_has(&r, 1006) && beat_fcap_row_has(&r, 1003));
    CHECK(!beat_fcap_row_has(&r, 1002)); /* only the latest BEAT_FCAP_RECENT */
    return 0;
}

/* A full set gives up the row whose window ends first; a row of an ended
 * window goes without counting as an eviction. */
static int t_table_evicts_oldest(void) {
    beat_fcap_tab *t = beat_fcap_tab_new(4); /* one set of 4 */
    CHECK(t && beat_fcap_tab_slots(t) == 4);
    bool ev;
    for (int i = 0; i < 4; i++) {
        beat_fcap_row *r = beat_fcap_tab_upsert(t, 1, 100 + i, 60000 * (i + 1), 60, 0, &ev);
        CHECK(!ev && r->count == 0);
        beat_fcap_row_add(r, 1);
    }
    CHECK_EQ_INT(beat_fcap_tab_rows(t), 4);
    /* same row again: found, not replaced */
    CHECK_EQ_INT(beat_fcap_tab_upsert(t, 1, 102, 180000, 60, 0, &ev)->count, 1);
    beat_fcap_tab_upsert(t, 1, 999, 600000, 60, 0, &ev);
    CHECK(ev);                                    /* key 100's window (ends 120000) was open */
    CHECK(!beat_fcap_tab_find(t, 1, 100, 60000)); /* the oldest went */
    CHECK(beat_fcap_tab_find(t, 1, 101, 120000)); /* the others stay */
    beat_fcap_tab_upsert(t, 1, 998, 600000, 60, 10000000, &ev);
    CHECK(!ev); /* key 101's window had ended by now */
    CHECK_EQ_INT(beat_fcap_tab_rows(t), 4);
    beat_fcap_tab_free(t);
    CHECK(!beat_fcap_tab_new(3));
    return 0;
}

static int t_frame_roundtrip(void) {
    beat_fcap_row rows[3] = {{.camp = 1, .key = 2, .win_start_ms = 3, .window_s = 4, .count = 5},
                             {.camp = ~0ULL, .key = 7, .win_start_ms = -60000, .window_s = 60},
                             {.camp = 9, .key = 10, .win_start_ms = 0, .window_s = 86400}};
    rows[0].recent[0] = 77;
    rows[2].recent[3] = 0xffffffffu;
    uint8_t buf[BEAT_FCAP_HDR_BYTES + 3 * BEAT_FCAP_ROW_BYTES];
    int64_t len = beat_fcap_frame_encode(rows, 3, 1234, buf, sizeof buf);
    CHECK_EQ_INT(len, sizeof buf);
    CHECK_EQ_INT(beat_fcap_frame_encode(rows, 3, 1234, buf, sizeof buf - 1), -EINVAL);
    beat_fcap_row out[3];
    int64_t ts;
    int n;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_fcap_frame_decode(buf, (size_t)len, &ts, out, 3, &n, &why), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(ts, 1234);
    CHECK(memcmp(rows, out, sizeof rows) == 0);
    /* every truncation is refused */
    for (int64_t k = 0; k < len; k++)
        CHECK_EQ_INT(beat_fcap_frame_decode(buf, (size_t)k, &ts, out, 3, &n, &why), -EBADMSG);
    /* more rows than the caller has room for */
    CHECK_EQ_INT(beat_fcap_frame_decode(buf, (size_t)len, &ts, out, 2, &n, &why), -EBADMSG);
    buf[1] = 2;
    CHECK_EQ_INT(beat_fcap_frame_decode(buf, (size_t)len, &ts, out, 3, &n, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    buf[1] = BEAT_FCAP_V;
    buf[BEAT_FCAP_HDR_BYTES + 24] = 0; /* row 0: window_s 4 → 0 */
    CHECK_EQ_INT(beat_fcap_frame_decode(buf, (size_t)len, &ts, out, 3, &n, &why), -EBADMSG);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"key", t_key},
        {"window", t_window},
        {"row", t_row},
        {"table_evicts_oldest", t_table_evicts_oldest},
        {"frame_roundtrip", t_frame_roundtrip},
        {0},
    };
    return beat_test_main("beat_fcap", tests, argc, argv);
}
