/* OpenRTB request parsing for the bid path: cJSON tree → inf_req. Called by
 * the HTTP handler once per request, before the world is consulted, so a
 * malformed request is always a 400 whatever state the node is in.
 * Strict on what decides the auction (ids, imp array, site/app, floors,
 * currency), lenient on optional descriptive fields: a wrongly-typed
 * device/user/geo field is treated as absent, as exchanges do send junk there.
 * cJSON allocates per request (acceptable for the skeleton; a later issue may
 * swap in an arena parser behind this same interface). */
#include "openrtb.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FLOOR_MAX_CPM 1e6 /* floors above this are clamped: nobody bids there */
#define SIZE_DIM_MAX 100000

static const cJSON *get(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return (v && cJSON_IsNull(v)) ? NULL : v;
}

/* Optional string field: NULL when absent or not a string. */
static const char *opt_str(const cJSON *o, const char *k) {
    const cJSON *v = o ? get(o, k) : NULL;
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Optional integral number in [min, max]: def when absent, wrong-typed,
 * fractional or out of range. */
static int64_t opt_int(const cJSON *o, const char *k, int64_t min, int64_t max,
                       int64_t def) {
    const cJSON *v = o ? get(o, k) : NULL;
    if (!cJSON_IsNumber(v)) return def;
    double d = v->valuedouble;
    if (!(d >= (double)min && d <= (double)max) || d != floor(d)) return def;
    return (int64_t)d;
}

/* Copies up to max string entries of arr; non-strings are skipped. */
static int str_list(const cJSON *arr, const char **out, int max, bool *truncated) {
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

static int req_id(const cJSON *v, const char *what, const char **out,
                  beat_reason *why) {
    if (!v) return beat_reasonf(why, -EBADMSG, "%s: missing", what);
    if (!cJSON_IsString(v)) return beat_reasonf(why, -EBADMSG, "%s: not a string", what);
    size_t n = strlen(v->valuestring);
    if (n == 0) return beat_reasonf(why, -EBADMSG, "%s: empty", what);
    /* Ids are signed into notice URLs and logged on Kafka with this bound. */
    if (n > BEAT_ID_MAX)
        return beat_reasonf(why, -EBADMSG, "%s: longer than %d bytes", what,
                            BEAT_ID_MAX);
    *out = v->valuestring;
    return 0;
}

static void add_size(inf_imp *im, int64_t w, int64_t h) {
    if (w <= 0 || h <= 0 || im->n_sizes == INF_SIZE_MAX) return;
    for (int i = 0; i < im->n_sizes; i++)
        if (im->sizes[i].w == w && im->sizes[i].h == h) return;
    im->sizes[im->n_sizes++] = (inf_size){(int)w, (int)h};
}

static int parse_imp(const cJSON *jimp, int i, inf_imp *im, beat_reason *why) {
    char what[48];
    memset(im, 0, sizeof *im);
    im->pos = -1;
    if (!cJSON_IsObject(jimp))
        return beat_reasonf(why, -EBADMSG, "imp[%d]: not an object", i);
    snprintf(what, sizeof what, "imp[%d].id", i);
    int rc = req_id(get(jimp, "id"), what, &im->id, why);
    if (rc < 0) return rc;

    const cJSON *fl = get(jimp, "bidfloor");
    if (fl) {
        if (!cJSON_IsNumber(fl))
            return beat_reasonf(why, -EBADMSG, "imp[%d].bidfloor: not a number", i);
        if (!(fl->valuedouble >= 0))
            return beat_reasonf(why, -EBADMSG, "imp[%d].bidfloor: negative", i);
        double cpm = fl->valuedouble > FLOOR_MAX_CPM ? FLOOR_MAX_CPM : fl->valuedouble;
        im->floor_cpm_micros = llround(cpm * 1e6);
    }
    const cJSON *cur = get(jimp, "bidfloorcur");
    if (cur && !cJSON_IsString(cur))
        return beat_reasonf(why, -EBADMSG, "imp[%d].bidfloorcur: not a string", i);

    const cJSON *banner = get(jimp, "banner");
    if (banner && !cJSON_IsObject(banner))
        return beat_reasonf(why, -EBADMSG, "imp[%d].banner: not an object", i);
    if (!banner) {
        im->skip = INF_IMP_NO_BANNER;
        return 0;
    }
    add_size(im, opt_int(banner, "w", 0, SIZE_DIM_MAX, 0),
             opt_int(banner, "h", 0, SIZE_DIM_MAX, 0));
    const cJSON *fmt = get(banner, "format"), *f;
    if (cJSON_IsArray(fmt)) {
        cJSON_ArrayForEach(f, fmt) {
            add_size(im, opt_int(f, "w", 0, SIZE_DIM_MAX, 0),
                     opt_int(f, "h", 0, SIZE_DIM_MAX, 0));
        }
    }
    im->pos = (int)opt_int(banner, "pos", 0, 255, -1);
    const cJSON *pmp = get(jimp, "pmp");
    if (cur && strcasecmp(cur->valuestring, "USD") != 0)
        im->skip = INF_IMP_CURRENCY; /* no FX table yet: never guess a rate */
    else if (cJSON_IsObject(pmp) && opt_int(pmp, "private_auction", 0, 1, 0) == 1)
        im->skip = INF_IMP_PRIVATE; /* an open bid there breaks the deal terms */
    else if (im->n_sizes == 0)
        im->skip = INF_IMP_NO_SIZE;
    return 0;
}

static int parse_imps(const cJSON *root, inf_req *r, beat_reason *why) {
    const cJSON *imps = get(root, "imp");
    if (!imps) return beat_reasonf(why, -EBADMSG, "imp: missing");
    if (!cJSON_IsArray(imps)) return beat_reasonf(why, -EBADMSG, "imp: not an array");
    r->n_imp_total = cJSON_GetArraySize(imps);
    if (r->n_imp_total == 0) return beat_reasonf(why, -EBADMSG, "imp: empty");
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, imps) {
        if (i == INF_IMP_MAX) break; /* bounded work: the rest get no bid */
        int rc = parse_imp(it, i, &r->imp[i], why);
        if (rc < 0) return rc;
        for (int k = 0; k < i; k++)
            if (strcmp(r->imp[k].id, r->imp[i].id) == 0)
                return beat_reasonf(why, -EBADMSG,
                                    "imp[%d].id: duplicate of imp[%d].id", i, k);
        i++;
    }
    r->n_imp = i;
    return 0;
}

/* site / app / dooh: exactly one of site and app, or dooh alone. */
static int parse_channel(const cJSON *root, inf_req *r, beat_reason *why) {
    const cJSON *site = get(root, "site"), *app = get(root, "app");
    const cJSON *dooh = get(root, "dooh");
    if (site && app) return beat_reasonf(why, -EBADMSG, "site and app: both present");
    const cJSON *src = site ? site : app;
    if (src) {
        if (!cJSON_IsObject(src))
            return beat_reasonf(why, -EBADMSG, "%s: not an object", site ? "site" : "app");
        r->chan = site ? INF_CHAN_SITE : INF_CHAN_APP;
        if (site) r->domain = opt_str(site, "domain");
        else r->bundle = opt_str(app, "bundle");
    } else if (dooh) {
        if (!cJSON_IsObject(dooh))
            return beat_reasonf(why, -EBADMSG, "dooh: not an object");
        r->chan = INF_CHAN_DOOH;
        src = dooh;
    } else {
        return beat_reasonf(why, -EBADMSG, "site, app or dooh: none present");
    }
    const cJSON *pub = get(src, "publisher");
    if (cJSON_IsObject(pub)) r->pub_id = opt_str(pub, "id");
    r->n_cats = str_list(get(src, "cat"), r->cats, INF_CAT_MAX, NULL);
    return 0;
}

static int parse_cur(const cJSON *root, inf_req *r, beat_reason *why) {
    const cJSON *cur = get(root, "cur"), *it;
    r->cur_ok = true;
    if (!cur) return 0;
    if (!cJSON_IsArray(cur)) return beat_reasonf(why, -EBADMSG, "cur: not an array");
    if (cJSON_GetArraySize(cur) == 0) return 0; /* empty = unspecified */
    r->cur_ok = false;
    cJSON_ArrayForEach(it, cur) {
        if (cJSON_IsString(it) && strcasecmp(it->valuestring, "USD") == 0)
            r->cur_ok = true;
    }
    return 0;
}

static void parse_device_user(const cJSON *root, inf_req *r) {
    const cJSON *dev = get(root, "device");
    r->devicetype = -1;
    if (cJSON_IsObject(dev)) {
        r->devicetype = (int)opt_int(dev, "devicetype", 0, 255, -1);
        r->os = opt_str(dev, "os");
        const cJSON *geo = get(dev, "geo");
        if (cJSON_IsObject(geo)) r->country = opt_str(geo, "country");
    }
    const cJSON *user = get(root, "user");
    if (cJSON_IsObject(user)) r->user_id = opt_str(user, "id");
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
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        return beat_reasonf(why, -EBADMSG, "body: invalid JSON near byte %zu", at);
    }
    if (end && !only_space(end, body + len)) {
        cJSON_Delete(root);
        return beat_reasonf(why, -EBADMSG, "body: trailing data after the JSON object");
    }
    r->tree = root;
    int rc;
    if (!cJSON_IsObject(root)) {
        rc = beat_reasonf(why, -EBADMSG, "body: not a JSON object");
        goto fail;
    }
    if ((rc = req_id(get(root, "id"), "id", &r->id, why)) < 0 ||
        (rc = parse_imps(root, r, why)) < 0 ||
        (rc = parse_channel(root, r, why)) < 0 || (rc = parse_cur(root, r, why)) < 0)
        goto fail;
    const cJSON *tmax = get(root, "tmax");
    if (tmax && !cJSON_IsNumber(tmax)) {
        rc = beat_reasonf(why, -EBADMSG, "tmax: not a number");
        goto fail;
    }
    r->tmax_ms = opt_int(root, "tmax", 0, 3600000, 0);
    parse_device_user(root, r);
    r->n_bcat = str_list(get(root, "bcat"), r->bcat, INF_BLOCK_MAX, &r->blocks_truncated);
    r->n_badv = str_list(get(root, "badv"), r->badv, INF_BLOCK_MAX, &r->blocks_truncated);
    return 0;
fail:
    inf_req_fini(r);
    return rc;
}

void inf_req_fini(inf_req *r) {
    if (!r) return;
    cJSON_Delete(r->tree);
    r->tree = NULL;
    r->id = NULL;
    r->n_imp = 0;
}

const char *inf_imp_skip_name(inf_imp_skip s) {
    switch (s) {
    case INF_IMP_OK: return "ok";
    case INF_IMP_NO_BANNER: return "no_banner";
    case INF_IMP_NO_SIZE: return "no_size";
    case INF_IMP_CURRENCY: return "imp_currency";
    case INF_IMP_PRIVATE: return "private_auction";
    }
    return "?";
}
