/* Kafka producer with the weak-link rules (docs/architecture.md "Every link
 * is weak", docs/contracts.md "Events on Kafka"), plus the conf and
 * log-routing helpers the consumer (beat_kconsumer.c) and beat-kafka-dev
 * share. The receiver calls beat_kproducer_send() on its HTTP and bid-log
 * threads: it must never block (no RD_KAFKA_MSG_F_BLOCK, no blocking retries)
 * and never wait for the broker; a full local queue drops+counts. */
#include "beat_kafka.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"

int beat_kafka_conf_set(rd_kafka_conf_t *conf, const char *const *kv, char *err, size_t err_len) {
    if (!conf) return -EINVAL;
    if (!kv) return 0;
    for (; kv[0]; kv += 2) {
        if (!kv[1]) {
            if (err && err_len) snprintf(err, err_len, "%s: missing value", kv[0]);
            return -EINVAL;
        }
        char e[512] = "";
        if (rd_kafka_conf_set(conf, kv[0], kv[1], e, sizeof e) != RD_KAFKA_CONF_OK) {
            if (err && err_len) snprintf(err, err_len, "%s: %s", kv[0], e);
            return -EINVAL;
        }
    }
    return 0;
}

/* beat_log's logfmt parser treats '"' as a quote: replace quotes and
 * backslashes and control characters so a librdkafka message always stays
 * one value. */
void beat_kafka_log_safe(char *dst, size_t n, const char *src) {
    size_t i = 0;
    for (; src && *src && i + 1 < n; src++) {
        unsigned char c = (unsigned char)*src;
        dst[i++] = (c == '"' || c == '\\') ? '\'' : (c < 0x20 ? ' ' : (char)c);
    }
    dst[i] = '\0';
}

/* Each level bucket has its own rate limiter so a storm of connection
 * warnings cannot hide the rare info line and vice versa. Broker trouble is
 * a weak-link condition, so syslog levels up to LOG_WARNING map to warn. */
void beat_kafka_log_line(const char *client, int level, const char *fac, const char *buf) {
    char msg[512], f[64], cl[160] = "";
    beat_kafka_log_safe(msg, sizeof msg, buf);
    beat_kafka_log_safe(f, sizeof f, fac);
    if (client) snprintf(cl, sizeof cl, "client=%s ", client);
    if (level <= 4)
        beat_log_rl(1000, BEAT_WARN, "kafka_log", "fac=%s %ssyslog=%d msg=\"%s\"", f, cl, level,
                    msg);
    else if (level <= 6)
        beat_log_rl(1000, BEAT_INFO, "kafka_log", "fac=%s %ssyslog=%d msg=\"%s\"", f, cl, level,
                    msg);
    else
        beat_log_rl(100, BEAT_DEBUG, "kafka_log", "fac=%s %ssyslog=%d msg=\"%s\"", f, cl, level,
                    msg);
}

/* librdkafka calls this from its own threads; beat_log is thread-safe. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    beat_kafka_log_line(rk ? rd_kafka_name(rk) : "", level, fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    char msg[512];
    beat_kafka_log_safe(msg, sizeof msg, reason);
    beat_log_rl(5000, BEAT_WARN, "kafka_error", "client=%s err=%s reason=\"%s\"",
                rk ? rd_kafka_name(rk) : "", rd_kafka_err2name((rd_kafka_resp_err_t)err), msg);
}

/* What the producer and the consumer both want, before their own defaults:
 * reconnect fast once the (dev) broker is back on its port, and statistics
 * every 2 s for beat_kafka_route_stats. */
static const char *const COMMON_KV[] = {
    "reconnect.backoff.ms",
    "100",
    "reconnect.backoff.max.ms",
    "1000",
    "statistics.interval.ms",
    "2000",
    NULL,
};

