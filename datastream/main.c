/* beat-datastream: consumes the event topic in a consumer group, joins bids
 * with their notices, and serves per-campaign aggregates (actuator) and
 * labelled training samples (lighttrainer) over HTTP (docs/contracts.md).
 * main wires flags, the consumer thread (poll → stream.c) and the libevent
 * HTTP thread (api.c). Kafka being down is never fatal: the consumer keeps
 * retrying and the HTTP side keeps serving what it has. */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_http.h"
#include "beat_kafka.h"
#include "beat_log.h"
#include "beat_loop.h"
#include "beat_metrics.h"
#include "beat_util.h"
#include "stream.h"

#define POLL_BATCH 1024
#define POLL_MS 100
#define PARTS_MAX 1024

static char *o_listen, *o_brokers, *o_topic, *o_group, *o_name, *o_level,
    *o_start_from;
static int64_t o_bucket_ms, o_buckets_max, o_window_ms, o_max_open,
    o_samples_max, o_max_campaigns;
static double o_neg_rate;
static beat_strlist o_kafka_opts;
static beat_alert_opts o_alert;

static const beat_opt OPTS[] = {
    {"listen", "BEAT_DATASTREAM_LISTEN", BEAT_OPT_STR, &o_listen,
     "127.0.0.1:8082", 0, -1,
     "HTTP address (/v1/aggregates, /v1/samples, /healthz, /metrics)", false},
    {"kafka-brokers", "BEAT_KAFKA_BROKERS", BEAT_OPT_STR, &o_brokers,
     "127.0.0.1:9092", 0, -1, "Kafka bootstrap servers (comma list)", false},
    {"topic", "BEAT_KAFKA_TOPIC", BEAT_OPT_STR, &o_topic, "beat.events", 0, -1,
     "Kafka topic of events", false},
    {"kafka-opt", "BEAT_DATASTREAM_KAFKA_OPTS", BEAT_OPT_STRLIST, &o_kafka_opts,
     NULL, 0, -1,
     "extra librdkafka consumer property KEY=VALUE (repeatable; env: comma "
     "list), e.g. session.timeout.ms=6000 or security settings", false},
    {"group", "BEAT_DATASTREAM_GROUP", BEAT_OPT_STR, &o_group,
     "beat-datastream", 0, -1,
     "Kafka consumer group (instances in one group split the partitions)",
     false},
    {"start-from", "BEAT_DATASTREAM_START", BEAT_OPT_STR, &o_start_from, "end",
     0, -1,
     "where a group with no committed offset starts: end (only new events) "
     "or beginning (replay the retained log, e.g. for benchmarks)", false},
    {"bucket-ms", "BEAT_DATASTREAM_BUCKET_MS", BEAT_OPT_INT, &o_bucket_ms,
     "1000", 10, 3600000, "aggregate bucket length (processing time)", false},
    {"buckets-max", "BEAT_DATASTREAM_BUCKETS_MAX", BEAT_OPT_INT, &o_buckets_max,
     "3600", 1, 1000000, "closed buckets kept for readers", false},
    {"join-window-ms", "BEAT_DATASTREAM_JOIN_WINDOW_MS", BEAT_OPT_INT,
     &o_window_ms, "30000", 10, 86400000,
     "how long an auction stays open for joining, from first sight", false},
    {"max-open-auctions", "BEAT_DATASTREAM_MAX_OPEN_AUCTIONS", BEAT_OPT_INT,
     &o_max_open, "200000", 1, 100000000,
     "open join entries; beyond it the oldest is dropped and counted", false},
    {"neg-rate", "BEAT_DATASTREAM_NEG_RATE", BEAT_OPT_DBL, &o_neg_rate, "0.1",
     1e-6, 1,
     "probability of keeping a negative sample (kept ones weigh 1/rate)",
     false},
    {"samples-max", "BEAT_DATASTREAM_SAMPLES_MAX", BEAT_OPT_INT, &o_samples_max,
     "200000", 1, 100000000, "samples kept in the ring for readers", false},
    {"max-campaigns", "BEAT_DATASTREAM_MAX_CAMPAIGNS", BEAT_OPT_INT,
     &o_max_campaigns, "10000", 1, 1000000,
     "campaigns per bucket; updates beyond it are dropped and counted", false},
    BEAT_ALERT_OPTS(&o_alert),
    {"name", "BEAT_DATASTREAM_NAME", BEAT_OPT_STR, &o_name, "datastream-1", 0,
     -1, "instance name (in answers as \"instance\")", false},
    {"log-level", "BEAT_LOG_LEVEL", BEAT_OPT_STR, &o_level, "info", 0, -1,
     "debug|info|warn|error", false},
    BEAT_OPT_END,
};

