/* Bidding: filter → score → price → pick → respond, per imp (DESIGN §4).
 * Runs on the HTTP worker threads against an immutable world; must stay in
 * the low microseconds per campaign and never allocate (the response and
 * scratch buffers are the caller's, reused per worker). It never logs per
 * request: the caller counts outcomes in metrics.
 *
 * Filter: the world's targeting index (targeting.c) gives, per request, the
 * live campaigns whose targeting admits it and that bcat/badv/bapp leave
 * alone, narrowed per imp to those with a creative format it offers; only
 * those are visited, for flight, seat (wseat/bseat), private auction → only
 * campaigns with one of the imp's deals, and the exact creative fit
 * (creative.c). Choice of the winner: the highest price. The
 * price is already base × pCTR / avgCTR × multiplier, i.e. proportional to
 * the expected value of the impression to the campaign, so "best expected
 * value" and "highest price" coincide; ties go to the higher pCTR, then to
 * the earlier campaign. The price must reach the floor of the deal it bids
 * on (dealid) or, for an open-auction bid, the imp floor. The response has
 * one seatbid per campaign seat, mtype and adm by creative format (banner
 * markup, VAST, a Native 1.2 document built with the request's asset ids).
 *
 * Frequency cap (approximate, by design): a direct-mapped table of 2^18
 * 64-bit atomic slots shared by all workers, keyed by hash(user.id,
 * campaign). A slot packs a 32-bit key tag, the 16-bit index of a fixed
 * (tumbling) window of freq_cap.window_s and a 16-bit count. Consequences:
 * a colliding key evicts the slot (undercount: the cap may be exceeded);
 * a tag collision (2^-32) overcounts; windows are aligned to multiples of
 * window_s, so a user may see up to 2×max around a boundary; counts are per
 * inference node; what is counted is our bids, not impressions, which is
 * conservative (we stop bidding before the cap in impressions is reached).
 * A request without user.id is never bid on by a capped campaign. */
#include "bidder.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "beat_notice.h"
#include "creative.h"
#include "notice.h"

#define FREQ_SLOTS_LOG2_DEFAULT 18

struct inf_bidder {
    inf_bidder_cfg cfg;
    _Atomic uint64_t *freq;
    uint64_t freq_mask;
    _Atomic uint64_t bid_seq;
    uint64_t bid_prefix; /* random per process: bid ids unique across nodes */
    inf_signer signer;   /* notice signatures, pre-keyed per thread */
    bool url_plain;      /* receiver_url needs no JSON escaping; the rest of
                            a notice URL never does (percent-encoded ids,
                            digits, hex, fixed text) */
};

