/* Logistic regression on hashed indices, trained with FTRL-Proximal
 * (McMahan et al. 2013, per-coordinate learning rates, L1 for sparsity),
 * plus the campaign × context factor term (factors.c) on the same
 * gradient, and its checkpoint. Called by main.c's training loop and by
 * model_test.c. Pure computation on the caller's thread: never does I/O,
 * never reads a clock, never trusts a checkpoint it is handed.
 *
 * Private section of our checkpoints (little-endian):
 *   "LTRP", u32 version 2, u32 json_len, JSON {"algo":"ftrl","dim":…,
 *   "alpha":…,"beta":…,"l1":…,"l2":…,"ctr_wy":…,"ctr_w":…,"rank":…,
 *   "factor_bits":…,"factor_lr":…,"factor_l2":…,"cursors":{…}},
 *   u32 layout, u64 count, then
 *     layout 0 (dense):  z[0..dim] then n[0..dim], f64 each (count = dim+1)
 *     layout 1 (sparse): count × (u32 index, f64 z, f64 n), ascending index,
 *                        only the coordinates ever touched.
 *   then (version 2) u64 n_fac and n_fac 32-bit words: the factor rows
 *   ever trained, each (u32 row | table << 31, f32 AdaGrad sum, rank ×
 *   f32 embedding), table 0 = V, 1 = U (n_fac = rows × (rank + 2); 0 for
 *   rank 0). Untouched rows keep their seeded initial values, which a
 *   trainer of the same hash seed recreates. The rows repeat the public
 *   V/U blocks so that a trainer restarting from another trainer's
 *   checkpoint that carried this section on gets its own factors back.
 *   Then u64 n_prog and n_prog × (f32 score, f32 weight, u8 label): the
 *   progressive-validation window, oldest first.
 * Whichever linear layout is smaller is written; no compression (zlib on
 * dense f64 costs ~1 s per checkpoint at 2^20 for a few percent). Version 1
 * (no factor block) is still read. */
#include "model.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "beat_wire.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the private section stores f64 arrays in host order: little-endian only"
#endif

#define PRIV_MAGIC "LTRP"
#define PRIV_VERSION 2
#define CTR_PRIOR_WEIGHT 100.0 /* pseudo-samples of prior_ctr in avg_ctr */
#define CTR_MEMORY 1e6         /* weight units after which old samples fade (1/e) */
#define LOGIT_MAX 35.0

static double sigmoid(double x) {
    if (x > LOGIT_MAX) x = LOGIT_MAX;
    if (x < -LOGIT_MAX) x = -LOGIT_MAX;
    return 1.0 / (1.0 + exp(-x));
}

/* The bias is neither sparse nor shrunk: no L1, no L2 on it. */
static double coord_weight(const ltr_model *m, uint32_t i) {
    double z = m->z[i], l1 = i == m->dim ? 0.0 : m->f.l1;
    double l2 = i == m->dim ? 0.0 : m->f.l2;
    if (fabs(z) <= l1) return 0.0;
    double sgn = z < 0 ? -1.0 : 1.0;
    return -(z - sgn * l1) / ((m->f.beta + sqrt(m->n[i])) / m->f.alpha + l2);
}

/* z that gives weight w with n = 0 (inverse of coord_weight). */
static double z_for_weight(const ltr_model *m, uint32_t i, double w) {
    double l1 = i == m->dim ? 0.0 : m->f.l1, l2 = i == m->dim ? 0.0 : m->f.l2;
    if (w == 0) return 0.0;
    return -w * (m->f.beta / m->f.alpha + l2) - (w < 0 ? -l1 : l1);
}

double ltr_model_weight(const ltr_model *m, uint32_t i) {
    return i <= m->dim ? coord_weight(m, i) : 0.0;
}

