/* The supervisor's status page at "/": one self-contained HTML page (inline
 * CSS and JS, no external assets) that polls the JSON API every 2 s. Served
 * the same way by a primary and a relay; it reads nothing but the API. */
#ifndef SUP_STATUS_H
#define SUP_STATUS_H

#include "beat_ckpt.h"
#include "beat_http.h"
#include "beat_util.h"

/* Routes "/" on h. */
void sup_status_route(beat_http *h);

/* Appends the model metrics of h (NULL: none yet) as JSON members, each
 * preceded by a comma: model_trainer, model_kind, model_auc,
 * model_logloss, model_samples_seen, model_built_ts. */
int sup_status_model_json(beat_buf *b, const beat_ckpt_header *h);

#endif
