/* Unit tests for beat_campaign.c, field by field: every invalid field and
 * set is refused with a reason naming it, and the fields added in later set
 * versions (supply chain, pacing) keep older sets at their version. */
#include "beat_campaign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign_testlib.h"
#include "beat_test.h"

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
    {"bad_fields", t_bad_fields},
    {"bad_sets", t_bad_sets},
    {NULL, NULL},
};

int main(int argc, char **argv) {
    return beat_test_main("beat_campaign_fields", cases, argc, argv);
}
