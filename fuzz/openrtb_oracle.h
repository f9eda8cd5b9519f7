/* The bid path's request reading as it was with cJSON (openrtb.c,
 * privacy.c and schain.c before the one-pass parser, jparse.c): kept here
 * only as the oracle of fuzz_openrtb_diff.c, which requires both to accept and
 * refuse the same bodies with the same reasons and to read the same
 * inf_req. Not built into any daemon; names carry orc_. The privacy
 * decision itself is shared (inf_privacy_gate). */
#ifndef FUZZ_OPENRTB_ORACLE_H
#define FUZZ_OPENRTB_ORACLE_H

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../inference/openrtb.h"
#include "../inference/privacy.h"
#include "beat_fx.h"

#ifndef FLOOR_MAX_CPM
#define FLOOR_MAX_CPM 1e6
#endif
#ifndef SIZE_DIM_MAX
#define SIZE_DIM_MAX 100000
#endif
#define ORC_TREES (1 + INF_IMP_MAX)

/* The request's tree and its native request trees (one request at a time). */
static struct {
    int n;
    cJSON *trees[ORC_TREES];
} orc;

static void orc_req_fini(inf_req *r) {
    for (int i = 0; i < orc.n; i++) cJSON_Delete(orc.trees[i]);
    orc.n = 0;
    r->id = NULL;
    r->n_imp = 0;
}

static void orc_inf_schain_read(const cJSON *root, inf_req *r);
static void orc_pv_read(const cJSON *root, inf_req *r);

static const cJSON *orc_get(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return (v && cJSON_IsNull(v)) ? NULL : v;
}

/* Optional string field: NULL when absent or not a string. */
static const char *orc_opt_str(const cJSON *o, const char *k) {
    const cJSON *v = o ? orc_get(o, k) : NULL;
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Optional integral number in [min, max]: def when absent, wrong-typed,
 * fractional or out of range. */
static int64_t orc_opt_int(const cJSON *o, const char *k, int64_t min, int64_t max, int64_t def) {
    const cJSON *v = o ? orc_get(o, k) : NULL;
    if (!cJSON_IsNumber(v)) return def;
    double d = v->valuedouble;
    if (!(d >= (double)min && d <= (double)max) || d != floor(d)) return def;
    return (int64_t)d;
}

/* Copies up to max string entries of arr; non-strings are skipped. */
static int orc_str_list(const cJSON *arr, const char **out, int max, bool *truncated) {
    int n = 0;
    const cJSON *it;
    if (!cJSON_IsArray(arr)) return 0;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it) || !it->valuestring[0]) continue;
        if (n == max) {
            if (truncated) *truncated = true;
            break;
        }
        out[n++] = it->valuestring;
    }
    return n;
}

static int orc_req_id(const cJSON *v, const char *what, const char **out, beat_reason *why) {
    if (!v) return beat_reasonf(why, -EBADMSG, "%s: missing", what);
    if (!cJSON_IsString(v)) return beat_reasonf(why, -EBADMSG, "%s: not a string", what);
    size_t n = strlen(v->valuestring);
    if (n == 0) return beat_reasonf(why, -EBADMSG, "%s: empty", what);
    /* Ids are signed into notice URLs and logged on Kafka with this bound. */
    if (n > BEAT_ID_MAX)
        return beat_reasonf(why, -EBADMSG, "%s: longer than %d bytes", what, BEAT_ID_MAX);
    /* Echoed in the response and logged on Kafka, whose event decoder
     * refuses such ids (cJSON passes raw bytes through). Found by
     * fuzz_openrtb. */
    if (!beat_id_text_ok(v->valuestring))
        return beat_reasonf(why, -EBADMSG, "%s: control character or invalid UTF-8", what);
    *out = v->valuestring;
    return 0;
}

static void orc_add_size(inf_imp *im, int64_t w, int64_t h) {
    if (w <= 0 || h <= 0 || im->n_sizes == INF_SIZE_MAX) return;
    for (int i = 0; i < im->n_sizes; i++)
        if (im->sizes[i].w == w && im->sizes[i].h == h) return;
    im->sizes[im->n_sizes++] = (inf_size){(int)w, (int)h};
}

