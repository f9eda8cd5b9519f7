/* Geography and audience targeting (audience.h). The per-world table lists
 * only the campaigns that use it, so a world without such campaigns costs
 * the bid path one NULL test. Matching rules (docs/campaigns.md):
 *  - regions, metros, cities, zips and radius together name places; the
 *    request must be in one of them. A request without the signal a place
 *    needs (no region, no lat/lon…) is not in it.
 *  - regions "CCC:RR" match the request's geo.country and geo.region
 *    (case-folded); a region sent as a full ISO 3166-2 code ("US-NY") is
 *    compared by its part after the '-'.
 *  - segments_include: some (provider, id) of the request is listed;
 *    segments_exclude: none is. lists_include: one of the request's user
 *    ids (user.id, buyeruid, ifa) is in one of the lists; lists_exclude:
 *    none is. What the privacy gate cleared is simply not there. */
#include "audience.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model.h"

#define EARTH_KM 6371.0088

int inf_segs_decode(const void *frame, size_t len, inf_segs **out, beat_reason *why) {
    inf_segs *s = calloc(1, sizeof *s);
    if (!s) return beat_reasonf(why, -ENOMEM, "out of memory");
    int rc = beat_seglists_decode(frame, len, &s->s, why);
    if (rc) {
        free(s);
        return rc;
    }
    s->refs = 1;
    *out = s;
    return 0;
}

void inf_segs_unref(inf_segs *s) {
    if (!s || --s->refs > 0) return;
    beat_seglists_fini(&s->s);
    free(s);
}

double inf_geo_km(double lat1, double lon1, double lat2, double lon2) {
    const double d2r = M_PI / 180.0;
    double dlat = (lat2 - lat1) * d2r, dlon = (lon2 - lon1) * d2r;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * d2r) * cos(lat2 * d2r) * sin(dlon / 2) * sin(dlon / 2);
    if (a > 1) a = 1;
    return 2 * EARTH_KM * asin(sqrt(a));
}

static bool region_match(const char *entry, const inf_req *r) {
    const char *colon = strchr(entry, ':');
    if (!colon || !r->country || !r->region) return false;
    size_t cl = (size_t)(colon - entry);
    if (strlen(r->country) != cl || strncasecmp(entry, r->country, cl) != 0) return false;
    const char *reg = r->region, *dash = strrchr(reg, '-');
    if (dash) reg = dash + 1;
    return strcasecmp(colon + 1, reg) == 0;
}

static bool strv_has(const beat_strv *l, const char *v) {
    if (!v) return false;
    for (int i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], v) == 0) return true;
    return false;
}

static bool geo_in(const beat_campaign_aud *a, const inf_req *r) {
    for (int i = 0; i < a->regions.n; i++)
        if (region_match(a->regions.v[i], r)) return true;
    if (strv_has(&a->metros, r->metro) || strv_has(&a->cities, r->city) ||
        strv_has(&a->zips, r->zip))
        return true;
    for (int i = 0; r->has_geo && i < a->n_radius; i++) {
        const beat_geo_radius *g = &a->radius[i];
        if (inf_geo_km(g->lat, g->lon, r->lat, r->lon) <= g->radius_km) return true;
    }
    return false;
}

static bool segs_hit(const beat_seg_rule *rules, int n, const inf_req *r) {
    for (int i = 0; i < r->n_segments; i++) {
        const char *p = r->seg_provider[i];
        if (!p) continue;
        for (int k = 0; k < n; k++) {
            if (strcmp(rules[k].provider, p) != 0) continue;
            for (int j = 0; j < rules[k].ids.n; j++)
                if (strcmp(rules[k].ids.v[j], r->segments[i]) == 0) return true;
        }
    }
    return false;
}

static bool lists_hit(const beat_seglist *const *l, int n, const uint64_t *uh, int n_uh) {
    for (int k = 0; k < n; k++)
        for (int i = 0; l[k] && i < n_uh; i++)
            if (beat_seglist_has(l[k], uh[i])) return true;
    return false;
}

inf_aud_verdict inf_aud_check(const beat_campaign_aud *a, const inf_req *r,
                              const beat_seglist *const *incl, const beat_seglist *const *excl,
                              const uint64_t *uh, int n_uh) {
    bool geo = a->regions.n || a->metros.n || a->cities.n || a->zips.n || a->n_radius;
    if (geo && !geo_in(a, r)) return INF_AUD_GEO;
    if (a->n_seg_incl && !segs_hit(a->seg_incl, a->n_seg_incl, r)) return INF_AUD_SEGMENTS;
    if (a->n_seg_excl && segs_hit(a->seg_excl, a->n_seg_excl, r)) return INF_AUD_SEGMENTS;
    if (a->lists_incl.n && !lists_hit(incl, a->lists_incl.n, uh, n_uh)) return INF_AUD_LISTS;
    if (a->lists_excl.n && lists_hit(excl, a->lists_excl.n, uh, n_uh)) return INF_AUD_LISTS;
    return INF_AUD_OK;
}

