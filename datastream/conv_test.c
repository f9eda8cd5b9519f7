/* Conversions in datastream, through the partition store on real SQLite
 * files: a conversion counts once for its click's campaign (the same
 * token replayed, another value for the same click, a restart in between:
 * duplicates), within its signed window only, with its value; its key
 * outlives the notice retention until its window is over, so a replay much
 * later is still a duplicate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "beat_test.h"
#include "store.h"
#include "store_testlib.h"
#include "stream.h"

#define T0 1000000000000LL
#define HOUR_MS 3600000LL

static dst_stream *mk_stream(void) { return test_stream(100000); }
static dst_store *mk_store(void) { return test_store(100000, 0); }

/* A conv event for the click of auction at click_ts, taken at ts. */
static dst_store_msg conv(const char *auction, int64_t click_ts, int64_t ts, int window_s,
                          int64_t value, int64_t offset) {
    static char buf[16][320];
    static int k;
    char *b = buf[k++ % 16];
    snprintf(b, 320,
             "{\"v\":1,\"type\":\"conv\",\"auction\":\"%s\",\"imp\":\"1\",\"campaign\":\"c1\","
             "\"nts\":%lld,\"ts\":%lld,\"conv_s\":%d,\"value\":%lld}",
             auction, (long long)click_ts, (long long)ts, window_s, (long long)value);
    return (dst_store_msg){b, strlen(b), offset};
}

static int ingest(dst_store *st, dst_stream *s, dst_store_msg m) {
    clk += 10;
    return dst_store_ingest(st, s, 0, &m, 1, clk);
}

static int t_once_per_click(void) {
    fresh_dir("conv");
    dst_stream *s = mk_stream();
    dst_store *st = mk_store();
    assign_one(st, 0, clk);
    int64_t click = clk - 5000;
    CHECK_EQ_INT(ingest(st, s, conv("A1", click, clk, 86400, 20000000, 0)), 0);
    CHECK_EQ_INT(ingest(st, s, conv("A1", click, clk + 50, 86400, 20000000, 1)), 0); /* replay */
    /* the advertiser calls again with another value: still that click's one */
    CHECK_EQ_INT(ingest(st, s, conv("A1", click, clk + 90, 86400, 99000000, 2)), 0);
    CHECK_EQ_INT(ingest(st, s, conv("A2", click, clk, 86400, 5000000, 3)), 0);
    dst_totals t = tot(s, "c1");
    CHECK_EQ_INT(t.convs, 2);
    CHECK_EQ_INT(t.conv_value_micros, 25000000);
    const dst_stream_stats *ss = dst_stream_stats_get(s);
    CHECK_EQ_INT(ss->events[BEAT_EV_CONV], 4);
    CHECK_EQ_INT(ss->duplicates, 2);
    CHECK_EQ_INT(ss->convs_attributed, 2);
    /* After the window: not counted (the receiver refuses these first). */
    CHECK_EQ_INT(ingest(st, s, conv("A3", click, click + 60 * 1000 + 1, 60, 1, 4)), 0);
    CHECK_EQ_INT(tot(s, "c1").convs, 2);
    CHECK_EQ_INT(ss->convs_late, 1);
    /* A restart (a new stream, the store reopened): still duplicates. */
    dst_store_free(st);
    dst_stream_free(s);
    s = mk_stream();
    st = mk_store();
    CHECK_EQ_INT(assign_one(st, 0, clk), 5);
    CHECK_EQ_INT(ingest(st, s, conv("A1", click, clk, 86400, 20000000, 5)), 0);
    CHECK_EQ_INT(tot(s, "c1").convs, 0);
    CHECK_EQ_INT(dst_stream_stats_get(s)->durable_duplicates, 1);
    /* Hours later, past the notice retention (3900 s) but inside the
     * window: retention keeps the key, the replay stays harmless. */
    clk += 3 * HOUR_MS;
    CHECK_EQ_INT(ingest(st, s, conv("A9", clk - 1000, clk, 86400, 1, 6)), 0); /* moves the clock */
    int32_t rp[4];
    int64_t rs[4];
    dst_store_maintain(st, clk, rp, rs, 4);
    dst_store_info info;
    dst_store_info_get(st, &info);
    CHECK_EQ_INT(info.keys, 3); /* A1, A2, A9; A3's 60 s window and retention are over */
    CHECK_EQ_INT(ingest(st, s, conv("A1", click, clk, 86400, 20000000, 7)), 0);
    CHECK_EQ_INT(tot(s, "c1").convs, 1); /* only A9 */
    CHECK_EQ_INT(dst_stream_stats_get(s)->durable_duplicates, 2);
    /* Once the window and the retention after it are over, the key goes
     * (the receiver refuses the token long before). */
    clk += 25 * HOUR_MS;
    CHECK_EQ_INT(ingest(st, s, conv("B1", clk - 1000, clk, 60, 1, 8)), 0);
    dst_store_maintain(st, clk, rp, rs, 4);
    dst_store_info_get(st, &info);
    CHECK_EQ_INT(info.keys, 2); /* A1 and A2 gone; A9 and B1 stay */
    teardown(st, s);
    return 0;
}

