/* The simulated exchange's auction: send a request, read the bid response,
 * run a second-price auction against a hidden market price and the floor,
 * and call the win/bill/loss notices and clicks like a real exchange (macros
 * substituted, price with 6 decimals). Called from the event loop only; it
 * must never wait for anything, so every send may be refused and counted. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "beat_log.h"
#include "exsim.h"

#define LOSS_BELOW_FLOOR 100
#define LOSS_OUTBID 102
#define BODY_MAX (64 * 1024)

#define EJECT_US 1000000 /* first ejection of a failing node; doubles to 8× */

typedef struct bid_ctx {
    exs_sim *sim;
    int target;
    bool retried;
    int64_t t0_us; /* first attempt: latency and tmax count from here */
    exs_req req;
} bid_ctx;

static void on_bid(void *arg, int status, const char *body, size_t len, int64_t lat_us);

/* Sends ctx's request to the first node in rotation other than `skip`
 * (-1: none skipped); ejected nodes only when pass 1 allows. */
static int send_to_some_node(exs_sim *sim, bid_ctx *ctx, uint64_t seq, int skip,
                             bool allow_ejected) {
    beat_buf body;
    beat_buf_init(&body, BODY_MAX);
    if (exs_req_json(&sim->world, &ctx->req, sim->tmax_ms, &body) < 0) {
        beat_buf_fini(&body);
        return -EINVAL;
    }
    int rc = -EBUSY;
    int64_t now = beat_mono_us();
    /* Two passes: nodes in rotation first; ejected ones only when no node
     * in rotation can take the request (all down beats none tried). */
    for (int pass = 0; pass < (allow_ejected ? 2 : 1) && rc == -EBUSY; pass++)
        for (int k = 0; k < sim->n_targets && rc == -EBUSY; k++) {
            int t = (int)((seq + (uint64_t)k) % (uint64_t)sim->n_targets);
            bool ejected = sim->down_until_us &&
                           (sim->down_until_us[t] > now || sim->probing[t]);
            if (t == skip || ejected != (pass == 1)) continue;
            ctx->target = t;
            if (sim->down_until_us && sim->fail_streak[t] > 0) sim->probing[t] = true;
            rc = exs_pool_request(sim->targets[t], true, sim->paths[t], body.data,
                                  body.len, on_bid, ctx);
        }
    beat_buf_fini(&body);
    return rc;
}

typedef struct notice_ctx {
    exs_sim *sim;
    int kind;
} notice_ctx;
static notice_ctx g_nctx[EXS_N_KINDS];

void exs_auction_init(exs_sim *sim) {
    for (int k = 0; k < EXS_N_KINDS; k++) g_nctx[k] = (notice_ctx){sim, k};
}

int exs_macro_subst(const char *tmpl, const char *const *names,
                    const char *const *vals, int n, char *out, size_t cap) {
    size_t k = 0;
    for (const char *p = tmpl; *p;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            for (int i = 0; end && i < n && !rep; i++)
                if (strlen(names[i]) == (size_t)(end - p - 2) &&
                    memcmp(names[i], p + 2, (size_t)(end - p - 2)) == 0) {
                    rep = vals[i];
                    skip = (size_t)(end - p + 1);
                }
        }
        if (rep) { /* unknown macros stay literally, like real exchanges */
            size_t rl = strlen(rep);
            if (k + rl >= cap) return -EMSGSIZE;
            memcpy(out + k, rep, rl);
            k += rl;
            p += skip;
        } else {
            if (k + 1 >= cap) return -EMSGSIZE;
            out[k++] = *p++;
        }
    }
    out[k] = '\0';
    return 0;
}

int exs_adm_href(const char *adm, char *out, size_t cap) {
    const char *h = strstr(adm, "href=");
    if (!h) return -ENOENT;
    h += 5;
    char q = *h;
    if (q != '"' && q != '\'') return -ENOENT;
    h++;
    const char *end = strchr(h, q);
    if (!end) return -ENOENT;
    size_t k = 0;
    static const struct { const char *ent; char c; } ENT[] = {
        {"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&lt;", '<'}, {"&gt;", '>'}};
    for (const char *p = h; p < end;) {
        char c = *p;
        size_t adv = 1;
        for (size_t i = 0; c == '&' && i < sizeof ENT / sizeof ENT[0]; i++) {
            size_t el = strlen(ENT[i].ent);
            if ((size_t)(end - p) >= el && memcmp(p, ENT[i].ent, el) == 0) {
                c = ENT[i].c;
                adv = el;
                break;
            }
        }
        if (k + 1 >= cap) return -EMSGSIZE;
        out[k++] = c;
        p += adv;
    }
    out[k] = '\0';
    return k ? 0 : -ENOENT;
}