const char *inf_nobid_name(inf_nobid r) {
    static const char *const names[INF_NB_N] = {
        "none", "no_model", "no_state", "stale_state", "currency", "blocklist",
        "seat", "tmax", "no_imp", "no_match", "freq_cap", "below_floor", "response"};
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

static uint64_t freq_key(const inf_camp *cp, const char *user) {
    return XXH3_64bits_withSeed(user, strlen(user), cp->id_hash);
}

static uint32_t freq_window(const beat_campaign *c, int64_t now_ms) {
    int64_t win_s = c->freq_cap_window_s > 0 ? c->freq_cap_window_s : 1;
    return (uint32_t)((now_ms / 1000 / win_s) & 0xffff);
}

static int freq_get(inf_bidder *b, const inf_camp *cp, const char *user,
                    int64_t now_ms) {
    uint64_t k = freq_key(cp, user);
    uint64_t v = atomic_load_explicit(&b->freq[k & b->freq_mask], memory_order_relaxed);
    if ((uint32_t)(v >> 32) != (uint32_t)(k >> 32) ||
        ((v >> 16) & 0xffff) != freq_window(cp->c, now_ms))
        return 0;
    return (int)(v & 0xffff);
}

static void freq_incr(inf_bidder *b, const inf_camp *cp, const char *user,
                      int64_t now_ms) {
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

int inf_bidder_freq_count(inf_bidder *b, const inf_camp *cp, const char *user,
                          int64_t now_ms) {
    return freq_get(b, cp, user, now_ms);
}

/* ---- scoring and pricing ------------------------------------------------------ */

static void imp_features(const inf_model *m, const inf_req *r, const inf_imp *im,
                         int64_t now_ms, beat_feat_raw *f) {
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
        n = snprintf(sz, sizeof sz, "%s", (im->formats & INF_FMT_VIDEO) ? "video" : "native");
    }
    beat_feat_add(f, p, "sz", sz, (size_t)n);
    if (im->pos >= 0) beat_feat_add_int(f, p, "pos", im->pos);
    const char *chan = r->chan == INF_CHAN_SITE ? "site"
                     : r->chan == INF_CHAN_APP  ? "app" : "dooh";
    beat_feat_add(f, p, "chan", chan, strlen(chan));
    if (r->n_cats) beat_feat_add(f, p, "cat", r->cats[0], strlen(r->cats[0]));
    if (r->devicetype >= 0) beat_feat_add_int(f, p, "dt", r->devicetype);
    if (r->os) beat_feat_add(f, p, "os", r->os, strlen(r->os));
    if (r->country) beat_feat_add(f, p, "ctry", r->country, strlen(r->country));
    beat_feat_add_int(f, p, "hr", (now_ms / 3600000) % 24);
}

static int64_t price_of(int64_t base, int64_t max, double pctr, double avg_ctr,
                        double multiplier) {
    if (!(avg_ctr > 0)) avg_ctr = INF_AVG_CTR_DEFAULT;
    double p = (double)base * pctr / avg_ctr * multiplier;
    if (!(p > 0)) return 0; /* also NaN */
    if (p >= (double)max) return max;
    /* llround for p > 0, without the libm call (every scored campaign) */
    int64_t r = (int64_t)p;
    return p - (double)r >= 0.5 ? r + 1 : r;
}

int64_t inf_bidder_price(const beat_campaign *c, double pctr, double avg_ctr,
                         double multiplier) {
    return price_of(c->base_bid_cpm_micros, c->max_bid_cpm_micros, pctr, avg_ctr,
                    multiplier);
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
    bool have;
    inf_bid *out;
} imp_scan;

/* Scores and prices a chunk of candidates (campaigns cis, creatives crs),
 * keeping the best in s->out. */
static void score_chunk(imp_scan *s, const int *cis, const int *crs, int n) {
    const inf_model *m = s->w->model;
    float spill[INF_XCACHE_CHUNK][BEAT_FEAT_RAW_MAX];
    inf_xcache_fill(s->xc, s->w, &s->raw, s->rows, cis, n, spill);
    for (int k = 0; k < n; k++) {
        int ci = cis[k];
        const inf_camp *cp = &s->w->camps[ci];
        double pctr = inf_xcache_score(s->w, s->base, &s->raw, s->rows, ci, spill[k],
                                       s->fs ? s->fs[ci] : 0.0);
        int64_t price = price_of(cp->base_bid_cpm_micros, cp->max_bid_cpm_micros, pctr,
                                 m->avg_ctr, cp->multiplier);
        int deal = price > 0 && s->im->n_deals ? inf_deal_pick(cp->c, s->im, price) : -1;
        if (price <= 0 ||
            (deal < 0 && (s->im->private_auction || price < s->im->floor_cpm_micros))) {
            s->low++;
            continue;
        }
        if (!beats(price, pctr, s->out, s->have)) continue;
        s->have = true;
        *s->out = (inf_bid){.imp = s->i, .camp = ci, .creative = crs[k], .deal = deal,
                            .price_cpm_micros = price, .pctr = pctr};
    }
}

/* One imp: the campaigns the request reaches (req, from the targeting
 * index) that also have a creative format the imp offers are the only ones
 * visited; flight, seat, deals, the exact creative fit and the cap are
 * checked per candidate; the survivors are scored in chunks (crosses
 * through the worker's cache xc) and priced. The winner's feature indices
 * (for the bid log) are computed once, at the end. */
static inf_nobid bid_imp(inf_bidder *b, const inf_world *w, const inf_req *r, int i,
                         const uint64_t *req, int64_t now_ms, inf_xcache *xc,
                         inf_bid *out) {
    const inf_imp *im = &r->imp[i];
    if (im->skip != INF_IMP_OK) return INF_NB_NO_IMP;
    const inf_model *m = w->model;
    int nw = inf_tindex_words(w->tx);
    uint64_t cand[INF_SET_WORDS];
    memcpy(cand, req, (size_t)nw * sizeof *cand);
    inf_tindex_imp(w->tx, im, cand);
    imp_scan s = {.w = w, .im = im, .i = i, .xc = xc, .out = out};
    float fs[BEAT_CAMPAIGNS_MAX]; /* factor term per campaign of w, this imp */
    bool have_raw = false;
    int cis[INF_XCACHE_CHUNK], crs[INF_XCACHE_CHUNK], nc = 0, capped = 0;
    for (int k = 0; k < nw; k++)
        for (uint64_t bits = cand[k]; bits; bits &= bits - 1) {
            int ci = k * 64 + __builtin_ctzll(bits);
            const inf_camp *cp = &w->camps[ci];
            if (now_ms < cp->start_ms || now_ms >= cp->end_ms) continue;
            const beat_campaign *c = cp->c;
            if (!seat_allowed(r, c)) continue;
            if (im->private_auction && !inf_deal_any(c, im)) continue; /* deal bids only */
            int cr = inf_creative_match(c, cp->sizes, im);
            if (cr < 0) continue;
            if (cp->freq_cap_max > 0 &&
                (!r->user_id || freq_get(b, cp, r->user_id, now_ms) >= cp->freq_cap_max)) {
                capped++;
                continue;
            }
            if (!have_raw) {
                imp_features(m, r, im, now_ms, &s.raw);
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
        out->n_feat = (uint32_t)beat_feat_indices(&m->hp, &s.raw, cp->hash, out->feat,
                                                  BEAT_FEAT_MAX);
        /* test traffic is not billable: it does not use up the cap */
        if (cp->freq_cap_max > 0 && !r->test) freq_incr(b, cp, r->user_id, now_ms);
        return INF_NB_NONE;
    }
    if (s.low) return INF_NB_BELOW_FLOOR;
    if (capped) return INF_NB_FREQ_CAP;
    return INF_NB_NO_MATCH;
}

void inf_bidder_run(inf_bidder *b, const inf_world *w, const inf_req *r,
                    int64_t now_ms, inf_xcache *xc, inf_result *out) {
    out->now_ms = now_ms;
    out->n = 0;
    out->reason = INF_NB_NONE;
    if (!w || !w->model) { out->reason = INF_NB_NO_MODEL; return; }
    if (!w->snap || !w->snap->has_state) { out->reason = INF_NB_NO_STATE; return; }
    if (now_ms - w->snap->st.ts_ms > b->cfg.max_state_age_ms) {
        out->reason = INF_NB_STALE_STATE;
        return;
    }
    if (!r->cur_ok) { out->reason = INF_NB_CURRENCY; return; }
    /* Honouring a truncated block list could serve a blocked advertiser. */
    if (r->blocks_truncated) { out->reason = INF_NB_BLOCKLIST; return; }
    /* A truncated bseat could hide a block; no campaign seat allowed → say so
     * instead of a vaguer no_match. */
    bool seat_any = !r->seats_truncated;
    if (seat_any && (r->n_wseat || r->n_bseat)) {
        seat_any = false;
        for (int ci = 0; ci < w->n && !seat_any; ci++)
            seat_any = inf_req_seat_ok(r, w->camps[ci].c->seat);
    }
    if (!seat_any) { out->reason = INF_NB_SEAT; return; }
    uint64_t req[INF_SET_WORDS];
    inf_tindex_request(w->tx, r, req);
    inf_nobid worst = INF_NB_NO_IMP;
    for (int i = 0; i < r->n_imp; i++) {
        inf_nobid nb = bid_imp(b, w, r, i, req, now_ms, xc, &out->bids[out->n]);
        if (nb == INF_NB_NONE) out->n++;
        else if (nb > worst) worst = nb;
    }
    if (out->n == 0) out->reason = worst;
}

/* ---- the response ------------------------------------------------------------------ */

/* Bytes that need escaping in a JSON string (and, for a URL placed inside
 * the adm's href="…", in an HTML attribute too). Control bytes are tested
 * apart; bytes ≥ 0x80 (UTF-8) pass through. */
static const bool json_special[128] = {['"'] = true, ['\\'] = true};
static const bool html_special[128] = {['"'] = true, ['\\'] = true, ['&'] = true,
                                       ['<'] = true, ['>'] = true, ['\''] = true};

/* Appends s[0..n) as the body of a JSON string (no quotes); html adds
 * HTML-attribute escaping (& → &amp; …). Verbatim runs are appended whole:
 * this runs over every adm and URL of every response. */
static int esc(beat_buf *o, const char *s, size_t n, bool html) {
    static const char hex[] = "0123456789abcdef";
    const bool *special = html ? html_special : json_special;
    size_t run = 0; /* start of the pending verbatim run */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && (c >= 0x80 || !special[c])) continue;
        const char *rep;
        char u[7];
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\'': rep = "&#39;"; break;
        case '"': rep = html ? "&quot;" : "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        default:
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = 0;
            rep = u;
        }
        int rc;
        if ((i > run && (rc = beat_buf_append(o, s + run, i - run)) < 0) ||
            (rc = beat_buf_puts(o, rep)) < 0)
            return rc;
        run = i + 1;
    }
    return n > run ? beat_buf_append(o, s + run, n - run) : 0;
}

