/* Every IAB OpenRTB example request (tests/fixtures/openrtb/bid-request/) and
 * every Native 1.2 example (native-request-1.2/, sent as imp.native.request
 * strings) against campaigns of every format (FORMAT_CAMPAIGNS): a bid
 * response checked field by field against the request — ids echo, price ≥
 * the imp or deal floor, impid exists, the creative fits the imp's format,
 * notice URLs verify — or a 204 whose reason is the one we can justify. */
#include "bidder_testlib.h"

static const cJSON *item(const cJSON *o, const char *k) {
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k, double def) {
    const cJSON *v = item(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* Macro substitution as the exchange does it, with this auction's ids. */
static void subst(const char *in, char *out, size_t n, const char *auction, const char *imp) {
    const struct {
        const char *m, *v;
    } macros[] = {{"${AUCTION_ID}", auction},
                  {"${AUCTION_IMP_ID}", imp},
                  {"${AUCTION_PRICE}", "0.5"},
                  {"${AUCTION_CURRENCY}", "USD"},
                  {"${AUCTION_LOSS}", "102"}};
    size_t k = 0;
    while (*in && k + 1 < n) {
        bool hit = false;
        for (size_t i = 0; i < sizeof macros / sizeof macros[0] && !hit; i++) {
            size_t ml = strlen(macros[i].m), vl = strlen(macros[i].v);
            if (strncmp(in, macros[i].m, ml) == 0 && k + vl + 1 < n) {
                memcpy(out + k, macros[i].v, vl);
                k += vl;
                in += ml;
                hit = true;
            }
        }
        if (!hit) out[k++] = *in++;
    }
    out[k] = '\0';
}

static int check_url(const char *url, beat_event_type t, const char *auction, const char *imp,
                     const cJSON *bid, int64_t price) {
    char sub[4096];
    CHECK(url != NULL);
    CHECK(strncmp(url, RCV "/", strlen(RCV) + 1) == 0);
    subst(url, sub, sizeof sub, auction, imp);
    const char *q = strchr(sub, '?');
    CHECK(q != NULL);
    beat_notice n;
    beat_reason why = {{0}};
    int rc = beat_notice_parse(t, q + 1, &n, &why);
    if (rc) fprintf(stderr, "  %s: %s\n", sub, why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK(beat_notice_verify(SECRET, strlen(SECRET), &n));
    CHECK_EQ_STR(n.auction, auction);
    CHECK_EQ_STR(n.imp, imp);
    CHECK_EQ_STR(n.campaign, item(bid, "cid")->valuestring);
    CHECK_EQ_STR(n.crid, item(bid, "crid")->valuestring);
    CHECK(n.bid_cpm_micros == price);
    return 0;
}

static bool has_str(const cJSON *arr, const char *s) {
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (cJSON_IsString(it) && strcasecmp(it->valuestring, s) == 0) return true;
    }
    return false;
}

/* The native adm: JSON, asset ids all from the request, every required
 * asset present, link.url a signed click URL. */
static int check_native(const cJSON *imp, const char *adm) {
    const cJSON *nreq = item(item(imp, "native"), "request");
    cJSON *owned = NULL;
    if (cJSON_IsString(nreq)) nreq = owned = cJSON_Parse(nreq->valuestring);
    CHECK(nreq != NULL);
    if (item(nreq, "native")) nreq = item(nreq, "native");
    cJSON *resp = cJSON_Parse(adm);
    CHECK(resp != NULL);
    const cJSON *nresp = item(resp, "native") ? item(resp, "native") : resp;
    CHECK(strncmp(item(item(nresp, "link"), "url")->valuestring, RCV "/click?", strlen(RCV) + 7) ==
          0);
    const cJSON *ra, *qa;
    int n = 0;
    cJSON_ArrayForEach(ra, item(nresp, "assets")) {
        bool found = false;
        cJSON_ArrayForEach(qa, item(nreq, "assets")) found |=
            num(qa, "id", -1) == num(ra, "id", -2);
        CHECK(found);
        n++;
    }
    CHECK(n > 0);
    cJSON_ArrayForEach(qa, item(nreq, "assets")) {
        if (num(qa, "required", 0) != 1) continue;
        bool found = false;
        cJSON_ArrayForEach(ra, item(nresp, "assets")) found |=
            num(qa, "id", -1) == num(ra, "id", -2);
        CHECK(found);
    }
    cJSON_Delete(resp);
    cJSON_Delete(owned);
    return 0;
}

/* One bid against its imp. */
static int check_bid(const cJSON *req, const cJSON *bid) {
    const char *impid = item(bid, "impid")->valuestring;
    const cJSON *imp = NULL, *it;
    cJSON_ArrayForEach(it, item(req, "imp")) {
        if (strcmp(item(it, "id")->valuestring, impid) == 0) imp = it;
    }
    CHECK(imp != NULL);
    double price = num(bid, "price", -1);
    CHECK(price > 0);
    const cJSON *pmp = item(imp, "pmp"), *dealid = item(bid, "dealid");
    if (num(pmp, "private_auction", 0) == 1) CHECK(cJSON_IsString(dealid));
    if (dealid) {
        const cJSON *deal = NULL;
        cJSON_ArrayForEach(it, item(pmp, "deals")) {
            if (strcmp(item(it, "id")->valuestring, dealid->valuestring) == 0) deal = it;
        }
        CHECK(deal != NULL);
        CHECK(price >= num(deal, "bidfloor", 0));
    } else {
        CHECK(price >= num(imp, "bidfloor", 0));
    }
    CHECK(item(bid, "crid") && item(bid, "adid") && item(bid, "cid"));
    CHECK(cJSON_IsArray(item(bid, "adomain")) && cJSON_IsArray(item(bid, "cat")));
    const char *adm = item(bid, "adm")->valuestring;
    int mtype = (int)num(bid, "mtype", 0);
    if (mtype == 1) {
        const cJSON *ban = item(imp, "banner");
        int bw = (int)num(bid, "w", 0), bh = (int)num(bid, "h", 0);
        bool fits = num(ban, "w", -1) == bw && num(ban, "h", -1) == bh;
        cJSON_ArrayForEach(it, item(ban, "format")) fits |=
            num(it, "w", -1) == bw && num(it, "h", -1) == bh;
        CHECK(fits);
        CHECK(strstr(adm, RCV "/click?") != NULL);
    } else if (mtype == 2) {
        const cJSON *v = item(imp, "video");
        CHECK(v != NULL);
        CHECK(strncmp(adm, "<VAST", 5) == 0);
        CHECK(has_str(item(v, "mimes"), "video/mp4"));
        CHECK(strstr(adm, "<![CDATA[" RCV "/click?") != NULL);
    } else {
        CHECK_EQ_INT(mtype, 4);
        CHECK(item(imp, "native") != NULL);
        if (check_native(imp, adm)) return 1;
    }
    int64_t micros = llround(price * 1e6);
    const char *auction = item(req, "id")->valuestring;
    if (check_url(item(bid, "nurl")->valuestring, BEAT_EV_WIN, auction, impid, bid, micros) ||
        check_url(item(bid, "burl")->valuestring, BEAT_EV_BILL, auction, impid, bid, micros) ||
        check_url(item(bid, "lurl")->valuestring, BEAT_EV_LOSS, auction, impid, bid, micros))
        return 1;
    return 0;
}

typedef struct expect {
    const char *name;
    int bids;           /* 0: a 204 */
    int mtype;          /* of the first bid */
    const char *camp;   /* cid of the first bid */
    const char *dealid; /* NULL: none */
    inf_nobid reason;   /* when 0 bids */
    inf_imp_skip skip0; /* imp[0] skip reason */
} expect;

/* Runs body and checks the answer against want. */
static int check_one(inf_bidder *b, const inf_world *w, const char *body, size_t len,
                     const expect *want) {
    static inf_result res;
    static beat_buf out, scratch;
    if (!out.max) {
        beat_buf_init(&out, 1 << 20);
        beat_buf_init(&scratch, 1 << 16);
    }
    beat_reason why = {{0}};
    inf_req_fini(&R);
    int rc = inf_req_parse(body, len, &R, &why);
    if (rc) fprintf(stderr, "  %s: %s\n", want->name, why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(R.imp[0].skip, want->skip0);
    inf_bidder_run(b, w, &R, T0 + 1000, test_xc(), &res);
    if (res.n != want->bids)
        fprintf(stderr, "  %s: %d bids, reason %s, imp[0] %s\n", want->name, res.n,
                inf_nobid_name(res.reason), inf_imp_skip_name(R.imp[0].skip));
    CHECK_EQ_INT(res.n, want->bids);
    if (!res.n) {
        CHECK_EQ_INT(res.reason, want->reason);
        return 0;
    }
    beat_buf_reset(&out);
    CHECK_EQ_INT(inf_bidder_response(b, w, &R, &res, &out, &scratch), 0);
    if (getenv("BIDDER_DUMP")) fprintf(stderr, "%s:\n%s\n", want->name, out.data);
    cJSON *resp = cJSON_ParseWithLength(out.data, out.len);
    cJSON *req = cJSON_ParseWithLength(body, len);
    if (!resp) fprintf(stderr, "  %s: response is not JSON: %s\n", want->name, out.data);
    CHECK(resp && req);
    CHECK_EQ_STR(item(resp, "id")->valuestring, item(req, "id")->valuestring);
    CHECK_EQ_STR(item(resp, "cur")->valuestring, "USD");
    const cJSON *sb, *bid;
    int n = 0;
    cJSON_ArrayForEach(sb, item(resp, "seatbid")) {
        CHECK(cJSON_IsString(item(sb, "seat")));
        cJSON_ArrayForEach(bid, item(sb, "bid")) {
            if (n == 0) {
                CHECK_EQ_INT((int)num(bid, "mtype", 0), want->mtype);
                CHECK_EQ_STR(item(bid, "cid")->valuestring, want->camp);
                if (want->dealid) CHECK_EQ_STR(item(bid, "dealid")->valuestring, want->dealid);
                else CHECK(item(bid, "dealid") == NULL);
            }
            if (check_bid(req, bid)) {
                fprintf(stderr, "  %s: bid %d: %s\n", want->name, n, out.data);
                return 1;
            }
            n++;
        }
    }
    CHECK_EQ_INT(n, want->bids);
    cJSON_Delete(resp);
    cJSON_Delete(req);
    return 0;
}

static int test_bid_requests(void) {
    static const expect fx[] = {
        {"2.5/simple-banner.json", 1, 1, "ortb-banner", NULL, 0, INF_IMP_OK},
        {"2.5/expandable-creative.json", 1, 1, "ortb-banner", NULL, 0, INF_IMP_OK},
        /* imp 2 is a 0×0 interstitial: no size, skipped */
        {"2.5/mobile.json", 1, 1, "ortb-banner", NULL, 0, INF_IMP_OK},
        /* its native request is a placeholder ("assets":[ ... ]), not JSON */
        {"2.5/native-ad.json", 0, 0, NULL, NULL, INF_NB_NO_IMP, INF_IMP_NATIVE_REQ},
        {"2.5/pmp-with-direct-deal.json", 1, 1, "ortb-deal", "AB-Agency1-0001", 0, INF_IMP_OK},
        {"2.5/video.json", 1, 2, "ortb-video", NULL, 0, INF_IMP_OK},
        {"2.6/simple-banner.json", 1, 1, "ortb-banner", NULL, 0, INF_IMP_OK},
        {"2.6/expandable-creative.json", 1, 1, "ortb-banner", NULL, 0, INF_IMP_OK},
        {"2.6/mobile.json", 1, 1, "ortb-banner", NULL, 0, INF_IMP_OK},
        {"2.6/pmp-with-direct-deal.json", 1, 1, "ortb-deal", "AB-Agency1-0001", 0, INF_IMP_OK},
        {"2.6/video.json", 1, 2, "ortb-video", NULL, 0, INF_IMP_OK},
    };
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        char rel[256];
        size_t len = 0;
        snprintf(rel, sizeof rel, "tests/fixtures/openrtb/bid-request/%s", fx[i].name);
        char *body = beat_test_read_file(rel, &len);
        CHECK(body != NULL);
        int rc = check_one(b, w, body, len, &fx[i]);
        free(body);
        if (rc) return rc;
    }
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* The Native 1.2 example requests, each as the request string of a site imp
 * (as exchanges send them): all three bid with the native campaign. */
static int test_native_requests(void) {
    static const char *const files[] = {"content-context.json", "social-context.json",
                                        "third-party.json"};
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[256];
        size_t len = 0;
        snprintf(rel, sizeof rel, "tests/fixtures/openrtb/native-request-1.2/%s", files[i]);
        char *nat = beat_test_read_file(rel, &len);
        CHECK(nat != NULL);
        cJSON *nj = cJSON_Parse(nat);
        char *compact = cJSON_PrintUnformatted(nj);
        cJSON *req = cJSON_Parse("{\"id\":\"native-1\",\"at\":1,\"cur\":[\"USD\"],"
                                 "\"site\":{\"id\":\"1\",\"domain\":\"www.foobar.com\"},"
                                 "\"user\":{\"id\":\"u1\"},\"imp\":[{\"id\":\"1\","
                                 "\"bidfloor\":0.03}]}");
        cJSON *native = cJSON_CreateObject();
        cJSON_AddStringToObject(native, "ver", "1.2");
        cJSON_AddStringToObject(native, "request", compact);
        cJSON_AddItemToObject(cJSON_GetArrayItem(item(req, "imp"), 0), "native", native);
        char *body = cJSON_PrintUnformatted(req);
        expect want = {files[i], 1, 4, "ortb-native", NULL, 0, INF_IMP_OK};
        int rc = check_one(b, w, body, strlen(body), &want);
        free(body);
        cJSON_Delete(req);
        free(compact);
        cJSON_Delete(nj);
        free(nat);
        if (rc) return rc;
    }
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"bid_requests", test_bid_requests},
        {"native_requests", test_native_requests},
        {NULL, NULL},
    };
    return beat_test_main("bidder_fixtures", cases, argc, argv);
}