/* Shared between the consumer thread (writes) and the HTTP thread (health). */
static struct {
    dst_stream *stream;
    beat_kconsumer *kc;
    uint64_t epoch;
    pthread_mutex_t mu; /* guards parts/n_parts/joined */
    int32_t parts[PARTS_MAX];
    int n_parts;
    bool joined;
    _Atomic int64_t open_auctions;
} D = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Rebalance (consumer thread, inside poll): revoked partitions' join state
 * is dropped before they move, so nothing half-joined lingers here. */
static void on_rebalance(void *arg, bool revoked, const int32_t *p, int n) {
    (void)arg;
    if (revoked) dst_stream_revoke(D.stream, p, n, beat_now_ms());
    pthread_mutex_lock(&D.mu);
    D.joined = true;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < D.n_parts && D.parts[k] != p[i]) k++;
        if (revoked && k < D.n_parts) D.parts[k] = D.parts[--D.n_parts];
        else if (!revoked && k == D.n_parts && D.n_parts < PARTS_MAX)
            D.parts[D.n_parts++] = p[i];
    }
    pthread_mutex_unlock(&D.mu);
}

/* Kafka counters: the consumer keeps atomics; the consumer thread moves
 * their growth into registry counters so /metrics has real *_total. */
static struct {
    beat_counter *consumed, *errors, *resets, *rebalances;
    beat_kconsumer_stats last;
} K;

static void sync_kafka_metrics(void) {
    beat_kconsumer_stats k = {0};
    beat_kconsumer_get_stats(D.kc, &k);
    beat_counter_add(K.consumed, k.consumed - K.last.consumed);
    beat_counter_add(K.errors, k.errors - K.last.errors);
    beat_counter_add(K.resets, k.offset_resets - K.last.offset_resets);
    beat_counter_add(K.rebalances, k.rebalances - K.last.rebalances);
    K.last = k;
}

static void log_stats(void) {
    const dst_stream_stats *s = dst_stream_stats_get(D.stream);
    beat_kconsumer_stats k = {0};
    beat_kconsumer_get_stats(D.kc, &k);
    beat_log(BEAT_INFO, "stats",
             "consumed=%llu bids=%llu wins=%llu bills=%llu imps=%llu clicks=%llu "
             "invalid=%llu duplicates=%llu late=%llu open=%lld evicted=%llu "
             "samples_pos=%llu samples_neg=%llu unjoined=%llu last_seq=%llu "
             "assigned=%d kafka_errors=%llu offset_resets=%llu kafka_unreachable_s=%.0f",
             (unsigned long long)k.consumed,
             (unsigned long long)s->events[BEAT_EV_BID],
             (unsigned long long)s->events[BEAT_EV_WIN],
             (unsigned long long)s->events[BEAT_EV_BILL],
             (unsigned long long)s->events[BEAT_EV_IMP],
             (unsigned long long)s->events[BEAT_EV_CLICK],
             (unsigned long long)s->invalid, (unsigned long long)s->duplicates,
             (unsigned long long)s->late,
             (long long)dst_stream_open(D.stream), (unsigned long long)s->evicted,
             (unsigned long long)s->samples_pos, (unsigned long long)s->samples_neg,
             (unsigned long long)s->samples_unjoined,
             (unsigned long long)dst_buckets_last_seq(dst_stream_buckets(D.stream)),
             (int)k.assigned, (unsigned long long)k.errors,
             (unsigned long long)k.offset_resets, beat_kafka_unreachable_s());
}

static void *consumer_main(void *arg) {
    (void)arg;
    rd_kafka_message_t *msgs[POLL_BATCH];
    int64_t next_stats = beat_mono_ms() + 10000;
    while (!beat_stop_requested()) {
        int n = beat_kconsumer_poll(D.kc, msgs, POLL_BATCH, POLL_MS);
        int64_t now = beat_now_ms();
        for (int i = 0; i < n; i++) {
            beat_reason why = {{0}};
            if (dst_stream_apply_json(D.stream, msgs[i]->payload, msgs[i]->len,
                                      msgs[i]->partition, now, &why) != 0) {
                /* the reason may quote input: keep it one logfmt value */
                for (char *q = why.msg; *q; q++)
                    if (*q == '"' || *q == '\\') *q = '\'';
                beat_log_rl(5000, BEAT_WARN, "invalid_event",
                            "partition=%d offset=%lld reason=\"%s\"",
                            (int)msgs[i]->partition, (long long)msgs[i]->offset,
                            why.msg);
            }
            rd_kafka_message_destroy(msgs[i]);
        }
        dst_stream_tick(D.stream, now);
        atomic_store(&D.open_auctions, dst_stream_open(D.stream));
        sync_kafka_metrics();
        if (beat_mono_ms() >= next_stats) {
            next_stats += 10000;
            log_stats();
        }
    }
    return NULL;
}

