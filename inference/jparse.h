/* One-pass JSON reading for the bid path: the grammar, limits and error
 * positions of cJSON 1.7 (what the bid path parsed with before, so every
 * request is accepted or refused exactly as then), but nodes are built only
 * for the members a schema names; everything else is checked and skipped,
 * numbers included, without allocating. Strings are unescaped in place in
 * the caller's (mutable) text. fuzz/fuzz_openrtb_diff.c holds both to the same
 * answers. */
#ifndef INF_JPARSE_H
#define INF_JPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    INF_J_NULL = 1,
    INF_J_FALSE,
    INF_J_TRUE,
    INF_J_NUM,
    INF_J_STR,
    INF_J_ARR,
    INF_J_OBJ
} inf_jtype;

/* A value. Objects hold their kept members (the first of each name only,
 * as cJSON's lookup answers), arrays their kept items, in text order. */
typedef struct inf_jv {
    struct inf_jv *next, *child;
    const char *key; /* member name (the schema's string) */
    const char *s;   /* INF_J_STR: unescaped, NUL-terminated (cJSON's valuestring) */
    double d;        /* INF_J_NUM: strtod's value, as cJSON */
    int n;           /* INF_J_ARR: items in the text, kept or not */
    uint8_t type;    /* inf_jtype */
} inf_jv;

/* Which parts of a value to keep. A member or item without a schema
 * (NULL) is kept as a leaf: scalars whole, containers as their type only. */
typedef struct inf_jschema inf_jschema;
typedef struct inf_jkey {
    const char *name;
    const inf_jschema *sub;
} inf_jkey;
struct inf_jschema {
    const inf_jkey *keys; /* object members kept (at most 32) */
    int n_keys;
    bool items;              /* arrays: keep the items … */
    const inf_jschema *item; /* … with this schema */
    int max_items;           /* 0: all; else the rest are only counted */
};

/* Where nodes and copies live until inf_jmem_free: blocks from the
 * worker's arena when it is on, else malloc (arena.h). */
typedef struct inf_jmem inf_jmem;
inf_jmem *inf_jmem_new(void); /* NULL on allocation failure */
void *inf_jmem_alloc(inf_jmem *m, size_t n);
void inf_jmem_free(inf_jmem *m); /* NULL is fine */

/* Parses text[0..len) like cJSON_ParseWithLengthOpts(text, len, &end, 0):
 * a UTF-8 BOM and whitespace (bytes ≤ 32) before one value; what follows
 * it is the caller's. text is modified (strings unescaped in place). On
 * success 0, *root (in m) and *end (offset past the value); on a syntax
 * error -EBADMSG and *end = cJSON's error position; -ENOMEM. */
int inf_jparse(inf_jmem *m, char *text, size_t len, const inf_jschema *s, inf_jv **root,
               size_t *end);

/* Reading: the first kept member k of o; NULL when o is not an object, k
 * is absent or null (what the readers treat as absent). */
/* NUL-terminated a and b are equal: names are a few bytes, so inline beats
 * a call to strcmp. */
static inline bool inf_jkey_eq(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}
static inline const inf_jv *inf_jv_get(const inf_jv *o, const char *k) {
    if (!o || o->type != INF_J_OBJ) return NULL;
    for (const inf_jv *it = o->child; it; it = it->next)
        if (it->key == k || inf_jkey_eq(it->key, k)) return it->type == INF_J_NULL ? NULL : it;
    return NULL;
}
/* Each kept item of an array (or member of an object), like cJSON_ArrayForEach. */
#define JV_FOR(it, a) for ((it) = (a) ? (a)->child : NULL; (it); (it) = (it)->next)
static inline bool inf_jv_is(const inf_jv *v, inf_jtype t) { return v && v->type == t; }

#endif
