/* beat-datastream: consumes the event topic in a consumer group, joins bids
 * with their notices, and serves per-campaign aggregates (actuator) and
 * labelled training samples (lighttrainer) over HTTP (docs/contracts.md).
 * main wires flags, the consumer thread (poll → store.c, which records each
 * partition's batch in its ledger, then stream.c) and the libevent HTTP
 * thread (api.c). Kafka being down is never fatal: the consumer keeps
 * retrying and the HTTP side keeps serving what it has. A partition whose
 * store cannot be used is not consumed (never consumed without dedup). */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts.h"
#include "api.h"
#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_http.h"
#include "beat_kafka.h"
#include "beat_log.h"
#include "beat_loop.h"
#include "beat_metrics.h"
#include "beat_util.h"
#include "heard.h"
#include "store.h"
#include "stream.h"

#define POLL_BATCH 1024
#define POLL_MS 100
#define PARTS_MAX 1024

static char *o_listen, *o_brokers, *o_topic, *o_group, *o_name, *o_level, *o_start_from,
    *o_store_dir, *o_store_sync;
static int64_t o_bucket_ms, o_buckets_max, o_window_ms, o_max_open, o_samples_max, o_max_campaigns,
    o_retention_s, o_max_keys, o_forget_s, o_fcap_rows;
static int64_t o_settle_ms, o_hb_gap_ms, o_clock_skew_ms;
static double o_fill_warn_pct;
static double o_neg_rate;
static beat_strlist o_kafka_opts;
static beat_alert_opts o_alert;

