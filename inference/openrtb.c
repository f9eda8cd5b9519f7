/* OpenRTB request parsing for the bid path: cJSON tree → inf_req. Called by
 * the HTTP handler once per request, before the world is consulted, so a
 * malformed request is always a 400 whatever state the node is in.
 * Strict on what decides the auction (ids, imp array, site/app, floors,
 * currency), lenient on optional descriptive fields: a wrongly-typed
 * device/user/geo field is treated as absent, as exchanges do send junk there.
 * cJSON allocates per request (acceptable for the skeleton; a later issue may
 * swap in an arena parser behind this same interface). */
#include "openrtb.h"

#include "beat_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FLOOR_MAX_CPM 1e6 /* floors above this are clamped: nobody bids there */
#define RATES_MAX 32

/* The currency table: set once at start-up, read-only afterwards. */
static struct {
    int n;
    char cur[RATES_MAX][4];
    double usd_per_unit[RATES_MAX];
} rates;

int inf_openrtb_rates_set(const char *spec, beat_reason *why) {
    int n = 0;
    char cur[RATES_MAX][4];
    double rate[RATES_MAX];
    const char *p = spec ? spec : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item)
            return beat_reasonf(why, -EINVAL, "currency rates: bad entry at \"%.20s\"", p);
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '='), *num_end = NULL;
        double v = eq ? strtod(eq + 1, &num_end) : 0;
        if (!eq || eq - item != 3 || !num_end || *num_end || !(v > 0 && v <= 1e6))
            return beat_reasonf(why, -EINVAL,
                                "currency rates: \"%s\" is not CUR=usd_per_unit", item);
        if (n == RATES_MAX)
            return beat_reasonf(why, -EINVAL, "currency rates: more than %d", RATES_MAX);
        for (int i = 0; i < 3; i++) {
            char c = item[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
                return beat_reasonf(why, -EINVAL, "currency rates: bad code \"%.3s\"", item);
            cur[n][i] = (char)(c & ~0x20); /* upper case */
        }
        cur[n][3] = '\0';
        rate[n++] = v;
        p += len;
        if (*p == ',') p++;
    }
    rates.n = n;
    memcpy(rates.cur, cur, sizeof cur);
    memcpy(rates.usd_per_unit, rate, sizeof rate);
    return 0;
}

double inf_openrtb_rate(const char *c) {
    if (strcasecmp(c, "USD") == 0) return 1.0;
    for (int i = 0; i < rates.n; i++)
        if (strcasecmp(c, rates.cur[i]) == 0) return rates.usd_per_unit[i];
    return 0;
}
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
    /* Echoed in the response and logged on Kafka, whose event decoder
     * refuses control characters and invalid UTF-8 in ids (cJSON passes raw
     * bytes through): refuse them here. Found by fuzz_openrtb. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
            return beat_reasonf(why, -EBADMSG, "%s: control character", what);
    if (!beat_json_utf8_valid(v->valuestring))
        return beat_reasonf(why, -EBADMSG, "%s: not valid UTF-8", what);
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

    const cJSON *cur = get(jimp, "bidfloorcur");
    if (cur && !cJSON_IsString(cur))
        return beat_reasonf(why, -EBADMSG, "imp[%d].bidfloorcur: not a string", i);
    /* The floor in USD: bidfloorcur through the rate table. An unknown
     * currency skips the imp (never guess a rate). */
    double rate = cur ? inf_openrtb_rate(cur->valuestring) : 1.0;
    const cJSON *fl = get(jimp, "bidfloor");
    if (fl) {
        if (!cJSON_IsNumber(fl))
            return beat_reasonf(why, -EBADMSG, "imp[%d].bidfloor: not a number", i);
        if (!(fl->valuedouble >= 0))
            return beat_reasonf(why, -EBADMSG, "imp[%d].bidfloor: negative", i);
        double cpm = fl->valuedouble * (rate > 0 ? rate : 1.0);
        if (!(cpm <= FLOOR_MAX_CPM)) cpm = FLOOR_MAX_CPM;
        im->floor_cpm_micros = llround(cpm * 1e6);
    }

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
    if (!(rate > 0))
        im->skip = INF_IMP_CURRENCY;
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

/* site / app / dooh: exactly one of them. */
static int parse_channel(const cJSON *root, inf_req *r, beat_reason *why) {
    const cJSON *site = get(root, "site"), *app = get(root, "app");
    const cJSON *dooh = get(root, "dooh");
    if (site && app) return beat_reasonf(why, -EBADMSG, "site and app: both present");
    if ((site || app) && dooh)
        return beat_reasonf(why, -EBADMSG, "%s and dooh: both present", site ? "site" : "app");
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
        /* 2.6 structured user agent: its platform stands in for a missing os */
        const cJSON *sua = get(dev, "sua");
        if (!r->os && cJSON_IsObject(sua)) {
            const cJSON *plat = get(sua, "platform");
            if (cJSON_IsObject(plat)) r->os = opt_str(plat, "brand");
        }
    }
    /* Consent, 2.6 top-level fields first, then the 2.5 ext locations. */
    const cJSON *regs = get(root, "regs"), *rext = NULL;
    if (cJSON_IsObject(regs)) {
        rext = get(regs, "ext");
        if (!cJSON_IsObject(rext)) rext = NULL;
        int64_t g = opt_int(regs, "gdpr", 0, 1, -1);
        if (g < 0) g = opt_int(rext, "gdpr", 0, 1, 0);
        r->gdpr = g == 1;
        r->coppa = opt_int(regs, "coppa", 0, 1, 0) == 1;
    }
    const cJSON *user = get(root, "user");
    if (cJSON_IsObject(user)) {
        r->user_id = opt_str(user, "id");
        r->consent = opt_str(user, "consent");
        const cJSON *uext = get(user, "ext");
        if (!r->consent && cJSON_IsObject(uext)) r->consent = opt_str(uext, "consent");
    }
    /* No personal data without a legal basis: under COPPA, or GDPR without a
     * consent string, the user id is dropped, so no frequency capping (capped
     * campaigns then do not bid) and nothing user-keyed is logged. The TCF
     * string is not decoded: its presence counts as consent (approximate,
     * documented in docs). */
    r->personal_ok = !r->coppa && !(r->gdpr && !r->consent);
    if (!r->personal_ok) r->user_id = NULL;
}

/* wseat (allow) / bseat (block) against INF_SEAT. */
static bool seat_listed(const cJSON *arr) {
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (cJSON_IsString(it) && strcmp(it->valuestring, INF_SEAT) == 0) return true;
    }
    return false;
}

static void parse_auction(const cJSON *root, inf_req *r) {
    r->at = (int)opt_int(root, "at", 1, 1000, 2);
    r->test = opt_int(root, "test", 0, 1, 0) == 1;
    const cJSON *wseat = get(root, "wseat"), *bseat = get(root, "bseat");
    r->seat_ok = true;
    if (cJSON_IsArray(wseat) && cJSON_GetArraySize(wseat) > 0 && !seat_listed(wseat))
        r->seat_ok = false;
    if (cJSON_IsArray(bseat) && seat_listed(bseat)) r->seat_ok = false;
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
    parse_auction(root, r);
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
