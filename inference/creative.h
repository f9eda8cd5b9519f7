/* Creative fit and deal choice (creative.c): what of a campaign can serve
 * an imp. Called by bidder.c on the hot path; pure, allocation-free. */
#ifndef INF_CREATIVE_H
#define INF_CREATIVE_H

#include <stdbool.h>
#include <stdint.h>
#include "beat_campaign.h"
#include "openrtb.h"

/* Index of the creative of c to bid with on im, -1 if none fits: banner
 * sizes in the imp's order of sizes, then video, then native; within a
 * format the campaign's order; never one with an attribute the imp's
 * battr (of that format) blocks. sizes (may be NULL): as inf_camp.sizes,
 * each banner creative's (w << 16) | h, 0 for the others, to decide sizes
 * without reading the creatives; with sizes, nc is c's creative count
 * (inf_camp.n_creatives) and a banner imp none of them fits touches nothing
 * of c. */
int inf_creative_match(const beat_campaign *c, const uint32_t *sizes, int nc, const inf_imp *im);

/* What of native creative cr fills asset a: the text (title/data) or the
 * beat_native_img; NULL when it cannot. */
const void *inf_asset_fill(const beat_creative *cr, const inf_asset *a);

/* c may bid on some deal of im (it lists the deal id, the deal's wseat
 * admits c's seat, the deal's currency is known), price aside. */
bool inf_deal_any(const beat_campaign *c, const inf_imp *im);
/* The deal of im that c bids on at price: the highest floor the price
 * reaches; -1 if none. */
int inf_deal_pick(const beat_campaign *c, const inf_imp *im, int64_t price);

#endif
