/* Scripted event sequences through the whole stream (join + buckets +
 * samples) with an injected clock: exact aggregates and samples for bids,
 * wins, duplicate wins, bill after win, clicks, late events, out-of-order
 * notices, revocation, eviction and odd-but-valid JSON. */
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "stream.h"

#define T0 1000000000000LL /* aligned to the 1 s buckets */
#define W 30000            /* join window */

static dst_stream *mk(double neg_rate, int64_t max_open) {
    dst_stream_cfg c = {.bucket_ms = 1000,
                        .buckets_max = 1000,
                        .campaigns_max = 100,
                        .join_window_ms = W,
                        .max_open = max_open,
                        .samples_max = 10000,
                        .neg_rate = neg_rate,
                        .seed = 42};
    return dst_stream_new(&c, T0);
}

static beat_event ev(beat_event_type t, const char *auction, const char *camp, int64_t price) {
    beat_event e;
    memset(&e, 0, sizeof e);
    e.type = t;
    e.ts_ms = T0;
    snprintf(e.auction, sizeof e.auction, "%s", auction);
    snprintf(e.imp, sizeof e.imp, "1");
    if (camp) snprintf(e.campaign, sizeof e.campaign, "%s", camp);
    e.price_cpm_micros = price;
    return e;
}

static void put(dst_stream *s, beat_event_type t, const char *auction, const char *camp,
                int64_t price, int64_t at) {
    beat_event e = ev(t, auction, camp, price);
    dst_stream_apply(s, &e, 0, T0 + at);
}

static void bid(dst_stream *s, const char *auction, const char *camp, uint32_t f0, uint32_t nf,
                int64_t at) {
    beat_event e = ev(BEAT_EV_BID, auction, camp, 2000000);
    e.n_feat = nf;
    for (uint32_t i = 0; i < nf; i++) e.feat[i] = f0 + i;
    e.pctr = 0.01;
    e.ts_ms = T0 + at;
    dst_stream_apply(s, &e, 0, T0 + at);
}

static dst_totals tot(dst_stream *s, const char *camp) {
    dst_totals t;
    dst_buckets_sum(dst_stream_buckets(s), camp, 0, &t);
    return t;
}

#define CHECK_TOT(t, b, w, sp, im, cl)                                                             \
    do {                                                                                           \
        CHECK_EQ_INT((t).bids, b);                                                                 \
        CHECK_EQ_INT((t).wins, w);                                                                 \
        CHECK_EQ_INT((t).spend_micros, sp);                                                        \
        CHECK_EQ_INT((t).imps, im);                                                                \
        CHECK_EQ_INT((t).clicks, cl);                                                              \
    } while (0)

static int test_basic_join_and_dedup(void) {
    dst_stream *s = mk(1.0, 1000);
    bid(s, "A1", "c1", 100, 3, 10);
    put(s, BEAT_EV_WIN, "A1", "c1", 1500000, 20);
    put(s, BEAT_EV_WIN, "A1", "c1", 1500000, 30);  /* duplicate win */
    put(s, BEAT_EV_BILL, "A1", "c1", 1500000, 40); /* bill after win */
    put(s, BEAT_EV_IMP, "A1", "c1", 0, 50);
    put(s, BEAT_EV_CLICK, "A1", "c1", 0, 60);
    put(s, BEAT_EV_CLICK, "A1", "c1", 0, 100); /* duplicate click */
    bid(s, "A1", "c1", 100, 3, 110);           /* duplicate bid */
    /* Positive at once, before any window closes. */
    beat_sample out[8];
    int n = dst_samples_get(dst_stream_samples(s), 0, 8, out);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0].seq, 1);
    CHECK_EQ_INT(out[0].label, 1);
    CHECK(out[0].weight == 1.0f);
    CHECK_EQ_STR(out[0].campaign, "c1");
    CHECK_EQ_INT(out[0].n_feat, 3);
    CHECK_EQ_INT(out[0].feat[0], 100);
    CHECK_EQ_INT(out[0].feat[2], 102);
    CHECK_EQ_INT(out[0].ts_ms, T0 + 10);
    /* Nothing is visible until the bucket closed. */
    dst_totals t = tot(s, "c1");
    CHECK_TOT(t, 0, 0, 0, 0, 0);
    dst_stream_tick(s, T0 + 1000);
    t = tot(s, "c1");
    CHECK_TOT(t, 1, 1, 1500, 1, 1);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(st->duplicates, 3);
    CHECK_EQ_INT(st->events[BEAT_EV_WIN], 2);
    CHECK_EQ_INT(st->events[BEAT_EV_BID], 2);
    /* Window closes: the clicked entry emits no negative. */
    dst_stream_tick(s, T0 + W + 100);
    CHECK_EQ_INT(dst_stream_open(s), 0);
    CHECK_EQ_INT(dst_samples_last_seq(dst_stream_samples(s)), 1);
    /* A click duplicate after the window is still a duplicate. */
    put(s, BEAT_EV_CLICK, "A1", "c1", 0, W + 200);
    CHECK_EQ_INT(st->duplicates, 4);
    CHECK_EQ_INT(st->late, 0);
    dst_stream_tick(s, T0 + W + 2000);
    t = tot(s, "c1");
    CHECK_TOT(t, 1, 1, 1500, 1, 1);
    dst_stream_free(s);
    return 0;
}

