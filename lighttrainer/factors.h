/* The low-rank campaign × context term of the light trainer's model:
 * U[c] · Σ_f V[f] over an impression's base request features, trained
 * jointly with the linear part (model.c calls it per sample). Row-wise
 * AdaGrad keeps every update a scaled vector add, so the vector work can
 * go through OpenBLAS (blas = true, the default from LTR_BLAS_MIN_RANK) or
 * plain loops (faster at small ranks; bench/bench_trainer.py compares).
 * Pure computation: no I/O, no clock, never trusts its caller's rows. */
#ifndef LTR_FACTORS_H
#define LTR_FACTORS_H

#include <stdbool.h>
#include <stdint.h>

#define LTR_RANK_MAX 64
#define LTR_FACTOR_BITS_MIN 4
#define LTR_BLAS_MIN_RANK 16 /* the training steps use OpenBLAS from this rank */

typedef struct ltr_factors {
    uint32_t rank, bits, rows; /* rows = 2^bits; rank 0 = no term */
    float *V, *U;              /* rows × rank each, row-major (one allocation) */
    float *accV, *accU;        /* row-wise AdaGrad sums of mean squared gradient */
    double lr, l2;
    bool blas;
} ltr_factors;

/* Zero rank gives an empty term (no allocation). Embeddings start as small
 * deterministic noise from seed (so two trainers agree). -EINVAL on bad
 * arguments, -ENOMEM. */
int ltr_factors_init(ltr_factors *f, uint32_t rank, uint32_t bits, double lr, double l2,
                     uint64_t seed);
void ltr_factors_fini(ltr_factors *f);

/* Term for rows (base features, masked here) and campaign row crow;
 * vsum (rank floats) receives Σ V[rows]. 0 when rank is 0. */
double ltr_factors_term(const ltr_factors *f, const uint32_t *rows, int n, uint32_t crow,
                        float *vsum);
/* One step on d(loss)/d(term) = g, with vsum from ltr_factors_term on the
 * same rows (before this update). */
void ltr_factors_update(ltr_factors *f, const uint32_t *rows, int n, uint32_t crow,
                        const float *vsum, double g);

#endif
