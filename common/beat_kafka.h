/* librdkafka helpers with the weak-link behaviour of docs/architecture.md
 * "Every link is weak" and docs/contracts.md "Events on Kafka":
 * producer: acks=1, no blocking retries, bounded local queue; a full queue
 * drops the message and counts it (the caller's HTTP answer never waits).
 * consumer: high-level group consumer; the caller may choose where each
 * assigned partition starts (datastream: from its store), pause and resume
 * partitions, and commits what it processed (beat_kconsumer_commit); a
 * partition without a start of its own begins at the group's committed
 * offset, else at the log's start (auto.offset.reset=earliest), and an
 * offset that fell out of range (the broker lost its log: a dev broker
 * restart, docs/architecture.md "Library facts") resumes at the log's
 * start, counted and logged.
 * librdkafka's own log lines are routed into beat_log (ev "kafka_log").
 * Implementation: beat_kafka.c (producer, shared conf) and
 * beat_kconsumer.c (consumer). */
#ifndef BEAT_KAFKA_H
#define BEAT_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

/* Applies NULL-terminated key/value pairs ("k1","v1","k2","v2",NULL) to a
 * conf; returns 0 or -EINVAL with librdkafka's message in err. */
int beat_kafka_conf_set(rd_kafka_conf_t *conf, const char *const *kv, char *err, size_t err_len);

/* A new conf with the settings every client shares (reconnect backoff,
 * statistics.interval.ms 2000), then defaults, then extra_kv (may be NULL)
 * applied (pairs as beat_kafka_conf_set), and librdkafka's logs, errors
 * and statistics routed
 * (beat_kafka_route_logs, beat_kafka_route_stats): the common start of the
 * producer and the consumer. NULL on a bad property, with librdkafka's
 * message in err made one logfmt value. The caller owns the conf until
 * rd_kafka_new takes it. */
rd_kafka_conf_t *beat_kafka_conf_new(const char *const *defaults, const char *const *extra_kv,
                                     char *err, size_t err_len);

/* Copies src (NULL: "") into dst (n bytes) as one logfmt value: quotes and
 * backslashes become ', control characters spaces. dst may be src. */
void beat_kafka_log_safe(char *dst, size_t n, const char *src);
/* One librdkafka log line as beat_log "kafka_log": syslog levels up to 4
 * (warning) warn, up to 6 info, the rest debug; rate-limited per level.
 * client (NULL: no field) names the client. Any thread. */
void beat_kafka_log_line(const char *client, int level, const char *fac, const char *buf);

/* Routes librdkafka's log lines into beat_log (ev "kafka_log", rate-limited
 * per level) and its error callback into a rate-limited warn "kafka_error".
 * Sets log_cb and error_cb on conf; call before rd_kafka_new(). Used by the
 * producer, the consumer and beat-kafka-dev. */
void beat_kafka_route_logs(rd_kafka_conf_t *conf);

/* Turns librdkafka's statistics (every statistics.interval.ms; the
 * beat_kafka_conf_new sets 2000) into process-wide metrics:
 * beat_kafka_brokers_up, beat_kafka_unreachable_seconds,
 * beat_kafka_queue_messages, beat_kafka_consumer_lag_messages,
 * beat_kafka_broker_rtt_seconds{broker}, beat_kafka_broker_errors_total{kind}.
 * Sets stats_cb on conf; call before rd_kafka_new(). One Kafka client per
 * process is assumed (the numbers of several would mix). */
void beat_kafka_route_stats(rd_kafka_conf_t *conf);
/* Seconds since the statistics last showed a broker UP (since the first
 * beat_kafka_route_stats while none ever was); 0 while one is, and before
 * the first statistics arrive. Thread-safe. */
double beat_kafka_unreachable_s(void);
/* The same as an alert-rule input (beat_rule_fn shape; arg unused). */
double beat_kafka_unreachable_fn(void *arg);
/* The "Kafka unreachable" alert rule (a beat_alert_rule initializer,
 * beat_alert_rules.h) every daemon that talks to Kafka raises: what_ names
 * the brokers, the thresholds are the daemon's --alert-peer-* options
 * (opts_ points to its beat_alert_opts). */
#define BEAT_KAFKA_UNREACHABLE_RULE(what_, opts_)                                                  \
    {                                                                                              \
        .name = "kafka_unreachable", .what = (what_), .unit = "s", .kind = BEAT_RULE_VALUE,        \
        .value = beat_kafka_unreachable_fn, .warn = (opts_)->peer_warn_s,                          \
        .error = (opts_)->peer_error_s                                                             \
    }

typedef struct beat_kproducer beat_kproducer;
typedef struct beat_kproducer_stats {
    uint64_t sent;            /* accepted into the local queue */
    uint64_t delivered;       /* acked by the broker */
    uint64_t dropped;         /* refused: local queue full */
    uint64_t delivery_errors; /* failed after leaving the queue */
    int64_t queued;           /* messages in the local queue now (sent, not yet
                                 delivered or failed) */
} beat_kproducer_stats;

/* queue_max: messages held locally (queue.buffering.max.messages).
 * extra_kv: more librdkafka properties, may be NULL. Starts a thread that
 * serves delivery reports. Returns NULL (reason logged as
 * "kafka_producer_failed") on bad config. */
beat_kproducer *beat_kproducer_new(const char *brokers, const char *topic, int64_t queue_max,
                                   const char *const *extra_kv);
/* Copies key and value; never blocks. 0, or -ENOBUFS (dropped, counted). */
int beat_kproducer_send(beat_kproducer *p, const void *key, size_t key_len, const void *val,
                        size_t val_len);
