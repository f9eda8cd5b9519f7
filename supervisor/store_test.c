/* Unit tests of the SQLite store on temporary files: versions never reused,
 * retention, reload after reopen, blobs intact, corrupt files refused. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_test.h"

static char dir[64];

static void tmp_path(char *out, size_t n, const char *name) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/sup_store_test.XXXXXX");
        BEAT_ASSERT(mkdtemp(dir));
    }
    snprintf(out, n, "%s/%s", dir, name);
}

static int put_state(sup_store *st, int64_t *v, const char *json) {
    int rc = sup_store_next_version(st, SUP_T_STATES, v);
    if (rc) return rc;
    return sup_store_put(st, SUP_T_STATES, *v, 1000 + *v, "act-1", 0, json, strlen(json), NULL,
                         NULL);
}

static int test_creates_parent_dirs(void) {
    char p[256];
    tmp_path(p, sizeof p, "a/b/c/sup.db");
    sup_store *st = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_store_open(p, 3, &st, &why), 0);
    CHECK(access(p, F_OK) == 0);
    sup_row r;
    CHECK_EQ_INT(sup_store_latest(st, SUP_T_CAMPAIGNS, &r), -ENOENT);
    CHECK_EQ_INT(sup_store_count(st, SUP_T_CHECKPOINTS), 0);
    sup_store_close(st);
    return 0;
}

static int test_versions_monotonic_and_retention(void) {
    char p[256];
    tmp_path(p, sizeof p, "mono.db");
    sup_store *st = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_store_open(p, 5, &st, &why), 0);
    int64_t v = 0, prev = 0;
    for (int i = 0; i < 30; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        CHECK_EQ_INT(put_state(st, &v, json), 0);
        CHECK_EQ_INT(v, prev + 1);
        prev = v;
    }
    CHECK_EQ_INT(sup_store_count(st, SUP_T_STATES), 5);
    /* Other tables have their own sequence. */
    int64_t cv = 0;
    CHECK_EQ_INT(sup_store_next_version(st, SUP_T_CAMPAIGNS, &cv), 0);
    CHECK_EQ_INT(cv, 1);
    /* A used version is refused, never overwritten. */
    CHECK_EQ_INT(sup_store_put(st, SUP_T_STATES, 30, 1, "x", 0, "{}", 2, NULL, NULL), -EEXIST);
    sup_row r;
    CHECK_EQ_INT(sup_store_latest(st, SUP_T_STATES, &r), 0);
    CHECK_EQ_INT(r.version, 30);
    CHECK_EQ_STR((char *)r.data, "{\"i\":29}");
    sup_row_fini(&r);
    sup_store_close(st);

    /* Reopen: the latest is reloaded and the sequence continues past the
     * deleted rows, even after all of them are gone. */
    st = NULL;
    CHECK_EQ_INT(sup_store_open(p, 1, &st, &why), 0);
    CHECK_EQ_INT(sup_store_latest(st, SUP_T_STATES, &r), 0);
    CHECK_EQ_INT(r.version, 30);
    CHECK_EQ_INT(r.ts_ms, 1030);
    CHECK_EQ_STR(r.label, "act-1");
    sup_row_fini(&r);
    CHECK_EQ_INT(put_state(st, &v, "{\"i\":30}"), 0);
    CHECK_EQ_INT(v, 31);
    CHECK_EQ_INT(sup_store_count(st, SUP_T_STATES), 1);
    sup_store_close(st);
    return 0;
}

