/* The CTR model of a world: a logreg checkpoint checked and decoded from a
 * 'C' frame, and scoring a request's hashed features against it (the
 * logit, pCTR, the factor term). Read-only once built; worlds (world.c)
 * share it by reference. */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"

#define HASH_BITS_MIN 10
#define HASH_BITS_MAX 26

int inf_model_new(beat_ckpt *ck, int64_t version, inf_model **out, beat_reason *why) {
    const beat_ckpt_header *h = &ck->h;
    if (strcmp(h->kind, "logreg") != 0)
        return beat_reasonf(why, -EINVAL, "kind: \"%s\" not supported", h->kind);
    if (h->hash_bits < HASH_BITS_MIN || h->hash_bits > HASH_BITS_MAX)
        return beat_reasonf(why, -EINVAL, "hash_bits: %u outside %d..%d", h->hash_bits,
                            HASH_BITS_MIN, HASH_BITS_MAX);
    /* beat_ckpt_decode checks these too; a hand-built ckpt (tests) may not
     * have gone through it, and scoring indexes w[] with them. */
    if (h->dim != (UINT32_C(1) << h->hash_bits))
        return beat_reasonf(why, -EINVAL, "dim: %u != 2^hash_bits", h->dim);
    if (h->n_weights < (uint64_t)h->dim + 1 || !ck->w)
        return beat_reasonf(why, -EINVAL, "n_weights: %llu < dim + 1",
                            (unsigned long long)h->n_weights);
    if (h->rank > 0 && (h->factor_bits < 1 || h->factor_bits > h->hash_bits || h->rank > 256 ||
                        h->n_weights != beat_ckpt_expected_weights(h)))
        return beat_reasonf(why, -EINVAL, "factor block: rank %u factor_bits %u n_weights %llu",
                            h->rank, h->factor_bits, (unsigned long long)h->n_weights);
    inf_model *m = calloc(1, sizeof *m);
    if (!m) return -ENOMEM;
    m->refs = 1;
    m->version = version;
    m->ck = *ck;
    memset(ck, 0, sizeof *ck);
    h = &m->ck.h; /* ck (and the old h) is now zeroed */
    m->hp.bits = h->hash_bits;
    m->hp.seed = h->hash_seed;
    m->avg_ctr = (h->avg_ctr > 0 && isfinite(h->avg_ctr)) ? h->avg_ctr : INF_AVG_CTR_DEFAULT;
    if (h->rank > 0) {
        m->rank = h->rank;
        m->factor_mask = (UINT32_C(1) << h->factor_bits) - 1;
        m->V = m->ck.w + beat_ckpt_v_at(h);
        m->U = m->ck.w + beat_ckpt_u_at(h);
    }
    *out = m;
    return 0;
}

int inf_model_decode(const void *frame, size_t len, size_t max_bytes, inf_model **out,
                     beat_reason *why) {
    int64_t version;
    if (beat_ckpt_frame_version(frame, len, &version) < 0)
        return beat_reasonf(why, -EBADMSG, "checkpoint frame: too short or bad tag");
    if (version <= 0)
        return beat_reasonf(why, -EBADMSG, "checkpoint frame: version %lld", (long long)version);
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    int rc = beat_ckpt_decode((const uint8_t *)frame + BEAT_CKPT_FRAME_HEAD,
                              len - BEAT_CKPT_FRAME_HEAD, max_bytes, &ck, why);
    if (rc < 0) return rc;
    rc = inf_model_new(&ck, version, out, why);
    if (rc < 0) beat_ckpt_fini(&ck);
    return rc;
}

void inf_model_unref(inf_model *m) {
    if (!m || --m->refs > 0) return;
    beat_ckpt_fini(&m->ck);
    free(m);
}

double inf_model_score(const inf_model *m, const uint32_t *idx, int n) {
    return inf_model_score_with(m, idx, n, 0.0);
}

double inf_model_sigmoid(double z) {
    if (z > 35) z = 35;
    if (z < -35) z = -35;
    return 1.0 / (1.0 + exp(-z));
}

/* The factor term comes last, as in inf_model_pctr, so both sum in the
 * same order and agree to the bit. */
double inf_model_score_with(const inf_model *m, const uint32_t *idx, int n, double factor) {
    const float *w = m->ck.w;
    uint32_t dim = m->ck.h.dim;
    double z = w[dim];
    for (int i = 0; i < n; i++)
        if (idx[i] < dim) z += w[idx[i]];
    if (isfinite(factor)) z += factor;
    return inf_model_sigmoid(z);
}

double inf_model_logit_base(const inf_model *m, const beat_feat_raw *raw) {
    const float *w = m->ck.w;
    uint32_t dim = m->ck.h.dim, mask = beat_feat_mask(&m->hp);
    int n = beat_feat_count(raw);
    double z = w[dim];
    for (int i = 0; i < n; i++) {
        uint32_t k = (uint32_t)(raw->h[i] & mask);
        if (k < dim) z += w[k];
    }
    return z;
}

double inf_model_pctr(const inf_model *m, double base, const beat_feat_raw *raw,
                      uint64_t campaign_hash, double factor) {
    const float *w = m->ck.w;
    uint32_t dim = m->ck.h.dim;
    double z = base;
    for (int i = 0; i < beat_feat_count(raw); i++) {
        uint32_t x = beat_feat_cross_index(&m->hp, raw->h[i], campaign_hash);
        if (x < dim) z += w[x];
    }
    uint32_t own = (uint32_t)(campaign_hash & beat_feat_mask(&m->hp));
    if (own < dim) z += w[own];
    if (isfinite(factor)) z += factor;
    return inf_model_sigmoid(z);
}
