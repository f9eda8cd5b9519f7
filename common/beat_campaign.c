/* Campaign sets (beat_campaign.h): the operator's JSON, validated field by
 * field with reasons that name the field (the 'S' snapshot frame that
 * carries them to inference is in beat_snapshot.c). Input comes
 * from operators and the network: never assert on it. Unknown keys inside a
 * campaign are refused, because a typo such as "pause":true silently
 * ignored would spend real money. */
#include "beat_campaign.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign_fields.h"
#include "beat_json.h"

#define I53 BEAT_JSON_I53
#define LIST_MAX 4096          /* items in one targeting/adomain/cat list */
#define LIST_STR_MAX 255       /* bytes of one list item / advertiser */
#define FLIGHT_S_MAX 315360000 /* ten years */

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)
#define DOT(ctx) beat_json_dot(ctx)

/* ---- campaign-specific fields (generic ones are in beat_json.c) ----------- */

int beat_campaign_j_id(const cJSON *v, const char *ctx, const char *name, char out[BEAT_ID_MAX + 1],
                       beat_reason *why) {
    if (!v) return FAIL("%s%s%s: missing", ctx, DOT(ctx), name);
    if (!cJSON_IsString(v)) return FAIL("%s%s%s: must be a string", ctx, DOT(ctx), name);
    if (!beat_id_ok(v->valuestring, strlen(v->valuestring), BEAT_ID_MAX))
        return FAIL("%s%s%s: must match [A-Za-z0-9_.:-]{1,%d}", ctx, DOT(ctx), name, BEAT_ID_MAX);
    strcpy(out, v->valuestring);
    return 0;
}