ltr_model *ltr_model_new(uint32_t hash_bits, uint64_t hash_seed, const ltr_ftrl *f,
                         const ltr_fm *fm, double prior_ctr) {
    if (hash_bits < LTR_HASH_BITS_MIN || hash_bits > LTR_HASH_BITS_MAX || !(f->alpha > 0) ||
        !(f->beta >= 0) || !(f->l1 >= 0) || !(f->l2 >= 0) || !(prior_ctr > 0 && prior_ctr < 1) ||
        (fm && fm->rank && fm->bits > hash_bits))
        return NULL;
    ltr_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->hash_bits = hash_bits;
    m->dim = 1u << hash_bits;
    m->hash_seed = hash_seed;
    m->f = *f;
    m->prior_ctr = prior_ctr;
    m->z = calloc(2 * ((size_t)m->dim + 1), sizeof(double));
    if (!m->z) {
        free(m);
        return NULL;
    }
    m->n = m->z + m->dim + 1;
    if (fm && ltr_factors_init(&m->fac, fm->rank, fm->bits, fm->lr, fm->l2, hash_seed) != 0) {
        free(m->z);
        free(m);
        return NULL;
    }
    m->z[m->dim] = z_for_weight(m, m->dim, log(prior_ctr / (1.0 - prior_ctr)));
    return m;
}

void ltr_model_free(ltr_model *m) {
    if (!m) return;
    ltr_factors_fini(&m->fac);
    free(m->z);
    free(m);
}

/* Base features of a beat_feat_indices list (bases, crosses, campaign):
 * the first (n-1)/2 when the last index is the campaign's; else none, so
 * a list of another shape never feeds the factor term. */
static int factor_bases(const ltr_model *m, const uint32_t *idx, int n, uint64_t ch) {
    if (m->fac.rank == 0 || n < 3 || n > BEAT_FEAT_MAX || n % 2 == 0) return 0;
    uint32_t mask = m->dim - 1;
    return (idx[n - 1] & mask) == (uint32_t)(ch & mask) ? (n - 1) / 2 : 0;
}

double ltr_model_predict(const ltr_model *m, const uint32_t *idx, int n, uint64_t cmp_hash) {
    double s = coord_weight(m, m->dim);
    for (int k = 0; k < n; k++) s += coord_weight(m, idx[k] & (m->dim - 1));
    float vsum[LTR_RANK_MAX];
    s +=
        ltr_factors_term(&m->fac, idx, factor_bases(m, idx, n, cmp_hash), (uint32_t)cmp_hash, vsum);
    return sigmoid(s);
}

double ltr_model_learn(ltr_model *m, const uint32_t *idx, int n, uint64_t cmp_hash, int label,
                       double weight) {
    uint32_t at[65];
    double w[65];
    int k, cnt = n > 64 ? 64 : n;
    for (k = 0; k < cnt; k++) at[k] = idx[k] & (m->dim - 1);
    at[cnt++] = m->dim;
    double s = 0;
    for (k = 0; k < cnt; k++) s += (w[k] = coord_weight(m, at[k]));
    float vsum[LTR_RANK_MAX];
    int nb = factor_bases(m, idx, n, cmp_hash);
    s += ltr_factors_term(&m->fac, idx, nb, (uint32_t)cmp_hash, vsum);
    double p = sigmoid(s);
    double y = label ? 1.0 : 0.0;
    double g = (p - y) * weight; /* d(weighted log loss)/d(logit); x_i = 1 */
    if (nb) ltr_factors_update(&m->fac, idx, nb, (uint32_t)cmp_hash, vsum, g);
    for (k = 0; k < cnt; k++) {
        uint32_t i = at[k];
        double sigma = (sqrt(m->n[i] + g * g) - sqrt(m->n[i])) / m->f.alpha;
        m->z[i] += g - sigma * w[k];
        m->n[i] += g * g;
    }
    double decay = exp(-weight / CTR_MEMORY);
    m->ctr_wy = m->ctr_wy * decay + weight * y;
    m->ctr_w = m->ctr_w * decay + weight;
    m->samples_seen++;
    return p;
}

double ltr_model_avg_ctr(const ltr_model *m) {
    return (m->ctr_wy + CTR_PRIOR_WEIGHT * m->prior_ctr) / (m->ctr_w + CTR_PRIOR_WEIGHT);
}

/* ---- checkpoint out ---------------------------------------------------- */