static beat_http_limits o_http = BEAT_HTTP_LIMITS_DEFAULT;
static char *o_sim_clock; /* --sim-clock: engine time spec */
/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt OPTS[] = {
    {.name = "listen", .env = "BEAT_DATASTREAM_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8082",
     .help = "HTTP address (/v1/aggregates, /v1/samples, /healthz, /metrics)"},
    {.name = "kafka-brokers", .env = "BEAT_KAFKA_BROKERS",
     .type = BEAT_OPT_STR, .dst = &o_brokers, .def = "127.0.0.1:9092",
     .help = "Kafka bootstrap servers (comma list)"},
    {.name = "topic", .env = "BEAT_KAFKA_TOPIC",
     .type = BEAT_OPT_STR, .dst = &o_topic, .def = "beat.events",
     .help = "Kafka topic of events"},
    {.name = "kafka-opt", .env = "BEAT_DATASTREAM_KAFKA_OPTS",
     .type = BEAT_OPT_STRLIST, .dst = &o_kafka_opts,
     .help = "extra librdkafka consumer property KEY=VALUE (repeatable; env: comma "
             "list), e.g. session.timeout.ms=6000 or security settings"},
    {.name = "group", .env = "BEAT_DATASTREAM_GROUP",
     .type = BEAT_OPT_STR, .dst = &o_group, .def = "beat-datastream",
     .help = "Kafka consumer group (instances in one group split the partitions)"},
    {.name = "start-from", .env = "BEAT_DATASTREAM_START",
     .type = BEAT_OPT_STR, .dst = &o_start_from, .def = "beginning",
     .help = "where a partition with no stored offset (new store) starts: beginning "
             "(the retained log: nothing produced before is skipped) or end (only new "
             "events)"},
    {.name = "store-dir", .env = "BEAT_DATASTREAM_STORE_DIR",
     .type = BEAT_OPT_STR, .dst = &o_store_dir,
     .help = "directory of the per-partition stores (dedup keys + offsets, SQLite; "
             "required; part of the spend ledger: see docs/operations.md). Every "
             "instance of the group on a host shares it"},
    {.name = "store-sync", .env = "BEAT_DATASTREAM_STORE_SYNC",
     .type = BEAT_OPT_STR, .dst = &o_store_sync, .def = "full",
     .help = "full: fsync every batch (a power cut loses nothing committed); normal: "
             "fsync at checkpoints only (a crash loses nothing, a power cut may lose "
             "the last batches' keys: those notices could count twice)"},
    {.name = "dedup-retention-s", .env = "BEAT_DATASTREAM_DEDUP_RETENTION_S",
     .type = BEAT_OPT_INT, .dst = &o_retention_s, .def = "3900", .min = 60, .max = 400 * 86400,
     .help = "how long a notice key is kept, from its signed ts; must be >= the "
             "receiver's --notice-max-age-s plus its 300 s future allowance"},
    {.name = "dedup-max-keys", .env = "BEAT_DATASTREAM_DEDUP_MAX_KEYS",
     .type = BEAT_OPT_INT, .dst = &o_max_keys, .def = "20000000", .min = 1000, .max = 2000000000,
     .help = "keys per partition store before it reports store_full (it keeps "
             "storing: a key is never forgotten early); size it peak notices/s per "
             "partition x retention x 1.5"},
    {.name = "alert-store-fill-warn-pct", .env = "BEAT_ALERT_STORE_FILL_WARN_PCT",
     .type = BEAT_OPT_DBL, .dst = &o_fill_warn_pct, .def = "80", .min = 0, .max = 100,
     .help = "warn when the fullest partition store reaches this % of --dedup-max-keys "
             "(0 = off; 100 % is an error)"},
    {.name = "bucket-ms", .env = "BEAT_DATASTREAM_BUCKET_MS",
     .type = BEAT_OPT_INT, .dst = &o_bucket_ms, .def = "1000", .min = 10, .max = 3600000,
     .help = "aggregate bucket length (processing time)"},
    {.name = "buckets-max", .env = "BEAT_DATASTREAM_BUCKETS_MAX",
     .type = BEAT_OPT_INT, .dst = &o_buckets_max, .def = "3600", .min = 1, .max = 1000000,
     .help = "closed buckets kept for readers"},
    {.name = "join-window-ms", .env = "BEAT_DATASTREAM_JOIN_WINDOW_MS",
     .type = BEAT_OPT_INT, .dst = &o_window_ms, .def = "30000", .min = 10, .max = 86400000,
     .help = "how long an auction stays open for joining, from first sight"},
    {.name = "max-open-auctions", .env = "BEAT_DATASTREAM_MAX_OPEN_AUCTIONS",
     .type = BEAT_OPT_INT, .dst = &o_max_open, .def = "200000", .min = 1, .max = 100000000,
     .help = "open join entries; beyond it the oldest is dropped and counted"},
    {.name = "neg-rate", .env = "BEAT_DATASTREAM_NEG_RATE",
     .type = BEAT_OPT_DBL, .dst = &o_neg_rate, .def = "0.1", .min = 1e-6, .max = 1,
     .help = "probability of keeping a negative sample (kept ones weigh 1/rate)"},
    {.name = "samples-max", .env = "BEAT_DATASTREAM_SAMPLES_MAX",
     .type = BEAT_OPT_INT, .dst = &o_samples_max, .def = "200000", .min = 1, .max = 100000000,
     .help = "samples kept in the ring for readers"},
    {.name = "settle-ms", .env = "BEAT_DATASTREAM_SETTLE_MS",
     .type = BEAT_OPT_INT, .dst = &o_settle_ms, .def = "30000", .min = 1000, .max = 86400000,
     .help = "a bid with no win, bill or loss notice this long after it was made, while every "
             "receiver was heard throughout, is released from its budget lease (docs/money.md: "
             "longer than exchanges take to bill; a bill that comes later still debits)"},
    BEAT_OPT_CLOCK_SKEW(&o_clock_skew_ms),
    {.name = "hb-gap-ms", .env = "BEAT_DATASTREAM_HB_GAP_MS",
     .type = BEAT_OPT_INT, .dst = &o_hb_gap_ms, .def = "3000", .min = 100, .max = 3600000,
     .help = "a receiver's heartbeats further apart than this are a gap: bids around it never "
             "expire (their notices may have been lost unheard)"},
    {.name = "receiver-forget-s", .env = "BEAT_DATASTREAM_RECEIVER_FORGET_S",
     .type = BEAT_OPT_INT, .dst = &o_forget_s, .def = "300", .min = 1, .max = 86400,
     .help = "a receiver whose heartbeat was not read for this long no longer holds back "
             "a partition's heard time (heard_ms in aggregates; one that said goodbye is "
             "dropped at once)"},
    {.name = "max-campaigns", .env = "BEAT_DATASTREAM_MAX_CAMPAIGNS",
     .type = BEAT_OPT_INT, .dst = &o_max_campaigns, .def = "10000", .min = 1, .max = 1000000,
     .help = "campaigns per bucket; updates beyond it are dropped and counted"},
    {.name = "fcap-rows", .env = "BEAT_DATASTREAM_FCAP_ROWS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_rows, .def = "262144", .min = 4, .max = 1 << 28,
     .help = "frequency-cap rows (campaign, person, window) kept, about 80 bytes each; when "
             "full the oldest window is evicted and counted (docs/campaigns.md \"freq_cap\")"},
    BEAT_ALERT_OPTS(&o_alert),
    {.name = "name", .env = "BEAT_DATASTREAM_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "datastream-1",
     .help = "instance name (in answers as \"instance\")"},
    BEAT_HTTP_OPTS(o_http),
    BEAT_OPT_SIM_CLOCK(&o_sim_clock),
    {.name = "log-level", .env = "BEAT_LOG_LEVEL",
     .type = BEAT_OPT_STR, .dst = &o_level, .def = "info",
     .help = "debug|info|warn|error"},
    BEAT_OPT_END,
};
/* clang-format on */

