/* beat-exsim internals: deterministic traffic, a hidden CTR in the intended
 * range that depends on the campaign, market prices around the median,
 * valid request JSON, GDPR users' TCF strings, macro substitution and
 * click-link extraction. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "beat_tcf.h"
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
        CHECK(x.dom == y.dom && x.size == y.size && x.user == y.user && x.fmt == y.fmt &&
              x.floor_cur_micros == y.floor_cur_micros && x.deal == y.deal && x.ver == y.ver);
        CHECK(exs_true_ctr(&a, &x, "c1") == exs_true_ctr(&b, &y, "c1"));
        CHECK(exs_market_cpm_micros(&a, &x, 1.0) == exs_market_cpm_micros(&b, &y, 1.0));
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
        int blocked = 0, fmts[3] = {0}, apps = 0, deals = 0, priv = 0, cur[3] = {0}, v26 = 0;
        enum { N = 20000 };
        for (uint64_t s = 0; s < N; s++) {
            exs_req r;
            exs_req_gen(&w, s, &r);
            blocked += r.dom == EXS_BLOCKED;
            fmts[r.fmt]++;
            apps += r.app;
            deals += r.deal >= 0;
            priv += r.private_auction;
            cur[r.cur]++;
            v26 += r.ver == 26;
            CHECK(r.floor_usd_micros >= 100000 && r.floor_usd_micros <= 4100000);
            CHECK(r.floor_cur_micros % 10000 == 0);
            CHECK(!r.private_auction || r.deal >= 0);
            for (int k = 0; k < 4; k++) {
                double p = exs_true_ctr(&w, &r, C[k]);
                means[k] += p / N;
                if (p < lo) lo = p;
                if (p > hi) hi = p;
            }
        }
        for (int k = 0; k < 4; k++) {
            if (means[k] <= 0.015 || means[k] >= 0.06)
                fprintf(stderr, "  seed %d: mean ctr %s = %.4f\n", (int)seed, C[k], means[k]);
            CHECK(means[k] > 0.015 && means[k] < 0.06);
        }
        CHECK(hi / lo > 10); /* features matter: something to learn */
        CHECK(fabs(means[0] - means[1]) > 1e-4 || fabs(means[2] - means[3]) > 1e-4);
        CHECK(blocked > N / 200 && blocked < N / 20);
        CHECK(fmts[0] > N / 2 && fmts[1] > N / 20 && fmts[2] > N / 20);
        CHECK(apps > N / 5 && apps < N / 2);
        CHECK(deals > N / 50 && priv > 0 && priv < deals);
        CHECK(cur[1] > N / 20 && cur[2] > N / 50 && v26 > N / 5 && v26 < N / 2);
    }
    return 0;
}

static int t_market(void) {
    exs_world w;
    exs_world_init(&w, 5, 1.0, 0.5);
    double sum[3] = {0};
    int n[3] = {0}, none = 0;
    enum { N = 10000 };
    for (uint64_t s = 0; s < N; s++) {
        exs_req r;
        exs_req_gen(&w, s, &r);
        int64_t m = exs_market_cpm_micros(&w, &r, 1.0);
        CHECK(m >= 0);
        if (m == 0) {
            none++;
            continue;
        }
        sum[r.fmt] += log((double)m / 1e6);
        n[r.fmt]++;
        CHECK(exs_market_cpm_micros(&w, &r, 1.2) > m); /* the price wave moves it */
    }
    CHECK(none > N / 40 && none < N / 5);
    double banner = exp(sum[0] / n[0]), video = exp(sum[1] / n[1]);
    CHECK(banner > 0.5 && banner < 1.6); /* around the median */
    CHECK(video > 3 * banner);           /* video costs more */
    return 0;
}

