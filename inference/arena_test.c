/* The cJSON arena: parses on an armed thread take no malloc (nodes land in
 * the thread's slice, reset makes the space reusable), a parse that does not
 * fit spills to malloc and is freed normally (ASan checks), threads without
 * a slice and disarmed threads use malloc, and trees from either source are
 * freed by cJSON_Delete without harm. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "beat_test.h"

#define SLICE 8192

static const char *small = "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"bidfloor\":0.5}]}";

static uintptr_t lo, hi; /* the calling thread's slice, found by probing */

static int test_parse_in_arena(void) {
    inf_arena_bind(0);
    inf_arena_on();
    cJSON *a = cJSON_Parse(small);
    inf_arena_off();
    CHECK(a != NULL);
    CHECK_EQ_STR(cJSON_GetObjectItem(a, "id")->valuestring, "a");
    lo = (uintptr_t)a;
    hi = lo + SLICE;
    cJSON_Delete(a); /* no-op for arena nodes */
    inf_arena_reset();
    inf_arena_on();
    cJSON *b = cJSON_Parse(small);
    inf_arena_off();
    CHECK(b != NULL);
    CHECK((uintptr_t)b == lo); /* reset: the same space again */
    cJSON_Delete(b);
    inf_arena_reset();
    return 0;
}

static int test_overflow_spills_to_malloc(void) {
    char big[40000];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s1", i ? "," : "");
    big[n++] = ']';
    big[n] = '\0';
    uint64_t before = inf_arena_overflows();
    inf_arena_bind(0);
    inf_arena_on();
    cJSON *t = cJSON_Parse(big);
    inf_arena_off();
    CHECK(t != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(t), 5000);
    CHECK(inf_arena_overflows() > before);
    cJSON_Delete(t); /* frees the spilled nodes, skips the arena ones */
    inf_arena_reset();
    return 0;
}

static int test_disarmed_uses_malloc(void) {
    inf_arena_bind(0);
    cJSON *t = cJSON_Parse(small); /* not armed */
    CHECK(t != NULL);
    CHECK((uintptr_t)t < lo || (uintptr_t)t >= hi);
    char *s = cJSON_PrintUnformatted(t);
    CHECK(s && strstr(s, "\"bidfloor\":0.5"));
    free(s); /* malloc'd: plain free is right */
    cJSON_Delete(t);
    return 0;
}

static void *other_thread(void *arg) {
    (void)arg;
    inf_arena_on(); /* no slice bound: stays malloc */
    cJSON *t = cJSON_Parse(small);
    inf_arena_off();
    bool ok = t && ((uintptr_t)t < lo || (uintptr_t)t >= hi);
    cJSON_Delete(t);
    return ok ? (void *)1 : NULL;
}

static int test_unbound_thread_uses_malloc(void) {
    pthread_t th;
    void *ok = NULL;
    CHECK(pthread_create(&th, NULL, other_thread, NULL) == 0);
    pthread_join(th, &ok);
    CHECK(ok != NULL);
    return 0;
}

int main(int argc, char **argv) {
    if (inf_arena_init(2, SLICE) != 0) {
        fprintf(stderr, "arena init failed\n");
        return 1;
    }
    static const beat_test_case cases[] = {
        {"parse_in_arena", test_parse_in_arena},
        {"overflow_spills_to_malloc", test_overflow_spills_to_malloc},
        {"disarmed_uses_malloc", test_disarmed_uses_malloc},
        {"unbound_thread_uses_malloc", test_unbound_thread_uses_malloc},
        {NULL, NULL},
    };
    int rc = beat_test_main("arena", cases, argc, argv);
    inf_arena_fini();
    return rc;
}
