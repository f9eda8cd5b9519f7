/* OpenRTB request parsing for the bid path: body → inf_req in one pass
 * (jparse.c, keeping only the members openrtb_schema.c names). Called by
 * the HTTP handler once per request, before the world is consulted, so a
 * malformed request is always a 400 whatever state the node is in.
 * Strict on what decides the auction (ids, imp array, site/app, floors,
 * currency), lenient on optional descriptive fields: a wrongly-typed
 * device/user/geo field is treated as absent, as exchanges do send junk there.
 * The parse allocates from the worker's arena (arena.c, main.c), nested
 * native request strings included; nothing else here allocates. Identity
 * and consent fields are read and gated by privacy.c, the supply chain by
 * schain.c. */
#include "openrtb.h"

#include "beat_fx.h"
#include "openrtb_int.h"
#include "privacy.h"
#include "schain.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FLOOR_MAX_CPM 1e6 /* floors above this are clamped: nobody bids there */
/* The currency table (common/beat_fx.h): set once at start-up, read-only
 * afterwards. */
static beat_fx rates;

int inf_openrtb_rates_set(const char *spec, beat_reason *why) {
    return beat_fx_parse(spec, &rates, why);
}

double inf_openrtb_rate(const char *c) { return beat_fx_rate(&rates, c); }

const beat_fx *inf_openrtb_fx(void) { return &rates; }

void inf_req_default_cur(inf_req *r, const char *cur) {
    if (!r->cur_absent || !cur || !*cur || strcasecmp(cur, "USD") == 0) return;
    double rate = beat_fx_rate(&rates, cur);
    r->cur_ok = rate > 0;
    if (!r->cur_ok) return;
    for (int k = 0; k < 3; k++) r->bid_cur[k] = (char)(cur[k] & ~0x20);
    r->bid_usd_per_unit = rate;
}
#define SIZE_DIM_MAX 100000

static const inf_jv *get(const inf_jv *o, const char *k) { return inf_jv_get(o, k); }

/* Optional string field: NULL when absent or not a string. */
static const char *opt_str(const inf_jv *o, const char *k) {
    const inf_jv *v = o ? get(o, k) : NULL;
    return inf_jv_is(v, INF_J_STR) && v->s[0] ? v->s : NULL;
}

/* Optional integral number in [min, max]: def when absent, wrong-typed,
 * fractional or out of range. */
static int64_t opt_int(const inf_jv *o, const char *k, int64_t min, int64_t max, int64_t def) {
    const inf_jv *v = o ? get(o, k) : NULL;
    if (!inf_jv_is(v, INF_J_NUM)) return def;
    double d = v->d;
    if (!(d >= (double)min && d <= (double)max) || d != floor(d)) return def;
    return (int64_t)d;
}

/* Copies up to max string entries of arr; non-strings are skipped. */
static int str_list(const inf_jv *arr, const char **out, int max, bool *truncated) {
    int n = 0;
    const inf_jv *it;
    if (!inf_jv_is(arr, INF_J_ARR)) return 0;
    JV_FOR(it, arr) {
        if (!inf_jv_is(it, INF_J_STR) || !it->s[0]) continue;
        if (n == max) {
            if (truncated) *truncated = true;
            break;
        }
        out[n++] = it->s;
    }
    return n;
}

static int req_id(const inf_jv *v, const char *what, const char **out, beat_reason *why) {
    if (!v) return beat_reasonf(why, -EBADMSG, "%s: missing", what);
    if (!inf_jv_is(v, INF_J_STR)) return beat_reasonf(why, -EBADMSG, "%s: not a string", what);
    size_t n = strlen(v->s);
    if (n == 0) return beat_reasonf(why, -EBADMSG, "%s: empty", what);
    /* Ids are signed into notice URLs and logged on Kafka with this bound. */
    if (n > BEAT_ID_MAX)
        return beat_reasonf(why, -EBADMSG, "%s: longer than %d bytes", what, BEAT_ID_MAX);
    /* Echoed in the response and logged on Kafka, whose event decoder
     * refuses such ids (the parser passes raw bytes through). Found by
     * fuzz_openrtb. */
    if (!beat_id_text_ok(v->s))
        return beat_reasonf(why, -EBADMSG, "%s: control character or invalid UTF-8", what);
    *out = v->s;
    return 0;
}