/* A list of small integers (battr, protocols) as a bit set; entries outside
 * [1, 63] or not integral are ignored (unknown codes block nothing we have). */
static uint64_t orc_int_bits(const cJSON *arr) {
    uint64_t bits = 0;
    const cJSON *it;
    if (!cJSON_IsArray(arr)) return 0;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsNumber(it)) continue;
        double d = it->valuedouble;
        if (d >= 1 && d <= 63 && d == floor(d)) bits |= (uint64_t)1 << (int)d;
    }
    return bits;
}

static void orc_parse_banner(const cJSON *banner, inf_imp *im) {
    orc_add_size(im, orc_opt_int(banner, "w", 0, SIZE_DIM_MAX, 0),
                 orc_opt_int(banner, "h", 0, SIZE_DIM_MAX, 0));
    const cJSON *fmt = orc_get(banner, "format"), *f;
    if (cJSON_IsArray(fmt)) {
        cJSON_ArrayForEach(f, fmt) {
            orc_add_size(im, orc_opt_int(f, "w", 0, SIZE_DIM_MAX, 0),
                         orc_opt_int(f, "h", 0, SIZE_DIM_MAX, 0));
        }
    }
    int pos = (int)orc_opt_int(banner, "pos", 0, 255, -1);
    if (pos >= 0) im->pos = pos; /* banner.pos first, else video.pos */
    im->battr[INF_FMT_BANNER] = orc_int_bits(orc_get(banner, "battr"));
    if (im->n_sizes > 0) im->formats |= INF_FMT_BANNER;
}

/* Video: mimes are required by the spec; without them we cannot know what
 * the player plays, so the video is unusable (not a 400: a reasoned skip). */
static bool orc_parse_video(const cJSON *v, inf_imp *im) {
    inf_video *vd = &im->video;
    vd->w = (int)orc_opt_int(v, "w", 0, SIZE_DIM_MAX, 0);
    vd->h = (int)orc_opt_int(v, "h", 0, SIZE_DIM_MAX, 0);
    vd->minduration = (int)orc_opt_int(v, "minduration", 0, 86400, 0);
    vd->maxduration = (int)orc_opt_int(v, "maxduration", 0, 86400, 0);
    vd->n_mimes = orc_str_list(orc_get(v, "mimes"), vd->mimes, INF_MIMES_MAX, NULL);
    uint64_t p = orc_int_bits(orc_get(v, "protocols"));
    int64_t legacy = orc_opt_int(v, "protocol", 1, 31, 0); /* 2.5 single value */
    if (legacy) p |= (uint64_t)1 << legacy;
    /* Ids past 31 fit no creative (ours are 1..12) but must not read as
     * "any": bit 0, which no creative has, keeps the set non-empty. */
    vd->protocols = (uint32_t)p | (p >> 32 ? 1u : 0u);
    const cJSON *durs = orc_get(v, "rqddurs"), *it;
    if (cJSON_IsArray(durs)) {
        cJSON_ArrayForEach(it, durs) {
            if (vd->n_rqddurs == INF_DURS_MAX) break;
            if (cJSON_IsNumber(it) && it->valuedouble >= 1 && it->valuedouble <= 86400 &&
                it->valuedouble == floor(it->valuedouble))
                vd->rqddurs[vd->n_rqddurs++] = (int)it->valuedouble;
        }
    }
    if (im->pos < 0) im->pos = (int)orc_opt_int(v, "pos", 0, 255, -1);
    im->battr[INF_FMT_VIDEO] = orc_int_bits(orc_get(v, "battr"));
    if (vd->n_mimes == 0) return false;
    im->formats |= INF_FMT_VIDEO;
    return true;
}

