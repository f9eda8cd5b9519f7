/* Shared by the beat_campaign_*_test.c binaries (header-only, all static
 * inline): field-by-field equality of campaign sets, so a round trip can be
 * checked exactly, a one-campaign set with the fields under test added,
 * and the check that the strict decoder refuses a set with the reason a
 * peer's log would show. Tests only. */
#ifndef BEAT_CAMPAIGN_TESTLIB_H
#define BEAT_CAMPAIGN_TESTLIB_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat_campaign.h"
#include "beat_test.h"

#define NOW 1700000000000LL

static inline int str_eq(const char *a, const char *b) /* NULL reads as "" */
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}
static inline int strv_eq(const beat_strv *a, const beat_strv *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i])) return 0;
    return 1;
}

static inline int campaign_eq(const beat_campaign *a, const beat_campaign *b) {
    if (strcmp(a->id, b->id) || !str_eq(a->advertiser, b->advertiser) ||
        !strv_eq(&a->adomain, &b->adomain) || !strv_eq(&a->cat, &b->cat) ||
        a->start_ms != b->start_ms || a->end_ms != b->end_ms ||
        a->budget_micros != b->budget_micros || a->base_bid_cpm_micros != b->base_bid_cpm_micros ||
        a->max_bid_cpm_micros != b->max_bid_cpm_micros || a->paused != b->paused ||
        !strv_eq(&a->countries, &b->countries) || !strv_eq(&a->os, &b->os) ||
        !strv_eq(&a->site_cat, &b->site_cat) || !strv_eq(&a->domains_allow, &b->domains_allow) ||
        !strv_eq(&a->domains_block, &b->domains_block) ||
        !strv_eq(&a->bundles_allow, &b->bundles_allow) ||
        !strv_eq(&a->bundles_block, &b->bundles_block) || a->n_device_types != b->n_device_types ||
        memcmp(a->device_types, b->device_types, sizeof(int) * (size_t)a->n_device_types) ||
        a->n_creatives != b->n_creatives || a->freq_cap_max != b->freq_cap_max ||
        a->freq_cap_window_s != b->freq_cap_window_s)
        return 0;
    for (int i = 0; i < a->n_creatives; i++) {
        const beat_creative *x = &a->creatives[i], *y = &b->creatives[i];
        if (strcmp(x->crid, y->crid) || x->w != y->w || x->h != y->h || !str_eq(x->adm, y->adm) ||
            !str_eq(x->landing, y->landing) || x->format != y->format || x->attr != y->attr ||
            !strv_eq(&x->mimes, &y->mimes) || x->duration_s != y->duration_s ||
            x->protocols != y->protocols || !str_eq(x->title, y->title) ||
            !str_eq(x->sponsored, y->sponsored) || !str_eq(x->desc, y->desc) ||
            !str_eq(x->cta, y->cta) || !str_eq(x->img.url, y->img.url) || x->img.w != y->img.w ||
            x->img.h != y->img.h || !str_eq(x->icon.url, y->icon.url) || x->icon.w != y->icon.w ||
            x->icon.h != y->icon.h)
            return 0;
    }
    if (strcmp(a->seat, b->seat) || !strv_eq(&a->deals, &b->deals) ||
        !str_eq(a->bundle, b->bundle) || a->schain_complete != b->schain_complete ||
        !strv_eq(&a->sellers, &b->sellers) || a->pacing != b->pacing || a->tz != b->tz)
        return 0;
    return 1;
}

static inline int set_eq(const beat_campaign_set *a, const beat_campaign_set *b) {
    if (a->version != b->version || a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (!campaign_eq(&a->c[i], &b->c[i])) return 0;
    return 1;
}

/* A set (version v) of one small campaign that also carries extra
 * (",\"field\":value…"), decoded at NOW with flags: the tests of one field.
 * 0 or the decoder's rc. */
static inline int decode_one(int v, const char *extra, unsigned flags, beat_campaign_set *s,
                             beat_reason *why) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"v\":%d,\"campaigns\":[{\"id\":\"c1\",\"flight_s\":60,\"budget_micros\":1000,"
             "\"base_bid_cpm_micros\":10,\"max_bid_cpm_micros\":20%s,\"creatives\":[{\"crid\":"
             "\"cr1\",\"w\":300,\"h\":250,\"adm\":\"x\"}]}]}",
             v, extra);
    return beat_campaigns_decode(json, strlen(json), NOW, flags, s, why);
}

/* The strict decoder refuses json with -EBADMSG and a reason holding
 * reason, its out-parameter untouched; what names the case on failure. */
static inline int refused(const char *json, const char *reason, const char *what) {
    beat_campaign_set s;
    memset(&s, 0x5a, sizeof s);
    beat_reason why = {{0}};
    int rc = beat_campaigns_decode(json, strlen(json), NOW, BEAT_CAMPAIGNS_STRICT, &s, &why);
    if (rc != -EBADMSG || !strstr(why.msg, reason)) {
        fprintf(stderr, "  %s: rc=%d reason \"%s\" want \"%s\"\n", what, rc, why.msg, reason);
        return 1;
    }
    CHECK(s.n == 0x5a5a5a5a); /* out untouched */
    return 0;
}

#endif
