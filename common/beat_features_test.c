/* Feature hashing: pinned values (a change breaks every stored model), index
 * bounds, counts and campaign crosses. */
#include "beat_features.h"
#include "beat_test.h"

#include <inttypes.h>
#include <stdlib.h>
#include <xxhash.h>

static const beat_hash_params P = {BEAT_HASH_BITS_DEFAULT, BEAT_HASH_SEED_DEFAULT};

static int t_layout_matches_contract(void) {
    /* hash(ns, v) is XXH3 of "ns\x1fv" with the seed. */
    beat_feat_raw f;
    beat_feat_reset(&f);
    beat_feat_add(&f, &P, "dom", "news.example", 12);
    CHECK_EQ_INT(f.n, 1);
    CHECK(f.h[0] == XXH3_64bits_withSeed("dom\x1fnews.example", 16, P.seed));
    beat_feat_add_int(&f, &P, "dt", 4);
    CHECK(f.h[1] == XXH3_64bits_withSeed("dt\x1f"
                                         "4",
                                         4, P.seed));
    beat_feat_add_int(&f, &P, "hr", -7);
    CHECK(f.h[2] == XXH3_64bits_withSeed("hr\x1f-7", 5, P.seed));
    CHECK(beat_feat_campaign_hash(&P, "c1") == XXH3_64bits_withSeed("cmp\x1f"
                                                                    "c1",
                                                                    6, P.seed));
    return 0;
}

static int t_pinned_values(void) {
    /* Golden values: if these change, models trained before are useless. */
    beat_feat_raw f;
    beat_feat_reset(&f);
    beat_feat_add(&f, &P, "dom", "news.example", 12);
    uint64_t c = beat_feat_campaign_hash(&P, "c1");
    uint32_t idx[3];
    CHECK_EQ_INT(beat_feat_indices(&P, &f, c, idx, 3), 3);
    CHECK_EQ_INT(idx[0], 596349);
    CHECK_EQ_INT(idx[1], 611478);
    CHECK_EQ_INT(idx[2], 169933);
    return 0;
}

static int t_long_value_same_as_oneshot(void) {
    char v[1000];
    for (size_t i = 0; i < sizeof v; i++) v[i] = (char)('a' + i % 26);
    char cat[4 + sizeof v];
    memcpy(cat, "dom\x1f", 4);
    memcpy(cat + 4, v, sizeof v);
    beat_feat_raw f;
    beat_feat_reset(&f);
    beat_feat_add(&f, &P, "dom", v, sizeof v);
    CHECK(f.h[0] == XXH3_64bits_withSeed(cat, sizeof cat, P.seed));
    /* Around the 256-byte boundary of the stack path. */
    for (size_t n = 248; n < 260; n++) {
        beat_feat_reset(&f);
        beat_feat_add(&f, &P, "dom", v, n);
        CHECK(f.h[0] == XXH3_64bits_withSeed(cat, 4 + n, P.seed));
    }
    return 0;
}

static int t_seed_and_namespace_matter(void) {
    beat_hash_params q = P;
    q.seed ^= 1;
    beat_feat_raw a, b, c;
    beat_feat_reset(&a);
    beat_feat_reset(&b);
    beat_feat_reset(&c);
    beat_feat_add(&a, &P, "dom", "x", 1);
    beat_feat_add(&b, &q, "dom", "x", 1);
    beat_feat_add(&c, &P, "pub", "x", 1);
    CHECK(a.h[0] != b.h[0]);
    CHECK(a.h[0] != c.h[0]);
    /* "do"+"mx" must not collide with "dom"+"x" (the separator). */
    beat_feat_reset(&c);
    beat_feat_add(&c, &P, "do", "mx", 2);
    CHECK(a.h[0] != c.h[0]);
    return 0;
}

