/* Lease frames: round trips of both kinds, the version rule, and refusals
 * with reasons for what a peer might send. */
#include <errno.h>
#include <string.h>

#include "beat_lease.h"
#include "beat_test.h"

static int t_roundtrip(void) {
    beat_lease_row rows[2] = {{"c1", 1500000}, {"c-2", BEAT_LEASE_CPM_MAX}};
    beat_lease_msg m = {.tag = BEAT_FRAME_LEASE_REPORT,
                        .node = "inference-1",
                        .inc = 0x9f3a0c1d2e4b5a69ull,
                        .ts_ms = 1700000000123,
                        .final = true,
                        .n = 2,
                        .rows = rows};
    beat_buf b;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(beat_lease_encode(&m, &b), 0);
    CHECK(b.data[0] == 'L');
    beat_lease_msg back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_lease_decode(b.data, b.len, 'L', 10, &back, &why), 0);
    CHECK_EQ_STR(back.node, "inference-1");
    CHECK(back.inc == m.inc && back.ts_ms == m.ts_ms && back.final && back.n == 2);
    CHECK(back.rows[1].cpm == BEAT_LEASE_CPM_MAX && strcmp(back.rows[1].id, "c-2") == 0);
    beat_lease_fini(&back);
    /* a grant has no node and no final flag */
    m.tag = BEAT_FRAME_LEASE_GRANT;
    m.node[0] = 0;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_lease_encode(&m, &b), 0);
    CHECK(!strstr(b.data, "node") && !strstr(b.data, "final"));
    CHECK_EQ_INT(beat_lease_decode(b.data, b.len, 'G', 10, &back, &why), 0);
    CHECK(back.n == 2 && back.rows[0].cpm == 1500000 && !back.final);
    beat_lease_fini(&back);
    /* the wrong kind is refused, with a reason */
    CHECK_EQ_INT(beat_lease_decode(b.data, b.len, 'L', 10, &back, &why), -EBADMSG);
    CHECK_REASON(why, "not a lease report");
    /* unwritable: negative amount, missing node on a report, bad tag */
    rows[0].cpm = -1;
    CHECK_EQ_INT(beat_lease_encode(&m, &b), -EINVAL);
    rows[0].cpm = 1;
    m.tag = 'L';
    CHECK_EQ_INT(beat_lease_encode(&m, &b), -EINVAL);
    m.tag = 'X';
    CHECK_EQ_INT(beat_lease_encode(&m, &b), -EINVAL);
    beat_buf_fini(&b);
    return 0;
}

static const struct {
    const char *msg, *reason;
} bad[] = {
    {"L{\"v\":2,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":{}}", "unsupported version 2"},
    {"L{\"v\":1,\"inc\":\"1\",\"ts\":1,\"campaigns\":{}}", "node: missing"},
    {"L{\"v\":1,\"node\":\"n\",\"ts\":1,\"campaigns\":{}}", "inc: missing"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"xyz\",\"ts\":1,\"campaigns\":{}}",
     "inc: must be 1-16 hex"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1}", "campaigns: missing"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":[]}", "must be an object"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":{\"c\":-5}}", "campaigns.c"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":{\"c\":1.5}}", "campaigns.c"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":{\"c\":1,\"c\":2}}",
     "duplicate"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":{\"a\":1,\"b\":2,\"c\":3}}",
     "too many"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":{\"\":1}}", "campaigns.key"},
    {"L{\"v\":1,\"node\":\"n\",\"inc\":\"1\",\"ts\":1,\"campaigns\":{}} x", "trailing bytes"},
    {"", "not a lease report"},
};

static int t_refused(void) {
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        beat_lease_msg m;
        memset(&m, 0x5a, sizeof m);
        beat_reason why = {{0}};
        int rc = beat_lease_decode(bad[i].msg, strlen(bad[i].msg), 'L', 2, &m, &why);
        if (rc != -EBADMSG || !strstr(why.msg, bad[i].reason)) {
            fprintf(stderr, "  case %zu: rc=%d reason \"%s\" want \"%s\"\n", i, rc, why.msg,
                    bad[i].reason);
            return 1;
        }
        CHECK(m.n == 0x5a5a5a5a); /* out untouched */
    }
    return 0;
}

/* The version rule: unknown fields at every level are ignored. */
static int t_additive(void) {
    const char *m = "G{\"v\":1,\"zz\":{\"a\":[1]},\"inc\":\"ff\",\"ts\":3,\"campaigns\":{\"c\":7},"
                    "\"zz_n\":1}";
    beat_lease_msg g;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_lease_decode(m, strlen(m), 'G', 2, &g, &why), 0);
    CHECK(g.inc == 255 && g.n == 1 && g.rows[0].cpm == 7);
    beat_lease_fini(&g);
    return 0;
}

static const beat_test_case cases[] = {
    {"roundtrip", t_roundtrip},
    {"refused", t_refused},
    {"additive", t_additive},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_lease", cases, argc, argv); }
