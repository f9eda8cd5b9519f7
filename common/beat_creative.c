/* Creatives of a campaign (beat_campaign.h): banner, VAST video and native
 * creatives decoded field by field with reasons that name the field, and
 * encoded back exactly. Called only by beat_campaign.c (through
 * beat_campaign_fields.h); input comes from operators: never assert. */
#include "beat_campaign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign_fields.h"
#include "beat_json.h"

#define LIST_STR_MAX 255 /* bytes of one text field */
#define ADM_MAX 65536
#define LANDING_MAX 2048

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

enum {
    CR_CRID,
    CR_W,
    CR_H,
    CR_ADM,
    CR_LANDING,
    CR_FORMAT,
    CR_ATTR,
    CR_MIMES,
    CR_DURATION,
    CR_PROTOCOLS,
    CR_TITLE,
    CR_IMG,
    CR_ICON,
    CR_SPONSORED,
    CR_DESC,
    CR_CTA,
    CR_N
};
static const char *const cr_names[CR_N] = {
    "crid",     "w",         "h",     "adm", "landing", "format",    "attr", "mimes",
    "duration", "protocols", "title", "img", "icon",    "sponsored", "desc", "cta"};
static const char *const img_names[] = {"url", "w", "h"};
/* A list of small integers in [1, hi] as a bitmask (attr, protocols). */
static int j_bits(const cJSON *v, const char *ctx, const char *name, int hi, bool nonempty,
                  uint64_t *out, beat_reason *why) {
    if (!cJSON_IsArray(v)) return FAIL("%s.%s: must be an array", ctx, name);
    int n = cJSON_GetArraySize(v);
    if (n > 64) return FAIL("%s.%s: too many items (> 64)", ctx, name);
    if (nonempty && n == 0) return FAIL("%s.%s: must not be empty", ctx, name);
    uint64_t bits = 0;
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char item[32];
        int x, rc;
        snprintf(item, sizeof item, "%s[%d]", name, i);
        if ((rc = beat_json_int32(c, ctx, item, 1, hi, &x, why))) return rc;
        bits |= (uint64_t)1 << x;
    }
    *out = bits;
    return 0;
}

static int j_text(const cJSON *v, const char *ctx, const char *name, char **out, beat_reason *why) {
    return v ? beat_json_strdup(v, ctx, name, LIST_STR_MAX, BEAT_JSON_NONEMPTY, out, why) : 0;
}

/* Native image {"url","w","h"}: all three required. */
static int j_img(const cJSON *v, const char *ctx, const char *name, bool strict,
                 beat_native_img *out, beat_reason *why) {
    if (!v) return 0;
    char ictx[96];
    const cJSON *f[3];
    snprintf(ictx, sizeof ictx, "%s.%s", ctx, name);
    int rc;
    if ((rc = beat_json_fields(v, ictx, img_names, 3, f, strict, why)) ||
        (rc = beat_json_int32(f[1], ictx, "w", 1, 65535, &out->w, why)) ||
        (rc = beat_json_int32(f[2], ictx, "h", 1, 65535, &out->h, why)))
        return rc;
    if (!f[0]) return FAIL("%s.url: missing", ictx);
    return beat_json_strdup(f[0], ictx, "url", LANDING_MAX, BEAT_JSON_NONEMPTY, &out->url, why);
}