static int test_negatives_late_and_remainder(void) {
    dst_stream *s = mk(1.0, 1000);
    bid(s, "A2", "c1", 7, 1, 100);
    put(s, BEAT_EV_WIN, "A2", "c1", 999, 200); /* 0.999 micros */
    put(s, BEAT_EV_WIN, "A3", "c1", 1, 300);   /* +0.001: 1 micro total */
    put(s, BEAT_EV_WIN, "A4", "c1", 0, 400);   /* win without price */
    bid(s, "A5", "c1", 50, 2, 500);            /* bid only: lost auction */
    dst_stream_tick(s, T0 + 1000);
    dst_totals t = tot(s, "c1");
    CHECK_TOT(t, 2, 3, 1, 0, 0);
    /* Windows close: A2 won with features → negative (rate 1, weight 1);
     * A3, A4 won without a bid → unjoined; A5 not won → nothing. */
    dst_stream_tick(s, T0 + W + 500);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(dst_stream_open(s), 0);
    CHECK_EQ_INT(st->samples_neg, 1);
    CHECK_EQ_INT(st->samples_unjoined, 2);
    beat_sample out[4];
    int n = dst_samples_get(dst_stream_samples(s), 0, 4, out);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0].label, 0);
    CHECK(out[0].weight == 1.0f);
    CHECK_EQ_INT(out[0].feat[0], 7);
    /* Late click on A2: counted, no new sample. Late bill on A4 (its win
     * had no price): the money is debited, no second win. */
    put(s, BEAT_EV_CLICK, "A2", "c1", 0, W + 600);
    put(s, BEAT_EV_BILL, "A4", "c1", 3000000, W + 700);
    put(s, BEAT_EV_BILL, "A4", "c1", 3000000, W + 800); /* late duplicate */
    put(s, BEAT_EV_WIN, "A2", "c1", 999, W + 900);      /* late duplicate */
    CHECK_EQ_INT(st->late, 2);
    CHECK_EQ_INT(st->duplicates, 2);
    CHECK_EQ_INT(dst_samples_last_seq(dst_stream_samples(s)), 1);
    CHECK_EQ_INT(dst_stream_open(s), 0); /* late events open nothing */
    dst_stream_tick(s, T0 + W + 2000);
    t = tot(s, "c1");
    CHECK_TOT(t, 2, 3, 3001, 0, 1);
    dst_stream_free(s);
    return 0;
}

