/* PMP deals, seats and bapp (FORMAT_CAMPAIGNS): private auctions take only
 * deal bids, a deal needs the campaign to list it, its wseat to admit the
 * campaign's seat and the price to reach its floor (in its currency); open
 * auctions fall back to the imp floor; request wseat/bseat per campaign
 * seat; one seatbid per seat; bapp against the campaign's bundle. */
#include "bidder_testlib.h"

/* A 300x250 imp on www.foobar.com with pmp (or "" for none) and extra
 * top-level fields. ortb-banner prices at 2.88, ortb-deal at 2.64. */
static const char *deal_req(const char *pmp, const char *extra) {
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",\"bidfloor\":0.5,"
             "\"banner\":{\"w\":300,\"h\":250}%s%s}],\"site\":{\"id\":\"s\","
             "\"domain\":\"www.foobar.com\"},\"user\":{\"id\":\"u1\"}%s}",
             *pmp ? ",\"pmp\":" : "", pmp, extra);
    return buf;
}

#define DEAL(id, floor, more) "{\"id\":\"" id "\",\"bidfloor\":" #floor more "}"
#define PRIV(deals) "{\"private_auction\":1,\"deals\":[" deals "]}"
#define OPEN(deals) "{\"private_auction\":0,\"deals\":[" deals "]}"

/* Expects camp to win with dealid (NULL: none) in seat, or (camp NULL) a
 * 204 with reason. */
static int expect(inf_bidder *b, const inf_world *w, const char *json, const char *camp,
                  const char *dealid, const char *seat, inf_nobid reason) {
    static inf_result res;
    cJSON *resp = answer(b, w, json, &res);
    if (!camp) {
        if (resp) fprintf(stderr, "  unexpected bid for %s\n", json);
        CHECK(resp == NULL);
        CHECK_EQ_STR(inf_nobid_name(res.reason), inf_nobid_name(reason));
        return 0;
    }
    if (!resp) fprintf(stderr, "  no bid (%s) for %s\n", inf_nobid_name(res.reason), json);
    CHECK(resp != NULL);
    const cJSON *bid = bid_at(resp, 0, 0);
    CHECK_EQ_STR(sfield(bid, "cid"), camp);
    CHECK_EQ_STR(sfield(bid, "dealid"), dealid ? dealid : "(none)");
    const cJSON *sb = cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "seatbid"), 0);
    CHECK_EQ_STR(sfield(sb, "seat"), seat);
    cJSON_Delete(resp);
    return 0;
}