rd_kafka_conf_t *beat_kafka_conf_new(const char *const *defaults, const char *const *extra_kv,
                                     char *err, size_t err_len) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (beat_kafka_conf_set(conf, COMMON_KV, err, err_len) != 0 ||
        beat_kafka_conf_set(conf, defaults, err, err_len) != 0 ||
        beat_kafka_conf_set(conf, extra_kv, err, err_len) != 0) {
        beat_kafka_log_safe(err, err_len, err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    beat_kafka_route_logs(conf);
    beat_kafka_route_stats(conf);
    return conf;
}

void beat_kafka_route_logs(rd_kafka_conf_t *conf) {
    if (!conf) return;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
}

/* ---- statistics ------------------------------------------------------------- */

/* librdkafka's statistics JSON (STATISTICS.md) → metrics. Runs on the thread
 * that polls the client (the producer's poll thread, the consumer's poll
 * loop) every statistics.interval.ms; parsing a few KiB of JSON there is
 * cheap next to the interval. Only atomics are shared with readers. */
#define KS_BROKERS_MAX 32

static struct {
    pthread_once_t once;
    beat_gauge *up, *queue, *lag;
    beat_counter *errs[3]; /* tx, rx, timeout */
    double last_errs[3];
    pthread_mutex_t mu; /* rtt gauge table: the stats threads of several clients */
    int n_rtt;
    int32_t rtt_id[KS_BROKERS_MAX];
    beat_gauge *rtt[KS_BROKERS_MAX];
    _Atomic int64_t last_up_ms; /* monotonic; start while none was ever up */
    atomic_bool seen, up_now;
} KS = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER};

static double g_unreachable(void *arg) {
    (void)arg;
    return beat_kafka_unreachable_s();
}

double beat_kafka_unreachable_s(void) {
    if (!atomic_load(&KS.seen) || atomic_load(&KS.up_now)) return 0;
    return (double)(beat_mono_ms() - atomic_load(&KS.last_up_ms)) / 1000.0;
}

double beat_kafka_unreachable_fn(void *arg) {
    (void)arg;
    return beat_kafka_unreachable_s();
}

static void ks_init(void) {
    atomic_store(&KS.last_up_ms, beat_mono_ms());
    KS.up = beat_gauge_new("beat_kafka_brokers_up",
                           "Kafka brokers this client is connected to (state UP)");
    beat_gauge_fn_new("beat_kafka_unreachable_seconds",
                      "Seconds since a Kafka broker was last UP for this client (0 while one is)",
                      g_unreachable, NULL);
    KS.queue = beat_gauge_new("beat_kafka_queue_messages",
                              "Messages in librdkafka's local queues (producer: waiting "
                              "for delivery; consumer: prefetched)");
    KS.lag = beat_gauge_new("beat_kafka_consumer_lag_messages",
                            "Consumer lag summed over assigned partitions (0 for a producer)");
    static const char *const kinds[3] = {"tx", "rx", "timeout"};
    for (int i = 0; i < 3; i++) {
        char name[96];
        snprintf(name, sizeof name, "beat_kafka_broker_errors_total{kind=\"%s\"}", kinds[i]);
        KS.errs[i] = beat_counter_new(name, "Kafka request errors (transmit, receive, timeout)"
                                            " summed over brokers");
    }
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static beat_gauge *rtt_gauge(int32_t id) { /* under KS.mu */
    for (int i = 0; i < KS.n_rtt; i++)
        if (KS.rtt_id[i] == id) return KS.rtt[i];
    if (KS.n_rtt >= KS_BROKERS_MAX) return NULL;
    char name[96];
    snprintf(name, sizeof name, "beat_kafka_broker_rtt_seconds{broker=\"%d\"}", (int)id);
    beat_gauge *g = beat_gauge_new(name, "Average request round trip to a broker over the "
                                         "last statistics interval");
    if (g) {
        KS.rtt_id[KS.n_rtt] = id;
        KS.rtt[KS.n_rtt++] = g;
    }
    return g;
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    (void)rk;
    (void)opaque;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        beat_log_rl(60000, BEAT_WARN, "kafka_stats_invalid", "bytes=%zu", len);
        return 0;
    }
    int up = 0;
    double errs[3] = {0, 0, 0};
    const cJSON *b;
    pthread_mutex_lock(&KS.mu);
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(root, "brokers")) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(b, "state");
        bool is_up = cJSON_IsString(st) && strcmp(st->valuestring, "UP") == 0;
        up += is_up;
        errs[0] += num(b, "txerrs");
        errs[1] += num(b, "rxerrs");
        errs[2] += num(b, "req_timeouts");
        int32_t id = (int32_t)num(b, "nodeid");
        const cJSON *rtt = cJSON_GetObjectItemCaseSensitive(b, "rtt");
        if (id >= 0 && is_up && rtt) {
            beat_gauge *g = rtt_gauge(id);
            if (g) beat_gauge_set(g, num(rtt, "avg") / 1e6);
        }
    }
    for (int i = 0; i < 3; i++) {
        /* Totals restart when a broker object goes away: count growth only. */
        if (errs[i] > KS.last_errs[i])
            beat_counter_add(KS.errs[i], (uint64_t)(errs[i] - KS.last_errs[i]));
        KS.last_errs[i] = errs[i];
    }
    pthread_mutex_unlock(&KS.mu);
    double queued = 0, lag = 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    bool consumer = cJSON_IsString(type) && strcmp(type->valuestring, "consumer") == 0;
    if (!consumer) {
        queued = num(root, "msg_cnt");
    } else {
        const cJSON *t, *p;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root, "topics")) {
            cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(t, "partitions")) {
                if (num(p, "partition") < 0) continue; /* the internal UA partition */
                queued += num(p, "fetchq_cnt");
                double l = num(p, "consumer_lag");
                if (l > 0) lag += l;
            }
        }
    }
    cJSON_Delete(root);
    beat_gauge_set(KS.up, up);
    beat_gauge_set(KS.queue, queued);
    beat_gauge_set(KS.lag, lag);
    if (up > 0) atomic_store(&KS.last_up_ms, beat_mono_ms());
    atomic_store(&KS.up_now, up > 0);
    atomic_store(&KS.seen, true);
    return 0; /* librdkafka frees json */
}

