/* The oracle's yardsticks on synthetic auctions: first-price shading never
 * bids above value and maximises the expected surplus, a shading oracle
 * pays less than one that pays its value, second price is untouched, and
 * the pCTR oracle fed the true CTR is the true oracle; the X-Beat-Explain
 * reader takes well-formed headers and refuses the rest whole. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat_test.h"
#include "exsim.h"
#include "explain.h"

enum { N = 6000 };

static uint64_t rng = 88172645463325252ULL;
static double unit(void) { /* xorshift64: the test's own, fixed sequence */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Two campaigns: "a" with a budget that binds, "b" with one out of reach. */
static int load(exs_camps *cs) {
    char path[] = "/tmp/exsim-oracle2-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -errno;
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"campaigns\":[{\"id\":\"a\",\"start_ms\":0,\"end_ms\":9000000000000,"
               "\"budget_micros\":1500000,\"max_bid_cpm_micros\":20000000},"
               "{\"id\":\"b\",\"start_ms\":0,\"end_ms\":9000000000000,"
               "\"budget_micros\":900000000000,\"max_bid_cpm_micros\":2500000}]}");
    fclose(f);
    char err[128];
    int rc = exs_camps_load(path, cs, err, sizeof err);
    unlink(path);
    return rc;
}

/* N auctions, a share of them first price; a lognormal price to beat
 * around $1 CPM; CTRs 1-5 %; pctr_mode 0: none told, 1: = true CTR,
 * 2: told on even auctions only. */
static exs_oracle *market(const exs_camps *cs, double fp_share, int pctr_mode) {
    exs_oracle *o = exs_oracle_new(cs, 1000000);
    rng = 88172645463325252ULL;
    for (int i = 0; o && i < N; i++) {
        double z = sqrt(-2 * log(1 - unit())) * cos(6.283185307179586 * unit());
        int64_t thresh = (int64_t)(1e6 * exp(0.5 * z));
        int at = unit() < fp_share ? 1 : 2;
        float ctr[2] = {(float)(0.01 + 0.04 * unit()), (float)(0.01 + 0.04 * unit())};
        const float *p = pctr_mode == 1 || (pctr_mode == 2 && i % 2 == 0) ? ctr : NULL;
        exs_oracle_add_raw(o, i, thresh, 100000, at, 3, ctr, p, -1, false, 0);
    }
    return o;
}

static int t_shade_bounds(void) {
    exs_camps cs;
    CHECK_EQ_INT(load(&cs), 0);
    exs_oracle *o = market(&cs, 1.0, 0);
    CHECK(o != NULL);
    /* The thresholds again, for a brute-force surplus. */
    static int64_t t[N];
    rng = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        double z = sqrt(-2 * log(1 - unit())) * cos(6.283185307179586 * unit());
        t[i] = (int64_t)(1e6 * exp(0.5 * z));
        unit(), unit(), unit();
    }
    double prev = 0;
    for (double v = 1e5; v < 2e7; v *= 1.15) {
        double b = exs_oracle_shade(o, 0, v);
        CHECK(b >= 0 && b <= v);
        CHECK(b >= prev); /* monotone in value: the λ bisection relies on it */
        prev = b;
        double got = 0, best = 0;
        for (int i = 0; i < N; i++) got += t[i] < b;
        got = (v - b) * got / N;
        for (int j = 0; j < N; j++) { /* every bid one micro above a threshold */
            double bb = (double)t[j] + 1, f = 0;
            for (int i = 0; i < N; i += 1) f += t[i] < bb;
            if ((v - bb) * f / N > best) best = (v - bb) * f / N;
            if (j > 600) j += 7; /* enough of the tail */
        }
        CHECK(got >= best - 1e-6 * v);
    }
    exs_oracle_free(o);
    exs_camps_fini(&cs);
    return 0;
}

