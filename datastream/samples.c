/* Sample ring: a fixed array of --samples-max slots, seq-numbered, oldest
 * overwritten. Readers copy what they need under the lock and encode
 * outside it, so a big GET never holds up the consumer thread for long.
 * Never blocks on readers, never grows past its bound. */
#include "samples.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t seq;
    int64_t ts_ms;
    float weight;
    int8_t label;
    uint16_t n_feat;
    uint32_t *feat; /* owned */
    char campaign[BEAT_ID_MAX + 1];
} slot;

struct dst_samples {
    pthread_mutex_t mu;
    int64_t max, head, count; /* head = oldest */
    uint64_t last_seq;
    slot *ring;
    int conv; /* set once before use */
};

void dst_samples_set_conv(dst_samples *s) { s->conv = 1; }

dst_samples *dst_samples_new(int64_t max) {
    if (max < 1 || max > (1LL << 28)) return NULL;
    dst_samples *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ring = calloc((size_t)max, sizeof *s->ring);
    if (!s->ring) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->max = max;
    return s;
}

void dst_samples_free(dst_samples *s) {
    if (!s) return;
    for (int64_t i = 0; i < s->max; i++) free(s->ring[i].feat);
    free(s->ring);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

uint64_t dst_samples_push(dst_samples *s, const char *campaign, int label, float weight,
                          int64_t ts_ms, const uint32_t *feat, uint32_t n) {
    if (n > BEAT_FEAT_MAX) n = BEAT_FEAT_MAX;
    uint32_t *f = NULL;
    if (n) { /* allocated outside the lock */
        f = malloc(sizeof *f * n);
        if (!f) return 0;
        memcpy(f, feat, sizeof *f * n);
    }
    pthread_mutex_lock(&s->mu);
    slot *sl;
    if (s->count == s->max) { /* the oldest falls off */
        sl = &s->ring[s->head];
        s->head = (s->head + 1) % s->max;
        s->count--;
    } else {
        sl = &s->ring[(s->head + s->count) % s->max];
    }
    uint32_t *old = sl->feat;
    sl->seq = ++s->last_seq;
    sl->ts_ms = ts_ms;
    sl->weight = weight;
    sl->label = (int8_t)(label ? 1 : 0);
    sl->n_feat = (uint16_t)n;
    sl->feat = f;
    snprintf(sl->campaign, sizeof sl->campaign, "%s", campaign ? campaign : "");
    s->count++;
    uint64_t seq = sl->seq;
    pthread_mutex_unlock(&s->mu);
    free(old);
    return seq;
}

static uint64_t first_seq_locked(const dst_samples *s) {
    return s->count ? s->last_seq - (uint64_t)s->count + 1 : 0;
}

static int get_locked(dst_samples *s, uint64_t after, int max, beat_sample *out) {
    uint64_t first = first_seq_locked(s);
    int64_t start = 0;
    if (s->count && after >= first) start = (int64_t)(after - first + 1);
    int64_t n = s->count - start;
    if (n < 0) n = 0;
    if (n > max) n = max;
    for (int64_t i = 0; i < n; i++) {
        const slot *sl = &s->ring[(s->head + start + i) % s->max];
        beat_sample *o = &out[i];
        o->seq = sl->seq;
        memcpy(o->campaign, sl->campaign, sizeof o->campaign);
        o->label = sl->label;
        o->conv = s->conv;
        o->weight = sl->weight;
        o->ts_ms = sl->ts_ms;
        o->n_feat = sl->n_feat;
        if (sl->n_feat) memcpy(o->feat, sl->feat, sizeof *o->feat * sl->n_feat);
    }
    return (int)n;
}

int dst_samples_get(dst_samples *s, uint64_t after, int max, beat_sample *out) {
    if (max <= 0) return 0;
    pthread_mutex_lock(&s->mu);
    int n = get_locked(s, after, max, out);
    pthread_mutex_unlock(&s->mu);
    return n;
}

int dst_samples_encode(dst_samples *s, uint64_t after, int max, const char *instance,
                       uint64_t epoch, beat_buf *out) {
    if (max < 1) return -EINVAL;
    beat_sample *tmp = malloc(sizeof *tmp * (size_t)max);
    if (!tmp) return -ENOMEM;
    beat_samples_header h = {0};
    snprintf(h.instance, sizeof h.instance, "%s", instance ? instance : "");
    h.epoch = epoch;
    /* Header and copy under one lock so they agree. */
    pthread_mutex_lock(&s->mu);
    h.first_seq = first_seq_locked(s);
    h.last_seq = s->last_seq;
    int n = get_locked(s, after, max, tmp);
    pthread_mutex_unlock(&s->mu);
    h.n = n;
    int rc = beat_samples_header_encode(&h, out);
    for (int i = 0; !rc && i < n; i++) rc = beat_sample_encode(&tmp[i], out);
    free(tmp);
    return rc;
}

uint64_t dst_samples_last_seq(dst_samples *s) {
    pthread_mutex_lock(&s->mu);
    uint64_t v = s->last_seq;
    pthread_mutex_unlock(&s->mu);
    return v;
}

uint64_t dst_samples_first_seq(dst_samples *s) {
    pthread_mutex_lock(&s->mu);
    uint64_t v = first_seq_locked(s);
    pthread_mutex_unlock(&s->mu);
    return v;
}
