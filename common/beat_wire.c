/* Wire formats between daemons (beat_wire.h), data plane: events, aggregates
 * and training samples (pacing state and the heartbeat frame are in
 * beat_wire_state.c). Called by every daemon on both ends of a link.
 * Decoders see untrusted bytes: they must never assert, never read past len,
 * and always say why they refused something. Encoders write exactly what the
 * decoders accept, so decode(encode(x)) == x. */
#include "beat_wire.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_json.h"

#define I53 BEAT_JSON_I53
#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)
#define DOT(ctx) beat_json_dot(ctx)

/* ---- wire-specific fields (generic ones are in beat_json.c) ---------------- */

/* Ids are free text (exchanges choose them) up to BEAT_ID_MAX bytes. */
static int j_id(const cJSON *v, const char *ctx, const char *name, bool required,
                char out[BEAT_ID_MAX + 1], beat_reason *why)
{
    return beat_json_text(v, ctx, name, BEAT_ID_MAX,
                          required ? BEAT_JSON_NONEMPTY : 0, out, why);
}

static int j_feat(const cJSON *v, const char *ctx, uint32_t *feat, uint32_t *n,
                  beat_reason *why)
{
    if (!cJSON_IsArray(v)) return FAIL("%s%sfeat: must be an array", ctx, DOT(ctx));
    uint32_t k = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (k == BEAT_FEAT_MAX)
            return FAIL("%s%sfeat: too many (> %d)", ctx, DOT(ctx), BEAT_FEAT_MAX);
        int64_t x;
        int rc = beat_json_int(c, ctx, "feat[]", 0, UINT32_MAX, &x, why);
        if (rc) return rc;
        feat[k++] = (uint32_t)x;
    }
    *n = k;
    return 0;
}

/* ---- encode helpers -------------------------------------------------------- */

static void e_feat(beat_json_enc *e, const uint32_t *feat, uint32_t n)
{
    beat_json_put_raw(e, ",\"feat\":[");
    for (uint32_t i = 0; i < n; i++) {
        if (i) beat_json_put_raw(e, ",");
        beat_json_put_i64(e, feat[i]);
    }
    beat_json_put_raw(e, "]");
}
/* key and v, unless v is 0 (the field's absence) */
static void put_num(beat_json_enc *e, const char *key, int64_t v)
{
    if (!v) return;
    beat_json_put_raw(e, key);
    beat_json_put_i64(e, v);
}

static bool id_ok(const char *s, bool required)
{
    return beat_json_len_ok(s, BEAT_ID_MAX, required);
}

/* ---- events ---------------------------------------------------------------- */

static const char *const ev_names[] = {NULL,  "bid", "win",   "bill",
                                       "loss", "imp", "click", "hb", "opp"};

const char *beat_event_type_name(beat_event_type t)
{
    return t >= BEAT_EV_BID && t <= BEAT_EV_OPP ? ev_names[t] : "unknown";
}

int beat_event_type_parse(const char *s, beat_event_type *out)
{
    for (int t = BEAT_EV_BID; t <= BEAT_EV_OPP; t++)
        if (s && strcmp(s, ev_names[t]) == 0) {
            *out = (beat_event_type)t;
            return 0;
        }
    return -EINVAL;
}

/* A heartbeat: node, ts, lost, bye (beat_wire.h). */
static int hb_encode(const beat_event *ev, beat_buf *out)
{
    if (!id_ok(ev->node, true) || ev->lost < 0) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_raw(&e, "{\"v\":");
    beat_json_put_i64(&e, BEAT_EVENT_V);
    beat_json_put_raw(&e, ",\"type\":\"hb\",\"node\":");
    beat_json_put_str(&e, ev->node);
    beat_json_put_raw(&e, ",\"ts\":");
    beat_json_put_i64(&e, ev->ts_ms);
    beat_json_put_raw(&e, ",\"lost\":");
    beat_json_put_i64(&e, ev->lost);
    if (ev->bye) beat_json_put_raw(&e, ",\"bye\":true");
    beat_json_put_raw(&e, "}");
    return beat_json_enc_done(&e);
}

