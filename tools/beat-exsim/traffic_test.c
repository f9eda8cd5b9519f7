/* beat-exsim internals: deterministic traffic, a hidden CTR in the intended
 * range that depends on the campaign, market prices around the median,
 * valid request JSON, macro substitution and click-link extraction. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "beat_test.h"
#include "exsim.h"

static int t_deterministic(void) {
    exs_world a, b;
    exs_world_init(&a, 42, 1.0, 0.5);
    exs_world_init(&b, 42, 1.0, 0.5);
    for (uint64_t s = 0; s < 100; s++) {
        exs_req x, y;
        exs_req_gen(&a, s, &x);
        exs_req_gen(&b, s, &y);
        CHECK(x.dom == y.dom && x.size == y.size && x.user == y.user &&
              x.floor_cpm_micros == y.floor_cpm_micros);
        CHECK(exs_true_ctr(&a, &x, "c1") == exs_true_ctr(&b, &y, "c1"));
        CHECK(exs_market_cpm_micros(&a, &x) == exs_market_cpm_micros(&b, &y));
    }
    exs_world c;
    exs_world_init(&c, 43, 1.0, 0.5);
    int same = 0;
    for (uint64_t s = 0; s < 100; s++) {
        exs_req x, y;
        exs_req_gen(&a, s, &x);
        exs_req_gen(&c, s, &y);
        same += x.dom == y.dom && x.user == y.user;
    }
    CHECK(same < 10); /* another seed, other traffic */
    return 0;
}

static int t_ctr_range_and_campaign_effect(void) {
    for (uint64_t seed = 1; seed <= 4; seed++) {
        exs_world w;
        exs_world_init(&w, seed, 1.0, 0.5);
        static const char *const C[] = {"c1", "c2", "camp-x", "brand"};
        double means[4] = {0}, lo = 1, hi = 0;
        int blocked = 0;
        enum { N = 20000 };
        for (uint64_t s = 0; s < N; s++) {
            exs_req r;
            exs_req_gen(&w, s, &r);
            blocked += r.dom == EXS_DOMAINS;
            CHECK(r.floor_cpm_micros >= 100000 && r.floor_cpm_micros <= 800000);
            for (int k = 0; k < 4; k++) {
                double p = exs_true_ctr(&w, &r, C[k]);
                means[k] += p / N;
                if (p < lo) lo = p;
                if (p > hi) hi = p;
            }
        }
        for (int k = 0; k < 4; k++) {
            if (means[k] <= 0.01 || means[k] >= 0.035)
                fprintf(stderr, "  seed %d: mean ctr %s = %.4f\n", (int)seed, C[k], means[k]);
            CHECK(means[k] > 0.01 && means[k] < 0.035);
        }
        CHECK(hi / lo > 10); /* features matter: something to learn */
        CHECK(fabs(means[0] - means[1]) > 1e-4 || fabs(means[2] - means[3]) > 1e-4);
        CHECK(blocked > N / 100 && blocked < N / 20);
    }
    return 0;
}

static int t_market(void) {
    exs_world w;
    exs_world_init(&w, 5, 1.0, 0.5);
    int below = 0;
    enum { N = 10000 };
    for (uint64_t s = 0; s < N; s++) {
        exs_req r;
        exs_req_gen(&w, s, &r);
        int64_t m = exs_market_cpm_micros(&w, &r);
        CHECK(m > 0);
        below += m < 1000000;
    }
    CHECK(below > N * 45 / 100 && below < N * 55 / 100); /* median ≈ 1.0 */
    return 0;
}

static int t_request_json(void) {
    exs_world w;
    exs_world_init(&w, 9, 1.0, 0.5);
    for (uint64_t s = 0; s < 50; s++) {
        exs_req r;
        exs_req_gen(&w, s, &r);
        beat_buf b;
        beat_buf_init(&b, 8192);
        CHECK_EQ_INT(exs_req_json(&w, &r, 100, &b), 0);
        cJSON *j = cJSON_Parse(b.data);
        CHECK(j != NULL);
        CHECK_EQ_STR(cJSON_GetObjectItem(j, "id")->valuestring, r.id);
        cJSON *imp = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "imp"), 0);
        double floor = cJSON_GetObjectItem(imp, "bidfloor")->valuedouble;
        CHECK(llround(floor * 1e6) == r.floor_cpm_micros);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "tmax")->valueint, 100);
        cJSON_Delete(j);
        beat_buf_fini(&b);
    }
    return 0;
}

static int t_macros(void) {
    const char *names[] = {"AUCTION_ID", "AUCTION_PRICE"};
    const char *vals[] = {"A1", "1.500000"};
    char out[128];
    CHECK_EQ_INT(exs_macro_subst("x?a=${AUCTION_ID}&p=${AUCTION_PRICE}&q=${OTHER}&z=${",
                                 names, vals, 2, out, sizeof out), 0);
    CHECK_EQ_STR(out, "x?a=A1&p=1.500000&q=${OTHER}&z=${");
    CHECK_EQ_INT(exs_macro_subst("${AUCTION_ID}${AUCTION_ID}", names, vals, 2, out, 4), -EMSGSIZE);
    CHECK_EQ_INT(exs_macro_subst("", names, vals, 2, out, sizeof out), 0);
    CHECK_EQ_STR(out, "");
    return 0;
}

static int t_href(void) {
    char out[128];
    CHECK_EQ_INT(exs_adm_href("<a href=\"http://r/click?a=1&amp;u=x%2F\"><img></a>", out,
                              sizeof out), 0);
    CHECK_EQ_STR(out, "http://r/click?a=1&u=x%2F");
    CHECK_EQ_INT(exs_adm_href("<a href='http://x/y'>", out, sizeof out), 0);
    CHECK_EQ_STR(out, "http://x/y");
    CHECK_EQ_INT(exs_adm_href("<img src=x>", out, sizeof out), -ENOENT);
    CHECK_EQ_INT(exs_adm_href("<a href=\"unterminated", out, sizeof out), -ENOENT);
    CHECK_EQ_INT(exs_adm_href("<a href=\"\">", out, sizeof out), -ENOENT);
    CHECK_EQ_INT(exs_adm_href("<a href=\"http://long/\">", out, 8), -EMSGSIZE);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"deterministic", t_deterministic},
        {"ctr_range_and_campaign_effect", t_ctr_range_and_campaign_effect},
        {"market", t_market},
        {"request_json", t_request_json},
        {"macros", t_macros},
        {"href", t_href},
        {NULL, NULL}};
    return beat_test_main("exsim_traffic", tests, argc, argv);
}
