/* Market signals in the aggregates (beat_wire.h, docs/contracts.md "Market
 * signals"): loss notices counted once and classed by loss code, never
 * debited; Σ pCTR of bids and wins; the landscape of our bid prices that
 * won or lost, with an unanswered bid counted as lost once it expires;
 * inference nodes' opportunities (opp events). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "stream.h"

#define T0 1000000000000LL /* aligned to the 1 s buckets */
#define W 30000            /* join window */

static dst_stream *mk(void) {
    dst_stream_cfg c = {.bucket_ms = 1000,
                        .buckets_max = 1000,
                        .campaigns_max = 100,
                        .join_window_ms = W,
                        .max_open = 1000,
                        .samples_max = 1000,
                        .neg_rate = 1.0,
                        .seed = 1};
    return dst_stream_new(&c, T0);
}

/* A bid of campaign c1 at bid CPM micros with pctr, at T0 + at. */
static void bid(dst_stream *s, const char *auction, int64_t bid_cpm, double pctr, int64_t at) {
    beat_event e = {.type = BEAT_EV_BID,
                    .ts_ms = T0 + at,
                    .price_cpm_micros = bid_cpm,
                    .pctr = pctr,
                    .n_feat = 1,
                    .feat = {7}};
    snprintf(e.auction, sizeof e.auction, "%s", auction);
    strcpy(e.imp, "1");
    strcpy(e.campaign, "c1");
    dst_stream_apply(s, &e, 0, T0 + at);
}

/* A notice for c1: price = clearing (win/bill) or the exchange's (loss),
 * bid = our signed bid price, loss = loss code. */
static void notice(dst_stream *s, beat_event_type t, const char *auction, int64_t price,
                   int64_t bid_cpm, int32_t loss, int64_t at) {
    beat_event e = {.type = t,
                    .ts_ms = T0 + at,
                    .price_cpm_micros = price,
                    .bid_cpm_micros = bid_cpm,
                    .loss_code = loss,
                    .notice_ts_ms = T0};
    snprintf(e.auction, sizeof e.auction, "%s", auction);
    strcpy(e.imp, "1");
    strcpy(e.campaign, "c1");
    dst_stream_apply(s, &e, 0, T0 + at);
}

static dst_totals tot(dst_stream *s, int64_t at) {
    dst_stream_tick(s, T0 + at);
    dst_totals t;
    dst_buckets_sum(dst_stream_buckets(s), "c1", 0, &t);
    return t;
}

static int64_t land_sum(const int64_t *h) {
    int64_t n = 0;
    for (int i = 0; i < BEAT_LAND_N; i++) n += h[i];
    return n;
}

static int test_land_edges(void) {
    CHECK_EQ_INT(beat_land_bucket(0), 0);
    CHECK_EQ_INT(beat_land_bucket(9999), 0); /* below $0.01: first */
    CHECK_EQ_INT(beat_land_bucket(15848), 0);
    CHECK_EQ_INT(beat_land_bucket(15849), 1);
    CHECK_EQ_INT(beat_land_bucket(999999), 9);
    CHECK_EQ_INT(beat_land_bucket(1000000), 10); /* $1 starts bucket 10 */
    CHECK_EQ_INT(beat_land_bucket(2000000), 11);
    CHECK_EQ_INT(beat_land_bucket(63095733), 18);
    CHECK_EQ_INT(beat_land_bucket(63095734), 19);
    CHECK_EQ_INT(beat_land_bucket(1000000000000LL), 19); /* $100 and above: last */
    for (int i = 0; i < BEAT_LAND_N; i++) {              /* five per decade, ascending */
        CHECK(beat_land_edges[i] < beat_land_edges[i + 1]);
        CHECK(fabs(log10((double)beat_land_edges[i]) - (4 + i / 5.0)) < 1e-4);
        CHECK_EQ_INT(beat_land_bucket(beat_land_edges[i]), i);
    }
    return 0;
}

/* Losses count once per (auction, imp), classed by code; a loss's price
 * debits nothing; the first outcome places the bid price in the landscape. */