static int opp_encode(const beat_event *ev, beat_buf *out)
{
    if (!id_ok(ev->node, true) || !id_ok(ev->campaign, true) || ev->opps < 1) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_raw(&e, "{\"v\":");
    beat_json_put_i64(&e, BEAT_EVENT_V);
    beat_json_put_raw(&e, ",\"type\":\"opp\",\"node\":");
    beat_json_put_str(&e, ev->node);
    beat_json_put_raw(&e, ",\"campaign\":");
    beat_json_put_str(&e, ev->campaign);
    beat_json_put_raw(&e, ",\"ts\":");
    beat_json_put_i64(&e, ev->ts_ms);
    beat_json_put_raw(&e, ",\"n\":");
    beat_json_put_i64(&e, ev->opps);
    beat_json_put_raw(&e, "}");
    return beat_json_enc_done(&e);
}

int beat_event_encode(const beat_event *ev, beat_buf *out)
{
    if (ev->type == BEAT_EV_HB) return hb_encode(ev, out);
    if (ev->type == BEAT_EV_OPP) return opp_encode(ev, out);
    if (ev->type < BEAT_EV_BID || ev->type > BEAT_EV_CLICK ||
        !id_ok(ev->auction, true) || !id_ok(ev->imp, true) ||
        !id_ok(ev->campaign, false) || !id_ok(ev->crid, false) ||
        !id_ok(ev->node, false) || !id_ok(ev->exchange, false) ||
        ev->n_feat > BEAT_FEAT_MAX || !isfinite(ev->pctr))
        return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    /* no printf here: this runs for every bid of every inference node */
    beat_json_put_raw(&e, "{\"v\":");
    beat_json_put_i64(&e, BEAT_EVENT_V);
    beat_json_put_raw(&e, ",\"type\":\"");
    beat_json_put_raw(&e, ev_names[ev->type]);
    beat_json_put_raw(&e, "\",\"auction\":");
    beat_json_put_str(&e, ev->auction);
    beat_json_put_raw(&e, ",\"imp\":");
    beat_json_put_str(&e, ev->imp);
    if (ev->campaign[0]) {
        beat_json_put_raw(&e, ",\"campaign\":");
        beat_json_put_str(&e, ev->campaign);
    }
    if (ev->crid[0]) {
        beat_json_put_raw(&e, ",\"crid\":");
        beat_json_put_str(&e, ev->crid);
    }
    put_num(&e, ",\"price\":", ev->price_cpm_micros);
    put_num(&e, ",\"bid\":", ev->bid_cpm_micros);
    put_num(&e, ",\"loss\":", ev->loss_code);
    if (ev->pctr != 0) {
        beat_json_put_raw(&e, ",\"pctr\":");
        beat_json_put_prob(&e, ev->pctr);
    }
    put_num(&e, ",\"model_v\":", ev->model_version);
    put_num(&e, ",\"state_v\":", ev->state_version);
    if (ev->node[0]) {
        beat_json_put_raw(&e, ",\"node\":");
        beat_json_put_str(&e, ev->node);
    }
    if (ev->exchange[0]) {
        beat_json_put_raw(&e, ",\"exchange\":");
        beat_json_put_str(&e, ev->exchange);
    }
    beat_json_put_raw(&e, ",\"ts\":");
    beat_json_put_i64(&e, ev->ts_ms);
    put_num(&e, ",\"nts\":", ev->notice_ts_ms);
    if (ev->n_feat) e_feat(&e, ev->feat, ev->n_feat);
    beat_json_put_raw(&e, "}");
    return beat_json_enc_done(&e);
}

enum { EV_V, EV_TYPE, EV_AUCTION, EV_IMP, EV_CAMPAIGN, EV_CRID, EV_NODE, EV_PRICE,
       EV_BID, EV_NTS, EV_LOSS, EV_PCTR, EV_MODEL, EV_STATE, EV_TS, EV_FEAT, EV_LOST,
       EV_BYE, EV_EXCHANGE, EV_OPPS, EV_N };
static const char *const ev_fields[EV_N] = {
    "v", "type", "auction", "imp", "campaign", "crid", "node", "price", "bid",
    "nts", "loss", "pctr", "model_v", "state_v", "ts", "feat", "lost", "bye",
    "exchange", "n"};

/* A heartbeat names its receiver and time; it carries no auction. Other
 * fields an hb does not define are ignored like any unknown field. */
