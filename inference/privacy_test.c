/* The privacy gate (privacy.c): a table of requests carrying every kind of
 * personal data (user.id, buyeruid, device.ifa, precise geo, segments)
 * under each privacy signal, with the decision and what survives it; then
 * the bid path end to end: a GDPR request whose TCF string lacks the needed
 * purposes still gets a contextual bid, and none of its ids reach the
 * frequency table, the features, the response or the bid-log event. */
#include "beat_tcf_testlib.h"
#include "bidder_testlib.h"
#include "privacy.h"

#define VENDOR 777
#define IDS                                                                                        \
    "\"user\":{\"id\":\"uid-secret\",\"buyeruid\":\"buid-secret\"%s,"                              \
    "\"data\":[{\"id\":\"dmp\",\"segment\":[{\"id\":\"seg-secret-1\"},"                            \
    "{\"id\":\"seg-secret-2\"}]}]},"                                                               \
    "\"device\":{\"ifa\":\"ifa-secret\",\"geo\":{\"lat\":52.52,\"lon\":13.405,"                    \
    "\"country\":\"DEU\"}}"

/* The consent strings of the table, made once by the test encoder. */
static char tcf_ok[400], tcf_ok_geo[400], tcf_p1[400], tcf_other_vendor[400], tcf_restricted[400],
    gpp_tcf_ok[600], gpp_tcf_p1[600];

static void make_strings(void) {
    static const int ours[] = {VENDOR}, theirs[] = {VENDOR + 1};
    tl_tcf s = {.purposes = 0xd, .max_vendor = 800, .vendors = ours, .n_vendors = 1};
    tl_tcf_encode(&s, tcf_ok);
    s.special = 1;
    tl_tcf_encode(&s, tcf_ok_geo);
    s.special = 0;
    s.purposes = 0x1;
    tl_tcf_encode(&s, tcf_p1);
    s.purposes = 0xd;
    s.vendors = theirs;
    tl_tcf_encode(&s, tcf_other_vendor);
    s.vendors = ours;
    s.restrict_purpose = 4;
    s.restrict_vendor = VENDOR;
    tl_tcf_encode(&s, tcf_restricted);
    static const int two = 2;
    char h[32];
    tl_gpp_header(&two, 1, h);
    snprintf(gpp_tcf_ok, sizeof gpp_tcf_ok, "%s~%s", h, tcf_ok);
    snprintf(gpp_tcf_p1, sizeof gpp_tcf_p1, "%s~%s", h, tcf_p1);
}

static const char *request(const char *regs, const char *consent) {
    static char buf[4096], user_extra[1200];
    snprintf(user_extra, sizeof user_extra, "%s%s%s", consent ? ",\"consent\":\"" : "",
             consent ? consent : "", consent ? "\"" : "");
    char ids[2048];
    snprintf(ids, sizeof ids, IDS, user_extra);
    snprintf(buf, sizeof buf,
             "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
             "\"site\":{\"id\":\"102855\",\"domain\":\"www.foobar.com\",\"cat\":[\"IAB3-1\"],"
             "\"publisher\":{\"id\":\"8953\"}},%s%s%s}",
             ids, regs ? ",\"regs\":" : "", regs ? regs : "");
    return buf;
}