static int test_losses_once_and_landscape(void) {
    dst_stream *s = mk();
    bid(s, "L1", 2000000, 0.02, 0);
    notice(s, BEAT_EV_LOSS, "L1", 1500000, 2000000, 102, 10); /* outbid, priced */
    notice(s, BEAT_EV_LOSS, "L1", 1500000, 2000000, 102, 20); /* duplicate */
    bid(s, "L2", 30000, 0.01, 0);
    notice(s, BEAT_EV_LOSS, "L2", 0, 30000, 100, 10);   /* below floor, no price */
    notice(s, BEAT_EV_LOSS, "L3", 0, 5000000, 101, 10); /* deal floor, bid unseen */
    notice(s, BEAT_EV_LOSS, "L4", 0, 5000000, 0, 10);   /* no code: other */
    notice(s, BEAT_EV_LOSS, "L5", 0, 5000000, 205, 10); /* advertiser: other */
    bid(s, "W1", 2000000, 0.04, 0);
    notice(s, BEAT_EV_WIN, "W1", 1000000, 2000000, 0, 10);
    notice(s, BEAT_EV_BILL, "W1", 1000000, 2000000, 0, 20);
    notice(s, BEAT_EV_LOSS, "W1", 0, 2000000, 102, 30); /* after its win: not lost */
    dst_totals t = tot(s, 2000);
    CHECK_EQ_INT(t.bids, 3);
    CHECK_EQ_INT(t.wins, 1);
    CHECK_EQ_INT(t.spend_micros, 1000); /* the win's only: $1 CPM */
    CHECK_EQ_INT(t.losses, 6);
    CHECK_EQ_INT(t.loss_outbid, 2);
    CHECK_EQ_INT(t.loss_floor, 2);
    CHECK_EQ_INT(t.loss_other, 2);
    CHECK(fabs(t.pctr_bids - 0.07) < 1e-12);
    CHECK(fabs(t.pctr_wins - 0.04) < 1e-12);
    CHECK_EQ_INT(land_sum(t.won_cpm), 1);
    CHECK_EQ_INT(t.won_cpm[beat_land_bucket(2000000)], 1);
    CHECK_EQ_INT(land_sum(t.lost_cpm), 5);
    CHECK_EQ_INT(t.lost_cpm[beat_land_bucket(2000000)], 1);
    CHECK_EQ_INT(t.lost_cpm[beat_land_bucket(30000)], 1);
    CHECK_EQ_INT(t.lost_cpm[beat_land_bucket(5000000)], 3);
    /* a late duplicate loss (entry closed) is still one */
    notice(s, BEAT_EV_LOSS, "L1", 0, 2000000, 102, W + 5000);
    t = tot(s, W + 7000);
    CHECK_EQ_INT(t.losses, 6);
    CHECK_EQ_INT(land_sum(t.lost_cpm), 5);
    CHECK_EQ_INT(dst_stream_stats_get(s)->duplicates, 2);
    dst_stream_free(s);
    return 0;
}

/* A win read before its bid: Σ pCTR of wins takes the bid's when it joins. */
static int test_pctr_win_before_bid(void) {
    dst_stream *s = mk();
    notice(s, BEAT_EV_WIN, "P1", 1000000, 3000000, 0, 0);
    bid(s, "P1", 3000000, 0.25, 10);
    dst_totals t = tot(s, 1000);
    CHECK_EQ_INT(t.wins, 1);
    CHECK(fabs(t.pctr_wins - 0.25) < 1e-12);
    CHECK(fabs(t.pctr_bids - 0.25) < 1e-12);
    dst_stream_free(s);
    return 0;
}

/* A bid no notice answered is lost once it expires (store_expiry.c decides when):
 * counted as expired, in the landscape at its bid price, and a late loss
 * for it then counts as a loss but is not placed twice. A bid won without
 * a price is not lost when it expires. */
