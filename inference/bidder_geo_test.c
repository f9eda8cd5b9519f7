/* Geography and audience targeting (audience.c) through the bidder: each
 * field admits the requests inside it and refuses the others with its
 * no-bid reason; a missing signal is "not inside"; what the privacy gate
 * clears (lat/lon, segments, user ids) can no longer admit a request;
 * first-party lists match by keyed hash of user.id, buyeruid or ifa. */
#include "audience.h"
#include "bidder_testlib.h"

#define LSEED 0x5eed5eed5eedULL

/* A world of one campaign "g" (300x250 banner) with that targeting, and
 * the segment lists segs (NULL: none held). */
static inf_world *world_of(const char *targeting, inf_segs *segs) {
    char json[4096];
    snprintf(json, sizeof json,
             "{\"v\":4,\"campaigns\":[{\"id\":\"g\",\"flight_s\":3600,\"budget_micros\":50000000,"
             "\"base_bid_cpm_micros\":1000000,\"max_bid_cpm_micros\":9000000,\"targeting\":%s,"
             "\"creatives\":[{\"crid\":\"g1\",\"w\":300,\"h\":250,\"adm\":\"<b/>\"}]}]}",
             targeting);
    beat_campaign_set cs;
    beat_reason why = {{0}};
    if (beat_campaigns_decode(json, strlen(json), T0, BEAT_CAMPAIGNS_STRICT, &cs, &why) != 0) {
        fprintf(stderr, "  campaigns: %s\n", why.msg);
        return NULL;
    }
    cs.version = 3;
    beat_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.actuator, sizeof st.actuator, "test");
    st.ts_ms = T0;
    st.version = 7;
    st.c = calloc(1, sizeof *st.c);
    st.n = 1;
    snprintf(st.c[0].id, sizeof st.c[0].id, "g");
    st.c[0].multiplier = 1.0;
    inf_model *m = make_model(0.25);
    inf_snap *s = inf_snap_new(&cs, &st, true);
    inf_world *w = m && s ? inf_world_build(m, s) : NULL;
    inf_model_unref(m);
    inf_snap_unref(s);
    if (w && inf_aud_attach(w, segs) != 0) {
        inf_world_free(w);
        return NULL;
    }
    return w;
}

/* A 300x250 request with the given device, user and regs objects ("" =
 * absent) and imp size. */
static const char *greq_sized(const char *device, const char *user, const char *regs,
                              const char *banner) {
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"id\":\"a1\",\"imp\":[{\"id\":\"1\",\"bidfloor\":0.01,\"banner\":%s}],"
             "\"site\":{\"id\":\"s\",\"domain\":\"news.example\"}%s%s%s%s%s%s}",
             banner, *device ? ",\"device\":" : "", device, *user ? ",\"user\":" : "", user,
             *regs ? ",\"regs\":" : "", regs);
    return buf;
}
static const char *greq(const char *device, const char *user, const char *regs) {
    return greq_sized(device, user, regs, BANNER);
}
#define COPPA "{\"coppa\":1}"

/* "bid" or the no-bid reason's name. */
static const char *outcome(inf_bidder *b, const inf_world *w, const char *json) {
    static inf_result res;
    if (run(b, w, json, T0 + 1000, &res) != 0) return "(bad request)";
    return res.n ? "bid" : inf_nobid_name(res.reason);
}

#define EXPECT(w, json, want)                                                                      \
    do {                                                                                           \
        const char *got_ = outcome(b, (w), (json));                                                \
        if (strcmp(got_, (want)) != 0) fprintf(stderr, "  %s for %s\n", got_, (json));             \
        CHECK_EQ_STR(got_, (want));                                                                \
    } while (0)

static int t_regions(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = world_of("{\"regions\":[\"USA:NY\"]}", NULL);
    CHECK(b && w);
    EXPECT(w, greq("{\"geo\":{\"country\":\"USA\",\"region\":\"NY\"}}", "", ""), "bid");
    EXPECT(w, greq("{\"geo\":{\"country\":\"usa\",\"region\":\"US-ny\"}}", "", ""), "bid");
    /* the same subdivision code in another country is another place */
    EXPECT(w, greq("{\"geo\":{\"country\":\"CAN\",\"region\":\"NY\"}}", "", ""), "geo");
    EXPECT(w, greq("{\"geo\":{\"country\":\"USA\",\"region\":\"NJ\"}}", "", ""), "geo");
    /* missing signals: no region, no country, no geo at all */
    EXPECT(w, greq("{\"geo\":{\"country\":\"USA\"}}", "", ""), "geo");
    EXPECT(w, greq("{\"geo\":{\"region\":\"NY\"}}", "", ""), "geo");
    EXPECT(w, greq("", "", ""), "geo");
    /* wrong types are absent */
    EXPECT(w, greq("{\"geo\":{\"country\":\"USA\",\"region\":5}}", "", ""), "geo");
    /* user.geo stands in for the device's; coarse geo survives COPPA */
    EXPECT(w, greq("{\"geo\":{\"country\":\"USA\"}}", "{\"geo\":{\"region\":\"NY\"}}", ""), "bid");
    EXPECT(w, greq("{\"geo\":{\"country\":\"USA\",\"region\":\"NY\"}}", "", COPPA), "bid");
    /* a campaign refused by geo whose creative does not fit the imp is
     * not "geo" but no_match */
    EXPECT(w, greq_sized("{\"geo\":{\"country\":\"CAN\"}}", "", "", "{\"w\":728,\"h\":90}"),
           "no_match");
    inf_world_free(w);
    inf_bidder_free(b);
    return 0;
}

