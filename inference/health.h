/* What beat-inference tells its operators about itself: the /healthz
 * detail and readiness, the version and age gauges, the alert rules over
 * them, and the `stats` line every 10 s. Reads the world's versions and the
 * lease link; never touches the bid path. */
#ifndef INF_HEALTH_H
#define INF_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_alert_rules.h"
#include "beat_util.h"
#include "lease.h"
#include "model.h"

typedef struct inf_health_cfg {
    inf_holder *holder;
    inf_leases *leases;
    const char *name; /* --name */
    int workers;
    bool open;                          /* --open */
    int64_t max_state_age_ms;           /* --max-state-age-ms */
    const char *pub_url, *bidlog_url;   /* named in the alert texts */
    const beat_alert_opts *alert;       /* peer and drop thresholds */
    double state_warn_s, state_error_s; /* pacing state age thresholds */
    double model_warn_s, model_error_s; /* model age thresholds */
} inf_health_cfg;

/* Registers the version and age gauges (once, at start-up; they read the
 * holder given to inf_health_set, so nothing may scrape before that). */
void inf_health_metrics_init(void);
/* What the functions below read; copied (the pointers in it must outlive
 * every use). Called once, before the HTTP workers start. */
void inf_health_set(const inf_health_cfg *cfg);
/* beat_health_fn for /healthz: the detail, and ready = model, state,
 * leases and (unless --open) an exchange. */
bool inf_health_fn(void *arg, beat_buf *d);
/* Starts the alert rules (free with beat_alert_rules_end). */
beat_alert_rules *inf_health_alerts_start(void);
/* Logs the `stats` event. */
void inf_health_log_stats(void);

#endif
