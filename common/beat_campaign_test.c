/* Unit tests for beat_campaign.c: the example file decodes with flight_s
 * resolved, sets and snapshots round-trip exactly, and every invalid field
 * is refused with a reason naming it. Run from the repo root. */
#include "beat_campaign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"

#define NOW 1700000000000LL

static int str_eq(const char *a, const char *b) /* NULL reads as "" */
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}
static int strv_eq(const beat_strv *a, const beat_strv *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i])) return 0;
    return 1;
}

static int campaign_eq(const beat_campaign *a, const beat_campaign *b) {
    if (strcmp(a->id, b->id) || !str_eq(a->advertiser, b->advertiser) ||
        !strv_eq(&a->adomain, &b->adomain) || !strv_eq(&a->cat, &b->cat) ||
        a->start_ms != b->start_ms || a->end_ms != b->end_ms ||
        a->budget_micros != b->budget_micros || a->base_bid_cpm_micros != b->base_bid_cpm_micros ||
        a->max_bid_cpm_micros != b->max_bid_cpm_micros || a->paused != b->paused ||
        !strv_eq(&a->countries, &b->countries) || !strv_eq(&a->os, &b->os) ||
        !strv_eq(&a->site_cat, &b->site_cat) || !strv_eq(&a->domains_allow, &b->domains_allow) ||
        !strv_eq(&a->domains_block, &b->domains_block) ||
        !strv_eq(&a->bundles_allow, &b->bundles_allow) ||
        !strv_eq(&a->bundles_block, &b->bundles_block) || a->n_device_types != b->n_device_types ||
        memcmp(a->device_types, b->device_types, sizeof(int) * (size_t)a->n_device_types) ||
        a->n_creatives != b->n_creatives || a->freq_cap_max != b->freq_cap_max ||
        a->freq_cap_window_s != b->freq_cap_window_s)
        return 0;
    for (int i = 0; i < a->n_creatives; i++) {
        const beat_creative *x = &a->creatives[i], *y = &b->creatives[i];
        if (strcmp(x->crid, y->crid) || x->w != y->w || x->h != y->h || !str_eq(x->adm, y->adm) ||
            !str_eq(x->landing, y->landing) || x->format != y->format || x->attr != y->attr ||
            !strv_eq(&x->mimes, &y->mimes) || x->duration_s != y->duration_s ||
            x->protocols != y->protocols || !str_eq(x->title, y->title) ||
            !str_eq(x->sponsored, y->sponsored) || !str_eq(x->desc, y->desc) ||
            !str_eq(x->cta, y->cta) || !str_eq(x->img.url, y->img.url) || x->img.w != y->img.w ||
            x->img.h != y->img.h || !str_eq(x->icon.url, y->icon.url) || x->icon.w != y->icon.w ||
            x->icon.h != y->icon.h)
            return 0;
    }
    if (strcmp(a->seat, b->seat) || !strv_eq(&a->deals, &b->deals) ||
        !str_eq(a->bundle, b->bundle) || a->schain_complete != b->schain_complete ||
        !strv_eq(&a->sellers, &b->sellers) || a->pacing != b->pacing || a->tz != b->tz)
        return 0;
    return 1;
}