static int t_request_json(void) {
    exs_world w;
    exs_world_init(&w, 9, 1.0, 0.5);
    static const char *const badv[] = {"acme.example"};
    w.badv = badv;
    w.n_badv = 1;
    int seen[3] = {0}, deal = 0, fmtarr = 0;
    for (uint64_t s = 0; s < 400; s++) {
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
        CHECK(llround(floor * 1e6) == r.floor_cur_micros);
        CHECK_EQ_STR(cJSON_GetObjectItem(imp, "bidfloorcur")->valuestring, EXS_CUR[r.cur]);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "tmax")->valueint, 100);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "at")->valueint, r.at);
        CHECK((cJSON_GetObjectItem(j, "site") != NULL) != (cJSON_GetObjectItem(j, "app") != NULL));
        CHECK((cJSON_GetObjectItem(j, "app") != NULL) == (r.app == 1));
        if (r.fmt == EXS_BANNER) {
            cJSON *bn = cJSON_GetObjectItem(imp, "banner");
            CHECK(bn != NULL);
            fmtarr += cJSON_GetObjectItem(bn, "format") != NULL;
        } else if (r.fmt == EXS_VIDEO) {
            cJSON *v = cJSON_GetObjectItem(imp, "video");
            CHECK(v && cJSON_GetObjectItem(v, "mimes") && cJSON_GetObjectItem(v, "protocols"));
            CHECK(cJSON_GetObjectItem(v, "maxduration")->valueint >= 15);
        } else {
            cJSON *n = cJSON_GetObjectItem(imp, "native");
            CHECK(n && cJSON_IsString(cJSON_GetObjectItem(n, "request")));
            cJSON *nr = cJSON_Parse(cJSON_GetObjectItem(n, "request")->valuestring);
            CHECK(nr && cJSON_GetArraySize(cJSON_GetObjectItem(nr, "assets")) == 3);
            cJSON_Delete(nr);
        }
        seen[r.fmt]++;
        cJSON *pmp = cJSON_GetObjectItem(imp, "pmp");
        CHECK((pmp != NULL) == (r.deal >= 0));
        if (pmp) {
            deal++;
            CHECK_EQ_INT(cJSON_GetObjectItem(pmp, "private_auction")->valueint, r.private_auction);
            cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(pmp, "deals"), 0);
            CHECK_EQ_STR(cJSON_GetObjectItem(d, "id")->valuestring, exs_deal_id(r.deal));
        }
        cJSON *regs = cJSON_GetObjectItem(j, "regs");
        if (r.ver == 26) CHECK(cJSON_GetObjectItem(regs, "gdpr") != NULL);
        else CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(regs, "ext"), "gdpr") != NULL);
        CHECK((cJSON_GetObjectItem(j, "badv") != NULL) == (r.badv >= 0));
        cJSON_Delete(j);
        beat_buf_fini(&b);
    }
    CHECK(seen[0] && seen[1] && seen[2] && deal && fmtarr);
    return 0;
}