static int video_from(const cJSON *const *f, const char *ctx, beat_creative *cr, beat_reason *why) {
    int rc;
    uint64_t protos = 0;
    for (int i = CR_TITLE; i < CR_N; i++)
        if (f[i]) return FAIL("%s.%s: only for native creatives", ctx, cr_names[i]);
    if (!f[CR_MIMES]) return FAIL("%s.mimes: missing", ctx);
    if ((rc = beat_campaign_j_strv(f[CR_MIMES], ctx, "mimes", &cr->mimes, why))) return rc;
    if (cr->mimes.n == 0 || cr->mimes.n > 16) return FAIL("%s.mimes: needs 1 to 16 items", ctx);
    if ((rc = beat_json_int32(f[CR_DURATION], ctx, "duration", 1, 3600, &cr->duration_s, why)))
        return rc;
    if (!f[CR_PROTOCOLS]) return FAIL("%s.protocols: missing", ctx);
    if ((rc = j_bits(f[CR_PROTOCOLS], ctx, "protocols", 12, true, &protos, why))) return rc;
    cr->protocols = (uint32_t)protos;
    if ((f[CR_W] != NULL) != (f[CR_H] != NULL))
        return FAIL("%s.%s: give both w and h or neither", ctx, f[CR_W] ? "h" : "w");
    if (f[CR_W] && ((rc = beat_json_int32(f[CR_W], ctx, "w", 1, 65535, &cr->w, why)) ||
                    (rc = beat_json_int32(f[CR_H], ctx, "h", 1, 65535, &cr->h, why))))
        return rc;
    return beat_json_strdup(f[CR_ADM], ctx, "adm", ADM_MAX, BEAT_JSON_WS | BEAT_JSON_NONEMPTY,
                            &cr->adm, why);
}

static int native_from(const cJSON *const *f, const char *ctx, bool strict, beat_creative *cr,
                       beat_reason *why) {
    int rc;
    static const int video_only[] = {CR_MIMES, CR_DURATION, CR_PROTOCOLS};
    for (size_t i = 0; i < sizeof video_only / sizeof video_only[0]; i++)
        if (f[video_only[i]])
            return FAIL("%s.%s: only for video creatives", ctx, cr_names[video_only[i]]);
    if (!f[CR_TITLE]) return FAIL("%s.title: missing", ctx);
    if ((rc = j_text(f[CR_TITLE], ctx, "title", &cr->title, why)) ||
        (rc = j_text(f[CR_SPONSORED], ctx, "sponsored", &cr->sponsored, why)) ||
        (rc = j_text(f[CR_DESC], ctx, "desc", &cr->desc, why)) ||
        (rc = j_text(f[CR_CTA], ctx, "cta", &cr->cta, why)) ||
        (rc = j_img(f[CR_IMG], ctx, "img", strict, &cr->img, why)) ||
        (rc = j_img(f[CR_ICON], ctx, "icon", strict, &cr->icon, why)))
        return rc;
    if (!cr->img.url && !cr->icon.url) return FAIL("%s.img: missing (or icon)", ctx);
    /* w/h and adm are accepted (older tools write them) but not used: the
     * adm is built per request so its asset ids match the request's. */
    if ((f[CR_W] && (rc = beat_json_int32(f[CR_W], ctx, "w", 1, 65535, &cr->w, why))) ||
        (f[CR_H] && (rc = beat_json_int32(f[CR_H], ctx, "h", 1, 65535, &cr->h, why))))
        return rc;
    if (f[CR_ADM] &&
        (rc = beat_json_strdup(f[CR_ADM], ctx, "adm", ADM_MAX, BEAT_JSON_WS, &cr->adm, why)))
        return rc;
    return 0;
}

static int banner_from(const cJSON *const *f, const char *ctx, beat_creative *cr,
                       beat_reason *why) {
    int rc;
    for (int i = CR_MIMES; i < CR_N; i++)
        if (f[i]) return FAIL("%s.%s: not for banner creatives", ctx, cr_names[i]);
    if ((rc = beat_json_int32(f[CR_W], ctx, "w", 1, 65535, &cr->w, why)) ||
        (rc = beat_json_int32(f[CR_H], ctx, "h", 1, 65535, &cr->h, why)))
        return rc;
    return beat_json_strdup(f[CR_ADM], ctx, "adm", ADM_MAX, BEAT_JSON_WS | BEAT_JSON_NONEMPTY,
                            &cr->adm, why);
}

