/* The campaigns as the oracle sees them: budget, flight, bid cap, and a
 * simplified eligibility test (targeting lists, geography and segments,
 * creative format and size, private deals, the request's badv/bcat blocks,
 * the schedule in its zone on engine time) read from the same JSON the
 * supervisor serves. Approximate on purpose (no frequency caps, no
 * attribute checks; first-party lists are the advertiser's: known here
 * only when the run hands their files over (--list), else a campaign that
 * needs one is never eligible and an exclusion list excludes nobody). The
 * oracle and the trading-desk grading (desk.c) use it, never the auction. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "beat_clock.h"
#include "beat_sched.h"
#include "exsim.h"

#define LIST_MAX 64
#define CAMPS_MAX 64 /* the oracle keeps one CTR per campaign per auction */

typedef struct strs {
    char *v[LIST_MAX];
    int n;
} strs;

struct exs_camp {
    char id[72];
    int64_t start_ms, end_ms, budget_micros, max_bid_cpm_micros;
    bool paused;
    strs adomain, cat, countries, os, site_cat, dom_allow, dom_block, bun_allow, bun_block, deals;
    int devtypes[16], n_devtypes;
    int sizes[32][2], n_sizes;
    bool video, native;
    /* geography and audiences (campaign sets v 4); segments as "provider\tid" */
    strs regions, metros, cities, zips, seg_in, seg_ex;
    double radius[8][3]; /* lat, lon, km */
    int n_radius;
    strs lists_in, lists_ex;
    int fcap_max, fcap_window_s; /* freq_cap; 0: none */
    beat_sched sched;            /* .on false: no schedule */
    const beat_tz *tz;
};

static void strs_read(strs *s, const cJSON *arr) {
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) {
        if (cJSON_IsString(x) && s->n < LIST_MAX) s->v[s->n++] = strdup(x->valuestring);
    }
}

static void strs_free(strs *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    s->n = 0;
}

static bool strs_has(const strs *s, const char *v, bool prefix) {
    for (int i = 0; i < s->n; i++) {
        if (strcasecmp(s->v[i], v) == 0) return true;
        size_t k = strlen(s->v[i]);
        if (prefix && strncasecmp(s->v[i], v, k) == 0 && v[k] == '-') return true;
    }
    return false;
}

static int64_t jnum(const cJSON *o, const char *k, int64_t def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

/* {"provider","ids"} rules as "provider\tid" strings. */
static void seg_read(strs *s, const cJSON *arr) {
    const cJSON *rule, *id;
    cJSON_ArrayForEach(rule, arr) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(rule, "provider");
        cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(rule, "ids")) {
            char buf[160];
            if (!cJSON_IsString(p) || !cJSON_IsString(id) || s->n == LIST_MAX) continue;
            snprintf(buf, sizeof buf, "%s\t%s", p->valuestring, id->valuestring);
            s->v[s->n++] = strdup(buf);
        }
    }
}

static void aud_read(exs_camp *c, const cJSON *t) {
    strs_read(&c->regions, cJSON_GetObjectItemCaseSensitive(t, "regions"));
    strs_read(&c->metros, cJSON_GetObjectItemCaseSensitive(t, "metros"));
    strs_read(&c->cities, cJSON_GetObjectItemCaseSensitive(t, "cities"));
    strs_read(&c->zips, cJSON_GetObjectItemCaseSensitive(t, "zips"));
    seg_read(&c->seg_in, cJSON_GetObjectItemCaseSensitive(t, "segments_include"));
    seg_read(&c->seg_ex, cJSON_GetObjectItemCaseSensitive(t, "segments_exclude"));
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(t, "radius")) {
        if (c->n_radius == 8) break;
        double *g = c->radius[c->n_radius++];
        const char *k[3] = {"lat", "lon", "radius_km"};
        for (int i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, k[i]);
            g[i] = cJSON_IsNumber(v) ? v->valuedouble : 0;
        }
    }
    strs_read(&c->lists_in, cJSON_GetObjectItemCaseSensitive(t, "lists_include"));
    strs_read(&c->lists_ex, cJSON_GetObjectItemCaseSensitive(t, "lists_exclude"));
}

/* tz and schedule, validated as the supervisor does (0, or -EINVAL with
 * the reason in why). */
static int camp_when(exs_camp *c, const cJSON *j, beat_reason *why) {
    const cJSON *tz = cJSON_GetObjectItemCaseSensitive(j, "tz");
    beat_reason tzwhy = {{0}};
    if (tz && (!cJSON_IsString(tz) || !(c->tz = beat_tz_get(tz->valuestring, &tzwhy))))
        return beat_reasonf(why, -EINVAL, "%s.tz: %s", c->id,
                            tzwhy.msg[0] ? tzwhy.msg : "must be a time zone name");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "schedule");
    if (s && beat_sched_decode(s, c->id, false, &c->sched, why) != 0) return -EINVAL;
    return 0;
}

