/* Progressive validation of the light trainer: every sample is scored
 * before the model learns from it, and the (score, label, weight) triples
 * of the last --window samples give the model's log loss and AUC. Pure
 * computation (model_test.c checks it on a hand example). */
#ifndef LTR_METRICS_H
#define LTR_METRICS_H

#include <stdint.h>

typedef struct ltr_prog {
    int cap, n, head; /* ring of the last cap samples; head = next slot */
    float *p, *w;
    uint8_t *y;
} ltr_prog;

typedef struct ltr_prog_result {
    int n;          /* samples in the window */
    double auc;     /* importance-weighted; 0.5 when one class is absent */
    double logloss; /* importance-weighted mean; 0 when the window is empty */
} ltr_prog_result;

int ltr_prog_init(ltr_prog *g, int window);
void ltr_prog_fini(ltr_prog *g);
void ltr_prog_add(ltr_prog *g, double p, int label, double weight);
/* Exact over the window (sorts a copy): O(n log n), at checkpoint time.
 * -ENOMEM if the scratch copy cannot be allocated. */
int ltr_prog_compute(const ltr_prog *g, ltr_prog_result *r);

#endif