static int test_expired_bid_is_lost(void) {
    dst_stream *s = mk();
    bid(s, "E1", 400000, 0.01, 0);
    bid(s, "E2", 400000, 0.01, 0);
    notice(s, BEAT_EV_WIN, "E2", 0, 400000, 0, 10); /* won, unpriced: unsettled */
    dst_stream_tick(s, T0 + W + 1);                 /* both entries close */
    dst_unsettled u[4];
    CHECK_EQ_INT(dst_stream_take_unsettled(s, u, 4), 2);
    dst_totals t = tot(s, W + 1000);
    CHECK_EQ_INT(t.expired + land_sum(t.lost_cpm), 0); /* not before expiry */
    for (int i = 0; i < 2; i++) dst_stream_expired(s, &u[i], T0 + W + 1000);
    t = tot(s, W + 2000);
    CHECK_EQ_INT(t.expired, 1);
    CHECK_EQ_INT(land_sum(t.lost_cpm), 1);
    CHECK_EQ_INT(t.lost_cpm[beat_land_bucket(400000)], 1);
    CHECK_EQ_INT(land_sum(t.won_cpm), 1);
    notice(s, BEAT_EV_LOSS, "E1", 0, 400000, 102, W + 3000);
    t = tot(s, W + 4000);
    CHECK_EQ_INT(t.losses, 1);
    CHECK_EQ_INT(land_sum(t.lost_cpm), 1);
    dst_stream_free(s);
    return 0;
}

/* Opportunities come as inference nodes' opp summaries: added to the
 * campaign's bucket as they are read, never joined (no auction), and
 * through the JSON path as the consumer reads them. */
static int test_opp_events(void) {
    dst_stream *s = mk();
    beat_reason why = {{0}};
    const char *a = "{\"v\":1,\"type\":\"opp\",\"node\":\"inf-1\",\"campaign\":\"c1\","
                    "\"ts\":1000000000000,\"n\":40}";
    const char *b = "{\"v\":1,\"type\":\"opp\",\"node\":\"inf-2\",\"campaign\":\"c1\","
                    "\"ts\":1000000000000,\"n\":2}";
    CHECK_EQ_INT(dst_stream_apply_json(s, a, strlen(a), 0, T0 + 10, &why), 0);
    CHECK_EQ_INT(dst_stream_apply_json(s, b, strlen(b), 1, T0 + 20, &why), 0);
    bid(s, "O1", 2000000, 0.01, 30);
    dst_totals t = tot(s, 1000);
    CHECK_EQ_INT(t.opps, 42);
    CHECK_EQ_INT(t.bids, 1);
    CHECK_EQ_INT(dst_stream_open(s), 1); /* only the bid's entry */
    CHECK_EQ_INT(dst_stream_stats_get(s)->opp_events, 2);
    CHECK_EQ_INT(dst_stream_stats_get(s)->invalid, 0);
    dst_stream_free(s);
    return 0;
}

/* Rows with market fields survive GET /v1/aggregates: encode, decode. */
static int test_aggregates_carry_market(void) {
    dst_stream *s = mk();
    bid(s, "A1", 2000000, 0.5, 0);
    notice(s, BEAT_EV_LOSS, "A1", 0, 2000000, 102, 10);
    beat_buf out;
    beat_buf_init(&out, 1 << 16);
    CHECK_EQ_INT(dst_buckets_encode(dst_stream_buckets(s), T0 + 1000, 0, 10, "ds", 1, &out), 0);
    CHECK(strstr(out.data, "\"losses\":1,\"loss_outbid\":1") != NULL);
    CHECK(strstr(out.data, "\"lost_cpm\":[0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0]") != NULL);
    CHECK(strstr(out.data, "won_cpm") == NULL); /* empty: absent */
    beat_aggregates a;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_aggregates_decode(out.data, out.len, &a, &why), 0);
    CHECK_EQ_INT(a.n_buckets, 1);
    const beat_agg_row *r = &a.buckets[0].rows[0];
    CHECK_EQ_INT(r->losses, 1);
    CHECK_EQ_INT(r->lost_cpm[11], 1);
    CHECK(r->pctr_bids == 0.5);
    beat_aggregates_fini(&a);
    beat_buf_fini(&out);
    dst_stream_free(s);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case t[] = {
        {"land_edges", test_land_edges},
        {"losses_once_and_landscape", test_losses_once_and_landscape},
        {"pctr_win_before_bid", test_pctr_win_before_bid},
        {"expired_bid_is_lost", test_expired_bid_is_lost},
        {"aggregates_carry_market", test_aggregates_carry_market},
        {"opp_events", test_opp_events},
        {NULL, NULL},
    };
    return beat_test_main("market", t, argc, argv);
}