/* key is the literal prefix, e.g. ",\"impid\":\"" (no printf on this path). */
static int put_str(beat_buf *o, const char *key, const char *s) {
    int rc = beat_buf_puts(o, key);
    if (rc < 0 || (rc = esc(o, s, strlen(s), false)) < 0) return rc;
    return beat_buf_puts(o, "\"");
}

static int put_strv(beat_buf *o, const char *key, const beat_strv *v) {
    int rc = beat_buf_puts(o, key);
    for (int i = 0; rc >= 0 && i < v->n; i++) {
        if (i && (rc = beat_buf_puts(o, ",")) < 0) break;
        if ((rc = beat_buf_puts(o, "\"")) < 0 ||
            (rc = esc(o, v->v[i], strlen(v->v[i]), false)) < 0 ||
            (rc = beat_buf_puts(o, "\"")) < 0)
            break;
    }
    return rc < 0 ? rc : beat_buf_puts(o, "]");
}

/* CPM micros → decimal currency units, shortest exact form ("3.6"). */
static int put_price(beat_buf *o, int64_t micros) {
    char t[BEAT_I64_CHARS + 8];
    int64_t whole = micros / 1000000, frac = micros % 1000000;
    if (frac < 0) frac = -frac;
    int n = 0;
    if (micros < 0 && whole == 0) t[n++] = '-';
    n += beat_fmt_i64(t + n, whole);
    if (frac) {
        t[n++] = '.';
        for (int64_t d = 100000; d > 0 && frac; d /= 10) {
            t[n++] = (char)('0' + frac / d);
            frac %= d;
        }
    }
    int rc = beat_buf_puts(o, ",\"price\":");
    return rc < 0 ? rc : beat_buf_append(o, t, (size_t)n);
}

