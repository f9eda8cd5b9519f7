/* libFuzzer target for beat-exsim's reader of the engine's X-Beat-Explain
 * header (tools/beat-exsim/explain.c): the grader must not crash or be
 * misled by whatever an engine under test sends. Checks: no crash or read
 * past the input; a refusal leaves every pCTR NaN and the value 0; an
 * accepted header gives pCTRs in [0, 1] (or NaN: not listed), a count that
 * matches them, and the same answer twice. Seeds in fuzz/corpus/explain/. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/beat-exsim/explain.c"
#include "fuzz.h"

/* Three campaigns: "a", "bb", "c-1"; the rest are unknown. */
static int find(void *arg, const char *id, size_t n) {
    (void)arg;
    static const char *const ids[] = {"a", "bb", "c-1"};
    for (int i = 0; i < 3; i++)
        if (strlen(ids[i]) == n && memcmp(ids[i], id, n) == 0) return i;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 20000) return 0;
    char *s = malloc(size ? size : 1); /* not NUL-terminated: exact bounds */
    if (!s) return 0;
    memcpy(s, data, size);
    float p[3], q[3];
    int64_t v, w;
    int rc = exs_explain_parse(s, size, find, NULL, p, 3, &v);
    int rc2 = exs_explain_parse(s, size, find, NULL, q, 3, &w);
    FUZZ_CHECK(rc == rc2 && v == w);
    int set = 0;
    for (int i = 0; i < 3; i++) {
        FUZZ_CHECK(isnan(p[i]) == isnan(q[i]) && (isnan(p[i]) || p[i] == q[i]));
        if (rc < 0) FUZZ_CHECK(isnan(p[i]));
        else if (!isnan(p[i])) {
            FUZZ_CHECK(p[i] >= 0 && p[i] <= 1);
            set++;
        }
    }
    if (rc < 0) FUZZ_CHECK(v == 0);
    else FUZZ_CHECK(rc == set && v >= 0);
    free(s);
    return 0;
}
