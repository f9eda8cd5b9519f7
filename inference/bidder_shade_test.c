/* First-price shading (bidder.c inf_bidder_shade and bid_imp): the shaded
 * bid is the surplus-maximising one under a known curve, never above the
 * value nor below the floor that applies (imp or deal); second-price
 * auctions and campaigns without a curve bid exactly as before. */
#include "bidder_testlib.h"

/* W = 0.1 per bucket step from 0 at bucket 5 to 1 at bucket 15: linear in
 * log price, W(b) = (0.5 / ln 10) ln(b / b0) with b0 the centre of 5. */
static float lin_curve[BEAT_LAND_N];

static void init_curve(void) {
    for (int i = 0; i < BEAT_LAND_N; i++) {
        double v = 0.1 * (i - 5);
        lin_curve[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

/* The continuous optimum of (v − b) ln(b / b0): ln(b / b0) = (v − b) / b. */
static double lin_optimum(double v) {
    double b0 = beat_land_price(5), lo = b0, hi = v;
    for (int k = 0; k < 200; k++) {
        double m = 0.5 * (lo + hi);
        if ((v - m) / m - log(m / b0) > 0) lo = m;
        else hi = m;
    }
    return 0.5 * (lo + hi);
}

static double surplus(const float *c, double v, double b) {
    return (v - b) * beat_land_win(c, beat_land_pos(b));
}

static int test_shade_law(void) {
    init_curve();
    const double step = pow(10, 0.2); /* one landscape bucket */
    for (double pos = 7; pos <= 14.5; pos += 0.5) {
        int64_t v = (int64_t)beat_land_price(pos);
        int64_t b = inf_bidder_shade(lin_curve, v, v, 0);
        double opt = lin_optimum((double)v);
        if (fabs(log((double)b / opt)) > log(step) / 4)
            fprintf(stderr, "  v=%lld b=%lld opt=%.0f\n", (long long)v, (long long)b, opt);
        CHECK(fabs(log((double)b / opt)) <= log(step) / 4); /* within a bucket step */
        CHECK(b < v);
        CHECK(surplus(lin_curve, (double)v, (double)b) >=
              0.99 * surplus(lin_curve, (double)v, opt));
        /* a floor above the optimum is the bid; one at or above v leaves v */
        int64_t fl = (int64_t)(opt * 1.3) < v ? (int64_t)(opt * 1.3) : v - 1;
        CHECK_EQ_INT(inf_bidder_shade(lin_curve, v, v, fl), fl);
        CHECK_EQ_INT(inf_bidder_shade(lin_curve, v, v, v), v);
        CHECK_EQ_INT(inf_bidder_shade(lin_curve, v, v, v + 5), v);
    }
    /* A value above the max bid: the max caps the bid, not the value, so
     * the bid is the optimum of the whole value when that is under the max,
     * and the max itself when the optimum is above it (surplus grows up to
     * it); both above what shading the capped value would bid. */
    for (double pos = 8; pos <= 12; pos += 0.5) {
        int64_t v = (int64_t)beat_land_price(pos), max = v / 2;
        int64_t capped = inf_bidder_shade(lin_curve, max, max, 0);
        int64_t b = inf_bidder_shade(lin_curve, v, max, 0);
        double opt = lin_optimum((double)v);
        CHECK(b <= max);
        CHECK(b > capped);
        if (opt < max) CHECK(fabs(log((double)b / opt)) <= log(step) / 4);
        else CHECK(b >= (int64_t)(0.99 * max));
        CHECK(surplus(lin_curve, (double)v, (double)b) >=
              0.99 * surplus(lin_curve, (double)v, fmin(opt, (double)max)));
        CHECK_EQ_INT(inf_bidder_shade(lin_curve, v, max, max + 5), max); /* floor above the max */
    }
    /* a value where W is 0 (below the data), or a curve that never wins */
    int64_t low = (int64_t)beat_land_price(4.5);
    CHECK_EQ_INT(inf_bidder_shade(lin_curve, low, low, 0), low);
    float zero[BEAT_LAND_N] = {0};
    CHECK_EQ_INT(inf_bidder_shade(zero, 3000000, 3000000, 0), 3000000);
    /* a sure win at any price in the data: the lowest price with data */
    float sure[BEAT_LAND_N];
    for (int i = 0; i < BEAT_LAND_N; i++) sure[i] = i < 8 ? 0 : 1;
    int64_t b = inf_bidder_shade(sure, 5000000, 5000000, 0);
    CHECK(b >= (int64_t)beat_land_price(7.5) && b <= (int64_t)beat_land_price(8) + 1);
    /* bounds over many random monotone curves, values and floors */
    uint64_t s = 42;
    for (int n = 0; n < 2000; n++) {
        float c[BEAT_LAND_N];
        float acc = 0;
        for (int i = 0; i < BEAT_LAND_N; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            acc += (float)((s >> 40) % 100) / 800.0f;
            c[i] = acc < 1 ? acc : 1;
        }
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t v = 1 + (int64_t)((s >> 20) % 50000000);
        int64_t fl = (int64_t)((s >> 8) % 4096) * (v / 4096 + 1) / 2;
        int64_t got = inf_bidder_shade(c, v, v, fl);
        CHECK(got <= v);
        int64_t max = v / 3 + 1, gm = inf_bidder_shade(c, v, max, fl);
        CHECK(gm <= max && gm > 0);
        CHECK(gm >= (fl < max ? fl : max));
        CHECK(got >= (fl < v ? fl : v));
        CHECK(got > 0);
    }
    return 0;
}

/* The default set, every campaign with the curve or none (multiplier 1.2). */
static inf_world *curve_world(bool with_curve) {
    state_curve = with_curve ? lin_curve : NULL;
    state_curve_id = NULL;
    inf_world *w = make_world(NULL, 0, T0);
    state_curve = NULL;
    return w;
}

static int test_first_price_bids(void) {
    init_curve();
    campaigns_file = CAMPAIGNS;
    inf_bidder *b = make_bidder();
    inf_world *wc = curve_world(true), *wn = curve_world(false);
    CHECK(b && wc && wn);
    inf_result res, ref;
    const char *at1 = ",\"at\":1", *at2 = ",\"at\":2";
    /* the reference: no curve, second price; umbrella-news wins at 5.4 */
    CHECK_EQ_INT(run(b, wn, req_json(BANNER, "0.03", "www.foobar.com", "u1", at2), T0 + 1000, &ref),
                 0);
    CHECK_EQ_INT(ref.n, 1);
    CHECK_EQ_INT(ref.bids[0].price_cpm_micros, 5400000);
    CHECK_EQ_INT(ref.bids[0].value_cpm_micros, 5400000);
    /* second price with a curve, at absent, first price without a curve:
     * the very same bid */
    const struct {
        inf_world *w;
        const char *extra;
    } same[] = {{wc, at2}, {wc, NULL}, {wn, at1}, {wn, NULL}};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        CHECK_EQ_INT(run(b, same[k].w,
                         req_json(BANNER, "0.03", "www.foobar.com", "u1", same[k].extra), T0 + 1000,
                         &res),
                     0);
        CHECK_EQ_INT(res.n, 1);
        CHECK(memcmp(&res.bids[0], &ref.bids[0], sizeof ref.bids[0]) == 0);
    }
    /* first price with a curve: the same winner, shaded by the law */
    CHECK_EQ_INT(run(b, wc, req_json(BANNER, "0.03", "www.foobar.com", "u1", at1), T0 + 1000, &res),
                 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_STR(winner(wc, &res), BOOSTED);
    CHECK_EQ_INT(res.bids[0].value_cpm_micros, 5400000);
    int64_t want = inf_bidder_shade(lin_curve, 5400000, 5400000, 30000);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, want);
    CHECK(want < 5400000 * 0.8);
    CHECK(fabs(log((double)want / lin_optimum(5400000))) < 0.1);
    /* the response and the bid log carry what we bid */
    beat_event ev;
    inf_bidder_event(b, wc, &R, &res, 0, &ev);
    CHECK_EQ_INT(ev.price_cpm_micros, want);
    cJSON *resp = answer(b, wc, req_json(BANNER, "0.03", "www.foobar.com", "u1", at1), &res);
    CHECK(resp != NULL);
    const cJSON *price = cJSON_GetObjectItem(bid_at(resp, 0, 0), "price");
    CHECK(cJSON_IsNumber(price) && fabs(price->valuedouble - want / 1e6) < 1e-6);
    cJSON_Delete(resp);
    /* an imp floor above the optimum: bid the floor */
    CHECK_EQ_INT(run(b, wc, req_json(BANNER, "4.5", "www.foobar.com", "u1", at1), T0 + 1000, &res),
                 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 4500000);
    CHECK_EQ_INT(res.bids[0].value_cpm_micros, 5400000);
    inf_world_free(wc);
    inf_world_free(wn);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* A deal bid in a first-price auction: the deal's floor, not the imp's. */
static int test_first_price_deal_floor(void) {
    init_curve();
    campaigns_file = FORMAT_CAMPAIGNS;
    inf_bidder *b = make_bidder();
    state_curve = lin_curve;
    state_curve_id = "ortb-deal";
    inf_world *w = make_world(NULL, 0, T0);
    state_curve = NULL;
    CHECK(b && w);
    inf_result res;
    /* ortb-deal values the imp at 2.64; the deal's floor 2.6 binds */
    const char *json = "{\"id\":\"auction-1\",\"at\":1,\"imp\":[{\"id\":\"1\",\"bidfloor\":0.5,"
                       "\"banner\":{\"w\":300,\"h\":250},\"pmp\":{\"private_auction\":1,\"deals\":["
                       "{\"id\":\"AB-Agency1-0001\",\"bidfloor\":2.6}]}}],\"site\":{\"id\":\"s\","
                       "\"domain\":\"www.foobar.com\"},\"user\":{\"id\":\"u1\"}}";
    CHECK_EQ_INT(run(b, w, json, T0 + 1000, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_STR(winner(w, &res), "ortb-deal");
    CHECK_EQ_INT(res.bids[0].deal, 0);
    CHECK_EQ_INT(res.bids[0].value_cpm_micros, 2640000);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 2600000);
    /* a low deal floor: shaded below it toward the optimum, not under it */
    const char *low = "{\"id\":\"auction-1\",\"at\":1,\"imp\":[{\"id\":\"1\",\"bidfloor\":2.5,"
                      "\"banner\":{\"w\":300,\"h\":250},\"pmp\":{\"private_auction\":1,\"deals\":["
                      "{\"id\":\"AB-Agency1-0001\",\"bidfloor\":0.2}]}}],\"site\":{\"id\":\"s\","
                      "\"domain\":\"www.foobar.com\"},\"user\":{\"id\":\"u1\"}}";
    CHECK_EQ_INT(run(b, w, low, T0 + 1000, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros,
                 inf_bidder_shade(lin_curve, 2640000, 2640000, 200000));
    CHECK(res.bids[0].price_cpm_micros < 2500000); /* the imp floor is not the bar */
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"shade_law", test_shade_law},
        {"first_price_bids", test_first_price_bids},
        {"first_price_deal_floor", test_first_price_deal_floor},
        {NULL, NULL},
    };
    return beat_test_main("bidder_shade", cases, argc, argv);
}
