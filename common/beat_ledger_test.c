/* Spend ledger: round trip, the version rule, refusals with reasons. */
#include <errno.h>
#include <string.h>

#include "beat_ledger.h"
#include "beat_test.h"

static int t_roundtrip(void) {
    beat_ledger_row r0[2] = {{"c1", 123000, 456000}, {"c2", 0, 7}};
    beat_ledger_part parts[2] = {{.p = 0, .seq = 812, .n = 2, .rows = r0}, {.p = 3, .seq = 1}};
    beat_ledger l = {.instance = "datastream-1", .store_full = true, .n = 2, .parts = parts};
    beat_buf b;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(beat_ledger_encode(&l, &b), 0);
    beat_ledger back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_ledger_decode(b.data, b.len, 10, &back, &why), 0);
    CHECK(back.store_full && back.n == 2 && back.parts[1].p == 3 && back.parts[1].n == 0);
    CHECK(back.parts[0].seq == 812 && back.parts[0].rows[0].released_cpm == 456000);
    CHECK_EQ_STR(back.instance, "datastream-1");
    beat_ledger_fini(&back);
    r0[1].spend_cpm = -1;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_ledger_encode(&l, &b), -EINVAL);
    beat_buf_fini(&b);
    return 0;
}

static const struct {
    const char *json, *reason;
} bad[] = {
    {"{\"v\":2,\"partitions\":[]}", "unsupported version 2"},
    {"{\"v\":1}", "partitions: missing"},
    {"{\"v\":1,\"partitions\":[{\"p\":-1,\"seq\":1,\"campaigns\":{}}]}", "partitions[0].p"},
    {"{\"v\":1,\"partitions\":[{\"p\":0,\"campaigns\":{}}]}", "partitions[0].seq: missing"},
    {"{\"v\":1,\"partitions\":[{\"p\":0,\"seq\":1,\"campaigns\":{}},{\"p\":0,\"seq\":2,"
     "\"campaigns\":{}}]}",
     "duplicate partition"},
    {"{\"v\":1,\"partitions\":[{\"p\":0,\"seq\":1,\"campaigns\":{\"c\":{\"spend_cpm\":1}}}]}",
     "released_cpm: missing"},
    {"{\"v\":1,\"partitions\":[{\"p\":0,\"seq\":1,\"campaigns\":{\"c\":{\"spend_cpm\":-1,"
     "\"released_cpm\":0}}}]}",
     "spend_cpm"},
    {"{\"v\":1,\"partitions\":[{\"p\":0,\"seq\":1,\"campaigns\":{\"a\":{\"spend_cpm\":1,"
     "\"released_cpm\":0},\"b\":{\"spend_cpm\":1,\"released_cpm\":0}}}]}",
     "too many"},
};

static int t_refused(void) {
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        beat_ledger l;
        beat_reason why = {{0}};
        int rc = beat_ledger_decode(bad[i].json, strlen(bad[i].json), 1, &l, &why);
        if (rc != -EBADMSG || !strstr(why.msg, bad[i].reason)) {
            fprintf(stderr, "  case %zu: rc=%d reason \"%s\" want \"%s\"\n", i, rc, why.msg,
                    bad[i].reason);
            return 1;
        }
    }
    return 0;
}

static int t_additive(void) {
    const char *j = "{\"v\":1,\"zz\":[1],\"partitions\":[{\"p\":2,\"zz\":{},\"seq\":5,"
                    "\"campaigns\":{\"c\":{\"spend_cpm\":1,\"released_cpm\":2,\"zz\":3}}}]}";
    beat_ledger l;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_ledger_decode(j, strlen(j), 4, &l, &why), 0);
    CHECK(l.n == 1 && l.parts[0].rows[0].released_cpm == 2 && !l.store_full);
    beat_ledger_fini(&l);
    return 0;
}

static const beat_test_case cases[] = {
    {"roundtrip", t_roundtrip},
    {"refused", t_refused},
    {"additive", t_additive},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_ledger", cases, argc, argv); }
