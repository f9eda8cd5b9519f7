/* The simulated exchange's auction: read the bid response, check it against
 * the request (deal, blocks, format), run a first- or second-price auction
 * (by `at`) against the hidden market price and the floor, and call the
 * win/bill/loss notices and clicks like a real exchange (macros substituted,
 * price with 6 decimals, bills and clicks later, some calls repeated).
 * Called from the event loop only; it never waits for anything. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "beat_clock.h"
#include "beat_log.h"
#include "exsim.h"
#include "explain.h"

/* OpenRTB 2.5 loss reason codes (list 5.25). */
#define LOSS_BELOW_FLOOR 100
#define LOSS_BELOW_DEAL_FLOOR 101
#define LOSS_OUTBID 102
#define LOSS_SIZE 203
#define LOSS_FORMAT 204
#define LOSS_ADVERTISER 205
#define LOSS_CATEGORY 209
#define LOSS_NOT_IN_DEAL 213
#define BODY_MAX (64 * 1024)
#define ADM_MAX (32 * 1024) /* VAST and native markup, macros substituted */

enum {
    SALT_CLICK = 0xc11c,
    SALT_DELAY = 0xde1a,
    SALT_DUP = 0xd0b1,
    SALT_TEST = 0x7e57,
    SALT_REPLAY = 0x4e91,
    SALT_FORGE = 0xf042,
    SALT_CONV = 0xc0de
};

#define EJECT_US 1000000 /* first ejection of a failing node; doubles to 8× */

typedef struct bid_view {
    const char *id, *impid, *nurl, *burl, *lurl, *adm, *cid, *crid, *adid, *seat, *dealid;
    const cJSON *adomain, *cat;
    int mtype, w, h;
    int64_t price_micros;
    int reject; /* 0, or the loss code the exchange filters it with */
} bid_view;

static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jint(const cJSON *o, const char *k, int def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : def;
}

static bool arr_has(const cJSON *arr, const char *s) {
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) if (cJSON_IsString(x) && strcmp(x->valuestring, s) == 0) return true;
    return false;
}

/* Substitutes tmpl's macros into out; false when it does not fit. */
static bool subst(const char *tmpl, const exs_req *r, const bid_view *b, int64_t price_micros,
                  int loss, char *out, size_t cap) {
    char price[32] = "", lossbuf[16];
    if (price_micros >= 0) /* < 0: an exchange that sends no price */
        snprintf(price, sizeof price, "%" PRId64 ".%06" PRId64, price_micros / 1000000,
                 price_micros % 1000000);
    snprintf(lossbuf, sizeof lossbuf, "%d", loss);
    const char *names[] = {"AUCTION_ID",    "AUCTION_BID_ID", "AUCTION_IMP_ID",   "AUCTION_SEAT_ID",
                           "AUCTION_AD_ID", "AUCTION_PRICE",  "AUCTION_CURRENCY", "AUCTION_LOSS"};
    const char *vals[] = {r->id,
                          b->id ? b->id : "",
                          "1",
                          b->seat ? b->seat : "",
                          b->adid ? b->adid : "",
                          price,
                          "USD",
                          lossbuf};
    return exs_macro_subst(tmpl, names, vals, 8, out, cap) == 0;
}

/* Calls a notice URL template (absent → nothing) now or after delay_ms;
 * how: enum exs_call_how. */
static void notice(exs_sim *sim, int kind, const char *tmpl, const exs_req *r, const bid_view *b,
                   int64_t price, int loss, int64_t delay_ms, int how) {
    if (!tmpl || !*tmpl) return;
    char url[EXS_URL_MAX];
    if (!subst(tmpl, r, b, price, loss, url, sizeof url)) {
        if (how == EXS_REPLAY) sim->stats.replay_failed++;
        else sim->stats.notice_dropped[kind]++;
        return;
    }
    exs_notice(sim, kind, url, delay_ms, b->cid, r->id, price, how, r->test);
}

/* A forgery (--forge-share): the loss URL as the exchange calls it, re-typed
 * to /bill, called once at once. A receiver must refuse it (403): the
 * signature covers the notice type. Never charged. */
