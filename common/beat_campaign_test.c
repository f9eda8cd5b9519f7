/* Unit tests for beat_campaign.c: the example file decodes with flight_s
 * resolved, sets (every creative format included) and snapshots
 * round-trip exactly. Refusals field by field: beat_campaign_fields_test.c.
 * Run from the repo root. */
#include "beat_campaign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign_testlib.h"
#include "beat_test.h"

static int t_example_file(void) {
    size_t len;
    char *json = beat_test_read_file("docs/examples/campaigns.json", &len);
    CHECK(json != NULL);
    beat_campaign_set s;
    beat_reason why = {{0}};
    int rc = beat_campaigns_decode(json, len, NOW, BEAT_CAMPAIGNS_STRICT, &s, &why);
    if (rc) fprintf(stderr, "  reason: %s\n", why.msg);
    CHECK_EQ_INT(rc, 0);
    free(json);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_INT(s.version, 0);
    for (int i = 0; i < s.n; i++) {
        CHECK_EQ_INT(s.c[i].start_ms, NOW);
        CHECK_EQ_INT(s.c[i].end_ms, NOW + 3600 * 1000);
        CHECK(s.c[i].n_creatives >= 2);
        CHECK(strstr(s.c[i].creatives[0].adm, "${CLICK_URL}"));
        CHECK_EQ_INT(s.c[i].budget_micros, 50000000);
    }
    const beat_campaign *c = beat_campaigns_find(&s, "globex-travel");
    CHECK(c != NULL);
    CHECK_EQ_INT(c->countries.n, 3);
    CHECK_EQ_STR(c->countries.v[2], "DEU");
    CHECK_EQ_STR(c->advertiser, "Globex Travel");
    CHECK_EQ_STR(c->domains_block.v[0], "blocked.example");
    c = beat_campaigns_find(&s, "initech-apps");
    CHECK(c && c->freq_cap_max == 20 && c->freq_cap_window_s == 3600);
    c = beat_campaigns_find(&s, "umbrella-news");
    CHECK(c && c->n_creatives == 3 && c->creatives[1].w == 160 && c->creatives[1].h == 600);
    CHECK(beat_campaigns_find(&s, "nope") == NULL);

    /* encode writes absolute times, so a stored set never moves */
    beat_buf b, b2;
    beat_buf_init(&b, 1 << 20);
    beat_buf_init(&b2, 1 << 20);
    s.version = 7;
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strstr(b.data, "\"version\":7"));
    CHECK(!strstr(b.data, "flight_s"));
    beat_campaign_set back;
    CHECK_EQ_INT(
        beat_campaigns_decode(b.data, b.len, NOW + 999999, BEAT_CAMPAIGNS_STRICT, &back, &why), 0);
    CHECK(set_eq(&s, &back));
    CHECK_EQ_INT(beat_campaigns_encode(&back, &b2), 0);
    CHECK_EQ_STR(b.data, b2.data);
    beat_campaigns_fini(&back);
    beat_campaigns_fini(&s);
    CHECK(s.c == NULL && s.n == 0);
    beat_buf_fini(&b);
    beat_buf_fini(&b2);
    return 0;
}

static const char *full_json =
    "{\"v\":1,\"version\":3,\"campaigns\":[{\"id\":\"c.1:x_y-z\",\"advertiser\":\"Acmé \\\"Q\\\"\","
    "\"adomain\":[\"a.com\",\"b.com\"],\"cat\":[\"IAB1\"],\"start_ms\":1000,\"end_ms\":"
    "9007199254740992,"
    "\"budget_micros\":9007199254740992,\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,"
    "\"paused\":true,"
    "\"targeting\":{\"countries\":[\"USA\"],\"device_types\":[1,2,4],\"os\":[\"ios\",\"android\"],"
    "\"site_cat\":[\"IAB2\"],\"domains_allow\":[\"x.com\"],\"domains_block\":[\"y.com\"],"
    "\"bundles_allow\":[\"com.a\"],\"bundles_block\":[\"com.b\"]},"
    "\"creatives\":[{\"crid\":\"cr1\",\"w\":300,\"h\":250,\"adm\":\"<a "
    "href=\\\"${CLICK_URL}\\\">\\n\\t\\u00e9</a>\"},"
    "{\"crid\":\"cr2\",\"w\":1,\"h\":65535,\"adm\":\"x\",\"landing\":\"https://l/\"}],"
    "\"freq_cap\":{\"max\":5,\"window_s\":3600}},"
    "{\"id\":\"c2\",\"start_ms\":0,\"end_ms\":1,\"budget_micros\":5,\"base_bid_cpm_micros\":2,"
    "\"max_bid_cpm_micros\":3,\"creatives\":[{\"crid\":\"k\",\"w\":1,\"h\":1,\"adm\":\"a\"}]}]}";