/* ,"key":N — the integers of a bid, without printf. */
static int put_int(beat_buf *o, const char *key, int64_t v) {
    int rc = beat_buf_puts(o, key);
    return rc < 0 ? rc : beat_buf_put_i64(o, v);
}

/* {"id":"<16 hex prefix><8 hex seq>" */
static int put_bid_id(beat_buf *o, uint64_t prefix, uint64_t seq) {
    static const char hex[] = "0123456789abcdef";
    char t[8 + 24 + 1];
    memcpy(t, "{\"id\":\"", 7);
    for (int i = 0; i < 16; i++) t[7 + i] = hex[(prefix >> (60 - 4 * i)) & 15];
    for (int i = 0; i < 8; i++) t[23 + i] = hex[(seq >> (28 - 4 * i)) & 15];
    t[31] = '"';
    return beat_buf_append(o, t, 32);
}

/* nurl, burl and lurl with one pre-keyed HMAC (notice.c): they sign the
 * same fields (auction, imp, campaign, bid, ts; no landing). */
static int put_notices(inf_bidder *b, beat_buf *o, beat_buf *scratch,
                       const inf_req *r, const inf_bid *bid, const beat_campaign *c,
                       const beat_creative *cr, int64_t ts_ms) {
    static const struct {
        beat_event_type t;
        const char *key;
    } urls[] = {{BEAT_EV_WIN, ",\"nurl\":\""},
                {BEAT_EV_BILL, ",\"burl\":\""},
                {BEAT_EV_LOSS, ",\"lurl\":\""}};
    char sig[BEAT_SIG_HEX + 1];
    int rc = inf_notice_sign(&b->signer, r->id, r->imp[bid->imp].id, c->id,
                             bid->price_cpm_micros, ts_ms, NULL, sig);
    if (rc < 0) return rc;
    for (int k = 0; k < 3; k++) {
        if ((rc = beat_buf_puts(o, urls[k].key)) < 0) return rc;
        if (b->url_plain) {
            /* nothing in it needs a JSON escape: write it in place */
            rc = inf_notice_url(o, b->cfg.receiver_url, urls[k].t, c->id, cr->crid,
                                bid->price_cpm_micros, ts_ms, NULL, sig);
        } else {
            beat_buf_reset(scratch);
            rc = inf_notice_url(scratch, b->cfg.receiver_url, urls[k].t, c->id, cr->crid,
                                bid->price_cpm_micros, ts_ms, NULL, sig);
            if (rc >= 0) rc = esc(o, scratch->data, scratch->len, false);
        }
        if (rc < 0 || (rc = beat_buf_puts(o, "\"")) < 0) return rc;
    }
    return 0;
}