static int t_decisions(void) {
    beat_reason why = {{0}};
    CHECK_EQ_INT(inf_privacy_config(VENDOR, "1,3,4", &why), 0);
    make_strings();
    const struct {
        const char *regs, *consent;
        inf_privacy_reason reason;
        bool geo;
    } cases[] = {
        {NULL, NULL, INF_PRIV_NONE, true},
        {"{\"gdpr\":0}", NULL, INF_PRIV_NONE, true},
        {"{\"gdpr\":1}", NULL, INF_PRIV_TCF_MISSING, false},
        {"{\"ext\":{\"gdpr\":1}}", NULL, INF_PRIV_TCF_MISSING, false},
        {"{\"gdpr\":1}", "CO-tcf", INF_PRIV_TCF_INVALID, false},
        {"{\"gdpr\":1}", tcf_p1, INF_PRIV_TCF_PURPOSE, false},
        {"{\"gdpr\":1}", "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", INF_PRIV_TCF_PURPOSE,
         false},
        {"{\"gdpr\":1}", tcf_restricted, INF_PRIV_TCF_PURPOSE, false},
        {"{\"gdpr\":1}", tcf_other_vendor, INF_PRIV_TCF_VENDOR, false},
        {"{\"gdpr\":1}", tcf_ok, INF_PRIV_CONSENT, false}, /* no special feature 1 */
        {"{\"gdpr\":1}", tcf_ok_geo, INF_PRIV_CONSENT, true},
        {"{\"gdpr\":1,\"coppa\":1}", tcf_ok_geo, INF_PRIV_COPPA, false},
        {"{\"coppa\":1}", NULL, INF_PRIV_COPPA, false},
        {"{\"us_privacy\":\"1YNN\"}", NULL, INF_PRIV_NONE, true},
        {"{\"us_privacy\":\"1YYN\"}", NULL, INF_PRIV_USP_OPT_OUT, false},
        {"{\"ext\":{\"us_privacy\":\"1NYY\"}}", NULL, INF_PRIV_USP_OPT_OUT, false},
        {"{\"us_privacy\":\"1---\"}", NULL, INF_PRIV_NONE, true},
        {"{\"us_privacy\":\"yes\"}", NULL, INF_PRIV_USP_INVALID, false},
        /* GPP: usnat with every opt-out, with only sale, with none */
        {"{\"gpp\":\"DBABLA~BVQVAAAAAUA.YA\",\"gpp_sid\":[7]}", NULL, INF_PRIV_GPP_OPT_OUT, false},
        {"{\"gpp\":\"DBABLA~BbbbGxsbFbA.YA\",\"gpp_sid\":[7]}", NULL, INF_PRIV_GPP_OPT_OUT, false},
        {"{\"gpp\":\"DBABzw~1YNN~BVVqAAEABCA.QA\",\"gpp_sid\":[7]}", NULL, INF_PRIV_NONE, true},
        {"{\"gpp\":\"DBABzw~1YYN~BVVqAAEABCA.QA\",\"gpp_sid\":[6,7]}", NULL, INF_PRIV_GPP_OPT_OUT,
         false},
        /* an opt-out in a section gpp_sid does not name does not apply */
        {"{\"gpp\":\"DBABLA~BVQVAAAAAUA.YA\",\"gpp_sid\":[8]}", NULL, INF_PRIV_NONE, true},
        /* ... but without gpp_sid every section counts */
        {"{\"gpp\":\"DBABLA~BVQVAAAAAUA.YA\"}", NULL, INF_PRIV_GPP_OPT_OUT, false},
        {"{\"ext\":{\"gpp\":\"DBABLA~BVQVAAAAAUA.YA\",\"gpp_sid\":[7]}}", NULL,
         INF_PRIV_GPP_OPT_OUT, false},
        {"{\"gpp\":\"not-gpp\",\"gpp_sid\":[7]}", NULL, INF_PRIV_GPP_INVALID, false},
        /* GDPR through GPP: section 2 listed in gpp_sid, TCF in the string */
        {"{\"gpp\":\"GPP_TCF_OK\",\"gpp_sid\":[2]}", NULL, INF_PRIV_CONSENT, false},
        {"{\"gpp\":\"GPP_TCF_P1\",\"gpp_sid\":[2]}", NULL, INF_PRIV_TCF_PURPOSE, false},
        {"{\"gdpr\":1,\"gpp\":\"GPP_TCF_OK\",\"gpp_sid\":[2]}", NULL, INF_PRIV_CONSENT, false},
        /* user.consent wins over the GPP copy */
        {"{\"gdpr\":1,\"gpp\":\"GPP_TCF_OK\",\"gpp_sid\":[2]}", tcf_p1, INF_PRIV_TCF_PURPOSE,
         false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char regs[1200] = "";
        if (cases[i].regs) {
            const char *src = cases[i].regs, *ok = strstr(src, "GPP_TCF_OK"),
                       *p1 = strstr(src, "GPP_TCF_P1"), *at = ok ? ok : p1;
            if (at)
                snprintf(regs, sizeof regs, "%.*s%s%s", (int)(at - src), src,
                         ok ? gpp_tcf_ok : gpp_tcf_p1, at + 10);
            else snprintf(regs, sizeof regs, "%s", src);
        }
        const char *json = request(cases[i].regs ? regs : NULL, cases[i].consent);
        inf_req_fini(&R);
        CHECK_EQ_INT(inf_req_parse(json, strlen(json), &R, &why), 0);
        bool personal = cases[i].reason == INF_PRIV_NONE || cases[i].reason == INF_PRIV_CONSENT;
        if (R.privacy != (int)cases[i].reason || R.personal_ok != personal ||
            R.has_geo != cases[i].geo) {
            fprintf(stderr, "  case %zu: reason %s personal %d geo %d, want %s\n", i,
                    inf_privacy_reason_name((inf_privacy_reason)R.privacy), R.personal_ok,
                    R.has_geo, inf_privacy_reason_name(cases[i].reason));
            return 1;
        }
        if (personal) {
            CHECK_EQ_STR(R.user_id, "uid-secret");
            CHECK_EQ_STR(R.buyeruid, "buid-secret");
            CHECK_EQ_STR(R.ifa, "ifa-secret");
            /* the cap id: ours first (docs/privacy.md "Frequency caps") */
            CHECK_EQ_STR(R.cap_key, "buid-secret");
            CHECK_EQ_INT(R.cap_kind, BEAT_FCAP_ID_BUYERUID);
            CHECK_EQ_INT(R.n_segments, 2);
            CHECK_EQ_STR(R.segments[1], "seg-secret-2");
        } else {
            CHECK(!R.user_id && !R.buyeruid && !R.ifa && !R.cap_key);
            CHECK_EQ_INT(R.n_segments, 0);
        }
        if (cases[i].geo) CHECK(R.lat == 52.52 && R.lon == 13.405);
        else CHECK(R.lat == 0 && R.lon == 0);
        CHECK_EQ_STR(R.country, "DEU"); /* coarse geo is contextual */
    }
    return 0;
}

/* Reading: the cap id is buyeruid, else ifa, else user.id; user.geo stands in
 * for device.geo; out-of-range or mistyped values are absent; segments are
 * bounded. */
static int t_reading(void) {
    beat_reason why = {{0}};
    static char j[16384];
    int n = snprintf(j, sizeof j,
                     "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
                     "\"site\":{\"domain\":\"a.com\"},\"device\":{\"ifa\":\"i1\","
                     "\"geo\":{\"lat\":91,\"lon\":0}},\"user\":{\"geo\":{\"lat\":-33.9,"
                     "\"lon\":151.2},\"data\":[{\"segment\":[");
    for (int i = 0; i < 40; i++)
        n +=
            snprintf(j + n, sizeof j - (size_t)n, "%s{\"id\":\"s%d\"},{\"id\":7}", i ? "," : "", i);
    snprintf(j + n, sizeof j - (size_t)n, "]},5]}}");
    inf_req_fini(&R);
    CHECK_EQ_INT(inf_req_parse(j, strlen(j), &R, &why), 0);
    CHECK_EQ_STR(R.cap_key, "i1");
    CHECK(R.has_geo && R.lat == -33.9 && R.lon == 151.2);
    CHECK_EQ_INT(R.n_segments, INF_SEGMENTS_MAX);
    CHECK_EQ_STR(R.segments[0], "s0");
    const char *b =
        "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
        "\"site\":{\"domain\":\"a.com\"},\"device\":{\"ifa\":5,\"geo\":{\"lat\":\"1\",\"lon\":2}},"
        "\"user\":{\"buyeruid\":\"b1\",\"data\":{\"segment\":1}}}";
    inf_req_fini(&R);
    CHECK_EQ_INT(inf_req_parse(b, strlen(b), &R, &why), 0);
    CHECK_EQ_STR(R.cap_key, "b1");
    CHECK(!R.ifa && !R.has_geo && R.n_segments == 0);
    /* the cap id order: buyeruid, then ifa, then the exchange's user id */
    const char *ids[] = {"{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER
                         "}],\"site\":{\"domain\":\"a.com\"},\"user\":{\"id\":\"u\","
                         "\"buyeruid\":\"b\"},\"device\":{\"ifa\":\"i\"}}",
                         "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER
                         "}],\"site\":{\"domain\":\"a.com\"},\"user\":{\"id\":\"u\"},"
                         "\"device\":{\"ifa\":\"i\"}}",
                         "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER
                         "}],\"site\":{\"domain\":\"a.com\"},\"user\":{\"id\":\"u\"}}",
                         "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER
                         "}],\"site\":{\"domain\":\"a.com\"}}"};
    const char *want[] = {"b", "i", "u", NULL};
    const int kind[] = {BEAT_FCAP_ID_BUYERUID, BEAT_FCAP_ID_IFA, BEAT_FCAP_ID_USER,
                        BEAT_FCAP_ID_NONE};
    for (int i = 0; i < 4; i++) {
        inf_req_fini(&R);
        CHECK_EQ_INT(inf_req_parse(ids[i], strlen(ids[i]), &R, &why), 0);
        CHECK(want[i] ? R.cap_key && strcmp(R.cap_key, want[i]) == 0 : !R.cap_key);
        CHECK_EQ_INT(R.cap_kind, kind[i]);
    }
    CHECK_EQ_INT(inf_privacy_config(1, "1,25", &why), -EINVAL);
    CHECK_EQ_INT(inf_privacy_config(1, "1,,3", &why), -EINVAL);
    CHECK_EQ_INT(inf_privacy_config(70000, "1", &why), -EINVAL);
    return 0;
}

static bool has_secret(const char *s, size_t n) {
    static const char *const secrets[] = {"uid-secret", "buid-secret", "ifa-secret",
                                          "seg-secret", "52.52",       "13.405"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (memmem(s, n, secrets[i], strlen(secrets[i]))) return true;
    return false;
}

/* The end-to-end property the gate exists for. */
static int t_no_consent_contextual_bid(void) {
    beat_reason why = {{0}};
    CHECK_EQ_INT(inf_privacy_config(VENDOR, "1,3,4", &why), 0);
    make_strings();
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    /* only initech-apps, frequency-capped, left */
    override ov[] = {{BOOSTED, 1, true, false},
                     {"acme-shoes", 1, true, false},
                     {"globex-travel", 1, true, false}};
    inf_world *wc = make_world(ov, 3, T0);
    CHECK(b && w && wc);
    const inf_camp *capped = &wc->camps[2];
    CHECK_EQ_STR(capped->c->id, "initech-apps");
    static inf_result res;
    const char *secrets[] = {"uid-secret", "buid-secret", "ifa-secret"};

    /* With consent the id reaches the cap: the property below is not vacuous. */
    CHECK_EQ_INT(run(b, wc, request("{\"gdpr\":1}", tcf_ok_geo), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    /* the best id is ours (buyeruid), not the exchange's user id */
    CHECK_EQ_INT(
        inf_bidder_freq_count(b, capped, cap_key_of_id(BEAT_FCAP_ID_BUYERUID, "buid-secret"), T0),
        1);
    CHECK_EQ_INT(inf_bidder_freq_count(b, capped, UKEY("uid-secret"), T0), 0);

    /* Without the needed purposes: the capped campaign cannot bid (no key),
     * and no id of the request was counted. */
    inf_bidder *b2 = make_bidder();
    CHECK_EQ_INT(run(b2, wc, request("{\"gdpr\":1}", tcf_p1), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_FREQ_CAP);
    for (int i = 0; i < 3; i++)
        for (int k = BEAT_FCAP_ID_BUYERUID; k <= BEAT_FCAP_ID_USER; k++)
            CHECK_EQ_INT(inf_bidder_freq_count(b2, capped, cap_key_of_id(k, secrets[i]), T0), 0);

    /* The full world bids contextually; its features are exactly those of
     * the same request stripped of every personal field. */
    CHECK_EQ_INT(run(b2, w, request("{\"gdpr\":1}", tcf_p1), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK(!R.personal_ok);
    inf_bid gated = res.bids[0];
    static inf_result plain;
    const char *bare = "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
                       "\"site\":{\"id\":\"102855\",\"domain\":\"www.foobar.com\","
                       "\"cat\":[\"IAB3-1\"],\"publisher\":{\"id\":\"8953\"}},"
                       "\"device\":{\"geo\":{\"country\":\"DEU\"}}}";
    CHECK_EQ_INT(run(b2, w, bare, T0, &plain), 0);
    CHECK_EQ_INT(plain.n, 1);
    CHECK_EQ_INT(gated.n_feat, plain.bids[0].n_feat);
    CHECK(memcmp(gated.feat, plain.bids[0].feat, gated.n_feat * sizeof gated.feat[0]) == 0);

    /* The response and the bid-log event carry none of it. */
    CHECK_EQ_INT(run(b2, w, request("{\"gdpr\":1}", tcf_p1), T0, &res), 0);
    beat_buf out, scratch, enc;
    beat_buf_init(&out, 1 << 20);
    beat_buf_init(&scratch, 1 << 16);
    beat_buf_init(&enc, 1 << 16);
    CHECK_EQ_INT(inf_bidder_response(b2, w, &R, &res, &out, &scratch), 0);
    CHECK(!has_secret(out.data, out.len));
    static beat_event ev;
    inf_bidder_event(b2, w, &R, &res, 0, &ev);
    CHECK_EQ_INT(beat_event_encode(&ev, &enc), 0);
    CHECK(!has_secret(enc.data, enc.len));
    beat_buf_fini(&out);
    beat_buf_fini(&scratch);
    beat_buf_fini(&enc);
    inf_bidder_free(b);
    inf_bidder_free(b2);
    inf_world_free(w);
    inf_world_free(wc);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"decisions", t_decisions},
        {"reading", t_reading},
        {"no_consent_contextual_bid", t_no_consent_contextual_bid},
        {NULL, NULL}};
    int rc = beat_test_main("privacy", tests, argc, argv);
    inf_req_fini(&R);
    return rc;
}