static int hb_from(const cJSON *const *f, beat_event *ev, beat_reason *why)
{
    int rc;
    if ((rc = j_id(f[EV_NODE], "", "node", true, ev->node, why)) ||
        (rc = beat_json_count(f[EV_TS], "", "ts", &ev->ts_ms, why)) ||
        (f[EV_LOST] && (rc = beat_json_count(f[EV_LOST], "", "lost", &ev->lost, why))))
        return rc;
    if (f[EV_BYE]) {
        if (!cJSON_IsBool(f[EV_BYE])) return FAIL("bye: must be true or false");
        ev->bye = cJSON_IsTrue(f[EV_BYE]);
    }
    return 0;
}

/* Opportunities name their node, campaign and time; no auction. */
static int opp_from(const cJSON *const *f, beat_event *ev, beat_reason *why)
{
    int rc;
    if ((rc = j_id(f[EV_NODE], "", "node", true, ev->node, why)) ||
        (rc = j_id(f[EV_CAMPAIGN], "", "campaign", true, ev->campaign, why)) ||
        (rc = beat_json_count(f[EV_TS], "", "ts", &ev->ts_ms, why)) ||
        (rc = beat_json_int(f[EV_OPPS], "", "n", 1, I53, &ev->opps, why)))
        return rc;
    return 0;
}

static int event_from(const cJSON *root, beat_event *ev, beat_reason *why)
{
    const cJSON *f[EV_N];
    int rc = beat_json_fields(root, "", ev_fields, EV_N, f, false, why);
    if (rc) return rc;
    if ((rc = beat_json_version(f[EV_V], "", BEAT_EVENT_V, why))) return rc;
    if (!f[EV_TYPE]) return FAIL("type: missing");
    if (!cJSON_IsString(f[EV_TYPE]) ||
        beat_event_type_parse(f[EV_TYPE]->valuestring, &ev->type) != 0)
        return FAIL("type: unknown event type");
    if (ev->type == BEAT_EV_HB) return hb_from(f, ev, why);
    if (ev->type == BEAT_EV_OPP) return opp_from(f, ev, why);
    int64_t x;
    if ((rc = j_id(f[EV_AUCTION], "", "auction", true, ev->auction, why)) ||
        (rc = j_id(f[EV_IMP], "", "imp", true, ev->imp, why)) ||
        (f[EV_CAMPAIGN] &&
         (rc = j_id(f[EV_CAMPAIGN], "", "campaign", false, ev->campaign, why))) ||
        (f[EV_CRID] && (rc = j_id(f[EV_CRID], "", "crid", false, ev->crid, why))) ||
        (f[EV_NODE] && (rc = j_id(f[EV_NODE], "", "node", false, ev->node, why))) ||
        (f[EV_EXCHANGE] &&
         (rc = j_id(f[EV_EXCHANGE], "", "exchange", false, ev->exchange, why))) ||
        (rc = beat_json_count(f[EV_TS], "", "ts", &ev->ts_ms, why)) ||
        (f[EV_PRICE] &&
         (rc = beat_json_count(f[EV_PRICE], "", "price", &ev->price_cpm_micros, why))) ||
        (f[EV_BID] && (rc = beat_json_count(f[EV_BID], "", "bid", &ev->bid_cpm_micros, why))) ||
        (f[EV_NTS] && (rc = beat_json_count(f[EV_NTS], "", "nts", &ev->notice_ts_ms, why))) ||
        (f[EV_MODEL] &&
         (rc = beat_json_count(f[EV_MODEL], "", "model_v", &ev->model_version, why))) ||
        (f[EV_STATE] &&
         (rc = beat_json_count(f[EV_STATE], "", "state_v", &ev->state_version, why))) ||
        (f[EV_PCTR] && (rc = beat_json_double(f[EV_PCTR], "", "pctr", 0, 1, &ev->pctr, why))) ||
        (f[EV_FEAT] && (rc = j_feat(f[EV_FEAT], "", ev->feat, &ev->n_feat, why))))
        return rc;
    if (f[EV_LOSS]) {
        if ((rc = beat_json_int(f[EV_LOSS], "", "loss", 0, INT32_MAX, &x, why))) return rc;
        ev->loss_code = (int32_t)x;
    }
    return 0;
}

