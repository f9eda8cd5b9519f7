/* Unit tests of the supervisor's segment lists on a temporary database:
 * uploads replace a list and bump one version, bad input is refused with
 * the right code and nothing stored, the lists and their hash seed come
 * back after a reopen, and the bounds on ids and lists hold. */
#include "segments.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat_seglist.h"
#include "beat_test.h"

static char dir[64];

static sup_store *open_store(void) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/sup_segments_test.XXXXXX");
        if (!mkdtemp(dir)) return NULL;
    }
    char p[128];
    snprintf(p, sizeof p, "%s/sup.db", dir);
    sup_store *st = NULL;
    beat_reason why = {{0}};
    return sup_store_open(p, 3, &st, &why) == 0 ? st : NULL;
}

static int json(const sup_segs *g, const char *id, char *out, size_t n) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    int rc = sup_segs_json(g, id, &b);
    snprintf(out, n, "%s", rc == 0 ? b.data : "");
    beat_buf_fini(&b);
    return rc;
}

static int t_put_delete_reload(void) {
    sup_store *st = open_store();
    CHECK(st);
    int err = 0;
    sup_segs *g = sup_segs_new(st, NULL, 3, &err);
    CHECK(g);
    int64_t v = 0;
    uint32_t n = 0;
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_segs_put(g, "crm", "a\nb\na\n", 6, &v, &n, &why), 0);
    CHECK(v == 1 && n == 2);
    CHECK_EQ_INT(sup_segs_put(g, "alpha", "z\n", 2, &v, &n, &why), 0);
    CHECK_EQ_INT(v, 2);
    /* refused, nothing changes */
    CHECK_EQ_INT(sup_segs_put(g, "bad id", "a\n", 2, &v, &n, &why), -EINVAL);
    CHECK_EQ_INT(sup_segs_put(g, "crm", "a\nb c\n", 6, &v, &n, &why), -EINVAL);
    CHECK_REASON(why, "line 2");
    CHECK_EQ_INT(sup_segs_put(g, "crm", "a\nb\nc\nd\n", 8, &v, &n, &why), -EMSGSIZE);
    CHECK_EQ_INT(sup_segs_delete(g, "nope", &v, &why), -ENOENT);
    CHECK_EQ_INT(sup_segs_version(g), 2);
    char out[512];
    CHECK_EQ_INT(json(g, NULL, out, sizeof out), 0);
    CHECK(strstr(out, "{\"version\":2,\"lists\":[{\"id\":\"alpha\",\"version\":2,\"size\":1,") ==
          out);
    CHECK(strstr(out, "{\"id\":\"crm\",\"version\":1,\"size\":2,"));
    /* replace, then delete */
    CHECK_EQ_INT(sup_segs_put(g, "crm", "q\n", 2, &v, &n, &why), 0);
    CHECK(v == 3 && n == 1);
    CHECK_EQ_INT(sup_segs_delete(g, "alpha", &v, &why), 0);
    CHECK_EQ_INT(v, 4);
    CHECK_EQ_INT(json(g, "alpha", out, sizeof out), -ENOENT);
    sup_segs_free(g);
    sup_store_close(st);
    /* reopen: the same lists, version and seed */
    st = open_store();
    g = st ? sup_segs_new(st, NULL, 3, &err) : NULL;
    CHECK(g);
    CHECK_EQ_INT(sup_segs_version(g), 4);
    CHECK_EQ_INT(json(g, NULL, out, sizeof out), 0);
    CHECK(strstr(out, "{\"version\":4,\"lists\":[{\"id\":\"crm\",\"version\":3,\"size\":1,") ==
          out);
    CHECK(!strstr(out, "alpha"));
    /* the next upload gets the next version, not a reused one */
    CHECK_EQ_INT(sup_segs_put(g, "b2", "x\n", 2, &v, &n, &why), 0);
    CHECK_EQ_INT(v, 5);
    sup_segs_free(g);
    sup_store_close(st);
    return 0;
}

static int t_list_count_bound(void) {
    sup_store *st = open_store();
    int err = 0;
    sup_segs *g = st ? sup_segs_new(st, NULL, 10, &err) : NULL;
    CHECK(g);
    int64_t v;
    uint32_t n;
    beat_reason why = {{0}};
    int have = 0; /* the previous case left lists: fill up to the bound */
    for (int i = 0; i < BEAT_SEGLISTS_MAX; i++) {
        char id[16];
        snprintf(id, sizeof id, "l%03d", i);
        int rc = sup_segs_put(g, id, "u\n", 2, &v, &n, &why);
        if (rc == -EMSGSIZE) break;
        CHECK_EQ_INT(rc, 0);
        have++;
    }
    CHECK(have > 0);
    CHECK_EQ_INT(sup_segs_put(g, "one-too-many", "u\n", 2, &v, &n, &why), -EMSGSIZE);
    CHECK_REASON(why, "lists");
    /* replacing an existing list is still fine */
    CHECK_EQ_INT(sup_segs_put(g, "l000", "w\n", 2, &v, &n, &why), 0);
    sup_segs_free(g);
    sup_store_close(st);
    return 0;
}

static const beat_test_case cases[] = {
    {"put_delete_reload", t_put_delete_reload},
    {"list_count_bound", t_list_count_bound},
    {NULL, NULL},
};

int main(int argc, char **argv) {
    int rc = beat_test_main("sup_segments", cases, argc, argv);
    if (dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) rc = 1;
    }
    return rc;
}
