/* Aggregate buckets: closing by wall clock, seqs (empty buckets included),
 * the ring bound, exact spend with the carried remainder, the campaign bound,
 * and the JSON answer (decoded back with the shared beat_wire decoder). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "buckets.h"

#define T0 1700000000000LL

static int test_close_and_seq(void) {
    dst_buckets *b = dst_buckets_new(1000, 10, 10, T0 + 500);
    dst_delta d = {.bids = 1};
    CHECK_EQ_INT(dst_buckets_add(b, T0 + 600, "c1", &d), 0);
    CHECK_EQ_INT(dst_buckets_last_seq(b), 0);
    CHECK_EQ_INT(dst_buckets_first_seq(b), 0);
    CHECK_EQ_INT(dst_buckets_tick(b, T0 + 999), 0);
    CHECK_EQ_INT(dst_buckets_tick(b, T0 + 1000), 1);
    CHECK_EQ_INT(dst_buckets_last_seq(b), 1);
    /* two idle seconds: two empty buckets, seqs keep time */
    CHECK_EQ_INT(dst_buckets_tick(b, T0 + 3000), 2);
    CHECK_EQ_INT(dst_buckets_last_seq(b), 3);
    /* an add in a later bucket closes the due ones first */
    CHECK_EQ_INT(dst_buckets_add(b, T0 + 4100, "c1", &d), 0);
    CHECK_EQ_INT(dst_buckets_last_seq(b), 4);
    dst_totals t;
    dst_buckets_sum(b, "c1", 0, &t);
    CHECK_EQ_INT(t.bids, 1);
    dst_buckets_tick(b, T0 + 5000);
    dst_buckets_sum(b, "c1", 0, &t);
    CHECK_EQ_INT(t.bids, 2);
    dst_buckets_sum(b, "c1", 1, &t);
    CHECK_EQ_INT(t.bids, 1);
    /* ring keeps 10: after 16 more seconds the oldest are gone */
    CHECK_EQ_INT(dst_buckets_tick(b, T0 + 13000), 8);
    CHECK_EQ_INT(dst_buckets_tick(b, T0 + 21000), 8);
    CHECK_EQ_INT(dst_buckets_last_seq(b), 21);
    CHECK_EQ_INT(dst_buckets_first_seq(b), 12);
    dst_buckets_sum(b, NULL, 0, &t);
    CHECK_EQ_INT(t.bids, 0);
    /* a long stall (or clock jump) does not mint more than the ring's
     * worth of empty buckets: it jumps to the current interval */
    int64_t n = dst_buckets_tick(b, T0 + 10000000);
    CHECK(n >= 1 && n <= 11);
    CHECK_EQ_INT(dst_buckets_last_seq(b), 21 + n);
    CHECK_EQ_INT(dst_buckets_tick(b, T0 + 10001000), 1);
    dst_buckets_free(b);
    return 0;
}

static int test_exact_spend(void) {
    dst_buckets *b = dst_buckets_new(1000, 100, 10, T0);
    /* 1000 wins at 1234567 CPM micros = 1234567 micros exactly, spread over
     * 10 buckets, interleaved with another campaign's remainders */
    for (int i = 0; i < 1000; i++) {
        dst_delta d = {.wins = 1, .price_cpm_micros = 1234567};
        CHECK_EQ_INT(dst_buckets_add(b, T0 + i * 10, "c1", &d), 0);
        dst_delta e = {.wins = 1, .price_cpm_micros = 1};
        CHECK_EQ_INT(dst_buckets_add(b, T0 + i * 10, "c2", &e), 0);
    }
    dst_buckets_tick(b, T0 + 20000);
    dst_totals t;
    dst_buckets_sum(b, "c1", 0, &t);
    CHECK_EQ_INT(t.wins, 1000);
    CHECK_EQ_INT(t.spend_micros, 1234567);
    dst_buckets_sum(b, "c2", 0, &t);
    CHECK_EQ_INT(t.spend_micros, 1); /* 1000 × 0.001 */
    dst_buckets_free(b);
    return 0;
}

