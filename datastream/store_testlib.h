/* Shared by the tests that run the partition store (store_test.c,
 * report_test.c, conv_test.c, heard_test.c; header-only, all static
 * inline): a fresh temporary store directory per case, a stream and a
 * store on it with test-sized limits, the stream's forward-only clock and
 * the totals of its closed buckets. Each test's main() starts clk at its
 * own T0 before running the cases. */
#ifndef DST_STORE_TESTLIB_H
#define DST_STORE_TESTLIB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "stream.h"

#define TOPIC "beat.events"

static char dir[256]; /* the running case's store directory (fresh_dir) */
static int64_t clk;   /* the stream's clock: only moves forward */

/* A new empty directory /tmp/beat-<name>-test-XXXXXX in dir. */
static inline void fresh_dir(const char *name) {
    snprintf(dir, sizeof dir, "/tmp/beat-%s-test-XXXXXX", name);
    if (!mkdtemp(dir)) abort();
}

static inline void rm_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", dir);
}

/* A stream of 1 s buckets (buckets_max of them) starting at clk. */
static inline dst_stream *test_stream(int buckets_max) {
    dst_stream_cfg c = {.bucket_ms = 1000,
                        .buckets_max = buckets_max,
                        .campaigns_max = 100,
                        .join_window_ms = 30000,
                        .max_open = 1000,
                        .samples_max = 1000,
                        .neg_rate = 1.0,
                        .seed = 1};
    return dst_stream_new(&c, clk);
}

/* A store on dir: notice keys kept 65 min, report rows report_retention_ms
 * (0: the default), ledgers refused retried after a second. */
static inline dst_store *test_store(int64_t max_keys, int64_t report_retention_ms) {
    dst_store_cfg c = {.dir = dir,
                       .topic = TOPIC,
                       .retention_ms = 3900000,
                       .max_keys = max_keys,
                       .sync_full = false,
                       .retry_ms = 1000,
                       .report_retention_ms = report_retention_ms};
    return dst_store_new(&c);
}

/* Assigns the single partition p at now; its start offset. */
static inline int64_t assign_one(dst_store *st, int32_t p, int64_t now) {
    int64_t start;
    dst_store_assign(st, &p, 1, &start, now);
    return start;
}

/* Totals of every closed bucket (closes the current one first). */
static inline dst_totals tot(dst_stream *s, const char *camp) {
    clk += 2000;
    dst_stream_tick(s, clk);
    dst_totals t;
    dst_buckets_sum(dst_stream_buckets(s), camp, 0, &t);
    return t;
}

/* The end of a case: the store, the stream and the directory go. */
static inline void teardown(dst_store *st, dst_stream *s) {
    dst_store_free(st);
    dst_stream_free(s);
    rm_dir();
}

#endif