/* Shared between the consumer thread (writes) and the HTTP thread (health). */
static struct {
    dst_stream *stream;
    dst_store *store;
    dst_heard *heard;
    dst_caps *caps;
    _Atomic int64_t heard_seen_mono; /* mono ms of the last non-zero heard time */
    int64_t start_mono;
    beat_kconsumer *kc;
    uint64_t epoch;
    pthread_mutex_t mu; /* guards parts/n_parts */
    int32_t parts[PARTS_MAX];
    int n_parts;
    /* The first assignment completed (its rebalance callback ran and
     * returned, stores opened): set by the consumer thread after poll. */
    _Atomic bool assigned_once;
    _Atomic int64_t open_auctions;
} D = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A partition resuming at its stored offset: the consumer reads the
 * store's mark (the last message counted) again first, so a broker whose
 * log was replaced and has grown past that offset is read from its start,
 * not skipped (docs/operations.md "The datastream store"). */
static void expect_mark(int32_t p, int64_t start) {
    if (start < 1) return;
    dst_ledger_mark m;
    dst_store_mark(D.store, p, &m);
    if (m.offset < 0 || m.offset != start - 1) return;
    beat_kc_mark k = {m.offset, m.ts_ms, m.hash};
    beat_kconsumer_expect(D.kc, p, &k);
}

/* Rebalance (consumer thread, inside poll): revoked partitions' join state
 * is dropped and their stores closed before they move, so nothing
 * half-joined lingers here and the next owner finds the store as we left
 * it. Assigned partitions start where their store says. */
static void on_rebalance(void *arg, bool revoked, const int32_t *p, int n, int64_t *start) {
    (void)arg;
    int64_t now = beat_now_ms();
    if (revoked) {
        dst_stream_revoke(D.stream, p, n, now);
        dst_store_revoke(D.store, p, n);
        dst_heard_revoke(D.heard, p, n);
    } else {
        dst_heard_assign(D.heard, p, n);
        dst_store_assign(D.store, p, n, start, now);
        bool from_end = strcmp(o_start_from, "end") == 0;
        for (int i = 0; i < n; i++) expect_mark(p[i], start[i]);
        for (int i = 0; i < n; i++)
            start[i] = start[i] == DST_STORE_REFUSED ? BEAT_KC_START_PAUSED
                       : start[i] == DST_STORE_FROM_START
                           ? (from_end ? BEAT_KC_START_END : BEAT_KC_START_BEGINNING)
                           : start[i];
    }
    pthread_mutex_lock(&D.mu);
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < D.n_parts && D.parts[k] != p[i]) k++;
        if (revoked && k < D.n_parts) D.parts[k] = D.parts[--D.n_parts];
        else if (!revoked && k == D.n_parts && D.n_parts < PARTS_MAX) D.parts[D.n_parts++] = p[i];
    }
    pthread_mutex_unlock(&D.mu);
}

/* Kafka counters: the consumer keeps atomics; the consumer thread moves
 * their growth into registry counters so /metrics has real *_total. */
static struct {
    beat_counter *consumed, *errors, *resets, *rebalances, *replaced, *verified;
    beat_kconsumer_stats last;
    _Atomic int64_t last_reset_ms; /* mono ms of the latest offset reset seen */
} K;

static void sync_kafka_metrics(void) {
    beat_kconsumer_stats k = {0};
    beat_kconsumer_get_stats(D.kc, &k);
    if (k.offset_resets != K.last.offset_resets || k.log_replaced != K.last.log_replaced)
        atomic_store(&K.last_reset_ms, beat_mono_ms());
    beat_counter_add(K.consumed, k.consumed - K.last.consumed);
    beat_counter_add(K.errors, k.errors - K.last.errors);
    beat_counter_add(K.resets, k.offset_resets - K.last.offset_resets);
    beat_counter_add(K.rebalances, k.rebalances - K.last.rebalances);
    beat_counter_add(K.replaced, k.log_replaced - K.last.log_replaced);
    beat_counter_add(K.verified, k.log_verified - K.last.log_verified);
    K.last = k;
}