static void camp_read(exs_camp *c, const cJSON *j, int64_t now_ms) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    snprintf(c->id, sizeof c->id, "%s", cJSON_IsString(id) ? id->valuestring : "?");
    int64_t flight = jnum(j, "flight_s", 0);
    c->start_ms = jnum(j, "start_ms", now_ms);
    c->end_ms = jnum(j, "end_ms", c->start_ms + flight * 1000);
    c->budget_micros = jnum(j, "budget_micros", 0);
    c->max_bid_cpm_micros = jnum(j, "max_bid_cpm_micros", 0);
    c->paused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "paused"));
    strs_read(&c->adomain, cJSON_GetObjectItemCaseSensitive(j, "adomain"));
    strs_read(&c->cat, cJSON_GetObjectItemCaseSensitive(j, "cat"));
    strs_read(&c->deals, cJSON_GetObjectItemCaseSensitive(j, "deals"));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "targeting");
    strs_read(&c->countries, cJSON_GetObjectItemCaseSensitive(t, "countries"));
    strs_read(&c->os, cJSON_GetObjectItemCaseSensitive(t, "os"));
    strs_read(&c->site_cat, cJSON_GetObjectItemCaseSensitive(t, "site_cat"));
    strs_read(&c->dom_allow, cJSON_GetObjectItemCaseSensitive(t, "domains_allow"));
    strs_read(&c->dom_block, cJSON_GetObjectItemCaseSensitive(t, "domains_block"));
    strs_read(&c->bun_allow, cJSON_GetObjectItemCaseSensitive(t, "bundles_allow"));
    strs_read(&c->bun_block, cJSON_GetObjectItemCaseSensitive(t, "bundles_block"));
    const cJSON *x, *fc = cJSON_GetObjectItemCaseSensitive(j, "freq_cap");
    aud_read(c, t);
    c->fcap_max = (int)jnum(fc, "max", 0);
    c->fcap_window_s = (int)jnum(fc, "window_s", 0);
    if (c->fcap_max <= 0 || c->fcap_window_s <= 0) c->fcap_max = c->fcap_window_s = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(t, "device_types")) {
        if (cJSON_IsNumber(x) && c->n_devtypes < 16) c->devtypes[c->n_devtypes++] = x->valueint;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "creatives")) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(x, "format");
        const char *fmt = cJSON_IsString(f) ? f->valuestring : "banner";
        if (strcmp(fmt, "video") == 0) c->video = true;
        else if (strcmp(fmt, "native") == 0) c->native = true;
        else if (c->n_sizes < 32) {
            c->sizes[c->n_sizes][0] = (int)jnum(x, "w", 0);
            c->sizes[c->n_sizes][1] = (int)jnum(x, "h", 0);
            c->n_sizes++;
        }
    }
}

int exs_camps_load(const char *path, exs_camps *out, char *err, size_t errn) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errn, "cannot open %s", path);
        return -errno;
    }
    char *buf = malloc(8 << 20);
    size_t n = buf ? fread(buf, 1, (8 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf) return -ENOMEM;
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    const cJSON *arr = root ? cJSON_GetObjectItemCaseSensitive(root, "campaigns") : NULL;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errn, "%s: no \"campaigns\" array", path);
        cJSON_Delete(root);
        return -EINVAL;
    }
    int k = cJSON_GetArraySize(arr);
    if (k > CAMPS_MAX) {
        snprintf(err, errn, "%s: %d campaigns, the oracle handles at most %d", path, k, CAMPS_MAX);
        cJSON_Delete(root);
        return -E2BIG;
    }
    out->c = calloc((size_t)(k ? k : 1), sizeof *out->c);
    if (!out->c) {
        cJSON_Delete(root);
        return -ENOMEM;
    }
    int64_t now = beat_engine_ms(); /* "flight_s" starts at engine now */
    const cJSON *j;
    beat_reason why = {{0}};
    cJSON_ArrayForEach(j, arr) {
        exs_camp *c = &out->c[out->n++];
        camp_read(c, j, now);
        if (camp_when(c, j, &why) != 0) {
            snprintf(err, errn, "%s: %s", path, why.msg);
            cJSON_Delete(root);
            exs_camps_fini(out);
            return -EINVAL;
        }
    }
    cJSON_Delete(root);
    return 0;
}

