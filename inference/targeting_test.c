/* The targeting index must agree with the per-campaign rules it replaces on
 * the bid path: random worlds over small vocabularies full of near misses
 * (case, subdomains, category prefixes, empty strings), random requests,
 * and every campaign's bit compared with inf_targeting_ok / inf_blocked /
 * inf_creative_match. */
#include "targeting.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "creative.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const COUNTRY[] = {"USA", "usa", "GBR", "DEU", "Gbr", ""};
static const char *const OS[] = {"ios", "IOS", "android", "Android", "linux"};
static const char *const DOMAIN[] = {"a.com", "www.a.com", "x.b.a.com", "com", "A.COM",
                                     "b.com", ".com",      "a.com.",    "",    "news.example"};
static const char *const CAT[] = {"IAB1", "IAB1-2", "IAB12", "iab1", "IAB1-2-3", "IAB2", "-x", ""};
static const char *const BUNDLE[] = {"com.a.app", "com.A.app", "com.b", "", "COM.B"};
#define PICK(a) a[rnd(sizeof a / sizeof a[0])]

/* A random list of up to max entries from vocab (NULL-terminated storage). */
static beat_strv rand_list(const char *const *vocab, size_t nv, int max, char **store) {
    beat_strv l = {store, (int)rnd((uint32_t)max + 1)};
    for (int i = 0; i < l.n; i++) store[i] = (char *)vocab[rnd((uint32_t)nv)];
    return l;
}
#define LIST(v, max, store) rand_list(v, sizeof v / sizeof v[0], max, store)

enum { NC = 150 };
static beat_campaign camps[NC];
static beat_creative crs[NC][3];
static char *lists[NC][11][4];
static bool live[NC];

static void rand_world(void) {
    memset(camps, 0, sizeof camps);
    for (int i = 0; i < NC; i++) {
        beat_campaign *c = &camps[i];
        snprintf(c->id, sizeof c->id, "c%d", i);
        /* most lists empty, as in real campaign sets */
        c->countries = rnd(3) ? (beat_strv){0} : LIST(COUNTRY, 3, lists[i][0]);
        c->os = rnd(3) ? (beat_strv){0} : LIST(OS, 2, lists[i][1]);
        c->domains_allow = rnd(4) ? (beat_strv){0} : LIST(DOMAIN, 3, lists[i][2]);
        c->domains_block = rnd(3) ? (beat_strv){0} : LIST(DOMAIN, 3, lists[i][3]);
        c->bundles_allow = rnd(4) ? (beat_strv){0} : LIST(BUNDLE, 2, lists[i][4]);
        c->bundles_block = rnd(3) ? (beat_strv){0} : LIST(BUNDLE, 2, lists[i][5]);
        c->site_cat = rnd(3) ? (beat_strv){0} : LIST(CAT, 3, lists[i][6]);
        c->cat = LIST(CAT, 3, lists[i][7]);
        c->adomain = LIST(DOMAIN, 2, lists[i][8]);
        c->bundle = rnd(2) ? NULL : (char *)PICK(BUNDLE);
        c->n_device_types = rnd(3) ? 0 : 1 + (int)rnd(3);
        for (int k = 0; k < c->n_device_types; k++) c->device_types[k] = 1 + (int)rnd(7);
        c->n_creatives = 1 + (int)rnd(3);
        c->creatives = crs[i];
        for (int k = 0; k < c->n_creatives; k++) {
            beat_creative *cr = &crs[i][k];
            memset(cr, 0, sizeof *cr);
            static const int sz[][2] = {{300, 250}, {728, 90}, {320, 50}};
            cr->format = rnd(5) == 0   ? BEAT_FMT_VIDEO
                         : rnd(5) == 0 ? BEAT_FMT_NATIVE
                                       : BEAT_FMT_BANNER;
            int s = (int)rnd(3);
            cr->w = sz[s][0];
            cr->h = sz[s][1];
        }
        live[i] = rnd(8) != 0;
    }
}

static void rand_req(inf_req *r) {
    memset(r, 0, sizeof *r);
    r->chan = rnd(2) ? INF_CHAN_SITE : INF_CHAN_APP;
    if (r->chan == INF_CHAN_SITE) r->domain = rnd(6) ? PICK(DOMAIN) : NULL;
    else r->bundle = rnd(6) ? PICK(BUNDLE) : NULL;
    r->country = rnd(5) ? PICK(COUNTRY) : NULL;
    r->os = rnd(5) ? PICK(OS) : NULL;
    r->devicetype = rnd(5) ? 1 + (int)rnd(7) : -1;
    r->n_cats = (int)rnd(3);
    for (int i = 0; i < r->n_cats; i++) r->cats[i] = PICK(CAT);
    r->n_bcat = rnd(3) ? 0 : 1 + (int)rnd(2);
    for (int i = 0; i < r->n_bcat; i++) r->bcat[i] = PICK(CAT);
    r->n_badv = rnd(3) ? 0 : 1 + (int)rnd(2);
    for (int i = 0; i < r->n_badv; i++) r->badv[i] = PICK(DOMAIN);
    r->n_bapp = rnd(3) ? 0 : 1 + (int)rnd(2);
    for (int i = 0; i < r->n_bapp; i++) r->bapp[i] = PICK(BUNDLE);
}

