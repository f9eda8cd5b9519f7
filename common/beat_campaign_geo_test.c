/* Unit tests for beat_campaign_geo.c: the v 4 geography and audience
 * targeting round-trips, raises the set to v 4 only when used (older sets
 * encode exactly as before), and every bad value is refused with a reason
 * naming its field. */
#include "beat_campaign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"

#define NOW 1700000000000LL
/* A campaign with that targeting and extra members (",\"k\":v" or "") */
#define CAMPX(targeting, extra)                                                                    \
    "{\"id\":\"c1\",\"start_ms\":1,\"end_ms\":2,\"budget_micros\":1,\"base_bid_cpm_micros\":1,"    \
    "\"max_bid_cpm_micros\":1,\"targeting\":" targeting ",\"creatives\":[{\"crid\":\"k\","         \
    "\"w\":1,\"h\":1,\"adm\":\"a\"}]" extra "}"
#define CAMP(targeting) CAMPX(targeting, "")

static const char *full = "{\"v\":4,\"campaigns\":[" CAMP(
    "{\"countries\":[\"USA\"],\"regions\":[\"USA:NY\",\"CAN:QC\"],\"metros\":[\"501\"],"
    "\"cities\":[\"Boston\"],\"zips\":[\"02110\"],"
    "\"radius\":[{\"lat\":40.7128,\"lon\":-74.006,\"radius_km\":12.5}],"
    "\"segments_include\":[{\"provider\":\"dp1\",\"ids\":[\"s1\",\"s2\"]}],"
    "\"segments_exclude\":[{\"provider\":\"dp2\",\"ids\":[\"x\"]}],"
    "\"lists_include\":[\"crm-2026\"],\"lists_exclude\":[\"churned\"]}") "]}";

static int decode(const char *json, unsigned flags, beat_campaign_set *s, beat_reason *why) {
    return beat_campaigns_decode(json, strlen(json), NOW, flags, s, why);
}