static int t_roundtrip_full(void) {
    beat_campaign_set s, back;
    beat_reason why = {{0}};
    int rc =
        beat_campaigns_decode(full_json, strlen(full_json), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why);
    if (rc) fprintf(stderr, "  reason: %s\n", why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.version, 3);
    CHECK_EQ_INT(s.n, 2);
    const beat_campaign *c = &s.c[0];
    CHECK_EQ_STR(c->advertiser, "Acmé \"Q\"");
    CHECK_EQ_INT(c->n_device_types, 3);
    CHECK_EQ_INT(c->device_types[2], 4);
    CHECK(c->paused);
    CHECK_EQ_STR(c->creatives[0].adm, "<a href=\"${CLICK_URL}\">\n\t\xc3\xa9</a>");
    CHECK_EQ_STR(c->creatives[0].landing, "");
    CHECK_EQ_STR(c->creatives[1].landing, "https://l/");
    CHECK_EQ_INT(c->end_ms, 9007199254740992);
    CHECK_EQ_STR(s.c[1].advertiser, "");
    CHECK_EQ_INT(s.c[1].freq_cap_max, 0);
    CHECK_EQ_INT(s.c[1].countries.n, 0);

    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why), 0);
    CHECK(set_eq(&s, &back));
    beat_campaigns_fini(&back);
    /* version 0 is not written, and reads back as 0 */
    s.version = 0;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(!strstr(b.data, "\"version\""));
    CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why), 0);
    CHECK(set_eq(&s, &back));
    beat_campaigns_fini(&back);
    /* an empty set is valid */
    const char *empty = "{\"v\":1,\"campaigns\":[]}";
    CHECK_EQ_INT(
        beat_campaigns_decode(empty, strlen(empty), NOW, BEAT_CAMPAIGNS_STRICT, &back, &why), 0);
    CHECK_EQ_INT(back.n, 0);
    beat_campaigns_fini(&back);
    /* encode failure leaves the buffer as it was */
    beat_buf small;
    beat_buf_init(&small, 100);
    beat_buf_puts(&small, "keep");
    CHECK_EQ_INT(beat_campaigns_encode(&s, &small), -EMSGSIZE);
    CHECK_EQ_STR(small.data, "keep");
    beat_buf_fini(&small);
    beat_campaigns_fini(&s);
    beat_buf_fini(&b);
    return 0;
}

/* Video and native creatives, deals, seat and bundle: the test campaigns
 * file decodes, round-trips exactly, and each bad field is named. */