static int test_checkpoint_blob_and_meta(void) {
    char p[256];
    tmp_path(p, sizeof p, "blob.db");
    sup_store *st = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_store_open(p, 2, &st, &why), 0);
    size_t n = 300000;
    unsigned char *blob = malloc(n);
    CHECK(blob);
    for (size_t i = 0; i < n; i++) blob[i] = (unsigned char)(i * 7 + (i >> 8)); /* has NULs */
    for (int i = 0; i < 3; i++) {
        int64_t v;
        CHECK_EQ_INT(sup_store_next_version(st, SUP_T_CHECKPOINTS, &v), 0);
        blob[0] = (unsigned char)i;
        CHECK_EQ_INT(sup_store_put(st, SUP_T_CHECKPOINTS, v, 5, "trainer-x", 0xdeadbeefu, blob, n,
                                   "k", i == 2 ? "v2" : "v"),
                     0);
    }
    CHECK_EQ_INT(sup_store_count(st, SUP_T_CHECKPOINTS), 2);
    sup_row r;
    CHECK_EQ_INT(sup_store_latest(st, SUP_T_CHECKPOINTS, &r), 0);
    CHECK_EQ_INT(r.version, 3);
    CHECK_EQ_INT(r.len, n);
    CHECK(r.crc == 0xdeadbeefu);
    CHECK(memcmp(r.data, blob, n) == 0);
    CHECK_EQ_STR(r.label, "trainer-x");
    sup_row_fini(&r);
    char val[8];
    CHECK_EQ_INT(sup_store_meta_get(st, "k", val, sizeof val), 0);
    CHECK_EQ_STR(val, "v2");
    CHECK_EQ_INT(sup_store_meta_get(st, "nope", val, sizeof val), -ENOENT);
    CHECK(sup_store_disk_bytes(st) > (double)n);
    free(blob);
    sup_store_close(st);
    return 0;
}

static int test_corrupt_file_refused(void) {
    char p[256];
    tmp_path(p, sizeof p, "garbage.db");
    FILE *f = fopen(p, "wb");
    CHECK(f);
    for (int i = 0; i < 4096; i++) fputc("not a database "[i % 15], f);
    fclose(f);
    sup_store *st = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_store_open(p, 3, &st, &why), -EBADMSG);
    CHECK(st == NULL);
    CHECK(strstr(why.msg, "integrity_check") != NULL);
    return 0;
}

static int test_damaged_page_refused(void) {
    /* A real database whose table pages are overwritten: integrity_check
     * (or the first read) must refuse it rather than serve garbage. */
    char p[256];
    tmp_path(p, sizeof p, "damaged.db");
    sup_store *st = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_store_open(p, 100, &st, &why), 0);
    for (int i = 0; i < 50; i++) {
        int64_t v;
        char json[200];
        snprintf(json, sizeof json, "{\"i\":%d,\"pad\":\"%0150d\"}", i, i);
        CHECK_EQ_INT(put_state(st, &v, json), 0);
    }
    sup_store_close(st); /* last connection: WAL checkpointed into the file */
    FILE *f = fopen(p, "r+b");
    CHECK(f);
    CHECK(fseek(f, 4096 + 8, SEEK_SET) == 0); /* inside page 2, past its header */
    for (int i = 0; i < 8000; i++) fputc(0xA5, f);
    fclose(f);
    st = NULL;
    CHECK_EQ_INT(sup_store_open(p, 100, &st, &why), -EBADMSG);
    return 0;
}

static int test_bad_args(void) {
    sup_store *st = NULL;
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_store_open("", 3, &st, &why), -EINVAL);
    CHECK(sup_store_open("/proc/definitely/not/here.db", 3, &st, &why) < 0);
    sup_store_close(NULL);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("store_test", BEAT_FATAL);
    static const beat_test_case tests[] = {
        {"creates_parent_dirs", test_creates_parent_dirs},
        {"versions_monotonic_and_retention", test_versions_monotonic_and_retention},
        {"checkpoint_blob_and_meta", test_checkpoint_blob_and_meta},
        {"corrupt_file_refused", test_corrupt_file_refused},
        {"damaged_page_refused", test_damaged_page_refused},
        {"bad_args", test_bad_args},
        {NULL, NULL},
    };
    int rc = beat_test_main("store", tests, argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (dir[0] && system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
    return rc;
}
