/* Supply chain reading and checking (schain.h). Lenient reading like the
 * other descriptive fields: a chain of the wrong shape is absent, which a
 * campaign that requires one then refuses. */
#include "schain.h"
#include "jparse.h"

#include <string.h>
#include <strings.h>

static const inf_jv *sc_get(const inf_jv *o, const char *k) { return inf_jv_get(o, k); }

static const char *sc_str(const inf_jv *o, const char *k) {
    const inf_jv *v = sc_get(o, k);
    return inf_jv_is(v, INF_J_STR) && v->s[0] ? v->s : NULL;
}

static int sc_int01(const inf_jv *o, const char *k) {
    const inf_jv *v = sc_get(o, k);
    if (!inf_jv_is(v, INF_J_NUM)) return -1;
    return v->d == 0 ? 0 : v->d == 1 ? 1 : -1;
}

void inf_schain_read(const inf_jv *root, inf_req *r) {
    r->schain_complete = -1;
    r->schain_truncated = false;
    r->n_schain = 0;
    const inf_jv *src = sc_get(root, "source");
    const inf_jv *sc = sc_get(src, "schain");
    if (!sc) sc = sc_get(sc_get(src, "ext"), "schain");
    if (!inf_jv_is(sc, INF_J_OBJ)) return;
    const inf_jv *nodes = sc_get(sc, "nodes"), *n;
    int complete = sc_int01(sc, "complete");
    if (complete < 0 || !inf_jv_is(nodes, INF_J_ARR)) return;
    JV_FOR(n, nodes) {
        if (r->n_schain == INF_SCHAIN_MAX) {
            r->schain_truncated = true;
            break;
        }
        if (!inf_jv_is(n, INF_J_OBJ)) { /* a hole in the chain: it cannot be complete */
            complete = 0;
            continue;
        }
        inf_schain_node *x = &r->schain[r->n_schain++];
        x->asi = sc_str(n, "asi");
        x->sid = sc_str(n, "sid");
        x->hp = sc_int01(n, "hp");
        if (!x->asi || !x->sid) complete = 0; /* both are required per node */
    }
    r->schain_complete = complete;
}

static bool seller_match(const char *entry, const inf_schain_node *node) {
    const char *colon = strchr(entry, ':');
    size_t al = colon ? (size_t)(colon - entry) : strlen(entry);
    if (!node->asi || strlen(node->asi) != al || strncasecmp(entry, node->asi, al) != 0)
        return false;
    return !colon || (node->sid && strcmp(colon + 1, node->sid) == 0);
}

inf_schain_verdict inf_schain_check(const beat_campaign *c, const inf_req *r) {
    if (c->schain_complete && (r->schain_complete != 1 || r->n_schain == 0 || r->schain_truncated))
        return INF_SCHAIN_INCOMPLETE;
    if (c->sellers.n) {
        if (r->n_schain == 0) return INF_SCHAIN_SELLER;
        for (int i = 0; i < c->sellers.n; i++)
            if (seller_match(c->sellers.v[i], &r->schain[0])) return INF_SCHAIN_OK;
        return INF_SCHAIN_SELLER;
    }
    return INF_SCHAIN_OK;
}
