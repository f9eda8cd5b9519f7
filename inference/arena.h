/* Per-thread bump arena behind cJSON's allocation hooks, so that parsing a
 * bid request allocates nothing from malloc: main.c installs the hooks once
 * at start-up (before any thread parses), each worker binds its own slice,
 * switches the arena on around inf_req_parse and resets it after the request.
 * Everywhere else (the sync thread, start-up, a full arena) cJSON falls back
 * to malloc/free, so a tree may be freed by any thread. */
#ifndef INF_ARENA_H
#define INF_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* One region of n_slices × slice_bytes; installs the cJSON hooks. Call once,
 * before any thread uses cJSON. -ENOMEM (hooks then stay malloc/free). */
int inf_arena_init(int n_slices, size_t slice_bytes);
void inf_arena_fini(void); /* after every thread stopped using cJSON */
/* Binds slice idx to the calling thread (arena off until inf_arena_on). */
void inf_arena_bind(int idx);
/* While on, cJSON allocations on this thread come from its slice. */
void inf_arena_on(void);
void inf_arena_off(void);
/* Forgets every allocation of this thread's slice: call when nothing
 * allocated from it is in use any more (after inf_req_fini). */
void inf_arena_reset(void);
/* The same allocator for the bid path's own parser (jparse.c): from this
 * thread's slice while on, else malloc; inf_arena_free takes either. */
void *inf_arena_alloc(size_t n);
void inf_arena_free(void *p);
/* Allocations that did not fit and went to malloc (all threads). */
uint64_t inf_arena_overflows(void);

#endif
