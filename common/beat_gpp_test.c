/* US Privacy and GPP decoding: real strings from the GPP specification and
 * public test suites (with the values their decoders report), strings made
 * by the test encoder (beat_tcf_testlib.h) for each US section's opt-out
 * offsets, and malformed input. */
#include "beat_gpp.h"
#include "beat_tcf.h"
#include "beat_tcf_testlib.h"
#include "beat_test.h"

#include <errno.h>

static int t_usp(void) {
    static const struct {
        const char *s;
        int rc;
        char sale;
    } cases[] = {
        {"1YNN", 0, 'N'},     {"1YYY", 0, 'Y'},     {"1---", 0, '-'},
        {"1nyn", 0, 'Y'},     {"", -EINVAL, 0},     {"1YN", -EINVAL, 0},
        {"2YNN", -EINVAL, 0}, {"1YXN", -EINVAL, 0}, {"1YNNN", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        beat_usp u = {0};
        beat_reason why = {{0}};
        CHECK_EQ_INT(beat_usp_decode(cases[i].s, strlen(cases[i].s), &u, &why), cases[i].rc);
        if (cases[i].rc == 0) CHECK_EQ_INT(u.opt_out_sale, cases[i].sale);
    }
    return 0;
}

static int decode(const char *s, beat_gpp *g) {
    beat_reason why = {{0}};
    int rc = beat_gpp_decode(s, strlen(s), g, &why);
    if (rc) fprintf(stderr, "  %s: %s\n", s, why.msg);
    return rc;
}

/* The specification's header examples and strings from public suites. */
static int t_real_strings(void) {
    beat_gpp g;
    CHECK_EQ_INT(decode("DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", &g), 0);
    CHECK_EQ_INT(g.n_ids, 1);
    CHECK_EQ_INT(g.ids[0], 2);
    CHECK_EQ_INT(g.tcf_len, 44);
    beat_tcf t;
    beat_reason why = {{0}};
    static const char S[] = "DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN";
    CHECK_EQ_INT(decode(S, &g), 0);
    CHECK_EQ_INT(g.n_ids, 2);
    CHECK(beat_gpp_has(&g, 2) && beat_gpp_has(&g, 6) && !beat_gpp_has(&g, 7));
    CHECK(g.has_usp && g.usp.opt_out_sale == 'N' && g.usp.notice == 'Y');
    CHECK_EQ_INT(beat_tcf_decode(S + g.tcf_off, g.tcf_len, 31, &t, &why), 0);
    CHECK_EQ_INT(t.cmp_id, 31);
    /* A range entry in the header: sections 5 and 6 */
    CHECK_EQ_INT(decode("DBABjw~BPXuQIAPXuQIAAfKABENB-CgAAAAAAAAAAAAAAAA.YAAAAAAAAAA~1YNN", &g), 0);
    CHECK_EQ_INT(g.n_ids, 2);
    CHECK(g.ids[0] == 5 && g.ids[1] == 6 && g.has_usp);
    /* usnat with every opt-out set to 1, and with 1/2/3 */
    CHECK_EQ_INT(decode("DBABLA~BVQVAAAAAUA.YA", &g), 0);
    CHECK_EQ_INT(g.n_us, 1);
    CHECK(g.us[0].id == 7 && g.us[0].sale == 1 && g.us[0].sharing == 1 && g.us[0].targeted == 1);
    CHECK_EQ_INT(decode("DBABLA~BbbbGxsbFbA.YA", &g), 0);
    CHECK(g.us[0].sale == 1 && g.us[0].sharing == 2 && g.us[0].targeted == 3);
    CHECK_EQ_INT(decode("DBABzw~1YNN~BVVqAAEABCA.QA", &g), 0);
    CHECK(g.n_ids == 2 && g.ids[0] == 6 && g.ids[1] == 7 && g.has_usp && g.n_us == 1);
    CHECK(g.us[0].sale == 2 && g.us[0].sharing == 2 && g.us[0].targeted == 2);
    /* State sections from a public suite, one each, "did not opt out" (2) */
    static const struct {
        int id;
        const char *section;
        int sale, sharing, targeted;
    } st[] = {
        {8, "BVoYYZoI", 2, 2, -1},
        {9, "BVoYYYI", 2, -1, 2},
        {10, "BVoYYQg", 2, -1, 2},
        {11, "BVaGGGCA.QA", 2, -1, 2},
        {12, "BVoYYYQg", 2, -1, 2},
        /* the GPP Java library's decode tests: Virginia and Utah */
        {9, "BbYbG9s", 1, -1, 2},
        {11, "BbWGxvbA", 1, -1, 2},
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        char s[128], h[32];
        tl_gpp_header(&st[i].id, 1, h);
        snprintf(s, sizeof s, "%s~%s", h, st[i].section);
        CHECK_EQ_INT(decode(s, &g), 0);
        CHECK_EQ_INT(g.n_us, 1);
        CHECK_EQ_INT(g.us[0].id, st[i].id);
        CHECK_EQ_INT(g.us[0].sale, st[i].sale);
        CHECK_EQ_INT(g.us[0].sharing, st[i].sharing);
        CHECK_EQ_INT(g.us[0].targeted, st[i].targeted);
    }
    return 0;
}

/* Each US section's opt-out offsets, through the encoder: an opt-out (1)
 * in one field reads back in that field only. */
static int t_us_offsets(void) {
    static const struct {
        int id, sale, sharing, targeted, nfields;
    } sec[] = {
        {7, 12, 14, 16, 30}, {8, 6, 8, -1, 20},   {9, 6, -1, 8, 20},
        {10, 6, -1, 8, 20},  {11, 8, -1, 10, 20}, {12, 6, -1, 8, 20},
    };
    for (size_t i = 0; i < sizeof sec / sizeof sec[0]; i++)
        for (int f = 0; f < 3; f++) {
            int off[3] = {sec[i].sale, sec[i].sharing, sec[i].targeted};
            if (off[f] < 0) continue;
            int val[3] = {2, 2, 2};
            val[f] = 1;
            char body[64], h[32], s[128];
            tl_gpp_us(off[0], val[0], off[1], val[1], off[2], val[2], sec[i].nfields, body);
            tl_gpp_header(&sec[i].id, 1, h);
            snprintf(s, sizeof s, "%s~%s", h, body);
            beat_gpp g;
            CHECK_EQ_INT(decode(s, &g), 0);
            int got[3] = {g.us[0].sale, g.us[0].sharing, g.us[0].targeted};
            for (int k = 0; k < 3; k++) CHECK_EQ_INT(got[k], off[k] < 0 ? -1 : val[k]);
        }
    /* several sections: 2, 7 and 8 */
    static const int ids[] = {2, 7, 8};
    char h[32], s[256], nat[64], ca[64];
    tl_gpp_header(ids, 3, h);
    tl_gpp_us(12, 2, 14, 2, 16, 2, 30, nat);
    tl_gpp_us(6, 1, 8, 2, -1, -1, 20, ca);
    snprintf(s, sizeof s, "%s~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~%s~%s", h, nat, ca);
    beat_gpp g;
    CHECK_EQ_INT(decode(s, &g), 0);
    CHECK(g.n_ids == 3 && g.n_us == 2 && g.tcf_len == 44);
    CHECK(g.us[0].id == 7 && g.us[0].sale == 2 && g.us[1].id == 8 && g.us[1].sale == 1);
    return 0;
}

static int t_malformed(void) {
    static const char *const bad[] = {
        "",                                                     /* empty */
        "DBABMA",                                               /* a section listed, none present */
        "DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", /* one of two */
        "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",         /* a TC string, type 2 */
        "DCABMA~x",                                             /* header version 2 */
        "DBABLA~B!!",                                           /* section not base64url */
        "DBABLA~B",                                             /* usnat cut short */
        "DBABLA~",                                              /* empty section */
        "DBACNYA~x~1YN",                                        /* bad uspv1 inside */
        "DBA",                                                  /* header cut short */
        "D BABMA~x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        beat_gpp g;
        beat_reason why = {{0}};
        if (beat_gpp_decode(bad[i], strlen(bad[i]), &g, &why) != -EINVAL) {
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
            return 1;
        }
        CHECK(why.msg[0]);
    }
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {{"usp", t_usp},
                                           {"real_strings", t_real_strings},
                                           {"us_offsets", t_us_offsets},
                                           {"malformed", t_malformed},
                                           {NULL, NULL}};
    return beat_test_main("beat_gpp", tests, argc, argv);
}
