/* The oracle's reading of identity, privacy and supply-chain fields, as
 * privacy.c and schain.c read them from a cJSON tree before the one-pass
 * parser (see openrtb_oracle.h, which includes this at its end). */
#ifndef FUZZ_OPENRTB_ORACLE_PRIV_H
#define FUZZ_OPENRTB_ORACLE_PRIV_H

static const cJSON *orc_pv_get(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return (v && cJSON_IsNull(v)) ? NULL : v;
}

static const char *orc_pv_str(const cJSON *o, const char *k) {
    const cJSON *v = orc_pv_get(o, k);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* lat/lon of a geo object, when both are numbers in range. */
static bool orc_pv_geo(const cJSON *geo, double *lat, double *lon) {
    const cJSON *a = orc_pv_get(geo, "lat"), *o = orc_pv_get(geo, "lon");
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(o)) return false;
    double la = a->valuedouble, lo = o->valuedouble;
    if (!(la >= -90 && la <= 90) || !(lo >= -180 && lo <= 180)) return false;
    *lat = la;
    *lon = lo;
    return true;
}

static void orc_pv_segments(const cJSON *user, inf_req *r) {
    const cJSON *data = orc_pv_get(user, "data"), *d, *s;
    if (!cJSON_IsArray(data)) return;
    cJSON_ArrayForEach(d, data) {
        const cJSON *segs = orc_pv_get(d, "segment");
        if (!cJSON_IsArray(segs)) continue;
        const char *provider = orc_pv_str(d, "id");
        cJSON_ArrayForEach(s, segs) {
            if (r->n_segments == INF_SEGMENTS_MAX) return; /* bounded: rest unused */
            const char *id = orc_pv_str(s, "id");
            if (!id) continue;
            r->seg_provider[r->n_segments] = provider;
            r->segments[r->n_segments++] = id;
        }
    }
}

static void orc_pv_read(const cJSON *root, inf_req *r) {
    const cJSON *user = orc_pv_get(root, "user"), *dev = orc_pv_get(root, "device");
    const cJSON *regs = orc_pv_get(root, "regs"), *rext = orc_pv_get(regs, "ext");
    r->buyeruid = orc_pv_str(user, "buyeruid");
    r->ifa = orc_pv_str(dev, "ifa");
    r->has_geo = orc_pv_geo(orc_pv_get(dev, "geo"), &r->lat, &r->lon) ||
                 orc_pv_geo(orc_pv_get(user, "geo"), &r->lat, &r->lon);
    orc_pv_segments(user, r);
    r->us_privacy = orc_pv_str(regs, "us_privacy");
    if (!r->us_privacy) r->us_privacy = orc_pv_str(rext, "us_privacy");
    r->gpp = orc_pv_str(regs, "gpp");
    const cJSON *sid = orc_pv_get(regs, "gpp_sid"), *it;
    if (!r->gpp) {
        r->gpp = orc_pv_str(rext, "gpp");
        if (!sid) sid = orc_pv_get(rext, "gpp_sid");
    }
    if (cJSON_IsArray(sid)) {
        r->gpp_sid_given = true;
        cJSON_ArrayForEach(it, sid) {
            if (cJSON_IsNumber(it) && it->valuedouble >= 1 && it->valuedouble < 64)
                r->gpp_sid |= (uint64_t)1 << (int)it->valuedouble;
        }
    }
}

/* ---- deciding ----------------------------------------------------------------- */

static const cJSON *orc_sc_get(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return (v && cJSON_IsNull(v)) ? NULL : v;
}

static const char *orc_sc_str(const cJSON *o, const char *k) {
    const cJSON *v = orc_sc_get(o, k);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int orc_sc_int01(const cJSON *o, const char *k) {
    const cJSON *v = orc_sc_get(o, k);
    if (!cJSON_IsNumber(v)) return -1;
    return v->valuedouble == 0 ? 0 : v->valuedouble == 1 ? 1 : -1;
}

static void orc_inf_schain_read(const cJSON *root, inf_req *r) {
    r->schain_complete = -1;
    r->schain_truncated = false;
    r->n_schain = 0;
    const cJSON *src = orc_sc_get(root, "source");
    const cJSON *sc = orc_sc_get(src, "schain");
    if (!sc) sc = orc_sc_get(orc_sc_get(src, "ext"), "schain");
    if (!cJSON_IsObject(sc)) return;
    const cJSON *nodes = orc_sc_get(sc, "nodes"), *n;
    int complete = orc_sc_int01(sc, "complete");
    if (complete < 0 || !cJSON_IsArray(nodes)) return;
    cJSON_ArrayForEach(n, nodes) {
        if (r->n_schain == INF_SCHAIN_MAX) {
            r->schain_truncated = true;
            break;
        }
        if (!cJSON_IsObject(n)) { /* a hole in the chain: it cannot be complete */
            complete = 0;
            continue;
        }
        inf_schain_node *x = &r->schain[r->n_schain++];
        x->asi = orc_sc_str(n, "asi");
        x->sid = orc_sc_str(n, "sid");
        x->hp = orc_sc_int01(n, "hp");
        if (!x->asi || !x->sid) complete = 0; /* both are required per node */
    }
    r->schain_complete = complete;
}

#endif
