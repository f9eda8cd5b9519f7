/* Video and native creatives (FORMAT_CAMPAIGNS): which creative fits which
 * imp (mimes, durations, protocols, rqddurs, battr; native required assets,
 * lengths, image sizes, data types), multi-format imps, and the adm each
 * format gets (VAST with the click URL in CDATA, a Native 1.2 document with
 * the request's asset ids, wrapped like the request). */
#include "bidder_testlib.h"
#include "creative.h"

/* A site imp on www.foobar.com; imp is the inside of the imp object after
 * its id. */
static const char *imp_req(const char *imp) {
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",%s}],\"site\":{\"id\":\"s\","
             "\"domain\":\"www.foobar.com\",\"cat\":[\"IAB3-1\"]},\"user\":{\"id\":\"u1\"}}",
             imp);
    return buf;
}

/* Expects a bid by camp with creative crid and mtype, or (camp NULL) a 204
 * with reason. */
static int expect_bid(inf_bidder *b, const inf_world *w, const char *imp, const char *camp,
                      const char *crid, int mtype, inf_nobid reason) {
    static inf_result res;
    cJSON *resp = answer(b, w, imp_req(imp), &res);
    if (!camp) {
        if (resp) fprintf(stderr, "  unexpected bid for %s\n", imp);
        CHECK(resp == NULL);
        CHECK_EQ_STR(inf_nobid_name(res.reason), inf_nobid_name(reason));
        return 0;
    }
    if (!resp)
        fprintf(stderr, "  no bid (%s, imp %s) for %s\n", inf_nobid_name(res.reason),
                inf_imp_skip_name(R.imp[0].skip), imp);
    CHECK(resp != NULL);
    const cJSON *bid = bid_at(resp, 0, 0);
    CHECK_EQ_STR(sfield(bid, "cid"), camp);
    CHECK_EQ_STR(sfield(bid, "crid"), crid);
    CHECK_EQ_INT(ifield(bid, "mtype"), mtype);
    cJSON_Delete(resp);
    return 0;
}

#define MP4 "\"mimes\":[\"video/mp4\"]"