static bool on_health(void *arg, beat_buf *detail) {
    (void)arg;
    pthread_mutex_lock(&D.mu);
    bool ready = D.joined;
    beat_buf_printf(detail, "\"name\":");
    beat_buf_json_str(detail, o_name, strlen(o_name));
    beat_buf_printf(detail, ",\"epoch\":\"%016llx\",\"partitions\":[",
                    (unsigned long long)D.epoch);
    for (int i = 0; i < D.n_parts; i++)
        beat_buf_printf(detail, "%s%d", i ? "," : "", (int)D.parts[i]);
    int np = D.n_parts;
    pthread_mutex_unlock(&D.mu);
    dst_buckets *b = dst_stream_buckets(D.stream);
    beat_buf_printf(detail,
                    "],\"assigned_partitions\":%d,\"open_auctions\":%lld,"
                    "\"first_seq\":%llu,\"last_seq\":%llu,\"samples_last_seq\":%llu",
                    np, (long long)atomic_load(&D.open_auctions),
                    (unsigned long long)dst_buckets_first_seq(b),
                    (unsigned long long)dst_buckets_last_seq(b),
                    (unsigned long long)dst_samples_last_seq(dst_stream_samples(D.stream)));
    return ready;
}

static double g_assigned(void *a) {
    (void)a;
    pthread_mutex_lock(&D.mu);
    int n = D.n_parts;
    pthread_mutex_unlock(&D.mu);
    return n;
}
static double g_last_seq(void *a) {
    (void)a;
    return (double)dst_buckets_last_seq(dst_stream_buckets(D.stream));
}

static void register_metrics(void) {
    K.consumed = beat_counter_new("beat_datastream_kafka_messages_total",
                                  "Kafka messages consumed (valid or not).");
    K.errors = beat_counter_new("beat_datastream_kafka_errors_total",
                                "Kafka consumer errors (transport, broker, commit).");
    K.resets = beat_counter_new("beat_datastream_offset_resets_total",
                                "Partitions reset to the log end after OFFSET_OUT_OF_RANGE.");
    K.rebalances = beat_counter_new("beat_datastream_rebalances_total",
                                    "Consumer-group rebalance callbacks (assign and revoke).");
    beat_gauge_fn_new("beat_datastream_assigned_partitions",
                      "Kafka partitions assigned to this instance.", g_assigned, NULL);
    beat_gauge_fn_new("beat_datastream_last_bucket_seq",
                      "Seq of the newest closed aggregate bucket.", g_last_seq, NULL);
}

/* ---- alert rules (evaluator thread: registry atomics only) -------------- */

static struct {
    beat_counter *lost[3]; /* invalid, evicted, campaign overflow */
} A;

static double a_lost(void *arg) {
    (void)arg;
    double n = 0;
    for (int i = 0; i < 3; i++) n += beat_alert_counter_fn(A.lost[i]);
    return n;
}

/* After dst_stream_new: the stream registered the counters looked up here
 * (registering a name again returns the existing metric). */
static beat_alert_rules *start_rules(beat_alert *a) {
    A.lost[0] = beat_counter_new("beat_datastream_invalid_events_total",
                                 "Messages that are not valid events (dropped).");
    A.lost[1] = beat_counter_new("beat_datastream_evicted_total",
                                 "Join entries dropped early: --max-open-auctions reached.");
    A.lost[2] = beat_counter_new("beat_datastream_campaign_overflow_total",
                                 "Aggregate updates dropped: too many campaigns in a bucket.");
    char what[300];
    snprintf(what, sizeof what, "Kafka %s unreachable", o_brokers);
    beat_alert_rule rules[] = {
        {.name = "kafka_unreachable", .what = what, .unit = "s", .kind = BEAT_RULE_VALUE,
         .value = beat_kafka_unreachable_fn, .warn = o_alert.peer_warn_s, .error = o_alert.peer_error_s},
        {.name = "event_drop_rate",
         .what = "events dropped (invalid, join table full, too many campaigns)",
         .unit = "%", .kind = BEAT_RULE_RATIO, .value = a_lost,
         .total = beat_alert_counter_fn, .total_arg = K.consumed,
         .warn = o_alert.drop_warn_pct, .error = o_alert.drop_error_pct},
    };
    return beat_alert_rules_start(a, rules, (int)(sizeof rules / sizeof rules[0]),
                                  o_alert.eval_ms);
}