static void forge_bill(exs_sim *sim, const char *lurl, const exs_req *r, const bid_view *b,
                       int64_t price, int loss) {
    char url[EXS_URL_MAX];
    char *at;
    if (!subst(lurl, r, b, price, loss, url, sizeof url) || !(at = strstr(url, "/loss?"))) {
        sim->stats.forged_failed++; /* not a URL we know how to re-type */
        sim->stats.forged_sent++;
        return;
    }
    memcpy(at, "/bill", 5);
    exs_notice(sim, EXS_N_BILL, url, 0, b->cid, r->id, price, EXS_FORGED, r->test);
}

/* The exchange's checks of one bid against the request: deal rules,
 * blocked advertisers and categories, format and size. */
static int check_bid(const exs_world *w, const exs_req *r, const bid_view *b) {
    if (r->private_auction &&
        (!b->dealid || r->deal < 0 || strcmp(b->dealid, exs_deal_id(r->deal)) != 0))
        return LOSS_NOT_IN_DEAL;
    if (r->badv >= 0 && arr_has(b->adomain, w->badv[r->badv])) return LOSS_ADVERTISER;
    if (arr_has(b->cat, "IAB25") || arr_has(b->cat, "IAB26") ||
        (r->bcat_extra >= 0 && arr_has(b->cat, exs_cat_name(r->bcat_extra))))
        return LOSS_CATEGORY;
    static const int MTYPE[3] = {1, 2, 4};
    if (b->mtype > 0 && b->mtype != MTYPE[r->fmt]) return LOSS_FORMAT;
    if (r->fmt == EXS_BANNER && b->w > 0 && b->h > 0) {
        int W, H;
        exs_size_of(r->size, &W, &H);
        bool ok = b->w == W && b->h == H;
        if (!ok && r->multisize) {
            int aw, ah;
            exs_size_of(exs_alt_size(r->size), &aw, &ah);
            ok = b->w == aw && b->h == ah;
        }
        if (!ok) return LOSS_SIZE;
    }
    return 0;
}

static int64_t delay_ms(const exs_world *w, const exs_req *r, uint64_t salt, int64_t lo,
                        int64_t hi) {
    return lo + (int64_t)(exs_unit(w, r->seq, salt) * (double)(hi - lo));
}