static int test_video_fit(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    /* mp4, 15 s in [5, 30], protocol 2 */
    CHECK_EQ_INT(expect_bid(b, w,
                            "\"video\":{" MP4 ",\"minduration\":5,\"maxduration\":30,"
                            "\"protocols\":[2]}",
                            "ortb-video", "ortb-video-15s", 2, 0),
                 0);
    /* no protocols given: any; no durations: any */
    CHECK_EQ_INT(expect_bid(b, w, "\"video\":{" MP4 "}", "ortb-video", "ortb-video-15s", 2, 0), 0);
    /* mime nobody has */
    CHECK_EQ_INT(
        expect_bid(b, w, "\"video\":{\"mimes\":[\"video/ogg\"]}", NULL, NULL, 0, INF_NB_NO_MATCH),
        0);
    /* case-insensitive mime */
    CHECK_EQ_INT(expect_bid(b, w, "\"video\":{\"mimes\":[\"VIDEO/MP4\"]}", "ortb-video",
                            "ortb-video-15s", 2, 0),
                 0);
    /* too short a max, too long a min, protocols we lack, rqddurs */
    CHECK_EQ_INT(
        expect_bid(b, w, "\"video\":{" MP4 ",\"maxduration\":10}", NULL, NULL, 0, INF_NB_NO_MATCH),
        0);
    CHECK_EQ_INT(
        expect_bid(b, w, "\"video\":{" MP4 ",\"minduration\":20}", NULL, NULL, 0, INF_NB_NO_MATCH),
        0);
    CHECK_EQ_INT(
        expect_bid(b, w, "\"video\":{" MP4 ",\"protocols\":[1,4]}", NULL, NULL, 0, INF_NB_NO_MATCH),
        0);
    CHECK_EQ_INT(
        expect_bid(b, w, "\"video\":{" MP4 ",\"protocols\":[40]}", NULL, NULL, 0, INF_NB_NO_MATCH),
        0);
    CHECK_EQ_INT(expect_bid(b, w, "\"video\":{" MP4 ",\"protocol\":3}", "ortb-video",
                            "ortb-video-15s", 2, 0),
                 0);
    CHECK_EQ_INT(
        expect_bid(b, w, "\"video\":{" MP4 ",\"rqddurs\":[30]}", NULL, NULL, 0, INF_NB_NO_MATCH),
        0);
    CHECK_EQ_INT(expect_bid(b, w, "\"video\":{" MP4 ",\"rqddurs\":[30,15]}", "ortb-video",
                            "ortb-video-15s", 2, 0),
                 0);
    /* the second creative: webm, 60 s, protocols 7/8 */
    CHECK_EQ_INT(expect_bid(b, w, "\"video\":{\"mimes\":[\"video/webm\"],\"maxduration\":30}", NULL,
                            NULL, 0, INF_NB_NO_MATCH),
                 0);
    CHECK_EQ_INT(expect_bid(b, w,
                            "\"video\":{\"mimes\":[\"video/webm\",\"video/mp4\"],"
                            "\"minduration\":30,\"protocols\":[7]}",
                            "ortb-video", "ortb-video-60s", 2, 0),
                 0);
    /* no mimes: the imp is skipped with its reason */
    CHECK_EQ_INT(expect_bid(b, w, "\"video\":{\"w\":640}", NULL, NULL, 0, INF_NB_NO_IMP), 0);
    CHECK_EQ_INT(R.imp[0].skip, INF_IMP_VIDEO_MIMES);
    /* audio only */
    CHECK_EQ_INT(
        expect_bid(b, w, "\"audio\":{\"mimes\":[\"audio/mp4\"]}", NULL, NULL, 0, INF_NB_NO_IMP), 0);
    CHECK_EQ_INT(R.imp[0].skip, INF_IMP_AUDIO);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* w/h of a video bid: the creative's, else the player's; VAST with the
 * click URL unescaped inside CDATA. */
static int test_video_response(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    cJSON *resp = answer(b, w, imp_req("\"video\":{" MP4 ",\"w\":640,\"h\":360}"), &res);
    CHECK(resp != NULL);
    const cJSON *bid = bid_at(resp, 0, 0);
    CHECK_EQ_INT(ifield(bid, "w"), 640);
    CHECK_EQ_INT(ifield(bid, "h"), 360);
    const char *adm = sfield(bid, "adm");
    CHECK(strncmp(adm, "<VAST version=\"3.0\">", 20) == 0);
    const char *cd = strstr(adm, "<![CDATA[" RCV "/click?v=2&x=&a=${AUCTION_ID}&i=");
    CHECK(cd != NULL);
    CHECK(strstr(adm, "&amp;") == NULL);
    CHECK(strstr(adm, "${CLICK_URL}") == NULL);
    cJSON_Delete(resp);
    resp =
        answer(b, w, imp_req("\"video\":{\"mimes\":[\"video/webm\"],\"w\":640,\"h\":360}"), &res);
    CHECK(resp != NULL);
    bid = bid_at(resp, 0, 0);
    CHECK_EQ_INT(ifield(bid, "w"), 1280); /* the creative's own size */
    CHECK_EQ_INT(ifield(bid, "h"), 720);
    cJSON_Delete(resp);
    /* no size anywhere: no w/h at all */
    resp = answer(b, w, imp_req("\"video\":{" MP4 "}"), &res);
    CHECK(resp != NULL);
    CHECK(cJSON_GetObjectItem(bid_at(resp, 0, 0), "w") == NULL);
    cJSON_Delete(resp);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* battr against creative attr; banner + video in one imp: the higher price
 * (video) wins; the banner alone still bids. */
static int test_battr_and_multiformat(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    /* ortb-banner's 300x250 has attr 1; ortb-deal's (no attr) takes over */
    CHECK_EQ_INT(expect_bid(b, w, "\"banner\":{\"w\":300,\"h\":250}", "ortb-banner",
                            "ortb-banner-300x250", 1, 0),
                 0);
    CHECK_EQ_INT(expect_bid(b, w, "\"banner\":{\"w\":300,\"h\":250,\"battr\":[1]}", "ortb-deal",
                            "ortb-deal-300x250", 1, 0),
                 0);
    /* battr of another format does not apply */
    CHECK_EQ_INT(expect_bid(b, w,
                            "\"banner\":{\"w\":300,\"h\":250},\"video\":{\"mimes\":"
                            "[\"video/ogg\"],\"battr\":[1]}",
                            "ortb-banner", "ortb-banner-300x250", 1, 0),
                 0);
    CHECK_EQ_INT(expect_bid(b, w, "\"banner\":{\"w\":300,\"h\":250},\"video\":{" MP4 "}",
                            "ortb-video", "ortb-video-15s", 2, 0),
                 0);
    /* a 0x0 banner next to a video: the video is still usable */
    CHECK_EQ_INT(expect_bid(b, w, "\"banner\":{\"w\":0,\"h\":0},\"video\":{" MP4 "}", "ortb-video",
                            "ortb-video-15s", 2, 0),
                 0);
    CHECK_EQ_INT(R.imp[0].formats, INF_FMT_VIDEO);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

#define NREQ(assets)                                                                               \
    "\"native\":{\"ver\":\"1.2\",\"request\":\"{\\\"ver\\\":\\\"1.2\\\","                          \
    "\\\"assets\\\":[" assets "]}\"}"
#define TITLE(req, len)                                                                            \
    "{\\\"id\\\":1,\\\"required\\\":" #req ",\\\"title\\\":{\\\"len\\\":" #len "}}"
#define IMG(id, req, type, dims)                                                                   \
    "{\\\"id\\\":" #id ",\\\"required\\\":" #req ",\\\"img\\\":{\\\"type\\\":" #type "," dims "}}"
#define DATA(id, req, type, len)                                                                   \
    "{\\\"id\\\":" #id ",\\\"required\\\":" #req ",\\\"data\\\":{\\\"type\\\":" #type              \
    ",\\\"len\\\":" #len "}}"

static int test_native_fit(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    const char *N = "ortb-native", *CR = "ortb-native-1";
    const inf_nobid NM = INF_NB_NO_MATCH;
    CHECK_EQ_INT(expect_bid(b, w, NREQ(TITLE(1, 90)), N, CR, 4, 0), 0);
    /* our title (29 bytes) is longer than 20 */
    CHECK_EQ_INT(expect_bid(b, w, NREQ(TITLE(1, 20)), NULL, NULL, 0, NM), 0);
    /* ... which is fine when the title is optional and something else fills */
    CHECK_EQ_INT(expect_bid(b, w, NREQ(TITLE(0, 20) "," DATA(2, 1, 1, 25)), N, CR, 4, 0), 0);
    /* nothing fillable at all */
    CHECK_EQ_INT(expect_bid(b, w, NREQ(TITLE(0, 20)), NULL, NULL, 0, NM), 0);
    /* main image: min sizes met (1200x627 ≥ 600x300), exact size not */
    CHECK_EQ_INT(
        expect_bid(b, w, NREQ(IMG(2, 1, 3, "\\\"wmin\\\":600,\\\"hmin\\\":300")), N, CR, 4, 0), 0);
    CHECK_EQ_INT(
        expect_bid(b, w, NREQ(IMG(2, 1, 3, "\\\"w\\\":300,\\\"h\\\":250")), NULL, NULL, 0, NM), 0);
    CHECK_EQ_INT(expect_bid(b, w, NREQ(IMG(2, 1, 3, "\\\"wmin\\\":1300")), NULL, NULL, 0, NM), 0);
    /* icon 50x50 exact */
    CHECK_EQ_INT(expect_bid(b, w, NREQ(IMG(2, 1, 1, "\\\"w\\\":50,\\\"h\\\":50")), N, CR, 4, 0), 0);
    CHECK_EQ_INT(
        expect_bid(b, w, NREQ(IMG(2, 1, 1, "\\\"w\\\":80,\\\"h\\\":80")), NULL, NULL, 0, NM), 0);
    /* data: sponsored (1) ≤ 25, desc (2) too long for 10, cta (12), rating (3) none */
    CHECK_EQ_INT(expect_bid(b, w, NREQ(DATA(3, 1, 2, 10)), NULL, NULL, 0, NM), 0);
    CHECK_EQ_INT(expect_bid(b, w, NREQ(DATA(3, 1, 12, 15)), N, CR, 4, 0), 0);
    CHECK_EQ_INT(expect_bid(b, w, NREQ(TITLE(1, 90) "," DATA(3, 1, 3, 5)), NULL, NULL, 0, NM), 0);
    /* a required video asset cannot be met */
    CHECK_EQ_INT(expect_bid(b, w,
                            NREQ(TITLE(1, 90) ",{\\\"id\\\":9,\\\"required\\\":1,"
                                              "\\\"video\\\":{}}"),
                            NULL, NULL, 0, NM),
                 0);
    /* native battr vs creative attr: the native creative has none */
    CHECK_EQ_INT(expect_bid(b, w,
                            "\"native\":{\"battr\":[1,2,3],\"request\":{\"assets\":"
                            "[{\"id\":1,\"title\":{\"len\":90}}]}}",
                            N, CR, 4, 0),
                 0);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* The Native 1.2 adm: the request's asset ids (only filled ones), required
 * flags echoed, link.url the click URL, the title's quotes survive two
 * levels of escaping; a {"native":…} request gets a {"native":…} answer. */
static int test_native_response(void) {
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    cJSON *resp = answer(b, w,
                         imp_req(NREQ(TITLE(1, 90) "," IMG(7, 0, 3, "\\\"wmin\\\":100") "," DATA(
                             8, 0, 3, 5) "," DATA(9, 0, 1, 25))),
                         &res);
    CHECK(resp != NULL);
    const cJSON *bid = bid_at(resp, 0, 0);
    CHECK(cJSON_GetObjectItem(bid, "w") == NULL);
    cJSON *adm = cJSON_Parse(sfield(bid, "adm"));
    CHECK(adm != NULL);
    CHECK(cJSON_GetObjectItem(adm, "native") == NULL);
    CHECK_EQ_STR(sfield(adm, "ver"), "1.2");
    const char *url = sfield(cJSON_GetObjectItem(adm, "link"), "url");
    static const char click[] = RCV "/click?v=2&x=&a=${AUCTION_ID}&i=";
    CHECK(strncmp(url, click, sizeof click - 1) == 0);
    const cJSON *as = cJSON_GetObjectItem(adm, "assets");
    CHECK_EQ_INT(cJSON_GetArraySize(as), 3); /* id 8 (rating) left out */
    const cJSON *a0 = cJSON_GetArrayItem(as, 0), *a1 = cJSON_GetArrayItem(as, 1),
                *a2 = cJSON_GetArrayItem(as, 2);
    CHECK_EQ_INT(ifield(a0, "id"), 1);
    CHECK_EQ_INT(ifield(a0, "required"), 1);
    CHECK_EQ_STR(sfield(cJSON_GetObjectItem(a0, "title"), "text"),
                 "Weekend in \"Lisbon\" from $199");
    CHECK_EQ_INT(ifield(a1, "id"), 7);
    CHECK_EQ_INT(ifield(a1, "required"), -1);
    CHECK_EQ_STR(sfield(cJSON_GetObjectItem(a1, "img"), "url"),
                 "https://cdn.ortb-native.example/lisbon.jpg");
    CHECK_EQ_INT(ifield(cJSON_GetObjectItem(a1, "img"), "w"), 1200);
    CHECK_EQ_INT(ifield(a2, "id"), 9);
    CHECK_EQ_STR(sfield(cJSON_GetObjectItem(a2, "data"), "value"), "Ortb Travel");
    cJSON_Delete(adm);
    cJSON_Delete(resp);

    resp = answer(b, w,
                  imp_req("\"native\":{\"request\":\"{\\\"native\\\":{\\\"assets\\\":[" TITLE(
                      1, 90) "]}}\"}"),
                  &res);
    CHECK(resp != NULL);
    adm = cJSON_Parse(sfield(bid_at(resp, 0, 0), "adm"));
    CHECK(adm != NULL);
    const cJSON *inner = cJSON_GetObjectItem(adm, "native");
    CHECK(inner != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(inner, "assets")), 1);
    cJSON_Delete(adm);
    cJSON_Delete(resp);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* The world's packed sizes (banners only, world.c) decide exactly what the
 * creatives themselves would: every campaign of every test file against
 * banner, video and native imps, with and without battr, sizes that pack
 * and sizes that do not. */
static int test_packed_sizes_agree(void) {
    static const char *const files[] = {CAMPAIGNS, FORMAT_CAMPAIGNS,
                                        "inference/testdata/campaigns-schain.json",
                                        "inference/testdata/campaigns-schedule.json"};
    static const char *const imps[] = {
        "{\"id\":\"1\",\"banner\":{\"w\":300,\"h\":250}}",
        "{\"id\":\"1\",\"banner\":{\"w\":300,\"h\":250,\"battr\":[1,2,3,4,5,6,7,8,9,10]}}",
        "{\"id\":\"1\",\"banner\":{\"format\":[{\"w\":728,\"h\":90},{\"w\":300,\"h\":250}]}}",
        "{\"id\":\"1\",\"banner\":{\"w\":1280,\"h\":720}}",
        "{\"id\":\"1\",\"banner\":{\"w\":70000,\"h\":250}}",
        "{\"id\":\"1\",\"banner\":{\"w\":300,\"h\":250},\"video\":{\"mimes\":[\"video/mp4\"],"
        "\"w\":1280,\"h\":720,\"protocols\":[2,3,5,6]}}",
        "{\"id\":\"1\",\"video\":{\"mimes\":[\"video/mp4\"],\"protocols\":[2,3,5,6]}}",
    };
    int compared = 0, matched = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        campaigns_file = files[f];
        inf_world *w = make_world(NULL, 0, T0);
        CHECK(w != NULL);
        for (size_t i = 0; i < sizeof imps / sizeof imps[0]; i++) {
            char body[1024];
            snprintf(body, sizeof body,
                     "{\"id\":\"a\",\"imp\":[%s],\"site\":{\"id\":\"s\",\"domain\":\"x.example\"}}",
                     imps[i]);
            beat_reason why = {{0}};
            inf_req_fini(&R);
            CHECK_EQ_INT(inf_req_parse(body, strlen(body), &R, &why), 0);
            for (int ci = 0; ci < w->n; ci++) {
                const inf_camp *cp = &w->camps[ci];
                int packed = inf_creative_match(cp->c, cp->sizes, cp->n_creatives, &R.imp[0]);
                CHECK_EQ_INT(packed, inf_creative_match(cp->c, NULL, 0, &R.imp[0]));
                compared++;
                matched += packed >= 0;
            }
        }
        inf_world_free(w);
    }
    inf_req_fini(&R);
    CHECK(compared > 50 && matched > 10);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"video_fit", test_video_fit},
        {"packed_sizes_agree", test_packed_sizes_agree},
        {"video_response", test_video_response},
        {"battr_and_multiformat", test_battr_and_multiformat},
        {"native_fit", test_native_fit},
        {"native_response", test_native_response},
        {NULL, NULL},
    };
    return beat_test_main("bidder_formats", cases, argc, argv);
}