void beat_kafka_route_stats(rd_kafka_conf_t *conf) {
    pthread_once(&KS.once, ks_init);
    if (conf) rd_kafka_conf_set_stats_cb(conf, stats_cb);
}

/* ---- producer --------------------------------------------------------------- */

struct beat_kproducer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    pthread_t thr;
    atomic_bool stop;
    _Atomic uint64_t sent, delivered, dropped, delivery_errors;
};

/* The opaque of messages sent aside (beat_kproducer_send_to, counted=false):
 * their delivery reports move no counter. */
static char aside_marker;

/* Runs on the polling thread (or in beat_kproducer_free's flush). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    beat_kproducer *p = opaque;
    if (m->_private == &aside_marker) {
        if (m->err)
            beat_log_rl(5000, BEAT_WARN, "kafka_delivery_failed", "err=%s aside=1",
                        rd_kafka_err2name(m->err));
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add_explicit(&p->delivered, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&p->delivery_errors, 1, memory_order_relaxed);
        beat_log_rl(5000, BEAT_WARN, "kafka_delivery_failed", "err=%s", rd_kafka_err2name(m->err));
    }
}

static void *poll_main(void *arg) {
    beat_kproducer *p = arg;
    while (!atomic_load(&p->stop)) rd_kafka_poll(p->rk, 100);
    return NULL;
}

beat_kproducer *beat_kproducer_new(const char *brokers, const char *topic, int64_t queue_max,
                                   const char *const *extra_kv) {
    char err[512] = "";
    if (!brokers || !*brokers || !topic || !*topic || queue_max < 1 || queue_max > INT32_MAX) {
        beat_log(BEAT_ERROR, "kafka_producer_failed",
                 "reason=\"brokers, topic and queue_max>0 are required\"");
        return NULL;
    }
    beat_kproducer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    char qmax[32], qkb[32];
    snprintf(qmax, sizeof qmax, "%lld", (long long)queue_max);
    /* Bound bytes too (librdkafka's default is 1 GiB): ~1 KiB per message
     * on average is generous for events (a few hundred bytes each). */
    int64_t kb = queue_max < 1024 ? 1024 : queue_max;
    if (kb > 2097151) kb = 2097151;
    snprintf(qkb, sizeof qkb, "%lld", (long long)kb);
    const char *defaults[] = {
        "bootstrap.servers",
        brokers,
        "acks",
        "1",
        "enable.idempotence",
        "false",
        /* A couple of internal retries for transient broker errors (leader
         * moves, a broker restart); they never block the caller and may
         * duplicate, which datastream dedups by (auction, imp, type). */
        "message.send.max.retries",
        "2",
        "retry.backoff.ms",
        "100",
        "linger.ms",
        "5",
        "queue.buffering.max.messages",
        qmax,
        "queue.buffering.max.kbytes",
        qkb,
        /* A message waiting for a dead broker gives up after 30 s, so the
         * queue drains (as delivery errors) instead of filling for ever. */
        "message.timeout.ms",
        "30000",
        "socket.keepalive.enable",
        "true",
        NULL,
    };
    rd_kafka_conf_t *conf = beat_kafka_conf_new(defaults, extra_kv, err, sizeof err);
    if (!conf) {
        beat_log(BEAT_ERROR, "kafka_producer_failed", "reason=\"%s\"", err);
        free(p);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p->rk) {
        beat_log(BEAT_ERROR, "kafka_producer_failed", "reason=\"%s\"", err);
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!p->rkt) {
        beat_log(BEAT_ERROR, "kafka_producer_failed", "reason=\"topic: %s\"",
                 rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(p->rk);
        free(p);
        return NULL;
    }
    atomic_init(&p->stop, false);
    if (pthread_create(&p->thr, NULL, poll_main, p) != 0) {
        beat_log(BEAT_ERROR, "kafka_producer_failed", "reason=\"thread\"");
        rd_kafka_topic_destroy(p->rkt);
        rd_kafka_destroy(p->rk);
        free(p);
        return NULL;
    }
    beat_log(BEAT_INFO, "kafka_producer_started", "brokers=%s topic=%s queue_max=%lld", brokers,
             topic, (long long)queue_max);
    return p;
}