static void add_size(inf_imp *im, int64_t w, int64_t h) {
    if (w <= 0 || h <= 0 || im->n_sizes == INF_SIZE_MAX) return;
    for (int i = 0; i < im->n_sizes; i++)
        if (im->sizes[i].w == w && im->sizes[i].h == h) return;
    im->sizes[im->n_sizes++] = (inf_size){(int)w, (int)h};
}

/* A list of small integers (battr, protocols) as a bit set; entries outside
 * [1, 63] or not integral are ignored (unknown codes block nothing we have). */
static uint64_t int_bits(const inf_jv *arr) {
    uint64_t bits = 0;
    const inf_jv *it;
    if (!inf_jv_is(arr, INF_J_ARR)) return 0;
    JV_FOR(it, arr) {
        if (!inf_jv_is(it, INF_J_NUM)) continue;
        double d = it->d;
        if (d >= 1 && d <= 63 && d == floor(d)) bits |= (uint64_t)1 << (int)d;
    }
    return bits;
}

static void parse_banner(const inf_jv *banner, inf_imp *im) {
    add_size(im, opt_int(banner, "w", 0, SIZE_DIM_MAX, 0),
             opt_int(banner, "h", 0, SIZE_DIM_MAX, 0));
    const inf_jv *fmt = get(banner, "format"), *f;
    if (inf_jv_is(fmt, INF_J_ARR)) {
        JV_FOR(f, fmt) {
            add_size(im, opt_int(f, "w", 0, SIZE_DIM_MAX, 0), opt_int(f, "h", 0, SIZE_DIM_MAX, 0));
        }
    }
    int pos = (int)opt_int(banner, "pos", 0, 255, -1);
    if (pos >= 0) im->pos = pos; /* banner.pos first, else video.pos */
    im->battr[INF_FMT_BANNER] = int_bits(get(banner, "battr"));
    if (im->n_sizes > 0) im->formats |= INF_FMT_BANNER;
}

/* Video: mimes are required by the spec; without them we cannot know what
 * the player plays, so the video is unusable (not a 400: a reasoned skip). */
static bool parse_video(const inf_jv *v, inf_imp *im) {
    inf_video *vd = &im->video;
    vd->w = (int)opt_int(v, "w", 0, SIZE_DIM_MAX, 0);
    vd->h = (int)opt_int(v, "h", 0, SIZE_DIM_MAX, 0);
    vd->minduration = (int)opt_int(v, "minduration", 0, 86400, 0);
    vd->maxduration = (int)opt_int(v, "maxduration", 0, 86400, 0);
    vd->n_mimes = str_list(get(v, "mimes"), vd->mimes, INF_MIMES_MAX, NULL);
    uint64_t p = int_bits(get(v, "protocols"));
    int64_t legacy = opt_int(v, "protocol", 1, 31, 0); /* 2.5 single value */
    if (legacy) p |= (uint64_t)1 << legacy;
    /* Ids past 31 fit no creative (ours are 1..12) but must not read as
     * "any": bit 0, which no creative has, keeps the set non-empty. */
    vd->protocols = (uint32_t)p | (p >> 32 ? 1u : 0u);
    const inf_jv *durs = get(v, "rqddurs"), *it;
    if (inf_jv_is(durs, INF_J_ARR)) {
        JV_FOR(it, durs) {
            if (vd->n_rqddurs == INF_DURS_MAX) break;
            if (inf_jv_is(it, INF_J_NUM) && it->d >= 1 && it->d <= 86400 && it->d == floor(it->d))
                vd->rqddurs[vd->n_rqddurs++] = (int)it->d;
        }
    }
    if (im->pos < 0) im->pos = (int)opt_int(v, "pos", 0, 255, -1);
    im->battr[INF_FMT_VIDEO] = int_bits(get(v, "battr"));
    if (vd->n_mimes == 0) return false;
    im->formats |= INF_FMT_VIDEO;
    return true;
}

