/* Unit tests for beat_wire_agg.c: the aggregates datastream serves
 * round-trip exactly, and malformed ones are refused with the reason a
 * peer's log would show. */
#include "beat_wire.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "beat_wire_testlib.h"

/* ---- aggregates ---- */

static int agg_equal(const beat_aggregates *a, const beat_aggregates *b) {
    if (strcmp(a->instance, b->instance) || a->epoch != b->epoch || a->bucket_ms != b->bucket_ms ||
        a->first_seq != b->first_seq || a->last_seq != b->last_seq || a->n_buckets != b->n_buckets)
        return 0;
    for (int i = 0; i < a->n_buckets; i++) {
        const beat_agg_bucket *x = &a->buckets[i], *y = &b->buckets[i];
        if (x->seq != y->seq || x->start_ms != y->start_ms || x->end_ms != y->end_ms ||
            x->n_rows != y->n_rows)
            return 0;
        for (int j = 0; j < x->n_rows; j++)
            if (memcmp(&x->rows[j], &y->rows[j], sizeof x->rows[j])) return 0;
    }
    return 1;
}

static int t_agg_roundtrip(void) {
    beat_agg_row rows[3];
    memset(rows, 0, sizeof rows);
    strcpy(rows[0].campaign, "c1");
    rows[0].bids = 10, rows[0].wins = 3, rows[0].spend_micros = 4500;
    rows[0].imps = 3, rows[0].clicks = 1;
    rows[0].losses = 6, rows[0].loss_outbid = 3, rows[0].loss_floor = 2;
    rows[0].loss_other = 1, rows[0].expired = 2, rows[0].opps = 77;
    rows[0].pctr_bids = 0.123456789012345, rows[0].pctr_wins = 1e-9;
    rows[0].won_cpm[0] = 1, rows[0].won_cpm[BEAT_LAND_N - 1] = INT32_MAX;
    rows[0].lost_cpm[7] = 4;
    strcpy(rows[1].campaign, "c2");
    rows[1].bids = 9007199254740992;
    strcpy(rows[2].campaign, "c1");
    rows[2].wins = 1;
    beat_agg_bucket bk[3] = {
        {.seq = 41, .start_ms = 1000, .end_ms = 2000, .n_rows = 2, .rows = rows},
        {.seq = 42, .start_ms = 2000, .end_ms = 3000, .n_rows = 0, .rows = NULL},
        {.seq = 45, .start_ms = 5000, .end_ms = 6000, .n_rows = 1, .rows = rows + 2},
    };
    beat_aggregates a = {.epoch = 0xfedcba9876543210ull,
                         .bucket_ms = 1000,
                         .first_seq = 3,
                         .last_seq = 45,
                         .n_buckets = 3,
                         .buckets = bk};
    strcpy(a.instance, "ds-1");
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    CHECK_EQ_INT(beat_aggregates_encode(&a, &b), 0);
    CHECK(strstr(b.data, "\"epoch\":\"fedcba9876543210\""));
    beat_aggregates back;
    beat_reason why;
    CHECK_EQ_INT(beat_aggregates_decode(b.data, b.len, &back, &why), 0);
    CHECK(agg_equal(&a, &back));
    beat_aggregates_fini(&back);
    CHECK_EQ_INT(back.n_buckets, 0);
    CHECK(back.buckets == NULL);
    beat_aggregates_fini(&back); /* twice is harmless */
    /* an empty response */
    a.n_buckets = 0;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_aggregates_encode(&a, &b), 0);
    CHECK_EQ_INT(beat_aggregates_decode(b.data, b.len, &back, &why), 0);
    CHECK(agg_equal(&a, &back));
    beat_aggregates_fini(&back);
    beat_buf_fini(&b);
    return 0;
}

#define AGG_HEAD                                                                                   \
    "{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"00ff\",\"bucket_ms\":1000,\"first_seq\":1,\"last_" \
    "seq\":2,"
static const bad_case bad_aggs[] = {
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"xyz\",\"bucket_ms\":1000,\"first_seq\":1,\"last_"
     "seq\":2,\"buckets\":[]}",
     "epoch: must be 1-16 hex"},
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"00000000000000000\",\"bucket_ms\":1000,\"first_"
     "seq\":1,\"last_seq\":2,\"buckets\":[]}",
     "epoch: must be 1-16 hex"},
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":5,\"bucket_ms\":1000,\"first_seq\":1,\"last_seq\":2,"
     "\"buckets\":[]}",
     "epoch: must be 1-16 hex"},
    {"{\"v\":1,\"epoch\":\"1\",\"bucket_ms\":1000,\"first_seq\":1,\"last_seq\":2,\"buckets\":[]}",
     "instance: missing"},
    {"{\"v\":1,\"instance\":\"ds-1\",\"epoch\":\"1\",\"bucket_ms\":0,\"first_seq\":1,\"last_seq\":"
     "2,\"buckets\":[]}",
     "bucket_ms: must be > 0"},
    {AGG_HEAD "\"buckets\":{}}", "buckets: must be an array"},
    {AGG_HEAD "\"x\":1}", "buckets: missing"},
    {AGG_HEAD "\"buckets\":[{\"seq\":2,\"start_ms\":0,\"end_ms\":1},{\"seq\":2,\"start_ms\":1,"
              "\"end_ms\":2}]}",
     "buckets[1].seq: not ascending"},
    {AGG_HEAD "\"buckets\":[{\"seq\":2,\"start_ms\":5,\"end_ms\":1}]}",
     "buckets[0].end_ms: must be >= 5"},
    {AGG_HEAD "\"buckets\":[{\"start_ms\":5,\"end_ms\":6}]}", "buckets[0].seq: missing"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"spend_"
              "micros\":-1}}}]}",
     "buckets[0].campaigns.c1.spend_micros: must be >= 0"},
    {AGG_HEAD
     "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"bids\":1.5}}}]}",
     "campaigns.c1.bids: must be an integer"},
    {AGG_HEAD
     "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{},\"c1\":{}}}]}",
     "campaigns.c1: duplicate campaign"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"\":{}}}]}",
     "must not be empty"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":[]}}]}",
     "campaigns.c1: must be an object"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":[]}]}",
     "buckets[0].campaigns: must be an object"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"won_"
              "cpm\":[1,2]}}}]}",
     "campaigns.c1.won_cpm: must be an array of 20 counts"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"lost_"
              "cpm\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,-1]}}}]}",
     "lost_cpm: must be >= 0"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"won_"
              "cpm\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2147483648]}}}]}",
     "won_cpm: must be <= 2147483647"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{\"pctr_"
              "bids\":-0.5}}}]}",
     "pctr_bids"},
    {AGG_HEAD "\"buckets\":[{\"seq\":1,\"start_ms\":0,\"end_ms\":1,\"campaigns\":{\"c1\":{"
              "\"losses\":\"3\"}}}]}",
     "losses"},
};

static int decode_agg(const char *json, size_t len, void *out, beat_reason *why) {
    return beat_aggregates_decode(json, len, out, why);
}

static int t_agg_bad(void) {
    beat_aggregates a;
    return ALL_REFUSED(bad_aggs, decode_agg, a);
}

static const beat_test_case cases[] = {
    {"agg_roundtrip", t_agg_roundtrip},
    {"agg_bad", t_agg_bad},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_wire_agg", cases, argc, argv); }