static int test_out_of_order(void) {
    dst_stream *s = mk(1.0, 1000);
    /* win before bid; then click → positive with the bid's features */
    put(s, BEAT_EV_WIN, "A5", "c2", 2000000, 100);
    bid(s, "A5", "c2", 9, 2, 200);
    put(s, BEAT_EV_CLICK, "A5", "c2", 0, 300);
    /* click before bid: positive when the bid arrives */
    put(s, BEAT_EV_CLICK, "A6", "c2", 0, 400);
    CHECK_EQ_INT(dst_samples_last_seq(dst_stream_samples(s)), 1);
    bid(s, "A6", "c2", 20, 1, 500);
    CHECK_EQ_INT(dst_samples_last_seq(dst_stream_samples(s)), 2);
    /* click with no bid ever: no sample at close, counted unjoined */
    put(s, BEAT_EV_CLICK, "A7", "c2", 0, 600);
    dst_stream_tick(s, T0 + W + 1000);
    beat_sample out[4];
    int n = dst_samples_get(dst_stream_samples(s), 0, 4, out);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(out[0].label, 1);
    CHECK_EQ_INT(out[0].n_feat, 2);
    CHECK_EQ_INT(out[0].feat[1], 10);
    CHECK_EQ_INT(out[1].label, 1);
    CHECK_EQ_INT(out[1].feat[0], 20);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(st->samples_pos, 2);
    CHECK_EQ_INT(st->samples_neg, 0);
    CHECK_EQ_INT(st->samples_unjoined, 1);
    dst_totals t = tot(s, "c2");
    CHECK_TOT(t, 2, 1, 2000, 0, 3);
    /* samples after=1 gives only the second */
    n = dst_samples_get(dst_stream_samples(s), 1, 4, out);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0].seq, 2);
    dst_stream_free(s);
    return 0;
}

static int test_json_inputs(void) {
    dst_stream *s = mk(1.0, 1000);
    beat_reason why = {{0}};
    const char *good[] = {
        /* bid for c1, then a win signed for another campaign: the notice's
         * campaign is what gets debited */
        "{\"v\":1,\"type\":\"bid\",\"auction\":\"J1\",\"imp\":\"1\",\"campaign\":\"c1\","
        "\"price\":1500000,\"pctr\":0.02,\"ts\":5,\"feat\":[1,4294967295]}",
        "{\"v\":1,\"type\":\"win\",\"auction\":\"J1\",\"imp\":\"1\",\"campaign\":\"c4\","
        "\"price\":1234567,\"bid\":1500000,\"ts\":6,\"unknown\":{\"x\":[1,2]}}",
        /* odd but valid ids: quotes, backslashes, unicode */
        "{\"v\":1,\"type\":\"win\",\"auction\":\"J\\\"2\\\\\",\"imp\":\"\\u00e9\","
        "\"campaign\":\"c\\u00e9\",\"price\":1000,\"ts\":7}",
        /* a win without campaign for an unknown auction: not aggregated */
        "{\"v\":1,\"type\":\"win\",\"auction\":\"J3\",\"imp\":\"1\",\"price\":5000,\"ts\":8}",
        /* loss: seen, nothing aggregated */
        "{\"v\":1,\"type\":\"loss\",\"auction\":\"J1\",\"imp\":\"1\",\"campaign\":\"c1\","
        "\"loss\":102,\"ts\":9}",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_EQ_INT(dst_stream_apply_json(s, good[i], strlen(good[i]), 3, T0 + 10, &why), 0);
    const char *bad[] = {
        "",
        "not json",
        "[]",
        "{\"v\":2,\"type\":\"win\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":1}",
        "{\"v\":1,\"type\":\"wins\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":1}",
        "{\"v\":1,\"type\":\"win\",\"auction\":\"\",\"imp\":\"1\",\"ts\":1}",
        "{\"v\":1,\"type\":\"win\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":1,\"price\":-5}",
        "{\"v\":1,\"type\":\"win\",\"auction\":\"a\",\"imp\":\"1\"}",
        "{\"v\":1,\"type\":\"bid\",\"auction\":\"a\",\"imp\":\"1\",\"ts\":1,\"feat\":[-1]}",
        "{\"v\":1,\"type\":\"win\",\"auction\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"imp\":\"1\",\"ts\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_INT(dst_stream_apply_json(s, bad[i], strlen(bad[i]), 3, T0 + 10, &why), -EBADMSG);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(st->invalid, sizeof bad / sizeof *bad);
    CHECK_EQ_INT(st->no_campaign, 1);
    CHECK_EQ_INT(st->events[BEAT_EV_LOSS], 1);
    dst_stream_tick(s, T0 + 1000);
    dst_totals t = tot(s, "c1");
    CHECK_TOT(t, 1, 0, 0, 0, 0);
    t = tot(s, "c4");
    CHECK_TOT(t, 0, 1, 1234, 0, 0);
    t = tot(s, "c\xc3\xa9");
    CHECK_TOT(t, 0, 1, 1, 0, 0);
    t = tot(s, NULL);
    CHECK_TOT(t, 1, 2, 1235, 0, 0);
    /* the aggregates encode and decode back (ids with quotes and UTF-8) */
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(dst_buckets_encode(dst_stream_buckets(s), T0 + 1000, 0, 600, "ds-1", 7, &b), 0);
    beat_aggregates a;
    CHECK_EQ_INT(beat_aggregates_decode(b.data, b.len, &a, &why), 0);
    CHECK_EQ_INT(a.n_buckets, 1);
    CHECK_EQ_INT(a.buckets[0].n_rows, 3);
    beat_aggregates_fini(&a);
    beat_buf_fini(&b);
    dst_stream_free(s);
    return 0;
}

