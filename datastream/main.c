/* beat-datastream: consumes the event topic in a consumer group, joins bids
 * with their notices, and serves per-campaign aggregates (actuator) and
 * labelled training samples (lighttrainer) over HTTP (docs/contracts.md).
 * main wires flags (opts.c), the consumer thread (poll → store_ingest.c, which
 * records each partition's batch and its report rows in its ledger, then
 * stream.c) and the libevent HTTP thread (api.c). Kafka being down is
 * never fatal: the consumer keeps retrying and the HTTP side keeps serving
 * what it has. A partition whose
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
#include "opts.h"
#include "report_read.h"
#include "store.h"
#include "stream.h"

#define POLL_BATCH 1024
#define POLL_MS 100
#define PARTS_MAX 1024

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
        bool from_end = strcmp(dst_o.start_from, "end") == 0;
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
                            ? (strcmp(dst_o.start_from, "end") == 0 ? BEAT_KC_START_END
                                                                    : BEAT_KC_START_BEGINNING)
                            : rstart[i];
            if (beat_kconsumer_resume(D.kc, rparts[i], o) != 0) /* still paused */
                dst_store_retry_later(D.store, rparts[i], now, "kafka seek/resume failed");
        }
        /* After the batch: the heartbeats just applied say what the open
         * bucket holds (heard.h); buckets read it as they close. */
        if (dst_heard_tick(D.heard, now) > 0) atomic_store(&D.heard_seen_mono, beat_mono_ms());
        dst_stream_tick(D.stream, now);
        dst_store_expire(D.store, D.stream, D.heard, dst_o.settle_ms, now);
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
    beat_buf_json_str(detail, dst_o.name, strlen(dst_o.name));
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
                    si.full ? "true" : "false", si.open, (long long)si.keys,
                    (long long)dst_o.max_keys, si.fill_ratio);
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
                       dst_opts, argc, argv, &dst_o.level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-datastream", dst_o.sim_clock) != 0) return 64;
    if (!dst_o.name[0] || strlen(dst_o.name) > BEAT_ID_MAX) {
        fprintf(stderr, "beat-datastream: --name: must be 1..%d bytes\n", BEAT_ID_MAX);
        return 64;
    }
    if (strcmp(dst_o.start_from, "beginning") != 0 && strcmp(dst_o.start_from, "end") != 0) {
        fprintf(stderr,
                "beat-datastream: --start-from: expected beginning or end, "
                "got \"%s\"\n",
                dst_o.start_from);
        return 64;
    }
    if (strcmp(dst_o.store_sync, "full") != 0 && strcmp(dst_o.store_sync, "normal") != 0) {
        fprintf(stderr,
                "beat-datastream: --store-sync: expected full or normal, "
                "got \"%s\"\n",
                dst_o.store_sync);
        return 64;
    }
    if (!dst_o.store_dir || !*dst_o.store_dir) {
        fprintf(stderr, "beat-datastream: --store-dir: required (the per-partition "
                        "dedup stores; see docs/operations.md)\n");
        return 64;
    }
    beat_cfg_log(dst_opts);
    beat_stop_install();

    D.epoch = beat_random_u64();
    dst_stream_cfg cfg = {
        .bucket_ms = dst_o.bucket_ms,
        .buckets_max = dst_o.buckets_max,
        .campaigns_max = dst_o.max_campaigns,
        .join_window_ms = dst_o.window_ms,
        .max_open = dst_o.max_open,
        .samples_max = dst_o.samples_max,
        .neg_rate = dst_o.neg_rate,
        .seed = beat_random_u64(),
    };
    D.stream = dst_stream_new(&cfg, beat_now_ms());
    if (!D.stream) die("start_failed", "cannot allocate join table, buckets or samples");
    D.start_mono = beat_mono_ms();
    D.heard = dst_heard_new(dst_o.forget_s * 1000);
    if (D.heard) dst_heard_set_gap_ms(D.heard, dst_o.hb_gap_ms);
    if (D.heard) dst_heard_set_max_skew_ms(D.heard, dst_o.clock_skew_ms);
    if (!D.heard) die("start_failed", "cannot allocate the heard table");
    dst_stream_set_heard(D.stream, D.heard);
    D.caps = dst_caps_new(dst_o.fcap_rows);
    if (!D.caps) die("start_failed", "cannot allocate the frequency-cap table");
    dst_stream_set_caps(D.stream, D.caps);
    dst_buckets_set_heard_src(dst_stream_buckets(D.stream), dst_heard_src(D.heard));
    /* The store directory is the daemon's own setup: a missing flag or an
     * unusable directory is fatal at start (a single partition's file
     * failing later is not: that partition waits). */
    if (mkdir(dst_o.store_dir, 0755) != 0 && errno != EEXIST) {
        char msg[600];
        snprintf(msg, sizeof msg, "--store-dir %s: %s", dst_o.store_dir, strerror(errno));
        die("store_dir_unusable", msg);
    }
    struct stat sd;
    if (stat(dst_o.store_dir, &sd) != 0 || !S_ISDIR(sd.st_mode) ||
        access(dst_o.store_dir, W_OK | X_OK) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "--store-dir %s: not a writable directory", dst_o.store_dir);
        die("store_dir_unusable", msg);
    }
    static char store_id[33];
    if (dst_report_store_id(dst_o.store_dir, store_id) != 0) /* readers then count it per URL */
        beat_log(BEAT_ERROR, "store_id_failed", "dir=%s", dst_o.store_dir);
    dst_store_cfg scfg = {
        .dir = dst_o.store_dir,
        .topic = dst_o.topic,
        .retention_ms = dst_o.retention_s * 1000,
        .report_retention_ms = dst_o.report_retention_h * 3600000,
        .max_keys = dst_o.max_keys,
        .sync_full = strcmp(dst_o.store_sync, "full") == 0,
    };
    D.store = dst_store_new(&scfg);
    if (!D.store) die("start_failed", "cannot allocate the partition stores");

    struct event_base *base = event_base_new();
    if (!base) die("start_failed", "event_base_new failed");
    int rc = 0;
    beat_http *http = beat_http_new_lim(base, dst_o.listen, 4096, false, &dst_o.http, &rc);
    if (!http) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot listen on %s: %s", dst_o.listen, strerror(-rc));
        die("listen_failed", msg);
    }
    dst_api api = {.buckets = dst_stream_buckets(D.stream),
                   .samples = dst_stream_samples(D.stream),
                   .conv_samples = dst_stream_conv_samples(D.stream),
                   .store = D.store,
                   .caps = D.caps,
                   .instance = dst_o.name,
                   .epoch = D.epoch,
                   .store_dir = dst_o.store_dir,
                   .store_id = store_id,
                   .report_workers = (int)dst_o.report_workers,
                   .report_queue_max = (int)dst_o.report_queue_max,
                   .topic = dst_o.topic};
    dst_api_install(http, &api);
    beat_http_set_health(http, on_health, NULL);
    register_metrics();

    /* The reset policy first, then --kafka-opt KEY=VALUE (a later key wins)
     * → NULL-terminated key/value pairs. A lost offset (the broker's log
     * restarted) resumes at the log's start: the store's keys make a
     * re-read harmless, a skip would lose events. */
    const char **kv = calloc((size_t)dst_o.kafka_opts.n * 2 + 3, sizeof *kv);
    if (!kv) die("start_failed", "out of memory");
    int nkv = 0;
    kv[nkv++] = "auto.offset.reset";
    kv[nkv++] = "earliest";
    for (int i = 0; i < dst_o.kafka_opts.n; i++) {
        char *eq = strchr(dst_o.kafka_opts.v[i], '=');
        if (!eq || eq == dst_o.kafka_opts.v[i]) {
            fprintf(stderr, "beat-datastream: --kafka-opt: expected KEY=VALUE, got \"%s\"\n",
                    dst_o.kafka_opts.v[i]);
            return 64;
        }
        *eq = '\0';
        kv[nkv++] = dst_o.kafka_opts.v[i];
        kv[nkv++] = eq + 1;
    }
    D.kc = beat_kconsumer_new(dst_o.brokers, dst_o.group, dst_o.topic, on_rebalance, NULL, kv);
    free(kv);
    if (!D.kc) { /* only a bad property gets here: a config error */
        fprintf(stderr, "beat-datastream: cannot create the Kafka consumer (bad "
                        "--kafka-brokers/--group/--topic/--kafka-opt, see log)\n");
        beat_log(BEAT_FATAL, "kafka_config_invalid", "brokers=%s group=%s topic=%s", dst_o.brokers,
                 dst_o.group, dst_o.topic);
        return 64;
    }
    beat_alert *alert = beat_alert_opts_new(&dst_o.alert, dst_o.name);
    dst_alerts_cfg acfg = {.brokers = dst_o.brokers,
                           .max_keys = dst_o.max_keys,
                           .fill_warn_pct = dst_o.fill_warn_pct,
                           .opts = &dst_o.alert,
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
             dst_o.name, dst_o.listen, dst_o.brokers, dst_o.topic, dst_o.group,
             (unsigned long long)D.epoch);

    event_base_dispatch(base);

    beat_log(BEAT_INFO, "stopping", "name=%s", dst_o.name);
    beat_stop_request(); /* in case the loop ended for another reason */
    pthread_join(thr, NULL);
    beat_alert_rules_stop(rules);
    if (alert) beat_alert_flush(alert, 2000);
    beat_alert_free(alert);
    beat_loop_timer_free(stop_ev);
    dst_api_stop(&api); /* its workers answer through http */
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
    beat_log(BEAT_INFO, "stopped", "name=%s", dst_o.name);
    return 0;
}