/* One Native 1.2 asset; false when it cannot be represented (no id). */
static bool parse_asset(const inf_jv *a, inf_asset *out) {
    const inf_jv *idv = get(a, "id"), *x;
    if (!inf_jv_is(idv, INF_J_NUM) || idv->d < 0 || idv->d > 1e15 || idv->d != floor(idv->d))
        return false;
    memset(out, 0, sizeof *out);
    out->id = (int64_t)idv->d;
    out->required = opt_int(a, "required", 0, 1, 0) == 1;
    if (inf_jv_is(x = get(a, "title"), INF_J_OBJ)) {
        out->kind = INF_ASSET_TITLE;
        out->len = (int)opt_int(x, "len", 0, 1000000, 0);
    } else if (inf_jv_is(x = get(a, "img"), INF_J_OBJ)) {
        out->kind = INF_ASSET_IMG;
        out->type = (int)opt_int(x, "type", 0, 1000, 0);
        out->w = (int)opt_int(x, "w", 0, SIZE_DIM_MAX, 0);
        out->h = (int)opt_int(x, "h", 0, SIZE_DIM_MAX, 0);
        out->wmin = (int)opt_int(x, "wmin", 0, SIZE_DIM_MAX, 0);
        out->hmin = (int)opt_int(x, "hmin", 0, SIZE_DIM_MAX, 0);
    } else if (inf_jv_is(x = get(a, "data"), INF_J_OBJ)) {
        out->kind = INF_ASSET_DATA;
        out->type = (int)opt_int(x, "type", 0, 1000000, 0);
        out->len = (int)opt_int(x, "len", 0, 1000000, 0);
    } else {
        out->kind = INF_ASSET_OTHER; /* video, or nothing we know */
    }
    return true;
}

/* imp.native.request: a JSON string (2.5) or an object (some 2.6
 * exchanges), with or without the 1.0/1.1 {"native":{…}} wrapper. A string
 * is parsed in place (it lies in the request's copy, r->mem, and is not
 * read again) into nodes of the same memory. Any defect makes the native
 * unusable — a reasoned skip, never a 400, since the outer request is
 * valid. Like the rest of the string, what follows its JSON is ignored. */
