/* Request generation and the hidden ground truth of the simulated market.
 * Everything is a pure function of (seed, request sequence number), so two
 * runs with the same seed see the same traffic, CTRs and market prices
 * whatever order answers arrive in. The CTR model is deliberately one the
 * engine's model can learn: logistic in the request features inference
 * hashes (beat_features.h: dom, pub, sz, pos, chan, cat, dt, os, ctry),
 * plus a campaign bias and a low-rank campaign × context term (additive in
 * campaign × feature pairs, so hashed crosses can represent it exactly). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exsim.h"

enum { SALT_REQ = 1, SALT_MARKET1, SALT_MARKET2, SALT_EFFECT, SALT_CMP, SALT_NOMKT };

static const int SIZES[EXS_SIZES][2] = {{300, 250}, {728, 90},  {320, 50},   {160, 600}, {300, 600},
                                        {970, 250}, {640, 480}, {1280, 720}, {1200, 627}};
static const int BANNER_W[6] = {35, 20, 25, 8, 7, 5};
static const int DEVTYPE[EXS_DEVS] = {2, 4, 5}; /* PC, phone, tablet */
static const int DEV_W[EXS_DEVS] = {40, 45, 15};
static const char *const OSES[EXS_OSES] = {"Windows", "macOS", "Android", "iOS"};
static const char *const CTRIES[EXS_CTRIES] = {"USA", "GBR", "DEU", "FRA",
                                               "JPN", "CAN", "ESP", "ITA"};
static const int CTRY_W[EXS_CTRIES] = {35, 13, 12, 10, 10, 8, 6, 6};
static const double CTRY_PRICE[EXS_CTRIES] = {1.3, 1.1, 1.0, 0.9, 1.0, 1.0, 0.7, 0.7};
static const char *const CATS[EXS_CATS] = {"IAB1",  "IAB2",  "IAB3",  "IAB5",  "IAB7",
                                           "IAB8",  "IAB9",  "IAB12", "IAB13", "IAB17",
                                           "IAB18", "IAB19", "IAB20", "IAB22"};
/* Deals of the simulated exchange: which traffic carries them. */
static const char *const DEALS[EXS_DEALS] = {"deal-premium-video", "deal-news-plus",
                                             "deal-sports-pmp", "deal-travel-native",
                                             "deal-open-ros"};
const char *const EXS_CUR[3] = {"USD", "EUR", "GBP"};
static const double SIZE_PRICE[EXS_SIZES] = {1.0, 0.8, 0.6, 0.7, 1.2, 1.3, 1.0, 1.2, 1.0};
static const double FMT_PRICE[3] = {1.0, 5.0, 1.6};
#define BLOCKED_PCT 3
#define EXS_TARGET_CTR 0.03

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