static void on_notice(void *arg, int status, const char *body, size_t len,
                      int64_t lat_us) {
    (void)body, (void)len, (void)lat_us;
    notice_ctx *c = arg;
    exs_stats *s = &c->sim->stats;
    bool ok = c->kind == EXS_N_CLICK ? (status >= 300 && status < 400)
                                     : (status >= 200 && status < 300);
    if (status == -ECANCELED) s->notice_dropped[c->kind]++;
    else if (ok) s->notice_ok[c->kind]++;
    else {
        s->notice_failed[c->kind]++;
        beat_log_rl(5000, BEAT_WARN, "notice_failed", "kind=%d status=%d", c->kind, status);
    }
}

/* Fires one notice GET; counts it as sent, or as dropped when refused. */
static bool notify(exs_sim *sim, int kind, const char *url) {
    exs_stats *s = &sim->stats;
    int rc = exs_notifier_get(sim->notifier, url, on_notice, &g_nctx[kind]);
    if (rc == 0) {
        s->notice_sent[kind]++;
        return true;
    }
    s->notice_dropped[kind]++;
    beat_log_rl(5000, BEAT_WARN, "notice_dropped", "kind=%d err=%d", kind, rc);
    return false;
}

typedef struct bid_view {
    const char *id, *impid, *nurl, *burl, *lurl, *adm, *cid, *crid, *adid, *seat;
    int64_t price_micros;
} bid_view;

static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Substitutes and sends url_tmpl; silently skips absent URLs. */
static void send_notice(exs_sim *sim, int kind, const char *tmpl, const exs_req *r,
                        const bid_view *b, int64_t price_micros, int loss) {
    if (!tmpl || !*tmpl) return;
    char price[32], lossbuf[16], url[EXS_URL_MAX];
    snprintf(price, sizeof price, "%" PRId64 ".%06" PRId64, price_micros / 1000000,
             price_micros % 1000000);
    snprintf(lossbuf, sizeof lossbuf, "%d", loss);
    const char *names[] = {"AUCTION_ID", "AUCTION_BID_ID", "AUCTION_IMP_ID",
                           "AUCTION_SEAT_ID", "AUCTION_AD_ID", "AUCTION_PRICE",
                           "AUCTION_CURRENCY", "AUCTION_LOSS"};
    const char *vals[] = {r->id, b->id ? b->id : "", "1", b->seat ? b->seat : "",
                          b->adid ? b->adid : "", price, "USD", lossbuf};
    if (exs_macro_subst(tmpl, names, vals, 8, url, sizeof url) < 0) {
        sim->stats.notice_dropped[kind]++;
        return;
    }
    if (kind == EXS_N_CLICK) {
        char href[EXS_URL_MAX];
        if (exs_adm_href(url, href, sizeof href) < 0) {
            sim->stats.click_no_href++;
            return;
        }
        if (notify(sim, kind, href)) {
            sim->stats.clicks++;
            exs_campaign_stats *c = exs_stats_campaign(&sim->stats, b->cid ? b->cid : "?");
            if (c) c->clicks++;
        }
        return;
    }
    notify(sim, kind, url);
}