static _Noreturn void die(const char *ev, const char *msg) {
    fprintf(stderr, "beat-datastream: %s\n", msg);
    beat_log(BEAT_FATAL, ev, "reason=\"%s\"", msg);
    exit(1);
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-datastream", "datastream",
                       "Joins bids with their notices from Kafka; serves per-campaign "
                       "aggregates and training samples over HTTP.",
                       OPTS, argc, argv, &o_level) != 0)
        return 64;
    if (!o_name[0] || strlen(o_name) > BEAT_ID_MAX) {
        fprintf(stderr, "beat-datastream: --name: must be 1..%d bytes\n", BEAT_ID_MAX);
        return 64;
    }
    beat_cfg_log(OPTS);
    beat_stop_install();

    D.epoch = beat_random_u64();
    dst_stream_cfg cfg = {
        .bucket_ms = o_bucket_ms, .buckets_max = o_buckets_max,
        .campaigns_max = o_max_campaigns, .join_window_ms = o_window_ms,
        .max_open = o_max_open, .samples_max = o_samples_max,
        .neg_rate = o_neg_rate, .seed = beat_random_u64(),
    };
    D.stream = dst_stream_new(&cfg, beat_now_ms());
    if (!D.stream) die("start_failed", "cannot allocate join table, buckets or samples");

    struct event_base *base = event_base_new();
    if (!base) die("start_failed", "event_base_new failed");
    int rc = 0;
    beat_http *http = beat_http_new(base, o_listen, 4096, false, &rc);
    if (!http) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot listen on %s: %s", o_listen, strerror(-rc));
        die("listen_failed", msg);
    }
    dst_api api = {.buckets = dst_stream_buckets(D.stream),
                   .samples = dst_stream_samples(D.stream),
                   .instance = o_name, .epoch = D.epoch};
    dst_api_install(http, &api);
    beat_http_set_health(http, on_health, NULL);
    register_metrics();

    bool from_start = strcmp(o_start_from, "beginning") == 0;
    if (!from_start && strcmp(o_start_from, "end") != 0) {
        fprintf(stderr, "beat-datastream: --start-from: expected beginning or end, "
                        "got \"%s\"\n", o_start_from);
        return 64;
    }
    /* --start-from first, then --kafka-opt KEY=VALUE (a later key wins) →
     * NULL-terminated key/value pairs */
    const char **kv = calloc((size_t)o_kafka_opts.n * 2 + 3, sizeof *kv);
    if (!kv) die("start_failed", "out of memory");
    int nkv = 0;
    kv[nkv++] = "auto.offset.reset";
    kv[nkv++] = from_start ? "earliest" : "latest";
    for (int i = 0; i < o_kafka_opts.n; i++) {
        char *eq = strchr(o_kafka_opts.v[i], '=');
        if (!eq || eq == o_kafka_opts.v[i]) {
            fprintf(stderr, "beat-datastream: --kafka-opt: expected KEY=VALUE, got \"%s\"\n",
                    o_kafka_opts.v[i]);
            return 64;
        }
        *eq = '\0';
        kv[nkv++] = o_kafka_opts.v[i];
        kv[nkv++] = eq + 1;
    }
    D.kc = beat_kconsumer_new(o_brokers, o_group, o_topic, on_rebalance, NULL, kv);
    free(kv);
    if (!D.kc) { /* only a bad property gets here: a config error */
        fprintf(stderr, "beat-datastream: cannot create the Kafka consumer (bad "
                        "--kafka-brokers/--group/--topic/--kafka-opt, see log)\n");
        beat_log(BEAT_FATAL, "kafka_config_invalid", "brokers=%s group=%s topic=%s",
                 o_brokers, o_group, o_topic);
        return 64;
    }
    beat_alert *alert = beat_alert_opts_new(&o_alert, o_name);
    beat_alert_rules *rules = alert ? start_rules(alert) : NULL;
    if (!rules) beat_log(BEAT_ERROR, "alerts_unavailable", "msg=\"alert rules not started\"");
    pthread_t thr;
    if (pthread_create(&thr, NULL, consumer_main, NULL) != 0)
        die("start_failed", "cannot start the consumer thread");

    beat_loop_timer *stop_ev = beat_loop_stop_watch(base);
    if (!stop_ev) die("start_failed", "event_new failed");
    beat_log(BEAT_INFO, "started",
             "name=%s listen=%s brokers=%s topic=%s group=%s epoch=%016llx",
             o_name, o_listen, o_brokers, o_topic, o_group,
             (unsigned long long)D.epoch);

    event_base_dispatch(base);

    beat_log(BEAT_INFO, "stopping", "name=%s", o_name);
    beat_stop_request(); /* in case the loop ended for another reason */
    pthread_join(thr, NULL);
    beat_alert_rules_stop(rules);
    if (alert) beat_alert_flush(alert, 2000);
    beat_alert_free(alert);
    beat_loop_timer_free(stop_ev);
    beat_http_free(http);
    event_base_free(base);
    /* Leaves the group (the revoke callback runs here, the consumer thread
     * is gone); after HTTP, whose gauges read the consumer's stats. */
    beat_kconsumer_free(D.kc);
    D.kc = NULL;
    dst_stream_free(D.stream);
    beat_log(BEAT_INFO, "stopped", "name=%s", o_name);
    return 0;
}
