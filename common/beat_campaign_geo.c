/* Geography and audience targeting of a campaign (campaign sets v 4,
 * beat_campaign_aud in beat_campaign.h): the "targeting" keys regions,
 * metros, cities, zips, radius, segments_include/exclude and
 * lists_include/exclude, decoded with reasons that name the field and
 * encoded only when used. The rules that apply them are inference's. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign_fields.h"
#include "beat_seglist.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

enum { K_REGIONS, K_METROS, K_CITIES, K_ZIPS, K_RADIUS, K_SEG_IN, K_SEG_EX, K_LIST_IN, K_LIST_EX };
static const char *const aud_names[BEAT_AUD_KEYS] = {
    "regions",          "metros",           "cities",        "zips",         "radius",
    "segments_include", "segments_exclude", "lists_include", "lists_exclude"};
const char *const *const beat_campaign_aud_keys = aud_names;

/* "CCC:RR": a country code as the request's geo.country carries it
 * (letters), ':', a subdivision code (letters and digits): both parts are
 * compared with the request's, so a bare "NY" could not say which country. */
static bool region_ok(const char *s) {
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || !colon[1] || colon - s > 3) return false;
    for (const char *p = s; p < colon; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) return false;
    size_t n = 0;
    for (const char *p = colon + 1; *p; p++, n++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return n <= 3;
}

