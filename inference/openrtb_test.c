/* OpenRTB parsing: every shared fixture parses into the expected compact
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
    snprintf(rel, sizeof rel, "../shared/openrtb/bid-request/%s", name);
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
    int w0, h0;              /* imp[0] primary size, 0 if none */
    int64_t floor0;
} fixture;

/* Why each skip is right: native/video imps have no banner (later issue);
 * the mobile interstitial has w=h=0 and no format; the pmp imp is a private
 * auction (deal bids only) and we have no deal support yet. */
static const fixture fixtures[] = {
    {"2.5/simple-banner.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.5/expandable-creative.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.5/mobile.json", 2, INF_IMP_OK, INF_IMP_NO_SIZE, INF_CHAN_APP, 728, 90, 500000},
    {"2.5/native-ad.json", 1, INF_IMP_NO_BANNER, 0, INF_CHAN_SITE, 0, 0, 30000},
    {"2.5/pmp-with-direct-deal.json", 1, INF_IMP_PRIVATE, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.5/video.json", 1, INF_IMP_NO_BANNER, 0, INF_CHAN_SITE, 0, 0, 30000},
    {"2.6/simple-banner.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.6/expandable-creative.json", 1, INF_IMP_OK, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.6/mobile.json", 1, INF_IMP_OK, 0, INF_CHAN_APP, 728, 90, 500000},
    {"2.6/pmp-with-direct-deal.json", 1, INF_IMP_PRIVATE, 0, INF_CHAN_SITE, 300, 250, 30000},
    {"2.6/video.json", 1, INF_IMP_NO_BANNER, 0, INF_CHAN_SITE, 0, 0, 30000},
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
    {"{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123X\","
     IMP1 SITE "}", "id: longer than 64 bytes"},
    {"{\"id\":\"a\\u0001b\"," IMP1 SITE "}", "id: control character"},
    {"{\"id\":\"a\xb4\xb4\"," IMP1 SITE "}", "id: not valid UTF-8"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"\xc0\xaf\"}]" SITE "}", "imp[0].id: not valid UTF-8"},
    {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\\n\"}]" SITE "}", "imp[0].id: control character"},
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
    {NULL, NULL},
};

static int test_malformed(void) {
    static inf_req r;
    for (const bad_case *c = bad; c->body; c++) {
        beat_reason why = {{0}};
        int rc = inf_req_parse(c->body, strlen(c->body), &r, &why);
        if (rc != -EBADMSG || !strstr(why.msg, c->reason))
            fprintf(stderr, "  body %s: rc=%d reason \"%s\", want \"%s\"\n", c->body,
                    rc, why.msg, c->reason);
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK(strstr(why.msg, c->reason) != NULL);
        CHECK(strchr(why.msg, '\n') == NULL);
        CHECK(r.tree == NULL);
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
        n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"id\":\"i%d\",\"banner\":{\"w\":1,\"h\":1}}",
                              i ? "," : "", i);
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

    /* Not NUL-terminated input: the length is the bound. */
    const char *two = "{\"id\":\"a\",\"site\":{}," IMP1 "}GARBAGE";
    CHECK_EQ_INT(inf_req_parse(two, strlen(two) - 7, &r, &why), 0);
    inf_req_fini(&r);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"fixtures", test_fixtures},
        {"fixture_fields", test_fixture_fields},
        {"malformed", test_malformed},
        {"edge_cases", test_edge_cases},
        {NULL, NULL},
    };
    return beat_test_main("openrtb", cases, argc, argv);
}