int beat_event_decode(const char *json, size_t len, beat_event *out,
                      beat_reason *why)
{
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    beat_event ev;
    memset(&ev, 0, sizeof ev);
    int rc = event_from(root, &ev, why);
    cJSON_Delete(root);
    if (rc == 0) *out = ev;
    return rc;
}

/* ---- aggregates -------------------------------------------------------------- */

const int64_t beat_land_edges[BEAT_LAND_N + 1] = {
    10000,    15849,    25119,    39811,    63096,    100000,   158489,
    251189,   398107,   630957,   1000000,  1584893,  2511886,  3981072,
    6309573,  10000000, 15848932, 25118864, 39810717, 63095734, 100000000};

int beat_land_bucket(int64_t cpm_micros)
{
    int i = 0;
    while (i < BEAT_LAND_N - 1 && cpm_micros >= beat_land_edges[i + 1]) i++;
    return i;
}

static void put_land(beat_json_enc *e, const char *key, const int32_t *h)
{
    int last = -1;
    for (int i = 0; i < BEAT_LAND_N; i++)
        if (h[i]) last = i;
    if (last < 0) return; /* absent when empty */
    beat_json_put_raw(e, key);
    for (int i = 0; i < BEAT_LAND_N; i++) {
        if (i) beat_json_put_raw(e, ",");
        beat_json_put_i64(e, h[i]);
    }
    beat_json_put_raw(e, "]");
}

/* The optional market fields of a row (beat_wire.h), each absent when 0. */
static void put_market(beat_json_enc *e, const beat_agg_row *r)
{
    put_num(e, ",\"losses\":", r->losses);
    put_num(e, ",\"loss_outbid\":", r->loss_outbid);
    put_num(e, ",\"loss_floor\":", r->loss_floor);
    put_num(e, ",\"loss_other\":", r->loss_other);
    put_num(e, ",\"expired\":", r->expired);
    put_num(e, ",\"opps\":", r->opps);
    if (r->pctr_bids != 0) {
        beat_json_put_raw(e, ",\"pctr_bids\":");
        beat_json_put_double(e, r->pctr_bids);
    }
    if (r->pctr_wins != 0) {
        beat_json_put_raw(e, ",\"pctr_wins\":");
        beat_json_put_double(e, r->pctr_wins);
    }
    put_land(e, ",\"won_cpm\":[", r->won_cpm);
    put_land(e, ",\"lost_cpm\":[", r->lost_cpm);
}

static int j_land(const cJSON *v, const char *ctx, const char *name, int32_t *h,
                  beat_reason *why)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != BEAT_LAND_N)
        return FAIL("%s%s%s: must be an array of %d counts", ctx, DOT(ctx), name, BEAT_LAND_N);
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        int64_t x;
        int rc = beat_json_int(c, ctx, name, 0, INT32_MAX, &x, why);
        if (rc) return rc;
        h[i++] = (int32_t)x;
    }
    return 0;
}

int beat_aggregates_encode(const beat_aggregates *a, beat_buf *out)
{
    if (!id_ok(a->instance, true) || a->n_buckets < 0) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"v\":%d,\"instance\":", BEAT_AGG_V);
    beat_json_put_str(&e, a->instance);
    beat_json_put_printf(&e, ",\"epoch\":\"%016" PRIx64 "\",\"bucket_ms\":%" PRId64
                         ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64,
                         a->epoch, a->bucket_ms, a->first_seq, a->last_seq);
    if (a->has_heard) beat_json_put_printf(&e, ",\"heard_ms\":%" PRId64, a->heard_ms);
    beat_json_put_raw(&e, ",\"buckets\":[");
    for (int i = 0; i < a->n_buckets && !e.rc; i++) {
        const beat_agg_bucket *bk = &a->buckets[i];
        beat_json_put_printf(&e, "%s{\"seq\":%" PRIu64 ",\"start_ms\":%" PRId64
                             ",\"end_ms\":%" PRId64 ",\"campaigns\":{",
                             i ? "," : "", bk->seq, bk->start_ms, bk->end_ms);
        for (int j = 0; j < bk->n_rows && !e.rc; j++) {
            const beat_agg_row *r = &bk->rows[j];
            if (!id_ok(r->campaign, true)) e.rc = -EINVAL;
            if (j) beat_json_put_raw(&e, ",");
            beat_json_put_str(&e, r->campaign);
            beat_json_put_printf(&e, ":{\"bids\":%" PRId64 ",\"wins\":%" PRId64
                                 ",\"spend_micros\":%" PRId64 ",\"imps\":%" PRId64
                                 ",\"clicks\":%" PRId64,
                                 r->bids, r->wins, r->spend_micros, r->imps, r->clicks);
            if (!(isfinite(r->pctr_bids) && isfinite(r->pctr_wins))) e.rc = -EINVAL;
            else put_market(&e, r);
            beat_json_put_raw(&e, "}");
        }
        beat_json_put_raw(&e, "}}");
    }
    beat_json_put_raw(&e, "]}");
    return beat_json_enc_done(&e);
}

