/* The light trainer's model: logistic regression over hashed feature
 * indices, trained online with FTRL-Proximal, plus a low-rank campaign ×
 * context factor term (factors.h) trained jointly, and its checkpoint form
 * (beat_ckpt kind "logreg" + a private section holding the optimizer
 * state). Pure computation: no clocks, no I/O (model_test.c drives it). */
#ifndef LTR_MODEL_H
#define LTR_MODEL_H

#include <stdint.h>

#include "beat_ckpt.h"
#include "beat_util.h"
#include "factors.h"
#include "metrics.h"

#define LTR_HASH_BITS_MIN 10
#define LTR_HASH_BITS_MAX 24

typedef struct ltr_ftrl {
    double alpha, beta, l1, l2;
} ltr_ftrl;

typedef struct ltr_fm {
    uint32_t rank, bits; /* rank 0 = no factor term; bits ≤ hash_bits */
    double lr, l2;
} ltr_fm;

typedef struct ltr_model {
    uint32_t hash_bits, dim;
    uint64_t hash_seed;
    ltr_ftrl f;
    double *z, *n; /* dim + 1 each; [dim] is the bias. One allocation. */
    int64_t samples_seen;
    double ctr_wy, ctr_w; /* decayed importance-weighted click and sample sums */
    double prior_ctr;
    ltr_factors fac; /* rank 0: none */
} ltr_model;

/* New model whose prediction is ~prior_ctr everywhere (bias = logit(prior);
 * the factor embeddings start as small noise). fm NULL = rank 0. NULL on
 * bad arguments or OOM. */
ltr_model *ltr_model_new(uint32_t hash_bits, uint64_t hash_seed, const ltr_ftrl *f,
                         const ltr_fm *fm, double prior_ctr);
void ltr_model_free(ltr_model *m); /* NULL is a no-op */

/* pCTR = sigmoid(bias + Σ w[idx & (dim-1)] + U[c]·Σ_f V[f]). idx are
 * beat_feat_indices of (request, campaign): bases, crosses, campaign bias;
 * cmp_hash is beat_feat_campaign_hash of the sample's campaign. The factor
 * term is used only when idx has that layout (odd n, last = campaign
 * index); other index lists get the linear part alone. */
double ltr_model_predict(const ltr_model *m, const uint32_t *idx, int n, uint64_t cmp_hash);
/* Scores the sample, then learns from it (FTRL step on the log loss scaled
 * by the importance weight; a factor step on the same gradient). Returns
 * the score from before the update: progressive validation. weight must
 * be finite and > 0. */
double ltr_model_learn(ltr_model *m, const uint32_t *idx, int n, uint64_t cmp_hash, int label,
                       double weight);
/* The click rate of the traffic, corrected for negative down-sampling
 * (Σ w·y / Σ w over recent samples, shrunk towards the prior). */
double ltr_model_avg_ctr(const ltr_model *m);
/* Weight of one coordinate (i == dim is the bias). */
double ltr_model_weight(const ltr_model *m, uint32_t i);

typedef struct ltr_ckpt_meta {
    const char *trainer;
    double auc, logloss;
    int64_t ts_ms;
    const char *cursors_json; /* JSON object kept in the private section, or NULL */
    const ltr_prog *prog;     /* progressive-validation window kept too, or NULL */
} ltr_ckpt_meta;

/* Appends the whole checkpoint (beat_ckpt bytes) to out. */
int ltr_model_encode(const ltr_model *m, const ltr_ckpt_meta *meta, beat_buf *out);

/* Continues from a decoded checkpoint. Returns 0 when the optimizer state
 * came back from the private section, 1 when only the weights could be
 * used (warm start: another trainer's checkpoint, or a private section we
 * do not understand), -EINVAL when the checkpoint does not fit this model
 * (kind, hash bits or seed differ; m unchanged). A checkpoint of another
 * rank or factor_bits restores the linear part; the factors start fresh
 * (*factors_fresh set true). On 0, prog (if not NULL) gets the saved
 * progressive window appended, so the AUC figure continues after a restart. On 0 *cursors_json
 * gets a malloc'd copy of the saved cursors (or NULL); the caller frees. */
int ltr_model_restore(ltr_model *m, const beat_ckpt *c, char **cursors_json, bool *factors_fresh,
                      ltr_prog *prog, beat_reason *why);

#endif
