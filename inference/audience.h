/* Geography and audience targeting at auction time (campaign sets v 4:
 * beat_campaign_aud; the rules are docs/campaigns.md's). Per world, the
 * campaigns that use any of it are listed with their first-party lists
 * resolved; per request, those the request reaches are checked once and
 * the refused ones taken out of the candidate set, remembering why (the
 * no-bid reasons geo, segments, lists). Reads only what the privacy gate
 * left in the request: segments, user ids and lat/lon are cleared there
 * when consent does not allow them. */
#ifndef INF_AUDIENCE_H
#define INF_AUDIENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_campaign.h"
#include "beat_seglist.h"
#include "openrtb.h"
#include "targeting.h"

typedef enum { INF_AUD_OK = 0, INF_AUD_GEO, INF_AUD_SEGMENTS, INF_AUD_LISTS } inf_aud_verdict;

/* Decoded segment lists ('U' frame), shared by successive worlds. refs is
 * touched only by the thread that builds and frees worlds. */
typedef struct inf_segs {
    int refs;
    beat_seglists s;
} inf_segs;
/* Decodes a whole 'U' frame; refs = 1. -EBADMSG / -ENOMEM with why. */
int inf_segs_decode(const void *frame, size_t len, inf_segs **out, beat_reason *why);
void inf_segs_unref(inf_segs *s); /* NULL is a no-op */

/* Great-circle distance in km (haversine, mean Earth radius). */
double inf_geo_km(double lat1, double lon1, double lat2, double lon2);

/* The rules for one campaign. incl/excl: its lists_include/lists_exclude
 * resolved (NULL where no such list is held: it matches nobody); uh: the
 * keyed hashes of the request's user ids (n_uh of them). */
inf_aud_verdict inf_aud_check(const beat_campaign_aud *a, const inf_req *r,
                              const beat_seglist *const *incl, const beat_seglist *const *excl,
                              const uint64_t *uh, int n_uh);

typedef struct inf_aud inf_aud;
struct inf_world;

/* (Re)builds w->aud over w's campaigns with segs (NULL: no lists held;
 * takes a reference when used). 0 or -ENOMEM (w->aud then NULL and the
 * world must not be published). */
int inf_aud_attach(struct inf_world *w, inf_segs *segs);
void inf_aud_free(inf_aud *x); /* NULL is a no-op */
/* The segment lists version and count held (0, 0 when none). */
void inf_aud_segs(const inf_aud *x, int64_t *version, int *n_lists);

/* Campaigns refused by these rules for one request, by verdict - 1. */
typedef struct inf_aud_refused {
    bool any;
    uint64_t set[3][INF_SET_WORDS];
} inf_aud_refused;

/* Checks every campaign of x that is in req (or, when not NULL, in
 * req_all); a refused one leaves both sets and joins out. x NULL: nothing
 * to check (out->any false). No allocation. */
void inf_aud_filter(const inf_aud *x, const inf_req *r, int words, uint64_t *req, uint64_t *req_all,
                    inf_aud_refused *out);

#endif
