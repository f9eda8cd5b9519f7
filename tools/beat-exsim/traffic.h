/* beat-exsim's traffic and hidden truth (traffic.c, ortb.c): the world a
 * seed makes (feature effects, market), requests as pure functions of
 * (seed, sequence number), their OpenRTB JSON, and the rate curve. */
#ifndef EXS_TRAFFIC_H
#define EXS_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat_util.h"

#define EXS_SITES 60
#define EXS_APPS 30
#define EXS_BLOCKED EXS_SITES /* dom index of blocked.example */
#define EXS_DOMS (EXS_SITES + 1 + EXS_APPS)
#define EXS_CATS 14
#define EXS_SIZES 9 /* 6 banner sizes, 2 video players, native */
#define EXS_DEVS 3
#define EXS_OSES 4
#define EXS_CTRIES 8
#define EXS_DEALS 5
#define EXS_USERS 5000
#define EXS_RANK 3

enum exs_fmt { EXS_BANNER, EXS_VIDEO, EXS_NATIVE };

typedef struct exs_world {
    uint64_t seed;
    uint32_t run_id; /* random per run: auction ids never repeat across runs */
    double b0;
    double dom_eff[EXS_DOMS], pub_eff[EXS_DOMS], cat_eff[EXS_CATS];
    double size_eff[EXS_SIZES], pos_eff[2], chan_eff[2], dev_eff[EXS_DEVS];
    double os_eff[EXS_OSES], ctry_eff[EXS_CTRIES];
    /* Low-rank campaign × context term: v per feature value, u per campaign. */
    double v_dom[EXS_DOMS][EXS_RANK], v_cat[EXS_CATS][EXS_RANK];
    double v_size[EXS_SIZES][EXS_RANK], v_dev[EXS_DEVS][EXS_RANK];
    double v_os[EXS_OSES][EXS_RANK], v_ctry[EXS_CTRIES][EXS_RANK];
    int dom_cat[EXS_DOMS];
    double market_median, market_sigma; /* CPM, lognormal */
    double rates[3];                    /* USD per unit: USD, EUR, GBP */
    const char *const *badv;            /* advertiser domains requests may block */
    int n_badv;
    int users; /* the user population (--users); 0 = EXS_USERS */
} exs_world;

typedef struct exs_req {
    uint64_t seq;
    char id[48];
    int ver; /* 25 or 26: OpenRTB 2.5 / 2.6 */
    int app; /* 0 site, 1 app */
    int dom, cat, fmt, size, pos, dev, os, ctry, user, at;
    int multisize;            /* banner: also offers format[] alternatives */
    int cur;                  /* floor currency: 0 USD, 1 EUR, 2 GBP */
    int64_t floor_cur_micros; /* bidfloor in cur (CPM micros, whole cents) */
    int64_t floor_usd_micros;
    int deal; /* -1 none, else index into the deal table */
    int private_auction;
    int64_t deal_floor_usd_micros;
    int bcat_extra; /* -1, or a category blocked beyond IAB25/26 */
    int badv;       /* -1, or index into world.badv */
    int gdpr;
    int test; /* OpenRTB test=1 (--test-share): nothing is bought */
    /* geo.c: where the user is and what providers know (not in the truth) */
    int place;   /* index into the country's places */
    bool latlon; /* the request carries a precise position */
    double lat, lon;
    uint32_t segs; /* bit i: segment i (exs_seg_provider, exs_seg_id) */
} exs_req;
#define EXS_SEGS 12

/* Rates default to EUR 1.08, GBP 1.27 USD; set world.rates after init. */
void exs_world_init(exs_world *w, uint64_t seed, double market_median, double market_sigma);
void exs_req_gen(const exs_world *w, uint64_t seq, exs_req *r);
/* Ground truth: probability that an impression of campaign on r is clicked. */
double exs_true_ctr(const exs_world *w, const exs_req *r, const char *campaign);
/* The hidden share of a campaign's clicks that convert, 5–15 % by campaign
 * and higher for users with data segments; never told to the engine. */
double exs_true_cvr(const exs_world *w, const exs_req *r, const char *campaign);
/* Highest competing bid (CPM micros, USD) for this request; 0 = none. */
int64_t exs_market_cpm_micros(const exs_world *w, const exs_req *r, double price_wave);
/* Uniform [0,1) derived from (seed, request, salt): per-request randomness
 * that does not depend on the order answers arrive in. */
double exs_unit(const exs_world *w, uint64_t seq, uint64_t salt);
const char *exs_domain_name(int dom, char *buf, size_t n);
const char *exs_cat_name(int cat);
const char *exs_deal_id(int deal);
const char *exs_ctry_name(int ctry);
const char *exs_os_name(int os);
int exs_devtype(int dev);
void exs_size_of(int size, int *w, int *h);
int exs_alt_size(int size); /* the second banner size offered in format[] */
extern const char *const EXS_CUR[3];

/* ortb.c: the TCF v2 strings GDPR users send: a stable share of users
 * (by user id) consents to purposes 1-4, special feature 1 and vendor (0:
 * no vendor named); the others to purpose 1 only. Call once before any
 * exs_req_json. */
void exs_consent_init(double share, int vendor);
/* geo.c: fills r's place, position and segments (called by exs_req_gen). */
void exs_req_geo(const exs_world *w, exs_req *r);
/* geo.c: the geo object's members after "country" and the user's "data"
 * member (nothing when no segments), each with a leading comma. */
int exs_geo_json(const exs_req *r, beat_buf *out);
int exs_user_data_json(const exs_req *r, beat_buf *out);
/* The place's region (k 0), metro (1, NULL outside the US), city (2), zip (3). */
const char *exs_place_field(const exs_req *r, int k);
const char *exs_seg_provider(int i);
const char *exs_seg_id(int i);
/* ortb.c: whether inference may use r's personal data (ids, segments,
 * lat/lon): no GDPR, or a consenting user's TCF string. */
bool exs_personal_ok(const exs_req *r);
/* ortb.c: appends the request JSON (shape by r->ver). */
int exs_req_json(const exs_world *w, const exs_req *r, int tmax_ms, beat_buf *out);

/* Rate curve: a daily wave compressed into the run plus surges and drops.
 * Mean of the wave alone over the run is 1. */
typedef struct exs_surge {
    double at, len, factor; /* fractions of the run; factor × rate */
} exs_surge;
typedef struct exs_curve {
    double wave; /* amplitude 0..0.9 */
    exs_surge s[8];
    int n;
} exs_curve;
int exs_curve_add(exs_curve *c, const char *spec); /* "AT:LEN:FACTOR" */
/* x: the run's progress in [0,1) (surges); day_x: where in the day the
 * traffic is, [0,1) (the wave): x itself on the wall clock, the engine's
 * time of day under a simulated clock. */
double exs_curve_at(const exs_curve *c, double x, double day_x);
double exs_daily(double x); /* the wave shape, in [-1,1] */

#endif