/* Builds the private section; *out is malloc'd. */
static int priv_encode(const ltr_model *m, const char *cursors_json, const ltr_prog *g,
                       uint8_t **out, uint64_t *out_len) {
    char *json = NULL;
    int jl = asprintf(&json,
                      "{\"algo\":\"ftrl\",\"dim\":%" PRIu32 ",\"alpha\":%.17g,"
                      "\"beta\":%.17g,\"l1\":%.17g,\"l2\":%.17g,\"ctr_wy\":%.17g,"
                      "\"ctr_w\":%.17g,\"rank\":%" PRIu32 ",\"factor_bits\":%" PRIu32
                      ",\"factor_lr\":%.17g,\"factor_l2\":%.17g,\"cursors\":%s}",
                      m->dim, m->f.alpha, m->f.beta, m->f.l1, m->f.l2, m->ctr_wy, m->ctr_w,
                      m->fac.rank, m->fac.rank ? m->fac.bits : 0, m->fac.lr, m->fac.l2,
                      cursors_json && *cursors_json ? cursors_json : "{}");
    if (jl < 0) return -ENOMEM;
    size_t cnt = (size_t)m->dim + 1, touched = 0;
    for (size_t i = 0; i < cnt; i++) touched += m->z[i] != 0 || m->n[i] != 0;
    bool sparse = touched * 20 < cnt * 16;
    size_t head = 12 + (size_t)jl + 12;
    size_t body = sparse ? touched * 20 : cnt * 16;
    size_t n_rows = 0, rank = m->fac.rank;
    for (size_t i = 0; rank && i < 2 * (size_t)m->fac.rows; i++) n_rows += m->fac.accV[i] > 0;
    size_t n_fac = n_rows * (rank + 2);
    size_t n_prog = g ? (size_t)g->n : 0;
    uint8_t *p = malloc(head + body + 8 + 4 * n_fac + 8 + 9 * n_prog);
    if (!p) {
        free(json);
        return -ENOMEM;
    }
    memcpy(p, PRIV_MAGIC, 4);
    beat_put_le32(p + 4, PRIV_VERSION);
    beat_put_le32(p + 8, (uint32_t)jl);
    memcpy(p + 12, json, (size_t)jl);
    free(json);
    beat_put_le32(p + 12 + jl, sparse ? 1 : 0);
    beat_put_le64(p + 12 + jl + 4, sparse ? touched : cnt);
    uint8_t *q = p + head;
    if (!sparse) {
        memcpy(q, m->z, cnt * 16); /* z and n are one allocation */
    } else {
        for (size_t i = 0; i < cnt; i++) {
            if (m->z[i] == 0 && m->n[i] == 0) continue;
            beat_put_le32(q, (uint32_t)i);
            memcpy(q + 4, &m->z[i], 8);
            memcpy(q + 12, &m->n[i], 8);
            q += 20;
        }
    }
    q = p + head + body;
    beat_put_le64(q, n_fac);
    q += 8;
    for (size_t i = 0; rank && i < 2 * (size_t)m->fac.rows; i++) {
        if (!(m->fac.accV[i] > 0)) continue; /* accV and accU are adjacent */
        uint32_t row = (uint32_t)(i % m->fac.rows), table = i >= m->fac.rows;
        beat_put_le32(q, row | table << 31);
        memcpy(q + 4, &m->fac.accV[i], 4);
        memcpy(q + 8, (table ? m->fac.U : m->fac.V) + (size_t)row * rank, 4 * rank);
        q += 4 * (rank + 2);
    }
    beat_put_le64(q, n_prog);
    q += 8;
    for (size_t k = 0; k < n_prog; k++, q += 9) {
        size_t i = ((size_t)g->head + (size_t)g->cap - n_prog + k) % (size_t)g->cap;
        memcpy(q, &g->p[i], 4);
        memcpy(q + 4, &g->w[i], 4);
        q[8] = g->y[i];
    }
    *out = p;
    *out_len = head + body + 8 + 4 * n_fac + 8 + 9 * n_prog;
    return 0;
}