static void won(exs_sim *sim, const exs_req *r, const bid_view *b, int64_t clearing, int64_t t_ms) {
    exs_stats *s = &sim->stats;
    const exs_world *w = &sim->world;
    double ctr = exs_true_ctr(w, r, b->cid ? b->cid : "");
    /* A test auction runs and calls its notices like any other, but buys
     * nothing (exsim.h, exs_stats): only test_wins counts it. */
    exs_campaign_stats *c = r->test ? NULL : exs_stats_campaign(s, b->cid ? b->cid : "?");
    if (r->test) {
        s->test_wins++;
    } else {
        s->wins++;
        s->imps++;
        s->by_fmt_wins[r->fmt]++;
        if (r->at == 1) s->wins_first_price++;
    }
    if (c) {
        c->wins++;
        c->imps++;
        c->exp_clicks += ctr;
        /* Bought outside its open hours? Closed both when asked and when
         * answered, so an hour turning during the call is not held
         * against the engine. */
        int ci = sim->camps.n ? exs_camps_find(&sim->camps, b->cid ? b->cid : "") : -1;
        if (ci >= 0 && !exs_camp_open(&sim->camps, ci, t_ms) &&
            !exs_camp_open(&sim->camps, ci, beat_now_ms())) {
            c->off_schedule_imps++;
            s->off_schedule_imps++;
        }
        if (ci >= 0 && sim->desk)
            exs_desk_win(sim->desk, ci, r, beat_engine_of_wall_ms(t_ms), clearing);
    }
    if (c && r->at == 1) { /* what shading saved: value bid − price paid */
        int64_t value =
            sim->explain_told && sim->explain_value > 0 ? sim->explain_value : b->price_micros;
        c->fp_wins++;
        c->fp_paid_cpm_micros += clearing;
        c->fp_value_cpm_micros += value;
        s->fp_paid_cpm_micros += clearing;
        s->fp_value_cpm_micros += value;
    }
    /* nurl at once; the bill when the ad renders; sometimes either twice:
     * soon (an exchange's repeat), or --replay-delay-ms later instead (a
     * replay: --replay-share of real auctions' win and bill notices). */
    bool replay_win = !r->test && exs_unit(w, r->seq, SALT_REPLAY) < sim->replay_share;
    bool replay_bill = !r->test && exs_unit(w, r->seq, SALT_REPLAY + 1) < sim->replay_share;
    notice(sim, EXS_N_WIN, b->nurl, r, b, clearing, 0, 0, EXS_FIRST);
    if (replay_win)
        notice(sim, EXS_N_WIN, b->nurl, r, b, clearing, 0, sim->replay_delay_ms, EXS_REPLAY);
    else if (exs_unit(w, r->seq, SALT_DUP) < sim->dup_prob)
        notice(sim, EXS_N_WIN, b->nurl, r, b, clearing, 0, delay_ms(w, r, SALT_DELAY, 200, 800),
               EXS_REPEAT);
    int64_t render = delay_ms(w, r, SALT_DELAY + 1, 50, 500);
    if (b->burl && *b->burl) {
        notice(sim, EXS_N_BILL, b->burl, r, b, clearing, 0, render, EXS_FIRST);
        if (replay_bill)
            notice(sim, EXS_N_BILL, b->burl, r, b, clearing, 0, render + sim->replay_delay_ms,
                   EXS_REPLAY);
        else if (exs_unit(w, r->seq, SALT_DUP + 1) < sim->dup_prob)
            notice(sim, EXS_N_BILL, b->burl, r, b, clearing, 0,
                   render + delay_ms(w, r, SALT_DELAY + 2, 1000, 3000), EXS_REPEAT);
    } else if (!r->test) { /* no billing URL: the win is what is charged */
        s->spend_cpm_micros += clearing;
        if (c) c->spend_cpm_micros += clearing;
    }
    bool clicked = exs_unit(w, r->seq, SALT_CLICK) < ctr;
    if (clicked && b->adm) {
        char adm[ADM_MAX], href[EXS_URL_MAX];
        if (!subst(b->adm, r, b, clearing, 0, adm, sizeof adm) ||
            exs_adm_href(adm, href, sizeof href) < 0) {
            s->click_no_href++;
        } else {
            /* Clicks come a few seconds after the render, skewed short. */
            double u = exs_unit(w, r->seq, SALT_DELAY + 3);
            /* Some users convert (exs_true_cvr, hidden from the engine):
             * their advertiser reports it seconds later with the token
             * the click's redirect carried; the value is theirs, $5–$100. */
            bool conv = exs_unit(w, r->seq, SALT_CONV) < exs_true_cvr(w, r, b->cid ? b->cid : "");
            int64_t conv_delay = conv ? delay_ms(w, r, SALT_CONV + 1, 500, 8000) : 0;
            int64_t value = 5000000 + (int64_t)(exs_unit(w, r->seq, SALT_CONV + 2) * 95e6);
            exs_notice_click(sim, href, render + 300 + (int64_t)(u * u * 3500.0), b->cid, r->id,
                             clearing, r->test, conv_delay, value / 10000 * 10000);
        }
    }
    if (sim->oracle) {
        int ci = exs_camps_find(&sim->camps, b->cid ? b->cid : "");
        exs_oracle_add(sim->oracle, w, r, t_ms, exs_market_cpm_micros(w, r, sim->price_wave), ci,
                       clicked, ctr, sim->explain_told ? sim->explain_pctr : NULL);
    }
}

