/* Campaign targeting, two ways that must agree: the per-campaign rules
 * (inf_targeting_ok, inf_blocked: the definition) and a per-world index
 * that answers them for every campaign at once as a bit set, so the bid
 * loop visits only the campaigns a request can reach instead of all of
 * them. targeting_test.c cross-checks the two on random worlds. */
#ifndef INF_TARGETING_H
#define INF_TARGETING_H

#include <stdbool.h>
#include <stdint.h>
#include "beat_campaign.h"
#include "openrtb.h"

/* 64-bit words of a campaign bit set (bit i = campaign i of the world). */
#define INF_SET_WORDS ((BEAT_CAMPAIGNS_MAX + 63) / 64)

/* The campaign's targeting (country, OS, device type, domain/bundle allow
 * and block lists, site categories) admits the request. */
bool inf_targeting_ok(const beat_campaign *c, const inf_req *r);
/* The request's bcat / badv / bapp exclude the campaign. */
bool inf_blocked(const beat_campaign *c, const inf_req *r);

typedef struct inf_tindex inf_tindex;

/* Index of camps[0..n) (n ≤ BEAT_CAMPAIGNS_MAX); live[i] says whether
 * campaign i may bid at all under the world's state (in state, unpaused,
 * multiplier > 0). Keys are copied: the index does not point into the
 * campaigns. Caller owns the result (inf_tindex_free); NULL on OOM. */
inf_tindex *inf_tindex_build(const beat_campaign *camps, const bool *live, int n);
void inf_tindex_free(inf_tindex *x);
int inf_tindex_words(const inf_tindex *x); /* words of its bit sets */

/* out[0..words) = the live campaigns with inf_targeting_ok and not
 * inf_blocked for r. No allocation. */
void inf_tindex_request(const inf_tindex *x, const inf_req *r, uint64_t *out);
/* The same without the live filter: paused campaigns and those out of the
 * state too (inference --explain only: off the bid path). */
void inf_tindex_request_all(const inf_tindex *x, const inf_req *r, uint64_t *out);
/* cand &= the campaigns with a creative of a format the imp offers (a
 * banner of one of its sizes, any video, any native): a superset of what
 * inf_creative_match accepts, which still decides. */
void inf_tindex_imp(const inf_tindex *x, const inf_imp *im, uint64_t *cand);

#endif