int beat_creative_decode(const cJSON *j, const char *ctx, bool strict, beat_creative *cr,
                         beat_reason *why) {
    const cJSON *f[CR_N];
    int rc;
    if ((rc = beat_json_fields(j, ctx, cr_names, CR_N, f, strict, why)) ||
        (rc = beat_campaign_j_id(f[CR_CRID], ctx, "crid", cr->crid, why)))
        return rc;
    cr->format = BEAT_FMT_BANNER;
    if (f[CR_FORMAT]) {
        const char *fmt = cJSON_IsString(f[CR_FORMAT]) ? f[CR_FORMAT]->valuestring : "";
        if (strcmp(fmt, "banner") == 0) cr->format = BEAT_FMT_BANNER;
        else if (strcmp(fmt, "video") == 0) cr->format = BEAT_FMT_VIDEO;
        else if (strcmp(fmt, "native") == 0) cr->format = BEAT_FMT_NATIVE;
        else return FAIL("%s.format: must be \"banner\", \"video\" or \"native\"", ctx);
    }
    if (f[CR_ATTR] && (rc = j_bits(f[CR_ATTR], ctx, "attr", 63, false, &cr->attr, why))) return rc;
    rc = cr->format == BEAT_FMT_VIDEO    ? video_from(f, ctx, cr, why)
         : cr->format == BEAT_FMT_NATIVE ? native_from(f, ctx, strict, cr, why)
                                         : banner_from(f, ctx, cr, why);
    if (rc) return rc;
    if (f[CR_LANDING])
        return beat_json_strdup(f[CR_LANDING], ctx, "landing", LANDING_MAX, 0, &cr->landing, why);
    if (!(cr->landing = strdup(""))) return beat_reasonf(why, -ENOMEM, "out of memory");
    return 0;
}

static void e_bits(beat_json_enc *e, const char *key, uint64_t bits) {
    beat_campaign_e_key(e, key, true);
    beat_json_put_raw(e, "[");
    bool first = true;
    for (int i = 1; i < 64; i++)
        if (bits >> i & 1) {
            beat_json_put_printf(e, first ? "%d" : ",%d", i);
            first = false;
        }
    beat_json_put_raw(e, "]");
}

static void e_text(beat_json_enc *e, const char *key, const char *s) {
    if (!s) return;
    beat_campaign_e_key(e, key, true);
    beat_json_put_str(e, s);
}

static void e_img(beat_json_enc *e, const char *key, const beat_native_img *im) {
    if (!im->url) return;
    beat_campaign_e_key(e, key, true);
    beat_json_put_raw(e, "{\"url\":");
    beat_json_put_str(e, im->url);
    beat_json_put_printf(e, ",\"w\":%d,\"h\":%d}", im->w, im->h);
}

/* Writes exactly the fields decode accepts for the creative's format, so
 * encode → decode is the identity (the snapshot frame relies on it). */
void beat_creative_encode(beat_json_enc *e, const beat_creative *cr) {
    beat_campaign_e_key(e, "crid", false);
    beat_json_put_str(e, cr->crid);
    if (cr->format == BEAT_FMT_VIDEO) beat_json_put_raw(e, ",\"format\":\"video\"");
    if (cr->format == BEAT_FMT_NATIVE) beat_json_put_raw(e, ",\"format\":\"native\"");
    if (cr->w > 0 && cr->h > 0) {
        beat_campaign_e_i64(e, "w", cr->w);
        beat_campaign_e_i64(e, "h", cr->h);
    }
    if (cr->adm) e_text(e, "adm", cr->adm);
    beat_campaign_e_key(e, "landing", true);
    beat_json_put_str(e, cr->landing);
    if (cr->attr) e_bits(e, "attr", cr->attr);
    if (cr->format == BEAT_FMT_VIDEO) {
        beat_campaign_e_strv(e, "mimes", true, &cr->mimes);
        beat_campaign_e_i64(e, "duration", cr->duration_s);
        e_bits(e, "protocols", cr->protocols);
    }
    if (cr->format == BEAT_FMT_NATIVE) {
        e_text(e, "title", cr->title);
        e_img(e, "img", &cr->img);
        e_img(e, "icon", &cr->icon);
        e_text(e, "sponsored", cr->sponsored);
        e_text(e, "desc", cr->desc);
        e_text(e, "cta", cr->cta);
    }
}

void beat_creative_fini(beat_creative *cr) {
    free(cr->adm);
    free(cr->landing);
    beat_campaign_strv_fini(&cr->mimes);
    free(cr->title);
    free(cr->sponsored);
    free(cr->desc);
    free(cr->cta);
    free(cr->img.url);
    free(cr->icon.url);
}