static int t_curve(void) {
    exs_curve c = {0};
    c.wave = 0.5;
    double sum = 0, lo = 9, hi = 0;
    for (int i = 0; i < 1000; i++) {
        double v = exs_curve_at(&c, i / 1000.0, i / 1000.0);
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    CHECK(fabs(sum / 1000 - 1.0) < 0.01); /* the wave keeps the mean rate */
    CHECK(lo >= 0.5 - 1e-9 && hi <= 1.5 + 1e-9 && hi - lo > 0.8);
    CHECK_EQ_INT(exs_curve_add(&c, "0.6:0.1:5"), 0);
    CHECK_EQ_INT(exs_curve_add(&c, "0.2:0.05:0.2"), 0);
    CHECK_EQ_INT(exs_curve_add(&c, "1.2:0.1:5"), -EINVAL);
    CHECK_EQ_INT(exs_curve_add(&c, "0.1:0.1"), -EINVAL);
    exs_curve flat = {0};
    CHECK(exs_curve_at(&flat, 0.3, 0.3) == 1.0);
    CHECK(fabs(exs_curve_at(&c, 0.65, 0.65) / (1.0 + 0.5 * exs_daily(0.65)) - 5.0) < 1e-9);
    CHECK(fabs(exs_curve_at(&c, 0.22, 0.22) / (1.0 + 0.5 * exs_daily(0.22)) - 0.2) < 1e-9);
    CHECK(fabs(exs_curve_at(&c, 0.75, 0.75) - (1.0 + 0.5 * exs_daily(0.75))) < 1e-9);
    return 0;
}

/* The oracle spends each budget (nearly) exactly and never above it, and
 * the Bayes AUC of the true CTR beats chance. */
static int t_oracle(void) {
    char path[] = "/tmp/exsim-oracle-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"campaigns\":[{\"id\":\"a\",\"start_ms\":0,\"end_ms\":9000000000000,"
               "\"budget_micros\":2000000,\"max_bid_cpm_micros\":8000000,\"creatives\":"
               "[{\"w\":300,\"h\":250},{\"w\":728,\"h\":90},{\"format\":\"video\"}]},"
               "{\"id\":\"b\",\"start_ms\":0,\"end_ms\":9000000000000,"
               "\"budget_micros\":1000000000,\"max_bid_cpm_micros\":3000000,\"creatives\":"
               "[{\"w\":300,\"h\":250}],\"targeting\":{\"countries\":[\"USA\"]}}]}");
    fclose(f);
    exs_camps cs;
    char err[128];
    CHECK_EQ_INT(exs_camps_load(path, &cs, err, sizeof err), 0);
    unlink(path);
    CHECK_EQ_INT(cs.n, 2);
    exs_world w;
    exs_world_init(&w, 3, 1.0, 0.5);
    exs_oracle *o = exs_oracle_new(&cs, 100000);
    int elig_b = 0, usa = 0;
    for (uint64_t s = 0; s < 20000; s++) {
        exs_req r;
        exs_req_gen(&w, s, &r);
        double ctr = exs_true_ctr(&w, &r, "a");
        bool e = exs_camp_eligible(&cs, 1, &w, &r, 1000);
        elig_b += e;
        usa += r.ctry == 0 && r.fmt == EXS_BANNER && r.size == 0;
        CHECK(!e || r.ctry == 0);
        /* Pretend the engine won every third auction with campaign a. */
        bool won = s % 3 == 0;
        exs_oracle_add(o, &w, &r, 1000 + (int64_t)s, exs_market_cpm_micros(&w, &r, 1.0),
                       won ? 0 : -1, won && exs_unit(&w, s, 99) < ctr, won ? ctr : 0, NULL);
    }
    CHECK(elig_b > 0 && elig_b <= usa + usa / 2);
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(exs_oracle_json(o, &w, 5000, &b), 0);
    char *doc = malloc(b.len + 3);
    snprintf(doc, b.len + 3, "{%s}", b.data + 1);
    cJSON *j = cJSON_Parse(doc);
    CHECK(j != NULL);
    cJSON *oc = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "oracle"), "campaigns");
    cJSON *a = cJSON_GetObjectItem(oc, "a"), *bb = cJSON_GetObjectItem(oc, "b");
    double spend_a = cJSON_GetObjectItem(a, "spend_micros")->valuedouble;
    CHECK(spend_a <= 2000000 && spend_a > 1990000); /* exactly the budget */
    CHECK(cJSON_GetObjectItem(a, "clicks")->valuedouble > 0);
    /* b's budget is out of reach: it bids its cap everywhere it may. */
    CHECK(cJSON_GetObjectItem(bb, "spend_micros")->valuedouble < 1000000000);
    CHECK(cJSON_GetObjectItem(bb, "wins")->valueint > 0);
    double auc = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "bayes_auc"), "overall")->valuedouble;
    CHECK(auc > 0.6 && auc < 0.95);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "bayes_auc"), "windows")) ==
          4);
    cJSON_Delete(j);
    free(doc);
    beat_buf_fini(&b);
    exs_oracle_free(o);
    exs_camps_fini(&cs);
    return 0;
}

static int t_macros(void) {
    const char *names[] = {"AUCTION_ID", "AUCTION_PRICE"};
    const char *vals[] = {"A1", "1.500000"};
    char out[128];
    CHECK_EQ_INT(exs_macro_subst("x?a=${AUCTION_ID}&p=${AUCTION_PRICE}&q=${OTHER}&z=${", names,
                                 vals, 2, out, sizeof out),
                 0);
    CHECK_EQ_STR(out, "x?a=A1&p=1.500000&q=${OTHER}&z=${");
    CHECK_EQ_INT(exs_macro_subst("${AUCTION_ID}${AUCTION_ID}", names, vals, 2, out, 4), -EMSGSIZE);
    CHECK_EQ_INT(exs_macro_subst("", names, vals, 2, out, sizeof out), 0);
    CHECK_EQ_STR(out, "");
    return 0;
}

