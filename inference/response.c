/* The OpenRTB bid response of an auction (bidder.c) and its bid-log
 * events: one seatbid per campaign seat, mtype and adm by creative format
 * (banner markup, VAST, a Native 1.2 document built with the request's
 * asset ids), nurl/burl/lurl and the click URL signed once per bid. Runs on
 * the worker threads for every bid: no allocation beyond the caller's
 * buffers. What a creative's bids share (ids, adomain, cat, size, mtype,
 * bundle, attr, the escaped adm around its click macros) is written once
 * per world into its template (rtpl.h), so a bid copies it and writes only
 * the id, impid, price, deal, click and notice URLs; that path is
 * printf-free (Native asset fields and templates still use printf). */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_fx.h"
#include "bidder.h"
#include "bidder_int.h"
#include "creative.h"
#include "notice.h"
#include "rtpl.h"

/* Bytes that need escaping in a JSON string (and, for a URL placed inside
 * the adm's href="…", in an HTML attribute too). Control bytes are tested
 * apart; bytes ≥ 0x80 (UTF-8) pass through. */
static const bool json_special[128] = {['"'] = true, ['\\'] = true};
static const bool html_special[128] = {
    ['"'] = true, ['\\'] = true, ['&'] = true, ['<'] = true, ['>'] = true, ['\''] = true};

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
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                u[6] = 0;
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
            (rc = esc(o, v->v[i], strlen(v->v[i]), false)) < 0 || (rc = beat_buf_puts(o, "\"")) < 0)
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

/* A request not filled by inf_req_parse (tests) bids in USD. */
static const char *bid_cur(const inf_req *r) { return r->bid_cur[0] ? r->bid_cur : "USD"; }

/* The signed notice fields of a bid; type and landing are set per URL.
 * x is the exchange that sent the request ("" in --open mode). Test
 * traffic is signed as such (f=1): the receiver answers its notices but
 * produces nothing for them (docs/contracts.md "Notice URLs"). */
static beat_notice_fields notice_fields(const inf_req *r, const inf_bid *bid,
                                        const beat_campaign *c, const beat_creative *cr,
                                        int64_t ts_ms) {
    return (beat_notice_fields){.exchange = r->exch ? r->exch->id : "",
                                .flags = r->test ? BEAT_NOTICE_F_TEST : 0,
                                .auction = r->id,
                                .imp = r->imp[bid->imp].id,
                                .campaign = c->id,
                                .crid = cr->crid,
                                .bid_cpm_micros = bid->price_cpm_micros,
                                .bid_cur = bid_cur(r),
                                .ts_ms = ts_ms};
}

/* nurl, burl and lurl — those the exchange uses, with its macro names —
 * each signed for its own type with the pre-keyed HMAC (notice.c). */
static int put_notices(inf_bidder *b, beat_buf *o, beat_buf *scratch, const inf_req *r,
                       const inf_bid *bid, const beat_campaign *c, const beat_creative *cr,
                       int64_t ts_ms) {
    static const struct {
        beat_event_type t;
        const char *key;
    } urls[] = {{BEAT_EV_WIN, ",\"nurl\":\""},
                {BEAT_EV_BILL, ",\"burl\":\""},
                {BEAT_EV_LOSS, ",\"lurl\":\""}};
    beat_notice_fields f = notice_fields(r, bid, c, cr, ts_ms);
    const beat_exchange *x = r->exch;
    const inf_notice_macros mac = {x ? x->price_macro : NULL, x ? x->currency_macro : NULL,
                                   x ? x->loss_macro : NULL};
    const bool use[3] = {!x || x->nurl, !x || x->burl, !x || x->lurl};
    char sig[BEAT_SIG_HEX + 1];
    int rc;
    for (int k = 0; k < 3; k++) {
        if (!use[k]) continue;
        f.type = urls[k].t;
        if ((rc = inf_notice_sign(&b->signer, &f, sig)) < 0 ||
            (rc = beat_buf_puts(o, urls[k].key)) < 0)
            return rc;
        if (b->url_plain) {
            /* nothing in it needs a JSON escape: write it in place */
            rc = inf_notice_url_m(o, b->cfg.receiver_url, &f, sig, &mac);
        } else {
            beat_buf_reset(scratch);
            rc = inf_notice_url_m(scratch, b->cfg.receiver_url, &f, sig, &mac);
            if (rc >= 0) rc = esc(o, scratch->data, scratch->len, false);
        }
        if (rc < 0 || (rc = beat_buf_puts(o, "\"")) < 0) return rc;
    }
    return 0;
}