/* One Native 1.2 asset; false when it cannot be represented (no id). */
static bool orc_parse_asset(const cJSON *a, inf_asset *out) {
    const cJSON *idv = orc_get(a, "id"), *x;
    if (!cJSON_IsNumber(idv) || idv->valuedouble < 0 || idv->valuedouble > 1e15 ||
        idv->valuedouble != floor(idv->valuedouble))
        return false;
    memset(out, 0, sizeof *out);
    out->id = (int64_t)idv->valuedouble;
    out->required = orc_opt_int(a, "required", 0, 1, 0) == 1;
    if (cJSON_IsObject(x = orc_get(a, "title"))) {
        out->kind = INF_ASSET_TITLE;
        out->len = (int)orc_opt_int(x, "len", 0, 1000000, 0);
    } else if (cJSON_IsObject(x = orc_get(a, "img"))) {
        out->kind = INF_ASSET_IMG;
        out->type = (int)orc_opt_int(x, "type", 0, 1000, 0);
        out->w = (int)orc_opt_int(x, "w", 0, SIZE_DIM_MAX, 0);
        out->h = (int)orc_opt_int(x, "h", 0, SIZE_DIM_MAX, 0);
        out->wmin = (int)orc_opt_int(x, "wmin", 0, SIZE_DIM_MAX, 0);
        out->hmin = (int)orc_opt_int(x, "hmin", 0, SIZE_DIM_MAX, 0);
    } else if (cJSON_IsObject(x = orc_get(a, "data"))) {
        out->kind = INF_ASSET_DATA;
        out->type = (int)orc_opt_int(x, "type", 0, 1000000, 0);
        out->len = (int)orc_opt_int(x, "len", 0, 1000000, 0);
    } else {
        out->kind = INF_ASSET_OTHER; /* video, or nothing we know */
    }
    return true;
}

/* imp.native.request: a JSON string (2.5) or an object (some 2.6
 * exchanges), with or without the 1.0/1.1 {"native":{…}} wrapper. A string
 * is parsed into its own tree (kept in orc.trees, freed by orc_req_fini).
 * Any defect makes
 * the native unusable — a reasoned skip, never a 400, since the outer
 * request is valid. */
static bool orc_parse_native(inf_req *r, const cJSON *n, inf_imp *im) {
    const cJSON *req = orc_get(n, "request");
    im->battr[INF_FMT_NATIVE] = orc_int_bits(orc_get(n, "battr"));
    if (cJSON_IsString(req)) {
        (void)r;
        if (orc.n == ORC_TREES) return false;
        cJSON *t = cJSON_ParseWithLength(req->valuestring, strlen(req->valuestring));
        if (!t) return false;
        orc.trees[orc.n++] = t;
        req = t;
    }
    if (!cJSON_IsObject(req)) return false;
    const cJSON *inner = orc_get(req, "native");
    if (cJSON_IsObject(inner)) {
        im->native.wrapped = true;
        req = inner;
    }
    const cJSON *assets = orc_get(req, "assets"), *a;
    if (!cJSON_IsArray(assets)) return false;
    int n_assets = 0;
    cJSON_ArrayForEach(a, assets) {
        if (n_assets == INF_ASSETS_MAX) return false; /* cannot check them all */
        inf_asset *as = &im->native.assets[n_assets];
        if (!cJSON_IsObject(a) || !orc_parse_asset(a, as)) {
            if (cJSON_IsObject(a) && orc_opt_int(a, "required", 0, 1, 0) == 1) return false;
            continue; /* an optional asset we cannot name: leave it out */
        }
        n_assets++;
    }
    im->native.n_assets = n_assets;
    if (n_assets == 0) return false;
    im->formats |= INF_FMT_NATIVE;
    return true;
}

/* A floor in USD CPM micros from value + currency (0 when absent); *known
 * false for a currency not in the table (the value is then kept as if USD,
 * for logs only). The value was type-checked by the caller. */
static int64_t orc_floor_usd(const cJSON *fl, const cJSON *cur, bool *known) {
    double rate = cur ? inf_openrtb_rate(cur->valuestring) : 1.0;
    *known = rate > 0;
    if (!*known) rate = 1.0;
    if (!fl) return 0;
    double cpm = fl->valuedouble * rate;
    if (!(cpm <= FLOOR_MAX_CPM)) cpm = FLOOR_MAX_CPM;
    return llround(cpm * 1e6);
}