int ltr_model_encode(const ltr_model *m, const ltr_ckpt_meta *meta, beat_buf *out) {
    beat_ckpt c;
    memset(&c, 0, sizeof c);
    snprintf(c.h.kind, sizeof c.h.kind, "logreg");
    snprintf(c.h.trainer, sizeof c.h.trainer, "%s", meta->trainer);
    c.h.hash_bits = m->hash_bits;
    c.h.hash_seed = m->hash_seed;
    c.h.dim = m->dim;
    c.h.rank = m->fac.rank;
    c.h.factor_bits = m->fac.rank ? m->fac.bits : 0;
    c.h.n_weights = beat_ckpt_expected_weights(&c.h);
    c.h.samples_seen = m->samples_seen;
    c.h.auc = isfinite(meta->auc) ? meta->auc : 0.5;
    c.h.logloss = isfinite(meta->logloss) ? meta->logloss : 0.0;
    c.h.avg_ctr = ltr_model_avg_ctr(m);
    c.h.ts_ms = meta->ts_ms;
    c.w = malloc(c.h.n_weights * sizeof(float));
    if (!c.w) return -ENOMEM;
    for (uint32_t i = 0; i <= m->dim; i++) {
        double w = coord_weight(m, i);
        c.w[i] = isfinite(w) && fabs(w) < 1e30 ? (float)w : 0.0f;
    }
    if (m->fac.rank) {
        size_t emb = (size_t)m->fac.rows * m->fac.rank;
        float *v = c.w + beat_ckpt_v_at(&c.h), *u = c.w + beat_ckpt_u_at(&c.h);
        for (size_t i = 0; i < emb; i++) {
            v[i] = isfinite(m->fac.V[i]) ? m->fac.V[i] : 0.0f;
            u[i] = isfinite(m->fac.U[i]) ? m->fac.U[i] : 0.0f;
        }
    }
    int rc = priv_encode(m, meta->cursors_json, meta->prog, &c.priv, &c.n_priv);
    if (rc == 0) rc = beat_ckpt_encode(&c, out);
    free(c.w);
    free(c.priv);
    return rc;
}

/* ---- checkpoint in ------------------------------------------------------ */

static bool jnum(const cJSON *o, const char *k, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return false;
    *out = v->valuedouble;
    return true;
}

/* What our private section holds, decoded by priv_decode: the optimizer
 * state and avg-CTR sums, the cursors, and pointers into c->priv at the
 * factor rows and the progressive-validation window. */
typedef struct priv_view {
    double *opt;        /* 2*(dim+1) doubles (the caller's): z, then n */
    double sums[2];     /* ctr_wy, ctr_w */
    char *cursors_json; /* malloc'd, or NULL */
    const uint8_t *fac; /* factor rows (n_fac floats), NULL when none */
    uint64_t n_fac;
    double fac_shape[2]; /* their rank and factor bits */
    const uint8_t *prog; /* n_prog entries of 9 bytes, NULL when none */
    uint64_t n_prog;
} priv_view;

/* The layout after the JSON: u32 layout, u64 count, the optimizer block
 * (dense: (dim+1) × 16 bytes; sparse: count × 20), then from version 2 the
 * tails: u64 n_fac, n_fac f32, u64 n_prog, n_prog × 9 bytes, exactly.
 * false when the sizes do not add up. */
static bool priv_tails(const ltr_model *m, const cJSON *j, uint32_t version, const uint8_t *blk,
                       uint64_t left, priv_view *v) {
    uint32_t layout = beat_get_le32(blk);
    uint64_t count = beat_get_le64(blk + 4);
    size_t cnt = (size_t)m->dim + 1;
    uint64_t used = layout == 0 ? (uint64_t)cnt * 16 : count <= cnt ? count * 20 : UINT64_MAX;
    if (used > left) return false;
    uint64_t rest = left - used;
    if (version == 1) return rest == 0;
    if (rest < 16) return false;
    const uint8_t *t = blk + 12 + used;
    uint64_t nf = beat_get_le64(t);
    if (nf > (rest - 16) / 4) return false;
    uint64_t np = beat_get_le64(t + 8 + 4 * nf), left2 = rest - 16 - 4 * nf;
    if (np > left2 / 9 || left2 != 9 * np) return false;
    if (jnum(j, "rank", &v->fac_shape[0]) && jnum(j, "factor_bits", &v->fac_shape[1])) {
        v->n_fac = nf;
        v->fac = t + 8;
    }
    v->n_prog = np;
    v->prog = t + 16 + 4 * nf;
    return true;
}

/* The optimizer block (dense or sparse: ascending in-range indices) into
 * v->opt, every value finite and every n ≥ 0. 0, or a reason. */