/* The signed click URL into scratch (empty without a landing page: nothing
 * to sign, the macro becomes ""). */
static int click_url(inf_bidder *b, beat_buf *scratch, const inf_req *r, const inf_bid *bid,
                     const beat_campaign *c, const beat_creative *cr, int64_t ts_ms) {
    char sig[BEAT_SIG_HEX + 1];
    int rc;
    beat_buf_reset(scratch);
    if (!cr->landing || !cr->landing[0]) return beat_buf_puts(scratch, "");
    beat_notice_fields f = notice_fields(r, bid, c, cr, ts_ms);
    f.type = BEAT_EV_CLICK;
    f.landing = cr->landing;
    f.conv_window_s = c->conv_window_s; /* signed: the receiver's conversion token */
    if ((rc = inf_notice_sign(&b->signer, &f, sig)) < 0) return rc;
    return inf_notice_url(scratch, b->cfg.receiver_url, &f, sig);
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
static int put_adm_native(inf_bidder *b, beat_buf *o, beat_buf *scratch, const inf_req *r,
                          const inf_bid *bid, const beat_campaign *c, const beat_creative *cr,
                          int64_t ts_ms) {
    const inf_native *nat = &r->imp[bid->imp].native;
    int rc = click_url(b, scratch, r, bid, c, cr, ts_ms);
    if (rc < 0 ||
        (rc = beat_buf_puts(o, nat->wrapped ? ",\"adm\":\"{\\\"native\\\":{" : ",\"adm\":\"{")) <
            0 ||
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
            if (rc >= 0) rc = beat_buf_printf(o, ",\\\"w\\\":%d,\\\"h\\\":%d}}", im->w, im->h);
        } else {
            rc = ntext(o, ",\\\"data\\\":{\\\"value\\\":\\\"", fill);
            if (rc >= 0) rc = beat_buf_puts(o, "}}");
        }
        if (rc < 0) return rc;
    }
    return beat_buf_puts(o, nat->wrapped ? "]}}\"" : "]}\"");
}

/* ---- templates ------------------------------------------------------------- */

/* A run of t->text from `from` to its end. */
static inf_rtpl_run run_from(const beat_buf *t, size_t from) {
    return (inf_rtpl_run){(uint32_t)from, (uint32_t)(t->len - from), false};
}

/* The fixed parts of a bid of creative cr of c into t (see rtpl.h), exactly
 * what put_bid would write for them. */
static int tpl_creative(beat_buf *t, inf_rtpl_run **runs, size_t *n_runs, size_t *cap_runs,
                        const beat_campaign *c, const beat_creative *cr, inf_rtpl_cr *out) {
    size_t at = t->len;
    int rc;
    if ((rc = put_str(t, ",\"adid\":\"", cr->crid)) < 0 ||
        (rc = put_str(t, ",\"crid\":\"", cr->crid)) < 0 ||
        (rc = put_str(t, ",\"cid\":\"", c->id)) < 0 ||
        (rc = put_strv(t, ",\"adomain\":[", &c->adomain)) < 0 ||
        (rc = put_strv(t, ",\"cat\":[", &c->cat)) < 0)
        return rc;
    /* a video without its own size takes the imp's player size: per bid */
    out->wh_var = cr->format == BEAT_FMT_VIDEO && !(cr->w && cr->h);
    if (!out->wh_var) {
        if (cr->format != BEAT_FMT_NATIVE && cr->w > 0 && cr->h > 0 &&
            ((rc = put_int(t, ",\"w\":", cr->w)) < 0 || (rc = put_int(t, ",\"h\":", cr->h)) < 0))
            return rc;
        if ((rc = put_int(t, ",\"mtype\":", (int)cr->format)) < 0) return rc;
    }
    out->head = run_from(t, at);
    at = t->len;
    if (c->bundle && (rc = put_str(t, ",\"bundle\":\"", c->bundle)) < 0) return rc;
    if (cr->attr) {
        bool first = true;
        if ((rc = beat_buf_puts(t, ",\"attr\":[")) < 0) return rc;
        for (int a = 1; a < 64; a++)
            if (cr->attr >> a & 1) {
                if ((rc = beat_buf_printf(t, first ? "%d" : ",%d", a)) < 0) return rc;
                first = false;
            }
        if ((rc = beat_buf_puts(t, "]")) < 0) return rc;
    }
    out->tail = run_from(t, at);
    out->adm = (uint32_t)*n_runs;
    out->n_adm = 0;
    if (cr->format == BEAT_FMT_NATIVE) return 0;
    /* Banner markup / VAST: the runs between ${CLICK_URL} macros, escaped;
     * the signed click URL goes between them per bid, HTML/XML-escaped
     * except inside a CDATA section ("<![CDATA[${CLICK_URL}]]>", where
     * escapes would stay literal; the URL is percent-encoded, so it cannot
     * contain "]]>"). */
    static const char macro[] = "${CLICK_URL}", cdata[] = "<![CDATA[";
    const char *adm = cr->adm ? cr->adm : "", *p = adm, *hit;
    at = t->len;
    if ((rc = beat_buf_puts(t, ",\"adm\":\"")) < 0) return rc;
    for (;;) {
        hit = strstr(p, macro);
        size_t n = hit ? (size_t)(hit - p) : strlen(p);
        if ((rc = esc(t, p, n, false)) < 0 || (!hit && (rc = beat_buf_puts(t, "\"")) < 0))
            return rc;
        if (*n_runs == *cap_runs) {
            size_t nc = *cap_runs ? 2 * *cap_runs : 256;
            inf_rtpl_run *nr = realloc(*runs, nc * sizeof *nr);
            if (!nr) return -ENOMEM;
            *runs = nr;
            *cap_runs = nc;
        }
        inf_rtpl_run *r = &(*runs)[(*n_runs)++];
        *r = run_from(t, at);
        if (!hit) break;
        r->cdata = (size_t)(hit - adm) >= sizeof cdata - 1 &&
                   memcmp(hit - (sizeof cdata - 1), cdata, sizeof cdata - 1) == 0;
        if (++out->n_adm == UINT16_MAX) return -E2BIG;
        p = hit + sizeof macro - 1;
        at = t->len;
    }
    out->n_adm++;
    return t->len > UINT32_MAX ? -E2BIG : 0;
}

