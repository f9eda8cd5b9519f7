/* Frequency caps across inference nodes (docs/campaigns.md "freq_cap"):
 * a thread that pulls each datastream's cap rows changed since its cursor
 * (GET /v1/caps) every --fcap-every-ms, sums a row over the datastreams
 * (each counts the partitions it owns), and publishes the changed rows as
 * 'F' frames (beat_fcap.h) on the pub socket; each round also re-sends a
 * slice of the live rows so a node that started late or lost a frame
 * catches up. A dead datastream only stops its rows from moving: the frame
 * of a round where one did not answer is marked incomplete, and inference
 * falls back to its own counts when complete frames stop. */
#ifndef SUP_FCAP_H
#define SUP_FCAP_H

#include <stdint.h>

#include "beat_util.h"
#include "publish.h"

typedef struct sup_fcap sup_fcap;

typedef struct sup_fcap_cfg {
    const char *const *urls; /* datastream base URLs */
    int n_urls;
    int64_t every_ms; /* pull period */
    int64_t rows_max; /* rows kept per datastream */
    long timeout_ms;  /* per GET */
} sup_fcap_cfg;

/* Starts the thread (none when n_urls is 0). pub is borrowed and must
 * outlive the puller. NULL on OOM or a thread that cannot start. */
sup_fcap *sup_fcap_new(const sup_fcap_cfg *cfg, sup_pub *pub);
void sup_fcap_free(sup_fcap *f); /* stops and joins; NULL: no-op */

/* Merges one /v1/caps answer (JSON) of datastream i into the tables:
 * rows changed are appended to out (room for max), returns how many, or
 * -EBADMSG with a reason. Exposed for tests; the thread calls it. */
struct beat_fcap_row;
int sup_fcap_merge(sup_fcap *f, int i, const char *json, size_t len, int64_t now_ms,
                   struct beat_fcap_row *out, int max, beat_reason *why);
/* A puller with no thread, for tests. */
sup_fcap *sup_fcap_new_detached(const sup_fcap_cfg *cfg);

#endif
