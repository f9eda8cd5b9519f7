/* Declarative alert rules: a daemon lists its rules in a table (what to
 * read, how to judge it, warn/error thresholds) and beat_alert_rules_start()
 * evaluates them on a timer thread of its own, reporting each to beat_alert
 * (which posts changes to the webhook). Inputs are read through callbacks
 * that must be thread-safe and cheap (atomics: counters, gauges), so the
 * evaluator never takes the daemon's locks or waits on its work. */
#ifndef BEAT_ALERT_RULES_H
#define BEAT_ALERT_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_alert.h"
#include "beat_cfg.h"
#include "beat_metrics.h"

typedef enum {
    /* value() as is (an age in s, a fill level in %). NaN or < 0 = unknown:
     * the rule does not fire. */
    BEAT_RULE_VALUE,
    /* 100 * growth of value() / growth of total() over window_ms, in %
     * (a drop rate from two counters). With total_is_rest, total() counts
     * the other outcomes and the denominator is value + total. Fewer than
     * min_events in the window: does not fire. */
    BEAT_RULE_RATIO,
    /* Seconds since value() (a counter: heartbeats) last changed; since the
     * start while it never did. */
    BEAT_RULE_SILENT,
    /* Seconds a peer has been failing: it starts when value() (a failure
     * counter) grows, lasts while it keeps growing at least once per
     * window_ms, and ends at once when total() (a success counter, may be
     * NULL) grows. Only calls that are made can fail: a link used rarely
     * needs a window longer than its call period. */
    BEAT_RULE_FAILING,
} beat_rule_kind;

typedef double (*beat_rule_fn)(void *arg);

typedef struct beat_alert_rule {
    const char *name; /* rule id [a-z0-9_]{1,63}, e.g. "supervisor_unreachable" */
    const char *what; /* subject of the message, e.g. "supervisor http://h:8083 failing" */
    const char *unit; /* of the judged value: "s" or "%" */
    beat_rule_kind kind;
    beat_rule_fn value;
    void *value_arg;
    beat_rule_fn total; /* RATIO: denominator; FAILING: successes (optional) */
    void *total_arg;
    bool total_is_rest;
    double warn, error; /* fires at value >= threshold; <= 0 = that level off */
    int64_t window_ms;  /* RATIO (0 = 60000), FAILING (0 = 10000) */
    double min_events;  /* RATIO: 0 = 20 */
} beat_alert_rule;

/* Input callbacks for registry metrics; arg is the beat_counter/beat_gauge
 * (NULL reads as NaN). */
double beat_alert_counter_fn(void *counter);
double beat_alert_gauge_fn(void *gauge);

typedef struct beat_alert_rules beat_alert_rules;

/* Copies the n rules (strings included) and, when eval_ms > 0, starts a
 * thread evaluating them every eval_ms; eval_ms 0 = no thread, the caller
 * calls beat_alert_rules_tick (tests). Borrows a (must outlive the
 * result). Returns NULL on a bad rule (logged) or OOM; the caller owns the
 * result: beat_alert_rules_stop. */
beat_alert_rules *beat_alert_rules_start(beat_alert *a, const beat_alert_rule *rules, int n,
                                         int64_t eval_ms);
/* Evaluates every rule once as of now_ms (monotonic ms). Not thread-safe
 * against the evaluator thread: use one or the other. */
void beat_alert_rules_tick(beat_alert_rules *r, int64_t now_ms);
/* Last judged value of rule i (NaN before the first tick). */
double beat_alert_rules_value(beat_alert_rules *r, int i);
/* Stops and joins the thread (at most one eval period); NULL is a no-op. */
void beat_alert_rules_stop(beat_alert_rules *r);

/* The alert knobs every daemon shares (env twins are the same everywhere,
 * so one environment tunes the whole engine). */
typedef struct beat_alert_opts {
    char *webhook;
    int64_t interval_ms, eval_ms;
    double peer_warn_s, peer_error_s, drop_warn_pct, drop_error_pct;
} beat_alert_opts;

