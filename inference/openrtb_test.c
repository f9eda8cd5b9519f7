/* OpenRTB parsing: every IAB example (tests/fixtures/openrtb/) parses into the expected compact
 * request (or a bid-blocking reason per imp that we can justify), and every
 * malformed request is refused with the intended one-line reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "openrtb.h"

static int parse_fixture(const char *name, inf_req *r, beat_reason *why) {
    char rel[256];
    size_t len = 0;
    snprintf(rel, sizeof rel, "tests/fixtures/openrtb/bid-request/%s", name);
    char *b = beat_test_read_file(rel, &len);
    if (!b) b = beat_test_read_file(rel + 3 /* "../x" → "x" */, &len);
    if (!b) return -ENOENT;
    int rc = inf_req_parse(b, len, r, why);
    free(b); /* the request owns its own tree: the body may go */
    return rc;
}

typedef struct fixture {
    const char *file;
    int n_imp;
    inf_imp_skip skip0, skip1;
    inf_chan chan;
    int w0, h0; /* imp[0] primary size, 0 if none */
    int64_t floor0;
} fixture;

/* Why each skip is right: the 2.5 native fixture's request string is a
 * placeholder ("assets":[ ... ] is not JSON), so its native is unusable;
 * the mobile interstitial has w=h=0 and no format. The pmp imps are private
 * auctions with usable deals, the video imps have mimes: both biddable. */