static int orc_check_floor(const cJSON *fl, const cJSON *cur, const char *what, beat_reason *why) {
    if (cur && !cJSON_IsString(cur))
        return beat_reasonf(why, -EBADMSG, "%s.bidfloorcur: not a string", what);
    if (fl && !cJSON_IsNumber(fl))
        return beat_reasonf(why, -EBADMSG, "%s.bidfloor: not a number", what);
    if (fl && !(fl->valuedouble >= 0))
        return beat_reasonf(why, -EBADMSG, "%s.bidfloor: negative", what);
    return 0;
}

/* pmp: deals decide money, so their shape is strict (400 on a wrong type);
 * a deal in an unknown currency is kept but unusable. */
static int orc_parse_pmp(const cJSON *pmp, int i, inf_imp *im, beat_reason *why) {
    if (!cJSON_IsObject(pmp)) return beat_reasonf(why, -EBADMSG, "imp[%d].pmp: not an object", i);
    im->private_auction = orc_opt_int(pmp, "private_auction", 0, 1, 0) == 1;
    const cJSON *deals = orc_get(pmp, "deals"), *d;
    if (!deals) return 0;
    if (!cJSON_IsArray(deals))
        return beat_reasonf(why, -EBADMSG, "imp[%d].pmp.deals: not an array", i);
    int k = 0;
    cJSON_ArrayForEach(d, deals) {
        char what[64];
        snprintf(what, sizeof what, "imp[%d].pmp.deals[%d]", i, k);
        if (!cJSON_IsObject(d)) return beat_reasonf(why, -EBADMSG, "%s: not an object", what);
        const cJSON *idv = orc_get(d, "id");
        if (!cJSON_IsString(idv) || !idv->valuestring[0])
            return beat_reasonf(why, -EBADMSG, "%s.id: missing or not a string", what);
        const cJSON *fl = orc_get(d, "bidfloor"), *cur = orc_get(d, "bidfloorcur");
        int rc = orc_check_floor(fl, cur, what, why);
        if (rc < 0) return rc;
        k++;
        if (im->n_deals == INF_DEALS_MAX) continue; /* bounded: later deals unused */
        inf_deal *dl = &im->deals[im->n_deals++];
        dl->id = idv->valuestring;
        dl->floor_cpm_micros = orc_floor_usd(fl, cur, &dl->usable);
        bool trunc = false;
        dl->n_wseat = orc_str_list(orc_get(d, "wseat"), dl->wseat, INF_SEAT_MAX, &trunc);
        dl->n_wadomain = orc_str_list(orc_get(d, "wadomain"), dl->wadomain, INF_SEAT_MAX, &trunc);
        /* a truncated allow list might hide the entry that admits us: that
         * deal stays shut rather than bid where it may not */
        if (trunc) dl->usable = false;
    }
    return 0;
}

/* "imp[<i>]<tail>" into w (cap ≥ 32 + strlen(tail)): the context of an
 * error, built for every imp, so without printf. */
static const char *orc_imp_what(char *w, int i, const char *tail) {
    memcpy(w, "imp[", 4);
    int n = 4 + beat_fmt_i64(w + 4, i);
    w[n++] = ']';
    strcpy(w + n, tail);
    return w;
}