static double g_heard_age(void *a);

static void log_stats(void) {
    const dst_stream_stats *s = dst_stream_stats_get(D.stream);
    dst_store_info si;
    dst_store_info_get(D.store, &si);
    beat_kconsumer_stats k = {0};
    beat_kconsumer_get_stats(D.kc, &k);
    beat_log(BEAT_INFO, "stats",
             "consumed=%llu bids=%llu wins=%llu bills=%llu imps=%llu clicks=%llu "
             "invalid=%llu duplicates=%llu store_duplicates=%llu debited_before=%llu "
             "late=%llu open=%lld evicted=%llu store_keys=%lld store_full=%d "
             "store_refused=%d "
             "samples_pos=%llu samples_neg=%llu unjoined=%llu last_seq=%llu "
             "assigned=%d kafka_errors=%llu offset_resets=%llu log_replaced=%llu "
             "kafka_unreachable_s=%.0f heartbeats=%llu receivers=%d heard_age_s=%.1f",
             (unsigned long long)k.consumed, (unsigned long long)s->events[BEAT_EV_BID],
             (unsigned long long)s->events[BEAT_EV_WIN],
             (unsigned long long)s->events[BEAT_EV_BILL],
             (unsigned long long)s->events[BEAT_EV_IMP],
             (unsigned long long)s->events[BEAT_EV_CLICK], (unsigned long long)s->invalid,
             (unsigned long long)s->duplicates, (unsigned long long)s->durable_duplicates,
             (unsigned long long)s->debited_before, (unsigned long long)s->late,
             (long long)dst_stream_open(D.stream), (unsigned long long)s->evicted,
             (long long)si.keys, si.full ? 1 : 0, si.refused, (unsigned long long)s->samples_pos,
             (unsigned long long)s->samples_neg, (unsigned long long)s->samples_unjoined,
             (unsigned long long)dst_buckets_last_seq(dst_stream_buckets(D.stream)),
             (int)k.assigned, (unsigned long long)k.errors, (unsigned long long)k.offset_resets,
             (unsigned long long)k.log_replaced, beat_kafka_unreachable_s(),
             (unsigned long long)s->heartbeats, dst_heard_receivers(D.heard), g_heard_age(NULL));
}

/* Orders a batch's message indices by (partition, arrival): each
 * partition's messages stay in offset order and go to its store at once. */
static rd_kafka_message_t **sort_msgs;
static int cmp_part(const void *a, const void *b) {
    int ia = *(const int *)a, ib = *(const int *)b;
    int32_t pa = sort_msgs[ia]->partition, pb = sort_msgs[ib]->partition;
    if (pa != pb) return pa < pb ? -1 : 1;
    return (ia > ib) - (ia < ib);
}

/* One polled batch: per partition, store (one transaction) then stream. A
 * partition whose store fails is paused; it resumes from its stored offset
 * once the store opens again (dst_store_maintain). */
static void process(rd_kafka_message_t **msgs, int n, int64_t now) {
    static int idx[POLL_BATCH];
    static dst_store_msg sm[POLL_BATCH];
    static int32_t cparts[POLL_BATCH];
    static int64_t cnext[POLL_BATCH];
    int nc = 0;
    for (int i = 0; i < n; i++) idx[i] = i;
    sort_msgs = msgs;
    qsort(idx, (size_t)n, sizeof idx[0], cmp_part);
    for (int i = 0; i < n;) {
        int32_t p = msgs[idx[i]]->partition;
        int k = 0;
        for (; i < n && msgs[idx[i]]->partition == p; i++, k++) {
            rd_kafka_message_t *m = msgs[idx[i]];
            sm[k] = (dst_store_msg){m->payload, m->len, m->offset};
        }
        beat_kc_mark km;
        beat_kc_mark_of(msgs[idx[i - 1]], &km);
        dst_ledger_mark last = {km.offset, km.ts_ms, km.hash};
        int rc = dst_store_ingest_marked(D.store, D.stream, p, sm, k, now, &last);
        if (rc == 0) {
            cparts[nc] = p;
            cnext[nc++] = sm[k - 1].offset + 1;
        } else {
            /* -EIO: the store refused the batch (logged "store_failed");
             * -ENOENT: no open store (cannot happen for an unpaused
             * partition). Either way nothing was counted: stop reading. */
            beat_kconsumer_pause(D.kc, p);
        }
    }
    /* The store decides where reading resumes; Kafka's committed offsets
     * follow it for monitoring (consumer lag) only. */
    beat_kconsumer_commit(D.kc, cparts, cnext, nc);
}

