/* Alerts to a Slack-compatible webhook (BEAT_ALERT_WEBHOOK). Rules are
 * evaluated by beat_alert_rules.h (declarative tables, a timer thread) or by
 * the daemon's own code (event-driven ones), each reporting with
 * beat_alert_set(); this module turns changes into posts: one when a rule
 * starts firing (or escalates), a "resolved" one when it clears, optional
 * reminders while it keeps firing. Posts go out on a sender thread through a
 * bounded queue: beat_alert_set() never does I/O and never waits for the
 * network; a full queue or a failed post drops the message and counts it.
 * Metrics: beat_alerts_sent_total, beat_alerts_dropped_total,
 * beat_alert_firing{rule="..."} (1 while firing). */
#ifndef BEAT_ALERT_H
#define BEAT_ALERT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    BEAT_ALERT_WARN = 1,
    BEAT_ALERT_ERROR = 2,
} beat_alert_level;

typedef struct beat_alert_cfg {
    /* Who speaks: the text reads "[WARN] beat/<source> <rule>: <message>".
     * Usually the instance name ("actuator-1"). Copied. */
    const char *source;
    /* Webhook URL; NULL = getenv("BEAT_ALERT_WEBHOOK"). Empty = no posts
     * (rules and the firing gauges are still tracked). Copied. */
    const char *webhook;
    /* A rule posts at most once per min_interval_ms: state changes inside
     * it are coalesced and the rule's state at the end of the interval is
     * posted then (on the next beat_alert_set of that rule). 0 = 60000. */
    int64_t min_interval_ms;
    /* While a rule keeps firing, re-post it this often; 0 = never. */
    int64_t repeat_ms;
    int queue_max;   /* messages waiting for the sender; 0 = 64 */
    long timeout_ms; /* whole POST, connect included; 0 = 3000 */
} beat_alert_cfg;

typedef struct beat_alert beat_alert;

/* Starts the sender thread (only when a webhook is set). Returns NULL on a
 * bad cfg (no source) or OOM. Caller owns the result: beat_alert_free. */
beat_alert *beat_alert_new(const beat_alert_cfg *cfg);
/* Stops the sender: messages still queued are dropped (and counted); waits
 * at most the current post's timeout. NULL is a no-op. */
void beat_alert_free(beat_alert *a);

/* Reports rule's state for this tick; thread-safe, never blocks on I/O.
 * rule: [a-z0-9_]{1,63}; message: why (copied, truncated to 400 bytes),
 * used in the firing post and repeated in the resolved one.
 * Returns 0, -EINVAL (bad rule/level) or -ENOSPC (more than 64 rules). */
int beat_alert_set(beat_alert *a, const char *rule, beat_alert_level level, bool firing,
                   const char *message);

/* True while rule is firing (as last reported). */
bool beat_alert_firing(beat_alert *a, const char *rule);
/* The level rule fires at (BEAT_ALERT_WARN/ERROR), 0 while clear or unknown. */
int beat_alert_level_of(beat_alert *a, const char *rule);

/* This instance's posts that reached the webhook with a 2xx, and messages
 * dropped (queue full, failed post, or left queued at free). */
void beat_alert_stats(beat_alert *a, uint64_t *sent, uint64_t *dropped);

/* Waits until the queue is empty and no post is in flight, at most
 * timeout_ms; true if it got there. For tests and graceful stops. */
bool beat_alert_flush(beat_alert *a, int64_t timeout_ms);

#endif