static void vec(const exs_world *w, uint64_t kind, uint64_t idx, double sd, double *v) {
    for (int k = 0; k < EXS_RANK; k++) v[k] = effect(w, kind * 16 + (uint64_t)k, idx, sd);
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

static double base_logit(const exs_world *w, const exs_req *r) {
    return w->b0 + w->dom_eff[r->dom] + w->pub_eff[r->dom] + w->cat_eff[r->cat] +
           w->size_eff[r->size] + (r->pos >= 0 ? w->pos_eff[r->pos == 1 ? 0 : 1] : 0) +
           w->chan_eff[r->app] + w->dev_eff[r->dev] + w->os_eff[r->os] + w->ctry_eff[r->ctry];
}

static double mean_ctr(const exs_world *w, int n) {
    static const char *const C[] = {"c1", "c2", "c3", "c4"};
    double sum = 0;
    for (int i = 0; i < n; i++) {
        exs_req r;
        exs_req_gen(w, (uint64_t)i * 7919, &r);
        sum += exs_true_ctr(w, &r, C[i % 4]);
    }
    return sum / n;
}

void exs_world_init(exs_world *w, uint64_t seed, double market_median, double market_sigma) {
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->run_id = (uint32_t)beat_random_u64();
    w->market_median = market_median;
    w->market_sigma = market_sigma;
    w->rates[0] = 1.0;
    w->rates[1] = 1.08;
    w->rates[2] = 1.27;
    for (int i = 0; i < EXS_DOMS; i++) {
        w->dom_eff[i] = effect(w, 1, (uint64_t)i, 0.6);
        w->pub_eff[i] = effect(w, 11, (uint64_t)(i / 5), 0.2);
        w->dom_cat[i] = (int)(exs_unit(w, (uint64_t)i, 77) * EXS_CATS);
        vec(w, 20, (uint64_t)i, 0.12, w->v_dom[i]);
    }
    for (int i = 0; i < EXS_CATS; i++) {
        w->cat_eff[i] = effect(w, 12, (uint64_t)i, 0.3);
        vec(w, 21, (uint64_t)i, 0.12, w->v_cat[i]);
    }
    for (int i = 0; i < EXS_SIZES; i++) {
        w->size_eff[i] = effect(w, 2, (uint64_t)i, 0.3);
        vec(w, 22, (uint64_t)i, 0.12, w->v_size[i]);
    }
    for (int i = 0; i < EXS_DEVS; i++) {
        w->dev_eff[i] = effect(w, 3, (uint64_t)i, 0.3);
        vec(w, 23, (uint64_t)i, 0.12, w->v_dev[i]);
    }
    for (int i = 0; i < EXS_OSES; i++) {
        w->os_eff[i] = effect(w, 13, (uint64_t)i, 0.2);
        vec(w, 24, (uint64_t)i, 0.12, w->v_os[i]);
    }
    for (int i = 0; i < EXS_CTRIES; i++) {
        w->ctry_eff[i] = effect(w, 4, (uint64_t)i, 0.3);
        vec(w, 25, (uint64_t)i, 0.12, w->v_ctry[i]);
    }
    for (int i = 0; i < 2; i++) {
        w->pos_eff[i] = effect(w, 14, (uint64_t)i, 0.2);
        w->chan_eff[i] = effect(w, 15, (uint64_t)i, 0.2);
    }
    /* Calibrate the intercept so the mean CTR over the traffic is ~3 % for
     * every seed (the popular domains' effects would otherwise swing it). */
    double lo = -10, hi = 0;
    for (int it = 0; it < 30; it++) {
        w->b0 = (lo + hi) / 2;
        if (mean_ctr(w, 2000) > EXS_TARGET_CTR) hi = w->b0;
        else lo = w->b0;
    }
}

const char *exs_domain_name(int dom, char *buf, size_t n) {
    if (dom == EXS_BLOCKED) snprintf(buf, n, "blocked.example");
    else if (dom < EXS_SITES) snprintf(buf, n, "site%02d.example", dom);
    else snprintf(buf, n, "com.exsim.app%02d", dom - EXS_SITES - 1);
    return buf;
}
const char *exs_cat_name(int cat) { return CATS[cat]; }
const char *exs_deal_id(int deal) { return DEALS[deal]; }
const char *exs_ctry_name(int ctry) { return CTRIES[ctry]; }
const char *exs_os_name(int os) { return OSES[os]; }
int exs_devtype(int dev) { return DEVTYPE[dev]; }
void exs_size_of(int size, int *w, int *h) {
    *w = SIZES[size][0];
    *h = SIZES[size][1];
}

int exs_alt_size(int size) {
    static const int ALT[6] = {4, 5, 1, 0, 0, 1};
    return size >= 0 && size < 6 ? ALT[size] : size;
}

static int64_t cents_up(double cpm) { return (int64_t)ceil(cpm * 100.0) * 10000; }

void exs_req_gen(const exs_world *w, uint64_t seq, exs_req *r) {
    memset(r, 0, sizeof *r);
    r->seq = seq;
    snprintf(r->id, sizeof r->id, "%08" PRIx32 "-%" PRIu64, w->run_id, seq);
    uint64_t k = seq * 32;
#define U(i) exs_unit(w, k + (i), SALT_REQ)
    r->ver = U(0) < 0.4 ? 26 : 25;
    r->app = U(1) < 0.35;
    if (r->app) {
        double v = U(2);
        r->dom = EXS_SITES + 1 + (int)(v * v * EXS_APPS);
    } else if (U(3) * 100 < BLOCKED_PCT) {
        r->dom = EXS_BLOCKED;
    } else {
        double v = U(2); /* skewed popularity: a few big sites, a long tail */
        r->dom = (int)(v * v * EXS_SITES);
    }
    r->cat = w->dom_cat[r->dom];
    double f = U(4);
    r->fmt = f < 0.70 ? EXS_BANNER : f < 0.85 ? EXS_VIDEO : EXS_NATIVE;
    if (r->fmt == EXS_BANNER) {
        r->size = pick(U(5), BANNER_W, 6);
        r->pos = U(6) < 0.5 ? 1 : 3;
        r->multisize = U(7) < 0.3;
    } else if (r->fmt == EXS_VIDEO) {
        r->size = U(5) < 0.6 ? 6 : 7;
        r->pos = 1;
    } else {
        r->size = 8;
        r->pos = -1;
    }
    r->dev = pick(U(8), DEV_W, EXS_DEVS);
    if (r->app && r->dev == 0) r->dev = 1; /* apps run on phones and tablets */
    r->os = (r->dev != 0 ? 2 : 0) + (U(9) < 0.5 ? 0 : 1);
    r->ctry = pick(U(10), CTRY_W, EXS_CTRIES);
    r->user = (int)(U(11) * (w->users > 0 ? w->users : EXS_USERS));
    r->at = (r->dom % 4 == 0) ? 1 : 2; /* per publisher, as exchanges do */
    /* Floors by format, in USD; EU and UK publishers often price locally. */
    double lo = r->fmt == EXS_VIDEO ? 1.5 : r->fmt == EXS_NATIVE ? 0.3 : 0.1;
    double hi = r->fmt == EXS_VIDEO ? 4.0 : r->fmt == EXS_NATIVE ? 1.2 : 0.8;
    double usd = lo + U(12) * (hi - lo);
    r->cur = 0;
    if (r->ctry == 1 && U(13) < 0.8) r->cur = 2;
    else if ((r->ctry == 2 || r->ctry == 3 || r->ctry >= 6) && U(13) < 0.7) r->cur = 1;
    r->floor_cur_micros = cents_up(usd / w->rates[r->cur]);
    r->floor_usd_micros = llround((double)r->floor_cur_micros * w->rates[r->cur]);
    /* Deals: on matching inventory, some as private auctions. */
    r->deal = -1;
    int cand = r->fmt == EXS_VIDEO                                            ? 0
               : CATS[r->cat][3] == '1' && CATS[r->cat][4] == '2'             ? 1
               : strcmp(CATS[r->cat], "IAB17") == 0                           ? 2
               : (r->fmt == EXS_NATIVE && strcmp(CATS[r->cat], "IAB20") == 0) ? 3
                                                                              : 4;
    if (U(14) < (cand == 4 ? 0.05 : 0.35)) {
        r->deal = cand;
        r->private_auction = U(15) < 0.4;
        r->deal_floor_usd_micros = cents_up((double)r->floor_usd_micros * 1.3 / 1e6);
    }
    r->bcat_extra = U(16) < 0.08 ? (int)(U(17) * EXS_CATS) : -1;
    r->badv = (w->n_badv > 0 && U(18) < 0.06) ? (int)(U(19) * w->n_badv) : -1;
    r->gdpr = (r->ctry == 1 || r->ctry == 2 || r->ctry == 3 || r->ctry >= 6);
#undef U
    exs_req_geo(w, r); /* its own randomness: the draws above stay as they were */
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

double exs_true_ctr(const exs_world *w, const exs_req *r, const char *campaign) {
    uint64_t ck = fnv1a(campaign ? campaign : "") & 0xffffffffu;
    double bias = effect(w, 30, ck, 0.3), u[EXS_RANK];
    vec(w, 31, ck, 1.0, u);
    double z = base_logit(w, r) + bias;
    for (int k = 0; k < EXS_RANK; k++)
        z += u[k] * (w->v_dom[r->dom][k] + w->v_cat[r->cat][k] + w->v_size[r->size][k] +
                     w->v_dev[r->dev][k] + w->v_os[r->os][k] + w->v_ctry[r->ctry][k]);
    return 1.0 / (1.0 + exp(-z));
}

double exs_true_cvr(const exs_world *w, const exs_req *r, const char *campaign) {
    (void)w;
    uint64_t ck = fnv1a(campaign ? campaign : "") * 0x9e3779b97f4a7c15ULL;
    double base = 0.05 + 0.10 * (double)(ck >> 11) / 9007199254740992.0;
    return base * (r->segs ? 1.25 : 0.85);
}

int64_t exs_market_cpm_micros(const exs_world *w, const exs_req *r, double price_wave) {
    if (exs_unit(w, r->seq, SALT_NOMKT) < 0.08) return 0; /* no other bidder */
    double z = normal_of(exs_unit(w, r->seq, SALT_MARKET1), exs_unit(w, r->seq, SALT_MARKET2));
    /* Per segment: format, size, country, device, and site quality (better
     * sites click more and cost more, so the market is not a free lunch). */
    double med = w->market_median * FMT_PRICE[r->fmt] * SIZE_PRICE[r->size] * CTRY_PRICE[r->ctry] *
                 (r->dev == 0   ? 1.0
                  : r->dev == 1 ? 0.8
                                : 0.9) *
                 exp(0.5 * w->dom_eff[r->dom]) * price_wave;
    double cpm = med * exp(w->market_sigma * z);
    if (cpm > 1000.0) cpm = 1000.0;
    return llround(cpm * 1e6);
}

/* ---- the rate curve ---------------------------------------------------------- */
double exs_daily(double x) {
    /* A day squeezed into the run: trough at 4 h, peak at 20 h, a shoulder
     * at lunch. Two harmonics; the mean over [0,1) is 0. */
    double a = cos(2.0 * M_PI * (x - 20.0 / 24.0));
    double b = 0.3 * cos(4.0 * M_PI * (x - 13.0 / 24.0));
    double v = (a + b) / 1.3;
    return v < -1 ? -1 : v > 1 ? 1 : v;
}

int exs_curve_add(exs_curve *c, const char *spec) {
    exs_surge s;
    char tail;
    if (c->n >= (int)(sizeof c->s / sizeof c->s[0])) return -ENOSPC;
    if (sscanf(spec, "%lf:%lf:%lf%c", &s.at, &s.len, &s.factor, &tail) != 3 || s.at < 0 ||
        s.at >= 1 || s.len <= 0 || s.len > 1 || s.factor < 0 || s.factor > 100)
        return -EINVAL;
    c->s[c->n++] = s;
    return 0;
}

double exs_curve_at(const exs_curve *c, double x, double day_x) {
    double v = 1.0 + c->wave * exs_daily(day_x);
    for (int i = 0; i < c->n; i++)
        if (x >= c->s[i].at && x < c->s[i].at + c->s[i].len) v *= c->s[i].factor;
    return v;
}