static int t_shading_pays_less(void) {
    exs_camps cs;
    CHECK_EQ_INT(load(&cs), 0);
    exs_oracle *o = market(&cs, 1.0, 0);
    exs_oracle_res flat[2], shaded[2];
    CHECK_EQ_INT(exs_oracle_solve(o, false, false, flat), 0);
    CHECK_EQ_INT(exs_oracle_solve(o, false, true, shaded), 0);
    /* a: the budget binds either way; shading buys its wins cheaper, so
     * it gets more of them and more clicks for the same money. */
    CHECK(flat[0].spend_cpm <= 1.5e9 && shaded[0].spend_cpm <= 1.5e9);
    CHECK(shaded[0].spend_cpm > 1.4e9);
    CHECK(shaded[0].fp_paid_cpm / (double)shaded[0].fp_wins <
          flat[0].fp_paid_cpm / (double)flat[0].fp_wins);
    CHECK(shaded[0].clicks > flat[0].clicks);
    /* b bids its cap everywhere: shaded, it pays less than the cap. */
    CHECK(shaded[1].wins > 0);
    CHECK(shaded[1].spend_cpm < flat[1].spend_cpm);
    CHECK(shaded[1].fp_paid_cpm < 2.5e6 * (double)shaded[1].fp_wins);
    CHECK(flat[1].fp_paid_cpm == 2.5e6 * (double)flat[1].fp_wins);
    exs_oracle_free(o);
    exs_camps_fini(&cs);
    return 0;
}

static int t_second_price_untouched(void) {
    exs_camps cs;
    CHECK_EQ_INT(load(&cs), 0);
    exs_oracle *o = market(&cs, 0.0, 0);
    exs_oracle_res flat[2], shaded[2];
    CHECK_EQ_INT(exs_oracle_solve(o, false, false, flat), 0);
    CHECK_EQ_INT(exs_oracle_solve(o, false, true, shaded), 0);
    for (int c = 0; c < 2; c++) {
        CHECK(flat[c].wins == shaded[c].wins && flat[c].spend_cpm == shaded[c].spend_cpm);
        CHECK(flat[c].clicks == shaded[c].clicks && shaded[c].fp_wins == 0);
    }
    exs_oracle_free(o);
    exs_camps_fini(&cs);
    return 0;
}

static int t_pctr_oracle(void) {
    exs_camps cs;
    CHECK_EQ_INT(load(&cs), 0);
    exs_oracle *o = market(&cs, 0.3, 1);
    exs_oracle_res t[2], p[2];
    CHECK_EQ_INT(exs_oracle_solve(o, false, true, t), 0);
    CHECK_EQ_INT(exs_oracle_solve(o, true, true, p), 0);
    for (int c = 0; c < 2; c++) { /* pCTR = true CTR: the same bidder */
        CHECK(t[c].wins == p[c].wins && t[c].elig == p[c].elig && t[c].elig == N);
        CHECK(fabs(t[c].clicks - p[c].clicks) < 1e-6 && t[c].spend_cpm == p[c].spend_cpm);
        CHECK(fabs(p[c].score_sum - p[c].clicks) < 1e-6);
    }
    exs_oracle_free(o);
    /* Told on half the auctions: the pCTR oracle may bid on those only. */
    o = market(&cs, 0.3, 2);
    CHECK_EQ_INT(exs_oracle_solve(o, true, true, p), 0);
    CHECK(p[0].elig == N / 2 && p[0].wins > 0);
    CHECK_EQ_INT(exs_oracle_solve(o, false, true, t), 0);
    CHECK(t[0].elig == N);
    exs_oracle_free(o);
    exs_camps_fini(&cs);
    return 0;
}

static int find(void *arg, const char *id, size_t n) {
    (void)arg;
    if (n == 1 && id[0] == 'a') return 0;
    if (n == 2 && memcmp(id, "bb", 2) == 0) return 1;
    return -1;
}

