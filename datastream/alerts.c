/* beat-datastream's alert rules: what the evaluator thread watches (Kafka
 * reachability, events dropped, the dedup store filling or refused, a
 * broker that lost its log). Reads registry atomics only. */
#include "alerts.h"

#include <stdatomic.h>
#include <stdio.h>

#include "beat_kafka.h"
#include "beat_util.h"

static struct {
    beat_counter *lost[3]; /* invalid, evicted, campaign overflow */
    beat_gauge *fill, *refused;
} A;

/* The fullest partition store, in % of --dedup-max-keys. */
static double a_fill_pct(void *arg) {
    (void)arg;
    return 100.0 * beat_alert_gauge_fn(A.fill);
}

/* 1 for 10 minutes after an offset fell out of range or a partition's log
 * was found replaced (the broker lost the log we were reading: what it held
 * and we had not read is gone). arg: the consumer's _Atomic int64_t of the
 * latest such time (mono ms). */
static double a_log_lost(void *arg) {
    int64_t t = atomic_load((_Atomic int64_t *)arg);
    return t && beat_mono_ms() - t < 600000 ? 1 : 0;
}

static double a_lost(void *arg) {
    (void)arg;
    double n = 0;
    for (int i = 0; i < 3; i++) n += beat_alert_counter_fn(A.lost[i]);
    return n;
}

beat_alert_rules *dst_alerts_start(beat_alert *a, const dst_alerts_cfg *c) {
    A.lost[0] = beat_counter_new("beat_datastream_invalid_events_total",
                                 "Messages that are not valid events (dropped).");
    A.lost[1] = beat_counter_new("beat_datastream_evicted_total",
                                 "Join entries dropped early: --max-open-auctions reached.");
    A.lost[2] = beat_counter_new("beat_datastream_campaign_overflow_total",
                                 "Aggregate updates dropped: too many campaigns in a bucket.");
    A.fill = beat_gauge_new("beat_datastream_store_fill_ratio",
                            "Fullest open partition store: keys / --dedup-max-keys.");
    A.refused = beat_gauge_new("beat_datastream_store_refused_partitions",
                               "Assigned partitions not consumed: their store cannot be "
                               "opened or written (retried).");
    char what[300], fill_what[160], lost_what[300];
    snprintf(what, sizeof what, "Kafka %s unreachable", c->brokers);
    snprintf(fill_what, sizeof fill_what,
             "dedup store full (of --dedup-max-keys %lld per partition)", (long long)c->max_keys);
    snprintf(lost_what, sizeof lost_what,
             "Kafka %s lost the log being read (offset out of range, or a new log "
             "reusing its offsets): resumed at the log's start",
             c->brokers);
    beat_alert_rule rules[] = {
        BEAT_KAFKA_UNREACHABLE_RULE(what, c->opts),
        {.name = "event_drop_rate",
         .what = "events dropped (invalid, join table full, too many campaigns)",
         .unit = "%",
         .kind = BEAT_RULE_RATIO,
         .value = a_lost,
         .total = beat_alert_counter_fn,
         .total_arg = c->consumed,
         .warn = c->opts->drop_warn_pct,
         .error = c->opts->drop_error_pct},
        {.name = "dedup_store_full",
         .what = fill_what,
         .unit = "%",
         .kind = BEAT_RULE_VALUE,
         .value = a_fill_pct,
         .warn = c->fill_warn_pct,
         .error = 100},
        {.name = "dedup_store_refused",
         .what = "partitions not consumed: their dedup store cannot be used",
         .unit = "",
         .kind = BEAT_RULE_VALUE,
         .value = beat_alert_gauge_fn,
         .value_arg = A.refused,
         .error = 1},
        {.name = "kafka_log_lost",
         .what = lost_what,
         .unit = "",
         .kind = BEAT_RULE_VALUE,
         .value = a_log_lost,
         .value_arg = c->last_reset_ms,
         .warn = 1},
    };
    return beat_alert_rules_start(a, rules, (int)(sizeof rules / sizeof rules[0]),
                                  c->opts->eval_ms);
}
