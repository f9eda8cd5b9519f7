/* Response templates: each creative's fixed part of a bid in the OpenRTB
 * response (ids, adomain, cat, size, mtype, bundle, attr, the adm split at
 * its ${CLICK_URL} macros), JSON-escaped once when a world is built
 * (response.c), so a bid writes only what varies per request. */
#ifndef INF_RTPL_H
#define INF_RTPL_H

#include <stdbool.h>
#include <stdint.h>
#include "beat_util.h"

struct inf_world;

/* A run of the template text; cdata: the click URL that follows it sits in
 * a CDATA section (no HTML escaping). */
typedef struct inf_rtpl_run {
    uint32_t off, len;
    bool cdata;
} inf_rtpl_run;

typedef struct inf_rtpl_cr {
    inf_rtpl_run head; /* ,"adid" … ,"cat":[…] then ,"w","h" and ,"mtype" unless wh_var */
    inf_rtpl_run tail; /* ,"bundle" and ,"attr" (after the per-bid dealid) */
    uint32_t adm;      /* first of n_adm runs: ,"adm":"…" with the click URL
                          between consecutive runs; n_adm 0: native, built per bid */
    uint16_t n_adm;
    bool wh_var; /* a video without its own size: w and h come from the imp */
} inf_rtpl_cr;

typedef struct inf_rtpl {
    beat_buf text;      /* owned: what the runs point into */
    inf_rtpl_cr *cr;    /* owned: the creatives of every campaign, in order */
    uint32_t *first;    /* owned: per campaign, the index of its first in cr */
    inf_rtpl_run *runs; /* owned: adm runs */
} inf_rtpl;

/* Templates of every creative of w's campaigns; NULL on out of memory.
 * The caller owns the result (inf_rtpl_free). */
inf_rtpl *inf_rtpl_build(const struct inf_world *w);
void inf_rtpl_free(inf_rtpl *t); /* NULL: no-op */

#endif
