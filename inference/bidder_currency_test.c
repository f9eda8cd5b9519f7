/* Currencies on the bid path (docs/contracts.md "Currencies"): a request
 * that allows USD is answered in USD; one that lists only other currencies
 * is answered in the first one the rate table knows, its price converted
 * (rounded down) and its notices carrying the signed bid currency; none
 * known, or an imp floor in an unknown currency, is a no-bid "currency". */
#include "bidder_testlib.h"

#include "beat_fx.h"

/* The bid of a 300x250 request on www.foobar.com (floor 0.03) with extra
 * top-level fields; *cur gets the response currency. NULL: no bid. */
static cJSON *one_bid(inf_bidder *b, const inf_world *w, const char *extra, cJSON **resp,
                      inf_result *res) {
    *resp = answer(b, w, req_json(BANNER, "0.03", "www.foobar.com", "u1", extra), res);
    if (!*resp) return NULL;
    cJSON *sb = cJSON_GetArrayItem(cJSON_GetObjectItem(*resp, "seatbid"), 0);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(sb, "bid"), 0);
}

static int test_bid_currency(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    beat_reason why = {{0}};
    CHECK(b && w);
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1.25,GBP=2", &why), 0);
    cJSON *resp = NULL, *bid;
    /* USD allowed (absent, empty, or listed anywhere): USD, 5.4 */
    static const char *const usd[] = {NULL, ",\"cur\":[]", ",\"cur\":[\"EUR\",\"USD\"]"};
    for (int k = 0; k < 3; k++) {
        CHECK((bid = one_bid(b, w, usd[k], &resp, &res)) != NULL);
        CHECK_EQ_STR(cJSON_GetObjectItem(resp, "cur")->valuestring, "USD");
        CHECK(cJSON_GetObjectItem(bid, "price")->valuedouble == 5.4);
        CHECK(strstr(cJSON_GetObjectItem(bid, "nurl")->valuestring, "&bc=") == NULL);
        cJSON_Delete(resp);
    }
    /* EUR only: 5.4 USD / 1.25 = 4.32 EUR; the notice signs b in USD and bc */
    CHECK((bid = one_bid(b, w, ",\"cur\":[\"JPY\",\"eur\"]", &resp, &res)) != NULL);
    CHECK_EQ_STR(cJSON_GetObjectItem(resp, "cur")->valuestring, "EUR");
    CHECK(cJSON_GetObjectItem(bid, "price")->valuedouble == 4.32);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 5400000); /* USD inside */
    char sub[4096];
    substitute(cJSON_GetObjectItem(bid, "burl")->valuestring, sub, sizeof sub);
    CHECK(strstr(sub, "&b=5400000&bc=EUR&") != NULL);
    beat_notice n;
    beat_reason nwhy = {{0}};
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_BILL, strchr(sub, '?') + 1, &n, &nwhy), 0);
    CHECK_EQ_STR(n.bid_currency, "EUR");
    CHECK(beat_notice_verify(SECRET, strlen(SECRET), &n));
    cJSON_Delete(resp);
    /* GBP listed first: GBP, 2.7 */
    CHECK((bid = one_bid(b, w, ",\"cur\":[\"GBP\",\"EUR\"]", &resp, &res)) != NULL);
    CHECK_EQ_STR(cJSON_GetObjectItem(resp, "cur")->valuestring, "GBP");
    CHECK(cJSON_GetObjectItem(bid, "price")->valuedouble == 2.7);
    cJSON_Delete(resp);
    /* nothing we know: no-bid "currency" */
    CHECK(one_bid(b, w, ",\"cur\":[\"JPY\",\"CHF\"]", &resp, &res) == NULL);
    CHECK_EQ_INT(res.reason, INF_NB_CURRENCY);
    /* an imp floor in EUR converts (2 EUR = 2.5 USD < 5.4: bids); in an
     * unknown currency every imp is skipped: "currency", not no_match/no_imp */
    CHECK_EQ_INT(run(b, w,
                     req_json(BANNER, "2,\"bidfloorcur\":\"EUR\"", "www.foobar.com", "u1", NULL),
                     T0, &res),
                 0);
    CHECK_EQ_INT(R.imp[0].floor_cpm_micros, 2500000);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(run(b, w,
                     req_json(BANNER, "2,\"bidfloorcur\":\"XYZ\"", "www.foobar.com", "u1", NULL),
                     T0, &res),
                 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_CURRENCY);
    CHECK_EQ_INT(inf_openrtb_rates_set(NULL, &why), 0);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"bid_currency", test_bid_currency},
        {NULL, NULL},
    };
    return beat_test_main("bidder_currency", cases, argc, argv);
}