void exs_camps_fini(exs_camps *cs) {
    for (int i = 0; i < cs->n; i++) {
        exs_camp *c = &cs->c[i];
        strs *all[] = {&c->adomain,   &c->cat,       &c->countries, &c->os,        &c->site_cat,
                       &c->dom_allow, &c->dom_block, &c->bun_allow, &c->bun_block, &c->deals,
                       &c->regions,   &c->metros,    &c->cities,    &c->zips,      &c->seg_in,
                       &c->seg_ex,    &c->lists_in,  &c->lists_ex};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) strs_free(all[k]);
    }
    free(cs->c);
    for (int i = 0; i < cs->n_lists; i++) free(cs->lists[i].bits);
    free(cs->lists);
    memset(cs, 0, sizeof *cs);
}

const char *exs_camp_id(const exs_camps *cs, int i) { return cs->c[i].id; }

int exs_camps_find(const exs_camps *cs, const char *id) {
    for (int i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].id, id) == 0) return i;
    return -1;
}

bool exs_camp_open(const exs_camps *cs, int i, int64_t t_ms) {
    const exs_camp *c = &cs->c[i];
    return beat_sched_open(&c->sched, c->tz, beat_engine_of_wall_ms(t_ms));
}

int64_t exs_camp_budget(const exs_camps *cs, int i) { return cs->c[i].budget_micros; }
int64_t exs_camp_max_bid(const exs_camps *cs, int i) { return cs->c[i].max_bid_cpm_micros; }

int exs_camps_adomains(const exs_camps *cs, const char *const **out) {
    static const char *doms[CAMPS_MAX * 2];
    int n = 0;
    for (int i = 0; i < cs->n; i++)
        for (int k = 0; k < cs->c[i].adomain.n && k < 2; k++) doms[n++] = cs->c[i].adomain.v[k];
    *out = doms;
    return n;
}

static double km(double la1, double lo1, double la2, double lo2) {
    double d = M_PI / 180, a = sin((la2 - la1) * d / 2), b = sin((lo2 - lo1) * d / 2);
    double h = a * a + cos(la1 * d) * cos(la2 * d) * b * b;
    return 2 * 6371.0088 * asin(sqrt(h < 1 ? h : 1));
}

/* The engine's rules (docs/campaigns.md), on what the request carries: a
 * place needs its signal, personal data (segments, position) its consent. */
static bool geo_ok(const exs_camp *c, const exs_req *r) {
    if (!c->regions.n && !c->metros.n && !c->cities.n && !c->zips.n && !c->n_radius) return true;
    const char *ctry = exs_ctry_name(r->ctry), *region = exs_place_field(r, 0);
    for (int k = 0; k < c->regions.n; k++) {
        const char *e = c->regions.v[k], *colon = strchr(e, ':');
        if (colon && (size_t)(colon - e) == strlen(ctry) &&
            strncasecmp(e, ctry, strlen(ctry)) == 0 && strcasecmp(colon + 1, region) == 0)
            return true;
    }
    const char *m = exs_place_field(r, 1);
    if ((m && strs_has(&c->metros, m, false)) ||
        strs_has(&c->cities, exs_place_field(r, 2), false) ||
        strs_has(&c->zips, exs_place_field(r, 3), false))
        return true;
    for (int k = 0; r->latlon && exs_personal_ok(r) && k < c->n_radius; k++)
        if (km(c->radius[k][0], c->radius[k][1], r->lat, r->lon) <= c->radius[k][2]) return true;
    return false;
}

static bool seg_hit(const strs *rules, const exs_req *r) {
    for (int i = 0; i < EXS_SEGS && exs_personal_ok(r); i++) {
        if (!(r->segs >> i & 1u)) continue;
        char key[160];
        snprintf(key, sizeof key, "%s\t%s", exs_seg_provider(i), exs_seg_id(i));
        for (int k = 0; k < rules->n; k++)
            if (strcmp(rules->v[k], key) == 0) return true;
    }
    return false;
}

/* Is r's user in any of the named lists? Only ids the privacy gate leaves
 * count (the exchange's user id "u<n>" is what the lists hold). */
static bool list_hit(const exs_camps *cs, const strs *names, const exs_req *r) {
    if (!exs_personal_ok(r) || r->user < 0) return false;
    for (int k = 0; k < names->n; k++)
        for (int i = 0; i < cs->n_lists; i++) {
            const exs_ulist *l = &cs->lists[i];
            if (strcmp(l->id, names->v[k]) == 0 && r->user < l->n_users &&
                (l->bits[r->user >> 3] >> (r->user & 7) & 1))
                return true;
        }
    return false;
}