static bool parse_native(inf_req *r, const inf_jv *n, inf_imp *im) {
    const inf_jv *req = get(n, "request");
    im->battr[INF_FMT_NATIVE] = int_bits(get(n, "battr"));
    if (inf_jv_is(req, INF_J_STR)) {
        inf_jv *t;
        size_t end;
        if (inf_jparse(r->mem, (char *)req->s, strlen(req->s), &inf_ortb_native_req, &t, &end) < 0)
            return false;
        req = t;
    }
    if (!inf_jv_is(req, INF_J_OBJ)) return false;
    const inf_jv *inner = get(req, "native");
    if (inf_jv_is(inner, INF_J_OBJ)) {
        im->native.wrapped = true;
        req = inner;
    }
    const inf_jv *assets = get(req, "assets"), *a;
    if (!inf_jv_is(assets, INF_J_ARR)) return false;
    int n_assets = 0;
    JV_FOR(a, assets) {
        if (n_assets == INF_ASSETS_MAX) return false; /* cannot check them all */
        inf_asset *as = &im->native.assets[n_assets];
        if (!inf_jv_is(a, INF_J_OBJ) || !parse_asset(a, as)) {
            if (inf_jv_is(a, INF_J_OBJ) && opt_int(a, "required", 0, 1, 0) == 1) return false;
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
static int64_t floor_usd(const inf_jv *fl, const inf_jv *cur, bool *known) {
    double rate = cur ? inf_openrtb_rate(cur->s) : 1.0;
    *known = rate > 0;
    if (!*known) rate = 1.0;
    if (!fl) return 0;
    double cpm = fl->d * rate;
    if (!(cpm <= FLOOR_MAX_CPM)) cpm = FLOOR_MAX_CPM;
    return llround(cpm * 1e6);
}

static int check_floor(const inf_jv *fl, const inf_jv *cur, const char *what, beat_reason *why) {
    if (cur && !inf_jv_is(cur, INF_J_STR))
        return beat_reasonf(why, -EBADMSG, "%s.bidfloorcur: not a string", what);
    if (fl && !inf_jv_is(fl, INF_J_NUM))
        return beat_reasonf(why, -EBADMSG, "%s.bidfloor: not a number", what);
    if (fl && !(fl->d >= 0)) return beat_reasonf(why, -EBADMSG, "%s.bidfloor: negative", what);
    return 0;
}

/* pmp: deals decide money, so their shape is strict (400 on a wrong type);
 * a deal in an unknown currency is kept but unusable. */
static int parse_pmp(const inf_jv *pmp, int i, inf_imp *im, beat_reason *why) {
    if (!inf_jv_is(pmp, INF_J_OBJ))
        return beat_reasonf(why, -EBADMSG, "imp[%d].pmp: not an object", i);
    im->private_auction = opt_int(pmp, "private_auction", 0, 1, 0) == 1;
    const inf_jv *deals = get(pmp, "deals"), *d;
    if (!deals) return 0;
    if (!inf_jv_is(deals, INF_J_ARR))
        return beat_reasonf(why, -EBADMSG, "imp[%d].pmp.deals: not an array", i);
    int k = 0;
    JV_FOR(d, deals) {
        char what[64];
        snprintf(what, sizeof what, "imp[%d].pmp.deals[%d]", i, k);
        if (!inf_jv_is(d, INF_J_OBJ)) return beat_reasonf(why, -EBADMSG, "%s: not an object", what);
        const inf_jv *idv = get(d, "id");
        if (!inf_jv_is(idv, INF_J_STR) || !idv->s[0])
            return beat_reasonf(why, -EBADMSG, "%s.id: missing or not a string", what);
        const inf_jv *fl = get(d, "bidfloor"), *cur = get(d, "bidfloorcur");
        int rc = check_floor(fl, cur, what, why);
        if (rc < 0) return rc;
        k++;
        if (im->n_deals == INF_DEALS_MAX) continue; /* bounded: later deals unused */
        inf_deal *dl = &im->deals[im->n_deals++];
        dl->id = idv->s;
        dl->floor_cpm_micros = floor_usd(fl, cur, &dl->usable);
        bool trunc = false;
        dl->n_wseat = str_list(get(d, "wseat"), dl->wseat, INF_SEAT_MAX, &trunc);
        dl->n_wadomain = str_list(get(d, "wadomain"), dl->wadomain, INF_SEAT_MAX, &trunc);
        /* a truncated allow list might hide the entry that admits us: that
         * deal stays shut rather than bid where it may not */
        if (trunc) dl->usable = false;
    }
    return 0;
}

/* "imp[<i>]<tail>" into w (cap ≥ 32 + strlen(tail)): the context of an
 * error, built for every imp, so without printf. */
static const char *imp_what(char *w, int i, const char *tail) {
    memcpy(w, "imp[", 4);
    int n = 4 + beat_fmt_i64(w + 4, i);
    w[n++] = ']';
    strcpy(w + n, tail);
    return w;
}

static int parse_imp(inf_req *r, const inf_jv *jimp, int i, inf_imp *im, beat_reason *why) {
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
    if (!inf_jv_is(jimp, INF_J_OBJ))
        return beat_reasonf(why, -EBADMSG, "imp[%d]: not an object", i);
    int rc = req_id(get(jimp, "id"), imp_what(what, i, ".id"), &im->id, why);
    if (rc < 0) return rc;

    imp_what(what, i, "");
    const inf_jv *fl = get(jimp, "bidfloor"), *cur = get(jimp, "bidfloorcur");
    if ((rc = check_floor(fl, cur, what, why)) < 0) return rc;
    /* The floor in USD: bidfloorcur through the rate table. An unknown
     * currency skips the imp (never guess a rate). */
    bool cur_known;
    im->floor_cpm_micros = floor_usd(fl, cur, &cur_known);

    static const char *const kinds[] = {"banner", "video", "native", "audio"};
    const inf_jv *obj[4];
    for (int k = 0; k < 4; k++) {
        obj[k] = get(jimp, kinds[k]);
        if (obj[k] && !inf_jv_is(obj[k], INF_J_OBJ))
            return beat_reasonf(why, -EBADMSG, "imp[%d].%s: not an object", i, kinds[k]);
    }
    inf_imp_skip none = INF_IMP_NO_FORMAT; /* why no format is usable */
    if (obj[3]) none = INF_IMP_AUDIO;
    if (obj[2] && !parse_native(r, obj[2], im)) none = INF_IMP_NATIVE_REQ;
    if (obj[1] && !parse_video(obj[1], im)) none = INF_IMP_VIDEO_MIMES;
    if (obj[0]) {
        parse_banner(obj[0], im);
        if (im->n_sizes == 0) none = INF_IMP_NO_SIZE;
    }
    const inf_jv *pmp = get(jimp, "pmp");
    if (pmp && (rc = parse_pmp(pmp, i, im, why)) < 0) return rc;
    bool deal_ok = false;
    for (int k = 0; k < im->n_deals; k++) deal_ok |= im->deals[k].usable;
    if (!cur_known) im->skip = INF_IMP_CURRENCY;
    else if (!im->formats) im->skip = none;
    else if (im->private_auction && !deal_ok)
        im->skip = INF_IMP_PRIVATE; /* an open bid there breaks the deal terms */
    return 0;
}

static int parse_imps(const inf_jv *root, inf_req *r, beat_reason *why) {
    const inf_jv *imps = get(root, "imp");
    if (!imps) return beat_reasonf(why, -EBADMSG, "imp: missing");
    if (!inf_jv_is(imps, INF_J_ARR)) return beat_reasonf(why, -EBADMSG, "imp: not an array");
    r->n_imp_total = imps->n;
    if (r->n_imp_total == 0) return beat_reasonf(why, -EBADMSG, "imp: empty");
    const inf_jv *it;
    int i = 0;
    JV_FOR(it, imps) {
        if (i == INF_IMP_MAX) break; /* bounded work: the rest get no bid */
        int rc = parse_imp(r, it, i, &r->imp[i], why);
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
static int parse_channel(const inf_jv *root, inf_req *r, beat_reason *why) {
    const inf_jv *site = get(root, "site"), *app = get(root, "app");
    const inf_jv *dooh = get(root, "dooh");
    if (site && app) return beat_reasonf(why, -EBADMSG, "site and app: both present");
    if ((site || app) && dooh)
        return beat_reasonf(why, -EBADMSG, "%s and dooh: both present", site ? "site" : "app");
    const inf_jv *src = site ? site : app;
    if (src) {
        if (!inf_jv_is(src, INF_J_OBJ))
            return beat_reasonf(why, -EBADMSG, "%s: not an object", site ? "site" : "app");
        r->chan = site ? INF_CHAN_SITE : INF_CHAN_APP;
        if (site) r->domain = opt_str(site, "domain");
        else r->bundle = opt_str(app, "bundle");
    } else if (dooh) {
        if (!inf_jv_is(dooh, INF_J_OBJ)) return beat_reasonf(why, -EBADMSG, "dooh: not an object");
        r->chan = INF_CHAN_DOOH;
        src = dooh;
    } else {
        return beat_reasonf(why, -EBADMSG, "site, app or dooh: none present");
    }
    const inf_jv *pub = get(src, "publisher");
    if (inf_jv_is(pub, INF_J_OBJ)) r->pub_id = opt_str(pub, "id");
    r->n_cats = str_list(get(src, "cat"), r->cats, INF_CAT_MAX, NULL);
    return 0;
}

/* The currency we bid in (docs/contracts.md "Currencies"): USD when the
 * request allows it (no cur, an empty one, or one listing USD), else the
 * first listed currency the rate table knows; none known → cur_ok false
 * (no-bid "currency"). */
static int parse_cur(const inf_jv *root, inf_req *r, beat_reason *why) {
    const inf_jv *cur = get(root, "cur"), *it;
    r->cur_ok = r->cur_absent = true;
    memcpy(r->bid_cur, "USD", 4);
    r->bid_usd_per_unit = 1.0;
    if (!cur) return 0;
    if (!inf_jv_is(cur, INF_J_ARR)) return beat_reasonf(why, -EBADMSG, "cur: not an array");
    if (cur->n == 0) return 0; /* empty = unspecified */
    r->cur_absent = false;
    JV_FOR(it, cur) {
        if (inf_jv_is(it, INF_J_STR) && strcasecmp(it->s, "USD") == 0) return 0;
    }
    r->cur_ok = false;
    JV_FOR(it, cur) {
        double rate = inf_jv_is(it, INF_J_STR) ? beat_fx_rate(&rates, it->s) : 0;
        if (rate > 0) {
            for (int k = 0; k < 3; k++) r->bid_cur[k] = (char)(it->s[k] & ~0x20);
            r->bid_usd_per_unit = rate;
            r->cur_ok = true;
            return 0;
        }
    }
    return 0;
}

/* region, metro, city, zip of a geo object, where not already known (the
 * device's geo is read first). */
static void coarse_geo(const inf_jv *geo, inf_req *r) {
    if (!r->region) r->region = opt_str(geo, "region");
    if (!r->metro) r->metro = opt_str(geo, "metro");
    if (!r->city) r->city = opt_str(geo, "city");
    if (!r->zip) r->zip = opt_str(geo, "zip");
}

static void parse_device_user(const inf_jv *root, inf_req *r) {
    const inf_jv *dev = get(root, "device");
    r->devicetype = -1;
    if (inf_jv_is(dev, INF_J_OBJ)) {
        r->devicetype = (int)opt_int(dev, "devicetype", 0, 255, -1);
        r->os = opt_str(dev, "os");
        const inf_jv *geo = get(dev, "geo");
        if (inf_jv_is(geo, INF_J_OBJ)) {
            r->country = opt_str(geo, "country");
            coarse_geo(geo, r);
        }
        /* 2.6 structured user agent: its platform stands in for a missing os */
        const inf_jv *sua = get(dev, "sua");
        if (!r->os && inf_jv_is(sua, INF_J_OBJ)) {
            const inf_jv *plat = get(sua, "platform");
            if (inf_jv_is(plat, INF_J_OBJ)) r->os = opt_str(plat, "brand");
        }
    }
    /* Consent, 2.6 top-level fields first, then the 2.5 ext locations. */
    const inf_jv *regs = get(root, "regs"), *rext = NULL;
    if (inf_jv_is(regs, INF_J_OBJ)) {
        rext = get(regs, "ext");
        if (!inf_jv_is(rext, INF_J_OBJ)) rext = NULL;
        int64_t g = opt_int(regs, "gdpr", 0, 1, -1);
        if (g < 0) g = opt_int(rext, "gdpr", 0, 1, 0);
        r->gdpr = g == 1;
        r->coppa = opt_int(regs, "coppa", 0, 1, 0) == 1;
    }
    const inf_jv *user = get(root, "user");
    if (inf_jv_is(user, INF_J_OBJ)) {
        r->user_id = opt_str(user, "id");
        const inf_jv *ugeo = get(user, "geo");
        if (inf_jv_is(ugeo, INF_J_OBJ)) coarse_geo(ugeo, r);
        r->consent = opt_str(user, "consent");
        const inf_jv *uext = get(user, "ext");
        if (!r->consent && inf_jv_is(uext, INF_J_OBJ)) r->consent = opt_str(uext, "consent");
    }
    /* What of the user's data may be used is privacy.c's decision, made in
     * inf_req_parse once everything is read. */
}

static bool listed(const char *const *v, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0) return true;
    return false;
}

bool inf_req_seat_ok(const inf_req *r, const char *seat) {
    if (r->n_wseat && !listed(r->wseat, r->n_wseat, seat)) return false;
    return !listed(r->bseat, r->n_bseat, seat);
}

static void parse_auction(const inf_jv *root, inf_req *r) {
    r->at = (int)opt_int(root, "at", 1, 1000, 0);
    r->test = opt_int(root, "test", 0, 1, 0) == 1;
    r->n_wseat = str_list(get(root, "wseat"), r->wseat, INF_SEAT_MAX, &r->seats_truncated);
    r->n_bseat = str_list(get(root, "bseat"), r->bseat, INF_SEAT_MAX, &r->seats_truncated);
}

static bool only_space(const char *p, const char *end) {
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return false;
    return true;
}

int inf_req_parse(const char *body, size_t len, inf_req *r, beat_reason *why) {
    /* Reset only the header: the imp/list arrays are written before read. */
    memset(r, 0, offsetof(inf_req, bcat));
    r->n_imp = 0;
    r->n_imp_total = 0;
    if (!body || len == 0) return beat_reasonf(why, -EBADMSG, "body: empty");
    /* Strings are unescaped in place, so the parse works on a copy. */
    inf_jmem *m = inf_jmem_new();
    char *text = m ? inf_jmem_alloc(m, len + 1) : NULL;
    if (!text) {
        inf_jmem_free(m);
        return beat_reasonf(why, -EBADMSG, "body: no memory to parse it");
    }
    memcpy(text, body, len);
    text[len] = 0;
    r->mem = m;
    inf_jv *root;
    size_t end;
    int rc = inf_jparse(m, text, len, &inf_ortb_request, &root, &end);
    if (rc == -ENOMEM) {
        rc = beat_reasonf(why, -EBADMSG, "body: no memory to parse it");
        goto fail;
    }
    if (rc < 0) {
        rc = beat_reasonf(why, -EBADMSG, "body: invalid JSON near byte %zu", end);
        goto fail;
    }
    if (!only_space(body + end, body + len)) {
        rc = beat_reasonf(why, -EBADMSG, "body: trailing data after the JSON object");
        goto fail;
    }
    if (!inf_jv_is(root, INF_J_OBJ)) {
        rc = beat_reasonf(why, -EBADMSG, "body: not a JSON object");
        goto fail;
    }
    if ((rc = req_id(get(root, "id"), "id", &r->id, why)) < 0 ||
        (rc = parse_imps(root, r, why)) < 0 || (rc = parse_channel(root, r, why)) < 0 ||
        (rc = parse_cur(root, r, why)) < 0)
        goto fail;
    const inf_jv *tmax = get(root, "tmax");
    if (tmax && !inf_jv_is(tmax, INF_J_NUM)) {
        rc = beat_reasonf(why, -EBADMSG, "tmax: not a number");
        goto fail;
    }
    r->tmax_ms = opt_int(root, "tmax", 0, 3600000, 0);
    parse_device_user(root, r);
    inf_schain_read(root, r);
    parse_auction(root, r);
    r->n_bcat = str_list(get(root, "bcat"), r->bcat, INF_BLOCK_MAX, &r->blocks_truncated);
    r->n_badv = str_list(get(root, "badv"), r->badv, INF_BLOCK_MAX, &r->blocks_truncated);
    r->n_bapp = str_list(get(root, "bapp"), r->bapp, INF_BLOCK_MAX, &r->blocks_truncated);
    /* Last, once every field is read: whatever the request's privacy
     * signals do not allow is cleared before anyone sees it (docs/privacy.md). */
    inf_privacy_apply(root, r);
    return 0;
fail:
    inf_req_fini(r);
    return rc;
}

void inf_req_fini(inf_req *r) {
    if (!r) return;
    inf_jmem_free(r->mem);
    r->mem = NULL;
    r->id = NULL;
    r->n_imp = 0;
}

const char *inf_imp_skip_name(inf_imp_skip s) {
    switch (s) {
        case INF_IMP_OK: return "ok";
        case INF_IMP_NO_FORMAT: return "no_format";
        case INF_IMP_AUDIO: return "audio";
        case INF_IMP_NO_SIZE: return "no_size";
        case INF_IMP_VIDEO_MIMES: return "video_mimes";
        case INF_IMP_NATIVE_REQ: return "native_request";
        case INF_IMP_CURRENCY: return "imp_currency";
        case INF_IMP_PRIVATE: return "private_auction";
    }
    return "?";
}