static int orc_parse_imp(inf_req *r, const cJSON *jimp, int i, inf_imp *im, beat_reason *why) {
    char what[48];
    im->id = NULL;
    im->skip = INF_IMP_OK;
    im->formats = 0;
    im->n_sizes = 0;
    im->pos = -1;
    im->floor_cpm_micros = 0;
    memset(im->battr, 0, sizeof im->battr);
    memset(&im->video, 0, offsetof(inf_video, mimes));
    im->video.n_rqddurs = 0;
    im->native.wrapped = false;
    im->native.n_assets = 0;
    im->private_auction = false;
    im->n_deals = 0;
    if (!cJSON_IsObject(jimp)) return beat_reasonf(why, -EBADMSG, "imp[%d]: not an object", i);
    int rc = orc_req_id(orc_get(jimp, "id"), orc_imp_what(what, i, ".id"), &im->id, why);
    if (rc < 0) return rc;

    orc_imp_what(what, i, "");
    const cJSON *fl = orc_get(jimp, "bidfloor"), *cur = orc_get(jimp, "bidfloorcur");
    if ((rc = orc_check_floor(fl, cur, what, why)) < 0) return rc;
    /* The floor in USD: bidfloorcur through the rate table. An unknown
     * currency skips the imp (never guess a rate). */
    bool cur_known;
    im->floor_cpm_micros = orc_floor_usd(fl, cur, &cur_known);

    static const char *const kinds[] = {"banner", "video", "native", "audio"};
    const cJSON *obj[4];
    for (int k = 0; k < 4; k++) {
        obj[k] = orc_get(jimp, kinds[k]);
        if (obj[k] && !cJSON_IsObject(obj[k]))
            return beat_reasonf(why, -EBADMSG, "imp[%d].%s: not an object", i, kinds[k]);
    }
    inf_imp_skip none = INF_IMP_NO_FORMAT; /* why no format is usable */
    if (obj[3]) none = INF_IMP_AUDIO;
    if (obj[2] && !orc_parse_native(r, obj[2], im)) none = INF_IMP_NATIVE_REQ;
    if (obj[1] && !orc_parse_video(obj[1], im)) none = INF_IMP_VIDEO_MIMES;
    if (obj[0]) {
        orc_parse_banner(obj[0], im);
        if (im->n_sizes == 0) none = INF_IMP_NO_SIZE;
    }
    const cJSON *pmp = orc_get(jimp, "pmp");
    if (pmp && (rc = orc_parse_pmp(pmp, i, im, why)) < 0) return rc;
    bool deal_ok = false;
    for (int k = 0; k < im->n_deals; k++) deal_ok |= im->deals[k].usable;
    if (!cur_known) im->skip = INF_IMP_CURRENCY;
    else if (!im->formats) im->skip = none;
    else if (im->private_auction && !deal_ok)
        im->skip = INF_IMP_PRIVATE; /* an open bid there breaks the deal terms */
    return 0;
}

static int orc_parse_imps(const cJSON *root, inf_req *r, beat_reason *why) {
    const cJSON *imps = orc_get(root, "imp");
    if (!imps) return beat_reasonf(why, -EBADMSG, "imp: missing");
    if (!cJSON_IsArray(imps)) return beat_reasonf(why, -EBADMSG, "imp: not an array");
    r->n_imp_total = cJSON_GetArraySize(imps);
    if (r->n_imp_total == 0) return beat_reasonf(why, -EBADMSG, "imp: empty");
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, imps) {
        if (i == INF_IMP_MAX) break; /* bounded work: the rest get no bid */
        int rc = orc_parse_imp(r, it, i, &r->imp[i], why);
        if (rc < 0) return rc;
        for (int k = 0; k < i; k++)
            if (strcmp(r->imp[k].id, r->imp[i].id) == 0)
                return beat_reasonf(why, -EBADMSG, "imp[%d].id: duplicate of imp[%d].id", i, k);
        i++;
    }
    r->n_imp = i;
    return 0;
}

