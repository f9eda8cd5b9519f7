/* Campaign × context factor term (factors.h), trained by model.c's learn
 * step. Row-wise AdaGrad (one accumulator per embedding row, as in large
 * recommender embeddings): the step of a row is a scalar, so an update is
 * sscal + saxpy on the row, and the optimizer state is 2 × rows floats
 * instead of 2 × rows × rank. Rows come from sample data: they are masked
 * here, never used as given. */
#include "factors.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INIT_SCALE 0.05 /* uniform(-a, a) start; breaks the U/V symmetry */
#define ADA_EPS 1e-6

static uint64_t splitmix(uint64_t *s) {
    uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int ltr_factors_init(ltr_factors *f, uint32_t rank, uint32_t bits, double lr, double l2,
                     uint64_t seed) {
    memset(f, 0, sizeof *f);
    if (rank == 0) return 0;
    if (rank > LTR_RANK_MAX || bits < LTR_FACTOR_BITS_MIN || bits > 24 || !(lr > 0) || !(l2 >= 0))
        return -EINVAL;
    size_t rows = (size_t)1 << bits, emb = rows * rank;
    float *p = malloc((2 * emb + 2 * rows) * sizeof *p);
    if (!p) return -ENOMEM;
    f->rank = rank;
    f->bits = bits;
    f->rows = (uint32_t)rows;
    f->V = p;
    f->U = p + emb;
    f->accV = p + 2 * emb;
    f->accU = f->accV + rows;
    f->lr = lr;
    f->l2 = l2;
    /* Measured (bench/bench_trainer.py): per-row BLAS calls cost more than
     * they save below rank ~16; from there on saxpy/sdot win. */
    f->blas = rank >= LTR_BLAS_MIN_RANK;
    uint64_t s = seed ^ 0x666163746f727321ULL; /* "factors!" */
    for (size_t i = 0; i < 2 * emb; i++)
        p[i] = (float)(INIT_SCALE * ((double)(splitmix(&s) >> 11) * 0x1.0p-52 - 1.0));
    memset(f->accV, 0, 2 * rows * sizeof *p);
    return 0;
}

void ltr_factors_fini(ltr_factors *f) {
    free(f->V); /* V heads the one allocation */
    memset(f, 0, sizeof *f);
}

double ltr_factors_term(const ltr_factors *f, const uint32_t *rows, int n, uint32_t crow,
                        float *vsum) {
    if (f->rank == 0) return 0;
    int r = (int)f->rank;
    uint32_t mask = f->rows - 1;
    memset(vsum, 0, (size_t)r * sizeof *vsum);
    const float *u = f->U + (size_t)(crow & mask) * r;
    if (f->blas) {
        for (int k = 0; k < n; k++)
            cblas_saxpy(r, 1.0f, f->V + (size_t)(rows[k] & mask) * r, 1, vsum, 1);
        return cblas_sdot(r, u, 1, vsum, 1);
    }
    for (int k = 0; k < n; k++) {
        const float *v = f->V + (size_t)(rows[k] & mask) * r;
        for (int j = 0; j < r; j++) vsum[j] += v[j];
    }
    double t = 0;
    for (int j = 0; j < r; j++) t += (double)u[j] * vsum[j];
    return t;
}

/* row ← (1 - step·l2)·row - step·g·dir, where step = lr / sqrt(acc) after
 * acc += mean((g·dir + l2·row)²). */
static void row_step(const ltr_factors *f, float *row, float *acc, const float *dir, double g) {
    int r = (int)f->rank;
    double sq = 0;
    for (int j = 0; j < r; j++) {
        double gr = g * dir[j] + f->l2 * row[j];
        sq += gr * gr;
    }
    *acc += (float)(sq / r);
    double step = f->lr / sqrt((double)*acc + ADA_EPS);
    float shrink = (float)(1.0 - step * f->l2), a = (float)(-step * g);
    if (shrink < 0) shrink = 0;
    if (f->blas) {
        cblas_sscal(r, shrink, row, 1);
        cblas_saxpy(r, a, dir, 1, row, 1);
        return;
    }
    for (int j = 0; j < r; j++) row[j] = shrink * row[j] + a * dir[j];
}

void ltr_factors_update(ltr_factors *f, const uint32_t *rows, int n, uint32_t crow,
                        const float *vsum, double g) {
    if (f->rank == 0 || n <= 0 || !isfinite(g)) return;
    uint32_t mask = f->rows - 1, c = crow & mask;
    float uold[LTR_RANK_MAX];
    float *u = f->U + (size_t)c * f->rank;
    memcpy(uold, u, f->rank * sizeof *u);
    /* d term / d U[c] = Σ V[f] (vsum); d term / d V[f] = U[c] (before the
     * step: both gradients are of the same forward pass). */
    row_step(f, u, &f->accU[c], vsum, g);
    for (int k = 0; k < n; k++) {
        uint32_t i = rows[k] & mask;
        row_step(f, f->V + (size_t)i * f->rank, &f->accV[i], uold, g);
    }
}
