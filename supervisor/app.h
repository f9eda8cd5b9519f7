/* The supervisor's current objects (campaign set, pacing state, model) and
 * the rules for replacing them: validate, store durably, then publish.
 * Main thread only; the HTTP glue in api.c calls it, tests call it
 * directly. */
#ifndef SUP_APP_H
#define SUP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "banker.h"
#include "exchanges.h"
#include "publish.h"
#include "store.h"

typedef struct sup_cfg {
    size_t max_ckpt_bytes; /* largest checkpoint accepted */
    size_t max_json_bytes; /* largest campaigns / state body */
    double max_multiplier; /* state multipliers must be in [0, this] */
    uint32_t hash_bits;    /* checkpoints must match these */
    uint64_t hash_seed;
    int64_t max_clock_skew_ms; /* states and checkpoints stamped further ahead of
                                  our clock are refused (0 = any ahead) */
} sup_cfg;

typedef struct sup_app sup_app;

/* Borrows st and pub (pub may be NULL: nothing is published). */
sup_app *sup_app_new(const sup_cfg *cfg, sup_store *st, sup_pub *pub);
void sup_app_free(sup_app *a); /* NULL is a no-op */
/* Rejected writes raise the alerts campaigns_rejected, state_rejected and
 * checkpoint_rejected (warn); the next accepted write of that kind clears
 * it. Borrows alert (NULL = none); set it before serving. */
struct beat_alert;
void sup_app_set_alert(sup_app *a, struct beat_alert *alert);

/* Every campaign set installed or reloaded from now on is handed to b
 * (borrowed; NULL = none), which bounds spend by it. Set before load. */
void sup_app_set_banker(sup_app *a, sup_banker *b);
sup_banker *sup_app_banker(const sup_app *a);

/* Reloads the latest campaigns, state and checkpoint from the store and
 * publishes them. A stored object that no longer validates is logged and
 * skipped. Returns 0 or -EIO. */
int sup_app_load(sup_app *a);

/* --campaigns FILE at start: applied as a new version unless it is the
 * same content as the file last applied (so flight_s-relative flights do
 * not move on restart, and a later PUT is not reverted by a restart).
 * Negative code with why on a bad file or store failure. */
int sup_app_load_campaigns_file(sup_app *a, const char *path, beat_reason *why);

/* Replacements. 0 and *version on success; -EINVAL (bad input, why says
 * what: answer 400); -EMSGSIZE (too large: 413); -EIO (store failed: 503). */
int sup_app_put_campaigns(sup_app *a, const char *json, size_t len, int64_t *version,
                          beat_reason *why);
int sup_app_post_state(sup_app *a, const char *json, size_t len, int64_t *version,
                       beat_reason *why);
int sup_app_post_checkpoint(sup_app *a, const void *bytes, size_t len, int64_t *version,
                            beat_reason *why);

/* Current objects as served over HTTP (owned by a; valid until the next
 * replacement on the main thread). NULL / 0 when there is none. */
const char *sup_app_campaigns_json(const sup_app *a, size_t *len);
const char *sup_app_state_json(const sup_app *a, size_t *len);
/* Current 'C' frame with a new reference (caller unrefs), or NULL. The
 * checkpoint bytes are data + 9. */
sup_frame *sup_app_model(const sup_app *a, int64_t *version);

/* The exchange set (exchanges.h), owned by a: its replacements republish
 * the snapshot. */
sup_exch *sup_app_exchanges(const sup_app *a);

int64_t sup_app_version(const sup_app *a, int which); /* 0 campaigns, 1 state, 2 model */
int sup_app_versions_json(const sup_app *a, beat_buf *out);
/* beat_health_fn: versions as health detail. */
bool sup_app_health(void *arg, beat_buf *detail);
/* Logs the periodic "stats" event and refreshes the db size gauge. */
void sup_app_stats(sup_app *a);

#endif
