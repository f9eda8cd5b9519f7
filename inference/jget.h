/* Object member lookup for the request readers (openrtb.c, privacy.c,
 * schain.c), which look up some forty keys per bid request, most of them
 * absent: the answer of cJSON_GetObjectItemCaseSensitive, with the first
 * byte of each key compared inline so a non-matching member costs no call. */
#ifndef INF_JGET_H
#define INF_JGET_H

#include <cjson/cJSON.h>
#include <string.h>

/* The first member of o named k, NULL when none (or o NULL). Like cJSON's,
 * the walk stops at a member without a name (an array's item). */
static inline const cJSON *inf_jget(const cJSON *o, const char *k) {
    if (!o || !k) return NULL;
    for (const cJSON *it = o->child; it && it->string; it = it->next)
        if (it->string[0] == k[0] && strcmp(it->string, k) == 0) return it;
    return NULL;
}

#endif