static void *consumer_main(void *arg) {
    (void)arg;
    rd_kafka_message_t *msgs[POLL_BATCH];
    int32_t rparts[64];
    int64_t rstart[64];
    int64_t next_stats = beat_mono_ms() + 10000;
    while (!beat_stop_requested()) {
        int n = beat_kconsumer_poll(D.kc, msgs, POLL_BATCH, POLL_MS);
        int64_t now = beat_now_ms();
        if (!atomic_load(&D.assigned_once)) {
            dst_store_info si;
            dst_store_info_get(D.store, &si);
            if (si.assigned_once) atomic_store(&D.assigned_once, true);
        }
        if (n > 0) process(msgs, n, now);
        for (int i = 0; i < n; i++) rd_kafka_message_destroy(msgs[i]);
        int nr = dst_store_maintain(D.store, now, rparts, rstart, 64);
        for (int i = 0; i < nr; i++) {
            expect_mark(rparts[i], rstart[i]);
            int64_t o = rstart[i] == DST_STORE_FROM_START
                            ? (strcmp(o_start_from, "end") == 0 ? BEAT_KC_START_END
                                                                : BEAT_KC_START_BEGINNING)
                            : rstart[i];
            if (beat_kconsumer_resume(D.kc, rparts[i], o) != 0) /* still paused */
                dst_store_retry_later(D.store, rparts[i], now, "kafka seek/resume failed");
        }
        /* After the batch: the heartbeats just applied say what the open
         * bucket holds (heard.h); buckets read it as they close. */
        if (dst_heard_tick(D.heard, now) > 0) atomic_store(&D.heard_seen_mono, beat_mono_ms());
        dst_stream_tick(D.stream, now);
        dst_store_expire(D.store, D.stream, D.heard, o_settle_ms, now);
        atomic_store(&D.open_auctions, dst_stream_open(D.stream));
        sync_kafka_metrics();
        if (beat_mono_ms() >= next_stats) {
            next_stats += 10000;
            log_stats();
        }
    }
    return NULL;
}

/* ready: the first assignment completed (even with no partitions) and
 * every assigned partition's store is open, so everything produced from
 * now on is read. store_full: a store reached --dedup-max-keys (it keeps
 * storing; bids should be shed by whoever watches it). */
