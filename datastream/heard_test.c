/* Completeness watermarks: the heard time moves with heartbeats, stalls
 * while a receiver is silent (the others' beats do not move it), resumes
 * when it beats again, forgets a receiver after forget_ms and drops one at
 * once on its goodbye; an instance holding nothing, or a partition heard by
 * nobody, is unknown (0). Heartbeats through the store and the stream count
 * in no aggregate, sample or dedup key; each closed bucket keeps the heard
 * time of its close, and the aggregates answer carries the last listed
 * bucket's as heard_ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_test.h"
#include "buckets.h"
#include "heard.h"
#include "store.h"
#include "store_testlib.h"
#include "stream.h"

#define T0 1700000000000LL

static int test_heard_moves_stalls_resumes(void) {
    dst_heard *h = dst_heard_new(5000);
    CHECK(h != NULL);
    CHECK_EQ_INT(dst_heard_tick(h, T0), 0); /* holds nothing */
    int32_t parts[] = {0, 1};
    dst_heard_assign(h, parts, 2);
    CHECK_EQ_INT(dst_heard_tick(h, T0), 0); /* nobody heard yet */
    /* r1 beats into both partitions, r2 only into 0: partition 1 is heard
     * by r1 alone, partition 0 by both */
    dst_heard_beat(h, 0, "r1", T0 + 1000, 0, false, T0 + 1000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 1000), 0); /* partition 1 unheard */
    dst_heard_beat(h, 1, "r1", T0 + 1000, 0, false, T0 + 1000);
    dst_heard_beat(h, 0, "r2", T0 + 900, 0, false, T0 + 1000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 1000), T0 + 900);
    CHECK_EQ_INT(dst_heard_get(h), T0 + 900);
    CHECK_EQ_INT(dst_heard_receivers(h), 2);
    for (int s = 2; s <= 3; s++) {
        for (int p = 0; p < 2; p++)
            dst_heard_beat(h, p, "r1", T0 + s * 1000, 0, false, T0 + s * 1000);
        dst_heard_beat(h, 0, "r2", T0 + s * 1000, 0, false, T0 + s * 1000);
    }
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 3000), T0 + 3000);
    /* r2 goes silent: r1 keeps beating, the heard time stays at r2's */
    for (int s = 4; s <= 7; s++)
        for (int p = 0; p < 2; p++)
            dst_heard_beat(h, p, "r1", T0 + s * 1000, 0, false, T0 + s * 1000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 7000), T0 + 3000);
    /* an old heartbeat read again (a log re-read) moves nothing back */
    dst_heard_beat(h, 0, "r1", T0 + 1000, 0, false, T0 + 7000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 7000), T0 + 3000);
    /* r2 beats again: resumes */
    dst_heard_beat(h, 0, "r2", T0 + 7500, 0, false, T0 + 7500);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 7500), T0 + 7000);
    /* r2 silent past forget (5 s since its last read): forgotten, heals */
    for (int s = 8; s <= 13; s++)
        for (int p = 0; p < 2; p++)
            dst_heard_beat(h, p, "r1", T0 + s * 1000, 0, false, T0 + s * 1000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 12000), T0 + 7500);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 13000), T0 + 13000);
    CHECK_EQ_INT(dst_heard_receivers(h), 1);
    /* r3 appears, then says goodbye: dropped at once */
    dst_heard_beat(h, 1, "r3", T0 + 12500, 0, false, T0 + 13000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 13000), T0 + 12500);
    dst_heard_beat(h, 1, "r3", T0 + 13000, 0, true, T0 + 13000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 13000), T0 + 13000);
    /* a partition that moves away no longer counts; one that comes back
     * is unknown until it hears a receiver again */
    dst_heard_revoke(h, parts, 1);
    dst_heard_beat(h, 1, "r1", T0 + 14000, 0, false, T0 + 14000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 14000), T0 + 14000);
    dst_heard_assign(h, parts, 1);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 14000), 0);
    /* every receiver silent past forget: unknown, never "now" */
    dst_heard_beat(h, 0, "r1", T0 + 14000, 0, false, T0 + 14000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 14000), T0 + 14000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 30000), 0);
    dst_heard_revoke(h, parts, 2);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 30000), 0);
    dst_heard_free(h);
    dst_heard_free(NULL);
    CHECK(dst_heard_new(0) == NULL);
    return 0;
}

static dst_stream *mk_stream(int64_t now) {
    dst_stream_cfg c = {.bucket_ms = 1000,
                        .buckets_max = 100,
                        .campaigns_max = 10,
                        .join_window_ms = 30000,
                        .max_open = 100,
                        .samples_max = 100,
                        .neg_rate = 1.0,
                        .seed = 1};
    return dst_stream_new(&c, now);
}

