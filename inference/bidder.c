/* Bidding: filter → score → price → pick → respond, per imp
 * (docs/architecture.md "Bidding").
 * Runs on the HTTP worker threads against an immutable world; must stay in
 * the low microseconds per campaign and never allocate (the response and
 * scratch buffers are the caller's, reused per worker). It never logs per
 * request: the caller counts outcomes in metrics.
 *
 * Filter: the world's targeting index (targeting.c) gives, per request, the
 * live campaigns whose targeting admits it and that bcat/badv/bapp leave
 * alone, narrowed per imp to those with a creative format it offers; only
 * those are visited, for flight, seat (wseat/bseat), private auction → only
 * campaigns with one of the imp's deals, the exact creative fit
 * (creative.c), and a campaign's supply-chain rules (schain.c). Choice of the winner: the highest price. The
 * price is already base × pCTR / avgCTR × multiplier, i.e. proportional to
 * the expected value of the impression to the campaign, so "best expected
 * value" and "highest price" coincide; ties go to the higher pCTR, then to
 * the earlier campaign. The price must reach the floor of the deal it bids
 * on (dealid) or, for an open-auction bid, the imp floor. In a first-price
 * auction (at=1) the winner's bid is then shaded below its value by its
 * campaign's win-rate curve, when the state has one. The response
 * and the bid-log events are written by response.c.
 *
 * Frequency cap: docs/campaigns.md "freq_cap". With the supervisor's
 * frame of global impression counts current (fcap.c), a capped campaign
 * bids on a person while global count + this node's bid in flight < max,
 * one bid in flight per node and person. Without it (no frame for
 * --fcap-stale-ms) the node counts its own bids, as a fallback: a
 * direct-mapped table of 2^18 64-bit atomic slots shared by all workers,
 * keyed by hash(cap key, campaign), packing a 32-bit key tag, the 16-bit
 * index of the fixed (tumbling) window of freq_cap.window_s and a 16-bit
 * count (a colliding key evicts the slot: undercount; counts are this
 * node's only, so N nodes allow up to N × max). The key is a keyed hash of
 * the request's best id (privacy.c sets which: buyeruid, else ifa, else
 * the exchange's user id qualified by the exchange; beat_fcap_key), which
 * the privacy gate leaves only when personal data may be used: a request
 * without one is never bid on by a capped campaign. */
#include "bidder.h"
#include "bidder_int.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "audience.h"
#include "beat_clock.h"
#include "beat_fcap.h"
#include "creative.h"
#include "fcap.h"
#include "lease.h"
#include "opps.h"
#include "schain.h"

#define FREQ_SLOTS_LOG2_DEFAULT 18

const char *inf_nobid_name(inf_nobid r) {
    static const char *const names[INF_NB_N] = {
        "none",          "no_model", "no_state",    "stale_state", "currency",
        "blocklist",     "seat",     "tmax",        "no_imp",      "no_match",
        "schedule",      "geo",      "segments",    "lists",       "schain_incomplete",
        "schain_seller", "freq_cap", "below_floor", "response",    "lease"};
    return (unsigned)r < INF_NB_N ? names[r] : "?";
}