/* clang-format off */
#define BEAT_ALERT_OPTS(o)                                                                       \
    {.name = "alert-webhook", .env = "BEAT_ALERT_WEBHOOK",                                       \
     .type = BEAT_OPT_STR, .dst = &(o)->webhook,                                                 \
     .help = "Slack-compatible webhook URL for alerts (empty = alerts are only logged and "      \
             "shown as beat_alert_firing)",                                                      \
     .secret = true},                                                                            \
    {.name = "alert-interval-ms", .env = "BEAT_ALERT_INTERVAL_MS",                               \
     .type = BEAT_OPT_INT, .dst = &(o)->interval_ms, .def = "60000", .min = 10, .max = 86400000, \
     .help = "an alert rule posts to the webhook at most this often"},                           \
    {.name = "alert-eval-ms", .env = "BEAT_ALERT_EVAL_MS",                                       \
     .type = BEAT_OPT_INT, .dst = &(o)->eval_ms, .def = "1000", .min = 50, .max = 600000,        \
     .help = "alert rules are evaluated this often"},                                            \
    {.name = "alert-peer-warn-s", .env = "BEAT_ALERT_PEER_WARN_S",                               \
     .type = BEAT_OPT_DBL, .dst = &(o)->peer_warn_s, .def = "30", .min = 0, .max = 1e7,          \
     .help = "warn when a peer has been unreachable this long (0 = off)"},                       \
    {.name = "alert-peer-error-s", .env = "BEAT_ALERT_PEER_ERROR_S",                             \
     .type = BEAT_OPT_DBL, .dst = &(o)->peer_error_s, .def = "300", .min = 0, .max = 1e7,        \
     .help = "error when a peer has been unreachable this long (0 = off)"},                      \
    {.name = "alert-drop-warn-pct", .env = "BEAT_ALERT_DROP_WARN_PCT",                           \
     .type = BEAT_OPT_DBL, .dst = &(o)->drop_warn_pct, .def = "1", .min = 0, .max = 100,         \
     .help = "warn when this % of events were dropped over the last minute (0 = off)"},          \
    {.name = "alert-drop-error-pct", .env = "BEAT_ALERT_DROP_ERROR_PCT",                         \
     .type = BEAT_OPT_DBL, .dst = &(o)->drop_error_pct, .def = "10", .min = 0, .max = 100,       \
     .help = "error when this % of events were dropped over the last minute (0 = off)"}
/* clang-format on */

/* beat_alert_new with these knobs (source = instance name). NULL on OOM. */
beat_alert *beat_alert_opts_new(const beat_alert_opts *o, const char *source);
/* The usual wiring in one call: beat_alert_opts_new + beat_alert_rules_start
 * with o->eval_ms; the result owns the beat_alert. NULL (logged as
 * "alerts_unavailable") on a bad rule or OOM: the daemon runs on without
 * alerts. Free with beat_alert_rules_end. */
beat_alert_rules *beat_alert_rules_run(const beat_alert_opts *o, const char *source,
                                       const beat_alert_rule *rules, int n);
/* The peer rules of a puller (actuator, lighttrainer), with the knobs' peer
 * thresholds: supervisor_unreachable and datastream_<i>_unreachable (i from
 * 1), FAILING on the beat_<daemon>_link_failures_total{peer=...} counters
 * that beat_pull_peer_init registers for the same URLs. sup_ok (may be NULL)
 * counts successful supervisor calls; the windows must exceed each link's
 * call period. Started as beat_alert_rules_run; NULL if not started. */
beat_alert_rules *beat_alert_pull_rules_run(const beat_alert_opts *o, const char *source,
                                            const char *daemon, const char *supervisor,
                                            beat_counter *sup_ok, int64_t sup_window_ms,
                                            const beat_strlist *datastreams, int64_t ds_window_ms);
/* Stops the rules, then flushes (at most 2 s) and frees the beat_alert the
 * result owns (if any). NULL is a no-op. */
void beat_alert_rules_end(beat_alert_rules *r);

#endif
