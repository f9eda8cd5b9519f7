/* Wire formats between daemons (beat_wire.h), data plane: the aggregates
 * datastream serves on GET /v1/aggregates (per campaign per bucket counts,
 * spend and the market signals). Same rules as beat_wire.c: decoders see
 * untrusted bytes and give a reason; decode(encode(x)) == x. */
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
#include "beat_wire_int.h"

#define I53 BEAT_JSON_I53
#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)
#define DOT(ctx) beat_json_dot(ctx)

/* ---- aggregates -------------------------------------------------------------- */

const int64_t beat_land_edges[BEAT_LAND_N + 1] = {
    10000,   15849,    25119,    39811,    63096,    100000,   158489,
    251189,  398107,   630957,   1000000,  1584893,  2511886,  3981072,
    6309573, 10000000, 15848932, 25118864, 39810717, 63095734, 100000000};

int beat_land_bucket(int64_t cpm_micros) {
    int i = 0;
    while (i < BEAT_LAND_N - 1 && cpm_micros >= beat_land_edges[i + 1]) i++;
    return i;
}

static void put_land(beat_json_enc *e, const char *key, const int32_t *h) {
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
static void put_market(beat_json_enc *e, const beat_agg_row *r) {
    beat_wire_put_num(e, ",\"losses\":", r->losses);
    beat_wire_put_num(e, ",\"loss_outbid\":", r->loss_outbid);
    beat_wire_put_num(e, ",\"loss_floor\":", r->loss_floor);
    beat_wire_put_num(e, ",\"loss_other\":", r->loss_other);
    beat_wire_put_num(e, ",\"expired\":", r->expired);
    beat_wire_put_num(e, ",\"opps\":", r->opps);
    beat_wire_put_num(e, ",\"convs\":", r->convs);
    beat_wire_put_num(e, ",\"conv_value_micros\":", r->conv_value_micros);
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

static int j_land(const cJSON *v, const char *ctx, const char *name, int32_t *h, beat_reason *why) {
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

int beat_aggregates_encode(const beat_aggregates *a, beat_buf *out) {
    if (!beat_wire_id_ok(a->instance, true) || a->n_buckets < 0) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"v\":%d,\"instance\":", BEAT_AGG_V);
    beat_json_put_str(&e, a->instance);
    beat_json_put_printf(&e,
                         ",\"epoch\":\"%016" PRIx64 "\",\"bucket_ms\":%" PRId64
                         ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64,
                         a->epoch, a->bucket_ms, a->first_seq, a->last_seq);
    if (a->has_heard) beat_json_put_printf(&e, ",\"heard_ms\":%" PRId64, a->heard_ms);
    beat_json_put_raw(&e, ",\"buckets\":[");
    for (int i = 0; i < a->n_buckets && !e.rc; i++) {
        const beat_agg_bucket *bk = &a->buckets[i];
        beat_json_put_printf(&e,
                             "%s{\"seq\":%" PRIu64 ",\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64
                             ",\"campaigns\":{",
                             i ? "," : "", bk->seq, bk->start_ms, bk->end_ms);
        for (int j = 0; j < bk->n_rows && !e.rc; j++) {
            const beat_agg_row *r = &bk->rows[j];
            if (!beat_wire_id_ok(r->campaign, true)) e.rc = -EINVAL;
            if (j) beat_json_put_raw(&e, ",");
            beat_json_put_str(&e, r->campaign);
            beat_json_put_printf(&e,
                                 ":{\"bids\":%" PRId64 ",\"wins\":%" PRId64
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

void beat_aggregates_fini(beat_aggregates *a) {
    if (!a) return;
    for (int i = 0; i < a->n_buckets && a->buckets; i++) free(a->buckets[i].rows);
    free(a->buckets);
    memset(a, 0, sizeof *a);
}

enum { ROW_COUNTS = 13, ROW_FIELDS = 17 };
static const char *const row_fields[ROW_FIELDS] = {
    "bids",    "wins",        "spend_micros",      "imps",       "clicks",
    "losses",  "loss_outbid", "loss_floor",        "loss_other", "expired",
    "opps",    "convs",       "conv_value_micros", "pctr_bids",  "pctr_wins",
    "won_cpm", "lost_cpm"};

static int bucket_from(const cJSON *bj, const char *ctx, beat_agg_bucket *bk, beat_reason *why) {
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
        int64_t *dst[ROW_COUNTS] = {
            &r->bids,   &r->wins,        &r->spend_micros,     &r->imps,       &r->clicks,
            &r->losses, &r->loss_outbid, &r->loss_floor,       &r->loss_other, &r->expired,
            &r->opps,   &r->convs,       &r->conv_value_micros};
        if ((rc = beat_json_fields(c, rctx, row_fields, ROW_FIELDS, rf, false, why))) return rc;
        for (int k = 0; k < ROW_COUNTS; k++)
            if (rf[k] && (rc = beat_json_count(rf[k], rctx, row_fields[k], dst[k], why))) return rc;
        if ((rf[13] &&
             (rc = beat_json_double(rf[13], rctx, "pctr_bids", 0, 1e15, &r->pctr_bids, why))) ||
            (rf[14] &&
             (rc = beat_json_double(rf[14], rctx, "pctr_wins", 0, 1e15, &r->pctr_wins, why))) ||
            (rf[15] && (rc = j_land(rf[15], rctx, "won_cpm", r->won_cpm, why))) ||
            (rf[16] && (rc = j_land(rf[16], rctx, "lost_cpm", r->lost_cpm, why))))
            return rc;
        bk->n_rows++;
    }
    return 0;
}

int beat_aggregates_decode(const char *json, size_t len, beat_aggregates *out, beat_reason *why) {
    static const char *const names[] = {"v",         "instance", "epoch",   "bucket_ms",
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
                 (rc = beat_wire_j_id(f[1], "", "instance", true, a.instance, why)) ||
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