static int test_neg_downsampling(void) {
    dst_stream *s = mk(0.25, 100000);
    char id[32];
    for (int i = 0; i < 4000; i++) {
        snprintf(id, sizeof id, "N%d", i);
        bid(s, id, "c1", (uint32_t)i, 1, 10);
        put(s, BEAT_EV_WIN, id, "c1", 1000, 20);
    }
    dst_stream_tick(s, T0 + W + 100);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(st->samples_neg + st->samples_skipped, 4000);
    CHECK(st->samples_neg > 850 && st->samples_neg < 1150);
    beat_sample out[2];
    CHECK_EQ_INT(dst_samples_get(dst_stream_samples(s), 0, 2, out), 2);
    CHECK(fabsf(out[0].weight - 4.0f) < 1e-6f);
    CHECK_EQ_INT(out[0].label, 0);
    dst_totals t = tot(s, "c1");
    CHECK_TOT(t, 4000, 4000, 4000, 0, 0);
    dst_stream_free(s);
    return 0;
}

static int test_revoke_and_evict(void) {
    dst_stream *s = mk(1.0, 3);
    beat_event e = ev(BEAT_EV_WIN, "R1", "c1", 1000000);
    dst_stream_apply(s, &e, 1, T0 + 10);
    e = ev(BEAT_EV_WIN, "R2", "c1", 1000000);
    dst_stream_apply(s, &e, 2, T0 + 20);
    bid(s, "R1", "c1", 1, 1, 30); /* joins R1 (partition 1) */
    int32_t p1 = 1;
    dst_stream_revoke(s, &p1, 1, T0 + 40);
    CHECK_EQ_INT(dst_stream_open(s), 1);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(st->revoked, 1);
    /* 3 more entries with room for 3: R2 (oldest) is evicted */
    put(s, BEAT_EV_WIN, "R3", "c1", 0, 50);
    put(s, BEAT_EV_WIN, "R4", "c1", 0, 60);
    put(s, BEAT_EV_WIN, "R5", "c1", 0, 70);
    CHECK_EQ_INT(st->evicted, 1);
    CHECK_EQ_INT(dst_stream_open(s), 3);
    /* an event for the evicted R2 is late (not a new entry), its dup too */
    put(s, BEAT_EV_BILL, "R2", "c1", 1000000, 80);
    put(s, BEAT_EV_WIN, "R2", "c1", 1000000, 90);
    CHECK_EQ_INT(st->late, 1);
    CHECK_EQ_INT(st->duplicates, 1);
    dst_stream_tick(s, T0 + W + 1000);
    /* revoked R1 never emits its negative; evicted R2 neither */
    CHECK_EQ_INT(st->samples_neg, 0);
    CHECK_EQ_INT(st->samples_unjoined, 3); /* R3..R5 won without bid */
    dst_totals t = tot(s, "c1");
    CHECK_TOT(t, 1, 5, 2000, 0, 0);
    dst_stream_free(s);
    return 0;
}

