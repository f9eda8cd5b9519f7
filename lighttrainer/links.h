/* The light trainer's weak links: training samples pulled from every
 * datastream instance (cursor + epoch each), checkpoints pushed to and
 * restored from the supervisor. Blocking calls with hard timeouts, made
 * from the training loop only. */
#ifndef LTR_LINKS_H
#define LTR_LINKS_H

#include <stdint.h>

#include "beat_cfg.h"
#include "beat_ckpt.h"
#include "beat_util.h"
#include "beat_wire.h"

typedef struct ltr_links ltr_links;

typedef struct ltr_pull_stats {
    int64_t samples, missed, epoch_resets, failures;
} ltr_pull_stats;

typedef int (*ltr_sample_fn)(void *arg, const beat_sample *s);

/* Copies its arguments. pull_timeout_ms bounds sample pulls and the
 * restore; push_timeout_ms bounds checkpoint pushes. NULL on OOM. */
ltr_links *ltr_links_new(const beat_strlist *datastreams, const char *supervisor, const char *token,
                         long pull_timeout_ms, long push_timeout_ms, int pull_max);
void ltr_links_free(ltr_links *l);
int ltr_links_n_datastreams(const ltr_links *l);

/* One GET /v1/samples from datastream i; fn gets each sample not seen
 * before, in order. Returns how many were delivered, -EAGAIN after an
 * epoch reset (pull again: the cursor went back to 0), other negatives on
 * failure (counted and logged here). */
int ltr_links_pull(ltr_links *l, int i, ltr_sample_fn fn, void *arg, ltr_pull_stats *ps);

/* Cursors as a JSON object {url:{"epoch":"hex","seq":N}} appended to out,
 * and back (unknown or bad entries are skipped). */
int ltr_links_cursors_json(const ltr_links *l, beat_buf *out);
void ltr_links_cursors_restore(ltr_links *l, const char *json);

/* GET /v1/checkpoint/latest. 1 = decoded into out (caller finis), 0 = none
 * stored (404), -EFBIG = stored but larger than max_bytes (not a model of
 * our size), other negative = unreachable, 5xx or invalid (retry later). */
int ltr_links_fetch_ckpt(ltr_links *l, size_t max_bytes, beat_ckpt *out);
/* POST /v1/checkpoint. 0 = accepted, negative = failure (logged, counted). */
int ltr_links_push_ckpt(ltr_links *l, const beat_buf *ckpt);

#endif