/* The signed click URL into scratch (empty without a landing page: nothing
 * to sign, the macro becomes ""). */
static int click_url(inf_bidder *b, beat_buf *scratch, const inf_req *r,
                     const inf_bid *bid, const beat_campaign *c,
                     const beat_creative *cr, int64_t ts_ms) {
    char sig[BEAT_SIG_HEX + 1];
    int rc;
    beat_buf_reset(scratch);
    if (!cr->landing || !cr->landing[0]) return beat_buf_puts(scratch, "");
    if ((rc = inf_notice_sign(&b->signer, r->id, r->imp[bid->imp].id, c->id,
                              bid->price_cpm_micros, ts_ms, cr->landing, sig)) < 0)
        return rc;
    return inf_notice_url(scratch, b->cfg.receiver_url, BEAT_EV_CLICK, c->id, cr->crid,
                          bid->price_cpm_micros, ts_ms, cr->landing, sig);
}

/* Banner markup / VAST template with every ${CLICK_URL} replaced by the
 * signed click URL: HTML/XML-escaped, except inside a CDATA section
 * ("<![CDATA[${CLICK_URL}]]>", where escapes would stay literal; the URL is
 * percent-encoded, so it cannot contain "]]>"). */
static int put_adm_template(inf_bidder *b, beat_buf *o, beat_buf *scratch,
                            const inf_req *r, const inf_bid *bid,
                            const beat_campaign *c, const beat_creative *cr,
                            int64_t ts_ms) {
    static const char macro[] = "${CLICK_URL}", cdata[] = "<![CDATA[";
    const char *adm = cr->adm ? cr->adm : "";
    int rc;
    if (strstr(adm, macro) && (rc = click_url(b, scratch, r, bid, c, cr, ts_ms)) < 0)
        return rc;
    if ((rc = beat_buf_puts(o, ",\"adm\":\"")) < 0) return rc;
    const char *s = adm, *hit;
    while ((hit = strstr(s, macro)) != NULL) {
        bool in_cdata = (size_t)(hit - adm) >= sizeof cdata - 1 &&
                        memcmp(hit - (sizeof cdata - 1), cdata, sizeof cdata - 1) == 0;
        if ((rc = esc(o, s, (size_t)(hit - s), false)) < 0 ||
            (rc = esc(o, scratch->data, scratch->len, !in_cdata)) < 0)
            return rc;
        s = hit + sizeof macro - 1;
    }
    if ((rc = esc(o, s, strlen(s), false)) < 0) return rc;
    return beat_buf_puts(o, "\"");
}

/* Appends s[0..n) escaped twice: as a string inside the native document,
 * which is itself the adm string of the response. Verbatim runs pass whole. */
static int esc2(beat_buf *o, const char *s, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        char inner[8];
        if (c == '"' || c == '\\') snprintf(inner, sizeof inner, "\\%c", c);
        else snprintf(inner, sizeof inner, "\\u%04x", c);
        int rc;
        if ((i > run && (rc = beat_buf_append(o, s + run, i - run)) < 0) ||
            (rc = esc(o, inner, strlen(inner), false)) < 0)
            return rc;
        run = i + 1;
    }
    return n > run ? beat_buf_append(o, s + run, n - run) : 0;
}

/* ,"key":"text" inside the native document (already at the adm level). */
static int ntext(beat_buf *o, const char *lit, const char *t) {
    int rc = beat_buf_puts(o, lit);
    if (rc >= 0) rc = esc2(o, t, strlen(t));
    return rc < 0 ? rc : beat_buf_puts(o, "\\\"");
}

/* Native 1.2 response built from the creative's fields with the request's
 * asset ids (only assets we can fill), link.url = the signed click URL,
 * written straight into the adm string (literals pre-escaped, values
 * escaped twice). Wrapped in {"native":…} when the request was. */
