/* Minimal unit-test support: each *_test.c defines a table of {name, fn}
 * cases and calls beat_test_main(); a case fails on the first CHECK that
 * does not hold. Prints one line per failure and a final
 * "N passed, N failed" line (what tests/run_all.sh and CI read). */
#ifndef BEAT_TEST_H
#define BEAT_TEST_H

#include <stdio.h>
#include <string.h>

typedef struct beat_test_case {
    const char *name;
    int (*fn)(void); /* 0 = pass */
} beat_test_case;

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__,          \
                    __LINE__, #c);                                            \
            return 1;                                                         \
        }                                                                     \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                    \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_) {                                                       \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__, \
                    __LINE__, #a, a_, b_);                                    \
            return 1;                                                         \
        }                                                                     \
    } while (0)
#define CHECK_EQ_STR(a, b)                                                    \
    do {                                                                      \
        const char *a_ = (a), *b_ = (b);                                      \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                              \
            fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n",       \
                    __FILE__, __LINE__, #a, a_ ? a_ : "(null)",               \
                    b_ ? b_ : "(null)");                                      \
            return 1;                                                         \
        }                                                                     \
    } while (0)

static inline int beat_test_main(const char *suite, const beat_test_case *t,
                                 int argc, char **argv) {
    int pass = 0, fail = 0;
    for (; t->name; t++) {
        if (argc > 1 && !strstr(t->name, argv[1])) continue;
        int rc = t->fn();
        if (rc == 0) pass++;
        else {
            fail++;
            fprintf(stderr, "FAIL %s.%s\n", suite, t->name);
        }
    }
    printf("%s: %d passed, %d failed\n", suite, pass, fail);
    return fail ? 1 : 0;
}

#endif
