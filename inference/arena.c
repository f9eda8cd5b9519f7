/* cJSON allocation hooks over a per-thread bump arena (see arena.h). Called
 * by main.c (install, bind per worker) and around the parse on the bid path.
 * It must never hand out memory that outlives its request (reset only after
 * the tree is released) and never free() a pointer it did not malloc. */
#include "arena.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#define ALIGN 16

static char *region; /* n × slice bytes; NULL: hooks not installed */
static size_t region_len, slice_len;
static atomic_uint_fast64_t overflows;

static _Thread_local struct {
    char *base, *cur, *end;
    bool on;
} T;

static void *a_malloc(size_t n) {
    if (T.on) {
        size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        if (need >= n && (size_t)(T.end - T.cur) >= need) {
            void *p = T.cur;
            T.cur += need;
            return p;
        }
        atomic_fetch_add_explicit(&overflows, 1, memory_order_relaxed);
    }
    return malloc(n);
}

/* Arena pointers are released wholesale by inf_arena_reset. */
static void a_free(void *p) {
    if (region && (char *)p >= region && (char *)p < region + region_len) return;
    free(p);
}

void *inf_arena_alloc(size_t n) { return a_malloc(n); }
void inf_arena_free(void *p) { a_free(p); }

int inf_arena_init(int n_slices, size_t slice_bytes) {
    if (region || n_slices < 1 || slice_bytes < 4096) return -EINVAL;
    slice_len = (slice_bytes + 4095) & ~(size_t)4095;
    region_len = slice_len * (size_t)n_slices;
    /* Reserved address space; pages are touched only as requests use them. */
    void *m = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        region_len = 0;
        return -ENOMEM;
    }
    region = m;
    cJSON_Hooks hooks = {.malloc_fn = a_malloc, .free_fn = a_free};
    cJSON_InitHooks(&hooks);
    return 0;
}

void inf_arena_fini(void) {
    if (!region) return;
    cJSON_InitHooks(NULL);
    munmap(region, region_len);
    region = NULL;
    region_len = 0;
}

void inf_arena_bind(int idx) {
    if (!region || idx < 0 || (size_t)idx >= region_len / slice_len) return;
    T.base = T.cur = region + (size_t)idx * slice_len;
    T.end = T.base + slice_len;
    T.on = false;
}

void inf_arena_on(void) { T.on = T.base != NULL; }
void inf_arena_off(void) { T.on = false; }
void inf_arena_reset(void) { T.cur = T.base; }

uint64_t inf_arena_overflows(void) {
    return atomic_load_explicit(&overflows, memory_order_relaxed);
}