static int radius_from(const cJSON *v, const char *ctx, bool strict, beat_campaign_aud *a,
                       beat_reason *why) {
    static const char *const radius_names[] = {"lat", "lon", "radius_km"};
    if (!cJSON_IsArray(v)) return FAIL("%s.radius: must be an array", ctx);
    int n = cJSON_GetArraySize(v);
    if (n > BEAT_RADIUS_MAX) return FAIL("%s.radius: too many (> %d)", ctx, BEAT_RADIUS_MAX);
    if (n && !(a->radius = calloc((size_t)n, sizeof *a->radius)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *it = v->child; it; it = it->next) {
        char ictx[96];
        snprintf(ictx, sizeof ictx, "%s.radius[%d]", ctx, a->n_radius);
        const cJSON *f[3];
        beat_geo_radius *g = &a->radius[a->n_radius];
        int rc;
        if ((rc = beat_json_fields(it, ictx, radius_names, 3, f, strict, why)) ||
            (rc = beat_json_double(f[0], ictx, "lat", -90, 90, &g->lat, why)) ||
            (rc = beat_json_double(f[1], ictx, "lon", -180, 180, &g->lon, why)) ||
            (rc = beat_json_double(f[2], ictx, "radius_km", 0, BEAT_RADIUS_KM_MAX, &g->radius_km,
                                   why)))
            return rc;
        if (!(g->radius_km > 0)) return FAIL("%s.radius_km: must be > 0", ictx);
        a->n_radius++;
    }
    return 0;
}

/* [{"provider":"dp1","ids":["s1"]}, …]: providers unique, ids non-empty. */
static int seg_rules_from(const cJSON *v, const char *ctx, const char *name, bool strict,
                          beat_seg_rule **out, int *n_out, beat_reason *why) {
    static const char *const seg_names[] = {"provider", "ids"};
    if (!cJSON_IsArray(v)) return FAIL("%s.%s: must be an array", ctx, name);
    int n = cJSON_GetArraySize(v);
    if (n > BEAT_SEG_RULES_MAX)
        return FAIL("%s.%s: too many providers (> %d)", ctx, name, BEAT_SEG_RULES_MAX);
    if (n && !(*out = calloc((size_t)n, sizeof **out)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *it = v->child; it; it = it->next) {
        char ictx[96];
        snprintf(ictx, sizeof ictx, "%s.%s[%d]", ctx, name, *n_out);
        beat_seg_rule *s = &(*out)[*n_out];
        const cJSON *f[2];
        int rc;
        if ((rc = beat_json_fields(it, ictx, seg_names, 2, f, strict, why)) ||
            (rc = beat_campaign_j_id(f[0], ictx, "provider", s->provider, why)))
            return rc;
        (*n_out)++;
        if (!f[1]) return FAIL("%s.ids: missing", ictx);
        if ((rc = beat_campaign_j_strv(f[1], ictx, "ids", &s->ids, why))) return rc;
        if (s->ids.n == 0) return FAIL("%s.ids: needs at least 1 id", ictx);
        for (int k = 0; k < *n_out - 1; k++)
            if (strcmp((*out)[k].provider, s->provider) == 0)
                return FAIL("%s.provider: duplicate \"%s\"", ictx, s->provider);
    }
    return 0;
}

/* List ids name first-party lists (PUT /v1/segments/<id>): the id rule. */
static int list_ids_from(const cJSON *v, const char *ctx, const char *name, beat_strv *out,
                         beat_reason *why) {
    int rc = beat_campaign_j_strv(v, ctx, name, out, why);
    for (int i = 0; !rc && i < out->n; i++)
        if (!beat_id_ok(out->v[i], strlen(out->v[i]), BEAT_ID_MAX))
            rc = FAIL("%s.%s[%d]: must match [A-Za-z0-9_.:-]{1,%d}", ctx, name, i, BEAT_ID_MAX);
    return rc;
}

int beat_campaign_aud_decode(const cJSON *const *f, const char *ctx, bool strict,
                             beat_campaign_aud *a, beat_reason *why) {
    int rc;
    if ((rc = beat_campaign_j_strv(f[K_REGIONS], ctx, "regions", &a->regions, why)) ||
        (rc = beat_campaign_j_strv(f[K_METROS], ctx, "metros", &a->metros, why)) ||
        (rc = beat_campaign_j_strv(f[K_CITIES], ctx, "cities", &a->cities, why)) ||
        (rc = beat_campaign_j_strv(f[K_ZIPS], ctx, "zips", &a->zips, why)))
        return rc;
    for (int i = 0; i < a->regions.n; i++)
        if (!region_ok(a->regions.v[i]))
            return FAIL("%s.regions[%d]: must be \"COUNTRY:SUBDIVISION\" (e.g. \"USA:NY\")", ctx,
                        i);
    if (f[K_RADIUS] && (rc = radius_from(f[K_RADIUS], ctx, strict, a, why))) return rc;
    if (f[K_SEG_IN] && (rc = seg_rules_from(f[K_SEG_IN], ctx, "segments_include", strict,
                                            &a->seg_incl, &a->n_seg_incl, why)))
        return rc;
    if (f[K_SEG_EX] && (rc = seg_rules_from(f[K_SEG_EX], ctx, "segments_exclude", strict,
                                            &a->seg_excl, &a->n_seg_excl, why)))
        return rc;
    if ((rc = list_ids_from(f[K_LIST_IN], ctx, "lists_include", &a->lists_incl, why)) ||
        (rc = list_ids_from(f[K_LIST_EX], ctx, "lists_exclude", &a->lists_excl, why)))
        return rc;
    return 0;
}

bool beat_campaign_aud_used(const beat_campaign_aud *a) {
    return a->regions.n || a->metros.n || a->cities.n || a->zips.n || a->n_radius ||
           a->n_seg_incl || a->n_seg_excl || a->lists_incl.n || a->lists_excl.n;
}

static void seg_rules_encode(beat_json_enc *e, const char *key, const beat_seg_rule *r, int n) {
    if (!n) return;
    beat_campaign_e_key(e, key, true);
    beat_json_put_raw(e, "[");
    for (int i = 0; i < n; i++) {
        beat_json_put_raw(e, i ? ",{" : "{");
        beat_campaign_e_key(e, "provider", false);
        beat_json_put_str(e, r[i].provider);
        beat_campaign_e_strv(e, "ids", true, &r[i].ids);
        beat_json_put_raw(e, "}");
    }
    beat_json_put_raw(e, "]");
}

void beat_campaign_aud_encode(beat_json_enc *e, const beat_campaign_aud *a) {
    const beat_strv *geo[4] = {&a->regions, &a->metros, &a->cities, &a->zips};
    for (int k = 0; k < 4; k++)
        if (geo[k]->n) beat_campaign_e_strv(e, aud_names[k], true, geo[k]);
    if (a->n_radius) {
        beat_json_put_raw(e, ",\"radius\":[");
        for (int i = 0; i < a->n_radius; i++) {
            beat_json_put_raw(e, i ? ",{\"lat\":" : "{\"lat\":");
            beat_json_put_double(e, a->radius[i].lat);
            beat_json_put_raw(e, ",\"lon\":");
            beat_json_put_double(e, a->radius[i].lon);
            beat_json_put_raw(e, ",\"radius_km\":");
            beat_json_put_double(e, a->radius[i].radius_km);
            beat_json_put_raw(e, "}");
        }
        beat_json_put_raw(e, "]");
    }
    seg_rules_encode(e, "segments_include", a->seg_incl, a->n_seg_incl);
    seg_rules_encode(e, "segments_exclude", a->seg_excl, a->n_seg_excl);
    if (a->lists_incl.n) beat_campaign_e_strv(e, "lists_include", true, &a->lists_incl);
    if (a->lists_excl.n) beat_campaign_e_strv(e, "lists_exclude", true, &a->lists_excl);
}

static void seg_rules_fini(beat_seg_rule *r, int n) {
    for (int i = 0; i < n && r; i++) beat_campaign_strv_fini(&r[i].ids);
    free(r);
}

void beat_campaign_aud_fini(beat_campaign_aud *a) {
    beat_campaign_strv_fini(&a->regions);
    beat_campaign_strv_fini(&a->metros);
    beat_campaign_strv_fini(&a->cities);
    beat_campaign_strv_fini(&a->zips);
    free(a->radius);
    seg_rules_fini(a->seg_incl, a->n_seg_incl);
    seg_rules_fini(a->seg_excl, a->n_seg_excl);
    beat_campaign_strv_fini(&a->lists_incl);
    beat_campaign_strv_fini(&a->lists_excl);
    memset(a, 0, sizeof *a);
}