/* What the partition store tells the stream (store_ingest.c): a durable duplicate
 * is counted, never aggregated; a win whose (auction, imp) the store says
 * was debited already counts as a win without spend, in the join window
 * and after it (late), and a later bill does not debit either. */
static int test_store_flags(void) {
    dst_stream *s = mk(1.0, 1000);
    beat_event e = ev(BEAT_EV_BILL, "D1", "c1", 2000000);
    dst_stream_count_duplicate(s, &e);
    CHECK_TOT(tot(s, "c1"), 0, 0, 0, 0, 0);
    const dst_stream_stats *st = dst_stream_stats_get(s);
    CHECK_EQ_INT(st->duplicates, 1);
    CHECK_EQ_INT(st->durable_duplicates, 1);
    CHECK_EQ_INT(st->events[BEAT_EV_BILL], 1);
    /* debited before: a win, no spend; the bill after it adds nothing */
    e = ev(BEAT_EV_WIN, "D2", "c1", 2000000);
    dst_stream_apply_ex(s, &e, 0, T0 + 10, DST_APPLY_DEBITED);
    e = ev(BEAT_EV_BILL, "D2", "c1", 2000000);
    dst_stream_apply_ex(s, &e, 0, T0 + 20, 0);
    /* the same after the window closed (a late event) */
    put(s, BEAT_EV_IMP, "D3", "c1", 0, 30);
    dst_stream_tick(s, T0 + W + 1000);
    e = ev(BEAT_EV_BILL, "D3", "c1", 3000000);
    dst_stream_apply_ex(s, &e, 0, T0 + W + 2000, DST_APPLY_DEBITED);
    /* without the flag the same late bill would debit: D4 */
    put(s, BEAT_EV_IMP, "D4", "c1", 0, 40);
    dst_stream_tick(s, T0 + W + 3000);
    e = ev(BEAT_EV_BILL, "D4", "c1", 3000000);
    dst_stream_apply_ex(s, &e, 0, T0 + W + 3000, 0);
    dst_stream_tick(s, T0 + W + 10000);
    CHECK_TOT(tot(s, "c1"), 0, 3, 3000, 2, 0);
    CHECK_EQ_INT(st->debited_before, 2);
    dst_stream_count_invalid(s);
    CHECK_EQ_INT(st->invalid, 1);
    dst_stream_free(s);
    return 0;
}

static int test_partition_key_and_imps(void) {
    /* (auction, imp) is the key: two imps of one auction are two entries. */
    dst_stream *s = mk(1.0, 1000);
    beat_event e = ev(BEAT_EV_WIN, "M1", "c1", 1000);
    dst_stream_apply(s, &e, 0, T0);
    snprintf(e.imp, sizeof e.imp, "2");
    dst_stream_apply(s, &e, 0, T0);
    /* ("M1","2") must differ from ("M12","") style concatenations */
    beat_event f = ev(BEAT_EV_WIN, "M12", "c1", 1000);
    snprintf(f.imp, sizeof f.imp, "%s", "");
    dst_stream_apply(s, &f, 0, T0);
    CHECK_EQ_INT(dst_stream_open(s), 3);
    CHECK_EQ_INT(dst_stream_stats_get(s)->duplicates, 0);
    dst_stream_free(s);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case t[] = {
        {"basic_join_and_dedup", test_basic_join_and_dedup},
        {"negatives_late_and_remainder", test_negatives_late_and_remainder},
        {"out_of_order", test_out_of_order},
        {"json_inputs", test_json_inputs},
        {"neg_downsampling", test_neg_downsampling},
        {"revoke_and_evict", test_revoke_and_evict},
        {"partition_key_and_imps", test_partition_key_and_imps},
        {"store_flags", test_store_flags},
        {NULL, NULL},
    };
    return beat_test_main("stream", t, argc, argv);
}