/* Heartbeats through the partition store and the stream: counted as
 * heartbeats only; the bucket that closes after them carries their time. */
static int test_hb_counts_nowhere(void) {
    fresh_dir("heard");
    int64_t now = T0;
    dst_stream *s = mk_stream(now);
    dst_heard *h = dst_heard_new(300000);
    dst_stream_set_heard(s, h);
    dst_buckets *b = dst_stream_buckets(s);
    dst_buckets_set_heard_src(b, dst_heard_src(h));
    dst_store *st = test_store(1000, 0);
    CHECK(st != NULL);
    int32_t p = 0;
    int64_t start;
    dst_store_assign(st, &p, 1, &start, now);
    dst_heard_assign(h, &p, 1);
    char win[256], hb1[128], hb2[128];
    snprintf(win, sizeof win,
             "{\"v\":1,\"type\":\"win\",\"auction\":\"A\",\"imp\":\"1\",\"campaign\":\"c1\","
             "\"price\":2000000,\"bid\":3000000,\"nts\":%lld,\"ts\":%lld}",
             (long long)T0, (long long)T0);
    snprintf(hb1, sizeof hb1, "{\"v\":1,\"type\":\"hb\",\"node\":\"r1\",\"ts\":%lld,\"lost\":0}",
             (long long)(T0 + 10));
    snprintf(hb2, sizeof hb2, "{\"v\":1,\"type\":\"hb\",\"node\":\"r1\",\"ts\":%lld,\"lost\":0}",
             (long long)(T0 + 20));
    dst_store_msg m[] = {{win, strlen(win), 0},
                         {hb1, strlen(hb1), 1},
                         {hb2, strlen(hb2), 2},
                         {hb2, strlen(hb2), 3}}; /* the same heartbeat twice: no dup */
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, m, 4, now += 10), 0);
    const dst_stream_stats *ss = dst_stream_stats_get(s);
    CHECK_EQ_INT(ss->heartbeats, 3);
    CHECK_EQ_INT(ss->duplicates, 0);
    CHECK_EQ_INT(ss->invalid, 0);
    CHECK_EQ_INT(ss->events[BEAT_EV_WIN], 1);
    dst_store_info in;
    dst_store_info_get(st, &in);
    CHECK_EQ_INT(in.keys, 3); /* the win, its debit and release markers: no hb */
    CHECK_EQ_INT(dst_heard_tick(h, now), T0 + 20);
    /* the bucket closing now carries the heard time; the aggregates too */
    dst_stream_tick(s, now += 2000);
    dst_totals t;
    dst_buckets_sum(b, NULL, 0, &t);
    CHECK_EQ_INT(t.wins, 1);
    CHECK_EQ_INT(t.bids, 0);
    CHECK_EQ_INT(t.spend_micros, 2000);
    beat_buf out;
    beat_buf_init(&out, 1 << 20);
    CHECK_EQ_INT(dst_buckets_encode(b, now, 0, 100, "ds-1", 1, &out), 0);
    beat_aggregates a;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK(a.has_heard);
    CHECK_EQ_INT(a.heard_ms, T0 + 20);
    int rows = 0;
    for (int i = 0; i < a.n_buckets; i++) rows += a.buckets[i].n_rows;
    CHECK_EQ_INT(rows, 1); /* one campaign row: the win's, nothing for hb */
    beat_aggregates_fini(&a);
    /* no new bucket: the answer repeats the last bucket's heard time */
    beat_buf_reset(&out);
    CHECK_EQ_INT(dst_buckets_encode(b, now, dst_buckets_last_seq(b), 100, "ds-1", 1, &out), 0);
    CHECK(strstr(out.data, "\"heard_ms\":1700000000020,") != NULL);
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK_EQ_INT(a.n_buckets, 0);
    CHECK_EQ_INT(a.heard_ms, T0 + 20);
    beat_aggregates_fini(&a);
    beat_buf_fini(&out);
    /* no samples came from heartbeats */
    CHECK_EQ_INT(dst_samples_last_seq(dst_stream_samples(s)), 0);
    teardown(st, s);
    dst_heard_free(h);
    return 0;
}

/* A heartbeat of r1 stamped ts, as message offset off (text in buf). */
static dst_store_msg hb_at(char *buf, size_t n, int64_t ts, int64_t off) {
    snprintf(buf, n, "{\"v\":1,\"type\":\"hb\",\"node\":\"r1\",\"ts\":%lld,\"lost\":0}",
             (long long)ts);
    return (dst_store_msg){buf, strlen(buf), off};
}