static int t_href(void) {
    char out[128];
    CHECK_EQ_INT(
        exs_adm_href("<a href=\"http://r/click?a=1&amp;u=x%2F\"><img></a>", out, sizeof out), 0);
    CHECK_EQ_STR(out, "http://r/click?a=1&u=x%2F");
    CHECK_EQ_INT(exs_adm_href("<a href='http://x/y'>", out, sizeof out), 0);
    CHECK_EQ_STR(out, "http://x/y");
    CHECK_EQ_INT(exs_adm_href("<img src=x>", out, sizeof out), -ENOENT);
    CHECK_EQ_INT(exs_adm_href("<a href=\"unterminated", out, sizeof out), -ENOENT);
    CHECK_EQ_INT(exs_adm_href("<a href=\"\">", out, sizeof out), -ENOENT);
    CHECK_EQ_INT(exs_adm_href("<a href=\"http://long/\">", out, 8), -EMSGSIZE);
    CHECK_EQ_INT(exs_adm_href("<VAST><Ad><Linear><VideoClicks><ClickThrough><![CDATA["
                              "http://r/click?a=1&u=x]]></ClickThrough>",
                              out, sizeof out),
                 0);
    CHECK_EQ_STR(out, "http://r/click?a=1&u=x");
    CHECK_EQ_INT(exs_adm_href("<ClickThrough id=\"c\">http://r/c?a=1&amp;b=2</ClickThrough>", out,
                              sizeof out),
                 0);
    CHECK_EQ_STR(out, "http://r/c?a=1&b=2");
    CHECK_EQ_INT(exs_adm_href("{\"native\":{\"ver\":\"1.2\",\"link\":{\"url\":"
                              "\"http://r/click?a=1&u=x%2F\"},\"assets\":[]}}",
                              out, sizeof out),
                 0);
    CHECK_EQ_STR(out, "http://r/click?a=1&u=x%2F");
    CHECK_EQ_INT(exs_adm_href("{\"link\":{\"url\":\"http://n/\"}}", out, sizeof out), 0);
    CHECK_EQ_STR(out, "http://n/");
    CHECK_EQ_INT(exs_adm_href("{\"native\":{}}", out, sizeof out), -ENOENT);
    return 0;
}

/* GDPR users send real TCF v2 strings: with vendor 755, about the consent
 * share of users (always the same ones) give it purposes 1-4 and special
 * feature 1; the rest purpose 1 only; with vendor 0 nobody names a vendor. */
static int t_consent(void) {
    exs_world w;
    exs_world_init(&w, 42, 1.0, 0.5);
    for (int vendor = 755; vendor >= 0; vendor -= 755) {
        exs_consent_init(0.6, vendor);
        int gdpr = 0, yes = 0;
        for (uint64_t s = 0; s < 4000; s++) {
            exs_req r;
            exs_req_gen(&w, s, &r);
            if (!r.gdpr) continue;
            beat_buf b;
            beat_buf_init(&b, 1 << 16);
            CHECK_EQ_INT(exs_req_json(&w, &r, 100, &b) >= 0, 1);
            cJSON *j = cJSON_ParseWithLength(b.data, b.len);
            CHECK(j != NULL);
            const cJSON *u = cJSON_GetObjectItem(j, "user");
            const cJSON *c = cJSON_GetObjectItem(u, "consent");
            if (!c) c = cJSON_GetObjectItem(cJSON_GetObjectItem(u, "ext"), "consent");
            CHECK(cJSON_IsString(c));
            beat_tcf t;
            beat_reason why = {{0}};
            CHECK_EQ_INT(beat_tcf_decode(c->valuestring, strlen(c->valuestring), 755, &t, &why), 0);
            gdpr++;
            bool all = beat_tcf_purpose(&t, 1) && beat_tcf_purpose(&t, 3) &&
                       beat_tcf_purpose(&t, 4) && beat_tcf_special_feature(&t, 1);
            CHECK(beat_tcf_purpose(&t, 1));
            if (vendor) CHECK_EQ_INT(all, t.vendor_consent);
            else CHECK(!t.vendor_consent);
            yes += all;
            cJSON_Delete(j);
            beat_buf_fini(&b);
        }
        CHECK(gdpr > 500);
        CHECK(yes > 0.5 * gdpr && yes < 0.7 * gdpr);
    }
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"deterministic", t_deterministic},
        {"ctr_range_and_campaign_effect", t_ctr_range_and_campaign_effect},
        {"market", t_market},
        {"request_json", t_request_json},
        {"consent", t_consent},
        {"curve", t_curve},
        {"oracle", t_oracle},
        {"macros", t_macros},
        {"href", t_href},
        {NULL, NULL}};
    return beat_test_main("exsim_traffic", tests, argc, argv);
}