inf_bidder *inf_bidder_new(const inf_bidder_cfg *cfg) {
    inf_bidder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->cfg = *cfg;
    inf_signer_init(&b->signer, cfg->secret, cfg->secret_len);
    b->url_plain = true;
    for (const char *p = cfg->receiver_url ? cfg->receiver_url : ""; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\') b->url_plain = false;
    int lg = cfg->freq_slots_log2 > 0 ? cfg->freq_slots_log2 : FREQ_SLOTS_LOG2_DEFAULT;
    if (lg > 26) lg = 26;
    b->freq = calloc((size_t)1 << lg, sizeof *b->freq);
    if (!b->freq) {
        free(b);
        return NULL;
    }
    b->freq_mask = ((uint64_t)1 << lg) - 1;
    b->bid_prefix = beat_random_u64();
    atomic_init(&b->bid_seq, 0);
    return b;
}

void inf_bidder_free(inf_bidder *b) {
    if (!b) return;
    free((void *)b->freq);
    free(b);
}

/* ---- frequency table ------------------------------------------------------ */

static uint64_t freq_key(const inf_camp *cp, uint64_t user) {
    return XXH3_64bits_withSeed(&user, sizeof user, cp->id_hash);
}

/* The window index of wall time now_ms: windows are engine time. */
static uint32_t freq_window(const beat_campaign *c, int64_t now_ms) {
    int64_t win_s = c->freq_cap_window_s > 0 ? c->freq_cap_window_s : 1;
    return (uint32_t)((beat_engine_of_wall_ms(now_ms) / 1000 / win_s) & 0xffff);
}

static int freq_get(inf_bidder *b, const inf_camp *cp, uint64_t user, int64_t now_ms) {
    uint64_t k = freq_key(cp, user);
    uint64_t v = atomic_load_explicit(&b->freq[k & b->freq_mask], memory_order_relaxed);
    if ((uint32_t)(v >> 32) != (uint32_t)(k >> 32) ||
        ((v >> 16) & 0xffff) != freq_window(cp->c, now_ms))
        return 0;
    return (int)(v & 0xffff);
}

static void freq_incr(inf_bidder *b, const inf_camp *cp, uint64_t user, int64_t now_ms) {
    uint64_t k = freq_key(cp, user);
    _Atomic uint64_t *slot = &b->freq[k & b->freq_mask];
    uint64_t tag = k >> 32, win = freq_window(cp->c, now_ms);
    uint64_t v = atomic_load_explicit(slot, memory_order_relaxed), nv;
    do {
        uint64_t cnt = 0;
        if ((v >> 32) == tag && ((v >> 16) & 0xffff) == win) cnt = v & 0xffff;
        if (cnt < 0xffff) cnt++;
        nv = (tag << 32) | (win << 16) | cnt;
    } while (!atomic_compare_exchange_weak_explicit(slot, &v, nv, memory_order_relaxed,
                                                    memory_order_relaxed));
}

int inf_bidder_freq_count(inf_bidder *b, const inf_camp *cp, uint64_t key, int64_t now_ms) {
    return freq_get(b, cp, key, now_ms);
}

uint64_t inf_bidder_cap_key(const inf_bidder *b, const inf_req *r) {
    if (!r->cap_key) return 0;
    return beat_fcap_key(b->cfg.secret, b->cfg.secret_len, (beat_fcap_id_kind)r->cap_kind,
                         r->exch ? r->exch->id : "", r->cap_key);
}

/* The cap key of the request, made on first use (an HMAC: only requests
 * that meet a capped campaign pay for it); 0 = no usable id. */
static uint64_t cap_key_of(inf_bidder *b, const inf_req *r, uint64_t *ck) {
    if (*ck == UINT64_MAX) *ck = inf_bidder_cap_key(b, r);
    return *ck;
}

/* May capped campaign cp bid on the request's person? (see the top) The
 * campaign's id_hash is beat_fcap_camp of its id: how datastream and the
 * supervisor name it in cap rows. */
static bool cap_allows(inf_bidder *b, const inf_camp *cp, const inf_req *r, uint64_t *ck,
                       int64_t now_ms, uint64_t *seen) {
    uint64_t k = cap_key_of(b, r, ck);
    if (!k) return false;
    int local = freq_get(b, cp, k, now_ms);
    if (!b->cfg.fcap) return local < cp->freq_cap_max;
    return inf_fcap_allow(b->cfg.fcap, cp->id_hash, k, cp->freq_cap_max, cp->c->freq_cap_window_s,
                          local, now_ms, beat_mono_ms(), seen);
}

/* ---- scoring and pricing ------------------------------------------------------ */

static void imp_features(const inf_model *m, const inf_req *r, const inf_imp *im, int64_t engine_ms,
                         beat_feat_raw *f) {
    const beat_hash_params *p = &m->hp;
    beat_feat_reset(f);
    const char *dom = r->domain ? r->domain : r->bundle;
    if (dom) beat_feat_add(f, p, "dom", dom, strlen(dom));
    if (r->pub_id) beat_feat_add(f, p, "pub", r->pub_id, strlen(r->pub_id));
    /* sz: the primary banner size, else the video player size, else the
     * format name (native, video of unknown size). */
    char sz[2 * BEAT_I64_CHARS];
    int n;
    if (im->n_sizes || ((im->formats & INF_FMT_VIDEO) && im->video.w && im->video.h)) {
        int w = im->n_sizes ? im->sizes[0].w : im->video.w;
        int h = im->n_sizes ? im->sizes[0].h : im->video.h;
        n = beat_fmt_i64(sz, w); /* "%dx%d" without printf */
        sz[n++] = 'x';
        n += beat_fmt_i64(sz + n, h);
    } else {
        const char *kind = (im->formats & INF_FMT_VIDEO) ? "video" : "native";
        n = (int)strlen(kind);
        memcpy(sz, kind, (size_t)n);
    }
    beat_feat_add(f, p, "sz", sz, (size_t)n);
    if (im->pos >= 0) beat_feat_add_int(f, p, "pos", im->pos);
    const char *chan = r->chan == INF_CHAN_SITE ? "site" : r->chan == INF_CHAN_APP ? "app" : "dooh";
    beat_feat_add(f, p, "chan", chan, strlen(chan));
    if (r->n_cats) beat_feat_add(f, p, "cat", r->cats[0], strlen(r->cats[0]));
    if (r->devicetype >= 0) beat_feat_add_int(f, p, "dt", r->devicetype);
    if (r->os) beat_feat_add(f, p, "os", r->os, strlen(r->os));
    if (r->country) beat_feat_add(f, p, "ctry", r->country, strlen(r->country));
    beat_feat_add_int(f, p, "hr", (engine_ms / 3600000) % 24);
}

static int64_t price_of(int64_t base, int64_t max, double pctr, double avg_ctr, double multiplier) {
    if (!(avg_ctr > 0)) avg_ctr = INF_AVG_CTR_DEFAULT;
    double p = (double)base * pctr / avg_ctr * multiplier;
    if (!(p > 0)) return 0; /* also NaN */
    if (p >= (double)max) return max;
    /* llround for p > 0, without the libm call (every scored campaign) */
    int64_t r = (int64_t)p;
    return p - (double)r >= 0.5 ? r + 1 : r;
}

/* The same without the max bid (at most 1000 × it): the value first-price
 * shading weighs a bid against. */
static int64_t value_of(int64_t base, int64_t max, double pctr, double avg_ctr, double multiplier) {
    return price_of(base, max > INT64_MAX / 1000 ? INT64_MAX : max * 1000, pctr, avg_ctr,
                    multiplier);
}

int64_t inf_bidder_price(const beat_campaign *c, double pctr, double avg_ctr, double multiplier) {
    return price_of(c->base_bid_cpm_micros, c->max_bid_cpm_micros, pctr, avg_ctr, multiplier);
}

/* ---- first-price shading --------------------------------------------------------- */

#define SHADE_STEPS 48

int64_t inf_bidder_shade(const float curve[BEAT_LAND_N], int64_t value_cpm_micros,
                         int64_t max_cpm_micros, int64_t floor_cpm_micros) {
    /* The max bid caps what is bid, not what the imp is worth: a value
     * above it still raises the surplus of every price up to it. */
    int64_t cap = max_cpm_micros < value_cpm_micros ? max_cpm_micros : value_cpm_micros;
    double v = (double)value_cpm_micros, hi = (double)cap, xv = beat_land_pos(hi);
    if (!(beat_land_win(curve, xv) > 0)) return cap; /* never wins: no law */
    /* W is 0 at and below one step under the lowest bucket that wins: no
     * surplus to find there. */
    int j = 0;
    while (j < BEAT_LAND_N - 1 && !(curve[j] > 0)) j++;
    double lo = beat_land_price(j - 1.0);
    if (lo < (double)floor_cpm_micros) lo = (double)floor_cpm_micros;
    if (lo < 1) lo = 1;
    if (!(lo < hi)) return cap;
    double x0 = beat_land_pos(lo), dx = (xv - x0) / SHADE_STEPS;
    double r = pow(hi / lo, 1.0 / SHADE_STEPS), b = lo;
    double best = hi, best_s = (v - hi) * beat_land_win(curve, xv); /* 0 at the value itself */
    for (int k = 0; k < SHADE_STEPS; k++, b *= r) {
        double s = (v - b) * beat_land_win(curve, x0 + dx * k);
        if (s > best_s) {
            best_s = s;
            best = b;
        }
    }
    /* whole micros, rounded up so the floor (lo ≥ floor) stays met */
    int64_t out = (int64_t)ceil(best);
    if (out < floor_cpm_micros) out = floor_cpm_micros;
    return out < cap ? out : cap;
}

/* ---- the auction --------------------------------------------------------------- */

/* The request's wseat/bseat against the campaign's seat; the empty lists of
 * most requests cost two compares. */
static bool seat_allowed(const inf_req *r, const beat_campaign *c) {
    return (!r->n_wseat && !r->n_bseat) || inf_req_seat_ok(r, c->seat);
}

/* Is (price, pctr) better than the best so far? Ties go to the higher
 * pCTR, then to the earlier campaign (visited first). */
static bool beats(int64_t price, double pctr, const inf_bid *best, bool have) {
    return !have || price > best->price_cpm_micros ||
           (price == best->price_cpm_micros && pctr > best->pctr);
}

/* State of one imp's auction across chunks of candidates. */
typedef struct imp_scan {
    const inf_world *w;
    const inf_imp *im;
    int i;
    inf_xcache *xc;
    beat_feat_raw raw;
    inf_xrow rows[BEAT_FEAT_RAW_MAX];
    double base;
    const float *fs; /* factor term per campaign, or NULL */
    int low;
    int leased; /* priced above what their lease has left */
    bool spend; /* billable traffic: bids must fit their leases */
    bool have;
    inf_bid *out;
    inf_result *ex; /* --explain on this imp: candidates' pCTRs go here; else NULL */
} imp_scan;

/* Scores and prices a chunk of candidates (campaigns cis, creatives crs),
 * keeping the best in s->out; with s->ex, records every pCTR there, and a
 * candidate with crs[k] < 0 is scored for that only (explain mode). */
static void score_chunk(imp_scan *s, const int *cis, const int *crs, int n) {
    const inf_model *m = s->w->model;
    float spill[INF_XCACHE_CHUNK][BEAT_FEAT_RAW_MAX];
    double pctrs[INF_XCACHE_CHUNK];
    inf_xcache_fill(s->xc, s->w, &s->raw, s->rows, cis, n, spill);
    /* Every pCTR first: they are independent, so their sums and exp()
     * overlap instead of each waiting behind the last one's pricing. */
    for (int k = 0; k < n; k++)
        pctrs[k] = inf_xcache_score(s->w, s->base, &s->raw, s->rows, cis[k], spill[k],
                                    s->fs ? s->fs[cis[k]] : 0.0);
    for (int k = 0; k < n; k++) {
        int ci = cis[k];
        const inf_camp *cp = &s->w->camps[ci];
        double pctr = pctrs[k];
        if (s->ex) {
            inf_result *x = s->ex;
            if (x->n_explain < INF_EXPLAIN_MAX)
                x->explain[x->n_explain++] = (inf_explain_ent){ci, pctr};
            if (crs[k] < 0) continue;
        }
        int64_t price = price_of(cp->base_bid_cpm_micros, cp->max_bid_cpm_micros, pctr, m->avg_ctr,
                                 cp->multiplier);
        int deal = price > 0 && s->im->n_deals ? inf_deal_pick(cp->c, s->im, price) : -1;
        if (price <= 0 ||
            (deal < 0 && (s->im->private_auction || price < s->im->floor_cpm_micros))) {
            s->low++;
            continue;
        }
        if (!beats(price, pctr, s->out, s->have)) continue;
        /* The price is the bid's worst case and must fit what the lease has
         * left (the filter only asked for something left): a lease's last
         * fraction of a max bid still buys the cheaper imps. */
        if (cp->lease && s->spend && !inf_lease_open(cp->lease, price)) {
            s->leased++;
            continue;
        }
        s->have = true;
        *s->out = (inf_bid){.imp = s->i,
                            .camp = ci,
                            .creative = crs[k],
                            .deal = deal,
                            .price_cpm_micros = price,
                            .value_cpm_micros = price,
                            .pctr = pctr};
    }
}

/* One imp: the campaigns the request reaches (req, from the targeting
 * index) that also have a creative format the imp offers are the only ones
 * visited; flight, seat, deals, the exact creative fit and the cap are
 * checked per candidate; the survivors are scored in chunks (crosses
 * through the worker's cache xc) and priced. The winner's feature indices
 * (for the bid log) are computed once, at the end. */
static inf_nobid bid_imp(inf_bidder *b, const inf_world *w, const inf_req *r, int i,
                         const uint64_t *req, const uint64_t *req_all, const inf_aud_refused *ar,
                         int64_t now_ms, int64_t engine_ms, inf_xcache *xc, _Atomic uint64_t *opps,
                         inf_result *ex, uint64_t *ck, inf_bid *out) {
    const inf_imp *im = &r->imp[i];
    if (im->skip != INF_IMP_OK) return INF_NB_NO_IMP;
    const inf_model *m = w->model;
    int nw = inf_tindex_words(w->tx);
    uint64_t cand[INF_SET_WORDS];
    /* Explain mode visits every campaign targeting admits, live or not. */
    memcpy(cand, ex ? req_all : req, (size_t)nw * sizeof *cand);
    /* Campaigns refused by geography/audience are visited up to that check
     * only, so the no-bid reason names it only when they fit otherwise. */
    if (ar->any)
        for (int k = 0; k < nw; k++) cand[k] |= ar->set[0][k] | ar->set[1][k] | ar->set[2][k];
    inf_tindex_imp(w->tx, im, cand);
    imp_scan s = {.w = w, .im = im, .i = i, .xc = xc, .out = out, .ex = ex, .spend = !r->test};
    float fs[BEAT_CAMPAIGNS_MAX]; /* factor term per campaign of w, this imp */
    bool have_raw = false;
    int cis[INF_XCACHE_CHUNK], crs[INF_XCACHE_CHUNK], nc = 0, capped = 0, leased = 0, closed = 0;
    int supply[2] = {0, 0}; /* refused by schain_complete, by sellers */
    int aud[3] = {0, 0, 0}; /* refused by geography, segments, lists */
    for (int k = 0; k < nw; k++)
        for (uint64_t bits = cand[k]; bits; bits &= bits - 1) {
            int ci = k * 64 + __builtin_ctzll(bits);
            const inf_camp *cp = &w->camps[ci];
            if (engine_ms < cp->start_ms || engine_ms >= cp->end_ms) continue;
            const beat_campaign *c = cp->c;
            if (!seat_allowed(r, c)) continue;
            if (im->private_auction && !inf_deal_any(c, im)) continue; /* deal bids only */
            int cr = inf_creative_match(c, cp->sizes, cp->n_creatives, im);
            if (cr < 0) continue;
            if (cp->rules) { /* few campaigns have rules */
                inf_schain_verdict v =
                    c->schain_complete || c->sellers.n ? inf_schain_check(c, r) : INF_SCHAIN_OK;
                if (v != INF_SCHAIN_OK) {
                    supply[v == INF_SCHAIN_INCOMPLETE ? 0 : 1]++;
                    continue;
                }
                /* Dayparting: the hour of engine time in the campaign's zone. */
                if (c->schedule.on && !beat_sched_open(&c->schedule, c->tz, engine_ms)) {
                    closed++;
                    continue;
                }
            }
            if (ar->any) {
                uint64_t bit = 1ULL << (ci & 63);
                int v = (ar->set[0][k] & bit)   ? 0
                        : (ar->set[1][k] & bit) ? 1
                        : (ar->set[2][k] & bit) ? 2
                                                : -1;
                if (v >= 0) {
                    aud[v]++;
                    continue;
                }
            }
            /* Explain mode: a paused campaign (not in req) is scored for
             * its pCTR only, and counts nowhere. */
            if (ex && !(req[k] >> (ci & 63) & 1)) {
                cr = -1;
                goto scan;
            }
            /* A candidate: an opportunity of the campaign's (billable
             * traffic only), whatever its cap, lease and price make of it. */
            if (opps && cp->opp_slot >= 0 && !r->test) inf_opps_inc(opps, cp->opp_slot);
            uint64_t seen;
            if (cp->freq_cap_max > 0 && !cap_allows(b, cp, r, ck, now_ms, &seen)) {
                capped++;
                if (!ex) continue;
                cr = -1; /* explain mode: pCTR only */
            }
            /* Test traffic never spends, so it needs no lease; billable
             * traffic needs something left here, and its price to fit once
             * it is known (score_chunk). */
            if (cr >= 0 && cp->lease && !r->test && !inf_lease_open(cp->lease, 1)) {
                leased++;
                if (!ex) continue;
                cr = -1;
            }
        scan:
            if (!have_raw) {
                imp_features(m, r, im, engine_ms, &s.raw);
                have_raw = true;
                s.base = inf_model_logit_base(m, &s.raw);
                if (inf_world_factor_scores(w, &s.raw, fs, BEAT_CAMPAIGNS_MAX, true)) s.fs = fs;
                inf_xcache_rows(xc, w, &s.raw, s.rows);
            }
            cis[nc] = ci;
            crs[nc] = cr;
            if (++nc == INF_XCACHE_CHUNK) {
                score_chunk(&s, cis, crs, nc);
                nc = 0;
            }
        }
    if (nc) score_chunk(&s, cis, crs, nc);
    if (s.have) {
        const inf_camp *cp = &w->camps[out->camp];
        /* First price: the winner (chosen by value) bids what maximises
         * its expected surplus instead of its value; the floor of what it
         * bids on (deal or imp) still holds. */
        if (r->at == 1 && cp->win_curve)
            out->price_cpm_micros = inf_bidder_shade(
                cp->win_curve,
                value_of(cp->base_bid_cpm_micros, cp->max_bid_cpm_micros, out->pctr, m->avg_ctr,
                         cp->multiplier),
                out->value_cpm_micros,
                out->deal >= 0 ? im->deals[out->deal].floor_cpm_micros : im->floor_cpm_micros);
        /* A capped winner's bid goes in flight on its person: unless a
         * worker of this node bid on them since the filter looked. Test
         * traffic is not billable: it does not use up the cap. */
        uint64_t seen = 0, k = cp->freq_cap_max > 0 && !r->test ? *ck : 0;
        if (k && b->cfg.fcap &&
            (!cap_allows(b, cp, r, ck, now_ms, &seen) ||
             !inf_fcap_take(b->cfg.fcap, cp->id_hash, k, now_ms, seen)))
            return INF_NB_FREQ_CAP;
        /* The winner's price is its worst case: it must fit the lease. The
         * scan kept only prices that fitted, so this fails only when workers
         * race for the lease's last bids. */
        if (cp->lease && !r->test && !inf_lease_take(cp->lease, out->price_cpm_micros)) {
            if (k && b->cfg.fcap) inf_fcap_untake(b->cfg.fcap, cp->id_hash, k, now_ms, seen);
            return INF_NB_LEASE;
        }
        out->n_feat =
            (uint32_t)beat_feat_indices(&m->hp, &s.raw, cp->hash, out->feat, BEAT_FEAT_MAX);
        if (k) freq_incr(b, cp, k, now_ms);
        return INF_NB_NONE;
    }
    if (s.low) return INF_NB_BELOW_FLOOR;
    if (capped) return INF_NB_FREQ_CAP;
    if (leased || s.leased) return INF_NB_LEASE;
    if (supply[1]) return INF_NB_SCHAIN_SELLER;
    if (supply[0]) return INF_NB_SCHAIN_INCOMPLETE;
    if (aud[2]) return INF_NB_LISTS;
    if (aud[1]) return INF_NB_SEGMENTS;
    if (aud[0]) return INF_NB_GEO;
    if (closed) return INF_NB_SCHEDULE;
    return INF_NB_NO_MATCH;
}

void inf_bidder_run(inf_bidder *b, const inf_world *w, const inf_req *r, int64_t now_ms,
                    inf_xcache *xc, inf_result *out) {
    out->now_ms = now_ms;
    out->cap_key = 0;
    out->n = 0;
    out->n_explain = 0;
    out->reason = INF_NB_NONE;
    if (!w || !w->model) {
        out->reason = INF_NB_NO_MODEL;
        return;
    }
    if (!w->snap || !w->snap->has_state) {
        out->reason = INF_NB_NO_STATE;
        return;
    }
    if (now_ms - w->snap->st.ts_ms > b->cfg.max_state_age_ms) {
        out->reason = INF_NB_STALE_STATE;
        return;
    }
    if (!r->cur_ok) {
        out->reason = INF_NB_CURRENCY;
        return;
    }
    /* Honouring a truncated block list could serve a blocked advertiser. */
    if (r->blocks_truncated) {
        out->reason = INF_NB_BLOCKLIST;
        return;
    }
    /* A truncated bseat could hide a block; no campaign seat allowed → say so
     * instead of a vaguer no_match. */
    bool seat_any = !r->seats_truncated;
    if (seat_any && (r->n_wseat || r->n_bseat)) {
        seat_any = false;
        for (int ci = 0; ci < w->n && !seat_any; ci++)
            seat_any = inf_req_seat_ok(r, w->camps[ci].c->seat);
    }
    if (!seat_any) {
        out->reason = INF_NB_SEAT;
        return;
    }
    uint64_t req[INF_SET_WORDS], req_all[INF_SET_WORDS];
    inf_tindex_request(w->tx, r, req);
    bool explain = b->cfg.explain;
    if (explain) inf_tindex_request_all(w->tx, r, req_all);
    inf_aud_refused ar;
    inf_aud_filter(w->aud, r, inf_tindex_words(w->tx), req, explain ? req_all : NULL, &ar);
    /* Flights, schedules and the hour of day follow engine time; state
     * age, caps' windows and the bid log's stamps keep the wall clock. */
    int64_t engine_ms = beat_engine_of_wall_ms(now_ms);
    inf_nobid worst = INF_NB_NO_IMP;
    bool cur_skip = false;
    uint64_t ck = UINT64_MAX; /* not made yet */
    for (int i = 0; i < r->n_imp; i++) {
        inf_nobid nb = bid_imp(b, w, r, i, req, req_all, &ar, now_ms, engine_ms, xc, out->opps,
                               explain && i == 0 ? out : NULL, &ck, &out->bids[out->n]);
        cur_skip |= r->imp[i].skip == INF_IMP_CURRENCY;
        if (nb == INF_NB_NONE) out->n++;
        else if (nb > worst) worst = nb;
    }
    out->cap_key = ck == UINT64_MAX ? 0 : ck;
    /* No imp got past its own checks, and a floor's currency was unknown:
     * say "currency", which the operator can fix with a rate. */
    if (out->n == 0) out->reason = worst == INF_NB_NO_IMP && cur_skip ? INF_NB_CURRENCY : worst;
}
