/* Ring of labelled training samples (docs/contracts.md "Training samples"):
 * the consumer thread pushes, the HTTP thread reads; old samples fall off so
 * a slow trainer loses samples and never blocks the stream. Own lock. */
#ifndef DST_SAMPLES_H
#define DST_SAMPLES_H

#include <stdint.h>

#include "beat_util.h"
#include "beat_wire.h"

typedef struct dst_samples dst_samples;

dst_samples *dst_samples_new(int64_t max); /* NULL on bad max / OOM */
/* Every sample of s is a conversion sample ("conv":1 on the wire). */
void dst_samples_set_conv(dst_samples *s);
void dst_samples_free(dst_samples *s);

/* Copies feat (n ≤ BEAT_FEAT_MAX). Returns the new sample's seq (1, 2, …),
 * or 0 on OOM (dropped). */
uint64_t dst_samples_push(dst_samples *s, const char *campaign, int label, float weight,
                          int64_t ts_ms, const uint32_t *feat, uint32_t n);
/* Copies up to max samples with seq > after into out (ascending); returns
 * the count. */
int dst_samples_get(dst_samples *s, uint64_t after, int max, beat_sample *out);
/* GET /v1/samples body (JSON lines, beat_wire.h). */
int dst_samples_encode(dst_samples *s, uint64_t after, int max, const char *instance,
                       uint64_t epoch, beat_buf *out);
uint64_t dst_samples_last_seq(dst_samples *s);
uint64_t dst_samples_first_seq(dst_samples *s);

#endif