static int t_round_trip(void) {
    beat_campaign_set s, s2;
    beat_reason why = {{0}};
    CHECK_EQ_INT(decode(full, BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
    const beat_campaign_aud *a = &s.c[0].aud;
    CHECK_EQ_INT(a->regions.n, 2);
    CHECK_EQ_STR(a->regions.v[1], "CAN:QC");
    CHECK_EQ_STR(a->metros.v[0], "501");
    CHECK_EQ_STR(a->cities.v[0], "Boston");
    CHECK_EQ_STR(a->zips.v[0], "02110");
    CHECK_EQ_INT(a->n_radius, 1);
    CHECK(a->radius[0].lat == 40.7128 && a->radius[0].lon == -74.006 &&
          a->radius[0].radius_km == 12.5);
    CHECK_EQ_INT(a->n_seg_incl, 1);
    CHECK_EQ_STR(a->seg_incl[0].provider, "dp1");
    CHECK_EQ_INT(a->seg_incl[0].ids.n, 2);
    CHECK_EQ_STR(a->seg_excl[0].ids.v[0], "x");
    CHECK_EQ_STR(a->lists_incl.v[0], "crm-2026");
    CHECK_EQ_STR(a->lists_excl.v[0], "churned");
    beat_buf b, b2;
    beat_buf_init(&b, 1 << 20);
    beat_buf_init(&b2, 1 << 20);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strstr(b.data, "{\"v\":4,") == b.data);
    CHECK_EQ_INT(decode(b.data, BEAT_CAMPAIGNS_STRICT, &s2, &why), 0);
    CHECK_EQ_INT(beat_campaigns_encode(&s2, &b2), 0);
    CHECK_EQ_INT(b.len, b2.len);
    CHECK(memcmp(b.data, b2.data, b.len) == 0);
    CHECK(s2.c[0].aud.radius[0].lon == -74.006);
    beat_buf_fini(&b);
    beat_buf_fini(&b2);
    beat_campaigns_fini(&s);
    beat_campaigns_fini(&s2);
    return 0;
}

/* Sets written by v1–v3 writers keep their version and bytes. */
static int t_older_sets_unchanged(void) {
    static const struct {
        const char *json;
        const char *v;
    } sets[] = {
        {"{\"v\":1,\"campaigns\":[" CAMP("{\"countries\":[\"USA\"]}") "]}", "{\"v\":1,"},
        {"{\"v\":2,\"campaigns\":[" CAMPX("{}", ",\"sellers\":[\"x.com\"]") "]}", "{\"v\":2,"},
        {"{\"v\":3,\"campaigns\":[" CAMPX("{}", ",\"pacing\":\"even\"") "]}", "{\"v\":3,"},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        const char *json = sets[i].json;
        beat_campaign_set s;
        beat_reason why = {{0}};
        int rc = decode(json, BEAT_CAMPAIGNS_STRICT, &s, &why);
        if (rc) fprintf(stderr, "  set %zu: %s (%s)\n", i, why.msg, json);
        CHECK_EQ_INT(rc, 0);
        CHECK(!s.c[0].aud.regions.n && !s.c[0].aud.n_radius);
        beat_buf b;
        beat_buf_init(&b, 1 << 20);
        CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
        CHECK(strstr(b.data, sets[i].v) == b.data);
        CHECK(!strstr(b.data, "regions") && !strstr(b.data, "lists_"));
        beat_buf_fini(&b);
        beat_campaigns_fini(&s);
    }
    return 0;
}

static int t_strict_errors(void) {
    static const struct {
        const char *targeting, *reason;
    } bad[] = {
        {"{\"region\":[\"USA:NY\"]}", "campaigns[0].targeting.region: unknown field"},
        {"{\"regions\":[\"NY\"]}", "campaigns[0].targeting.regions[0]: must be"},
        {"{\"regions\":[\"USA:\"]}", "campaigns[0].targeting.regions[0]: must be"},
        {"{\"regions\":\"USA:NY\"}", "campaigns[0].targeting.regions: must be an array"},
        {"{\"metros\":[5]}", "campaigns[0].targeting.metros[0]"},
        {"{\"zips\":[\"\"]}", "campaigns[0].targeting.zips[0]"},
        {"{\"radius\":{}}", "campaigns[0].targeting.radius: must be an array"},
        {"{\"radius\":[{\"lat\":91,\"lon\":0,\"radius_km\":1}]}",
         "campaigns[0].targeting.radius[0].lat"},
        {"{\"radius\":[{\"lat\":0,\"lon\":-181,\"radius_km\":1}]}",
         "campaigns[0].targeting.radius[0].lon"},
        {"{\"radius\":[{\"lat\":0,\"lon\":0,\"radius_km\":0}]}",
         "campaigns[0].targeting.radius[0].radius_km: must be > 0"},
        {"{\"radius\":[{\"lat\":0,\"lon\":0,\"radius_km\":501}]}",
         "campaigns[0].targeting.radius[0].radius_km"},
        {"{\"radius\":[{\"lat\":0,\"lon\":0}]}",
         "campaigns[0].targeting.radius[0].radius_km: missing"},
        {"{\"radius\":[{\"lat\":0,\"lon\":0,\"radius_km\":1,\"km\":1}]}",
         "campaigns[0].targeting.radius[0].km: unknown field"},
        {"{\"segments_include\":[{\"ids\":[\"a\"]}]}",
         "campaigns[0].targeting.segments_include[0].provider: missing"},
        {"{\"segments_include\":[{\"provider\":\"p\"}]}",
         "campaigns[0].targeting.segments_include[0].ids: missing"},
        {"{\"segments_exclude\":[{\"provider\":\"p\",\"ids\":[]}]}",
         "campaigns[0].targeting.segments_exclude[0].ids: needs at least 1 id"},
        {"{\"segments_include\":[{\"provider\":\"p\",\"ids\":[\"a\"]},"
         "{\"provider\":\"p\",\"ids\":[\"b\"]}]}",
         "campaigns[0].targeting.segments_include[1].provider: duplicate"},
        {"{\"lists_include\":[\"bad id\"]}", "campaigns[0].targeting.lists_include[0]: must match"},
        {"{\"lists_exclude\":\"x\"}", "campaigns[0].targeting.lists_exclude: must be an array"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[2048];
        snprintf(
            json, sizeof json,
            "{\"v\":4,\"campaigns\":[{\"id\":\"c1\",\"start_ms\":1,\"end_ms\":2,"
            "\"budget_micros\":1,\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,"
            "\"targeting\":%s,\"creatives\":[{\"crid\":\"k\",\"w\":1,\"h\":1,\"adm\":\"a\"}]}]}",
            bad[i].targeting);
        beat_campaign_set s;
        beat_reason why = {{0}};
        int rc = decode(json, BEAT_CAMPAIGNS_STRICT, &s, &why);
        if (rc != -EBADMSG || !strstr(why.msg, bad[i].reason))
            fprintf(stderr, "  case %zu: rc=%d \"%s\" want \"%s\"\n", i, rc, why.msg,
                    bad[i].reason);
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK_REASON(why, bad[i].reason);
    }
    /* too many radius targets */
    char big[16384] = "{\"v\":4,\"campaigns\":[{\"id\":\"c1\",\"start_ms\":1,\"end_ms\":2,"
                      "\"budget_micros\":1,\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":1,"
                      "\"targeting\":{\"radius\":[";
    for (int i = 0; i <= BEAT_RADIUS_MAX; i++)
        strcat(big, i ? ",{\"lat\":1,\"lon\":1,\"radius_km\":1}"
                      : "{\"lat\":1,\"lon\":1,\"radius_km\":1}");
    strcat(big, "]},\"creatives\":[{\"crid\":\"k\",\"w\":1,\"h\":1,\"adm\":\"a\"}]}]}");
    beat_campaign_set s;
    beat_reason why = {{0}};
    CHECK_EQ_INT(decode(big, BEAT_CAMPAIGNS_STRICT, &s, &why), -EBADMSG);
    CHECK_REASON(why, "campaigns[0].targeting.radius: too many");
    return 0;
}

static const beat_test_case cases[] = {
    {"round_trip", t_round_trip},
    {"older_sets_unchanged", t_older_sets_unchanged},
    {"strict_errors", t_strict_errors},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_campaign_geo", cases, argc, argv); }