void beat_campaign_strv_fini(beat_strv *v) {
    for (int i = 0; i < v->n; i++) free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

int beat_campaign_j_strv(const cJSON *v, const char *ctx, const char *name, beat_strv *out,
                         beat_reason *why) {
    if (!v) return 0; /* absent list = any */
    if (!cJSON_IsArray(v)) return FAIL("%s%s%s: must be an array", ctx, DOT(ctx), name);
    int n = cJSON_GetArraySize(v);
    if (n > LIST_MAX) return FAIL("%s%s%s: too many items (> %d)", ctx, DOT(ctx), name, LIST_MAX);
    if (n && !(out->v = calloc((size_t)n, sizeof *out->v)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    char item[48];
    for (const cJSON *c = v->child; c; c = c->next) {
        snprintf(item, sizeof item, "%s[%d]", name, out->n);
        int rc =
            beat_json_strdup(c, ctx, item, LIST_STR_MAX, BEAT_JSON_NONEMPTY, &out->v[out->n], why);
        if (rc) return rc;
        out->n++;
    }
    return 0;
}

/* ---- decode ---------------------------------------------------------------- */

enum {
    C_ID,
    C_ADV,
    C_ADOMAIN,
    C_CAT,
    C_START,
    C_END,
    C_FLIGHT,
    C_BUDGET,
    C_BASE,
    C_MAX,
    C_PAUSED,
    C_TARGETING,
    C_CREATIVES,
    C_FREQ,
    C_SEAT,
    C_DEALS,
    C_BUNDLE,
    C_SCHAIN,
    C_SELLERS,
    C_PACING,
    C_TZ,
    C_SCHED,
    C_DAILY,
    C_ROLLOVER,
    C_CONV_WINDOW,
    C_N
};
static const char *const c_names[C_N] = {"id",
                                         "advertiser",
                                         "adomain",
                                         "cat",
                                         "start_ms",
                                         "end_ms",
                                         "flight_s",
                                         "budget_micros",
                                         "base_bid_cpm_micros",
                                         "max_bid_cpm_micros",
                                         "paused",
                                         "targeting",
                                         "creatives",
                                         "freq_cap",
                                         "seat",
                                         "deals",
                                         "bundle",
                                         "schain_complete",
                                         "sellers",
                                         "pacing",
                                         "tz",
                                         "schedule",
                                         "daily_budget_micros",
                                         "rollover",
                                         "conv_window_s"};
static const char *const t_names[] = {"countries",     "device_types",  "os",
                                      "site_cat",      "domains_allow", "domains_block",
                                      "bundles_allow", "bundles_block"};
static const char *const fc_names[] = {"max", "window_s"};

static int targeting_from(const cJSON *tj, const char *cctx, bool strict, beat_campaign *c,
                          beat_reason *why) {
    char ctx[48];
    snprintf(ctx, sizeof ctx, "%s.targeting", cctx);
    /* the v 1 keys, then the geography/audience ones (beat_campaign_geo.c) */
    const char *names[8 + BEAT_AUD_KEYS];
    memcpy(names, t_names, sizeof t_names);
    memcpy(names + 8, beat_campaign_aud_keys, BEAT_AUD_KEYS * sizeof *names);
    const cJSON *f[8 + BEAT_AUD_KEYS];
    int rc = beat_json_fields(tj, ctx, names, 8 + BEAT_AUD_KEYS, f, strict, why);
    if (!rc) rc = beat_campaign_aud_decode(f + 8, ctx, strict, &c->aud, why);
    beat_strv *lists[8] = {&c->countries,
                           NULL,
                           &c->os,
                           &c->site_cat,
                           &c->domains_allow,
                           &c->domains_block,
                           &c->bundles_allow,
                           &c->bundles_block};
    for (int i = 0; !rc && i < 8; i++)
        if (lists[i]) rc = beat_campaign_j_strv(f[i], ctx, t_names[i], lists[i], why);
    if (rc || !f[1]) return rc;
    if (!cJSON_IsArray(f[1])) return FAIL("%s.device_types: must be an array", ctx);
    int max = (int)(sizeof c->device_types / sizeof c->device_types[0]);
    for (const cJSON *d = f[1]->child; d; d = d->next) {
        if (c->n_device_types == max)
            return FAIL("%s.device_types: too many items (> %d)", ctx, max);
        char item[24];
        snprintf(item, sizeof item, "device_types[%d]", c->n_device_types);
        if ((rc = beat_json_int32(d, ctx, item, 1, 255, &c->device_types[c->n_device_types], why)))
            return rc;
        c->n_device_types++;
    }
    return 0;
}

static int creatives_from(const cJSON *aj, const char *cctx, bool strict, beat_campaign *c,
                          beat_reason *why) {
    if (!aj) return FAIL("%s.creatives: missing", cctx);
    if (!cJSON_IsArray(aj)) return FAIL("%s.creatives: must be an array", cctx);
    int n = cJSON_GetArraySize(aj);
    if (n < 1) return FAIL("%s.creatives: needs at least 1 creative", cctx);
    if (n > BEAT_CREATIVES_MAX)
        return FAIL("%s.creatives: too many (> %d)", cctx, BEAT_CREATIVES_MAX);
    if (!(c->creatives = calloc((size_t)n, sizeof *c->creatives)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *j = aj->child; j; j = j->next) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "%s.creatives[%d]", cctx, c->n_creatives);
        beat_creative *cr = &c->creatives[c->n_creatives++];
        int rc = beat_creative_decode(j, ctx, strict, cr, why);
        if (rc) return rc;
        for (int k = 0; k < c->n_creatives - 1; k++)
            if (strcmp(c->creatives[k].crid, cr->crid) == 0)
                return FAIL("%s.crid: duplicate \"%s\"", ctx, cr->crid);
    }
    return 0;
}

/* sellers entries: "asi" or "asi:sid", both parts non-empty and without
 * spaces (they are compared with source.schain nodes' asi and sid). */
static int supply_from(const cJSON *complete, const cJSON *sellers, const char *ctx,
                       beat_campaign *c, beat_reason *why) {
    int rc;
    if (complete &&
        (rc = beat_json_bool(complete, ctx, "schain_complete", &c->schain_complete, why)))
        return rc;
    if ((rc = beat_campaign_j_strv(sellers, ctx, "sellers", &c->sellers, why))) return rc;
    for (int i = 0; i < c->sellers.n; i++) {
        const char *s = c->sellers.v[i], *colon = strchr(s, ':');
        bool ok = s[0] != ':' && (!colon || (colon[1] && !strchr(colon + 1, ':')));
        for (const char *p = s; ok && *p; p++) ok = (unsigned char)*p > ' ';
        if (!ok) return FAIL("%s.sellers[%d]: must be \"asi\" or \"asi:sid\"", ctx, i);
    }
    return 0;
}

static const char *const pacing_names[] = {"default", "even", "value", "asap"};
static_assert(sizeof pacing_names / sizeof pacing_names[0] == BEAT_PACING_ASAP + 1,
              "one name per pacing mode, indexed by beat_pacing");

int beat_pacing_parse(const char *s, beat_pacing *out) {
    for (int i = BEAT_PACING_EVEN; s && i <= BEAT_PACING_ASAP; i++)
        if (strcmp(s, pacing_names[i]) == 0) {
            *out = (beat_pacing)i;
            return 0;
        }
    return -EINVAL;
}

const char *beat_pacing_name(beat_pacing p) {
    return p >= BEAT_PACING_DEFAULT && p <= BEAT_PACING_ASAP ? pacing_names[p] : "default";
}

static int campaign_from(const cJSON *cj, const char *ctx, int64_t now_ms, bool strict,
                         beat_campaign *c, beat_reason *why) {
    const cJSON *f[C_N];
    int rc;
    if ((rc = beat_json_fields(cj, ctx, c_names, C_N, f, strict, why)) ||
        (rc = beat_campaign_j_id(f[C_ID], ctx, "id", c->id, why)))
        return rc;
    if (f[C_ADV])
        rc = beat_json_strdup(f[C_ADV], ctx, "advertiser", LIST_STR_MAX, 0, &c->advertiser, why);
    else if (!(c->advertiser = strdup(""))) rc = beat_reasonf(why, -ENOMEM, "out of memory");
    if (rc || (rc = beat_campaign_j_strv(f[C_ADOMAIN], ctx, "adomain", &c->adomain, why)) ||
        (rc = beat_campaign_j_strv(f[C_CAT], ctx, "cat", &c->cat, why)))
        return rc;
    if (f[C_FLIGHT]) {
        int64_t fs;
        if (f[C_START] || f[C_END])
            return FAIL("%s.flight_s: give either flight_s or start_ms/end_ms", ctx);
        if ((rc = beat_json_int(f[C_FLIGHT], ctx, "flight_s", 1, FLIGHT_S_MAX, &fs, why)))
            return rc;
        if (now_ms < 0 || now_ms > I53 - (int64_t)FLIGHT_S_MAX * 1000)
            return FAIL("%s.flight_s: clock out of range", ctx);
        c->start_ms = now_ms;
        c->end_ms = now_ms + fs * 1000;
    } else {
        if ((rc = beat_json_count(f[C_START], ctx, "start_ms", &c->start_ms, why)) ||
            (rc = beat_json_count(f[C_END], ctx, "end_ms", &c->end_ms, why)))
            return rc;
        if (c->end_ms <= c->start_ms) return FAIL("%s.end_ms: must be > start_ms", ctx);
    }
    if ((rc = beat_json_int(f[C_BUDGET], ctx, "budget_micros", 1, I53, &c->budget_micros, why)) ||
        (rc = beat_json_int(f[C_BASE], ctx, "base_bid_cpm_micros", 1, I53, &c->base_bid_cpm_micros,
                            why)) ||
        (rc = beat_json_int(f[C_MAX], ctx, "max_bid_cpm_micros", 1, I53, &c->max_bid_cpm_micros,
                            why)))
        return rc;
    if (c->max_bid_cpm_micros < c->base_bid_cpm_micros)
        return FAIL("%s.max_bid_cpm_micros: must be >= base_bid_cpm_micros", ctx);
    if (f[C_PAUSED] && (rc = beat_json_bool(f[C_PAUSED], ctx, "paused", &c->paused, why)))
        return rc;
    if (f[C_TARGETING] && (rc = targeting_from(f[C_TARGETING], ctx, strict, c, why))) return rc;
    if ((rc = creatives_from(f[C_CREATIVES], ctx, strict, c, why))) return rc;
    if (!f[C_SEAT]) strcpy(c->seat, BEAT_SEAT_DEFAULT);
    else if ((rc = beat_campaign_j_id(f[C_SEAT], ctx, "seat", c->seat, why))) return rc;
    if ((rc = beat_campaign_j_strv(f[C_DEALS], ctx, "deals", &c->deals, why)) ||
        (f[C_BUNDLE] && (rc = beat_json_strdup(f[C_BUNDLE], ctx, "bundle", LIST_STR_MAX,
                                               BEAT_JSON_NONEMPTY, &c->bundle, why))))
        return rc;
    if ((rc = supply_from(f[C_SCHAIN], f[C_SELLERS], ctx, c, why))) return rc;
    if (f[C_PACING] && (!cJSON_IsString(f[C_PACING]) ||
                        beat_pacing_parse(f[C_PACING]->valuestring, &c->pacing) != 0))
        return FAIL("%s.pacing: must be \"even\", \"value\" or \"asap\"", ctx);
    if (f[C_TZ]) {
        beat_reason tzwhy = {{0}};
        if (!cJSON_IsString(f[C_TZ]) || !(c->tz = beat_tz_get(f[C_TZ]->valuestring, &tzwhy)))
            return FAIL("%s.tz: %s", ctx,
                        tzwhy.msg[0] ? tzwhy.msg : "must be a time zone name (string)");
    }
    if (f[C_SCHED] && (rc = beat_sched_decode(f[C_SCHED], ctx, strict, &c->schedule, why)))
        return rc;
    if ((rc = beat_campaign_budget_decode(f[C_DAILY], f[C_ROLLOVER], ctx, c, why))) return rc;
    /* Only attribution reads it (docs/contracts.md "Conversions"): a reader
     * that ignores it signs no window and the default applies, so it needs
     * no new set version. */
    if (f[C_CONV_WINDOW] && (rc = beat_json_int32(f[C_CONV_WINDOW], ctx, "conv_window_s", 1,
                                                  BEAT_CONV_WINDOW_MAX_S, &c->conv_window_s, why)))
        return rc;
    if (f[C_FREQ]) {
        char fctx[48];
        const cJSON *ff[2];
        snprintf(fctx, sizeof fctx, "%s.freq_cap", ctx);
        if ((rc = beat_json_fields(f[C_FREQ], fctx, fc_names, 2, ff, strict, why)) ||
            (rc = beat_json_int32(ff[0], fctx, "max", 1, 1000000, &c->freq_cap_max, why)) ||
            (rc = beat_json_int32(ff[1], fctx, "window_s", 1, FLIGHT_S_MAX, &c->freq_cap_window_s,
                                  why)))
            return rc;
    }
    return 0;
}

static int cmp_idx(const void *a, const void *b, void *arg) {
    const beat_campaign *c = arg;
    int ia = *(const int *)a, ib = *(const int *)b;
    int r = strcmp(c[ia].id, c[ib].id);
    return r ? r : (ia > ib) - (ia < ib);
}

/* Sorting indices keeps the duplicate check O(n log n) for 10k campaigns
 * while the reason still names the later of the two entries. */
static int check_unique(const beat_campaign_set *s, beat_reason *why) {
    if (s->n < 2) return 0;
    int *idx = malloc((size_t)s->n * sizeof *idx);
    if (!idx) return beat_reasonf(why, -ENOMEM, "out of memory");
    for (int i = 0; i < s->n; i++) idx[i] = i;
    qsort_r(idx, (size_t)s->n, sizeof *idx, cmp_idx, s->c);
    int rc = 0;
    for (int i = 1; i < s->n && !rc; i++)
        if (strcmp(s->c[idx[i]].id, s->c[idx[i - 1]].id) == 0)
            rc = FAIL("campaigns[%d].id: duplicate \"%s\"", idx[i], s->c[idx[i]].id);
    free(idx);
    return rc;
}

int beat_campaign_set_from(const cJSON *root, int64_t now_ms, bool strict, beat_campaign_set *s,
                           beat_reason *why) {
    static const char *const names[] = {"v", "version", "campaigns"};
    const cJSON *f[3];
    int rc;
    int64_t v;
    if ((rc = beat_json_fields(root, "", names, 3, f, strict, why)) ||
        (rc = beat_json_int(f[0], "", "v", INT64_MIN, INT64_MAX, &v, why)))
        return rc;
    if (v < BEAT_CAMPAIGNS_V_MIN || v > BEAT_CAMPAIGNS_V)
        return FAIL("v: unsupported version %" PRId64, v);
    if (f[1] && (rc = beat_json_count(f[1], "", "version", &s->version, why))) return rc;
    if (!f[2]) return FAIL("campaigns: missing");
    if (!cJSON_IsArray(f[2])) return FAIL("campaigns: must be an array");
    int n = cJSON_GetArraySize(f[2]);
    if (n > BEAT_CAMPAIGNS_MAX) return FAIL("campaigns: too many (%d > %d)", n, BEAT_CAMPAIGNS_MAX);
    if (n && !(s->c = calloc((size_t)n, sizeof *s->c)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *cj = f[2]->child; cj; cj = cj->next) {
        char ctx[32];
        snprintf(ctx, sizeof ctx, "campaigns[%d]", s->n);
        if ((rc = campaign_from(cj, ctx, now_ms, strict, &s->c[s->n++], why))) return rc;
    }
    return check_unique(s, why);
}

int beat_campaigns_decode(const char *json, size_t len, int64_t now_ms, unsigned flags,
                          beat_campaign_set *out, beat_reason *why) {
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    beat_campaign_set s = {0};
    int rc = beat_campaign_set_from(root, now_ms, (flags & BEAT_CAMPAIGNS_STRICT) != 0, &s, why);
    cJSON_Delete(root);
    if (rc) {
        beat_campaigns_fini(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void beat_campaigns_fini(beat_campaign_set *s) {
    if (!s) return;
    for (int i = 0; i < s->n && s->c; i++) {
        beat_campaign *c = &s->c[i];
        free(c->advertiser);
        beat_strv *lists[] = {
            &c->adomain,       &c->cat,           &c->countries,     &c->os,
            &c->site_cat,      &c->domains_allow, &c->domains_block, &c->bundles_allow,
            &c->bundles_block, &c->deals,         &c->sellers};
        for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++)
            beat_campaign_strv_fini(lists[k]);
        free(c->bundle);
        for (int k = 0; k < c->n_creatives && c->creatives; k++)
            beat_creative_fini(&c->creatives[k]);
        free(c->creatives);
        beat_campaign_aud_fini(&c->aud);
    }
    free(s->c);
    memset(s, 0, sizeof *s);
}

const beat_campaign *beat_campaigns_find(const beat_campaign_set *s, const char *id) {
    for (int i = 0; s && i < s->n; i++)
        if (strcmp(s->c[i].id, id) == 0) return &s->c[i];
    return NULL;
}

/* ---- encode ---------------------------------------------------------------- */

void beat_campaign_e_key(beat_json_enc *e, const char *key, bool comma) {
    if (comma) beat_json_put_raw(e, ",");
    beat_json_put_str(e, key);
    beat_json_put_raw(e, ":");
}
void beat_campaign_e_i64(beat_json_enc *e, const char *key, int64_t x) {
    beat_campaign_e_key(e, key, true);
    beat_json_put_printf(e, "%" PRId64, x);
}
void beat_campaign_e_strv(beat_json_enc *e, const char *key, bool comma, const beat_strv *v) {
    beat_campaign_e_key(e, key, comma);
    beat_json_put_raw(e, "[");
    for (int i = 0; i < v->n; i++) {
        if (i) beat_json_put_raw(e, ",");
        beat_json_put_str(e, v->v[i]);
    }
    beat_json_put_raw(e, "]");
}

static void campaign_encode(beat_json_enc *e, const beat_campaign *c) {
    beat_json_put_raw(e, "{");
    beat_campaign_e_key(e, "id", false);
    beat_json_put_str(e, c->id);
    beat_campaign_e_key(e, "advertiser", true);
    beat_json_put_str(e, c->advertiser);
    beat_campaign_e_strv(e, "adomain", true, &c->adomain);
    beat_campaign_e_strv(e, "cat", true, &c->cat);
    beat_campaign_e_i64(e, "start_ms", c->start_ms);
    beat_campaign_e_i64(e, "end_ms", c->end_ms);
    beat_campaign_e_i64(e, "budget_micros", c->budget_micros);
    beat_campaign_e_i64(e, "base_bid_cpm_micros", c->base_bid_cpm_micros);
    beat_campaign_e_i64(e, "max_bid_cpm_micros", c->max_bid_cpm_micros);
    beat_json_put_raw(e, c->paused ? ",\"paused\":true" : ",\"paused\":false");
    beat_json_put_raw(e, ",\"targeting\":{");
    beat_campaign_e_strv(e, "countries", false, &c->countries);
    beat_json_put_raw(e, ",\"device_types\":[");
    for (int i = 0; i < c->n_device_types && i < 16; i++)
        beat_json_put_printf(e, i ? ",%d" : "%d", c->device_types[i]);
    beat_json_put_raw(e, "]");
    beat_campaign_e_strv(e, "os", true, &c->os);
    beat_campaign_e_strv(e, "site_cat", true, &c->site_cat);
    beat_campaign_e_strv(e, "domains_allow", true, &c->domains_allow);
    beat_campaign_e_strv(e, "domains_block", true, &c->domains_block);
    beat_campaign_e_strv(e, "bundles_allow", true, &c->bundles_allow);
    beat_campaign_e_strv(e, "bundles_block", true, &c->bundles_block);
    beat_campaign_aud_encode(e, &c->aud);
    beat_json_put_raw(e, "},\"creatives\":[");
    for (int i = 0; i < c->n_creatives; i++) {
        const beat_creative *cr = &c->creatives[i];
        beat_json_put_raw(e, i ? ",{" : "{");
        beat_creative_encode(e, cr);
        beat_json_put_raw(e, "}");
    }
    beat_json_put_raw(e, "]");
    if (c->freq_cap_max > 0) {
        beat_json_put_printf(e, ",\"freq_cap\":{\"max\":%d,\"window_s\":%d}", c->freq_cap_max,
                             c->freq_cap_window_s);
    }
    beat_campaign_e_key(e, "seat", true);
    beat_json_put_str(e, c->seat[0] ? c->seat : BEAT_SEAT_DEFAULT);
    if (c->deals.n) beat_campaign_e_strv(e, "deals", true, &c->deals);
    if (c->bundle) {
        beat_campaign_e_key(e, "bundle", true);
        beat_json_put_str(e, c->bundle);
    }
    if (c->schain_complete) beat_json_put_raw(e, ",\"schain_complete\":true");
    if (c->sellers.n) beat_campaign_e_strv(e, "sellers", true, &c->sellers);
    if (c->pacing != BEAT_PACING_DEFAULT)
        beat_json_put_printf(e, ",\"pacing\":\"%s\"", beat_pacing_name(c->pacing));
    if (c->tz) {
        beat_campaign_e_key(e, "tz", true);
        beat_json_put_str(e, beat_tz_name(c->tz));
    }
    if (c->schedule.on) beat_campaign_e_sched(e, c);
    beat_campaign_budget_encode(e, c);
    if (c->conv_window_s > 0) beat_json_put_printf(e, ",\"conv_window_s\":%d", c->conv_window_s);
    beat_json_put_raw(e, "}");
}

/* The oldest set version that can carry c: a field a reader of an older
 * version would ignore changes where or how a campaign spends, so its set
 * is written at the version that introduced the field. */
static int campaign_min_version(const beat_campaign *c) {
    if (c->tz || c->schedule.on || beat_campaign_aud_used(&c->aud) || beat_campaign_budget_used(c))
        return 4;
    if (c->pacing != BEAT_PACING_DEFAULT) return 3;
    if (c->schain_complete || c->sellers.n) return 2;
    return 1;
}

int beat_campaigns_encode(const beat_campaign_set *s, beat_buf *out) {
    beat_json_enc e = beat_json_enc_start(out);
    int v = BEAT_CAMPAIGNS_V_MIN; /* the oldest version that holds the set */
    for (int i = 0; i < s->n; i++) {
        int cv = campaign_min_version(&s->c[i]);
        if (cv > v) v = cv;
    }
    beat_json_put_printf(&e, "{\"v\":%d", v);
    if (s->version > 0) beat_json_put_printf(&e, ",\"version\":%" PRId64, s->version);
    beat_json_put_raw(&e, ",\"campaigns\":[");
    for (int i = 0; i < s->n && !e.rc; i++) {
        if (i) beat_json_put_raw(&e, ",");
        campaign_encode(&e, &s->c[i]);
    }
    beat_json_put_raw(&e, "]}");
    return beat_json_enc_done(&e);
}
