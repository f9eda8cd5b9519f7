/* The auction logic of one bid request (docs/architecture.md "Bidding"):
 * campaign filtering, pCTR scoring, pricing, one bid per imp, and the OpenRTB
 * response with signed notice URLs. Pure computation over a parsed request
 * and a world: no I/O, no locks; the only shared mutable data is the
 * frequency table (atomics). Called from the HTTP workers and from
 * bidder_test. */
#ifndef INF_BIDDER_H
#define INF_BIDDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"
#include "model.h"
#include "openrtb.h"
#include "xcache.h"

/* Why a request got no bid (one reason per request, metrics label). Order
 * matters for the per-imp reasons: the furthest stage any imp reached wins. */
typedef enum {
    INF_NB_NONE = 0,
    INF_NB_NO_MODEL,
    INF_NB_NO_STATE,
    INF_NB_STALE_STATE,
    INF_NB_CURRENCY,          /* request cur lists no currency we know, or every imp
                           was skipped and a floor's currency is unknown */
    INF_NB_BLOCKLIST,         /* bcat/badv too long to honour */
    INF_NB_SEAT,              /* wseat/bseat exclude every campaign's seat */
    INF_NB_TMAX,              /* tmax leaves no time to answer (main.c decides) */
    INF_NB_NO_IMP,            /* no imp usable (inf_imp_skip says why per imp) */
    INF_NB_NO_MATCH,          /* no campaign passed flight/pause/creative fit/
                           targeting/blocks/deals */
    INF_NB_SCHEDULE,          /* matches, but outside its schedule's open hours */
    INF_NB_GEO,               /* matches, but outside their regions/metros/cities/
                                 zips/radius (or no such signal) */
    INF_NB_SEGMENTS,          /* matches, but segments_include/exclude refuse the user */
    INF_NB_LISTS,             /* matches, but lists_include/exclude refuse the user */
    INF_NB_SCHAIN_INCOMPLETE, /* matches, but they need a complete source.schain */
    INF_NB_SCHAIN_SELLER,     /* matches, but the chain's seller is not theirs */
    INF_NB_FREQ_CAP,          /* matches, all frequency-capped */
    INF_NB_BELOW_FLOOR,       /* priced, all under the floor (or priced at 0) */
    INF_NB_RESPONSE,          /* the response did not fit its buffer */
    INF_NB_LEASE,             /* matches, but no budget lease left (docs/money.md) */
    INF_NB_N
} inf_nobid;
const char *inf_nobid_name(inf_nobid r);

typedef struct inf_bidder_cfg {
    const char *receiver_url; /* base of notice URLs */
    const void *secret;       /* notice HMAC key */
    size_t secret_len;
    const char *node;         /* --name, logged in bid events */
    int64_t max_state_age_ms; /* older state → no bid (budget safety) */
    int freq_slots_log2;      /* frequency table size; 0 = default (18) */
    struct inf_fcap *fcap;    /* global cap counts (fcap.h), borrowed; NULL:
                                 this node's own counts only */
    /* --explain (grading only): also score, for the first imp, the
     * candidates the cap, the lease or a pause would skip, and list every
     * candidate's pCTR in inf_result.explain (inf_bidder_explain). */
    bool explain;
} inf_bidder_cfg;

typedef struct inf_bid {
    int imp;      /* index into inf_req.imp */
    int camp;     /* index into inf_world.camps */
    int creative; /* index into the campaign's creatives */
    int deal;     /* index into the imp's deals, -1 for an open-auction bid */
    int64_t price_cpm_micros;
    int64_t
        value_cpm_micros; /* price before first-price shading (= price_cpm_micros when not shaded) */
    double pctr;
    uint32_t n_feat;
    uint32_t feat[BEAT_FEAT_MAX];
} inf_bid;

#define INF_EXPLAIN_MAX 512 /* a 4 KiB header holds fewer anyway */
#define INF_EXPLAIN_HDR_MAX 4096
typedef struct inf_explain_ent {
    int camp; /* index into inf_world.camps */
    double pctr;
} inf_explain_ent;