static int priv_optimizer(const ltr_model *m, const uint8_t *blk, priv_view *v, beat_reason *why) {
    uint32_t layout = beat_get_le32(blk);
    uint64_t count = beat_get_le64(blk + 4);
    const uint8_t *q = blk + 12;
    size_t cnt = (size_t)m->dim + 1;
    if (layout == 0 && count == cnt) {
        memcpy(v->opt, q, cnt * 16);
    } else if (layout == 1) {
        memset(v->opt, 0, cnt * 16);
        int64_t prev = -1;
        for (uint64_t k = 0; k < count; k++, q += 20) {
            uint32_t i = beat_get_le32(q);
            if ((int64_t)i <= prev || i >= cnt) goto layout;
            memcpy(&v->opt[i], q + 4, 8);
            memcpy(&v->opt[cnt + i], q + 12, 8);
            prev = i;
        }
    } else {
        goto layout;
    }
    for (size_t i = 0; i < 2 * cnt; i++)
        if (!isfinite(v->opt[i]) || (i >= cnt && v->opt[i] < 0))
            return beat_reasonf(why, -EBADMSG, "private: bad optimizer value");
    return 0;
layout:
    return beat_reasonf(why, -EBADMSG, "private: bad optimizer layout");
}

/* Restores our private section of c into v (v->opt set by the caller).
 * 0 on success, negative (with a reason) if unusable: the caller then
 * warm-starts from the weights. */
static int priv_decode(const ltr_model *m, const beat_ckpt *c, priv_view *v, beat_reason *why) {
    const uint8_t *p = c->priv;
    uint64_t n = c->n_priv;
    v->cursors_json = NULL;
    v->fac = v->prog = NULL;
    v->n_fac = v->n_prog = 0;
    if (!p || n < 12 || memcmp(p, PRIV_MAGIC, 4) != 0)
        return beat_reasonf(why, -EBADMSG, "private: not ours");
    uint32_t version = beat_get_le32(p + 4);
    if (version != 1 && version != PRIV_VERSION)
        return beat_reasonf(why, -EBADMSG, "private: version %" PRIu32, version);
    uint64_t jl = beat_get_le32(p + 8);
    if (jl > n - 12 || n - 12 - jl < 12) return beat_reasonf(why, -EBADMSG, "private: truncated");
    cJSON *j = cJSON_ParseWithLength((const char *)p + 12, (size_t)jl);
    const cJSON *algo = cJSON_GetObjectItemCaseSensitive(j, "algo");
    double dim;
    int rc = 0;
    if (!cJSON_IsObject(j) || !cJSON_IsString(algo) || strcmp(algo->valuestring, "ftrl") ||
        !jnum(j, "dim", &dim) || dim != (double)m->dim || !jnum(j, "ctr_wy", &v->sums[0]) ||
        !jnum(j, "ctr_w", &v->sums[1]) || v->sums[0] < 0 || v->sums[1] < v->sums[0])
        rc = beat_reasonf(why, -EBADMSG, "private: bad JSON");
    const uint8_t *blk = p + 12 + jl;
    if (!rc && !priv_tails(m, j, version, blk, n - 12 - jl - 12, v))
        rc = beat_reasonf(why, -EBADMSG, "private: bad optimizer layout");
    if (!rc) rc = priv_optimizer(m, blk, v, why);
    const cJSON *cur = rc ? NULL : cJSON_GetObjectItemCaseSensitive(j, "cursors");
    if (cJSON_IsObject(cur)) {
        char *s = cJSON_PrintUnformatted(cur);
        if (s) {
            v->cursors_json = strdup(s);
            cJSON_free(s);
        }
    }
    cJSON_Delete(j);
    return rc;
}

/* Factor state: the embeddings from the checkpoint's V/U blocks when they
 * have our shape, then the trained rows and their accumulators from our
 * private block (exact); a foreign rank-0 checkpoint carrying our private
 * block gives those rows over the seeded initial values. false when
 * neither fits (the caller keeps fresh factors). Non-finite values never
 * get in; a restored row keeps an accumulator > 0 so that it is written
 * again. */