static int test_private_auction(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    /* the fixture's deals: Agency1's deal is ortb-deal's */
    CHECK_EQ_INT(
        expect(b, w,
               deal_req(PRIV(DEAL("AB-Agency1-0001", 2.5, ",\"wseat\":[\"Agency1\"]") "," DEAL(
                            "XY-Agency2-0001", 2, ",\"wseat\":[\"Agency2\"]")),
                        ""),
               "ortb-deal", "AB-Agency1-0001", "Agency1", 0),
        0);
    /* a deal nobody lists: no open bid either (ortb-banner would pay more) */
    CHECK_EQ_INT(
        expect(b, w, deal_req(PRIV(DEAL("other", 0.1, "")), ""), NULL, NULL, NULL, INF_NB_NO_MATCH),
        0);
    /* listed, but wseat excludes the campaign's seat */
    CHECK_EQ_INT(expect(b, w,
                        deal_req(PRIV(DEAL("AB-Agency1-0001", 1, ",\"wseat\":[\"beat\"]")), ""),
                        NULL, NULL, NULL, INF_NB_NO_MATCH),
                 0);
    /* wadomain: the deal admits only listed advertiser domains */
    CHECK_EQ_INT(expect(b, w,
                        deal_req(PRIV(DEAL("AB-Agency1-0001", 1, ",\"wadomain\":[\"x.com\"]")), ""),
                        NULL, NULL, NULL, INF_NB_NO_MATCH),
                 0);
    CHECK_EQ_INT(expect(b, w,
                        deal_req(PRIV(DEAL("AB-Agency1-0001", 1,
                                           ",\"wadomain\":[\"x.com\",\"ORTB-deal.example\"]")),
                                 ""),
                        "ortb-deal", "AB-Agency1-0001", "Agency1", 0),
                 0);
    /* listed, floor above the price (2.64) */
    CHECK_EQ_INT(expect(b, w, deal_req(PRIV(DEAL("AB-Agency1-0001", 2.7, "")), ""), NULL, NULL,
                        NULL, INF_NB_BELOW_FLOOR),
                 0);
    /* the deal floor, not the imp's, is the bar */
    CHECK_EQ_INT(expect(b, w, deal_req(PRIV(DEAL("AB-Agency1-0001", 2.6, "")), ""), "ortb-deal",
                        "AB-Agency1-0001", "Agency1", 0),
                 0);
    /* the highest floor the price reaches */
    CHECK_EQ_INT(expect(b, w,
                        deal_req(PRIV(DEAL("AB-Agency1-0001", 1,
                                           "") "," DEAL("deal-x", 2, "") "," DEAL("deal-x", 3, "")),
                                 ""),
                        "ortb-deal", "deal-x", "Agency1", 0),
                 0);
    /* a deal floor in EUR through the rate table: 2 EUR = 3 USD > 2.64 */
    beat_reason why = {{0}};
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1.5", &why), 0);
    CHECK_EQ_INT(expect(b, w,
                        deal_req(PRIV(DEAL("AB-Agency1-0001", 2, ",\"bidfloorcur\":\"EUR\"")), ""),
                        NULL, NULL, NULL, INF_NB_BELOW_FLOOR),
                 0);
    CHECK_EQ_INT(
        expect(b, w, deal_req(PRIV(DEAL("AB-Agency1-0001", 1.7, ",\"bidfloorcur\":\"EUR\"")), ""),
               "ortb-deal", "AB-Agency1-0001", "Agency1", 0),
        0);
    /* unknown deal currency: the deal is unusable, the private imp skipped */
    CHECK_EQ_INT(expect(b, w,
                        deal_req(PRIV(DEAL("AB-Agency1-0001", 1, ",\"bidfloorcur\":\"JPY\"")), ""),
                        NULL, NULL, NULL, INF_NB_NO_IMP),
                 0);
    CHECK_EQ_INT(R.imp[0].skip, INF_IMP_PRIVATE);
    CHECK_EQ_INT(inf_openrtb_rates_set(NULL, &why), 0);
    /* private without any deal */
    CHECK_EQ_INT(
        expect(b, w, deal_req("{\"private_auction\":1}", ""), NULL, NULL, NULL, INF_NB_NO_IMP), 0);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_open_auction_deals(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    override ov[] = {{"ortb-banner", 1.2, true, false}};
    inf_world *w = make_world(ov, 1, T0); /* ortb-banner paused */
    CHECK(b && w);
    /* open auction with our deal: bid on the deal */
    CHECK_EQ_INT(expect(b, w, deal_req(OPEN(DEAL("AB-Agency1-0001", 2, "")), ""), "ortb-deal",
                        "AB-Agency1-0001", "Agency1", 0),
                 0);
    /* deal floor out of reach: an open bid at the imp floor */
    CHECK_EQ_INT(expect(b, w, deal_req(OPEN(DEAL("AB-Agency1-0001", 9, "")), ""), "ortb-deal", NULL,
                        "Agency1", 0),
                 0);
    /* no pmp at all */
    CHECK_EQ_INT(expect(b, w, deal_req("", ""), "ortb-deal", NULL, "Agency1", 0), 0);
    inf_world_free(w);
    w = make_world(NULL, 0, T0);
    /* with ortb-banner open: the higher price wins, deal or not */
    CHECK_EQ_INT(expect(b, w, deal_req(OPEN(DEAL("AB-Agency1-0001", 2, "")), ""), "ortb-banner",
                        NULL, "beat", 0),
                 0);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_seats_and_bapp(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    CHECK_EQ_INT(expect(b, w, deal_req("", ""), "ortb-banner", NULL, "beat", 0), 0);
    CHECK_EQ_INT(
        expect(b, w, deal_req("", ",\"wseat\":[\"Agency1\"]"), "ortb-deal", NULL, "Agency1", 0), 0);
    CHECK_EQ_INT(
        expect(b, w, deal_req("", ",\"bseat\":[\"beat\"]"), "ortb-deal", NULL, "Agency1", 0), 0);
    CHECK_EQ_INT(
        expect(b, w, deal_req("", ",\"wseat\":[\"nobody\"]"), NULL, NULL, NULL, INF_NB_SEAT), 0);
    CHECK_EQ_INT(expect(b, w, deal_req("", ",\"bseat\":[\"beat\",\"Agency1\"]"), NULL, NULL, NULL,
                        INF_NB_SEAT),
                 0);
    /* bapp lists ortb-banner's advertised app */
    CHECK_EQ_INT(expect(b, w, deal_req("", ",\"bapp\":[\"com.ortb.banner\"]"), "ortb-deal", NULL,
                        "Agency1", 0),
                 0);
    static inf_result res;
    cJSON *resp = answer(b, w, deal_req("", ""), &res);
    CHECK(resp != NULL);
    CHECK_EQ_STR(sfield(bid_at(resp, 0, 0), "bundle"), "com.ortb.banner");
    CHECK_EQ_INT(cJSON_GetArrayItem(cJSON_GetObjectItem(bid_at(resp, 0, 0), "attr"), 0)->valueint,
                 1);
    cJSON_Delete(resp);

    /* two imps won by campaigns of two seats: two seatbids, each its bids */
    const char *two =
        "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",\"banner\":{\"w\":300,\"h\":250},"
        "\"pmp\":" PRIV(
            DEAL("AB-Agency1-0001", 1,
                 "")) "},"
                      "{\"id\":\"2\",\"banner\":{\"w\":728,\"h\":90}},"
                      "{\"id\":\"3\",\"banner\":{\"w\":300,\"h\":250},\"pmp\":" PRIV(
                          DEAL("deal-x", 1, "")) "}],"
                                                 "\"site\":{\"domain\":\"www.foobar.com\"}}";
    resp = answer(b, w, two, &res);
    CHECK(resp != NULL);
    const cJSON *sbs = cJSON_GetObjectItem(resp, "seatbid");
    CHECK_EQ_INT(cJSON_GetArraySize(sbs), 2);
    const cJSON *s0 = cJSON_GetArrayItem(sbs, 0), *s1 = cJSON_GetArrayItem(sbs, 1);
    CHECK_EQ_STR(sfield(s0, "seat"), "Agency1");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(s0, "bid")), 2);
    CHECK_EQ_STR(sfield(bid_at(resp, 0, 0), "impid"), "1");
    CHECK_EQ_STR(sfield(bid_at(resp, 0, 1), "impid"), "3");
    CHECK_EQ_STR(sfield(bid_at(resp, 0, 1), "dealid"), "deal-x");
    CHECK_EQ_STR(sfield(s1, "seat"), "beat");
    CHECK_EQ_STR(sfield(bid_at(resp, 1, 0), "impid"), "2");
    cJSON_Delete(resp);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"private_auction", test_private_auction},
        {"open_auction_deals", test_open_auction_deals},
        {"seats_and_bapp", test_seats_and_bapp},
        {NULL, NULL},
    };
    return beat_test_main("bidder_deals", cases, argc, argv);
}