static int t_explain_parse(void) {
    float p[2];
    int64_t v;
    const char *ok = "v=1250000;a=0.0123457,x.y=0.5,bb=3e-05";
    CHECK_EQ_INT(exs_explain_parse(ok, strlen(ok), find, NULL, p, 2, &v), 2);
    CHECK(v == 1250000 && fabsf(p[0] - 0.0123457f) < 1e-9 && fabsf(p[1] - 3e-5f) < 1e-12);
    const char *none = "v=0;";
    CHECK_EQ_INT(exs_explain_parse(none, strlen(none), find, NULL, p, 2, &v), 0);
    CHECK(v == 0 && isnan(p[0]) && isnan(p[1]));
    const char *bad[] = {"",           "v=",         "v=x;a=0.1",   "w=1;a=0.1",
                         "v=1;a=0.1,", "v=1;a=1.5",  "v=1;a",       "v=1;a=0.1;bb=0.2",
                         "v=1;a=nan",  "v=-3;a=0.1", "v=1;a b=0.1", "v=1;a=0.1,,bb=0.2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(exs_explain_parse(bad[i], strlen(bad[i]), find, NULL, p, 2, &v), -EINVAL);
        CHECK(v == 0 && isnan(p[0]) && isnan(p[1]));
    }
    /* Not NUL-terminated: only len bytes are read. */
    char buf[16];
    memcpy(buf, "v=7;a=0.25XXXXX", 15);
    CHECK_EQ_INT(exs_explain_parse(buf, 10, find, NULL, p, 2, &v), 1);
    CHECK(v == 7 && p[0] == 0.25f);
    return 0;
}

/* The oracle's eligibility follows the engine's geography and audience
 * rules on what the request carries: "plain" targets nothing, the others
 * the same plus one rule each. */
static int t_geo_eligibility(void) {
    char path[] = "/tmp/exsim-geo-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const char *cr = "\"creatives\":[{\"crid\":\"b\",\"w\":300,\"h\":250},"
                     "{\"crid\":\"s\",\"w\":320,\"h\":50},{\"format\":\"video\"},"
                     "{\"format\":\"native\"}]";
    const char *t[] = {"{}", "{\"regions\":[\"USA:NY\"]}",
                       "{\"segments_include\":[{\"provider\":\"exsim-dmp\",\"ids\":[\"auto\"]}]}",
                       "{\"radius\":[{\"lat\":40.7128,\"lon\":-74.006,\"radius_km\":30}]}",
                       "{\"lists_include\":[\"crm\"]}"};
    fprintf(f, "{\"campaigns\":[");
    for (int i = 0; i < 5; i++)
        fprintf(f,
                "%s{\"id\":\"c%d\",\"start_ms\":0,\"end_ms\":9000000000000,"
                "\"budget_micros\":1,\"max_bid_cpm_micros\":1,\"targeting\":%s,%s}",
                i ? "," : "", i, t[i], cr);
    fprintf(f, "]}");
    fclose(f);
    exs_camps cs;
    char err[128];
    int rc = exs_camps_load(path, &cs, err, sizeof err);
    unlink(path);
    CHECK_EQ_INT(rc, 0);
    exs_world w;
    exs_world_init(&w, 7, 1.0, 0.5);
    exs_consent_init(0.6, 755);
    int hits[5] = {0};
    for (uint64_t s = 0; s < 5000; s++) {
        exs_req r;
        exs_req_gen(&w, s, &r);
        bool plain = exs_camp_eligible(&cs, 0, &w, &r, 1000);
        bool ny = r.ctry == 0 && r.place == 0, pers = exs_personal_ok(&r);
        bool want[5] = {plain, plain && ny, plain && pers && (r.segs & 1u),
                        plain && pers && r.latlon && ny, false};
        for (int i = 0; i < 5; i++) {
            bool got = exs_camp_eligible(&cs, i, &w, &r, 1000);
            CHECK_EQ_INT(got, want[i]);
            hits[i] += got;
        }
    }
    for (int i = 0; i < 4; i++) CHECK(hits[i] > 0);
    exs_camps_fini(&cs);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {{"shade_bounds", t_shade_bounds},
                                           {"shading_pays_less", t_shading_pays_less},
                                           {"second_price_untouched", t_second_price_untouched},
                                           {"pctr_oracle", t_pctr_oracle},
                                           {"explain_parse", t_explain_parse},
                                           {"geo_eligibility", t_geo_eligibility},
                                           {NULL, NULL}};
    return beat_test_main("exsim_oracle", tests, argc, argv);
}