static int t_count_and_bounds(void) {
    for (uint32_t bits = 10; bits <= 26; bits += 4) {
        beat_hash_params q = {bits, P.seed};
        beat_feat_raw f;
        beat_feat_reset(&f);
        char v[16];
        for (int i = 0; i < 10; i++) {
            int n = snprintf(v, sizeof v, "v%d", i);
            beat_feat_add(&f, &q, "dom", v, (size_t)n);
        }
        uint32_t idx[64];
        int n = beat_feat_indices(&q, &f, beat_feat_campaign_hash(&q, "c9"), idx, 64);
        CHECK_EQ_INT(n, 21);
        for (int i = 0; i < n; i++) CHECK(idx[i] < (1u << bits));
        /* out_max truncates. */
        CHECK_EQ_INT(beat_feat_indices(&q, &f, 1, idx, 5), 5);
        CHECK_EQ_INT(beat_feat_indices(&q, &f, 1, idx, 0), 0);
    }
    return 0;
}

static int t_overflow_ignored(void) {
    beat_feat_raw f;
    beat_feat_reset(&f);
    for (int i = 0; i < BEAT_FEAT_RAW_MAX + 5; i++) beat_feat_add_int(&f, &P, "x", i);
    CHECK_EQ_INT(f.n, BEAT_FEAT_RAW_MAX);
    uint32_t idx[2 * BEAT_FEAT_RAW_MAX + 1];
    CHECK_EQ_INT(beat_feat_indices(&P, &f, 7, idx, 2 * BEAT_FEAT_RAW_MAX + 1),
                 2 * BEAT_FEAT_RAW_MAX + 1);
    beat_feat_reset(&f);
    CHECK_EQ_INT(beat_feat_indices(&P, &f, 7, idx, 4), 1); /* campaign alone */
    return 0;
}

static int t_campaigns_cross_differently(void) {
    beat_feat_raw f;
    beat_feat_reset(&f);
    beat_feat_add(&f, &P, "dom", "a.example", 9);
    beat_feat_add(&f, &P, "sz", "300x250", 7);
    uint32_t x[5], y[5];
    beat_feat_indices(&P, &f, beat_feat_campaign_hash(&P, "c1"), x, 5);
    beat_feat_indices(&P, &f, beat_feat_campaign_hash(&P, "c2"), y, 5);
    CHECK(x[0] == y[0] && x[1] == y[1]); /* base features shared */
    CHECK(x[2] != y[2] && x[3] != y[3]); /* crosses differ */
    CHECK(x[4] != y[4]);                 /* campaign bias differs */
    CHECK(x[2] != x[3]);
    /* Crossing is not symmetric in a way that collides base with cross. */
    CHECK(x[2] != x[0] && x[3] != x[1]);
    return 0;
}

static int t_spread(void) {
    /* 10k distinct values into 2^20 buckets: expect only a handful of
     * collisions (birthday ≈ 48); a broken mask would give thousands. */
    enum { N = 10000 };
    static uint8_t seen[1 << 20];
    memset(seen, 0, sizeof seen);
    int coll = 0;
    for (int i = 0; i < N; i++) {
        beat_feat_raw f;
        beat_feat_reset(&f);
        beat_feat_add_int(&f, &P, "u", i);
        uint32_t idx[3];
        beat_feat_indices(&P, &f, 42, idx, 3);
        if (seen[idx[0]]++) coll++;
    }
    CHECK(coll < 150);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"layout_matches_contract", t_layout_matches_contract},
        {"pinned_values", t_pinned_values},
        {"long_value_same_as_oneshot", t_long_value_same_as_oneshot},
        {"seed_and_namespace_matter", t_seed_and_namespace_matter},
        {"count_and_bounds", t_count_and_bounds},
        {"overflow_ignored", t_overflow_ignored},
        {"campaigns_cross_differently", t_campaigns_cross_differently},
        {"spread", t_spread},
        {NULL, NULL}};
    return beat_test_main("beat_features", tests, argc, argv);
}
