/* Wire formats between daemons (beat_wire.h), data plane: events and
 * training samples (aggregates are in beat_wire_agg.c, pacing state and the
 * heartbeat frame in beat_wire_state.c). Called by every daemon on both ends of a link.
 * Decoders see untrusted bytes: they must never assert, never read past len,
 * and always say why they refused something. Encoders write exactly what the
 * decoders accept, so decode(encode(x)) == x. */
#include "beat_wire.h"

#include <assert.h>
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

/* ---- wire-specific fields (generic ones are in beat_json.c) ---------------- */

static int j_feat(const cJSON *v, const char *ctx, uint32_t *feat, uint32_t *n, beat_reason *why) {
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

static void e_feat(beat_json_enc *e, const uint32_t *feat, uint32_t n) {
    beat_json_put_raw(e, ",\"feat\":[");
    for (uint32_t i = 0; i < n; i++) {
        if (i) beat_json_put_raw(e, ",");
        beat_json_put_i64(e, feat[i]);
    }
    beat_json_put_raw(e, "]");
}
/* ---- events ---------------------------------------------------------------- */

static const char *const ev_names[] = {NULL,  "bid",   "win", "bill", "loss",
                                       "imp", "click", "hb",  "opp",  "conv"};
static_assert(sizeof ev_names / sizeof ev_names[0] == BEAT_EV_CONV + 1,
              "one name per event type, indexed by beat_event_type");

const char *beat_event_type_name(beat_event_type t) {
    return t >= BEAT_EV_BID && t <= BEAT_EV_CONV ? ev_names[t] : "unknown";
}

int beat_event_type_parse(const char *s, beat_event_type *out) {
    for (int t = BEAT_EV_BID; t <= BEAT_EV_CONV; t++)
        if (s && strcmp(s, ev_names[t]) == 0) {
            *out = (beat_event_type)t;
            return 0;
        }
    return -EINVAL;
}

/* A heartbeat: node, ts, lost, bye (beat_wire.h). */
static int hb_encode(const beat_event *ev, beat_buf *out) {
    if (!beat_wire_id_ok(ev->node, true) || ev->lost < 0) return -EINVAL;
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

static int opp_encode(const beat_event *ev, beat_buf *out) {
    if (!beat_wire_id_ok(ev->node, true) || !beat_wire_id_ok(ev->campaign, true) || ev->opps < 1)
        return -EINVAL;
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

int beat_event_encode(const beat_event *ev, beat_buf *out) {
    if (ev->type == BEAT_EV_HB) return hb_encode(ev, out);
    if (ev->type == BEAT_EV_OPP) return opp_encode(ev, out);
    bool conv = ev->type == BEAT_EV_CONV;
    if (conv && (!ev->campaign[0] || ev->conv_window_s < 1 || ev->notice_ts_ms <= 0 ||
                 ev->value_micros < 0))
        return -EINVAL;
    if ((!conv && (ev->type < BEAT_EV_BID || ev->type > BEAT_EV_CLICK)) ||
        !beat_wire_id_ok(ev->auction, true) || !beat_wire_id_ok(ev->imp, true) ||
        !beat_wire_id_ok(ev->campaign, false) || !beat_wire_id_ok(ev->crid, false) ||
        !beat_wire_id_ok(ev->node, false) || !beat_wire_id_ok(ev->exchange, false) ||
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
    beat_wire_put_num(&e, ",\"price\":", ev->price_cpm_micros);
    beat_wire_put_num(&e, ",\"bid\":", ev->bid_cpm_micros);
    beat_wire_put_num(&e, ",\"loss\":", ev->loss_code);
    if (ev->pctr != 0) {
        beat_json_put_raw(&e, ",\"pctr\":");
        beat_json_put_prob(&e, ev->pctr);
    }
    beat_wire_put_num(&e, ",\"model_v\":", ev->model_version);
    beat_wire_put_num(&e, ",\"state_v\":", ev->state_version);
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
    beat_wire_put_num(&e, ",\"nts\":", ev->notice_ts_ms);
    if (ev->type == BEAT_EV_BID && ev->cap_key && ev->cap_window_s > 0) {
        char hex[17];
        for (int i = 0; i < 16; i++) hex[i] = "0123456789abcdef"[ev->cap_key >> (60 - 4 * i) & 15];
        hex[16] = '\0';
        beat_json_put_raw(&e, ",\"cap\":\"");
        beat_json_put_raw(&e, hex);
        beat_json_put_raw(&e, "\"");
        beat_wire_put_num(&e, ",\"cap_s\":", ev->cap_window_s);
    }
    if (conv) {
        beat_wire_put_num(&e, ",\"conv_s\":", ev->conv_window_s);
        beat_wire_put_num(&e, ",\"value\":", ev->value_micros);
    }
    if (ev->n_feat) e_feat(&e, ev->feat, ev->n_feat);
    beat_json_put_raw(&e, "}");
    return beat_json_enc_done(&e);
}

enum {
    EV_V,
    EV_TYPE,
    EV_AUCTION,
    EV_IMP,
    EV_CAMPAIGN,
    EV_CRID,
    EV_NODE,
    EV_PRICE,
    EV_BID,
    EV_NTS,
    EV_LOSS,
    EV_PCTR,
    EV_MODEL,
    EV_STATE,
    EV_TS,
    EV_FEAT,
    EV_LOST,
    EV_BYE,
    EV_EXCHANGE,
    EV_OPPS,
    EV_CAP,
    EV_CAP_S,
    EV_CONV_S,
    EV_VALUE,
    EV_N
};
static const char *const ev_fields[EV_N] = {
    "v",    "type", "auction",  "imp",  "campaign", "crid",    "node",   "price",
    "bid",  "nts",  "loss",     "pctr", "model_v",  "state_v", "ts",     "feat",
    "lost", "bye",  "exchange", "n",    "cap",      "cap_s",   "conv_s", "value"};

/* A heartbeat names its receiver and time; it carries no auction. Other
 * fields an hb does not define are ignored like any unknown field. */
static int hb_from(const cJSON *const *f, beat_event *ev, beat_reason *why) {
    int rc;
    if ((rc = beat_wire_j_id(f[EV_NODE], "", "node", true, ev->node, why)) ||
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
static int opp_from(const cJSON *const *f, beat_event *ev, beat_reason *why) {
    int rc;
    if ((rc = beat_wire_j_id(f[EV_NODE], "", "node", true, ev->node, why)) ||
        (rc = beat_wire_j_id(f[EV_CAMPAIGN], "", "campaign", true, ev->campaign, why)) ||
        (rc = beat_json_count(f[EV_TS], "", "ts", &ev->ts_ms, why)) ||
        (rc = beat_json_int(f[EV_OPPS], "", "n", 1, I53, &ev->opps, why)))
        return rc;
    return 0;
}

/* A bid's frequency-cap key and window: both or neither. */
static int cap_from(const cJSON *const *f, beat_event *ev, beat_reason *why) {
    if (!f[EV_CAP] && !f[EV_CAP_S]) return 0;
    const char *h = cJSON_IsString(f[EV_CAP]) ? f[EV_CAP]->valuestring : NULL;
    uint64_t k = 0;
    for (int i = 0; h && i < 16; i++) {
        int c = h[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) h = NULL;
        else k = k << 4 | (uint64_t)d;
    }
    if (!h || h[16] || !k) return FAIL("cap: must be 16 lowercase hex digits, not all 0");
    int64_t s;
    int rc = f[EV_CAP_S] ? beat_json_int(f[EV_CAP_S], "", "cap_s", 1, INT32_MAX, &s, why)
                         : FAIL("cap_s: missing (cap given)");
    if (rc) return rc;
    ev->cap_key = k;
    ev->cap_window_s = (int32_t)s;
    return 0;
}

/* A conversion names its campaign, its click's signed time and window. */
static int conv_from(const cJSON *const *f, beat_event *ev, beat_reason *why) {
    int64_t s = 0;
    int rc;
    if (!ev->campaign[0]) return FAIL("campaign: missing (conv)");
    if (ev->notice_ts_ms <= 0) return FAIL("nts: missing (conv)");
    if (!f[EV_CONV_S]) return FAIL("conv_s: missing (conv)");
    if ((rc = beat_json_int(f[EV_CONV_S], "", "conv_s", 1, INT32_MAX, &s, why)) ||
        (f[EV_VALUE] && (rc = beat_json_count(f[EV_VALUE], "", "value", &ev->value_micros, why))))
        return rc;
    ev->conv_window_s = (int32_t)s;
    return 0;
}

static int event_from(const cJSON *root, beat_event *ev, beat_reason *why) {
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
    if ((rc = beat_wire_j_id(f[EV_AUCTION], "", "auction", true, ev->auction, why)) ||
        (rc = beat_wire_j_id(f[EV_IMP], "", "imp", true, ev->imp, why)) ||
        (f[EV_CAMPAIGN] &&
         (rc = beat_wire_j_id(f[EV_CAMPAIGN], "", "campaign", false, ev->campaign, why))) ||
        (f[EV_CRID] && (rc = beat_wire_j_id(f[EV_CRID], "", "crid", false, ev->crid, why))) ||
        (f[EV_NODE] && (rc = beat_wire_j_id(f[EV_NODE], "", "node", false, ev->node, why))) ||
        (f[EV_EXCHANGE] &&
         (rc = beat_wire_j_id(f[EV_EXCHANGE], "", "exchange", false, ev->exchange, why))) ||
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
    if (ev->type == BEAT_EV_CONV) return conv_from(f, ev, why);
    return cap_from(f, ev, why);
}

int beat_event_decode(const char *json, size_t len, beat_event *out, beat_reason *why) {
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    beat_event ev;
    memset(&ev, 0, sizeof ev);
    int rc = event_from(root, &ev, why);
    cJSON_Delete(root);
    if (rc == 0) *out = ev;
    return rc;
}

/* ---- training samples ------------------------------------------------------ */

int beat_samples_header_encode(const beat_samples_header *h, beat_buf *out) {
    if (!beat_wire_id_ok(h->instance, true)) return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"v\":%d,\"instance\":", BEAT_SAMPLES_V);
    beat_json_put_str(&e, h->instance);
    beat_json_put_printf(&e,
                         ",\"epoch\":\"%016" PRIx64 "\",\"first_seq\":%" PRIu64
                         ",\"last_seq\":%" PRIu64 ",\"n\":%" PRId64 "}\n",
                         h->epoch, h->first_seq, h->last_seq, h->n);
    return beat_json_enc_done(&e);
}

int beat_sample_encode(const beat_sample *s, beat_buf *out) {
    if (!beat_wire_id_ok(s->campaign, true) || s->n_feat > BEAT_FEAT_MAX || !isfinite(s->weight) ||
        (s->label != 0 && s->label != 1) || (s->conv != 0 && s->conv != 1))
        return -EINVAL;
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"seq\":%" PRIu64 ",\"campaign\":", s->seq);
    beat_json_put_str(&e, s->campaign);
    beat_json_put_printf(&e, ",\"label\":%d", s->label);
    if (s->conv) beat_json_put_raw(&e, ",\"conv\":1");
    beat_json_put_raw(&e, ",\"w\":");
    beat_json_put_float(&e, s->weight);
    beat_json_put_printf(&e, ",\"ts\":%" PRId64, s->ts_ms);
    e_feat(&e, s->feat, s->n_feat);
    beat_json_put_raw(&e, "}\n");
    return beat_json_enc_done(&e);
}

static int samples_header_from(const cJSON *root, beat_samples_header *h, beat_reason *why) {
    static const char *const names[] = {"v", "instance", "epoch", "first_seq", "last_seq", "n"};
    const cJSON *f[6];
    int64_t fs, ls;
    int rc = beat_json_fields(root, "line 1", names, 6, f, false, why);
    if (rc || (rc = beat_json_version(f[0], "line 1", BEAT_SAMPLES_V, why)) ||
        (rc = beat_wire_j_id(f[1], "line 1", "instance", true, h->instance, why)) ||
        (rc = beat_json_hex64(f[2], "line 1", "epoch", &h->epoch, why)) ||
        (rc = beat_json_count(f[3], "line 1", "first_seq", &fs, why)) ||
        (rc = beat_json_count(f[4], "line 1", "last_seq", &ls, why)) ||
        (rc = beat_json_count(f[5], "line 1", "n", &h->n, why)))
        return rc;
    h->first_seq = (uint64_t)fs;
    h->last_seq = (uint64_t)ls;
    return 0;
}

static int sample_from(const cJSON *root, const char *ctx, beat_sample *s, beat_reason *why) {
    static const char *const names[] = {"seq", "campaign", "label", "w", "ts", "feat", "conv"};
    const cJSON *f[7];
    int64_t seq, label, conv = 0;
    double w;
    int rc = beat_json_fields(root, ctx, names, 7, f, false, why);
    if (rc || (rc = beat_json_count(f[0], ctx, "seq", &seq, why)) ||
        (rc = beat_wire_j_id(f[1], ctx, "campaign", true, s->campaign, why)) ||
        (rc = beat_json_int(f[2], ctx, "label", 0, 1, &label, why)) ||
        (rc = beat_json_double(f[3], ctx, "w", 0, FLT_MAX, &w, why)) ||
        (rc = beat_json_count(f[4], ctx, "ts", &s->ts_ms, why)) ||
        (f[5] && (rc = j_feat(f[5], ctx, s->feat, &s->n_feat, why))) ||
        (f[6] && (rc = beat_json_int(f[6], ctx, "conv", 0, 1, &conv, why))))
        return rc;
    s->seq = (uint64_t)seq;
    s->label = (int)label;
    s->conv = (int)conv;
    s->weight = (float)w;
    if (!(s->weight > 0)) return FAIL("%s.w: must be > 0", ctx);
    return 0;
}

/* Splits body into lines; line_no counts from 1. Returns the next line or
 * NULL at the end, skipping empty lines (a trailing '\n' is normal). */
static const char *next_line(const char **cur, const char *end, size_t *n, int *line_no) {
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
                        int (*fn)(void *arg, const beat_sample *s), void *arg, beat_reason *why) {
    beat_samples_header hdr;
    memset(&hdr, 0, sizeof hdr);
    const char *cur = body, *end = body + len, *line;
    size_t n = 0;
    int line_no = 0, rc = 0;
    line = next_line(&cur, end, &n, &line_no);
    if (!line) return FAIL("line 1: missing header");
    cJSON *root;
    if (beat_json_parse(line, n, &root, why)) return FAIL("line %d: invalid JSON", line_no);
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
            if (beat_json_parse(line, n, &root, &sub)) return FAIL("%s: %s", ctx, sub.msg);
            beat_sample s;
            memset(&s, 0, sizeof s);
            rc = sample_from(root, ctx, &s, why);
            cJSON_Delete(root);
            if (rc) return rc;
            count++;
            if (pass == 1 && fn && (rc = fn(arg, &s)) != 0) return rc;
        }
        if (pass == 0 && count != hdr.n)
            return FAIL("line 1: n is %" PRId64 " but body has %" PRId64 " samples", hdr.n, count);
        if (pass == 0 && h) *h = hdr;
    }
    return 0;
}