static beat_event ev(beat_event_type t, const char *auction, int64_t ts) {
    beat_event e;
    memset(&e, 0, sizeof e);
    e.type = t;
    e.ts_ms = ts;
    snprintf(e.auction, sizeof e.auction, "%s", auction);
    strcpy(e.imp, "1");
    strcpy(e.campaign, "c1");
    return e;
}

/* A conversion of a clicked bid becomes a conversion sample: the bid's
 * features again, "conv":1, in its own ring; the click samples are as
 * before. A conversion whose click was never seen makes none. */
static int t_conv_samples(void) {
    dst_stream *s = mk_stream();
    beat_event b = ev(BEAT_EV_BID, "S1", clk);
    b.n_feat = 3;
    b.feat[0] = 11, b.feat[1] = 22, b.feat[2] = 33;
    b.price_cpm_micros = 1000000;
    dst_stream_apply(s, &b, 0, clk += 10);
    beat_event w = ev(BEAT_EV_WIN, "S1", clk);
    w.price_cpm_micros = 500000;
    w.notice_ts_ms = clk;
    dst_stream_apply(s, &w, 0, clk += 10);
    beat_event c = ev(BEAT_EV_CLICK, "S1", clk);
    c.notice_ts_ms = b.ts_ms;
    dst_stream_apply(s, &c, 0, clk += 10);
    beat_event v = ev(BEAT_EV_CONV, "S1", clk + 60000);
    v.notice_ts_ms = b.ts_ms;
    v.conv_window_s = 3600;
    dst_stream_apply(s, &v, 0, clk += 60000);   /* long after the join window */
    beat_event u = ev(BEAT_EV_CONV, "S2", clk); /* never clicked here */
    u.notice_ts_ms = clk - 1000;
    u.conv_window_s = 3600;
    dst_stream_apply(s, &u, 0, clk += 10);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(st->samples_pos, 1);
    CHECK_EQ_INT(st->conv_samples, 1);
    CHECK_EQ_INT(st->conv_unjoined, 1);
    CHECK_EQ_INT(tot(s, "c1").convs, 2);
    beat_sample out[4];
    CHECK_EQ_INT(dst_samples_get(dst_stream_conv_samples(s), 0, 4, out), 1);
    CHECK_EQ_INT(out[0].conv, 1);
    CHECK_EQ_INT(out[0].label, 1);
    CHECK_EQ_INT(out[0].n_feat, 3);
    CHECK_EQ_INT(out[0].feat[2], 33);
    CHECK_EQ_INT(out[0].ts_ms, b.ts_ms);
    CHECK_EQ_INT(dst_samples_get(dst_stream_samples(s), 0, 4, out), 1);
    CHECK_EQ_INT(out[0].conv, 0); /* the click sample, unchanged */
    beat_buf buf;
    beat_buf_init(&buf, 1 << 14);
    CHECK_EQ_INT(dst_samples_encode(dst_stream_conv_samples(s), 0, 10, "ds-1", 1, &buf), 0);
    CHECK(strstr(buf.data, "\"label\":1,\"conv\":1,\"w\":1"));
    beat_samples_header h;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_samples_decode(buf.data, buf.len, &h, NULL, NULL, &why), 0);
    beat_buf_reset(&buf);
    CHECK_EQ_INT(dst_samples_encode(dst_stream_samples(s), 0, 10, "ds-1", 1, &buf), 0);
    CHECK(!strstr(buf.data, "conv"));
    beat_buf_fini(&buf);
    dst_stream_free(s);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"once_per_click", t_once_per_click}, {"conv_samples", t_conv_samples}, {NULL, NULL}};
    clk = T0;
    return beat_test_main("datastream_conv", tests, argc, argv);
}
