/* The supervisor's merge of /v1/caps answers: a row's published count is
 * the sum over the datastreams (each counts the partitions it owns), the
 * recent bid times the newest of all; a restarted instance's answer to the
 * old cursor is dropped; a malformed answer is refused whole. */
#include <errno.h>
#include <string.h>

#include "beat_fcap.h"
#include "beat_test.h"
#include "fcap.h"

#define ROW(count, r0)                                                                             \
    "[[\"00000000000000c1\",\"0000000000000007\",3600000,3600," #count ",[" #r0 ",0,0,0]]]"
#define ANSWER(epoch, rows, last)                                                                  \
    "{\"v\":1,\"instance\":\"ds\",\"epoch\":\"" epoch "\",\"rows\":" rows                          \
    ",\"first_seq\":1,\"last_seq\":" #last "}"

static int merge(sup_fcap *f, int i, const char *json, beat_fcap_row *out) {
    beat_reason why = {{0}};
    return sup_fcap_merge(f, i, json, strlen(json), 0, out, 4, &why);
}

static int t_sum_over_instances(void) {
    const char *urls[] = {"http://a", "http://b"};
    sup_fcap_cfg c = {.urls = urls, .n_urls = 2, .every_ms = 250, .rows_max = 64};
    sup_fcap *f = sup_fcap_new_detached(&c);
    CHECK(f);
    beat_fcap_row out[4];
    CHECK_EQ_INT(merge(f, 0, ANSWER("0000000000000001", ROW(2, 100), 2), out), 1);
    CHECK_EQ_INT(out[0].count, 2);
    CHECK_EQ_INT(merge(f, 1, ANSWER("0000000000000009", ROW(3, 200), 3), out), 1);
    CHECK_EQ_INT(out[0].count, 5);
    CHECK_EQ_INT(out[0].recent[0], 200);
    CHECK_EQ_INT(out[0].recent[1], 100);
    CHECK_EQ_INT(out[0].camp, 0xc1);
    CHECK_EQ_INT(out[0].window_s, 3600);
    /* a later answer of instance 0 replaces its own count only */
    CHECK_EQ_INT(merge(f, 0, ANSWER("0000000000000001", ROW(4, 300), 5), out), 1);
    CHECK_EQ_INT(out[0].count, 7);
    /* instance 1 restarted: its answer to the old cursor is dropped */
    CHECK_EQ_INT(merge(f, 1, ANSWER("000000000000000a", ROW(1, 400), 1), out), 0);
    /* garbage, wrong version, a row with key 0: refused */
    CHECK_EQ_INT(merge(f, 0, "{", out), -EBADMSG);
    CHECK_EQ_INT(merge(f, 0, "{\"v\":2}", out), -EBADMSG);
    CHECK_EQ_INT(merge(f, 0,
                       ANSWER("0000000000000001",
                              "[[\"00000000000000c1\",\"0000000000000000\",0,60,1,[]]]", 6),
                       out),
                 -EBADMSG);
    sup_fcap_free(f);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"sum_over_instances", t_sum_over_instances},
        {0},
    };
    return beat_test_main("sup_fcap", tests, argc, argv);
}
