/* The supervisor's exchange set: a good PUT is stored under the next
 * version and announced, a bad one changes nothing, a restart reloads the
 * last good set, the file is applied only when its content changed, and
 * neither the database nor GET ever holds a key. */
#include "exchanges.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_test.h"

#define KEY "exchange-secret-0123456789"
#define GOOD "{\"v\":1,\"exchanges\":[{\"id\":\"exA\",\"key\":\"" KEY "\",\"qps\":10}]}"

static char dir[64];
static int changed;

static void on_changed(void *arg) {
    (void)arg;
    changed++;
}

static sup_store *open_store(const char *name) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/sup_exch_test.XXXXXX");
        BEAT_ASSERT(mkdtemp(dir));
    }
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    sup_store *st = NULL;
    beat_reason why = {{0}};
    return sup_store_open(p, 3, &st, &why) == 0 ? st : NULL;
}

static int test_put_reload_and_secrets(void) {
    sup_store *st = open_store("a.db");
    CHECK(st);
    sup_exch *x = sup_exch_new(st, 1 << 16, on_changed, NULL);
    CHECK(x && sup_exch_load(x) == 0 && sup_exch_current(x)->version == 0);
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(sup_exch_public_json(x, &b), -ENOENT);

    int64_t v = 0;
    beat_reason why = {{0}};
    changed = 0;
    CHECK_EQ_INT(sup_exch_put(x, GOOD, strlen(GOOD), &v, &why), 0);
    CHECK(v == 1 && changed == 1 && sup_exch_current(x)->n == 1);

    const char *bad = "{\"v\":1,\"exchanges\":[{\"id\":\"exB\",\"qps\":10}]}";
    CHECK_EQ_INT(sup_exch_put(x, bad, strlen(bad), &v, &why), -EINVAL);
    CHECK_REASON(why, "exchanges[0]: needs key");
    CHECK(sup_exch_current(x)->version == 1 && changed == 1);
    CHECK_EQ_INT(sup_exch_put(x, GOOD, 1 << 17, &v, &why), -EMSGSIZE);

    sup_row r;
    CHECK_EQ_INT(sup_store_latest(st, SUP_T_EXCHANGES, &r), 0);
    CHECK(!strstr(r.data, KEY) && strstr(r.data, "key_sha256"));
    sup_row_fini(&r);
    CHECK_EQ_INT(sup_exch_public_json(x, &b), 0);
    CHECK(!strstr(b.data, KEY) && !strstr(b.data, "key_sha256"));
    CHECK(strstr(b.data, "\"version\":1") && strstr(b.data, "\"key_fingerprint\":\""));

    /* a restart: the last good set, with the key's hash */
    uint8_t h[32];
    memcpy(h, sup_exch_current(x)->x[0].key_sha256, 32);
    sup_exch_free(x);
    x = sup_exch_new(st, 1 << 16, NULL, NULL);
    CHECK(x && sup_exch_load(x) == 0);
    CHECK(sup_exch_current(x)->version == 1 && sup_exch_current(x)->n == 1);
    CHECK(memcmp(sup_exch_current(x)->x[0].key_sha256, h, 32) == 0);
    beat_buf_fini(&b);
    sup_exch_free(x);
    sup_store_close(st);
    return 0;
}

static int test_file_applied_once(void) {
    sup_store *st = open_store("b.db");
    CHECK(st);
    char path[128];
    snprintf(path, sizeof path, "%s/x.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(GOOD, f);
    fclose(f);
    sup_exch *x = sup_exch_new(st, 1 << 16, NULL, NULL);
    beat_reason why = {{0}};
    CHECK_EQ_INT(sup_exch_load_file(x, path, &why), 0);
    CHECK_EQ_INT(sup_exch_load_file(x, path, &why), 0); /* unchanged: no new version */
    CHECK(sup_exch_current(x)->version == 1);
    f = fopen(path, "w");
    fputs("{\"v\":1,\"exchanges\":[{\"id\":\"exA\",\"qps\":10}]}", f);
    fclose(f);
    CHECK_EQ_INT(sup_exch_load_file(x, path, &why), -EINVAL);
    CHECK_REASON(why, "needs key");
    CHECK(sup_exch_current(x)->version == 1);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    CHECK(sup_exch_load_file(x, path, &why) < 0);
    sup_exch_free(x);
    sup_store_close(st);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("supervisor", BEAT_FATAL);
    static const beat_test_case cases[] = {
        {"put_reload_and_secrets", test_put_reload_and_secrets},
        {"file_applied_once", test_file_applied_once},
        {NULL, NULL},
    };
    return beat_test_main("sup_exchanges", cases, argc, argv);
}
