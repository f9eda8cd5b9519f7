/* OpenRTB semantics of the bidder beyond the price, on banner campaigns
 * in a hand-built world (bidder_testlib.h): the response fields and the
 * signed notice URLs (after the exchange's macro substitution), wseat and
 * bseat, test=1, consent (a TCF string from beat_tcf_testlib.h) and
 * bidfloorcur through the currency table. */
#include "beat_tcf_testlib.h"
#include "bidder_testlib.h"
#include "privacy.h"

static int check_notice(const char *url, beat_event_type t, const char *path, int64_t ts,
                        const char *landing) {
    char sub[4096];
    CHECK(strncmp(url, RCV, strlen(RCV)) == 0);
    CHECK(strncmp(url + strlen(RCV), path, strlen(path)) == 0);
    substitute(url, sub, sizeof sub);
    const char *q = strchr(sub, '?');
    CHECK(q != NULL);
    beat_notice n;
    beat_reason why = {{0}};
    int rc = beat_notice_parse(t, q + 1, &n, &why);
    if (rc) fprintf(stderr, "  %s: %s\n", sub, why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK(beat_notice_verify(SECRET, strlen(SECRET), &n));
    CHECK(!beat_notice_verify("wrong", 5, &n));
    CHECK_EQ_INT(n.version, BEAT_NOTICE_V);
    CHECK_EQ_INT(n.flags, 0); /* real traffic */
    CHECK_EQ_STR(n.exchange, "");
    CHECK_EQ_STR(n.auction, "auction-1");
    CHECK_EQ_STR(n.imp, "1");
    CHECK_EQ_STR(n.campaign, BOOSTED);
    CHECK_EQ_STR(n.crid, "umbrella-news-300x250");
    CHECK_EQ_INT(n.bid_cpm_micros, 5400000);
    CHECK_EQ_INT(n.ts_ms, ts);
    if (t == BEAT_EV_WIN || t == BEAT_EV_BILL) CHECK_EQ_INT(n.price_cpm_micros, 4200000);
    if (t == BEAT_EV_LOSS) CHECK_EQ_INT(n.loss_code, 102);
    if (landing) CHECK_EQ_STR(n.landing, landing);
    return 0;
}

static int test_response_and_notices(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    CHECK(b && w);
    int64_t now = T0 + 1234;
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0.03", "www.foobar.com", "u1", NULL), now, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    beat_buf out, scratch;
    beat_buf_init(&out, 1 << 20);
    beat_buf_init(&scratch, 1 << 16);
    CHECK_EQ_INT(inf_bidder_response(b, w, &R, &res, &out, &scratch), 0);
    cJSON *j = cJSON_Parse(out.data);
    CHECK(j != NULL);
    CHECK_EQ_STR(cJSON_GetObjectItem(j, "id")->valuestring, "auction-1");
    CHECK_EQ_STR(cJSON_GetObjectItem(j, "cur")->valuestring, "USD");
    cJSON *sb = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "seatbid"), 0);
    CHECK_EQ_STR(cJSON_GetObjectItem(sb, "seat")->valuestring, "beat");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sb, "bid")), 1);
    cJSON *bid = cJSON_GetArrayItem(cJSON_GetObjectItem(sb, "bid"), 0);
    CHECK(strlen(cJSON_GetObjectItem(bid, "id")->valuestring) == 24);
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "impid")->valuestring, "1");
    CHECK(strstr(out.data, "\"price\":5.4,") != NULL); /* exact decimal text */
    CHECK(cJSON_GetObjectItem(bid, "price")->valuedouble == 5.4);
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "adid")->valuestring, "umbrella-news-300x250");
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "crid")->valuestring, "umbrella-news-300x250");
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "cid")->valuestring, BOOSTED);
    CHECK_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(bid, "adomain"), 0)->valuestring,
                 "umbrella.example");
    CHECK_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(bid, "cat"), 0)->valuestring, "IAB12");
    CHECK_EQ_INT(cJSON_GetObjectItem(bid, "w")->valueint, 300);
    CHECK_EQ_INT(cJSON_GetObjectItem(bid, "h")->valueint, 250);
    CHECK_EQ_INT(cJSON_GetObjectItem(bid, "mtype")->valueint, 1);
    CHECK(check_notice(cJSON_GetObjectItem(bid, "nurl")->valuestring, BEAT_EV_WIN, "/win?", now,
                       NULL) == 0);
    CHECK(check_notice(cJSON_GetObjectItem(bid, "burl")->valuestring, BEAT_EV_BILL, "/bill?", now,
                       NULL) == 0);
    CHECK(check_notice(cJSON_GetObjectItem(bid, "lurl")->valuestring, BEAT_EV_LOSS, "/loss?", now,
                       NULL) == 0);
    /* adm: the click URL replaced the macro, &-escaped inside href="…". */
    const char *adm = cJSON_GetObjectItem(bid, "adm")->valuestring;
    CHECK(strstr(adm, "${CLICK_URL}") == NULL);
    CHECK(strstr(adm, "src=\"https://cdn.umbrella.example/300x250.png\"") != NULL);
    const char *href = strstr(adm, "href=\"");
    CHECK(href != NULL);
    href += 6;
    const char *end = strchr(href, '"');
    CHECK(end != NULL);
    char click[4096];
    snprintf(click, sizeof click, "%.*s", (int)(end - href), href);
    for (const char *p = strchr(click, '&'); p; p = strchr(p + 1, '&'))
        CHECK(strncmp(p, "&amp;", 5) == 0);
    CHECK(check_notice(click, BEAT_EV_CLICK, "/click?", now,
                       "https://www.umbrella.example/landing?src=beat") == 0);

    /* The bid-log event mirrors the bid. */
    beat_event ev;
    inf_bidder_event(b, w, &R, &res, 0, &ev);
    CHECK_EQ_INT(ev.type, BEAT_EV_BID);
    CHECK_EQ_STR(ev.auction, "auction-1");
    CHECK_EQ_STR(ev.imp, "1");
    CHECK_EQ_STR(ev.campaign, BOOSTED);
    CHECK_EQ_STR(ev.crid, "umbrella-news-300x250");
    CHECK_EQ_STR(ev.node, "inf-test");
    CHECK_EQ_INT(ev.price_cpm_micros, 5400000);
    CHECK_EQ_INT(ev.model_version, 5);
    CHECK_EQ_INT(ev.state_version, 7);
    CHECK_EQ_INT(ev.ts_ms, now);
    CHECK_EQ_INT(ev.n_feat, 13);
    CHECK(memcmp(ev.feat, res.bids[0].feat, 13 * sizeof ev.feat[0]) == 0);
    beat_buf_reset(&scratch);
    CHECK_EQ_INT(beat_event_encode(&ev, &scratch), 0);
    beat_event back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_event_decode(scratch.data, scratch.len, &back, &why), 0);
    CHECK_EQ_INT(back.n_feat, 13);

    /* A response that does not fit is refused whole, buffer unchanged. */
    beat_buf small;
    beat_buf_init(&small, 200);
    CHECK_EQ_INT(inf_bidder_response(b, w, &R, &res, &small, &scratch), -EMSGSIZE);
    CHECK_EQ_INT(small.len, 0);
    beat_buf_fini(&small);
    cJSON_Delete(j);
    beat_buf_fini(&out);
    beat_buf_fini(&scratch);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* OpenRTB semantics beyond the basics: wseat/bseat, test=1, consent (2.5 ext
 * and 2.6 top level), bidfloorcur through the currency table. */
