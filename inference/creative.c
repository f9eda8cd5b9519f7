/* Which creative of a campaign fits an imp (banner sizes, VAST video
 * mimes/durations/protocols, Native 1.2 assets, battr) and which PMP deal
 * a campaign may bid on. Pure functions over a parsed request and a
 * campaign, called by bidder.c per (campaign, imp) on the hot path: no
 * allocation, no locks, no logging. */
#include "creative.h"

#include <string.h>
#include <strings.h>

static bool video_fits(const beat_creative *cr, const inf_video *v) {
    bool mime = false;
    for (int i = 0; i < cr->mimes.n && !mime; i++)
        for (int k = 0; k < v->n_mimes && !mime; k++)
            mime = strcasecmp(cr->mimes.v[i], v->mimes[k]) == 0;
    if (!mime) return false;
    int d = cr->duration_s;
    if ((v->minduration && d < v->minduration) || (v->maxduration && d > v->maxduration))
        return false;
    if (v->n_rqddurs) {
        bool ok = false;
        for (int i = 0; i < v->n_rqddurs; i++) ok |= v->rqddurs[i] == d;
        if (!ok) return false;
    }
    return !v->protocols || (v->protocols & cr->protocols);
}

static bool text_fits(const char *t, int len) {
    return t && (len <= 0 || strlen(t) <= (size_t)len);
}

static bool img_fits(const beat_native_img *im, const inf_asset *a) {
    if (!im->url) return false;
    if (a->wmin || a->hmin) return im->w >= a->wmin && im->h >= a->hmin;
    if (a->w && a->h) return im->w == a->w && im->h == a->h;
    return true;
}

/* What of the creative fills asset a: NULL when it cannot. The returned
 * pointer is the text (title/data) or the image. */
const void *inf_asset_fill(const beat_creative *cr, const inf_asset *a) {
    switch (a->kind) {
        case INF_ASSET_TITLE: return text_fits(cr->title, a->len) ? cr->title : NULL;
        case INF_ASSET_IMG:
            if (a->type == 1) return img_fits(&cr->icon, a) ? &cr->icon : NULL;
            if (a->type == 0 || a->type == 3) return img_fits(&cr->img, a) ? &cr->img : NULL;
            return NULL;
        case INF_ASSET_DATA: {
            const char *t = a->type == 1    ? cr->sponsored
                            : a->type == 2  ? cr->desc
                            : a->type == 12 ? cr->cta
                                            : NULL;
            return text_fits(t, a->len) ? t : NULL;
        }
        default: return NULL;
    }
}

/* Every required asset met, and at least one asset filled at all. */
static bool native_fits(const beat_creative *cr, const inf_native *n) {
    int filled = 0;
    for (int i = 0; i < n->n_assets; i++) {
        bool ok = inf_asset_fill(cr, &n->assets[i]) != NULL;
        if (!ok && n->assets[i].required) return false;
        filled += ok;
    }
    return filled > 0;
}

/* The creative to bid with: banner sizes in the imp's order of sizes, then
 * video, then native; within a format the campaign's order. A creative with
 * an attribute the imp blocks (battr of that format) is never chosen. */
int inf_creative_match(const beat_campaign *c, const uint32_t *sizes, int nc, const inf_imp *im) {
    if (!sizes) nc = c->n_creatives < BEAT_CREATIVES_MAX ? c->n_creatives : BEAT_CREATIVES_MAX;
    uint64_t battr = im->battr[INF_FMT_BANNER];
    if (im->formats & INF_FMT_BANNER)
        for (int s = 0; s < im->n_sizes; s++) {
            int iw = im->sizes[s].w, ih = im->sizes[s].h;
            /* the packed sizes (a dense array) decide: a match is a banner
             * of exactly this size */
            if (sizes && iw > 0 && iw <= 0xffff && ih > 0 && ih <= 0xffff) {
                uint32_t key = ((uint32_t)iw << 16) | (uint32_t)ih;
                for (int k = 0; k < nc; k++)
                    if (sizes[k] == key && !(battr && (c->creatives[k].attr & battr))) return k;
                continue;
            }
            for (int k = 0; k < nc; k++) {
                const beat_creative *cr = &c->creatives[k];
                if (cr->format == BEAT_FMT_BANNER && cr->w == iw && cr->h == ih &&
                    !(cr->attr & battr))
                    return k;
            }
        }
    if (im->formats & INF_FMT_VIDEO)
        for (int k = 0; k < nc; k++) {
            const beat_creative *cr = &c->creatives[k];
            if (cr->format == BEAT_FMT_VIDEO && !(cr->attr & im->battr[INF_FMT_VIDEO]) &&
                video_fits(cr, &im->video))
                return k;
        }
    if (im->formats & INF_FMT_NATIVE)
        for (int k = 0; k < nc; k++) {
            const beat_creative *cr = &c->creatives[k];
            if (cr->format == BEAT_FMT_NATIVE && !(cr->attr & im->battr[INF_FMT_NATIVE]) &&
                native_fits(cr, &im->native))
                return k;
        }
    return -1;
}

/* ---- deals ------------------------------------------------------------------- */

static bool deal_open_to(const inf_deal *d, const beat_campaign *c) {
    if (!d->usable) return false;
    bool listed = false;
    for (int i = 0; i < c->deals.n && !listed; i++) listed = strcmp(c->deals.v[i], d->id) == 0;
    if (!listed) return false;
    bool seat = !d->n_wseat, adv = !d->n_wadomain;
    for (int i = 0; i < d->n_wseat && !seat; i++) seat = strcmp(d->wseat[i], c->seat) == 0;
    for (int i = 0; i < d->n_wadomain && !adv; i++)
        for (int k = 0; k < c->adomain.n && !adv; k++)
            adv = strcasecmp(d->wadomain[i], c->adomain.v[k]) == 0;
    return seat && adv;
}

/* Any deal of the imp the campaign may bid on (before pricing). */
bool inf_deal_any(const beat_campaign *c, const inf_imp *im) {
    for (int i = 0; c->deals.n && i < im->n_deals; i++)
        if (deal_open_to(&im->deals[i], c)) return true;
    return false;
}

/* The deal to bid on at price: the open deal with the highest floor the
 * price reaches (the most exclusive inventory we can pay for); -1 if none. */
int inf_deal_pick(const beat_campaign *c, const inf_imp *im, int64_t price) {
    int best = -1;
    for (int i = 0; c->deals.n && i < im->n_deals; i++) {
        const inf_deal *d = &im->deals[i];
        if (!deal_open_to(d, c) || price < d->floor_cpm_micros) continue;
        if (best < 0 || d->floor_cpm_micros > im->deals[best].floor_cpm_micros) best = i;
    }
    return best;
}
