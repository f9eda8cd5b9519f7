/* Progressive validation over a sliding window: log loss and AUC of the
 * scores the model gave each sample before learning from it. main.c adds
 * one entry per trained sample and computes the figures when it writes a
 * checkpoint. Weights are the samples' importance weights, so the figures
 * estimate the model on the real (not down-sampled) traffic. */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ltr_prog_init(ltr_prog *g, int window) {
    memset(g, 0, sizeof *g);
    if (window < 1) return -EINVAL;
    g->p = calloc((size_t)window, sizeof *g->p);
    g->w = calloc((size_t)window, sizeof *g->w);
    g->y = calloc((size_t)window, sizeof *g->y);
    if (!g->p || !g->w || !g->y) {
        ltr_prog_fini(g);
        return -ENOMEM;
    }
    g->cap = window;
    return 0;
}

void ltr_prog_fini(ltr_prog *g) {
    free(g->p);
    free(g->w);
    free(g->y);
    memset(g, 0, sizeof *g);
}

void ltr_prog_add(ltr_prog *g, double p, int label, double weight) {
    g->p[g->head] = (float)p;
    g->w[g->head] = (float)weight;
    g->y[g->head] = label ? 1 : 0;
    g->head = (g->head + 1) % g->cap;
    if (g->n < g->cap) g->n++;
}

typedef struct entry {
    float p, w;
    uint8_t y;
} entry;

static int by_score(const void *a, const void *b) {
    float x = ((const entry *)a)->p, y = ((const entry *)b)->p;
    return (x > y) - (x < y);
}

int ltr_prog_compute(const ltr_prog *g, ltr_prog_result *r) {
    memset(r, 0, sizeof *r);
    r->auc = 0.5;
    if (g->n == 0) return 0;
    entry *e = malloc((size_t)g->n * sizeof *e);
    if (!e) return -ENOMEM;
    double ll = 0, wsum = 0;
    for (int i = 0; i < g->n; i++) {
        e[i].p = g->p[i];
        e[i].w = g->w[i];
        e[i].y = g->y[i];
        double p = fmin(fmax(g->p[i], 1e-7), 1 - 1e-7);
        ll -= g->w[i] * (g->y[i] ? log(p) : log(1 - p));
        wsum += g->w[i];
    }
    r->n = g->n;
    r->logloss = wsum > 0 ? ll / wsum : 0;
    /* AUC = P(score of a positive > score of a negative), ties count half:
     * sweep by ascending score, each positive group beats the negative
     * weight below it. */
    qsort(e, (size_t)g->n, sizeof *e, by_score);
    double neg_below = 0, pos_total = 0, sum = 0;
    for (int i = 0; i < g->n;) {
        int j = i;
        double pos = 0, neg = 0;
        for (; j < g->n && e[j].p == e[i].p; j++) {
            if (e[j].y) pos += e[j].w;
            else neg += e[j].w;
        }
        sum += pos * (neg_below + 0.5 * neg);
        neg_below += neg;
        pos_total += pos;
        i = j;
    }
    if (pos_total > 0 && neg_below > 0) r->auc = sum / (pos_total * neg_below);
    free(e);
    return 0;
}