static int set_eq(const beat_campaign_set *a, const beat_campaign_set *b) {
    if (a->version != b->version || a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (!campaign_eq(&a->c[i], &b->c[i])) return 0;
    return 1;
}

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

/* One valid campaign; each case below changes one field of it. */
static const char *base_campaign =
    "{\"id\":\"c1\",\"advertiser\":\"A\",\"adomain\":[\"a.com\"],\"flight_s\":60,"
    "\"budget_micros\":1000,\"base_bid_cpm_micros\":10,\"max_bid_cpm_micros\":20,"
    "\"targeting\":{\"countries\":[\"USA\"]},"
    "\"creatives\":[{\"crid\":\"cr1\",\"w\":300,\"h\":250,\"adm\":\"<b/>\"}],"
    "\"freq_cap\":{\"max\":3,\"window_s\":60}}";

static const struct {
    const char *obj, *key, *value, *reason; /* value NULL = delete key */
} bad_fields[] = {
    {"", "id", "\"\"", "campaigns[0].id: must match"},
    {"", "id", "\"bad id\"", "campaigns[0].id: must match"},
    {"", "id", "\"0123456789012345678901234567890123456789012345678901234567890123X\"",
     "campaigns[0].id: must match"},
    {"", "id", "7", "campaigns[0].id: must be a string"},
    {"", "id", NULL, "campaigns[0].id: missing"},
    {"", "advertiser", "\"a\\u0002\"", "campaigns[0].advertiser: control character"},
    {"", "advertiser", "[]", "campaigns[0].advertiser: must be a string"},
    {"", "adomain", "[\"\"]", "campaigns[0].adomain[0]: must not be empty"},
    {"", "adomain", "\"a.com\"", "campaigns[0].adomain: must be an array"},
    {"", "cat", "[1]", "campaigns[0].cat[0]: must be a string"},
    {"", "budget_micros", "0", "campaigns[0].budget_micros: must be > 0"},
    {"", "budget_micros", "-5", "campaigns[0].budget_micros: must be > 0"},
    {"", "budget_micros", "1.5", "campaigns[0].budget_micros: must be an integer"},
    {"", "budget_micros", "1e300", "campaigns[0].budget_micros: must be an integer"},
    {"", "budget_micros", "\"1000\"", "campaigns[0].budget_micros: must be an integer"},
    {"", "budget_micros", NULL, "campaigns[0].budget_micros: missing"},
    {"", "base_bid_cpm_micros", "0", "campaigns[0].base_bid_cpm_micros: must be > 0"},
    {"", "max_bid_cpm_micros", "9",
     "campaigns[0].max_bid_cpm_micros: must be >= base_bid_cpm_micros"},
    {"", "max_bid_cpm_micros", "-1", "campaigns[0].max_bid_cpm_micros: must be > 0"},
    {"", "flight_s", "0", "campaigns[0].flight_s: must be > 0"},
    {"", "flight_s", "2.5", "campaigns[0].flight_s: must be an integer"},
    {"", "flight_s", NULL, "campaigns[0].start_ms: missing"},
    {"", "start_ms", "5", "campaigns[0].flight_s: give either"},
    {"", "paused", "\"no\"", "campaigns[0].paused: must be true or false"},
    {"", "pause", "true", "campaigns[0].pause: unknown field"},
    {"", "targeting", "[]", "campaigns[0].targeting: must be an object"},
    {"", "creatives", NULL, "campaigns[0].creatives: missing"},
    {"", "creatives", "[]", "campaigns[0].creatives: needs at least 1"},
    {"", "creatives", "{}", "campaigns[0].creatives: must be an array"},
    {"", "freq_cap", "5", "campaigns[0].freq_cap: must be an object"},
    {"targeting", "countries", "\"USA\"", "campaigns[0].targeting.countries: must be an array"},
    {"targeting", "countries", "[1]", "campaigns[0].targeting.countries[0]: must be a string"},
    {"targeting", "os", "[\"\"]", "campaigns[0].targeting.os[0]: must not be empty"},
    {"targeting", "device_types", "[0]", "campaigns[0].targeting.device_types[0]: must be > 0"},
    {"targeting", "device_types", "[1,2,3,4,5,6,7,1,2,3,4,5,6,7,1,2,3]",
     "campaigns[0].targeting.device_types: too many"},
    {"targeting", "device_types", "[1.5]",
     "campaigns[0].targeting.device_types[0]: must be an integer"},
    {"targeting", "domains_blok", "[]", "campaigns[0].targeting.domains_blok: unknown field"},
    {"creatives[0]", "w", "0", "campaigns[0].creatives[0].w: must be > 0"},
    {"creatives[0]", "h", "-1", "campaigns[0].creatives[0].h: must be > 0"},
    {"creatives[0]", "w", "300.5", "campaigns[0].creatives[0].w: must be an integer"},
    {"creatives[0]", "w", NULL, "campaigns[0].creatives[0].w: missing"},
    {"creatives[0]", "adm", NULL, "campaigns[0].creatives[0].adm: missing"},
    {"creatives[0]", "adm", "\"\"", "campaigns[0].creatives[0].adm: must not be empty"},
    {"creatives[0]", "adm", "\"a\\u0001b\"", "campaigns[0].creatives[0].adm: control character"},
    {"creatives[0]", "crid", "\"a b\"", "campaigns[0].creatives[0].crid: must match"},
    {"creatives[0]", "landing", "5", "campaigns[0].creatives[0].landing: must be a string"},
    {"creatives[0]", "size", "1", "campaigns[0].creatives[0].size: unknown field"},
    {"freq_cap", "max", "0", "campaigns[0].freq_cap.max: must be > 0"},
    {"freq_cap", "window_s", NULL, "campaigns[0].freq_cap.window_s: missing"},
    {"", "schain_complete", "1", "campaigns[0].schain_complete: must be true or false"},
    {"", "sellers", "\"x.com\"", "campaigns[0].sellers: must be an array"},
    {"", "sellers", "[\"\"]", "campaigns[0].sellers[0]: must not be empty"},
    {"", "sellers", "[\"a.com:\"]", "campaigns[0].sellers[0]: must be \"asi\" or"},
    {"", "sellers", "[\":1\"]", "campaigns[0].sellers[0]: must be \"asi\" or"},
    {"", "sellers", "[\"a.com\",\"a.com:1:2\"]", "campaigns[0].sellers[1]: must be"},
    {"", "sellers", "[\"a .com\"]", "campaigns[0].sellers[0]: must be"},
};

/* Builds {"v":1,"campaigns":[base with obj.key = value]}; caller frees. */
static char *mutate(const char *obj, const char *key, const char *value) {
    cJSON *c = cJSON_Parse(base_campaign), *o = c;
    if (strcmp(obj, "creatives[0]") == 0)
        o = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "creatives"), 0);
    else if (*obj) o = cJSON_GetObjectItem(c, obj);
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (value) cJSON_AddItemToObject(o, key, cJSON_Parse(value));
    char *inner = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    char *out = malloc(strlen(inner) + 64);
    sprintf(out, "{\"v\":1,\"campaigns\":[%s]}", inner);
    free(inner);
    return out;
}