/* ---- per world ---------------------------------------------------------------- */

typedef struct aud_camp {
    int ci; /* index into the world's campaigns */
    const beat_campaign_aud *a;
    const beat_seglist **incl, **excl; /* into inf_aud.lists */
} aud_camp;

struct inf_aud {
    inf_segs *segs; /* a reference; NULL = no lists held */
    bool hash_ids;  /* some campaign names a list: hash the request's ids */
    int n;
    aud_camp *c;
    const beat_seglist **lists;
};

void inf_aud_free(inf_aud *x) {
    if (!x) return;
    inf_segs_unref(x->segs);
    free(x->c);
    free(x->lists);
    free(x);
}

void inf_aud_segs(const inf_aud *x, int64_t *version, int *n_lists) {
    *version = x && x->segs ? x->segs->s.version : 0;
    *n_lists = x && x->segs ? x->segs->s.n : 0;
}

int inf_aud_attach(inf_world *w, inf_segs *segs) {
    inf_aud_free(w->aud);
    w->aud = NULL;
    int n = 0;
    size_t nl = 0;
    for (int i = 0; i < w->n; i++) {
        const beat_campaign_aud *a = &w->camps[i].c->aud;
        if (!beat_campaign_aud_used(a)) continue;
        n++;
        nl += (size_t)a->lists_incl.n + (size_t)a->lists_excl.n;
    }
    /* Kept even without campaigns: the held lists' version is reported. */
    inf_aud *x = calloc(1, sizeof *x);
    if (!x) return -ENOMEM;
    x->c = calloc(n ? (size_t)n : 1, sizeof *x->c);
    x->lists = calloc(nl ? nl : 1, sizeof *x->lists);
    if (!x->c || !x->lists) {
        inf_aud_free(x);
        return -ENOMEM;
    }
    const beat_seglists *held = segs ? &segs->s : NULL;
    size_t at = 0;
    for (int i = 0; i < w->n; i++) {
        const beat_campaign_aud *a = &w->camps[i].c->aud;
        if (!beat_campaign_aud_used(a)) continue;
        aud_camp *c = &x->c[x->n++];
        c->ci = i;
        c->a = a;
        c->incl = x->lists + at;
        for (int k = 0; k < a->lists_incl.n; k++)
            x->lists[at++] = beat_seglists_find(held, a->lists_incl.v[k]);
        c->excl = x->lists + at;
        for (int k = 0; k < a->lists_excl.n; k++)
            x->lists[at++] = beat_seglists_find(held, a->lists_excl.v[k]);
        if (a->lists_incl.n || a->lists_excl.n) x->hash_ids = true;
    }
    if (segs) segs->refs++;
    x->segs = segs;
    w->aud = x;
    return 0;
}

void inf_aud_filter(const inf_aud *x, const inf_req *r, int words, uint64_t *req, uint64_t *req_all,
                    inf_aud_refused *out) {
    out->any = false;
    if (!x || !x->n) return;
    uint64_t uh[3];
    int n_uh = 0;
    if (x->hash_ids && x->segs) {
        const char *ids[3] = {r->user_id, r->buyeruid, r->ifa};
        for (int i = 0; i < 3; i++)
            if (ids[i]) uh[n_uh++] = beat_seglist_hash(x->segs->s.seed, ids[i], strlen(ids[i]));
    }
    for (int k = 0; k < x->n; k++) {
        const aud_camp *c = &x->c[k];
        int wi = c->ci >> 6;
        uint64_t bit = 1ULL << (c->ci & 63);
        if (!(req[wi] & bit) && !(req_all && (req_all[wi] & bit))) continue;
        inf_aud_verdict v = inf_aud_check(c->a, r, c->incl, c->excl, uh, n_uh);
        if (v == INF_AUD_OK) continue;
        if (!out->any) {
            for (int s = 0; s < 3; s++) memset(out->set[s], 0, (size_t)words * sizeof(uint64_t));
            out->any = true;
        }
        out->set[v - 1][wi] |= bit;
        req[wi] &= ~bit;
        if (req_all) req_all[wi] &= ~bit;
    }
}
