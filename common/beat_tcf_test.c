/* TCF v2 decoding: real strings from public test suites and CMPs (with the
 * values their own decoders report), strings made by the test encoder
 * (beat_tcf_testlib.h) for every section form, and malformed input. */
#include "beat_tcf.h"
#include "beat_tcf_testlib.h"
#include "beat_test.h"

#include <errno.h>

/* Range-encoded vendor section (one vendor, 423), purposes 1-10, special
 * features 1-2; a disclosed-vendors segment follows the '.'. */
static const char REAL_RANGE[] =
    "COzcJxTOzcJxTBcAAAENAiCMAP_AAAAAAAAADTwAQDTgAAAA.IF5EX2S5OI2tho2YdF7BEYYwfJxyigMgShgQ"
    "IsS8NwIeFbBoGPmAAHBG4JAQAGBAkkACBAQIsHGBcCQABgIgRiRCMQEGMjzNKBJBAggkbI0FACCVmnkHS3ZCY"
    "70-6u__bA";
/* The GPP specification's example TC string: a CMP's "nothing consented". */
static const char REAL_NONE[] = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA";

static int t_real_strings(void) {
    beat_tcf t;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_tcf_decode(REAL_RANGE, strlen(REAL_RANGE), 423, &t, &why), 0);
    CHECK_EQ_INT(t.version, 2);
    CHECK_EQ_INT(t.cmp_id, 92);
    CHECK_EQ_STR(t.language, "EN");
    CHECK_EQ_INT(t.vendor_list_version, 34);
    CHECK_EQ_INT(t.policy_version, 2);
    CHECK_EQ_STR(t.publisher_cc, "AA");
    CHECK_EQ_INT(t.purposes, 0x3ff); /* 1..10 */
    CHECK_EQ_INT(t.special_features, 0x3);
    CHECK_EQ_INT(t.purposes_li, 0);
    CHECK_EQ_INT(t.max_vendor_id, 423);
    CHECK(t.vendor_range && t.vendor_consent);
    CHECK(beat_tcf_purpose(&t, 1) && beat_tcf_purpose(&t, 10) && !beat_tcf_purpose(&t, 11));
    CHECK(beat_tcf_special_feature(&t, 1) && !beat_tcf_special_feature(&t, 3));
    static const int no[] = {0, 1, 10, 422, 424, 65535};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        CHECK_EQ_INT(beat_tcf_decode(REAL_RANGE, strlen(REAL_RANGE), no[i], &t, &why), 0);
        CHECK(!t.vendor_consent);
    }

    CHECK_EQ_INT(beat_tcf_decode(REAL_NONE, strlen(REAL_NONE), 31, &t, &why), 0);
    CHECK_EQ_INT(t.cmp_id, 31);
    CHECK_EQ_INT(t.cmp_version, 640);
    CHECK_EQ_INT(t.vendor_list_version, 126);
    CHECK_EQ_STR(t.publisher_cc, "DE");
    CHECK(t.service_specific);
    CHECK_EQ_INT(t.purposes, 0);
    CHECK_EQ_INT(t.max_vendor_id, 0);
    CHECK(!t.vendor_consent);
    return 0;
}

/* What the encoder writes, the decoder reads, for the table's cases. */
static int t_encoded_table(void) {
    static const int v_some[] = {1, 42, 755, 4202};
    static const struct {
        const char *name;
        tl_tcf spec;
        int vendor;
        bool consent;
    } cases[] = {
        {"bitfield hit",
         {.purposes = 0xd, .max_vendor = 4202, .vendors = v_some, .n_vendors = 4},
         755,
         true},
        {"bitfield miss",
         {.purposes = 0xd, .max_vendor = 4202, .vendors = v_some, .n_vendors = 4},
         756,
         false},
        {"bitfield last",
         {.purposes = 0xd, .max_vendor = 4202, .vendors = v_some, .n_vendors = 4},
         4202,
         true},
        {"bitfield past max",
         {.purposes = 0xd, .max_vendor = 4202, .vendors = v_some, .n_vendors = 4},
         4203,
         false},
        {"range hit",
         {.purposes = 0x1, .max_vendor = 4202, .vendors = v_some, .n_vendors = 4, .range = true},
         42,
         true},
        {"range miss",
         {.purposes = 0x1, .max_vendor = 4202, .vendors = v_some, .n_vendors = 4, .range = true},
         43,
         false},
        {"no vendors", {.purposes = 0xffffff, .max_vendor = 0}, 1, false},
    };
    static char s[16000];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tl_tcf_encode(&cases[i].spec, s);
        beat_tcf t;
        beat_reason why = {{0}};
        if (beat_tcf_decode(s, strlen(s), cases[i].vendor, &t, &why) != 0) {
            fprintf(stderr, "  %s: %s\n", cases[i].name, why.msg);
            return 1;
        }
        CHECK_EQ_INT(t.purposes, cases[i].spec.purposes);
        CHECK_EQ_INT(t.max_vendor_id, cases[i].spec.max_vendor);
        if (t.vendor_consent != cases[i].consent) {
            fprintf(stderr, "  %s: vendor_consent %d\n", cases[i].name, t.vendor_consent);
            return 1;
        }
    }
    return 0;
}

