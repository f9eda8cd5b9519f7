/* beat-datastream's options (one table: flag, environment twin, default,
 * bounds, help; common/beat_cfg.h) and the values they set, read by main.c
 * after beat_cfg_start(). Written once at start-up, read-only after. */
#ifndef DST_OPTS_H
#define DST_OPTS_H

#include <stdint.h>

#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_http.h"

typedef struct dst_opt_values {
    char *listen, *brokers, *topic, *group, *name, *level, *start_from, *store_dir, *store_sync;
    int64_t bucket_ms, buckets_max, window_ms, max_open, samples_max, max_campaigns, retention_s,
        max_keys, forget_s, fcap_rows;
    int64_t settle_ms, hb_gap_ms, clock_skew_ms;
    double fill_warn_pct;
    double neg_rate;
    beat_strlist kafka_opts;
    beat_alert_opts alert;

    beat_http_limits http;
    char *sim_clock; /* --sim-clock: engine time spec */
    int64_t report_retention_h, report_workers, report_queue_max;
} dst_opt_values;

extern dst_opt_values dst_o;
extern const beat_opt dst_opts[];

#endif