static int produce_one(beat_kproducer *p, int32_t partition, const void *key, size_t key_len,
                       const void *val, size_t val_len, bool counted);

int beat_kproducer_send(beat_kproducer *p, const void *key, size_t key_len, const void *val,
                        size_t val_len) {
    return produce_one(p, RD_KAFKA_PARTITION_UA, key, key_len, val, val_len, true);
}

int beat_kproducer_send_to(beat_kproducer *p, int32_t partition, const void *key, size_t key_len,
                           const void *val, size_t val_len, bool counted) {
    return produce_one(p, partition, key, key_len, val, val_len, counted);
}

int beat_kproducer_partitions(beat_kproducer *p, int timeout_ms) {
    if (!p) return -EINVAL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, p->rkt, &md, timeout_ms);
    if (e) return e == RD_KAFKA_RESP_ERR__TIMED_OUT ? -ETIMEDOUT : -EIO;
    int n = -ENOENT;
    if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
        n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

static int produce_one(beat_kproducer *p, int32_t partition, const void *key, size_t key_len,
                       const void *val, size_t val_len, bool counted) {
    if (!p) return -EINVAL;
    if (rd_kafka_produce(p->rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)val, val_len, key, key_len,
                         counted ? NULL : &aside_marker) == 0) {
        if (counted) atomic_fetch_add_explicit(&p->sent, 1, memory_order_relaxed);
        return 0;
    }
    /* Anything refused locally never reaches Kafka: counted as dropped. */
    if (counted) atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
    rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (!counted) return e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? -ENOBUFS : -EIO;
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        beat_log_rl(5000, BEAT_WARN, "kafka_queue_full", "queued=%lld",
                    (long long)beat_kproducer_queued(p));
        return -ENOBUFS;
    }
    beat_log_rl(5000, BEAT_WARN, "kafka_produce_failed", "err=%s", rd_kafka_err2name(e));
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? -EMSGSIZE : -EIO;
}

void beat_kproducer_get_stats(beat_kproducer *p, beat_kproducer_stats *out) {
    if (!p || !out) return;
    out->sent = atomic_load_explicit(&p->sent, memory_order_relaxed);
    out->delivered = atomic_load_explicit(&p->delivered, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&p->dropped, memory_order_relaxed);
    out->delivery_errors = atomic_load_explicit(&p->delivery_errors, memory_order_relaxed);
    out->queued = beat_kproducer_queued(p);
}

/* Messages handed to librdkafka whose delivery report has not been served
 * yet: what queue.buffering.max.messages counts. rd_kafka_outq_len() would
 * add pending error, log and statistics events (a dead broker queues some). */
int64_t beat_kproducer_queued(beat_kproducer *p) {
    if (!p) return 0;
    uint64_t done = atomic_load_explicit(&p->delivered, memory_order_relaxed) +
                    atomic_load_explicit(&p->delivery_errors, memory_order_relaxed);
    uint64_t sent = atomic_load_explicit(&p->sent, memory_order_relaxed);
    return sent > done ? (int64_t)(sent - done) : 0; /* a report may beat sent++ */
}

void beat_kproducer_free(beat_kproducer *p, int flush_ms) {
    if (!p) return;
    atomic_store(&p->stop, true);
    pthread_join(p->thr, NULL);
    if (flush_ms > 0) rd_kafka_flush(p->rk, flush_ms);
    if (rd_kafka_outq_len(p->rk) > 0) {
        /* Broker gone: give up on the rest instead of hanging the exit (a
         * receiver's spool is lost here: docs/operations.md). */
        int64_t left = beat_kproducer_queued(p);
        if (left > 0) beat_log(BEAT_WARN, "kafka_unflushed", "messages=%lld", (long long)left);
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(p->rk, 0);
    }
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    free(p);
}