/* site / app / dooh: exactly one of them. */
static int orc_parse_channel(const cJSON *root, inf_req *r, beat_reason *why) {
    const cJSON *site = orc_get(root, "site"), *app = orc_get(root, "app");
    const cJSON *dooh = orc_get(root, "dooh");
    if (site && app) return beat_reasonf(why, -EBADMSG, "site and app: both present");
    if ((site || app) && dooh)
        return beat_reasonf(why, -EBADMSG, "%s and dooh: both present", site ? "site" : "app");
    const cJSON *src = site ? site : app;
    if (src) {
        if (!cJSON_IsObject(src))
            return beat_reasonf(why, -EBADMSG, "%s: not an object", site ? "site" : "app");
        r->chan = site ? INF_CHAN_SITE : INF_CHAN_APP;
        if (site) r->domain = orc_opt_str(site, "domain");
        else r->bundle = orc_opt_str(app, "bundle");
    } else if (dooh) {
        if (!cJSON_IsObject(dooh)) return beat_reasonf(why, -EBADMSG, "dooh: not an object");
        r->chan = INF_CHAN_DOOH;
        src = dooh;
    } else {
        return beat_reasonf(why, -EBADMSG, "site, app or dooh: none present");
    }
    const cJSON *pub = orc_get(src, "publisher");
    if (cJSON_IsObject(pub)) r->pub_id = orc_opt_str(pub, "id");
    r->n_cats = orc_str_list(orc_get(src, "cat"), r->cats, INF_CAT_MAX, NULL);
    return 0;
}

/* The currency we bid in (docs/contracts.md "Currencies"): USD when the
 * request allows it (no cur, an empty one, or one listing USD), else the
 * first listed currency the rate table knows; none known → cur_ok false
 * (no-bid "currency"). */
static int orc_parse_cur(const cJSON *root, inf_req *r, beat_reason *why) {
    const cJSON *cur = orc_get(root, "cur"), *it;
    r->cur_ok = r->cur_absent = true;
    memcpy(r->bid_cur, "USD", 4);
    r->bid_usd_per_unit = 1.0;
    if (!cur) return 0;
    if (!cJSON_IsArray(cur)) return beat_reasonf(why, -EBADMSG, "cur: not an array");
    if (cJSON_GetArraySize(cur) == 0) return 0; /* empty = unspecified */
    r->cur_absent = false;
    cJSON_ArrayForEach(it, cur) {
        if (cJSON_IsString(it) && strcasecmp(it->valuestring, "USD") == 0) return 0;
    }
    r->cur_ok = false;
    cJSON_ArrayForEach(it, cur) {
        double rate = cJSON_IsString(it) ? beat_fx_rate(inf_openrtb_fx(), it->valuestring) : 0;
        if (rate > 0) {
            for (int k = 0; k < 3; k++) r->bid_cur[k] = (char)(it->valuestring[k] & ~0x20);
            r->bid_usd_per_unit = rate;
            r->cur_ok = true;
            return 0;
        }
    }
    return 0;
}

/* region, metro, city, zip of a geo object, where not already known (the
 * device's geo is read first). */
static void orc_coarse_geo(const cJSON *geo, inf_req *r) {
    if (!r->region) r->region = orc_opt_str(geo, "region");
    if (!r->metro) r->metro = orc_opt_str(geo, "metro");
    if (!r->city) r->city = orc_opt_str(geo, "city");
    if (!r->zip) r->zip = orc_opt_str(geo, "zip");
}

static void orc_parse_device_user(const cJSON *root, inf_req *r) {
    const cJSON *dev = orc_get(root, "device");
    r->devicetype = -1;
    if (cJSON_IsObject(dev)) {
        r->devicetype = (int)orc_opt_int(dev, "devicetype", 0, 255, -1);
        r->os = orc_opt_str(dev, "os");
        const cJSON *geo = orc_get(dev, "geo");
        if (cJSON_IsObject(geo)) {
            r->country = orc_opt_str(geo, "country");
            orc_coarse_geo(geo, r);
        }
        /* 2.6 structured user agent: its platform stands in for a missing os */
        const cJSON *sua = orc_get(dev, "sua");
        if (!r->os && cJSON_IsObject(sua)) {
            const cJSON *plat = orc_get(sua, "platform");
            if (cJSON_IsObject(plat)) r->os = orc_opt_str(plat, "brand");
        }
    }
    /* Consent, 2.6 top-level fields first, then the 2.5 ext locations. */
    const cJSON *regs = orc_get(root, "regs"), *rext = NULL;
    if (cJSON_IsObject(regs)) {
        rext = orc_get(regs, "ext");
        if (!cJSON_IsObject(rext)) rext = NULL;
        int64_t g = orc_opt_int(regs, "gdpr", 0, 1, -1);
        if (g < 0) g = orc_opt_int(rext, "gdpr", 0, 1, 0);
        r->gdpr = g == 1;
        r->coppa = orc_opt_int(regs, "coppa", 0, 1, 0) == 1;
    }
    const cJSON *user = orc_get(root, "user");
    if (cJSON_IsObject(user)) {
        r->user_id = orc_opt_str(user, "id");
        const cJSON *ugeo = orc_get(user, "geo");
        if (cJSON_IsObject(ugeo)) orc_coarse_geo(ugeo, r);
        r->consent = orc_opt_str(user, "consent");
        const cJSON *uext = orc_get(user, "ext");
        if (!r->consent && cJSON_IsObject(uext)) r->consent = orc_opt_str(uext, "consent");
    }
    /* What of the user's data may be used is privacy.c's decision, made in
     * inf_req_parse once everything is read. */
}

