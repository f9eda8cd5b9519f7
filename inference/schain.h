/* The supply chain of a request (source.schain in OpenRTB 2.6,
 * source.ext.schain in 2.5): read into inf_req, and checked against a
 * campaign's schain_complete / sellers (docs/contracts.md "Campaigns").
 * Runs on the HTTP workers; no allocation. */
#ifndef INF_SCHAIN_H
#define INF_SCHAIN_H

#include <stdbool.h>
#include "beat_campaign.h"
#include "openrtb.h"

struct inf_jv;

/* Why a campaign's supply rules refuse a request. */
typedef enum {
    INF_SCHAIN_OK = 0,
    INF_SCHAIN_INCOMPLETE, /* schain_complete, but no complete chain */
    INF_SCHAIN_SELLER      /* sellers, but the first node is not one of them */
} inf_schain_verdict;

/* Reads the chain of root into r (absent or malformed: schain_complete -1,
 * no nodes; nodes beyond INF_SCHAIN_MAX set schain_truncated). */
void inf_schain_read(const struct inf_jv *root, inf_req *r);

/* The campaign's supply rules against r. A truncated chain is not complete
 * (its unread nodes could break it). The seller is the chain's first node:
 * the system holding the publisher's account, asi (case-insensitive) and
 * sid (exact); a "asi" entry admits every account of that system. */
inf_schain_verdict inf_schain_check(const beat_campaign *c, const inf_req *r);

#endif