static int put_adm_native(inf_bidder *b, beat_buf *o, beat_buf *scratch,
                          const inf_req *r, const inf_bid *bid,
                          const beat_campaign *c, const beat_creative *cr,
                          int64_t ts_ms) {
    const inf_native *nat = &r->imp[bid->imp].native;
    int rc = click_url(b, scratch, r, bid, c, cr, ts_ms);
    if (rc < 0 ||
        (rc = beat_buf_puts(o, nat->wrapped ? ",\"adm\":\"{\\\"native\\\":{" : ",\"adm\":\"{")) < 0 ||
        (rc = beat_buf_puts(o, "\\\"ver\\\":\\\"1.2\\\",\\\"link\\\":{\\\"url\\\":\\\"")) < 0 ||
        (rc = esc2(o, scratch->data, scratch->len)) < 0 ||
        (rc = beat_buf_puts(o, "\\\"},\\\"assets\\\":[")) < 0)
        return rc;
    bool first = true;
    for (int i = 0; i < nat->n_assets; i++) {
        const inf_asset *a = &nat->assets[i];
        const void *fill = inf_asset_fill(cr, a);
        if (!fill) continue;
        if ((rc = beat_buf_printf(o, "%s{\\\"id\\\":%" PRId64 "%s", first ? "" : ",", a->id,
                                  a->required ? ",\\\"required\\\":1" : "")) < 0)
            return rc;
        first = false;
        if (a->kind == INF_ASSET_TITLE) {
            rc = ntext(o, ",\\\"title\\\":{\\\"text\\\":\\\"", fill);
            if (rc >= 0) rc = beat_buf_puts(o, "}}");
        } else if (a->kind == INF_ASSET_IMG) {
            const beat_native_img *im = fill;
            rc = ntext(o, ",\\\"img\\\":{\\\"url\\\":\\\"", im->url);
            if (rc >= 0)
                rc = beat_buf_printf(o, ",\\\"w\\\":%d,\\\"h\\\":%d}}", im->w, im->h);
        } else {
            rc = ntext(o, ",\\\"data\\\":{\\\"value\\\":\\\"", fill);
            if (rc >= 0) rc = beat_buf_puts(o, "}}");
        }
        if (rc < 0) return rc;
    }
    return beat_buf_puts(o, nat->wrapped ? "]}}\"" : "]}\"");
}

static int put_bid(inf_bidder *b, const inf_world *w, const inf_req *r,
                   const inf_bid *bid, int64_t ts_ms, beat_buf *o, beat_buf *scratch) {
    const beat_campaign *c = w->camps[bid->camp].c;
    const beat_creative *cr = &c->creatives[bid->creative];
    const inf_imp *im = &r->imp[bid->imp];
    uint64_t seq = atomic_fetch_add_explicit(&b->bid_seq, 1, memory_order_relaxed);
    int rc;
    if ((rc = put_bid_id(o, b->bid_prefix, seq & 0xffffffffu)) < 0 ||
        (rc = put_str(o, ",\"impid\":\"", im->id)) < 0 ||
        (rc = put_price(o, bid->price_cpm_micros)) < 0 ||
        (rc = put_str(o, ",\"adid\":\"", cr->crid)) < 0 ||
        (rc = put_str(o, ",\"crid\":\"", cr->crid)) < 0 ||
        (rc = put_str(o, ",\"cid\":\"", c->id)) < 0 ||
        (rc = put_strv(o, ",\"adomain\":[", &c->adomain)) < 0 ||
        (rc = put_strv(o, ",\"cat\":[", &c->cat)) < 0)
        return rc;
    int bw = cr->w, bh = cr->h;
    if (cr->format == BEAT_FMT_VIDEO && !(bw && bh)) {
        bw = im->video.w;
        bh = im->video.h;
    }
    if (cr->format != BEAT_FMT_NATIVE && bw > 0 && bh > 0 &&
        ((rc = put_int(o, ",\"w\":", bw)) < 0 || (rc = put_int(o, ",\"h\":", bh)) < 0))
        return rc;
    if ((rc = put_int(o, ",\"mtype\":", (int)cr->format)) < 0) return rc;
    if (bid->deal >= 0 && (rc = put_str(o, ",\"dealid\":\"", im->deals[bid->deal].id)) < 0)
        return rc;
    if (c->bundle && (rc = put_str(o, ",\"bundle\":\"", c->bundle)) < 0) return rc;
    if (cr->attr) {
        bool first = true;
        if ((rc = beat_buf_puts(o, ",\"attr\":[")) < 0) return rc;
        for (int a = 1; a < 64; a++)
            if (cr->attr >> a & 1) {
                if ((rc = beat_buf_printf(o, first ? "%d" : ",%d", a)) < 0) return rc;
                first = false;
            }
        if ((rc = beat_buf_puts(o, "]")) < 0) return rc;
    }
    rc = cr->format == BEAT_FMT_NATIVE
             ? put_adm_native(b, o, scratch, r, bid, c, cr, ts_ms)
             : put_adm_template(b, o, scratch, r, bid, c, cr, ts_ms);
    if (rc < 0 || (rc = put_notices(b, o, scratch, r, bid, c, cr, ts_ms)) < 0) return rc;
    return beat_buf_puts(o, "}");
}

