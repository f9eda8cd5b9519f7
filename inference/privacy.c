/* The privacy gate (privacy.h). Reading is lenient like the rest of
 * openrtb.c's descriptive fields (a wrong type is "absent"); deciding fails
 * closed: a signal that is present but cannot be decoded counts as no
 * consent. The rules, in order (docs/privacy.md):
 *   COPPA → contextual;
 *   GDPR applies (regs.gdpr / regs.ext.gdpr = 1, or GPP section 2 listed in
 *     gpp_sid) → personal only with a TCF v2 string (user.consent, else the
 *     GPP tcfeuv2 section) consenting to every configured purpose, not
 *     restricted by the publisher, and to our vendor id; precise geo also
 *     needs special feature 1;
 *   us_privacy with opt-out of sale 'Y' → contextual;
 *   GPP: a US section (7..12, those in gpp_sid when given) with a sale,
 *     sharing or targeted-advertising opt-out, or its US Privacy section
 *     saying 'Y' → contextual. */
#include "privacy.h"
#include "jparse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_fcap.h"
#include "beat_gpp.h"
#include "beat_metrics.h"
#include "beat_tcf.h"

static struct {
    int vendor;
    uint32_t purposes; /* bit i-1: purpose i required */
} priv_cfg = {0, (1u << 0) | (1u << 2) | (1u << 3)};

static beat_counter *priv_counters[INF_PRIV_N];
static beat_counter *priv_geo_withheld;

const char *inf_privacy_reason_name(inf_privacy_reason r) {
    static const char *const names[INF_PRIV_N] = {
        "none",       "consent",     "coppa",       "tcf_missing", "tcf_invalid", "tcf_purpose",
        "tcf_vendor", "usp_opt_out", "usp_invalid", "gpp_opt_out", "gpp_invalid"};
    return (unsigned)r < INF_PRIV_N ? names[r] : "?";
}

int inf_privacy_config(int vendor_id, const char *purposes, beat_reason *why) {
    if (vendor_id < 0 || vendor_id > 65535)
        return beat_reasonf(why, -EINVAL, "vendor id %d outside 0..65535", vendor_id);
    uint32_t set = 0;
    const char *p = purposes ? purposes : "";
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 24 || (*end && *end != ','))
            return beat_reasonf(why, -EINVAL, "purposes: \"%.16s\" is not a list of 1..24", p);
        set |= 1u << (v - 1);
        p = *end ? end + 1 : end;
    }
    priv_cfg.vendor = vendor_id;
    priv_cfg.purposes = set;
    return 0;
}

void inf_privacy_metrics_init(void) {
    char name[160];
    for (int i = 0; i < INF_PRIV_N; i++) {
        snprintf(name, sizeof name, "beat_inference_privacy_total{outcome=\"%s\",reason=\"%s\"}",
                 i <= INF_PRIV_CONSENT ? "personal" : "contextual",
                 inf_privacy_reason_name((inf_privacy_reason)i));
        priv_counters[i] = beat_counter_new(name, "Bid requests by privacy outcome: whether "
                                                  "personal data could be used, and why");
    }
    priv_geo_withheld = beat_counter_new("beat_inference_privacy_geo_withheld_total",
                                         "Requests with personal data allowed but precise "
                                         "geo withheld (GDPR without special feature 1)");
}

/* ---- reading -------------------------------------------------------------- */

static const inf_jv *pv_get(const inf_jv *o, const char *k) { return inf_jv_get(o, k); }

static const char *pv_str(const inf_jv *o, const char *k) {
    const inf_jv *v = pv_get(o, k);
    return inf_jv_is(v, INF_J_STR) && v->s[0] ? v->s : NULL;
}

/* lat/lon of a geo object, when both are numbers in range. */
static bool pv_geo(const inf_jv *geo, double *lat, double *lon) {
    const inf_jv *a = pv_get(geo, "lat"), *o = pv_get(geo, "lon");
    if (!inf_jv_is(a, INF_J_NUM) || !inf_jv_is(o, INF_J_NUM)) return false;
    double la = a->d, lo = o->d;
    if (!(la >= -90 && la <= 90) || !(lo >= -180 && lo <= 180)) return false;
    *lat = la;
    *lon = lo;
    return true;
}

static void pv_segments(const inf_jv *user, inf_req *r) {
    const inf_jv *data = pv_get(user, "data"), *d, *s;
    if (!inf_jv_is(data, INF_J_ARR)) return;
    JV_FOR(d, data) {
        const inf_jv *segs = pv_get(d, "segment");
        if (!inf_jv_is(segs, INF_J_ARR)) continue;
        const char *provider = pv_str(d, "id");
        JV_FOR(s, segs) {
            if (r->n_segments == INF_SEGMENTS_MAX) return; /* bounded: rest unused */
            const char *id = pv_str(s, "id");
            if (!id) continue;
            r->seg_provider[r->n_segments] = provider;
            r->segments[r->n_segments++] = id;
        }
    }
}