bool exs_camp_on_target(const exs_camps *cs, int i, const exs_req *r) {
    const exs_camp *c = &cs->c[i];
    return geo_ok(c, r) && (!c->seg_in.n || seg_hit(&c->seg_in, r)) && !seg_hit(&c->seg_ex, r) &&
           (!c->lists_in.n || list_hit(cs, &c->lists_in, r)) && !list_hit(cs, &c->lists_ex, r);
}

const beat_tz *exs_camp_tz(const exs_camps *cs, int i) { return cs->c[i].tz; }

int exs_camp_fcap(const exs_camps *cs, int i, int *window_s) {
    *window_s = cs->c[i].fcap_window_s;
    return cs->c[i].fcap_max;
}

int exs_camps_list_load(exs_camps *cs, const char *spec, char *err, size_t errn) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof cs->lists[0].id) {
        snprintf(err, errn, "want LIST_ID=PATH, got %s", spec);
        return -EINVAL;
    }
    FILE *f = fopen(eq + 1, "r");
    if (!f) {
        snprintf(err, errn, "cannot open %s", eq + 1);
        return -errno;
    }
    exs_ulist *ls = realloc(cs->lists, (size_t)(cs->n_lists + 1) * sizeof *ls);
    uint8_t *bits = calloc(EXS_LIST_USERS_MAX / 8, 1);
    if (ls) cs->lists = ls;
    if (!ls || !bits) {
        free(bits);
        fclose(f);
        return -ENOMEM;
    }
    exs_ulist *l = &cs->lists[cs->n_lists++];
    snprintf(l->id, sizeof l->id, "%.*s", (int)(eq - spec), spec);
    l->bits = bits;
    l->n_users = 0;
    char line[128];
    /* One id a line, as uploaded; only this exchange's user ids (u<n>)
     * can name its users, anything else matches nobody here. */
    while (fgets(line, sizeof line, f)) {
        char *end;
        if (line[0] != 'u') continue;
        long u = strtol(line + 1, &end, 10);
        if (end == line + 1 || (*end && *end != '\n' && *end != '\r') || u < 0 ||
            u >= EXS_LIST_USERS_MAX)
            continue;
        bits[u >> 3] |= (uint8_t)(1u << (u & 7));
        if (u + 1 > l->n_users) l->n_users = (int)u + 1;
    }
    fclose(f);
    return 0;
}

bool exs_camp_eligible(const exs_camps *cs, int i, const exs_world *w, const exs_req *r,
                       int64_t t_ms) {
    const exs_camp *c = &cs->c[i];
    int64_t e_ms = beat_engine_of_wall_ms(t_ms); /* flights are in engine time */
    if (c->paused || e_ms < c->start_ms || e_ms >= c->end_ms) return false;
    if (!beat_sched_open(&c->sched, c->tz, e_ms)) return false;
    if (c->countries.n && !strs_has(&c->countries, exs_ctry_name(r->ctry), false)) return false;
    if (c->os.n && !strs_has(&c->os, exs_os_name(r->os), false)) return false;
    if (c->n_devtypes) {
        bool ok = false;
        for (int k = 0; k < c->n_devtypes; k++) ok |= c->devtypes[k] == exs_devtype(r->dev);
        if (!ok) return false;
    }
    if (c->site_cat.n && !strs_has(&c->site_cat, exs_cat_name(r->cat), true)) return false;
    char dom[40];
    exs_domain_name(r->dom, dom, sizeof dom);
    const strs *allow = r->app ? &c->bun_allow : &c->dom_allow;
    const strs *block = r->app ? &c->bun_block : &c->dom_block;
    if ((allow->n && !strs_has(allow, dom, false)) || strs_has(block, dom, false)) return false;
    if (r->private_auction && (r->deal < 0 || !strs_has(&c->deals, exs_deal_id(r->deal), false)))
        return false;
    if (r->badv >= 0 && strs_has(&c->adomain, w->badv[r->badv], false)) return false;
    if (r->bcat_extra >= 0 && strs_has(&c->cat, exs_cat_name(r->bcat_extra), true)) return false;
    if (!exs_camp_on_target(cs, i, r)) return false;
    if (r->fmt == EXS_VIDEO) return c->video;
    if (r->fmt == EXS_NATIVE) return c->native;
    int W, H, aw = 0, ah = 0;
    exs_size_of(r->size, &W, &H);
    if (r->multisize) exs_size_of(exs_alt_size(r->size), &aw, &ah);
    for (int k = 0; k < c->n_sizes; k++)
        if ((c->sizes[k][0] == W && c->sizes[k][1] == H) ||
            (c->sizes[k][0] == aw && c->sizes[k][1] == ah))
            return true;
    return false;
}