/* The strict decoder refuses json with -EBADMSG and a reason holding
 * reason, its out-parameter untouched; what names the case on failure. */
static int refused(const char *json, const char *reason, const char *what) {
    beat_campaign_set s;
    memset(&s, 0x5a, sizeof s);
    beat_reason why = {{0}};
    int rc = beat_campaigns_decode(json, strlen(json), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why);
    if (rc != -EBADMSG || !strstr(why.msg, reason)) {
        fprintf(stderr, "  %s: rc=%d reason \"%s\" want \"%s\"\n", what, rc, why.msg, reason);
        return 1;
    }
    CHECK(s.n == 0x5a5a5a5a); /* out untouched */
    return 0;
}

static int t_bad_fields(void) {
    /* the base itself is valid */
    char *ok = mutate("", "paused", "false");
    beat_campaign_set s;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_campaigns_decode(ok, strlen(ok), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
    CHECK_EQ_INT(s.c[0].end_ms, NOW + 60000);
    beat_campaigns_fini(&s);
    free(ok);
    for (size_t i = 0; i < sizeof bad_fields / sizeof bad_fields[0]; i++) {
        char *json = mutate(bad_fields[i].obj, bad_fields[i].key, bad_fields[i].value), what[96];
        snprintf(what, sizeof what, "case %zu %s.%s", i, bad_fields[i].obj, bad_fields[i].key);
        int rc = refused(json, bad_fields[i].reason, what);
        free(json);
        if (rc) return 1;
    }
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

static int t_bad_sets(void) {
    char buf[4096];
    beat_campaign_set s;
    beat_reason why = {{0}};
    /* the brief's example: the third campaign's first creative */
    const char *w0 = "{\"crid\":\"cr1\",\"w\":0,\"h\":250,\"adm\":\"<b/>\"}";
    char third[1024];
    snprintf(third, sizeof third,
             "{\"id\":\"c3\",\"flight_s\":60,\"budget_micros\":1,\"base_bid_cpm_micros\":1,"
             "\"max_bid_cpm_micros\":1,\"creatives\":[%s]}",
             w0);
    const char *second = "{\"id\":\"c2\",\"flight_s\":60,\"budget_micros\":1,"
                         "\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,"
                         "\"creatives\":[{\"crid\":\"a\",\"w\":1,\"h\":1,\"adm\":\"x\"}]}";
    snprintf(buf, sizeof buf, "{\"v\":1,\"campaigns\":[%s,%s,%s]}", base_campaign, second, third);
    CHECK_EQ_INT(beat_campaigns_decode(buf, strlen(buf), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why),
                 -EBADMSG);
    CHECK_EQ_STR(why.msg, "campaigns[2].creatives[0].w: must be > 0");
    /* duplicate campaign ids, named at the later index */
    snprintf(buf, sizeof buf, "{\"v\":1,\"campaigns\":[%s,%s]}", base_campaign, base_campaign);
    if (refused(buf, "campaigns[1].id: duplicate \"c1\"", "duplicate id")) return 1;
    /* duplicate crid inside a campaign */
    const char *dupcr = "{\"v\":1,\"campaigns\":[{\"id\":\"c\",\"flight_s\":1,\"budget_micros\":1,"
                        "\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,\"creatives\":["
                        "{\"crid\":\"k\",\"w\":1,\"h\":1,\"adm\":\"a\"},{\"crid\":\"k\",\"w\":1,"
                        "\"h\":1,\"adm\":\"a\"}]}]}";
    if (refused(dupcr, "campaigns[0].creatives[1].crid: duplicate", "duplicate crid")) return 1;
    static const struct {
        const char *json, *reason;
    } bad[] = {
        {"", "invalid JSON"},
        {"[]", "must be an object"},
        {"{\"campaigns\":[]}", "v: missing"},
        {"{\"v\":5,\"campaigns\":[]}", "v: unsupported version 5"},
        {"{\"v\":0,\"campaigns\":[]}", "v: unsupported version 0"},
        {"{\"v\":1}", "campaigns: missing"},
        {"{\"v\":1,\"campaigns\":{}}", "campaigns: must be an array"},
        {"{\"v\":1,\"campaigns\":[5]}", "campaigns[0]: must be an object"},
        {"{\"v\":1,\"version\":-2,\"campaigns\":[]}", "version: must be >= 0"},
        {"{\"v\":1,\"campaigns\":[]} x", "trailing bytes"},
        {"{\"v\":1,\"v\":1,\"campaigns\":[]}", "v: duplicate key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (refused(bad[i].json, bad[i].reason, bad[i].json)) return 1;
    /* start/end given explicitly must be ordered */
    const char *order =
        "{\"v\":1,\"campaigns\":[{\"id\":\"c\",\"start_ms\":5,\"end_ms\":5,\"budget_micros\":1,"
        "\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,\"creatives\":[{\"crid\":\"k\",\"w\":1,"
        "\"h\":1,\"adm\":\"a\"}]}]}";
    if (refused(order, "campaigns[0].end_ms: must be > start_ms", "order")) return 1;
    /* too many creatives */
    int n = snprintf(buf, sizeof buf,
                     "{\"v\":1,\"campaigns\":[{\"id\":\"c\",\"flight_s\":1,\"budget_micros\":1,"
                     "\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,\"creatives\":[");
    for (int i = 0; i <= BEAT_CREATIVES_MAX; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n,
                      "%s{\"crid\":\"k%d\",\"w\":1,\"h\":1,\"adm\":\"a\"}", i ? "," : "", i);
    snprintf(buf + n, sizeof buf - (size_t)n, "]}]}");
    if (refused(buf, "campaigns[0].creatives: too many", "too many creatives")) return 1;
    /* invalid UTF-8 in a free-text field */
    const char *utf = "{\"v\":1,\"campaigns\":[{\"id\":\"c\",\"advertiser\":\"\xc3\x28\",\"flight_"
                      "s\":1,\"budget_micros\":1,"
                      "\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,\"creatives\":[{\"crid\":"
                      "\"k\",\"w\":1,\"h\":1,\"adm\":\"a\"}]}]}";
    if (refused(utf, "campaigns[0].advertiser: invalid UTF-8", "utf-8")) return 1;
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

/* The supply-chain fields: a v1 set (stored before they existed) still
 * reads and is written back as v1, so older readers keep it; a set using
 * them round-trips as v2. */
static int t_supply_fields(void) {
    char *v1 = mutate("", "paused", "false");
    beat_campaign_set s, back;
    beat_reason why = {{0}};
    beat_buf b;
    beat_buf_init(&b, 0);
    CHECK_EQ_INT(beat_campaigns_decode(v1, strlen(v1), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
    CHECK(!s.c[0].schain_complete && s.c[0].sellers.n == 0);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strncmp(b.data, "{\"v\":1,", 7) == 0);
    CHECK(!strstr(b.data, "sellers") && !strstr(b.data, "schain"));
    beat_campaigns_fini(&s);
    free(v1);
    const char *v2 = "{\"v\":2,\"campaigns\":[{\"id\":\"c1\",\"flight_s\":60,"
                     "\"budget_micros\":1000,\"base_bid_cpm_micros\":10,"
                     "\"max_bid_cpm_micros\":20,\"schain_complete\":true,"
                     "\"sellers\":[\"exchange.example:pub-1\",\"ssp.example\"],"
                     "\"creatives\":[{\"crid\":\"cr1\",\"w\":300,\"h\":250,\"adm\":\"x\"}]}]}";
    CHECK_EQ_INT(beat_campaigns_decode(v2, strlen(v2), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
    CHECK(s.c[0].schain_complete && s.c[0].sellers.n == 2);
    CHECK_EQ_STR(s.c[0].sellers.v[0], "exchange.example:pub-1");
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strncmp(b.data, "{\"v\":2,", 7) == 0);
    CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why), 0);
    CHECK(set_eq(&s, &back));
    beat_campaigns_fini(&s);
    beat_campaigns_fini(&back);
    beat_buf_fini(&b);
    return 0;
}

/* "pacing" (v 3): absent in a v2 set = the actuator's default, and such a
 * set is written back as v2 (stored sets keep loading in older readers);
 * each mode round-trips and makes the set v3; anything else is refused
 * with the field named. */
static int t_pacing_field(void) {
    static const char *fmt =
        "{\"v\":%d,\"campaigns\":[{\"id\":\"c1\",\"flight_s\":60,"
        "\"budget_micros\":1000,\"base_bid_cpm_micros\":10,"
        "\"max_bid_cpm_micros\":20,\"sellers\":[\"ssp.example\"]%s,"
        "\"creatives\":[{\"crid\":\"cr1\",\"w\":300,\"h\":250,\"adm\":\"x\"}]}]}";
    char json[600], extra[64];
    beat_campaign_set s, back;
    beat_reason why = {{0}};
    beat_buf b;
    beat_buf_init(&b, 0);
    snprintf(json, sizeof json, fmt, 2, "");
    CHECK_EQ_INT(beat_campaigns_decode(json, strlen(json), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why),
                 0);
    CHECK_EQ_INT(s.c[0].pacing, BEAT_PACING_DEFAULT);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strncmp(b.data, "{\"v\":2,", 7) == 0);
    CHECK(!strstr(b.data, "pacing"));
    beat_campaigns_fini(&s);
    static const char *const names[] = {"even", "value", "asap"};
    static const beat_pacing modes[] = {BEAT_PACING_EVEN, BEAT_PACING_VALUE, BEAT_PACING_ASAP};
    for (int i = 0; i < 3; i++) {
        snprintf(extra, sizeof extra, ",\"pacing\":\"%s\"", names[i]);
        snprintf(json, sizeof json, fmt, 3, extra);
        CHECK_EQ_INT(
            beat_campaigns_decode(json, strlen(json), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
        CHECK_EQ_INT(s.c[0].pacing, modes[i]);
        CHECK_EQ_STR(beat_pacing_name(s.c[0].pacing), names[i]);
        beat_buf_reset(&b);
        CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
        CHECK(strncmp(b.data, "{\"v\":3,", 7) == 0);
        CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why),
                     0);
        CHECK(set_eq(&s, &back) && back.c[0].pacing == modes[i]);
        beat_campaigns_fini(&s);
        beat_campaigns_fini(&back);
    }
    static const char *const bad[] = {"\"fast\"", "\"Value\"", "\"\"", "1", "null"};
    for (int i = 0; i < 5; i++) {
        snprintf(extra, sizeof extra, ",\"pacing\":%s", bad[i]);
        snprintf(json, sizeof json, fmt, 3, extra);
        CHECK_EQ_INT(beat_campaigns_decode(json, strlen(json), NOW, 0, &s, &why), -EBADMSG);
        CHECK_REASON(why, "campaigns[0].pacing: must be \"even\", \"value\" or \"asap\"");
    }
    beat_pacing p = BEAT_PACING_EVEN;
    CHECK_EQ_INT(beat_pacing_parse("default", &p), -EINVAL);
    CHECK_EQ_INT(p, BEAT_PACING_EVEN);
    beat_buf_fini(&b);
    return 0;
}

static const beat_test_case cases[] = {
    {"pacing_field", t_pacing_field},
    {"supply_fields", t_supply_fields},
    {"example_file", t_example_file},
    {"roundtrip_full", t_roundtrip_full},
    {"formats", t_formats},
    {"bad_fields", t_bad_fields},
    {"bad_sets", t_bad_sets},
    {"snapshot", t_snapshot},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_campaign", cases, argc, argv); }
