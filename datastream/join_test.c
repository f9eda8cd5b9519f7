/* Join table mechanics: lookup by (auction, imp), expiry from first sight,
 * drop-oldest eviction, revocation by partition, and the two-generation
 * closed set (kept 1–2 windows, rotated early when full). */
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "join.h"

#define W 1000

static int closes[3];
static uint64_t last_closed;

static void on_close(void *arg, dst_entry *e, dst_close_reason why) {
    (void)arg;
    closes[why]++;
    last_closed = e->key;
}

static dst_join *mk(int64_t max_open) {
    memset(closes, 0, sizeof closes);
    return dst_join_new(max_open, W, on_close, NULL);
}

static int test_find_insert_expire(void) {
    dst_join *j = mk(100);
    uint64_t k1 = dst_join_key("a", "1"), k2 = dst_join_key("a", "2");
    CHECK(k1 != k2);
    CHECK(dst_join_key("a1", "") != dst_join_key("a", "1"));
    CHECK(dst_join_find(j, k1) == NULL);
    dst_entry *e = dst_join_insert(j, k1, 0, 100);
    CHECK(e && dst_join_find(j, k1) == e);
    e->flags = DST_F_TYPEBIT(BEAT_EV_WIN) | DST_F_WON;
    CHECK(dst_join_insert(j, k2, 0, 500) != NULL);
    CHECK_EQ_INT(dst_join_open(j), 2);
    dst_join_expire(j, 100 + W - 1);
    CHECK_EQ_INT(dst_join_open(j), 2);
    dst_join_expire(j, 100 + W);
    CHECK_EQ_INT(dst_join_open(j), 1);
    CHECK_EQ_INT(closes[DST_CLOSE_EXPIRED], 1);
    CHECK(last_closed == k1);
    CHECK(dst_join_find(j, k1) == NULL);
    uint16_t fl = 0;
    CHECK(dst_join_closed_get(j, k1, &fl));
    CHECK_EQ_INT(fl, DST_F_TYPEBIT(BEAT_EV_WIN) | DST_F_WON);
    CHECK(!dst_join_closed_get(j, k2, &fl));
    dst_join_free(j); /* frees the open k2 without calling back */
    CHECK_EQ_INT(closes[DST_CLOSE_EXPIRED], 1);
    return 0;
}

static int test_evict_oldest(void) {
    dst_join *j = mk(3);
    for (int i = 0; i < 5; i++) {
        char a[16];
        snprintf(a, sizeof a, "e%d", i);
        CHECK(dst_join_insert(j, dst_join_key(a, "1"), 0, i) != NULL);
    }
    CHECK_EQ_INT(dst_join_open(j), 3);
    CHECK_EQ_INT(closes[DST_CLOSE_EVICTED], 2);
    CHECK(dst_join_find(j, dst_join_key("e0", "1")) == NULL);
    CHECK(dst_join_find(j, dst_join_key("e1", "1")) == NULL);
    CHECK(dst_join_find(j, dst_join_key("e2", "1")) != NULL);
    uint16_t fl;
    CHECK(dst_join_closed_get(j, dst_join_key("e0", "1"), &fl));
    dst_join_free(j);
    return 0;
}

static int test_revoke(void) {
    dst_join *j = mk(100);
    for (int i = 0; i < 10; i++) {
        char a[16];
        snprintf(a, sizeof a, "r%d", i);
        dst_entry *e = dst_join_insert(j, dst_join_key(a, "1"), i % 4, i);
        CHECK(e);
        uint32_t f[2] = {1, 2};
        CHECK_EQ_INT(dst_join_set_feat(e, f, 2), 0);
    }
    int32_t p[2] = {1, 3};
    CHECK_EQ_INT(dst_join_drop_partitions(j, p, 2, 20), 5); /* 1,3,5,7,9 */
    CHECK_EQ_INT(closes[DST_CLOSE_REVOKED], 5);
    CHECK_EQ_INT(dst_join_open(j), 5);
    CHECK(dst_join_find(j, dst_join_key("r1", "1")) == NULL);
    CHECK(dst_join_find(j, dst_join_key("r2", "1")) != NULL);
    CHECK_EQ_INT(dst_join_drop_partitions(j, p, 0, 20), 0);
    /* remaining entries still expire in order */
    dst_join_expire(j, 8 + W);
    CHECK_EQ_INT(dst_join_open(j), 0);
    CHECK_EQ_INT(closes[DST_CLOSE_EXPIRED], 5);
    dst_join_free(j);
    return 0;
}

static int test_closed_generations(void) {
    dst_join *j = mk(100);
    uint64_t k = dst_join_key("c", "1");
    uint16_t fl;
    dst_join_closed_put(j, k, 7, 0);
    dst_join_expire(j, W - 1);
    CHECK(dst_join_closed_get(j, k, &fl) && fl == 7);
    dst_join_expire(j, W); /* first rotation: kept in the older generation */
    CHECK(dst_join_closed_get(j, k, &fl) && fl == 7);
    dst_join_closed_put(j, k, 9, W + 1); /* update copies into current */
    dst_join_expire(j, 2 * W);
    CHECK(dst_join_closed_get(j, k, &fl) && fl == 9);
    dst_join_expire(j, 3 * W);
    CHECK(!dst_join_closed_get(j, k, &fl));
    CHECK_EQ_INT(dst_join_closed_count(j), 0);
    dst_join_free(j);
    return 0;
}

static int test_closed_full_rotates(void) {
    dst_join *j = mk(1); /* smallest closed set: 1024 slots, 512 per gen */
    char a[16];
    for (int i = 0; i < 512; i++) {
        snprintf(a, sizeof a, "f%d", i);
        dst_join_closed_put(j, dst_join_key(a, "1"), 1, 0);
    }
    CHECK_EQ_INT(dst_join_closed_count(j), 512);
    dst_join_closed_put(j, dst_join_key("g", "1"), 1, 0); /* forces rotation */
    uint16_t fl;
    CHECK(dst_join_closed_get(j, dst_join_key("f0", "1"), &fl));
    CHECK(dst_join_closed_get(j, dst_join_key("g", "1"), &fl));
    for (int i = 0; i < 512; i++) {
        snprintf(a, sizeof a, "h%d", i);
        dst_join_closed_put(j, dst_join_key(a, "1"), 1, 0);
    }
    CHECK(!dst_join_closed_get(j, dst_join_key("f0", "1"), &fl));
    CHECK(dst_join_closed_get(j, dst_join_key("h511", "1"), &fl));
    CHECK(dst_join_closed_count(j) <= 1024);
    dst_join_free(j);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case t[] = {
        {"find_insert_expire", test_find_insert_expire},
        {"evict_oldest", test_evict_oldest},
        {"revoke", test_revoke},
        {"closed_generations", test_closed_generations},
        {"closed_full_rotates", test_closed_full_rotates},
        {NULL, NULL},
    };
    return beat_test_main("join", t, argc, argv);
}