static bool factors_restore(ltr_model *m, const beat_ckpt *c, const uint8_t *fac, uint64_t n_fac,
                            const double shape[2]) {
    ltr_factors *f = &m->fac;
    if (f->rank == 0) return true;
    size_t r = f->rank, emb = (size_t)f->rows * r, all = 2 * emb + 2 * (size_t)f->rows;
    bool pub = c->h.rank == f->rank && c->h.factor_bits == f->bits &&
               c->h.n_weights == beat_ckpt_expected_weights(&c->h);
    bool priv = fac && shape[0] == f->rank && shape[1] == f->bits && n_fac % (r + 2) == 0;
    if (!pub && !priv) return false;
    if (pub) {
        memcpy(f->V, c->w + beat_ckpt_v_at(&c->h), emb * sizeof(float));
        memcpy(f->U, c->w + beat_ckpt_u_at(&c->h), emb * sizeof(float));
        memset(f->accV, 0, 2 * (size_t)f->rows * sizeof(float));
    }
    for (uint64_t k = 0; priv && k < n_fac / (r + 2); k++, fac += 4 * (r + 2)) {
        uint32_t tag = beat_get_le32(fac), row = tag & 0x7fffffffu, table = tag >> 31;
        if (row >= f->rows) continue;
        float *acc = (table ? f->accU : f->accV) + row;
        memcpy(acc, fac + 4, 4);
        if (!(*acc > 0) || !isfinite(*acc)) *acc = FLT_MIN;
        memcpy((table ? f->U : f->V) + (size_t)row * r, fac + 8, 4 * r);
    }
    for (size_t i = 0; i < all; i++)
        if (!isfinite(f->V[i])) f->V[i] = 0;
    return true;
}

int ltr_model_restore(ltr_model *m, const beat_ckpt *c, char **cursors_json, bool *factors_fresh,
                      ltr_prog *prog, beat_reason *why) {
    *cursors_json = NULL;
    *factors_fresh = false;
    if (strcmp(c->h.kind, "logreg") != 0)
        return beat_reasonf(why, -EINVAL, "kind %s is not ours", c->h.kind);
    if (c->h.hash_bits != m->hash_bits || c->h.dim != m->dim || c->h.hash_seed != m->hash_seed ||
        c->h.n_weights < (uint64_t)m->dim + 1)
        return beat_reasonf(why, -EINVAL,
                            "hash_bits %" PRIu32 " seed %016" PRIx64 " differ from ours (%" PRIu32
                            ", %016" PRIx64 ")",
                            c->h.hash_bits, c->h.hash_seed, m->hash_bits, m->hash_seed);
    size_t cnt = 2 * ((size_t)m->dim + 1);
    priv_view v = {.opt = malloc(cnt * sizeof(double))};
    if (!v.opt) return beat_reasonf(why, -ENOMEM, "out of memory");
    int rc = priv_decode(m, c, &v, why);
    m->samples_seen = c->h.samples_seen > 0 ? c->h.samples_seen : 0;
    if (rc == 0) {
        memcpy(m->z, v.opt, cnt * sizeof(double));
        m->ctr_wy = v.sums[0];
        m->ctr_w = v.sums[1];
        free(v.opt);
        *cursors_json = v.cursors_json;
        *factors_fresh = !factors_restore(m, c, v.fac, v.n_fac, v.fac_shape);
        const uint8_t *pw = v.prog;
        for (uint64_t k = 0; prog && k < v.n_prog; k++, pw += 9) {
            float p, w;
            memcpy(&p, pw, 4);
            memcpy(&w, pw + 4, 4);
            if (isfinite(p) && p >= 0 && p <= 1 && isfinite(w) && w > 0 && pw[8] <= 1)
                ltr_prog_add(prog, p, pw[8], w);
        }
        return 0;
    }
    free(v.opt);
    double no_shape[2] = {0, 0};
    *factors_fresh = !factors_restore(m, c, NULL, 0, no_shape);
    /* Warm start: the weights are all we can trust. n = 0 gives every
     * coordinate its full learning rate again. */
    memset(m->z, 0, cnt * sizeof(double));
    for (uint32_t i = 0; i <= m->dim; i++) {
        double w = isfinite(c->w[i]) ? c->w[i] : 0.0;
        m->z[i] = z_for_weight(m, i, w);
    }
    /* avg_ctr from the header, as if seen over CTR_PRIOR_WEIGHT samples. */
    double a = c->h.avg_ctr;
    m->ctr_w = 0;
    m->ctr_wy = 0;
    if (isfinite(a) && a > 0 && a < 1) {
        m->ctr_w = CTR_PRIOR_WEIGHT * 10;
        m->ctr_wy = a * m->ctr_w;
    }
    return 1;
}