typedef struct inf_result {
    /* in: the calling worker's opportunity row (opps.h), kept across runs;
     * NULL = not counted */
    _Atomic uint64_t *opps;
    int64_t now_ms;   /* also the signed notice timestamp */
    uint64_t cap_key; /* the request's frequency-cap key, if a capped
                         campaign needed it; 0 = none */
    inf_nobid reason; /* when n == 0 */
    int n;
    inf_bid bids[INF_IMP_MAX];
    /* Only with cfg.explain: the first imp's candidates (where opportunities
     * are counted, plus paused ones) and their pCTRs, at most
     * INF_EXPLAIN_MAX (more are left out). */
    int n_explain;
    inf_explain_ent explain[INF_EXPLAIN_MAX];
} inf_result;

typedef struct inf_bidder inf_bidder;

/* Copies cfg strings' pointers (they must outlive the bidder). NULL on OOM. */
inf_bidder *inf_bidder_new(const inf_bidder_cfg *cfg);
void inf_bidder_free(inf_bidder *b);

/* Runs the auction for every examined imp of r against w (may be NULL) at
 * now_ms, scoring through the calling worker's cross-weight cache xc (NULL:
 * none; same answers, slower). Fills out (out->n bids, or out->reason).
 * Counts chosen bids in the frequency table. Never fails. */
void inf_bidder_run(inf_bidder *b, const inf_world *w, const inf_req *r, int64_t now_ms,
                    inf_xcache *xc, inf_result *out);

/* Appends the OpenRTB bid response for res (res->n > 0) to out; scratch is
 * working space. -EMSGSIZE if it does not fit (caller answers no-bid). */
int inf_bidder_response(inf_bidder *b, const inf_world *w, const inf_req *r, const inf_result *res,
                        beat_buf *out, beat_buf *scratch);

/* The X-Beat-Explain header line ("X-Beat-Explain: v=<value cpm micros of
 * the first imp's bid, 0 if none>;<campaign>=<pCTR>,…\r\n") of res into out
 * (cap bytes, at most INF_EXPLAIN_HDR_MAX + 1 used): it tells the exchange
 * our pCTRs, for grading only (--explain). Campaigns that do not fit are
 * left out; never fails. */
void inf_bidder_explain(const inf_world *w, const inf_result *res, char *out, size_t cap);

/* The bid-log event of res->bids[k]. */
void inf_bidder_event(const inf_bidder *b, const inf_world *w, const inf_req *r,
                      const inf_result *res, int k, beat_event *ev);

/* First-price shading (docs/architecture.md "First-price shading"): the
 * bid b in [floor, cap] that maximises (value − b)·W(b) under the win-rate
 * curve (beat_land_win), cap = min(value, max: the campaign's max bid),
 * searched over 48 log-spaced prices and cap itself; cap when W(cap) is 0
 * or floor ≥ cap. The value is not capped: a campaign whose value is above
 * its max bid bids closer to the max. Exposed for tests. */
int64_t inf_bidder_shade(const float curve[BEAT_LAND_N], int64_t value_cpm_micros,
                         int64_t max_cpm_micros, int64_t floor_cpm_micros);

/* Price of one campaign at pctr (exposed for tests):
 * base × pctr / avg_ctr × multiplier, rounded to micros, clipped to max. */
int64_t inf_bidder_price(const beat_campaign *c, double pctr, double avg_ctr, double multiplier);

/* Frequency table view for tests: bids counted for (user, campaign) in the
 * current window. */
int inf_bidder_freq_count(inf_bidder *b, const inf_camp *cp, uint64_t key, int64_t now_ms);
/* The request's frequency-cap key (beat_fcap_key of its cap id), 0 if it
 * has no usable id. */
uint64_t inf_bidder_cap_key(const inf_bidder *b, const inf_req *r);

#endif