/* One seatbid per campaign seat (most responses: one), bids in imp order
 * within it. Quadratic in bids, which are at most INF_IMP_MAX. */
int inf_bidder_response(inf_bidder *b, const inf_world *w, const inf_req *r,
                        const inf_result *res, beat_buf *out, beat_buf *scratch) {
    size_t start = out->len;
    int rc = beat_buf_puts(out, "{\"id\":\"");
    if (rc >= 0) rc = esc(out, r->id, strlen(r->id), false);
    if (rc >= 0) rc = beat_buf_puts(out, "\",\"cur\":\"USD\",\"seatbid\":[");
    bool first_seat = true;
    for (int k = 0; rc >= 0 && k < res->n; k++) {
        const char *seat = w->camps[res->bids[k].camp].c->seat;
        bool seen = false;
        for (int j = 0; j < k && !seen; j++)
            seen = strcmp(w->camps[res->bids[j].camp].c->seat, seat) == 0;
        if (seen) continue;
        if ((rc = beat_buf_puts(out, first_seat ? "{" : ",{")) < 0 ||
            (rc = put_str(out, "\"seat\":\"", seat)) < 0 ||
            (rc = beat_buf_puts(out, ",\"bid\":[")) < 0)
            break;
        first_seat = false;
        bool first_bid = true;
        for (int j = k; rc >= 0 && j < res->n; j++) {
            if (strcmp(w->camps[res->bids[j].camp].c->seat, seat) != 0) continue;
            if (!first_bid) rc = beat_buf_puts(out, ",");
            first_bid = false;
            if (rc >= 0) rc = put_bid(b, w, r, &res->bids[j], res->now_ms, out, scratch);
        }
        if (rc >= 0) rc = beat_buf_puts(out, "]}");
    }
    if (rc >= 0) rc = beat_buf_puts(out, "]}");
    if (rc < 0) {
        out->len = start;
        if (out->data) out->data[start] = '\0';
    }
    return rc;
}

/* s into an id field (BEAT_ID_MAX + 1 bytes), cut at BEAT_ID_MAX bytes as
 * snprintf would, without printf (every bid). Request ids are validated to
 * BEAT_ID_MAX already; the cut only guards the field. */
static void copy_id(char dst[BEAT_ID_MAX + 1], const char *s) {
    size_t n = strnlen(s, BEAT_ID_MAX);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

void inf_bidder_event(const inf_bidder *b, const inf_world *w, const inf_req *r,
                      const inf_result *res, int k, beat_event *ev) {
    const inf_bid *bid = &res->bids[k];
    const beat_campaign *c = w->camps[bid->camp].c;
    memset(ev, 0, offsetof(beat_event, feat));
    ev->type = BEAT_EV_BID;
    ev->ts_ms = res->now_ms;
    copy_id(ev->auction, r->id);
    copy_id(ev->imp, r->imp[bid->imp].id);
    copy_id(ev->campaign, c->id);
    copy_id(ev->crid, c->creatives[bid->creative].crid);
    copy_id(ev->node, b->cfg.node ? b->cfg.node : "");
    ev->price_cpm_micros = bid->price_cpm_micros;
    ev->pctr = bid->pctr;
    ev->model_version = w->model->version;
    ev->state_version = w->snap->st.version;
    ev->n_feat = bid->n_feat;
    memcpy(ev->feat, bid->feat, bid->n_feat * sizeof ev->feat[0]);
}
