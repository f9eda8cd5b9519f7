/* Request generation and the hidden ground truth of the simulated market.
 * Everything is a pure function of (seed, request sequence number), so two
 * runs with the same seed see the same traffic, CTRs and market prices
 * whatever order answers arrive in. The CTR model is deliberately one a
 * logistic regression over hashed features can learn: additive effects of
 * domain, size, device, country and a campaign × site-category term. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exsim.h"

enum { SALT_REQ = 1, SALT_MARKET1, SALT_MARKET2, SALT_EFFECT, SALT_CMP };

static const int SIZES[EXS_SIZES][2] = {{300, 250}, {728, 90}, {320, 50}, {160, 600}};
static const int SIZE_W[EXS_SIZES] = {40, 25, 25, 10};
static const int DEVTYPE[EXS_DEVS] = {2, 4, 5}; /* PC, phone, tablet */
static const int DEV_W[EXS_DEVS] = {40, 45, 15};
static const char *const OSES[EXS_OSES] = {"Windows", "macOS", "Android", "iOS"};
static const char *const CTRIES[EXS_CTRIES] = {"USA", "GBR", "DEU", "FRA", "JPN"};
static const int CTRY_W[EXS_CTRIES] = {40, 15, 15, 15, 15};
#define BLOCKED_PCT 3

