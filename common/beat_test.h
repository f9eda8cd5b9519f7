/* Minimal unit-test support: each *_test.c defines a table of {name, fn}
 * cases and calls beat_test_main(); a case fails on the first CHECK that
 * does not hold. Prints one line per failure and a final
 * "N passed, N failed" line (what tests/run_all.sh and CI read). */
#ifndef BEAT_TEST_H
#define BEAT_TEST_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct beat_test_case {
    const char *name;
    int (*fn)(void); /* 0 = pass */
} beat_test_case;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);                \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_,    \
                    b_);                                                                           \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)
/* A beat_reason (why) whose message contains sub. */
#define CHECK_REASON(why, sub)                                                                     \
    do {                                                                                           \
        if (!strstr((why).msg, (sub))) {                                                           \
            fprintf(stderr, "  %s:%d: reason \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,           \
                    (why).msg, (sub));                                                             \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)
#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,    \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                       \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Reads a fixture file into a NUL-terminated heap copy (the caller frees
 * it), its length in *len. rel is looked up under the working directory,
 * then under the test binary's directory and each of its parents (tests
 * run from the repo root; fixtures live beside it). NULL, with a line on
 * stderr, if it is nowhere to be found or cannot be read. */
static inline char *beat_test_read_file(const char *rel, size_t *len) {
    char path[PATH_MAX + 256], dir[PATH_MAX];
    int found = access(rel, R_OK) == 0;
    if (found) snprintf(path, sizeof path, "%s", rel);
    ssize_t k = found ? 0 : readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (k > 0) dir[k] = '\0';
    for (int up = 0; k > 0 && !found && up < 8; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash) break;
        *slash = '\0';
        snprintf(path, sizeof path, "%s/%.255s", dir, rel);
        found = access(path, R_OK) == 0;
    }
    if (!found) {
        fprintf(stderr, "  %s not found\n", rel);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[sz] = '\0';
    *len = b ? (size_t)sz : 0;
    return b;
}

static inline int beat_test_main(const char *suite, const beat_test_case *t, int argc,
                                 char **argv) {
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