static void pv_read(const inf_jv *root, inf_req *r) {
    const inf_jv *user = pv_get(root, "user"), *dev = pv_get(root, "device");
    const inf_jv *regs = pv_get(root, "regs"), *rext = pv_get(regs, "ext");
    r->buyeruid = pv_str(user, "buyeruid");
    r->ifa = pv_str(dev, "ifa");
    r->has_geo = pv_geo(pv_get(dev, "geo"), &r->lat, &r->lon) ||
                 pv_geo(pv_get(user, "geo"), &r->lat, &r->lon);
    pv_segments(user, r);
    r->us_privacy = pv_str(regs, "us_privacy");
    if (!r->us_privacy) r->us_privacy = pv_str(rext, "us_privacy");
    r->gpp = pv_str(regs, "gpp");
    const inf_jv *sid = pv_get(regs, "gpp_sid"), *it;
    if (!r->gpp) {
        r->gpp = pv_str(rext, "gpp");
        if (!sid) sid = pv_get(rext, "gpp_sid");
    }
    if (inf_jv_is(sid, INF_J_ARR)) {
        r->gpp_sid_given = true;
        JV_FOR(it, sid) {
            if (inf_jv_is(it, INF_J_NUM) && it->d >= 1 && it->d < 64)
                r->gpp_sid |= (uint64_t)1 << (int)it->d;
        }
    }
}

/* ---- deciding ----------------------------------------------------------------- */

static inf_privacy_reason tcf_decide(const char *s, size_t len, bool *geo_ok) {
    beat_tcf t;
    if (beat_tcf_decode(s, len, priv_cfg.vendor, &t, NULL) != 0) return INF_PRIV_TCF_INVALID;
    if ((t.purposes & priv_cfg.purposes) != priv_cfg.purposes || (t.restricted & priv_cfg.purposes))
        return INF_PRIV_TCF_PURPOSE;
    if (priv_cfg.vendor == 0 || !t.vendor_consent) return INF_PRIV_TCF_VENDOR;
    *geo_ok = beat_tcf_special_feature(&t, 1);
    return INF_PRIV_CONSENT;
}

static bool sid_listed(const inf_req *r, int id) {
    return !r->gpp_sid_given || (r->gpp_sid >> id & 1u);
}

static inf_privacy_reason priv_decide(const inf_req *r, bool *geo_ok) {
    *geo_ok = true;
    if (r->coppa) return INF_PRIV_COPPA;
    beat_gpp g;
    bool have_gpp = false;
    if (r->gpp) {
        if (beat_gpp_decode(r->gpp, strlen(r->gpp), &g, NULL) != 0) return INF_PRIV_GPP_INVALID;
        have_gpp = true;
    }
    inf_privacy_reason ok = INF_PRIV_NONE;
    bool gdpr = r->gdpr || (r->gpp_sid_given && (r->gpp_sid >> 2 & 1u));
    if (gdpr) {
        if (r->consent) ok = tcf_decide(r->consent, strlen(r->consent), geo_ok);
        else if (have_gpp && g.tcf_len) ok = tcf_decide(r->gpp + g.tcf_off, g.tcf_len, geo_ok);
        else ok = INF_PRIV_TCF_MISSING;
        if (ok != INF_PRIV_CONSENT) return ok;
    }
    if (r->us_privacy) {
        beat_usp u;
        if (beat_usp_decode(r->us_privacy, strlen(r->us_privacy), &u, NULL) != 0)
            return INF_PRIV_USP_INVALID;
        if (u.opt_out_sale == 'Y') return INF_PRIV_USP_OPT_OUT;
    }
    if (have_gpp) {
        if (g.has_usp && sid_listed(r, 6) && g.usp.opt_out_sale == 'Y') return INF_PRIV_GPP_OPT_OUT;
        for (int i = 0; i < g.n_us; i++) {
            const beat_gpp_us *u = &g.us[i];
            if (sid_listed(r, u->id) && (u->sale == 1 || u->sharing == 1 || u->targeted == 1))
                return INF_PRIV_GPP_OPT_OUT;
        }
    }
    return ok;
}

void inf_privacy_apply(const inf_jv *root, inf_req *r) {
    pv_read(root, r);
    inf_privacy_gate(r);
}

void inf_privacy_gate(inf_req *r) {
    bool geo_ok;
    inf_privacy_reason why = priv_decide(r, &geo_ok);
    r->privacy = why;
    r->personal_ok = why == INF_PRIV_NONE || why == INF_PRIV_CONSENT;
    if (!r->personal_ok) {
        r->user_id = r->buyeruid = r->ifa = NULL;
        r->n_segments = 0;
        r->has_geo = false;
    } else if (!geo_ok && r->has_geo) {
        r->has_geo = false;
        if (priv_geo_withheld) beat_counter_inc(priv_geo_withheld);
    }
    if (!r->has_geo) r->lat = r->lon = 0;
    /* The frequency-cap id: the one most likely to name the same person on
     * every exchange first (docs/privacy.md "Frequency caps"): our own
     * cookie id, then the device's advertising id, then the exchange's own
     * user id (bidder.c qualifies it by the exchange). Only ids the gate
     * left. */
    r->cap_kind = r->buyeruid  ? BEAT_FCAP_ID_BUYERUID
                  : r->ifa     ? BEAT_FCAP_ID_IFA
                  : r->user_id ? BEAT_FCAP_ID_USER
                               : BEAT_FCAP_ID_NONE;
    r->cap_key = r->buyeruid ? r->buyeruid : r->ifa ? r->ifa : r->user_id;
    if (priv_counters[why]) beat_counter_inc(priv_counters[why]);
}