/* One second of the consumer loop at now: a heartbeat stamped now, the
 * heard time, due join entries, expiry (settle 30 s). */
static int second(dst_store *st, dst_stream *s, dst_heard *h, int64_t now, int64_t *off,
                  bool beat) {
    char hb[128];
    dst_store_msg m = hb_at(hb, sizeof hb, now, (*off)++);
    if (beat && dst_store_ingest(st, s, 0, &m, 1, now) != 0) return -1;
    dst_heard_tick(h, now);
    dst_stream_tick(s, now);
    dst_store_expire(st, s, h, 30000, now);
    return 0;
}

/* Released micros of campaign c1 in partition 0's ledger. */
static int64_t released(dst_store *st) {
    beat_ledger l;
    int64_t r = -1;
    if (dst_store_ledger(st, &l) != 0) return -1;
    for (int i = 0; i < l.n; i++)
        for (int k = 0; k < l.parts[i].n; k++)
            if (l.parts[i].p == 0 && strcmp(l.parts[i].rows[k].id, "c1") == 0)
                r = l.parts[i].rows[k].released_cpm;
    beat_ledger_fini(&l);
    return r;
}

/* Expiry (docs/money.md): a bid no notice settled is released once its
 * partition heard every receiver past the settle window with no gap since
 * the bid — and only once: a bill that comes later debits, releasing
 * nothing again. A bid around a gap (beats too far apart) never expires. */
static int test_unsettled_bids_expire_only_when_heard(void) {
    fresh_dir("expiry");
    int64_t now = T0;
    dst_stream *s = mk_stream(now);
    dst_heard *h = dst_heard_new(300000);
    dst_heard_set_gap_ms(h, 3000);
    dst_stream_set_heard(s, h); /* heartbeats read by the stream reach h */
    dst_store *st = test_store(100000, 0);
    CHECK(st != NULL && h != NULL);
    int32_t p = 0;
    int64_t start, off = 0;
    dst_store_assign(st, &p, 1, &start, now);
    dst_heard_assign(h, &p, 1);
    char buf[8][300];
    /* r1 beats from before the bids; bids B1 (will expire) and B2 (settled
     * by its loss); then beats every second for 40 s */
    for (int i = 0; i < 2; i++)
        snprintf(buf[1 + i], 300,
                 "{\"v\":1,\"type\":\"bid\",\"auction\":\"B%d\",\"imp\":\"1\","
                 "\"campaign\":\"c1\",\"price\":3000000,\"ts\":%lld,\"feat\":[1,2]}",
                 i + 1, (long long)T0);
    snprintf(buf[3], 300,
             "{\"v\":1,\"type\":\"loss\",\"auction\":\"B2\",\"imp\":\"1\","
             "\"campaign\":\"c1\",\"bid\":3000000,\"nts\":%lld,\"ts\":%lld}",
             (long long)T0, (long long)T0 + 100);
    dst_store_msg m[4];
    m[0] = hb_at(buf[0], sizeof buf[0], T0 - 500, off++);
    for (int i = 1; i < 4; i++) m[i] = (dst_store_msg){buf[i], strlen(buf[i]), off++};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, m, 4, now += 100), 0);
    CHECK_EQ_INT(released(st), 3000000);  /* B2's loss */
    for (int sec = 1; sec <= 40; sec++) { /* B1's entry closes at T0 + 30 s */
        CHECK_EQ_INT(second(st, s, h, now = T0 + sec * 1000, &off, true), 0);
        if (sec < 30) CHECK_EQ_INT(released(st), 3000000); /* not before settle */
    }
    CHECK_EQ_INT(released(st), 6000000); /* B1 expired: released once */
    /* in the aggregates: B2 lost by its notice, B1 by expiry, both at 3 CPM */
    dst_totals t;
    dst_stream_tick(s, now + 1000);
    dst_buckets_sum(dst_stream_buckets(s), "c1", 0, &t);
    CHECK_EQ_INT(t.losses, 1);
    CHECK_EQ_INT(t.loss_other, 1);
    CHECK_EQ_INT(t.expired, 1);
    CHECK_EQ_INT(t.lost_cpm[beat_land_bucket(3000000)], 2);
    /* a late bill for B1 debits; it releases nothing again */
    char bill[300];
    snprintf(bill, sizeof bill,
             "{\"v\":1,\"type\":\"bill\",\"auction\":\"B1\",\"imp\":\"1\","
             "\"campaign\":\"c1\",\"price\":2000000,\"bid\":3000000,\"nts\":%lld,\"ts\":%lld}",
             (long long)T0, (long long)now);
    dst_store_msg one = {bill, strlen(bill), off++};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, &one, 1, now += 10), 0);
    CHECK_EQ_INT(released(st), 6000000);
    /* B3, bid now; r1 then skips 10 s of beats (a gap): never expires */
    char b3[300];
    int64_t t3 = now;
    snprintf(b3, sizeof b3,
             "{\"v\":1,\"type\":\"bid\",\"auction\":\"B3\",\"imp\":\"1\","
             "\"campaign\":\"c1\",\"price\":3000000,\"ts\":%lld,\"feat\":[1]}",
             (long long)t3);
    one = (dst_store_msg){b3, strlen(b3), off++};
    CHECK_EQ_INT(dst_store_ingest(st, s, 0, &one, 1, now), 0);
    for (int sec = 1; sec <= 50; sec++) /* r1 silent from 3 s to 11 s */
        CHECK_EQ_INT(second(st, s, h, now = t3 + sec * 1000, &off, sec <= 2 || sec >= 12), 0);
    CHECK_EQ_INT(released(st), 6000000); /* B3 stays committed */
    dst_buckets_sum(dst_stream_buckets(s), "c1", 0, &t);
    CHECK_EQ_INT(t.expired, 1); /* B3 is not lost */
    teardown(st, s);
    dst_heard_free(h);
    return 0;
}

