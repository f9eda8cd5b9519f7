/* The campaigns as the oracle sees them: budget, flight, bid cap, and a
 * simplified eligibility test (targeting lists, creative format and size,
 * private deals, the request's badv/bcat blocks) read from the same JSON the
 * supervisor serves. Approximate on purpose (no frequency caps, no
 * attribute checks); only the oracle uses it, never the auction itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "beat_clock.h"
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
    const cJSON *x;
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
    cJSON_ArrayForEach(j, arr) camp_read(&out->c[out->n++], j, now);
    cJSON_Delete(root);
    return 0;
}

void exs_camps_fini(exs_camps *cs) {
    for (int i = 0; i < cs->n; i++) {
        exs_camp *c = &cs->c[i];
        strs *all[] = {&c->adomain,   &c->cat,       &c->countries, &c->os,        &c->site_cat,
                       &c->dom_allow, &c->dom_block, &c->bun_allow, &c->bun_block, &c->deals};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) strs_free(all[k]);
    }
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}

const char *exs_camp_id(const exs_camps *cs, int i) { return cs->c[i].id; }

int exs_camps_find(const exs_camps *cs, const char *id) {
    for (int i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].id, id) == 0) return i;
    return -1;
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

bool exs_camp_eligible(const exs_camps *cs, int i, const exs_world *w, const exs_req *r,
                       int64_t t_ms) {
    const exs_camp *c = &cs->c[i];
    int64_t e_ms = beat_engine_of_wall_ms(t_ms); /* flights are in engine time */
    if (c->paused || e_ms < c->start_ms || e_ms >= c->end_ms) return false;
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