static int t_restrictions(void) {
    static const int v[] = {7};
    tl_tcf spec = {.purposes = 0xf,
                   .special = 1,
                   .max_vendor = 7,
                   .vendors = v,
                   .n_vendors = 1,
                   .restrict_purpose = 3,
                   .restrict_vendor = 7};
    char s[200];
    tl_tcf_encode(&spec, s);
    beat_tcf t;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_tcf_decode(s, strlen(s), 7, &t, &why), 0);
    CHECK_EQ_INT(t.n_restrictions, 1);
    CHECK_EQ_INT(t.restricted, 1u << 2);
    CHECK(t.vendor_consent && beat_tcf_special_feature(&t, 1));
    CHECK_EQ_INT(beat_tcf_decode(s, strlen(s), 8, &t, &why), 0);
    CHECK_EQ_INT(t.restricted, 0);
    return 0;
}

static int t_malformed(void) {
    beat_tcf t;
    beat_reason why = {{0}};
    char s[200];
    CHECK_EQ_INT(beat_tcf_decode("", 0, 1, &t, &why), -EINVAL);
    CHECK_EQ_INT(beat_tcf_decode("CO-tcf", 6, 1, &t, &why), -EINVAL);
    CHECK_REASON(why, "cut short");
    CHECK_EQ_INT(beat_tcf_decode("CO tcf", 6, 1, &t, &why), -EINVAL);
    CHECK_REASON(why, "base64url");
    CHECK_EQ_INT(beat_tcf_decode(".abc", 4, 1, &t, &why), -EINVAL);
    /* A v1 consent string ("B…") is not v2 */
    CHECK_EQ_INT(
        beat_tcf_decode("BOzcJxTOzcJxTBcAAAENAiCMAP_AAAAAAAAADTwAQDTgAAAA", 46, 1, &t, &why),
        -EINVAL);
    CHECK_REASON(why, "version 1");
    /* Every prefix of a valid string is refused, never read past */
    size_t n = strlen(REAL_RANGE);
    const char *dot = strchr(REAL_RANGE, '.');
    for (size_t k = 1; k < (size_t)(dot - REAL_RANGE) - 2; k++)
        CHECK_EQ_INT(beat_tcf_decode(REAL_RANGE, k, 423, &t, &why), -EINVAL);
    CHECK_EQ_INT(beat_tcf_decode(REAL_RANGE, n, 423, &t, &why), 0);
    /* A range past MaxVendorId */
    static const int v[] = {9};
    tl_tcf spec = {.purposes = 1, .max_vendor = 5, .vendors = v, .n_vendors = 1, .range = true};
    tl_tcf_encode(&spec, s);
    CHECK_EQ_INT(beat_tcf_decode(s, strlen(s), 9, &t, &why), -EINVAL);
    CHECK_REASON(why, "outside 1..5");
    /* Too long */
    static char big[BEAT_TCF_MAX_LEN + 2];
    memset(big, 'A', sizeof big - 1);
    big[0] = 'C';
    CHECK_EQ_INT(beat_tcf_decode(big, sizeof big - 1, 1, &t, &why), -EINVAL);
    CHECK_REASON(why, "longer than");
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {{"real_strings", t_real_strings},
                                           {"encoded_table", t_encoded_table},
                                           {"restrictions", t_restrictions},
                                           {"malformed", t_malformed},
                                           {NULL, NULL}};
    return beat_test_main("beat_tcf", tests, argc, argv);
}