static void orc_parse_auction(const cJSON *root, inf_req *r) {
    r->at = (int)orc_opt_int(root, "at", 1, 1000, 0);
    r->test = orc_opt_int(root, "test", 0, 1, 0) == 1;
    r->n_wseat = orc_str_list(orc_get(root, "wseat"), r->wseat, INF_SEAT_MAX, &r->seats_truncated);
    r->n_bseat = orc_str_list(orc_get(root, "bseat"), r->bseat, INF_SEAT_MAX, &r->seats_truncated);
}

static bool orc_only_space(const char *p, const char *end) {
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return false;
    return true;
}

static int orc_req_parse(const char *body, size_t len, inf_req *r, beat_reason *why) {
    /* Reset only the header: the imp/list arrays are written before read. */
    memset(r, 0, offsetof(inf_req, bcat));
    r->n_imp = 0;
    r->n_imp_total = 0;
    if (!body || len == 0) return beat_reasonf(why, -EBADMSG, "body: empty");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        return beat_reasonf(why, -EBADMSG, "body: invalid JSON near byte %zu", at);
    }
    if (end && !orc_only_space(end, body + len)) {
        cJSON_Delete(root);
        return beat_reasonf(why, -EBADMSG, "body: trailing data after the JSON object");
    }
    orc.trees[orc.n++] = root;
    int rc;
    if (!cJSON_IsObject(root)) {
        rc = beat_reasonf(why, -EBADMSG, "body: not a JSON object");
        goto fail;
    }
    if ((rc = orc_req_id(orc_get(root, "id"), "id", &r->id, why)) < 0 ||
        (rc = orc_parse_imps(root, r, why)) < 0 || (rc = orc_parse_channel(root, r, why)) < 0 ||
        (rc = orc_parse_cur(root, r, why)) < 0)
        goto fail;
    const cJSON *tmax = orc_get(root, "tmax");
    if (tmax && !cJSON_IsNumber(tmax)) {
        rc = beat_reasonf(why, -EBADMSG, "tmax: not a number");
        goto fail;
    }
    r->tmax_ms = orc_opt_int(root, "tmax", 0, 3600000, 0);
    orc_parse_device_user(root, r);
    orc_inf_schain_read(root, r);
    orc_parse_auction(root, r);
    r->n_bcat = orc_str_list(orc_get(root, "bcat"), r->bcat, INF_BLOCK_MAX, &r->blocks_truncated);
    r->n_badv = orc_str_list(orc_get(root, "badv"), r->badv, INF_BLOCK_MAX, &r->blocks_truncated);
    r->n_bapp = orc_str_list(orc_get(root, "bapp"), r->bapp, INF_BLOCK_MAX, &r->blocks_truncated);
    /* Last, once every field is read: whatever the request's privacy
     * signals do not allow is cleared before anyone sees it (docs/privacy.md). */
    orc_pv_read(root, r);
    inf_privacy_gate(r);
    return 0;
fail:
    orc_req_fini(r);
    return rc;
}

#include "openrtb_oracle_priv.h"

#endif