static int test_seats_test_consent_currency(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    /* wseat without our seat / bseat with it: no bid; wseat with it: bid. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", NULL, ",\"wseat\":[\"x\"]"), T0, &res),
                 0);
    CHECK_EQ_INT(res.reason, INF_NB_SEAT);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", NULL, ",\"bseat\":[\"beat\"]"), T0, &res),
                 0);
    CHECK_EQ_INT(res.reason, INF_NB_SEAT);
    CHECK_EQ_INT(run(b, w,
                     req_json(BANNER, "0", "a.com", NULL,
                              ",\"wseat\":[\"x\",\"beat\"],\"bseat\":[\"y\"],\"at\":1"),
                     T0, &res),
                 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(R.at, 1);

    /* Only initech-apps (frequency-capped) left: it needs a usable user id. */
    override ov[] = {{BOOSTED, 1, true, false}, {"acme-shoes", 1, true, false}};
    inf_world *wc = make_world(ov, 2, T0);
    CHECK(wc);
    static const char *const gdpr_no_consent[] = {
        ",\"regs\":{\"gdpr\":1}",           /* 2.6 */
        ",\"regs\":{\"ext\":{\"gdpr\":1}}", /* 2.5 */
        ",\"regs\":{\"coppa\":1}",
    };
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(
            run(b, wc, req_json(BANNER, "0", "a.com", "u-gdpr", gdpr_no_consent[i]), T0, &res), 0);
        CHECK(R.user_id == NULL && !R.personal_ok);
        CHECK_EQ_INT(res.reason, INF_NB_FREQ_CAP);
    }
    /* A string that is not a TCF v2 consent string is no consent: the id
     * is dropped as if there were none (its presence used to be enough). */
    static char j[16384];
    snprintf(j, sizeof j,
             "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
             "\"site\":{\"domain\":\"a.com\"},\"regs\":{\"ext\":{\"gdpr\":1}},"
             "\"user\":{\"id\":\"u-gdpr\",\"ext\":{\"consent\":\"CO-tcf\"}}}");
    CHECK_EQ_INT(run(b, wc, j, T0, &res), 0);
    CHECK(R.gdpr && !R.personal_ok && R.user_id == NULL);
    CHECK_EQ_INT(res.reason, INF_NB_FREQ_CAP);
    /* consent in user.ext (2.5) from a decodable string that consents to
     * purposes 1, 3, 4 and our vendor id: the user id is kept, the bid goes out */
    beat_reason cwhy = {{0}};
    CHECK_EQ_INT(inf_privacy_config(777, "1,3,4", &cwhy), 0);
    static const int ours[] = {777};
    tl_tcf spec = {.purposes = 0xd, .max_vendor = 800, .vendors = ours, .n_vendors = 1};
    static char tcf[400];
    tl_tcf_encode(&spec, tcf);
    snprintf(j, sizeof j,
             "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
             "\"site\":{\"domain\":\"a.com\"},\"regs\":{\"ext\":{\"gdpr\":1}},"
             "\"user\":{\"id\":\"u-gdpr\",\"ext\":{\"consent\":\"%s\"}}}",
             tcf);
    CHECK_EQ_INT(run(b, wc, j, T0, &res), 0);
    CHECK(R.gdpr && R.personal_ok);
    CHECK_EQ_STR(R.consent, tcf);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(inf_bidder_freq_count(b, &wc->camps[2], UKEY("u-gdpr"), T0), 1);
    /* 2.6: regs.gdpr + user.consent; test=1 bids but does not count */
    snprintf(j, sizeof j,
             "{\"id\":\"a\",\"test\":1,\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
             "\"site\":{\"domain\":\"a.com\"},\"regs\":{\"gdpr\":1},"
             "\"user\":{\"id\":\"u-gdpr\",\"consent\":\"%s\"}}",
             tcf);
    CHECK_EQ_INT(run(b, wc, j, T0, &res), 0);
    CHECK(R.test && R.personal_ok);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(inf_bidder_freq_count(b, &wc->camps[2], UKEY("u-gdpr"), T0), 1);
    /* ...and its notice URLs are signed as test traffic (f=1), each for
     * its own type, so the receiver answers them and produces nothing. */
    {
        beat_buf out, scratch;
        beat_reason nwhy = {{0}};
        beat_buf_init(&out, 1 << 20);
        beat_buf_init(&scratch, 1 << 16);
        CHECK_EQ_INT(inf_bidder_response(b, wc, &R, &res, &out, &scratch), 0);
        cJSON *jr = cJSON_Parse(out.data);
        cJSON *bid = cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(jr, "seatbid"), 0), "bid"),
            0);
        CHECK(bid != NULL);
        static const struct {
            const char *key;
            beat_event_type t;
        } U[] = {{"nurl", BEAT_EV_WIN}, {"burl", BEAT_EV_BILL}, {"lurl", BEAT_EV_LOSS}};
        for (int k = 0; k < 3; k++) {
            char sub[4096];
            substitute(cJSON_GetObjectItem(bid, U[k].key)->valuestring, sub, sizeof sub);
            CHECK(strstr(sub, "&f=1&") != NULL);
            beat_notice n;
            CHECK_EQ_INT(beat_notice_parse(U[k].t, strchr(sub, '?') + 1, &n, &nwhy), 0);
            CHECK_EQ_INT(n.flags, BEAT_NOTICE_F_TEST);
            strcpy(n.auction, "a"); /* this request's id, not substitute()'s */
            CHECK(beat_notice_verify(SECRET, strlen(SECRET), &n));
            n.flags = 0; /* the flag is signed: it cannot be dropped */
            CHECK(!beat_notice_verify(SECRET, strlen(SECRET), &n));
        }
        cJSON_Delete(jr);
        beat_buf_fini(&out);
        beat_buf_fini(&scratch);
    }

    /* Currency table: a EUR floor converts; an unknown one skips the imp. */
    beat_reason why = {{0}};
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1.25,gbp=2", &why), 0);
    CHECK(inf_openrtb_rate("GBP") == 2.0 && inf_openrtb_rate("usd") == 1.0);
    CHECK(inf_openrtb_rate("JPY") == 0);
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=0", &why), -EINVAL);
    CHECK_EQ_INT(inf_openrtb_rates_set("EU=1", &why), -EINVAL);
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1,", &why), 0); /* trailing comma */
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1.25", &why), 0);
    snprintf(j, sizeof j,
             "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"bidfloor\":2,\"bidfloorcur\":\"EUR\","
             "\"banner\":" BANNER "},{\"id\":\"2\",\"bidfloor\":2,\"bidfloorcur\":\"JPY\","
             "\"banner\":" BANNER "}],\"site\":{\"domain\":\"a.com\"}}");
    CHECK_EQ_INT(run(b, w, j, T0, &res), 0);
    CHECK_EQ_INT(R.imp[0].skip, INF_IMP_OK);
    CHECK_EQ_INT(R.imp[0].floor_cpm_micros, 2500000);
    CHECK_EQ_INT(R.imp[1].skip, INF_IMP_CURRENCY);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].imp, 0);
    CHECK(res.bids[0].price_cpm_micros >= 2500000);
    CHECK_EQ_INT(inf_openrtb_rates_set(NULL, &why), 0);
    CHECK(inf_openrtb_rate("EUR") == 0);

    /* device.sua platform stands in for device.os */
    CHECK_EQ_INT(run(b, w,
                     req_json(BANNER, "0", "a.com", NULL,
                              ",\"device\":{\"sua\":{\"platform\":{\"brand\":\"Android\"}}}"),
                     T0, &res),
                 0);
    CHECK_EQ_STR(R.os, "Android");
    inf_world_free(w);
    inf_world_free(wc);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"seats_test_consent_currency", test_seats_test_consent_currency},
        {"response_and_notices", test_response_and_notices},
        {NULL, NULL},
    };
    return beat_test_main("bidder_openrtb", cases, argc, argv);
}