/* A writer without a heard source (or an old datastream) sends no heard_ms;
 * a reader then sees has_heard false. */
static int test_no_heard_field(void) {
    dst_buckets *b = dst_buckets_new(1000, 10, 10, T0);
    dst_buckets_tick(b, T0 + 1000);
    beat_buf out;
    beat_buf_init(&out, 1 << 16);
    CHECK_EQ_INT(dst_buckets_encode(b, T0 + 1000, 0, 10, "ds", 1, &out), 0);
    CHECK(strstr(out.data, "heard_ms") == NULL);
    beat_aggregates a;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK(!a.has_heard);
    beat_aggregates_fini(&a);
    const char *bad = "{\"v\":1,\"instance\":\"d\",\"epoch\":\"0000000000000001\","
                      "\"bucket_ms\":1000,\"first_seq\":0,\"last_seq\":0,\"heard_ms\":-5,"
                      "\"buckets\":[]}";
    CHECK(beat_aggregates_decode(bad, strlen(bad), &a, &why) != 0);
    CHECK_REASON(why, "heard_ms: must be >= 0");
    beat_buf_fini(&out);
    dst_buckets_free(b);
    return 0;
}

/* A heartbeat stamped further ahead than the skew would move the heard
 * time into the future (settling bids whose notices may still come): it is
 * ignored and the receiver's last good beat stands. */
static int test_future_heartbeat_ignored(void) {
    dst_heard *h = dst_heard_new(60000);
    CHECK(h != NULL);
    dst_heard_set_max_skew_ms(h, 2000);
    int32_t parts[] = {0};
    dst_heard_assign(h, parts, 1);
    dst_heard_beat(h, 0, "r1", T0 + 1000, 0, false, T0 + 1000);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 1000), T0 + 1000);
    dst_heard_beat(h, 0, "r1", T0 + 3600000, 0, false, T0 + 2000); /* an hour ahead */
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 2000), T0 + 1000);
    dst_heard_beat(h, 0, "r1", T0 + 3500, 0, false, T0 + 2000); /* within the skew */
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 2000), T0 + 3500);
    /* a receiver first heard from the future is not learnt either */
    dst_heard_beat(h, 0, "r2", T0 + 3600000, 0, false, T0 + 2000);
    CHECK_EQ_INT(dst_heard_receivers(h), 1);
    CHECK_EQ_INT(dst_heard_tick(h, T0 + 4000), T0 + 3500);
    dst_heard_free(h);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("heard_test", getenv("HEARD_VERBOSE") ? BEAT_INFO : BEAT_FATAL);
    static const beat_test_case t[] = {
        {"heard_moves_stalls_resumes", test_heard_moves_stalls_resumes},
        {"hb_counts_nowhere", test_hb_counts_nowhere},
        {"no_heard_field", test_no_heard_field},
        {"unsettled_bids_expire_only_when_heard", test_unsettled_bids_expire_only_when_heard},
        {"future_heartbeat_ignored", test_future_heartbeat_ignored},
        {NULL, NULL},
    };
    return beat_test_main("heard", t, argc, argv);
}