static void handle_bids(exs_sim *sim, const exs_req *r, const char *body, size_t len) {
    exs_stats *s = &sim->stats;
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
            *b = (bid_view){jstr(bid, "id"), impid, jstr(bid, "nurl"), jstr(bid, "burl"),
                            jstr(bid, "lurl"), jstr(bid, "adm"), jstr(bid, "cid"),
                            jstr(bid, "crid"), jstr(bid, "adid"), jstr(sb, "seat"),
                            llround(pr->valuedouble * 1e6)};
            s->bids++;
            exs_campaign_stats *c = exs_stats_campaign(s, b->cid ? b->cid : "?");
            if (c) c->bids++;
        }
    }
    int best = -1;
    for (int i = 0; i < nb; i++)
        if (best < 0 || bids[i].price_micros > bids[best].price_micros) best = i;
    int64_t market = exs_market_cpm_micros(&sim->world, r);
    int64_t floor = r->floor_cpm_micros;
    int64_t thresh = market > floor ? market : floor;
    for (int i = 0; i < nb; i++) {
        const bid_view *b = &bids[i];
        if (i == best && b->price_micros >= floor && b->price_micros > market) {
            /* Second price plus one cent, never above the bid itself. */
            int64_t clearing = thresh + 10000;
            if (clearing > b->price_micros) clearing = b->price_micros;
            s->wins++;
            s->spend_cpm_micros += clearing;
            exs_campaign_stats *c = exs_stats_campaign(s, b->cid ? b->cid : "?");
            if (c) {
                c->wins++;
                c->spend_cpm_micros += clearing;
            }
            send_notice(sim, EXS_N_WIN, b->nurl, r, b, clearing, 0);
            send_notice(sim, EXS_N_BILL, b->burl, r, b, clearing, 0);
            double ctr = exs_true_ctr(&sim->world, r, b->cid ? b->cid : "");
            if (b->adm && exs_unit(&sim->world, r->seq, 0xc11c) < ctr)
                send_notice(sim, EXS_N_CLICK, b->adm, r, b, clearing, 0);
        } else {
            int code = b->price_micros < floor ? LOSS_BELOW_FLOOR : LOSS_OUTBID;
            if (code == LOSS_BELOW_FLOOR) s->below_floor++;
            else s->outbid++;
            send_notice(sim, EXS_N_LOSS, b->lurl, r, b, market, code);
        }
    }
    cJSON_Delete(root);
}

static void on_bid(void *arg, int status, const char *body, size_t len, int64_t lat_us) {
    bid_ctx *ctx = arg;
    exs_sim *sim = ctx->sim;
    exs_stats *s = &sim->stats;
    sim->bids_in_flight--;
    int64_t now = beat_mono_us();
    lat_us = now - ctx->t0_us;
    if (sim->down_until_us) sim->probing[ctx->target] = false;
    if (status != -ECANCELED && sim->down_until_us) {
        int *streak = &sim->fail_streak[ctx->target];
        if (status < 0) { /* transport error or --http-timeout-ms, not mere slowness */
            sim->down_until_us[ctx->target] = now + ((int64_t)EJECT_US << *streak);
            if (*streak < 3) (*streak)++;
        } else {
            *streak = 0;
        }
    }
    /* A connection failure is retried once on another node while the
     * deadline allows, as an exchange's load balancer does (nginx's
     * proxy_next_upstream); a slow answer is not. */
    if (status < 0 && status != -ECANCELED && status != -ETIMEDOUT && !ctx->retried &&
        lat_us < (int64_t)sim->tmax_ms * 1000 / 2) {
        ctx->retried = true;
        if (send_to_some_node(sim, ctx, sim->next_seq, ctx->target, false) == 0) {
            sim->bids_in_flight++;
            s->retries++;
            return;
        }
    }
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
        if (lat_us > (int64_t)sim->tmax_ms * 1000) s->timeouts++; /* late = lost */
        else if (status == 200) {
            s->ans_200++;
            handle_bids(sim, &ctx->req, body, len);
        } else if (status == 204) s->ans_204++;
        else if (status == 400) s->ans_400++;
        else s->ans_other++;
    }
    free(ctx);
}

void exs_auction_fire(exs_sim *sim) {
    uint64_t seq = sim->next_seq++;
    bid_ctx *ctx = malloc(sizeof *ctx);
    if (!ctx) {
        sim->stats.skipped++;
        return;
    }
    ctx->sim = sim;
    ctx->retried = false;
    ctx->t0_us = beat_mono_us();
    exs_req_gen(&sim->world, seq, &ctx->req);
    int rc = send_to_some_node(sim, ctx, seq, -1, true);
    if (rc == 0) {
        sim->stats.requests++;
        sim->bids_in_flight++;
    } else {
        sim->stats.skipped++;
        free(ctx);
    }
}
