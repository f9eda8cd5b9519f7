/* beat-datastream's alert rules (alerts.c), started by main.c once the
 * stream has registered its counters. */
#ifndef DST_ALERTS_H
#define DST_ALERTS_H

#include <stdatomic.h>
#include <stdint.h>

#include "beat_alert_rules.h"
#include "beat_metrics.h"

typedef struct dst_alerts_cfg {
    const char *brokers;            /* for the rules' wording */
    int64_t max_keys;               /* --dedup-max-keys */
    double fill_warn_pct;           /* --alert-store-fill-warn-pct */
    const beat_alert_opts *opts;    /* the shared --alert-* flags */
    beat_counter *consumed;         /* Kafka messages consumed: the drop rate's total */
    _Atomic int64_t *last_reset_ms; /* mono ms of the latest log loss (offset reset,
                                       replaced log); 0 = none */
} dst_alerts_cfg;

/* After dst_stream_new: the stream registered the counters looked up here
 * (registering a name again returns the existing metric). c is read during
 * the call; consumed and last_reset_ms must outlive the rules. NULL if the
 * rules cannot start. */
beat_alert_rules *dst_alerts_start(beat_alert *a, const dst_alerts_cfg *c);

#endif