static const fixture fixtures[] = {
    {"2.5/simple-banner.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.5/expandable-creative.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.5/mobile.json", 2, INF_IMP_OK, INF_IMP_NO_SIZE, INF_CHAN_APP, 728, 90, 500000},
    {"2.5/native-ad.json", 1, INF_IMP_NATIVE_REQ, 0, INF_CHAN_SITE, 0, 0, 30000},
    {"2.5/pmp-with-direct-deal.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.5/video.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 0, 0, 30000},
    {"2.6/simple-banner.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.6/expandable-creative.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.6/mobile.json", 1, INF_IMP_OK, 0, INF_CHAN_APP, 728, 90, 500000},
    {"2.6/pmp-with-direct-deal.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.6/video.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 0, 0, 30000},
    {NULL, 0, 0, 0, 0, 0, 0, 0},
};

static int test_fixtures(void) {
    static inf_req r;
    for (const fixture *f = fixtures; f->file; f++) {
        beat_reason why = {{0}};
        int rc = parse_fixture(f->file, &r, &why);
        if (rc != 0) fprintf(stderr, "  %s: %s\n", f->file, why.msg);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(r.n_imp, f->n_imp);
        CHECK_EQ_INT(r.n_imp_total, f->n_imp);
        CHECK_EQ_INT(r.chan, f->chan);
        CHECK_EQ_INT(r.imp[0].skip, f->skip0);
        if (f->n_imp > 1) CHECK_EQ_INT(r.imp[1].skip, f->skip1);
        CHECK_EQ_STR(r.imp[0].id, "1");
        CHECK_EQ_INT(r.imp[0].floor_cpm_micros, f->floor0);
        if (f->w0) {
            CHECK(r.imp[0].n_sizes >= 1);
            CHECK_EQ_INT(r.imp[0].sizes[0].w, f->w0);
            CHECK_EQ_INT(r.imp[0].sizes[0].h, f->h0);
        }
        CHECK(r.cur_ok);
        CHECK(r.user_id != NULL);
        inf_req_fini(&r);
    }
    return 0;
}

static int test_fixture_fields(void) {
    static inf_req r;
    beat_reason why = {{0}};
    CHECK_EQ_INT(parse_fixture("2.5/simple-banner.json", &r, &why), 0);
    CHECK_EQ_STR(r.id, "80ce30c53c16e6ede735f123ef6e32361bfc7b22");
    CHECK_EQ_STR(r.domain, "www.foobar.com");
    CHECK(r.bundle == NULL);
    CHECK_EQ_STR(r.pub_id, "8953");
    CHECK_EQ_INT(r.n_cats, 1);
    CHECK_EQ_STR(r.cats[0], "IAB3-1");
    CHECK_EQ_STR(r.user_id, "55816b39711f9b5acf3b90e313ed29e51665623f");
    CHECK_EQ_INT(r.devicetype, -1);
    CHECK(r.os == NULL && r.country == NULL);
    CHECK_EQ_INT(r.imp[0].pos, -1);
    inf_req_fini(&r);

    CHECK_EQ_INT(parse_fixture("2.5/mobile.json", &r, &why), 0);
    CHECK_EQ_STR(r.bundle, "12345");
    CHECK(r.domain == NULL);
    CHECK_EQ_STR(r.pub_id, "agltb3B1Yi1pbmNyDAsSA0FwcBiJkfTUCV");
    CHECK_EQ_INT(r.n_cats, 2);
    CHECK_EQ_INT(r.devicetype, 1);
    CHECK_EQ_STR(r.os, "iOS");
    CHECK_EQ_STR(r.country, "USA");
    CHECK_EQ_INT(r.n_bcat, 5);
    CHECK_EQ_STR(r.bcat[1], "IAB7-39");
    CHECK_EQ_INT(r.n_badv, 3);
    CHECK_EQ_STR(r.badv[0], "apple.com");
    CHECK(!r.blocks_truncated);
    CHECK_EQ_INT(r.imp[0].pos, 1);
    CHECK_EQ_STR(r.imp[1].id, "2");
    inf_req_fini(&r);

    CHECK_EQ_INT(parse_fixture("2.5/video.json", &r, &why), 0);
    CHECK_EQ_INT(r.tmax_ms, 120);
    const inf_imp *im = &r.imp[0];
    CHECK_EQ_INT(im->formats, INF_FMT_VIDEO);
    CHECK_EQ_INT(im->video.w, 640);
    CHECK_EQ_INT(im->video.h, 480);
    CHECK_EQ_INT(im->video.minduration, 5);
    CHECK_EQ_INT(im->video.maxduration, 30);
    CHECK_EQ_INT(im->video.protocols, (1u << 2) | (1u << 3));
    CHECK_EQ_INT(im->video.n_mimes, 4);
    CHECK_EQ_STR(im->video.mimes[1], "video/mp4");
    CHECK_EQ_INT(im->pos, 1);
    CHECK(im->battr[INF_FMT_VIDEO] == ((1u << 13) | (1u << 14)));
    inf_req_fini(&r);

    CHECK_EQ_INT(parse_fixture("2.6/pmp-with-direct-deal.json", &r, &why), 0);
    im = &r.imp[0];
    CHECK(im->private_auction);
    CHECK_EQ_INT(im->n_deals, 2);
    CHECK_EQ_STR(im->deals[0].id, "AB-Agency1-0001");
    CHECK_EQ_INT(im->deals[0].floor_cpm_micros, 2500000);
    CHECK(im->deals[0].usable);
    CHECK_EQ_INT(im->deals[0].n_wseat, 1);
    CHECK_EQ_STR(im->deals[0].wseat[0], "Agency1");
    CHECK_EQ_INT(im->deals[1].floor_cpm_micros, 2000000);
    inf_req_fini(&r);
    return 0;
}

typedef struct bad_case {
    const char *body;
    const char *reason; /* expected substring */
} bad_case;

#define SITE ",\"site\":{\"domain\":\"a.com\"}"
#define IMP1 "\"imp\":[{\"id\":\"1\",\"banner\":{\"w\":300,\"h\":250}}]"

static const bad_case bad[] = {
    {"", "body: empty"},
    {"nope", "body: invalid JSON"},
    {"{\"id\":\"a\",", "body: invalid JSON"},
    {"[]", "body: not a JSON object"},
    {"\"id\"", "body: not a JSON object"},
    {"{" IMP1 SITE "}", "id: missing"},
    {"{\"id\":5," IMP1 SITE "}", "id: not a string"},
    {"{\"id\":null," IMP1 SITE "}", "id: missing"},
    {"{\"id\":\"\"," IMP1 SITE "}", "id: empty"},
    {"{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123X\"," IMP1 SITE "}",
     "id: longer than 64 bytes"},
    {"{\"id\":\"a\\u0001b\"," IMP1 SITE "}", "id: control character or invalid UTF-8"},
    {"{\"id\":\"a\xb4\xb4\"," IMP1 SITE "}", "id: control character or invalid UTF-8"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"\xc0\xaf\"}]" SITE "}",
     "imp[0].id: control character or invalid UTF-8"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\\n\"}]" SITE "}",
     "imp[0].id: control character or invalid UTF-8"},
    {"{\"id\":\"a\"" SITE "}", "imp: missing"},
    {"{\"id\":\"a\",\"imp\":{}" SITE "}", "imp: not an array"},
    {"{\"id\":\"a\",\"imp\":[]" SITE "}", "imp: empty"},
    {"{\"id\":\"a\",\"imp\":[1]" SITE "}", "imp[0]: not an object"},
    {"{\"id\":\"a\",\"imp\":[{\"banner\":{}}]" SITE "}", "imp[0].id: missing"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":1}]" SITE "}", "imp[0].id: not a string"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"1\"}]" SITE "}",
     "imp[2].id: duplicate of imp[0].id"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"bidfloor\":\"1\"}]" SITE "}",
     "imp[0].bidfloor: not a number"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"bidfloor\":-0.5}]" SITE "}",
     "imp[0].bidfloor: negative"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"bidfloorcur\":1}]" SITE "}",
     "imp[0].bidfloorcur: not a string"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":5}]" SITE "}",
     "imp[0].banner: not an object"},
    {"{\"id\":\"a\"," IMP1 SITE ",\"app\":{\"bundle\":\"b\"}}", "site and app: both present"},
    {"{\"id\":\"a\"," IMP1 "}", "site, app or dooh: none present"},
    {"{\"id\":\"a\"," IMP1 SITE ",\"dooh\":{}}", "site and dooh: both present"},
    {"{\"id\":\"a\"," IMP1 ",\"app\":{},\"dooh\":{}}", "app and dooh: both present"},
    {"{\"id\":\"a\"," IMP1 ",\"site\":\"x\"}", "site: not an object"},
    {"{\"id\":\"a\"," IMP1 ",\"app\":[]}", "app: not an object"},
    {"{\"id\":\"a\"," IMP1 SITE ",\"cur\":\"USD\"}", "cur: not an array"},
    {"{\"id\":\"a\"," IMP1 SITE ",\"tmax\":\"100\"}", "tmax: not a number"},
    {"{\"id\":\"a\"," IMP1 SITE "} {}", "body: trailing data"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"video\":[]}]" SITE "}", "imp[0].video: not an object"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"native\":\"x\"}]" SITE "}",
     "imp[0].native: not an object"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"audio\":1}]" SITE "}", "imp[0].audio: not an object"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"pmp\":[]}]" SITE "}", "imp[0].pmp: not an object"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"pmp\":{\"deals\":{}}}]" SITE "}",
     "imp[0].pmp.deals: not an array"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"pmp\":{\"deals\":[{\"bidfloor\":1}]}}]" SITE "}",
     "imp[0].pmp.deals[0].id: missing"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"pmp\":{\"deals\":[{\"id\":\"d\",\"bidfloor\":\"2\"}]}}"
     "]" SITE "}",
     "imp[0].pmp.deals[0].bidfloor: not a number"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"pmp\":{\"deals\":[{\"id\":\"d\",\"bidfloor\":-1}]}}"
     "]" SITE "}",
     "imp[0].pmp.deals[0].bidfloor: negative"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"pmp\":{\"deals\":[{\"id\":\"d\",\"bidfloorcur\":[]}]}}"
     "]" SITE "}",
     "imp[0].pmp.deals[0].bidfloorcur: not a string"},
    {NULL, NULL},
};

static int test_malformed(void) {
    static inf_req r;
    for (const bad_case *c = bad; c->body; c++) {
        beat_reason why = {{0}};
        int rc = inf_req_parse(c->body, strlen(c->body), &r, &why);
        if (rc != -EBADMSG || !strstr(why.msg, c->reason))
            fprintf(stderr, "  body %s: rc=%d reason \"%s\", want \"%s\"\n", c->body, rc, why.msg,
                    c->reason);
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK(strstr(why.msg, c->reason) != NULL);
        CHECK(strchr(why.msg, '\n') == NULL);
        CHECK(r.mem == NULL);
        inf_req_fini(&r); /* safe after a failure */
    }
    return 0;
}

static int test_edge_cases(void) {
    static inf_req r;
    beat_reason why = {{0}};
    /* cur without USD parses (→ 204 later); bidfloorcur EUR skips the imp;
     * format sizes are kept in order after w/h; trailing whitespace is fine;
     * dooh is a channel; wrong-typed optional fields are ignored. */
    const char *ok =
        "{\"id\":\"a\",\"cur\":[\"EUR\"],\"imp\":["
        "{\"id\":\"1\",\"bidfloor\":1.5,\"bidfloorcur\":\"EUR\",\"banner\":{\"w\":300,\"h\":250}},"
        "{\"id\":\"2\",\"banner\":{\"format\":[{\"w\":728,\"h\":90},{\"w\":320,\"h\":50},"
        "{\"w\":728,\"h\":90}],\"pos\":\"x\"}}],"
        "\"dooh\":{\"id\":\"d\"},\"device\":{\"devicetype\":\"x\",\"geo\":5},\"user\":[]}\n\t ";
    CHECK_EQ_INT(inf_req_parse(ok, strlen(ok), &r, &why), 0);
    CHECK(!r.cur_ok);
    CHECK_EQ_INT(r.chan, INF_CHAN_DOOH);
    CHECK_EQ_INT(r.imp[0].skip, INF_IMP_CURRENCY);
    CHECK_EQ_INT(r.imp[0].floor_cpm_micros, 1500000);
    CHECK_EQ_INT(r.imp[1].skip, INF_IMP_OK);
    CHECK_EQ_INT(r.imp[1].n_sizes, 2);
    CHECK_EQ_INT(r.imp[1].sizes[0].w, 728);
    CHECK_EQ_INT(r.imp[1].sizes[1].h, 50);
    CHECK_EQ_INT(r.imp[1].pos, -1);
    CHECK_EQ_INT(r.devicetype, -1);
    CHECK(r.user_id == NULL && r.country == NULL);
    inf_req_fini(&r);

    /* More imps than examined: the rest are counted, not parsed. */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"id\":\"a\",\"site\":{},\"imp\":[");
    for (int i = 0; i < INF_IMP_MAX + 8; i++)
        n += (size_t)snprintf(big + n, sizeof big - n,
                              "%s{\"id\":\"i%d\",\"banner\":{\"w\":1,\"h\":1}}", i ? "," : "", i);
    n += (size_t)snprintf(big + n, sizeof big - n, "]}");
    CHECK(n < sizeof big);
    CHECK_EQ_INT(inf_req_parse(big, n, &r, &why), 0);
    CHECK_EQ_INT(r.n_imp, INF_IMP_MAX);
    CHECK_EQ_INT(r.n_imp_total, INF_IMP_MAX + 8);
    inf_req_fini(&r);

    /* A block list longer than we keep is flagged (the bidder then passes). */
    static char huge[16384];
    n = (size_t)snprintf(huge, sizeof huge, "{\"id\":\"a\",\"site\":{}," IMP1 ",\"badv\":[");
    for (int i = 0; i < INF_BLOCK_MAX + 1; i++)
        n += (size_t)snprintf(huge + n, sizeof huge - n, "%s\"d%d.com\"", i ? "," : "", i);
    n += (size_t)snprintf(huge + n, sizeof huge - n, "]}");
    CHECK(n < sizeof huge);
    CHECK_EQ_INT(inf_req_parse(huge, n, &r, &why), 0);
    CHECK(r.blocks_truncated);
    CHECK_EQ_INT(r.n_badv, INF_BLOCK_MAX);
    inf_req_fini(&r);

    /* A native request with more assets than we keep is unusable (its
     * required ones could not all be checked); at the cap it is fine. */
    for (int extra = 0; extra <= 1; extra++) {
        n = (size_t)snprintf(huge, sizeof huge,
                             "{\"id\":\"a\",\"site\":{},\"imp\":[{\"id\":\"1\","
                             "\"native\":{\"request\":{\"assets\":[");
        for (int i = 0; i < INF_ASSETS_MAX + extra; i++)
            n += (size_t)snprintf(huge + n, sizeof huge - n, "%s{\"id\":%d,\"title\":{\"len\":9}}",
                                  i ? "," : "", i);
        n += (size_t)snprintf(huge + n, sizeof huge - n, "]}}}]}");
        CHECK_EQ_INT(inf_req_parse(huge, n, &r, &why), 0);
        CHECK_EQ_INT(r.imp[0].skip, extra ? INF_IMP_NATIVE_REQ : INF_IMP_OK);
        inf_req_fini(&r);
    }

    /* Not NUL-terminated input: the length is the bound. */
    const char *two = "{\"id\":\"a\",\"site\":{}," IMP1 "}GARBAGE";
    CHECK_EQ_INT(inf_req_parse(two, strlen(two) - 7, &r, &why), 0);
    inf_req_fini(&r);
    return 0;
}

/* Native 1.2 requests as a string (wrapped or not) and as an object; audio
 * only; video without mimes; deals in another currency; seats and bapp. */
static int test_formats(void) {
    static inf_req r;
    beat_reason why = {{0}};
    const char *req =
        "{\"id\":\"a\",\"site\":{},\"bapp\":[\"com.x\"],\"wseat\":[\"s1\",\"s2\"],"
        "\"bseat\":[\"s3\"],\"imp\":["
        "{\"id\":\"1\",\"native\":{\"ver\":\"1.2\",\"battr\":[3],\"request\":"
        "\"{\\\"ver\\\":\\\"1.2\\\",\\\"assets\\\":[{\\\"id\\\":7,\\\"required\\\":1,"
        "\\\"title\\\":{\\\"len\\\":90}},{\\\"id\\\":8,\\\"img\\\":{\\\"type\\\":3,"
        "\\\"wmin\\\":600,\\\"hmin\\\":300}},{\\\"id\\\":9,\\\"data\\\":{\\\"type\\\":1,"
        "\\\"len\\\":25}},{\\\"id\\\":10,\\\"video\\\":{}}]}\"}},"
        "{\"id\":\"2\",\"native\":{\"request\":{\"native\":{\"assets\":[{\"id\":1,"
        "\"required\":1,\"img\":{\"type\":1,\"w\":50,\"h\":50}}]}}}},"
        "{\"id\":\"3\",\"native\":{\"request\":\"{\\\"assets\\\":[ ... ]}\"}},"
        "{\"id\":\"4\",\"audio\":{\"mimes\":[\"audio/mp4\"]}},"
        "{\"id\":\"5\",\"video\":{\"w\":640,\"h\":360,\"protocol\":3,\"rqddurs\":[15,30]}},"
        "{\"id\":\"6\",\"video\":{\"mimes\":[\"video/mp4\"]},\"banner\":{\"w\":0,\"h\":0},"
        "\"pmp\":{\"private_auction\":1,\"deals\":[{\"id\":\"d1\",\"bidfloor\":2,"
        "\"bidfloorcur\":\"XXX\"}]}},"
        "{\"id\":\"7\",\"banner\":{\"w\":300,\"h\":250},\"pmp\":{\"private_auction\":1,"
        "\"deals\":[{\"id\":\"d2\",\"bidfloor\":2,\"bidfloorcur\":\"EUR\"}]}},"
        "{\"id\":\"8\"}]}";
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1.5", &why), 0);
    int rc = inf_req_parse(req, strlen(req), &r, &why);
    if (rc) fprintf(stderr, "  %s\n", why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(r.n_imp, 8);
    const inf_imp *im = &r.imp[0];
    CHECK_EQ_INT(im->skip, INF_IMP_OK);
    CHECK_EQ_INT(im->formats, INF_FMT_NATIVE);
    CHECK(!im->native.wrapped);
    CHECK_EQ_INT(im->native.n_assets, 4);
    CHECK_EQ_INT(im->native.assets[0].id, 7);
    CHECK(im->native.assets[0].required);
    CHECK_EQ_INT(im->native.assets[0].kind, INF_ASSET_TITLE);
    CHECK_EQ_INT(im->native.assets[0].len, 90);
    CHECK_EQ_INT(im->native.assets[1].kind, INF_ASSET_IMG);
    CHECK_EQ_INT(im->native.assets[1].type, 3);
    CHECK_EQ_INT(im->native.assets[1].wmin, 600);
    CHECK_EQ_INT(im->native.assets[2].kind, INF_ASSET_DATA);
    CHECK_EQ_INT(im->native.assets[2].len, 25);
    CHECK_EQ_INT(im->native.assets[3].kind, INF_ASSET_OTHER);
    CHECK(im->battr[INF_FMT_NATIVE] == (1u << 3));
    im = &r.imp[1];
    CHECK_EQ_INT(im->skip, INF_IMP_OK);
    CHECK(im->native.wrapped);
    CHECK_EQ_INT(im->native.assets[0].type, 1);
    CHECK_EQ_INT(im->native.assets[0].w, 50);
    CHECK_EQ_INT(r.imp[2].skip, INF_IMP_NATIVE_REQ);
    CHECK_EQ_INT(r.imp[3].skip, INF_IMP_AUDIO);
    CHECK_EQ_INT(r.imp[4].skip, INF_IMP_VIDEO_MIMES);
    CHECK_EQ_INT(r.imp[4].video.protocols, 1u << 3);
    CHECK_EQ_INT(r.imp[4].video.n_rqddurs, 2);
    CHECK_EQ_INT(r.imp[4].video.rqddurs[1], 30);
    CHECK_EQ_INT(r.imp[5].skip, INF_IMP_PRIVATE); /* the only deal: unknown currency */
    CHECK_EQ_INT(r.imp[5].formats, INF_FMT_VIDEO);
    CHECK(!r.imp[5].deals[0].usable);
    CHECK_EQ_INT(r.imp[6].skip, INF_IMP_OK);
    CHECK_EQ_INT(r.imp[6].deals[0].floor_cpm_micros, 3000000); /* 2 EUR at 1.5 */
    CHECK_EQ_INT(r.imp[7].skip, INF_IMP_NO_FORMAT);
    CHECK_EQ_STR(inf_imp_skip_name(r.imp[2].skip), "native_request");
    CHECK_EQ_INT(r.n_bapp, 1);
    CHECK(inf_req_seat_ok(&r, "s1"));
    CHECK(!inf_req_seat_ok(&r, "beat"));
    CHECK(!inf_req_seat_ok(&r, "s3"));
    inf_req_fini(&r);
    CHECK(r.mem == NULL);
    CHECK_EQ_INT(inf_openrtb_rates_set(NULL, &why), 0);

    /* banner + video in one imp: both formats, banner.pos else video.pos */
    const char *multi =
        "{\"id\":\"a\",\"site\":{},\"imp\":[{\"id\":\"1\","
        "\"banner\":{\"w\":300,\"h\":250},\"video\":{\"mimes\":[\"v/m\"],\"pos\":3}},"
        "{\"id\":\"2\",\"banner\":{\"w\":1,\"h\":1,\"pos\":7},\"video\":{\"mimes\":[\"v/m\"],"
        "\"pos\":3}}]}";
    CHECK_EQ_INT(inf_req_parse(multi, strlen(multi), &r, &why), 0);
    CHECK_EQ_INT(r.imp[0].formats, INF_FMT_BANNER | INF_FMT_VIDEO);
    CHECK_EQ_INT(r.imp[0].pos, 3);
    CHECK_EQ_INT(r.imp[1].pos, 7);
    inf_req_fini(&r);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"fixtures", test_fixtures},   {"fixture_fields", test_fixture_fields},
        {"malformed", test_malformed}, {"edge_cases", test_edge_cases},
        {"formats", test_formats},     {NULL, NULL},
    };
    return beat_test_main("openrtb", cases, argc, argv);
}