static int t_metro_city_zip(void) {
    inf_bidder *b = make_bidder();
    inf_world *w =
        world_of("{\"metros\":[\"501\"],\"cities\":[\"Boston\"],\"zips\":[\"94103\"]}", NULL);
    CHECK(b && w);
    /* the places are a union: any one admits */
    EXPECT(w, greq("{\"geo\":{\"metro\":\"501\"}}", "", ""), "bid");
    EXPECT(w, greq("{\"geo\":{\"city\":\"boston\"}}", "", ""), "bid");
    EXPECT(w, greq("{\"geo\":{\"zip\":\"94103\"}}", "", ""), "bid");
    EXPECT(w, greq("{\"geo\":{\"metro\":\"502\",\"city\":\"Austin\",\"zip\":\"94104\"}}", "", ""),
           "geo");
    EXPECT(w, greq("", "", ""), "geo");
    inf_world_free(w);
    inf_bidder_free(b);
    return 0;
}

static int t_radius(void) {
    /* New York to Los Angeles is about 3936 km */
    double km = inf_geo_km(40.7128, -74.0060, 34.0522, -118.2437);
    CHECK(km > 3900 && km < 3970);
    CHECK(inf_geo_km(10, 20, 10, 20) == 0);
    inf_bidder *b = make_bidder();
    inf_world *w =
        world_of("{\"radius\":[{\"lat\":40.7128,\"lon\":-74.006,\"radius_km\":10}]}", NULL);
    CHECK(b && w);
    /* Times Square, ~5 km; Philadelphia, ~130 km */
    EXPECT(w, greq("{\"geo\":{\"lat\":40.758,\"lon\":-73.9855}}", "", ""), "bid");
    EXPECT(w, greq("{\"geo\":{\"lat\":39.9526,\"lon\":-75.1652}}", "", ""), "geo");
    EXPECT(w, greq("", "{\"geo\":{\"lat\":40.758,\"lon\":-73.9855}}", ""), "bid");
    /* no precise geo, or consent that clears it: not inside */
    EXPECT(w, greq("{\"geo\":{\"country\":\"USA\"}}", "", ""), "geo");
    EXPECT(w, greq("{\"geo\":{\"lat\":40.758,\"lon\":-73.9855}}", "", COPPA), "geo");
    EXPECT(w, greq("{\"geo\":{\"lat\":\"40.758\",\"lon\":-73.9855}}", "", ""), "geo");
    inf_world_free(w);
    inf_bidder_free(b);
    return 0;
}

#define SEGS(p, s) "{\"data\":[{\"id\":\"" p "\",\"segment\":[{\"id\":\"" s "\"}]}]}"

static int t_segments(void) {
    inf_bidder *b = make_bidder();
    inf_world *w =
        world_of("{\"segments_include\":[{\"provider\":\"dp1\",\"ids\":[\"s1\",\"s2\"]}]}", NULL);
    inf_world *x =
        world_of("{\"segments_exclude\":[{\"provider\":\"dp1\",\"ids\":[\"churn\"]}]}", NULL);
    CHECK(b && w && x);
    EXPECT(w, greq("", SEGS("dp1", "s2"), ""), "bid");
    EXPECT(w, greq("", SEGS("dp2", "s2"), ""), "segments"); /* another provider's s2 */
    EXPECT(w, greq("", SEGS("dp1", "s3"), ""), "segments");
    EXPECT(w, greq("", "{\"data\":[{\"segment\":[{\"id\":\"s1\"}]}]}", ""), "segments");
    EXPECT(w, greq("", "", ""), "segments");
    EXPECT(w, greq("", SEGS("dp1", "s2"), COPPA), "segments"); /* cleared by the gate */
    EXPECT(x, greq("", SEGS("dp1", "churn"), ""), "segments");
    EXPECT(x, greq("", SEGS("dp1", "s1"), ""), "bid");
    EXPECT(x, greq("", "", ""), "bid"); /* nothing known: nothing to exclude */
    inf_world_free(w);
    inf_world_free(x);
    inf_bidder_free(b);
    return 0;
}