static void handle_bids(exs_sim *sim, const exs_req *r, int64_t t_ms, const char *body,
                        size_t len) {
    exs_stats *s = &sim->stats;
    const exs_world *w = &sim->world;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const char *id = root ? jstr(root, "id") : NULL;
    const char *cur = root ? jstr(root, "cur") : NULL;
    const cJSON *seatbids = root ? cJSON_GetObjectItemCaseSensitive(root, "seatbid") : NULL;
    if (!id || strcmp(id, r->id) != 0 || (cur && strcmp(cur, "USD") != 0) ||
        !cJSON_IsArray(seatbids)) {
        s->bad_responses++;
        beat_log_rl(5000, BEAT_WARN, "bad_response", "len=%zu", len);
        cJSON_Delete(root);
        return;
    }
    enum { MAXB = 16 };
    bid_view bids[MAXB];
    int nb = 0;
    const cJSON *sb, *bid;
    cJSON_ArrayForEach(sb, seatbids) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(sb, "bid");
        cJSON_ArrayForEach(bid, arr) {
            const cJSON *pr = cJSON_GetObjectItemCaseSensitive(bid, "price");
            const char *impid = jstr(bid, "impid");
            if (!cJSON_IsNumber(pr) || !isfinite(pr->valuedouble) || pr->valuedouble <= 0 ||
                pr->valuedouble > 1e6 || !impid || strcmp(impid, "1") != 0 || nb >= MAXB) {
                s->bad_responses++;
                continue;
            }
            bid_view *b = &bids[nb++];
            *b = (bid_view){jstr(bid, "id"),
                            impid,
                            jstr(bid, "nurl"),
                            jstr(bid, "burl"),
                            jstr(bid, "lurl"),
                            jstr(bid, "adm"),
                            jstr(bid, "cid"),
                            jstr(bid, "crid"),
                            jstr(bid, "adid"),
                            jstr(sb, "seat"),
                            jstr(bid, "dealid"),
                            cJSON_GetObjectItemCaseSensitive(bid, "adomain"),
                            cJSON_GetObjectItemCaseSensitive(bid, "cat"),
                            jint(bid, "mtype", 0),
                            jint(bid, "w", 0),
                            jint(bid, "h", 0),
                            llround(pr->valuedouble * 1e6),
                            0};
            b->reject = check_bid(w, r, b);
            s->bids++;
            s->by_fmt_bids[r->fmt]++;
            if (b->dealid) s->deal_bids++;
            if (b->reject) s->blocked_bids++;
            exs_campaign_stats *c = exs_stats_campaign(s, b->cid ? b->cid : "?");
            if (c) c->bids++;
            if (c && !r->test) c->bid_cpm_micros += b->price_micros;
        }
    }
    int best = -1;
    for (int i = 0; i < nb; i++)
        if (!bids[i].reject && (best < 0 || bids[i].price_micros > bids[best].price_micros))
            best = i;
    int64_t market = exs_market_cpm_micros(w, r, sim->price_wave);
    bool any_won = false;
    for (int i = 0; i < nb; i++) {
        const bid_view *b = &bids[i];
        bool in_deal = b->dealid && r->deal >= 0 && strcmp(b->dealid, exs_deal_id(r->deal)) == 0;
        int64_t floor = in_deal ? r->deal_floor_usd_micros : r->floor_usd_micros;
        int64_t thresh = market > floor ? market : floor;
        if (i == best && b->price_micros >= floor && b->price_micros > market) {
            /* Second price: the price to beat plus one cent, never above the
             * bid itself; first price: the bid. */
            int64_t clearing = r->at == 1 ? b->price_micros : thresh + 10000;
            if (clearing > b->price_micros) clearing = b->price_micros;
            won(sim, r, b, clearing, t_ms);
            any_won = true;
        } else {
            int code = b->reject ? b->reject
                       : b->price_micros < floor
                           ? (in_deal ? LOSS_BELOW_DEAL_FLOOR : LOSS_BELOW_FLOOR)
                           : LOSS_OUTBID;
            if (code == LOSS_BELOW_FLOOR || code == LOSS_BELOW_DEAL_FLOOR) s->below_floor++;
            else if (code == LOSS_OUTBID) s->outbid++;
            notice(sim, EXS_N_LOSS, b->lurl, r, b, sim->loss_price ? thresh : -1, code, 0,
                   EXS_FIRST);
            if (b->lurl && *b->lurl && !r->test &&
                exs_unit(w, r->seq, SALT_FORGE + (uint64_t)i) < sim->forge_share)
                forge_bill(sim, b->lurl, r, b, thresh, code);
        }
    }
    if (!any_won && sim->oracle)
        exs_oracle_add(sim->oracle, w, r, t_ms, market, -1, false, 0,
                       sim->explain_told ? sim->explain_pctr : NULL);
    cJSON_Delete(root);
}

static int find_camp(void *arg, const char *id, size_t n) {
    char buf[72];
    if (n >= sizeof buf) return -1;
    memcpy(buf, id, n);
    buf[n] = '\0';
    return exs_camps_find(arg, buf);
}

/* The answer's X-Beat-Explain (inference --explain) into sim->explain_*. */
static void read_explain(exs_sim *sim) {
    sim->explain_told = false;
    const char *h = exs_answer_header("X-Beat-Explain");
    if (!h) return;
    float none[1];
    float *pctr = sim->explain_pctr ? sim->explain_pctr : none;
    int nc = sim->explain_pctr ? sim->camps.n : 0;
    int rc = exs_explain_parse(h, strlen(h), find_camp, &sim->camps, pctr, nc, &sim->explain_value);
    if (rc < 0) {
        sim->stats.explain_bad++;
        beat_log_rl(10000, BEAT_WARN, "explain_malformed", "len=%zu", strlen(h));
        return;
    }
    sim->stats.explain_ok++;
    sim->explain_told = true;
}