static int t_formats(void) {
    size_t len;
    char *json = beat_test_read_file("inference/testdata/campaigns-formats.json", &len);
    CHECK(json != NULL);
    beat_campaign_set s, back;
    beat_reason why = {{0}};
    int rc = beat_campaigns_decode(json, len, NOW, BEAT_CAMPAIGNS_STRICT, &s, &why);
    if (rc) fprintf(stderr, "  reason: %s\n", why.msg);
    CHECK_EQ_INT(rc, 0);
    free(json);
    const beat_campaign *c = beat_campaigns_find(&s, "ortb-video");
    CHECK(c != NULL);
    const beat_creative *v = &c->creatives[0];
    CHECK_EQ_INT(v->format, BEAT_FMT_VIDEO);
    CHECK_EQ_INT(v->duration_s, 15);
    CHECK_EQ_INT(v->mimes.n, 1);
    CHECK_EQ_STR(v->mimes.v[0], "video/mp4");
    CHECK_EQ_INT(v->protocols, (1u << 2) | (1u << 3) | (1u << 5) | (1u << 6));
    CHECK(v->w == 0 && v->h == 0);
    CHECK(c->creatives[1].w == 1280);
    CHECK_EQ_STR(c->seat, "beat");
    c = beat_campaigns_find(&s, "ortb-native");
    const beat_creative *n = &c->creatives[0];
    CHECK_EQ_INT(n->format, BEAT_FMT_NATIVE);
    CHECK(n->adm == NULL);
    CHECK_EQ_STR(n->title, "Weekend in \"Lisbon\" from $199");
    CHECK(n->img.w == 1200 && n->img.h == 627 && n->icon.w == 50);
    CHECK_EQ_STR(n->sponsored, "Ortb Travel");
    CHECK_EQ_STR(n->cta, "Book now");
    c = beat_campaigns_find(&s, "ortb-deal");
    CHECK_EQ_STR(c->seat, "Agency1");
    CHECK_EQ_INT(c->deals.n, 2);
    CHECK_EQ_STR(c->deals.v[0], "AB-Agency1-0001");
    c = beat_campaigns_find(&s, "ortb-banner");
    CHECK_EQ_INT(c->creatives[0].format, BEAT_FMT_BANNER);
    CHECK(c->creatives[0].attr == (1u << 1));

    beat_buf b, b2;
    beat_buf_init(&b, 1 << 20);
    beat_buf_init(&b2, 1 << 20);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    rc = beat_campaigns_decode(b.data, b.len, NOW + 5, BEAT_CAMPAIGNS_STRICT, &back, &why);
    if (rc) fprintf(stderr, "  reason: %s\n", why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK(set_eq(&s, &back));
    CHECK_EQ_INT(beat_campaigns_encode(&back, &b2), 0);
    CHECK_EQ_STR(b.data, b2.data);
    beat_campaigns_fini(&back);
    beat_campaigns_fini(&s);
    beat_buf_fini(&b);
    beat_buf_fini(&b2);

    static const struct {
        const char *extra, *creative, *reason;
    } bad[] = {
        {"", "{\"crid\":\"v\",\"format\":\"audio\",\"adm\":\"x\"}", "creatives[0].format: must be"},
        {"", "{\"crid\":\"v\",\"format\":\"video\",\"duration\":5,\"protocols\":[2],\"adm\":\"x\"}",
         "creatives[0].mimes: missing"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[],\"duration\":5,\"protocols\":[2],"
         "\"adm\":\"x\"}",
         "creatives[0].mimes: needs 1 to 16"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[\"video/"
         "mp4\"],\"protocols\":[2],\"adm\":\"x\"}",
         "creatives[0].duration: missing"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[\"video/"
         "mp4\"],\"duration\":0,\"protocols\":[2],\"adm\":\"x\"}",
         "creatives[0].duration: must be > 0"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[\"video/"
         "mp4\"],\"duration\":5,\"protocols\":[13],\"adm\":\"x\"}",
         "creatives[0].protocols[0]: must be <= 12"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[\"video/"
         "mp4\"],\"duration\":5,\"protocols\":[],\"adm\":\"x\"}",
         "creatives[0].protocols: must not be empty"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[\"video/"
         "mp4\"],\"duration\":5,\"protocols\":[2],\"adm\":\"x\",\"w\":5}",
         "creatives[0].h: give both w and h"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[\"video/"
         "mp4\"],\"duration\":5,\"protocols\":[2]}",
         "creatives[0].adm: missing"},
        {"",
         "{\"crid\":\"v\",\"format\":\"video\",\"mimes\":[\"video/"
         "mp4\"],\"duration\":5,\"protocols\":[2],\"adm\":\"x\",\"title\":\"t\"}",
         "creatives[0].title: only for native"},
        {"", "{\"crid\":\"n\",\"format\":\"native\",\"img\":{\"url\":\"u\",\"w\":1,\"h\":1}}",
         "creatives[0].title: missing"},
        {"", "{\"crid\":\"n\",\"format\":\"native\",\"title\":\"t\"}", "creatives[0].img: missing"},
        {"",
         "{\"crid\":\"n\",\"format\":\"native\",\"title\":\"t\",\"img\":{\"url\":\"u\",\"w\":0,"
         "\"h\":1}}",
         "creatives[0].img.w: must be > 0"},
        {"", "{\"crid\":\"n\",\"format\":\"native\",\"title\":\"t\",\"icon\":{\"w\":1,\"h\":1}}",
         "creatives[0].icon.url: missing"},
        {"",
         "{\"crid\":\"n\",\"format\":\"native\",\"title\":\"t\",\"icon\":{\"url\":\"u\",\"w\":1,"
         "\"h\":1,\"x\":1}}",
         "creatives[0].icon.x: unknown field"},
        {"",
         "{\"crid\":\"n\",\"format\":\"native\",\"title\":\"\",\"icon\":{\"url\":\"u\",\"w\":1,"
         "\"h\":1}}",
         "creatives[0].title: must not be empty"},
        {"",
         "{\"crid\":\"n\",\"format\":\"native\",\"title\":\"t\",\"icon\":{\"url\":\"u\",\"w\":1,"
         "\"h\":1},\"duration\":5}",
         "creatives[0].duration: only for video"},
        {"", "{\"crid\":\"b\",\"w\":1,\"h\":1,\"adm\":\"x\",\"mimes\":[\"video/mp4\"]}",
         "creatives[0].mimes: not for banner"},
        {"", "{\"crid\":\"b\",\"w\":1,\"h\":1,\"adm\":\"x\",\"attr\":[64]}",
         "creatives[0].attr[0]: must be <= 63"},
        {"", "{\"crid\":\"b\",\"w\":1,\"h\":1,\"adm\":\"x\",\"attr\":3}",
         "creatives[0].attr: must be an array"},
        {",\"seat\":\"a b\"", NULL, "campaigns[0].seat: must match"},
        {",\"deals\":[\"\"]", NULL, "campaigns[0].deals[0]: must not be empty"},
        {",\"deals\":\"d\"", NULL, "campaigns[0].deals: must be an array"},
        {",\"bundle\":7", NULL, "campaigns[0].bundle: must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[2048];
        snprintf(buf, sizeof buf,
                 "{\"v\":1,\"campaigns\":[{\"id\":\"c\",\"flight_s\":60,\"budget_micros\":1,"
                 "\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1%s,\"creatives\":[%s]}]}",
                 bad[i].extra,
                 bad[i].creative ? bad[i].creative
                                 : "{\"crid\":\"b\",\"w\":1,\"h\":1,\"adm\":\"x\"}");
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        if (refused(buf, bad[i].reason, what)) return 1;
    }
    return 0;
}

static int t_snapshot(void) {
    beat_campaign_set cs, cs2;
    beat_state st, st2;
    beat_reason why = {{0}};
    CHECK_EQ_INT(
        beat_campaigns_decode(full_json, strlen(full_json), NOW, BEAT_CAMPAIGNS_STRICT, &cs, &why),
        0);
    cs.version = 11;
    const char *sj =
        "{\"v\":1,\"actuator\":\"act\",\"ts\":5,\"version\":4,"
        "\"campaigns\":{\"c2\":{\"multiplier\":0.5,\"paused\":true}},\"private\":{\"k\":1}}";
    CHECK_EQ_INT(beat_state_decode(sj, strlen(sj), 100, &st, &why), 0);
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(beat_snapshot_encode(&cs, &st, NULL, &b), 0);
    CHECK(b.data[0] == BEAT_FRAME_SNAPSHOT);
    CHECK(!strstr(b.data, "private")); /* inference never sees it */
    int rc = beat_snapshot_decode(b.data, b.len, &cs2, &st2, NULL, &why);
    if (rc) fprintf(stderr, "  reason: %s\n", why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK(set_eq(&cs, &cs2));
    CHECK_EQ_INT(st2.version, 4);
    CHECK_EQ_STR(st2.actuator, "act");
    CHECK(st2.n == 1 && st2.c[0].multiplier == 0.5 && st2.c[0].paused);
    CHECK(st2.private_json == NULL);
    beat_campaigns_fini(&cs2);
    beat_state_fini(&st2);

    /* no state yet; exchanges travel with their keys' hashes only */
    beat_buf_reset(&b);
    const char *xj = "{\"v\":1,\"exchanges\":[{\"id\":\"x1\",\"key\":\"0123456789abcdef-k\","
                     "\"qps\":7}]}";
    beat_exchange_set xs, xs2;
    CHECK_EQ_INT(beat_exchanges_decode(xj, strlen(xj), BEAT_EXCHANGES_STRICT, &xs, &why), 0);
    xs.version = 6;
    CHECK_EQ_INT(beat_snapshot_encode(&cs, NULL, &xs, &b), 0);
    CHECK(strstr(b.data, "\"state\":null"));
    CHECK(!strstr(b.data, "0123456789abcdef-k") && strstr(b.data, "\"exchanges_version\":6"));
    CHECK_EQ_INT(beat_snapshot_decode(b.data, b.len, &cs2, &st2, &xs2, &why), 0);
    CHECK(set_eq(&cs, &cs2));
    CHECK(xs2.version == 6 && xs2.n == 1 && xs2.x[0].qps == 7 && xs2.x[0].has_key);
    CHECK(memcmp(xs.x[0].key_sha256, xs2.x[0].key_sha256, 32) == 0);
    beat_exchanges_fini(&xs);
    beat_exchanges_fini(&xs2);
    CHECK(st2.n == 0 && st2.version == 0 && st2.c == NULL);
    beat_campaigns_fini(&cs2);
    beat_state_fini(&st2);

    /* refusals */
    CHECK_EQ_INT(beat_snapshot_decode("", 0, &cs2, &st2, NULL, &why), -EBADMSG);
    CHECK_REASON(why, "not a snapshot frame");
    b.data[0] = 'H';
    CHECK_EQ_INT(beat_snapshot_decode(b.data, b.len, &cs2, &st2, NULL, &why), -EBADMSG);
    static const struct {
        const char *msg, *reason;
    } bad[] = {
        {"S{\"v\":1,\"campaigns_version\":2,\"state_version\":0,\"campaigns\":{\"v\":1,\"version\":"
         "3,\"campaigns\":[]},\"state\":null}",
         "campaigns_version: 2 but set says 3"},
        {"S{\"v\":1,\"campaigns_version\":2,\"state_version\":5,\"campaigns\":{\"v\":1,"
         "\"campaigns\":[]},\"state\":null}",
         "state_version: 5 but no state"},
        {"S{\"v\":1,\"campaigns_version\":2,\"state_version\":5,\"campaigns\":{\"v\":1,"
         "\"campaigns\":[]},"
         "\"state\":{\"v\":1,\"ts\":1,\"campaigns\":{\"c\":{\"multiplier\":-1}}}}",
         "snapshot.state: campaigns.c.multiplier"},
        {"S{\"v\":1,\"campaigns_version\":2,\"state_version\":0,\"campaigns\":{\"v\":1,"
         "\"campaigns\":[]}}",
         "snapshot.state: missing"},
        {"S{\"v\":1,\"campaigns_version\":2,\"state_version\":0,\"campaigns\":{\"v\":1,"
         "\"campaigns\":[1]},\"state\":null}",
         "campaigns[0]: must be an object"},
        {"S{\"v\":1,\"state_version\":0,\"campaigns\":{\"v\":1,\"campaigns\":[]},\"state\":null}",
         "snapshot.campaigns_version: missing"},
        {"S{\"v\":1,\"campaigns_version\":1,\"state_version\":0,\"campaigns\":{\"v\":1,"
         "\"campaigns\":[]},\"state\":null}}",
         "trailing bytes"},
        {"S{\"v\":2,\"campaigns_version\":1,\"state_version\":0,\"campaigns\":{\"v\":1,"
         "\"campaigns\":[]},\"state\":null}",
         "snapshot.exchanges_version: missing"},
        {"S{\"v\":2,\"campaigns_version\":1,\"state_version\":0,\"exchanges_version\":3,"
         "\"campaigns\":{\"v\":1,\"campaigns\":[]},\"state\":null,\"exchanges\":null}",
         "snapshot.exchanges_version: 3 but none"},
        {"S{\"v\":2,\"campaigns_version\":1,\"state_version\":0,\"exchanges_version\":3,"
         "\"campaigns\":{\"v\":1,\"campaigns\":[]},\"state\":null,\"exchanges\":{\"v\":1,"
         "\"exchanges\":[{\"id\":\"x\",\"qps\":1}]}}",
         "snapshot.exchanges: exchanges[0]: needs key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why.msg[0] = 0;
        CHECK_EQ_INT(beat_snapshot_decode(bad[i].msg, strlen(bad[i].msg), &cs2, &st2, NULL, &why),
                     -EBADMSG);
        CHECK_REASON(why, bad[i].reason);
    }
    beat_campaigns_fini(&cs);
    beat_state_fini(&st);
    beat_buf_fini(&b);
    return 0;
}

static const beat_test_case cases[] = {
    {"example_file", t_example_file},
    {"roundtrip_full", t_roundtrip_full},
    {"formats", t_formats},
    {"snapshot", t_snapshot},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_campaign", cases, argc, argv); }
