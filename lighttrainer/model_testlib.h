/* Shared by the light trainer's model tests (model_test.c, factors_test.c;
 * header-only): a seeded generator, so every run draws the same synthetic
 * samples, the FTRL settings they train with, and the AUC of a set of
 * predictions by progressive validation (metrics.c). */
#ifndef LTR_MODEL_TESTLIB_H
#define LTR_MODEL_TESTLIB_H

#include <math.h>
#include <stdint.h>

#include "metrics.h"
#include "model.h"

#define BITS 16

static uint64_t rng_state;
static inline double urand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static inline double nrand(void) { /* Box-Muller */
    double u = urand() + 1e-12, v = urand();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static inline ltr_ftrl default_ftrl(void) {
    ltr_ftrl f = {0.1, 1.0, 0.1, 1.0};
    return f;
}

static inline double auc_of(const double *p, const int *y, int n) {
    ltr_prog g;
    ltr_prog_init(&g, n);
    for (int i = 0; i < n; i++) ltr_prog_add(&g, p[i], y[i], 1.0);
    ltr_prog_result r;
    ltr_prog_compute(&g, &r);
    ltr_prog_fini(&g);
    return r.auc;
}

#endif