static uint64_t mix64(uint64_t x) { /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static double to_unit(uint64_t h) { return (double)(h >> 11) * 0x1.0p-53; }

double exs_unit(const exs_world *w, uint64_t seq, uint64_t salt) {
    return to_unit(mix64(w->seed ^ mix64(seq * 0x100000001b3ULL ^ mix64(salt))));
}

/* Standard normal from two uniforms (Box–Muller). */
static double normal_of(double u1, double u2) {
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double effect(const exs_world *w, uint64_t kind, uint64_t idx, double sd) {
    uint64_t k = kind * 1000003ULL + idx;
    return sd * normal_of(exs_unit(w, k, SALT_EFFECT), exs_unit(w, k, SALT_EFFECT + 100));
}

static int pick(double u, const int *weights, int n) {
    int total = 0;
    for (int i = 0; i < n; i++) total += weights[i];
    double x = u * total;
    for (int i = 0; i < n; i++) {
        if (x < weights[i]) return i;
        x -= weights[i];
    }
    return n - 1;
}

#define EXS_TARGET_CTR 0.02

static double base_logit(const exs_world *w, const exs_req *r) {
    return w->b0 + w->dom_eff[r->dom] + w->size_eff[r->size] + w->dev_eff[r->dev] +
           w->ctry_eff[r->ctry];
}

static double mean_ctr(const exs_world *w, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
        exs_req r;
        exs_req_gen(w, (uint64_t)i * 7919, &r);
        sum += 1.0 / (1.0 + exp(-base_logit(w, &r)));
    }
    return sum / n;
}

void exs_world_init(exs_world *w, uint64_t seed, double market_median,
                    double market_sigma) {
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->run_id = (uint32_t)beat_random_u64();
    w->market_median = market_median;
    w->market_sigma = market_sigma;
    for (int i = 0; i <= EXS_DOMAINS; i++) {
        w->dom_eff[i] = effect(w, 1, (uint64_t)i, 0.6);
        w->dom_cat[i] = (int)(exs_unit(w, (uint64_t)i, 77) * EXS_CATS);
    }
    for (int i = 0; i < EXS_SIZES; i++) w->size_eff[i] = effect(w, 2, (uint64_t)i, 0.3);
    for (int i = 0; i < EXS_DEVS; i++) w->dev_eff[i] = effect(w, 3, (uint64_t)i, 0.3);
    for (int i = 0; i < EXS_CTRIES; i++) w->ctry_eff[i] = effect(w, 4, (uint64_t)i, 0.3);
    /* Calibrate the intercept so the mean CTR over the traffic is ~2 % for
     * every seed (the popular domains' effects would otherwise swing it). */
    double lo = -10, hi = 0;
    for (int it = 0; it < 30; it++) {
        w->b0 = (lo + hi) / 2;
        if (mean_ctr(w, 2000) > EXS_TARGET_CTR) hi = w->b0;
        else lo = w->b0;
    }
}

const char *exs_domain_name(int dom, char *buf, size_t n) {
    if (dom >= EXS_DOMAINS) snprintf(buf, n, "blocked.example");
    else snprintf(buf, n, "site%02d.example", dom);
    return buf;
}

void exs_req_gen(const exs_world *w, uint64_t seq, exs_req *r) {
    memset(r, 0, sizeof *r);
    r->seq = seq;
    snprintf(r->id, sizeof r->id, "%08" PRIx32 "-%" PRIu64, w->run_id, seq);
    uint64_t k = seq * 16;
    double u = exs_unit(w, k, SALT_REQ);
    if (u * 100 < BLOCKED_PCT) r->dom = EXS_DOMAINS;
    else {
        /* Skewed popularity: a few big sites, a long tail. */
        double v = exs_unit(w, k + 1, SALT_REQ);
        r->dom = (int)(v * v * EXS_DOMAINS);
    }
    r->size = pick(exs_unit(w, k + 2, SALT_REQ), SIZE_W, EXS_SIZES);
    r->dev = pick(exs_unit(w, k + 3, SALT_REQ), DEV_W, EXS_DEVS);
    int mobile = r->dev != 0;
    r->os = (mobile ? 2 : 0) + (exs_unit(w, k + 4, SALT_REQ) < 0.5 ? 0 : 1);
    r->ctry = pick(exs_unit(w, k + 5, SALT_REQ), CTRY_W, EXS_CTRIES);
    r->user = (int)(exs_unit(w, k + 6, SALT_REQ) * EXS_USERS);
    /* Floors 0.10 .. 0.80 CPM in whole cents. */
    int cents = 10 + (int)(exs_unit(w, k + 7, SALT_REQ) * 71);
    r->floor_cpm_micros = (int64_t)cents * 10000;
}

int exs_req_json(const exs_world *w, const exs_req *r, int tmax_ms, beat_buf *out) {
    char dom[32];
    exs_domain_name(r->dom, dom, sizeof dom);
    int cat = w->dom_cat[r->dom] + 1;
    return beat_buf_printf(
        out,
        "{\"id\":\"%s\",\"imp\":[{\"id\":\"1\",\"banner\":{\"w\":%d,\"h\":%d,\"pos\":%d},"
        "\"bidfloor\":%" PRId64 ".%02" PRId64 ",\"bidfloorcur\":\"USD\",\"secure\":0}],"
        "\"site\":{\"id\":\"s%d\",\"domain\":\"%s\",\"cat\":[\"IAB%d\"],"
        "\"page\":\"http://%s/\",\"publisher\":{\"id\":\"pub%d\"}},"
        "\"device\":{\"devicetype\":%d,\"os\":\"%s\",\"ua\":\"beat-exsim\","
        "\"ip\":\"10.%d.%d.1\",\"geo\":{\"country\":\"%s\"}},"
        "\"user\":{\"id\":\"u%d\"},\"at\":2,\"tmax\":%d,\"cur\":[\"USD\"]}",
        r->id, SIZES[r->size][0], SIZES[r->size][1], r->size == 1 ? 1 : 3,
        r->floor_cpm_micros / 1000000, (r->floor_cpm_micros / 10000) % 100,
        r->dom, dom, cat, dom, r->dom / 5, DEVTYPE[r->dev], OSES[r->os],
        r->user / 256, r->user % 256, CTRIES[r->ctry], r->user, tmax_ms);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

double exs_true_ctr(const exs_world *w, const exs_req *r, const char *campaign) {
    /* Campaign × category: each campaign suits some kinds of sites. */
    uint64_t ck = fnv1a(campaign ? campaign : "") * 31 + (uint64_t)w->dom_cat[r->dom];
    double cmp = 0.5 * normal_of(exs_unit(w, ck, SALT_CMP), exs_unit(w, ck, SALT_CMP + 100));
    double z = base_logit(w, r) + cmp;
    return 1.0 / (1.0 + exp(-z));
}

int64_t exs_market_cpm_micros(const exs_world *w, const exs_req *r) {
    double z = normal_of(exs_unit(w, r->seq, SALT_MARKET1), exs_unit(w, r->seq, SALT_MARKET2));
    double cpm = w->market_median * exp(w->market_sigma * z);
    if (cpm > 1000.0) cpm = 1000.0;
    return llround(cpm * 1e6);
}
