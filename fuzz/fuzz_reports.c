/* libFuzzer target for the GET /v1/reports query parser
 * (datastream/report_query.c, compiled in here): the raw query string, and
 * after a newline the Accept header. Invariants: a refusal always says why;
 * an accepted query has from on an hour, from < to within year 9999,
 * distinct group_by columns, a valid campaign id or none, and parsing is
 * deterministic. Every "from=" value is also fed to the time parser alone,
 * whose accepted times are within 1970..9999. */
#include "../datastream/report_query.c"

#include <stdlib.h>
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *nl = memchr(s, '\n', size);
    const char *accept = NULL;
    if (nl) {
        *nl = '\0';
        accept = nl + 1;
    }
    dst_rq q, q2;
    beat_reason why, why2;
    memset(&why, 0, sizeof why);
    memset(&why2, 0, sizeof why2);
    int rc = dst_rq_parse(s, accept, &q, &why);
    int rc2 = dst_rq_parse(s, accept, &q2, &why2);
    FUZZ_CHECK(rc == rc2);
    if (rc) {
        FUZZ_CHECK(rc == -EINVAL && why.msg[0] != '\0');
        FUZZ_CHECK(strcmp(why.msg, why2.msg) == 0);
    } else {
        FUZZ_CHECK(memcmp(&q, &q2, sizeof q) == 0);
        FUZZ_CHECK(q.from_ms >= 0 && q.from_ms % 3600000 == 0 && q.from_ms < q.to_ms);
        FUZZ_CHECK(q.to_ms <= DST_RQ_TIME_MAX + 1);
        FUZZ_CHECK(q.n_group >= 0 && q.n_group <= DST_RQ_NCOLS);
        unsigned seen = 0;
        for (int i = 0; i < q.n_group; i++) {
            FUZZ_CHECK(q.group[i] >= 0 && q.group[i] < DST_RQ_NCOLS);
            FUZZ_CHECK(!(seen & (1u << q.group[i])));
            seen |= 1u << q.group[i];
        }
        FUZZ_CHECK(!q.campaign[0] || beat_id_text_ok(q.campaign));
    }
    const char *f = strstr(s, "from=");
    if (f) {
        char v[64];
        size_t n = strcspn(f + 5, "&");
        if (n < sizeof v) {
            memcpy(v, f + 5, n);
            v[n] = '\0';
            int64_t ms = -1;
            memset(&why, 0, sizeof why);
            if (dst_rq_time(v, &ms, &why) == 0) FUZZ_CHECK(ms >= 0 && ms <= DST_RQ_TIME_MAX);
            else FUZZ_CHECK(why.msg[0] != '\0');
        }
    }
    free(s);
    return 0;
}