/* As beat_kproducer_send, into an explicit partition (the receiver's
 * heartbeats go to every partition). counted=false: the message moves none
 * of the stats below (the caller counts it; it still takes a queue slot). */
int beat_kproducer_send_to(beat_kproducer *p, int32_t partition, const void *key, size_t key_len,
                           const void *val, size_t val_len, bool counted);
/* The topic's partition count from the broker's metadata, waiting at most
 * timeout_ms (so never on an event loop). > 0, or a negative errno
 * (-ETIMEDOUT, -ENOENT: no such topic, -EIO). */
int beat_kproducer_partitions(beat_kproducer *p, int timeout_ms);
void beat_kproducer_get_stats(beat_kproducer *p, beat_kproducer_stats *out);
/* Messages in the local queue now (waiting or in flight, their delivery
 * report not served yet); thread-safe. */
int64_t beat_kproducer_queued(beat_kproducer *p);
/* Waits up to flush_ms for in-flight messages, then destroys. NULL no-op. */
void beat_kproducer_free(beat_kproducer *p, int flush_ms);

typedef struct beat_kconsumer beat_kconsumer;

/* Start positions the rebalance fn may set for an assigned partition,
 * beside an offset >= 0: */
#define BEAT_KC_START_DEFAULT (-1001) /* committed offset, else auto.offset.reset */
#define BEAT_KC_START_BEGINNING (-2)  /* the log's start */
#define BEAT_KC_START_END (-1)        /* the log's end (only what comes next) */
#define BEAT_KC_START_PAUSED (-3000)  /* assigned but not read: beat_kconsumer_resume */

/* Called on the polling thread when partitions are assigned (revoked=false)
 * or revoked (revoked=true), before the change takes effect. On assign,
 * start[i] (n entries, all BEAT_KC_START_DEFAULT on entry) may be set to
 * where partitions[i] starts; start is NULL on revoke. */
typedef void (*beat_kconsumer_rebalance_fn)(void *arg, bool revoked, const int32_t *partitions,
                                            int n, int64_t *start);
typedef struct beat_kconsumer_stats {
    uint64_t consumed;
    uint64_t errors;
    uint64_t offset_resets; /* OFFSET_OUT_OF_RANGE: resumed at the log's start */
    uint64_t log_replaced;  /* a mark did not match: read again from the log's start */
    uint64_t log_verified;  /* a mark was read again and matched */
    uint64_t rebalances;
    int32_t assigned; /* partitions currently assigned */
} beat_kconsumer_stats;

/* The last message read of a partition: its offset, Kafka timestamp and a
 * hash of its key and value. A log that a broker lost and began again from
 * offset 0 (a restarted dev broker, an unclean election) may have grown
 * past the offset we stored before we read it again; an offset alone
 * cannot tell the new log from the old, the message at it can. */
typedef struct beat_kc_mark {
    int64_t offset; /* -1 = no mark */
    int64_t ts_ms;
    uint64_t hash;
} beat_kc_mark;
void beat_kc_mark_of(const rd_kafka_message_t *m, beat_kc_mark *out);

beat_kconsumer *beat_kconsumer_new(const char *brokers, const char *group, const char *topic,
                                   beat_kconsumer_rebalance_fn fn, void *arg,
                                   const char *const *extra_kv);
/* Fills msgs with up to max messages (waiting at most timeout_ms). Returns
 * the count (0 on timeout). Caller frees each with
 * rd_kafka_message_destroy(). Errors from the broker are counted and logged
 * rate-limited, never returned as messages. Never hands out a message of a
 * partition that is paused, not assigned, or was reassigned during the
 * call (it is fetched again from the new start). */
int beat_kconsumer_poll(beat_kconsumer *c, rd_kafka_message_t **msgs, int max, int timeout_ms);
/* Commits next[i] as partitions[i]'s offset (async): what monitoring reads
 * as the group's position, and where a member without a start of its own
 * resumes. Also committed (synchronously, ≤ 1 s) when the partitions are
 * revoked. */
void beat_kconsumer_commit(beat_kconsumer *c, const int32_t *partitions, const int64_t *next,
                           int n);
/* Stops reading an assigned partition (what was fetched is dropped) until
 * beat_kconsumer_resume. 0, -ENOENT (not assigned) or -EIO. */
int beat_kconsumer_pause(beat_kconsumer *c, int32_t partition);
/* Resumes a paused partition at offset (>= 0, BEAT_KC_START_BEGINNING or
 * BEAT_KC_START_END); waits at most 1 s for the seek. 0, -ENOENT or -EIO
 * (still paused). */
int beat_kconsumer_resume(beat_kconsumer *c, int32_t partition, int64_t offset);
/* Log identity checks. The caller names the message it last processed of
 * a partition (its store's mark): when the partition is next assigned (call
 * this from the rebalance fn) or resumed at mark->offset + 1, the consumer
 * reads mark->offset again first and compares. The same check runs on its
 * own after the consumer saw a broker error (connection lost: the broker
 * may have come back with another log), against the last message handed
 * out. A match is dropped (already processed) and reading goes on; a
 * mismatch, or the log now being shorter, means the log was replaced:
 * counted (log_replaced), logged (kafka_log_replaced) and read again from
 * its start, never skipped. Nothing after the mark is handed out before
 * the check is done. 0 or -ENOENT (partition out of range). */
int beat_kconsumer_expect(beat_kconsumer *c, int32_t partition, const beat_kc_mark *mark);
void beat_kconsumer_get_stats(beat_kconsumer *c, beat_kconsumer_stats *out);
void beat_kconsumer_free(beat_kconsumer *c); /* leaves the group; NULL no-op */

#endif