void beat_aggregates_fini(beat_aggregates *a)
{
    if (!a) return;
    for (int i = 0; i < a->n_buckets && a->buckets; i++) free(a->buckets[i].rows);
    free(a->buckets);
    memset(a, 0, sizeof *a);
}

enum { ROW_COUNTS = 11, ROW_FIELDS = 15 };
static const char *const row_fields[ROW_FIELDS] = {
    "bids", "wins", "spend_micros", "imps", "clicks", "losses", "loss_outbid",
    "loss_floor", "loss_other", "expired", "opps", "pctr_bids", "pctr_wins", "won_cpm",
    "lost_cpm"};

static int bucket_from(const cJSON *bj, const char *ctx, beat_agg_bucket *bk,
                       beat_reason *why)
{
    static const char *const names[] = {"seq", "start_ms", "end_ms", "campaigns"};
    const cJSON *f[4];
    int64_t x;
    int rc = beat_json_fields(bj, ctx, names, 4, f, false, why);
    if (rc) return rc;
    if ((rc = beat_json_count(f[0], ctx, "seq", &x, why)) ||
        (rc = beat_json_count(f[1], ctx, "start_ms", &bk->start_ms, why)) ||
        (rc = beat_json_int(f[2], ctx, "end_ms", bk->start_ms, I53, &bk->end_ms, why)))
        return rc;
    bk->seq = (uint64_t)x;
    if (!f[3]) return 0;
    if (!cJSON_IsObject(f[3])) return FAIL("%s.campaigns: must be an object", ctx);
    int n = cJSON_GetArraySize(f[3]);
    bk->rows = n ? calloc((size_t)n, sizeof *bk->rows) : NULL;
    if (n && !bk->rows) return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *c = f[3]->child; c; c = c->next) {
        char rctx[160];
        snprintf(rctx, sizeof rctx, "%s.campaigns.%.64s", ctx, c->string);
        if ((rc = beat_json_text_check(c->string, ctx, "campaigns key", BEAT_ID_MAX,
                                       BEAT_JSON_NONEMPTY, why)))
            return rc;
        for (int j = 0; j < bk->n_rows; j++)
            if (strcmp(bk->rows[j].campaign, c->string) == 0)
                return FAIL("%s: duplicate campaign", rctx);
        beat_agg_row *r = &bk->rows[bk->n_rows];
        strcpy(r->campaign, c->string);
        const cJSON *rf[ROW_FIELDS];
        int64_t *dst[ROW_COUNTS] = {&r->bids,   &r->wins,        &r->spend_micros,
                                    &r->imps,   &r->clicks,      &r->losses,
                                    &r->loss_outbid, &r->loss_floor, &r->loss_other,
                                    &r->expired, &r->opps};
        if ((rc = beat_json_fields(c, rctx, row_fields, ROW_FIELDS, rf, false, why)))
            return rc;
        for (int k = 0; k < ROW_COUNTS; k++)
            if (rf[k] && (rc = beat_json_count(rf[k], rctx, row_fields[k], dst[k], why)))
                return rc;
        if ((rf[11] && (rc = beat_json_double(rf[11], rctx, "pctr_bids", 0, 1e15,
                                              &r->pctr_bids, why))) ||
            (rf[12] && (rc = beat_json_double(rf[12], rctx, "pctr_wins", 0, 1e15,
                                              &r->pctr_wins, why))) ||
            (rf[13] && (rc = j_land(rf[13], rctx, "won_cpm", r->won_cpm, why))) ||
            (rf[14] && (rc = j_land(rf[14], rctx, "lost_cpm", r->lost_cpm, why))))
            return rc;
        bk->n_rows++;
    }
    return 0;
}