static bool bit(const uint64_t *s, int i) { return s[i / 64] >> (i % 64) & 1; }

static int t_request_set_matches_rules(void) {
    int admitted = 0, refused = 0;
    for (int world = 0; world < 40; world++) {
        rand_world();
        inf_tindex *x = inf_tindex_build(camps, live, NC);
        CHECK(x);
        CHECK_EQ_INT(inf_tindex_words(x), (NC + 63) / 64);
        for (int q = 0; q < 200; q++) {
            inf_req r;
            rand_req(&r);
            uint64_t set[INF_SET_WORDS];
            inf_tindex_request(x, &r, set);
            for (int i = 0; i < NC; i++) {
                bool want =
                    live[i] && inf_targeting_ok(&camps[i], &r) && !inf_blocked(&camps[i], &r);
                if (bit(set, i) != want) {
                    fprintf(stderr,
                            "  world %d req %d campaign %d: index %d, rules %d "
                            "(domain=%s bundle=%s country=%s)\n",
                            world, q, i, bit(set, i), want, r.domain ? r.domain : "-",
                            r.bundle ? r.bundle : "-", r.country ? r.country : "-");
                    inf_tindex_free(x);
                    return 1;
                }
                want ? admitted++ : refused++;
            }
        }
        inf_tindex_free(x);
    }
    /* the random worlds exercise both answers, not just one */
    CHECK(admitted > 10000 && refused > 10000);
    return 0;
}

static int t_imp_set_covers_creatives(void) {
    int fits = 0;
    for (int world = 0; world < 40; world++) {
        rand_world();
        inf_tindex *x = inf_tindex_build(camps, live, NC);
        CHECK(x);
        for (int q = 0; q < 100; q++) {
            inf_imp im;
            memset(&im, 0, sizeof im);
            im.formats = 1 + rnd(7);
            im.n_sizes = (int)rnd(3);
            static const int sz[][2] = {{300, 250}, {728, 90}, {320, 50}, {160, 600}};
            for (int s = 0; s < im.n_sizes; s++) {
                int k = (int)rnd(4);
                im.sizes[s] = (inf_size){sz[k][0], sz[k][1]};
            }
            uint64_t set[INF_SET_WORDS];
            memset(set, 0xff, sizeof set);
            inf_tindex_imp(x, &im, set);
            for (int i = 0; i < NC; i++) {
                /* banner fit is exact; video/native need the details the
                 * index ignores (mimes, assets), so only "has the format" */
                bool banner = false, video = false, native = false;
                for (int k = 0; k < camps[i].n_creatives; k++) {
                    const beat_creative *cr = &crs[i][k];
                    for (int s = 0; s < im.n_sizes; s++)
                        banner |= (im.formats & INF_FMT_BANNER) && cr->format == BEAT_FMT_BANNER &&
                                  cr->w == im.sizes[s].w && cr->h == im.sizes[s].h;
                    video |= (im.formats & INF_FMT_VIDEO) && cr->format == BEAT_FMT_VIDEO;
                    native |= (im.formats & INF_FMT_NATIVE) && cr->format == BEAT_FMT_NATIVE;
                }
                CHECK_EQ_INT(bit(set, i), banner || video || native);
                if (inf_creative_match(&camps[i], NULL, 0, &im) >= 0) CHECK(bit(set, i));
                fits += banner;
            }
        }
        inf_tindex_free(x);
    }
    CHECK(fits > 1000);
    return 0;
}

static int t_empty_world(void) {
    inf_tindex *x = inf_tindex_build(NULL, NULL, 0);
    CHECK(x);
    CHECK_EQ_INT(inf_tindex_words(x), 0);
    inf_req r;
    rand_req(&r);
    uint64_t set[1] = {0};
    inf_tindex_request(x, &r, set);
    inf_tindex_free(x);
    CHECK(inf_tindex_build(camps, live, BEAT_CAMPAIGNS_MAX + 1) == NULL);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"request_set_matches_rules", t_request_set_matches_rules},
        {"imp_set_covers_creatives", t_imp_set_covers_creatives},
        {"empty_world", t_empty_world},
        {0},
    };
    return beat_test_main("targeting", tests, argc, argv);
}