static int test_campaign_bound(void) {
    dst_buckets *b = dst_buckets_new(1000, 100, 2, T0);
    dst_delta d = {.bids = 1};
    CHECK_EQ_INT(dst_buckets_add(b, T0, "a", &d), 0);
    CHECK_EQ_INT(dst_buckets_add(b, T0, "b", &d), 0);
    CHECK_EQ_INT(dst_buckets_add(b, T0, "c", &d), -ENOSPC);
    CHECK_EQ_INT(dst_buckets_add(b, T0, "a", &d), 0);
    /* next bucket: the table forgets idle campaigns to make room */
    CHECK_EQ_INT(dst_buckets_add(b, T0 + 1000, "c", &d), 0);
    CHECK_EQ_INT(dst_buckets_campaign_resets(b), 1);
    CHECK_EQ_INT(dst_buckets_add(b, T0 + 1000, "a", &d), 0);
    CHECK_EQ_INT(dst_buckets_add(b, T0 + 1000, "b", &d), -ENOSPC);
    dst_buckets_tick(b, T0 + 2000);
    dst_totals t;
    dst_buckets_sum(b, "a", 0, &t);
    CHECK_EQ_INT(t.bids, 3);
    dst_buckets_sum(b, NULL, 0, &t);
    CHECK_EQ_INT(t.bids, 5);
    CHECK_EQ_INT(dst_buckets_add(b, T0 + 2000, "", &d), -EINVAL);
    dst_buckets_free(b);
    return 0;
}

static int test_encode(void) {
    dst_buckets *b = dst_buckets_new(1000, 1000, 10, T0);
    dst_delta d = {.bids = 2, .wins = 1, .imps = 1, .clicks = 1, .price_cpm_micros = 2500000};
    dst_buckets_add(b, T0 + 1, "c1", &d);
    dst_buckets_add(b, T0 + 2, "c2", &d);
    beat_buf out;
    beat_buf_init(&out, 1 << 24);
    beat_reason why = {{0}};
    beat_aggregates a;
    /* nothing closed yet */
    CHECK_EQ_INT(dst_buckets_encode(b, T0 + 10, 0, 600, "ds-1", 0xabcULL, &out), 0);
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK_EQ_INT(a.n_buckets, 0);
    CHECK_EQ_INT(a.last_seq, 0);
    beat_aggregates_fini(&a);
    /* 700 seconds later: 700 buckets, at most 600 per answer */
    beat_buf_reset(&out);
    CHECK_EQ_INT(dst_buckets_encode(b, T0 + 700000, 0, 600, "ds-1", 0xabcULL, &out), 0);
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK_EQ_STR(a.instance, "ds-1");
    CHECK(a.epoch == 0xabcULL);
    CHECK_EQ_INT(a.bucket_ms, 1000);
    CHECK_EQ_INT(a.first_seq, 1);
    CHECK_EQ_INT(a.last_seq, 700);
    CHECK_EQ_INT(a.n_buckets, 600);
    CHECK_EQ_INT(a.buckets[0].seq, 1);
    CHECK_EQ_INT(a.buckets[0].start_ms, T0);
    CHECK_EQ_INT(a.buckets[0].end_ms, T0 + 1000);
    CHECK_EQ_INT(a.buckets[0].n_rows, 2);
    CHECK_EQ_INT(a.buckets[599].seq, 600);
    CHECK_EQ_INT(a.buckets[1].n_rows, 0);
    int64_t spend = 0;
    for (int r = 0; r < a.buckets[0].n_rows; r++) {
        CHECK_EQ_INT(a.buckets[0].rows[r].bids, 2);
        spend += a.buckets[0].rows[r].spend_micros;
    }
    CHECK_EQ_INT(spend, 5000);
    beat_aggregates_fini(&a);
    /* cursor in the middle, and past the end */
    beat_buf_reset(&out);
    CHECK_EQ_INT(dst_buckets_encode(b, T0 + 700000, 650, 600, "ds-1", 1, &out), 0);
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK_EQ_INT(a.n_buckets, 50);
    CHECK_EQ_INT(a.buckets[0].seq, 651);
    beat_aggregates_fini(&a);
    beat_buf_reset(&out);
    CHECK_EQ_INT(dst_buckets_encode(b, T0 + 700000, 5000, 600, "ds-1", 1, &out), 0);
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK_EQ_INT(a.n_buckets, 0);
    beat_aggregates_fini(&a);
    beat_buf_fini(&out);
    dst_buckets_free(b);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case t[] = {
        {"close_and_seq", test_close_and_seq},
        {"exact_spend", test_exact_spend},
        {"campaign_bound", test_campaign_bound},
        {"encode", test_encode},
        {NULL, NULL},
    };
    return beat_test_main("buckets", t, argc, argv);
}