int beat_aggregates_decode(const char *json, size_t len, beat_aggregates *out,
                           beat_reason *why)
{
    static const char *const names[] = {"v", "instance", "epoch", "bucket_ms",
                                        "first_seq", "last_seq", "buckets", "heard_ms"};
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    beat_aggregates a;
    memset(&a, 0, sizeof a);
    const cJSON *f[8];
    int64_t fs = 0, ls = 0;
    int rc = beat_json_fields(root, "", names, 8, f, false, why);
    if (!rc && f[7]) {
        rc = beat_json_count(f[7], "", "heard_ms", &a.heard_ms, why);
        a.has_heard = rc == 0;
    }
    if (!rc && !((rc = beat_json_version(f[0], "", BEAT_AGG_V, why)) ||
                 (rc = j_id(f[1], "", "instance", true, a.instance, why)) ||
                 (rc = beat_json_hex64(f[2], "", "epoch", &a.epoch, why)) ||
                 (rc = beat_json_int(f[3], "", "bucket_ms", 1, I53, &a.bucket_ms, why)) ||
                 (rc = beat_json_count(f[4], "", "first_seq", &fs, why)) ||
                 (rc = beat_json_count(f[5], "", "last_seq", &ls, why)))) {
        a.first_seq = (uint64_t)fs;
        a.last_seq = (uint64_t)ls;
        if (!f[6]) rc = FAIL("buckets: missing");
        else if (!cJSON_IsArray(f[6])) rc = FAIL("buckets: must be an array");
    }
    int n = rc ? 0 : cJSON_GetArraySize(f[6]);
    if (n > 0 && !(a.buckets = calloc((size_t)n, sizeof *a.buckets)))
        rc = beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *c = rc ? NULL : f[6]->child; c; c = c->next) {
        char ctx[32];
        snprintf(ctx, sizeof ctx, "buckets[%d]", a.n_buckets);
        beat_agg_bucket *bk = &a.buckets[a.n_buckets++];
        if ((rc = bucket_from(c, ctx, bk, why))) break;
        if (a.n_buckets > 1 && bk->seq <= a.buckets[a.n_buckets - 2].seq) {
            rc = FAIL("%s.seq: not ascending", ctx);
            break;
        }
    }
    cJSON_Delete(root);
    if (rc) {
        beat_aggregates_fini(&a);
        return rc;
    }
    *out = a;
    return 0;
}

/* ---- training samples ------------------------------------------------------ */

int beat_samples_header_encode(const beat_samples_header *h, beat_buf *out)
{
    if (!id_ok(h->instance, true)) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"v\":%d,\"instance\":", BEAT_SAMPLES_V);
    beat_json_put_str(&e, h->instance);
    beat_json_put_printf(&e, ",\"epoch\":\"%016" PRIx64 "\",\"first_seq\":%" PRIu64
                         ",\"last_seq\":%" PRIu64 ",\"n\":%" PRId64 "}\n",
                         h->epoch, h->first_seq, h->last_seq, h->n);
    return beat_json_enc_done(&e);
}

int beat_sample_encode(const beat_sample *s, beat_buf *out)
{
    if (!id_ok(s->campaign, true) || s->n_feat > BEAT_FEAT_MAX ||
        !isfinite(s->weight) || (s->label != 0 && s->label != 1))
        return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"seq\":%" PRIu64 ",\"campaign\":", s->seq);
    beat_json_put_str(&e, s->campaign);
    beat_json_put_printf(&e, ",\"label\":%d,\"w\":", s->label);
    beat_json_put_float(&e, s->weight);
    beat_json_put_printf(&e, ",\"ts\":%" PRId64, s->ts_ms);
    e_feat(&e, s->feat, s->n_feat);
    beat_json_put_raw(&e, "}\n");
    return beat_json_enc_done(&e);
}