static bool on_health(void *arg, beat_buf *detail) {
    (void)arg;
    dst_store_info si;
    dst_store_info_get(D.store, &si);
    bool ready = atomic_load(&D.assigned_once) && si.refused == 0;
    pthread_mutex_lock(&D.mu);
    beat_buf_printf(detail, "\"name\":");
    beat_buf_json_str(detail, o_name, strlen(o_name));
    beat_buf_printf(detail, ",\"epoch\":\"%016llx\",\"partitions\":[", (unsigned long long)D.epoch);
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
    beat_buf_printf(detail,
                    ",\"store_full\":%s,\"store\":{\"open\":%d,\"keys\":%lld,"
                    "\"max_keys\":%lld,\"fill_ratio\":%.4f,\"refused\":[",
                    si.full ? "true" : "false", si.open, (long long)si.keys, (long long)o_max_keys,
                    si.fill_ratio);
    for (int i = 0; i < si.n_listed; i++)
        beat_buf_printf(detail, "%s%d", i ? "," : "", (int)si.refused_parts[i]);
    beat_buf_printf(detail, "]}");
    int64_t heard = dst_heard_get(D.heard);
    beat_buf_printf(detail, ",\"heard_ms\":%lld,\"heard_age_ms\":%lld,\"receivers\":%d",
                    (long long)heard, (long long)(heard > 0 ? beat_now_ms() - heard : -1),
                    dst_heard_receivers(D.heard));
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

/* Seconds since the instance's heard time (every notice produced before it
 * is counted); while it is unknown (0: no receiver heard in a partition it
 * holds), the age keeps growing from the last time it was known (or from
 * the start). */
static double g_heard_age(void *a) {
    (void)a;
    int64_t heard = dst_heard_get(D.heard);
    if (heard > 0) {
        double age = (double)(beat_now_ms() - heard) / 1000.0;
        return age > 0 ? age : 0;
    }
    int64_t since = atomic_load(&D.heard_seen_mono);
    return (double)(beat_mono_ms() - (since ? since : D.start_mono)) / 1000.0;
}
static double g_receivers(void *a) {
    (void)a;
    return dst_heard_receivers(D.heard);
}

static void register_metrics(void) {
    beat_gauge_fn_new("beat_datastream_heard_age_seconds",
                      "Age of the instance's heard time: every notice the known receivers "
                      "produced before it has been counted (min over held partitions and "
                      "their receivers' newest heartbeats).",
                      g_heard_age, NULL);
    beat_gauge_fn_new("beat_datastream_receivers_known",
                      "Distinct receivers whose heartbeats hold back the heard time of "
                      "the partitions held.",
                      g_receivers, NULL);
    K.consumed = beat_counter_new("beat_datastream_kafka_messages_total",
                                  "Kafka messages consumed (valid or not).");
    K.errors = beat_counter_new("beat_datastream_kafka_errors_total",
                                "Kafka consumer errors (transport, broker, commit).");
    K.resets = beat_counter_new(
        "beat_datastream_offset_resets_total",
        "Offsets out of range (the broker lost its log): read again from the log's start.");
    K.rebalances = beat_counter_new("beat_datastream_rebalances_total",
                                    "Consumer-group rebalance callbacks (assign and revoke).");
    K.replaced = beat_counter_new("beat_datastream_log_replaced_total",
                                  "Partitions whose broker log was replaced by another that "
                                  "reused its offsets (the last message read differs): read "
                                  "again from the log's start.");
    K.verified = beat_counter_new("beat_datastream_log_marks_verified_total",
                                  "Resumes that read the last counted message again and found "
                                  "it unchanged (the log is the one read before).");
    beat_gauge_fn_new("beat_datastream_assigned_partitions",
                      "Kafka partitions assigned to this instance.", g_assigned, NULL);
    beat_gauge_fn_new("beat_datastream_last_bucket_seq",
                      "Seq of the newest closed aggregate bucket.", g_last_seq, NULL);
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
    if (beat_cfg_sim_clock("beat-datastream", o_sim_clock) != 0) return 64;
    if (!o_name[0] || strlen(o_name) > BEAT_ID_MAX) {
        fprintf(stderr, "beat-datastream: --name: must be 1..%d bytes\n", BEAT_ID_MAX);
        return 64;
    }
    if (strcmp(o_start_from, "beginning") != 0 && strcmp(o_start_from, "end") != 0) {
        fprintf(stderr,
                "beat-datastream: --start-from: expected beginning or end, "
                "got \"%s\"\n",
                o_start_from);
        return 64;
    }
    if (strcmp(o_store_sync, "full") != 0 && strcmp(o_store_sync, "normal") != 0) {
        fprintf(stderr,
                "beat-datastream: --store-sync: expected full or normal, "
                "got \"%s\"\n",
                o_store_sync);
        return 64;
    }
    if (!o_store_dir || !*o_store_dir) {
        fprintf(stderr, "beat-datastream: --store-dir: required (the per-partition "
                        "dedup stores; see docs/operations.md)\n");
        return 64;
    }
    beat_cfg_log(OPTS);
    beat_stop_install();

    D.epoch = beat_random_u64();
    dst_stream_cfg cfg = {
        .bucket_ms = o_bucket_ms,
        .buckets_max = o_buckets_max,
        .campaigns_max = o_max_campaigns,
        .join_window_ms = o_window_ms,
        .max_open = o_max_open,
        .samples_max = o_samples_max,
        .neg_rate = o_neg_rate,
        .seed = beat_random_u64(),
    };
    D.stream = dst_stream_new(&cfg, beat_now_ms());
    if (!D.stream) die("start_failed", "cannot allocate join table, buckets or samples");
    D.start_mono = beat_mono_ms();
    D.heard = dst_heard_new(o_forget_s * 1000);
    if (D.heard) dst_heard_set_gap_ms(D.heard, o_hb_gap_ms);
    if (D.heard) dst_heard_set_max_skew_ms(D.heard, o_clock_skew_ms);
    if (!D.heard) die("start_failed", "cannot allocate the heard table");
    dst_stream_set_heard(D.stream, D.heard);
    D.caps = dst_caps_new(o_fcap_rows);
    if (!D.caps) die("start_failed", "cannot allocate the frequency-cap table");
    dst_stream_set_caps(D.stream, D.caps);
    dst_buckets_set_heard_src(dst_stream_buckets(D.stream), dst_heard_src(D.heard));
    /* The store directory is the daemon's own setup: a missing flag or an
     * unusable directory is fatal at start (a single partition's file
     * failing later is not: that partition waits). */
    if (mkdir(o_store_dir, 0755) != 0 && errno != EEXIST) {
        char msg[600];
        snprintf(msg, sizeof msg, "--store-dir %s: %s", o_store_dir, strerror(errno));
        die("store_dir_unusable", msg);
    }
    struct stat sd;
    if (stat(o_store_dir, &sd) != 0 || !S_ISDIR(sd.st_mode) ||
        access(o_store_dir, W_OK | X_OK) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "--store-dir %s: not a writable directory", o_store_dir);
        die("store_dir_unusable", msg);
    }
    dst_store_cfg scfg = {
        .dir = o_store_dir,
        .topic = o_topic,
        .retention_ms = o_retention_s * 1000,
        .max_keys = o_max_keys,
        .sync_full = strcmp(o_store_sync, "full") == 0,
    };
    D.store = dst_store_new(&scfg);
    if (!D.store) die("start_failed", "cannot allocate the partition stores");

    struct event_base *base = event_base_new();
    if (!base) die("start_failed", "event_base_new failed");
    int rc = 0;
    beat_http *http = beat_http_new_lim(base, o_listen, 4096, false, &o_http, &rc);
    if (!http) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot listen on %s: %s", o_listen, strerror(-rc));
        die("listen_failed", msg);
    }
    dst_api api = {.buckets = dst_stream_buckets(D.stream),
                   .samples = dst_stream_samples(D.stream),
                   .conv_samples = dst_stream_conv_samples(D.stream),
                   .store = D.store,
                   .caps = D.caps,
                   .instance = o_name,
                   .epoch = D.epoch};
    dst_api_install(http, &api);
    beat_http_set_health(http, on_health, NULL);
    register_metrics();

    /* The reset policy first, then --kafka-opt KEY=VALUE (a later key wins)
     * → NULL-terminated key/value pairs. A lost offset (the broker's log
     * restarted) resumes at the log's start: the store's keys make a
     * re-read harmless, a skip would lose events. */
    const char **kv = calloc((size_t)o_kafka_opts.n * 2 + 3, sizeof *kv);
    if (!kv) die("start_failed", "out of memory");
    int nkv = 0;
    kv[nkv++] = "auto.offset.reset";
    kv[nkv++] = "earliest";
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
        beat_log(BEAT_FATAL, "kafka_config_invalid", "brokers=%s group=%s topic=%s", o_brokers,
                 o_group, o_topic);
        return 64;
    }
    beat_alert *alert = beat_alert_opts_new(&o_alert, o_name);
    dst_alerts_cfg acfg = {.brokers = o_brokers,
                           .max_keys = o_max_keys,
                           .fill_warn_pct = o_fill_warn_pct,
                           .opts = &o_alert,
                           .consumed = K.consumed,
                           .last_reset_ms = &K.last_reset_ms};
    beat_alert_rules *rules = alert ? dst_alerts_start(alert, &acfg) : NULL;
    if (!rules) beat_log(BEAT_ERROR, "alerts_unavailable", "msg=\"alert rules not started\"");
    pthread_t thr;
    if (pthread_create(&thr, NULL, consumer_main, NULL) != 0)
        die("start_failed", "cannot start the consumer thread");

    beat_loop_timer *stop_ev = beat_loop_stop_watch(base);
    if (!stop_ev) die("start_failed", "event_new failed");
    beat_log(BEAT_INFO, "started", "name=%s listen=%s brokers=%s topic=%s group=%s epoch=%016llx",
             o_name, o_listen, o_brokers, o_topic, o_group, (unsigned long long)D.epoch);

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
    dst_store_free(D.store); /* after the consumer: its revoke closed them */
    dst_stream_free(D.stream);
    dst_caps_free(D.caps);
    dst_heard_free(D.heard);
    beat_log(BEAT_INFO, "stopped", "name=%s", o_name);
    return 0;
}