void inf_rtpl_free(inf_rtpl *t) {
    if (!t) return;
    beat_buf_fini(&t->text);
    free(t->cr);
    free(t->first);
    free(t->runs);
    free(t);
}

inf_rtpl *inf_rtpl_build(const inf_world *w) {
    inf_rtpl *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    size_t total = 0;
    for (int i = 0; i < w->n; i++) total += (size_t)w->camps[i].c->n_creatives;
    t->cr = calloc(total ? total : 1, sizeof *t->cr);
    t->first = calloc(w->n > 0 ? (size_t)w->n : 1, sizeof *t->first);
    beat_buf_init(&t->text, UINT32_MAX);
    size_t n_runs = 0, cap_runs = 0, k = 0;
    int rc = t->cr && t->first ? 0 : -ENOMEM;
    for (int i = 0; rc == 0 && i < w->n; i++) {
        const beat_campaign *c = w->camps[i].c;
        t->first[i] = (uint32_t)k;
        for (int j = 0; rc == 0 && j < c->n_creatives; j++, k++)
            rc = tpl_creative(&t->text, &t->runs, &n_runs, &cap_runs, c, &c->creatives[j],
                              &t->cr[k]);
    }
    if (rc < 0) {
        inf_rtpl_free(t);
        return NULL;
    }
    return t;
}

/* ---- bids -------------------------------------------------------------------- */

static int put_run(beat_buf *o, const inf_rtpl *t, inf_rtpl_run r) {
    return beat_buf_append(o, t->text.data + r.off, r.len);
}