/* The lists "crm" = {u-listed, ifa-listed} and "other" = {u-other}, as an
 * 'U' frame would bring them. */
static inf_segs *make_segs(void) {
    uint64_t crm[2] = {beat_seglist_hash(LSEED, "u-listed", 8),
                       beat_seglist_hash(LSEED, "ifa-listed", 10)};
    if (crm[0] > crm[1]) {
        uint64_t t = crm[0];
        crm[0] = crm[1];
        crm[1] = t;
    }
    uint64_t other[1] = {beat_seglist_hash(LSEED, "u-other", 7)};
    beat_seglist l[2] = {{.id = "crm", .version = 2, .n = 2, .h = crm},
                         {.id = "other", .version = 3, .n = 1, .h = other}};
    beat_seglists s = {.version = 3, .seed = LSEED, .n = 2, .l = l};
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    inf_segs *g = NULL;
    beat_reason why = {{0}};
    if (beat_seglists_encode(&s, &b) != 0 || inf_segs_decode(b.data, b.len, &g, &why) != 0)
        fprintf(stderr, "  segs: %s\n", why.msg);
    beat_buf_fini(&b);
    return g;
}

static int t_lists(void) {
    inf_bidder *b = make_bidder();
    inf_segs *g = make_segs();
    CHECK(g);
    inf_world *w = world_of("{\"lists_include\":[\"crm\"]}", g);
    inf_world *x = world_of("{\"lists_exclude\":[\"other\"]}", g);
    inf_world *none = world_of("{\"lists_include\":[\"crm\"]}", NULL);
    inf_world *gone = world_of("{\"lists_include\":[\"deleted\"]}", g);
    inf_segs_unref(g); /* the worlds hold their own references */
    CHECK(b && w && x && none && gone);
    EXPECT(w, greq("", "{\"id\":\"u-listed\"}", ""), "bid");
    EXPECT(w, greq("", "{\"buyeruid\":\"u-listed\"}", ""), "bid");
    EXPECT(w, greq("{\"ifa\":\"ifa-listed\"}", "{\"id\":\"u-new\"}", ""), "bid");
    EXPECT(w, greq("", "{\"id\":\"u-other\"}", ""), "lists");
    EXPECT(w, greq("", "", ""), "lists");
    EXPECT(w, greq("", "{\"id\":\"u-listed\"}", COPPA), "lists"); /* ids cleared */
    EXPECT(x, greq("", "{\"id\":\"u-other\"}", ""), "lists");
    EXPECT(x, greq("", "{\"id\":\"u-listed\"}", ""), "bid");
    EXPECT(none, greq("", "{\"id\":\"u-listed\"}", ""), "lists"); /* no lists held yet */
    EXPECT(gone, greq("", "{\"id\":\"u-listed\"}", ""), "lists");
    int64_t v;
    int n;
    inf_aud_segs(w->aud, &v, &n);
    CHECK(v == 3 && n == 2);
    inf_world_free(w);
    inf_world_free(x);
    inf_world_free(none);
    inf_world_free(gone);
    inf_bidder_free(b);
    return 0;
}

/* Rules combine: geography, then segments, then lists, all must admit. */
static int t_combined(void) {
    inf_bidder *b = make_bidder();
    inf_segs *g = make_segs();
    inf_world *w = world_of(
        "{\"regions\":[\"USA:NY\"],\"segments_include\":[{\"provider\":\"dp1\",\"ids\":[\"s1\"]}],"
        "\"lists_include\":[\"crm\"]}",
        g);
    inf_segs_unref(g);
    CHECK(b && w);
    const char *ny = "{\"geo\":{\"country\":\"USA\",\"region\":\"NY\"}}";
#define DP1_S1 ",\"data\":[{\"id\":\"dp1\",\"segment\":[{\"id\":\"s1\"}]}]}"
    EXPECT(w, greq(ny, "{\"id\":\"u-listed\"" DP1_S1, ""), "bid");
    EXPECT(w, greq(ny, "{\"id\":\"u-other\"" DP1_S1, ""), "lists");
    EXPECT(w, greq(ny, "{\"id\":\"u-listed\"}", ""), "segments");
    EXPECT(w, greq("", "{\"id\":\"u-listed\"" DP1_S1, ""), "geo");
    inf_world_free(w);
    inf_bidder_free(b);
    return 0;
}

static const beat_test_case cases[] = {
    {"regions", t_regions}, {"metro_city_zip", t_metro_city_zip},
    {"radius", t_radius},   {"segments", t_segments},
    {"lists", t_lists},     {"combined", t_combined},
    {NULL, NULL},
};

int main(int argc, char **argv) {
    int rc = beat_test_main("bidder_geo", cases, argc, argv);
    inf_req_fini(&R);
    return rc;
}