static int samples_header_from(const cJSON *root, beat_samples_header *h,
                               beat_reason *why)
{
    static const char *const names[] = {"v", "instance", "epoch", "first_seq",
                                        "last_seq", "n"};
    const cJSON *f[6];
    int64_t fs, ls;
    int rc = beat_json_fields(root, "line 1", names, 6, f, false, why);
    if (rc || (rc = beat_json_version(f[0], "line 1", BEAT_SAMPLES_V, why)) ||
        (rc = j_id(f[1], "line 1", "instance", true, h->instance, why)) ||
        (rc = beat_json_hex64(f[2], "line 1", "epoch", &h->epoch, why)) ||
        (rc = beat_json_count(f[3], "line 1", "first_seq", &fs, why)) ||
        (rc = beat_json_count(f[4], "line 1", "last_seq", &ls, why)) ||
        (rc = beat_json_count(f[5], "line 1", "n", &h->n, why)))
        return rc;
    h->first_seq = (uint64_t)fs;
    h->last_seq = (uint64_t)ls;
    return 0;
}

static int sample_from(const cJSON *root, const char *ctx, beat_sample *s,
                       beat_reason *why)
{
    static const char *const names[] = {"seq", "campaign", "label", "w", "ts", "feat"};
    const cJSON *f[6];
    int64_t seq, label;
    double w;
    int rc = beat_json_fields(root, ctx, names, 6, f, false, why);
    if (rc || (rc = beat_json_count(f[0], ctx, "seq", &seq, why)) ||
        (rc = j_id(f[1], ctx, "campaign", true, s->campaign, why)) ||
        (rc = beat_json_int(f[2], ctx, "label", 0, 1, &label, why)) ||
        (rc = beat_json_double(f[3], ctx, "w", 0, FLT_MAX, &w, why)) ||
        (rc = beat_json_count(f[4], ctx, "ts", &s->ts_ms, why)) ||
        (f[5] && (rc = j_feat(f[5], ctx, s->feat, &s->n_feat, why))))
        return rc;
    s->seq = (uint64_t)seq;
    s->label = (int)label;
    s->weight = (float)w;
    if (!(s->weight > 0)) return FAIL("%s.w: must be > 0", ctx);
    return 0;
}

/* Splits body into lines; line_no counts from 1. Returns the next line or
 * NULL at the end, skipping empty lines (a trailing '\n' is normal). */
static const char *next_line(const char **cur, const char *end, size_t *n,
                             int *line_no)
{
    while (*cur < end) {
        const char *s = *cur;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        *cur = nl ? nl + 1 : end;
        (*line_no)++;
        if (e > s && e[-1] == '\r') e--;
        if (e > s) {
            *n = (size_t)(e - s);
            return s;
        }
    }
    return NULL;
}

/* Two passes: the first validates every line, so fn never sees part of a
 * body that is refused later; the second hands the samples out. */
int beat_samples_decode(const char *body, size_t len, beat_samples_header *h,
                        int (*fn)(void *arg, const beat_sample *s), void *arg,
                        beat_reason *why)
{
    beat_samples_header hdr;
    memset(&hdr, 0, sizeof hdr);
    const char *cur = body, *end = body + len, *line;
    size_t n = 0;
    int line_no = 0, rc = 0;
    line = next_line(&cur, end, &n, &line_no);
    if (!line) return FAIL("line 1: missing header");
    cJSON *root;
    if (beat_json_parse(line, n, &root, why))
        return FAIL("line %d: invalid JSON", line_no);
    rc = samples_header_from(root, &hdr, why);
    cJSON_Delete(root);
    if (rc) return rc;
    const char *samples_at = cur;
    int first_line = line_no;
    for (int pass = 0; pass < 2; pass++) {
        int64_t count = 0;
        cur = samples_at;
        line_no = first_line;
        while ((line = next_line(&cur, end, &n, &line_no))) {
            char ctx[24];
            snprintf(ctx, sizeof ctx, "line %d", line_no);
            beat_reason sub;
            if (beat_json_parse(line, n, &root, &sub))
                return FAIL("%s: %s", ctx, sub.msg);
            beat_sample s;
            memset(&s, 0, sizeof s);
            rc = sample_from(root, ctx, &s, why);
            cJSON_Delete(root);
            if (rc) return rc;
            count++;
            if (pass == 1 && fn && (rc = fn(arg, &s)) != 0) return rc;
        }
        if (pass == 0 && count != hdr.n)
            return FAIL("line 1: n is %" PRId64 " but body has %" PRId64 " samples",
                        hdr.n, count);
        if (pass == 0 && h) *h = hdr;
    }
    return 0;
}