static void ctx_free(exs_bid_ctx *ctx) {
    free(ctx->body);
    free(ctx);
}

void exs_auction_answer(exs_bid_ctx *ctx, int status, const char *body, size_t len) {
    exs_sim *sim = ctx->sim;
    exs_stats *s = &sim->stats;
    sim->bids_in_flight--;
    int64_t now = beat_mono_us(), lat_us = now - ctx->t0_us;
    /* Our own stalls during this request (including one that is just
     * ending, before the tick has seen it) are not the bidder's latency. */
    int64_t pending = now - sim->last_tick_us;
    int64_t stalled = sim->stall_us + (pending > EXS_STALL_GAP_US ? pending : 0) - ctx->stall0_us;
    if (stalled > 0) {
        lat_us = stalled < lat_us ? lat_us - stalled : 0;
        s->stall_adjusted++;
    }
    bool answered = false;
    if (status == -ECANCELED) {
        s->timeouts++; /* still unanswered when the run ended: long past tmax */
    } else if (status < 0) {
        if (status == -ETIMEDOUT) s->timeouts++;
        else {
            s->errors++;
            beat_log_rl(5000, BEAT_WARN, "bid_request_failed", "err=%d", status);
        }
    } else {
        exs_stats_latency(s, lat_us);
        if (lat_us <= (int64_t)sim->tmax_ms * 1000 && (status == 200 || status == 204))
            read_explain(sim);
        if (lat_us > (int64_t)sim->tmax_ms * 1000) s->timeouts++; /* late = lost */
        else if (status == 200) {
            s->ans_200++;
            handle_bids(sim, &ctx->req, ctx->t_ms, body, len);
            answered = true;
        } else if (status == 204) s->ans_204++;
        else if (status == 400) s->ans_400++;
        else {
            s->ans_other++;
            if (status == 403) /* the engine does not know us as an exchange */
                beat_log_rl(10000, BEAT_WARN, "bid_request_forbidden",
                            "msg=\"403: not a configured exchange; check --exchange and "
                            "--exchange-key (docs/exchanges.md)\"");
        }
    }
    /* Auctions the engine did not take part in still count for the oracle. */
    if (!answered && sim->oracle)
        exs_oracle_add(sim->oracle, &sim->world, &ctx->req, ctx->t_ms,
                       exs_market_cpm_micros(&sim->world, &ctx->req, sim->price_wave), -1, false, 0,
                       sim->explain_told ? sim->explain_pctr : NULL);
    sim->explain_told = false;
    ctx_free(ctx);
}

void exs_auction_fire(exs_sim *sim) {
    uint64_t seq = sim->next_seq++;
    exs_bid_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        sim->stats.skipped++;
        return;
    }
    ctx->sim = sim;
    ctx->t0_us = beat_mono_us();
    ctx->stall0_us = sim->stall_us;
    ctx->t_ms = beat_now_ms();
    exs_req_gen(&sim->world, seq, &ctx->req);
    /* Which requests are test traffic depends on (seed, seq) only, like
     * every other choice; the request itself stays what the seed makes. */
    ctx->req.test = sim->test_share > 0 && exs_unit(&sim->world, seq, SALT_TEST) < sim->test_share;
    beat_buf b;
    beat_buf_init(&b, BODY_MAX);
    int rc = exs_req_json(&sim->world, &ctx->req, sim->tmax_ms, &b);
    if (rc == 0) {
        ctx->body = b.data; /* taken from the buffer */
        ctx->len = b.len;
        b.data = NULL;
        b.cap = 0;
        rc = exs_lb_send(sim, ctx);
    }
    beat_buf_fini(&b);
    sim->stats.by_fmt_req[ctx->req.fmt]++;
    if (rc == 0) {
        sim->stats.requests++;
        if (ctx->req.test) sim->stats.test_requests++;
        sim->bids_in_flight++;
    } else {
        sim->stats.skipped++;
        if (sim->oracle)
            exs_oracle_add(sim->oracle, &sim->world, &ctx->req, ctx->t_ms,
                           exs_market_cpm_micros(&sim->world, &ctx->req, sim->price_wave), -1,
                           false, 0, NULL);
        ctx_free(ctx);
    }
}