static int put_bid(inf_bidder *b, const inf_world *w, const inf_req *r, const inf_bid *bid,
                   int64_t ts_ms, beat_buf *o, beat_buf *scratch) {
    const beat_campaign *c = w->camps[bid->camp].c;
    const beat_creative *cr = &c->creatives[bid->creative];
    const inf_imp *im = &r->imp[bid->imp];
    const inf_rtpl *t = w->rtpl;
    const inf_rtpl_cr *tc = &t->cr[t->first[bid->camp] + (uint32_t)bid->creative];
    /* The price in the response's currency (USD unless the request's cur
     * excludes it), rounded down: never more than the USD price we chose
     * (docs/contracts.md "Currencies"). Notices still sign USD micros. */
    int64_t price = bid->price_cpm_micros;
    int rc = beat_fx_from_usd(inf_openrtb_fx(), bid_cur(r), bid->price_cpm_micros, &price);
    if (rc < 0) return rc;
    if (price <= 0) return -ERANGE; /* a micro of USD worth nothing there: no bid */
    uint64_t seq = atomic_fetch_add_explicit(&b->bid_seq, 1, memory_order_relaxed);
    if ((rc = put_bid_id(o, b->bid_prefix, seq & 0xffffffffu)) < 0 ||
        (rc = put_str(o, ",\"impid\":\"", im->id)) < 0 || (rc = put_price(o, price)) < 0 ||
        (rc = put_run(o, t, tc->head)) < 0)
        return rc;
    if (tc->wh_var && ((im->video.w > 0 && im->video.h > 0 &&
                        ((rc = put_int(o, ",\"w\":", im->video.w)) < 0 ||
                         (rc = put_int(o, ",\"h\":", im->video.h)) < 0)) ||
                       (rc = put_int(o, ",\"mtype\":", (int)cr->format)) < 0))
        return rc;
    if (bid->deal >= 0 && (rc = put_str(o, ",\"dealid\":\"", im->deals[bid->deal].id)) < 0)
        return rc;
    if ((rc = put_run(o, t, tc->tail)) < 0) return rc;
    if (cr->format == BEAT_FMT_NATIVE) {
        rc = put_adm_native(b, o, scratch, r, bid, c, cr, ts_ms);
    } else {
        if (tc->n_adm > 1 && (rc = click_url(b, scratch, r, bid, c, cr, ts_ms)) < 0) return rc;
        for (int k = 0; rc >= 0 && k < tc->n_adm; k++) {
            const inf_rtpl_run *ru = &t->runs[tc->adm + (uint32_t)k];
            if ((rc = put_run(o, t, *ru)) >= 0 && k + 1 < tc->n_adm)
                rc = esc(o, scratch->data, scratch->len, !ru->cdata);
        }
    }
    if (rc < 0 || (rc = put_notices(b, o, scratch, r, bid, c, cr, ts_ms)) < 0) return rc;
    return beat_buf_puts(o, "}");
}

/* One seatbid per campaign seat (most responses: one), bids in imp order
 * within it. Quadratic in bids, which are at most INF_IMP_MAX. */
int inf_bidder_response(inf_bidder *b, const inf_world *w, const inf_req *r, const inf_result *res,
                        beat_buf *out, beat_buf *scratch) {
    size_t start = out->len;
    int rc = beat_buf_puts(out, "{\"id\":\"");
    if (rc >= 0) rc = esc(out, r->id, strlen(r->id), false);
    if (rc >= 0) rc = beat_buf_puts(out, "\",\"cur\":\"");
    if (rc >= 0) rc = beat_buf_puts(out, bid_cur(r));
    if (rc >= 0) rc = beat_buf_puts(out, "\",\"seatbid\":[");
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
    copy_id(ev->exchange, r->exch ? r->exch->id : "");
    ev->price_cpm_micros = bid->price_cpm_micros;
    ev->pctr = bid->pctr;
    ev->model_version = w->model->version;
    ev->state_version = w->snap->st.version;
    /* The impression of a capped bid counts for its person, per the cap's
     * window (datastream, docs/campaigns.md "freq_cap"): only the keyed
     * hash travels, never the id. */
    if (c->freq_cap_max > 0 && res->cap_key) {
        ev->cap_key = res->cap_key;
        ev->cap_window_s = c->freq_cap_window_s > 0 ? c->freq_cap_window_s : 1;
    }
    ev->n_feat = bid->n_feat;
    memcpy(ev->feat, bid->feat, bid->n_feat * sizeof ev->feat[0]);
}

/* --explain: what the exchange may grade us with. snprintf is fine here:
 * explain mode is for grading runs, not for the hot path. */
void inf_bidder_explain(const inf_world *w, const inf_result *res, char *out, size_t cap) {
    if (cap == 0) return;
    out[0] = '\0';
    size_t lim = cap - 1 < INF_EXPLAIN_HDR_MAX ? cap - 1 : INF_EXPLAIN_HDR_MAX;
    static const char tail[] = "\r\n";
    int64_t v = 0;
    for (int k = 0; k < res->n; k++)
        if (res->bids[k].imp == 0) v = res->bids[k].value_cpm_micros;
    int n = snprintf(out, cap, "X-Beat-Explain: v=%" PRId64 ";", v);
    if (n < 0 || (size_t)n + sizeof tail - 1 > lim) {
        out[0] = '\0';
        return;
    }
    size_t len = (size_t)n;
    for (int i = 0; i < res->n_explain && w; i++) {
        char ent[BEAT_ID_MAX + 32];
        int m = snprintf(ent, sizeof ent, "%s%s=%.6g", i ? "," : "",
                         w->camps[res->explain[i].camp].c->id, res->explain[i].pctr);
        if (m < 0 || len + (size_t)m + sizeof tail - 1 > lim) break; /* cut, never fail */
        memcpy(out + len, ent, (size_t)m);
        len += (size_t)m;
    }
    memcpy(out + len, tail, sizeof tail); /* with the NUL */
}
