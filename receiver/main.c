/* beat-receiver: the stateless edge that turns exchange notices (/win /bill
 * /loss /imp /click) and inference bid logs (nng pull) into Kafka events
 * keyed by auction id (docs/contracts.md "Events on Kafka"). Flags and wiring
 * live here; the work is in notices.c, bidlog.c and events.c. Kafka being
 * down must never block or crash anything: the producer's bounded queue is
 * the spool that waits it out; when it is full a notice gets 503 and a bid
 * log is dropped and counted (docs/operations.md "The receiver's spool"). */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_fx.h"
#include "beat_http.h"
#include "beat_kafka.h"
#include "beat_log.h"
#include "beat_loop.h"
#include "beat_notice.h"
#include "beat_util.h"
#include "bidlog.h"
#include "events.h"
#include "heartbeat.h"
#include "notices.h"

#define MAX_WORKERS 64

static char *o_listen, *o_admin, *o_bidlog, *o_brokers, *o_topic, *o_secret, *o_name, *o_log_level,
    *o_rates;
static beat_fx g_fx; /* read-only once the workers start */
static bool o_reuseport, o_dev;
static int64_t o_queue_max, o_max_age_s, o_max_body, o_workers, o_bidlog_max, o_msg_timeout_ms,
    o_retry_after_s, o_bidlog_pct, o_heartbeat_ms;
static double o_qwarn, o_qerror;
static bool o_accept_v1;
static char *o_conv_param;
static int64_t o_conv_max_age_s;
static beat_alert_opts o_alert;

static beat_http_limits o_http = BEAT_HTTP_LIMITS_DEFAULT;
static char *o_sim_clock; /* --sim-clock: engine time spec */
/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "listen", .env = "BEAT_RECEIVER_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8081",
     .help = "HTTP address for notices, /healthz, /metrics"},
    {.name = "reuseport", .env = "BEAT_RECEIVER_REUSEPORT",
     .type = BEAT_OPT_BOOL, .dst = &o_reuseport, .def = "false",
     .help = "share --listen with other receiver processes on this host (SO_REUSEPORT; "
             "the kernel spreads connections over them); each needs its own "
             "--bidlog-listen and --admin-listen"},
    {.name = "admin-listen", .env = "BEAT_RECEIVER_ADMIN_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_admin, .def = "",
     .help = "extra HTTP address serving only this process's /healthz and /metrics "
             "(empty = none): with --reuseport, --listen reaches any of the receivers"},
    {.name = "bidlog-listen", .env = "BEAT_RECEIVER_BIDLOG",
     .type = BEAT_OPT_STR, .dst = &o_bidlog, .def = "tcp://127.0.0.1:7101",
     .help = "nng pull address for inference bid logs (one address; inference's "
             "--receiver-bidlog lists every receiver's)"},
    {.name = "bidlog-max-bytes", .env = "BEAT_RECEIVER_BIDLOG_MAX_BYTES",
     .type = BEAT_OPT_INT, .dst = &o_bidlog_max, .def = "65536", .min = 1024, .max = 16777216,
     .help = "largest bid-log message accepted (nng drops bigger ones silently)"},
    BEAT_OPT_KAFKA_BROKERS(&o_brokers),
    BEAT_OPT_KAFKA_TOPIC(&o_topic, "Kafka topic for events"),
    {.name = "queue-max", .env = "BEAT_RECEIVER_QUEUE_MAX",
     .type = BEAT_OPT_INT, .dst = &o_queue_max, .def = "100000", .min = 1, .max = 10000000,
     .help = "events held locally while Kafka is slow or down (the spool); beyond it a "
             "notice is answered 503 and a bid log dropped, both counted"},
    {.name = "message-timeout-ms", .env = "BEAT_RECEIVER_MESSAGE_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_msg_timeout_ms, .def = "0", .min = 0, .max = 2147483647,
     .help = "how long a queued event waits for Kafka before it is given up as a delivery "
             "error (librdkafka message.timeout.ms); 0 = until delivered, so a notice "
             "answered 2xx survives any outage the queue can hold"},
    {.name = "bidlog-spool-pct", .env = "BEAT_RECEIVER_BIDLOG_SPOOL_PCT",
     .type = BEAT_OPT_INT, .dst = &o_bidlog_pct, .def = "50", .min = 1, .max = 100,
     .help = "bid logs are dropped once the local queue is this % of --queue-max, so "
             "notices keep the rest (100 = bid logs may fill it)"},
    {.name = "heartbeat-ms", .env = "BEAT_RECEIVER_HEARTBEAT_MS",
     .type = BEAT_OPT_INT, .dst = &o_heartbeat_ms, .def = "1000", .min = 50, .max = 60000,
     .help = "how often a heartbeat event (type hb: --name, time, events lost so far) goes "
             "into every partition of the topic, so datastream can tell no notices from no "
             "news (docs/contracts.md \"Heartbeats\")"},
    {.name = "retry-after-s", .env = "BEAT_RECEIVER_RETRY_AFTER_S",
     .type = BEAT_OPT_INT, .dst = &o_retry_after_s, .def = "10", .min = 1, .max = 3600,
     .help = "Retry-After of the 503 answered while the queue is full"},
    BEAT_OPT_NOTICE_SECRET(&o_secret, "HMAC key of notice signatures (same as inference); "
                                      "required unless --dev"),
    BEAT_OPT_DEV(&o_dev),
    BEAT_OPT_FX(&o_rates),
    {.name = "notice-max-age-s", .env = "BEAT_RECEIVER_NOTICE_MAX_AGE_S",
     .type = BEAT_OPT_INT, .dst = &o_max_age_s, .def = "3600", .min = 1, .max = 30 * 86400,
     .help = "notices signed longer ago than this are refused (410)"},
    {.name = "notice-accept-v1", .env = "BEAT_RECEIVER_NOTICE_ACCEPT_V1",
     .type = BEAT_OPT_BOOL, .dst = &o_accept_v1, .def = "false",
     .help = "also accept signature v1 notices (type and creative unsigned); for the upgrade "
             "only: turn off --notice-max-age-s after the last v1 inference node is gone"},
    {.name = "conv-param", .env = "BEAT_RECEIVER_CONV_PARAM",
     .type = BEAT_OPT_STR, .dst = &o_conv_param, .def = "beat_cv",
     .help = "query parameter that carries a click's conversion token to its landing page "
             "(docs/contracts.md \"Conversions\"); \"\" = hand out no tokens"},
    {.name = "conv-max-age-s", .env = "BEAT_RECEIVER_CONV_MAX_AGE_S",
     .type = BEAT_OPT_INT, .dst = &o_conv_max_age_s, .def = "2592000", .min = 1,
     .max = 2592000,
     .help = "conversions later than this after their click are refused (410), whatever "
             "the campaign's window"},
    {.name = "max-body", .env = "BEAT_RECEIVER_MAX_BODY",
     .type = BEAT_OPT_INT, .dst = &o_max_body, .def = "16384", .min = 256, .max = 1048576,
     .help = "largest POST body (bytes)"},
    {.name = "workers", .env = "BEAT_RECEIVER_WORKERS",
     .type = BEAT_OPT_INT, .dst = &o_workers, .def = "1", .min = 1, .max = MAX_WORKERS,
     .help = "HTTP event loops (SO_REUSEPORT when more than one)"},
    BEAT_ALERT_OPTS(&o_alert),
    {.name = "alert-queue-warn-pct", .env = "BEAT_ALERT_KAFKA_QUEUE_WARN_PCT",
     .type = BEAT_OPT_DBL, .dst = &o_qwarn, .def = "80", .min = 0, .max = 100,
     .help = "warn when the local Kafka queue is this % of --queue-max (0 = off)"},
    {.name = "alert-queue-error-pct", .env = "BEAT_ALERT_KAFKA_QUEUE_ERROR_PCT",
     .type = BEAT_OPT_DBL, .dst = &o_qerror, .def = "95", .min = 0, .max = 100,
     .help = "error when the local Kafka queue is this % of --queue-max (0 = off)"},
    {.name = "name", .env = "BEAT_RECEIVER_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "receiver-1",
     .help = "instance name"},
    BEAT_HTTP_OPTS(o_http),
    BEAT_OPT_SIM_CLOCK(&o_sim_clock),
    BEAT_OPT_LOG_LEVEL(&o_log_level),
    BEAT_OPT_END,
};
/* clang-format on */

typedef struct worker {
    struct event_base *base;
    beat_http *http;
    beat_loop_timer *tick; /* stop watch */
    rcv_worker_bufs bufs;
    pthread_t thr;
} worker;

static struct {
    rcv_events events;
    rcv_notices notices;
    rcv_bidlog bidlog;
    rcv_hb hb;
    beat_kproducer *prod;
    worker w[MAX_WORKERS];
    int nw;
    beat_admin *admin; /* --admin-listen; NULL when none */
    beat_loop_timer *sync_ev;
    int64_t next_stats_ms;
} R;

/* ---- alert rule inputs (evaluator thread: atomics only) ---------------------- */

/* Events lost on the way to Kafka: refused by a full queue, or failed
 * after leaving it. */
static double a_lost(void *arg) {
    (void)arg;
    beat_kproducer_stats st;
    rcv_events_stats(&R.events, &st);
    return (double)beat_counter_get(R.events.dropped) + (double)st.delivery_errors;
}
static double a_offered(void *arg) {
    (void)arg;
    beat_kproducer_stats st;
    rcv_events_stats(&R.events, &st);
    return (double)st.sent + (double)beat_counter_get(R.events.dropped);
}
static double a_queue_pct(void *arg) {
    (void)arg;
    beat_kproducer_stats st;
    rcv_events_stats(&R.events, &st);
    return 100.0 * (double)st.queued / (double)o_queue_max;
}

/* The same as a heartbeat's "lost" (heartbeat thread). */
static int64_t hb_lost(void *arg) {
    (void)arg;
    return (int64_t)a_lost(NULL);
}

static beat_alert_rules *start_rules(beat_alert *a) {
    char what[300];
    snprintf(what, sizeof what, "Kafka %s unreachable", o_brokers);
    beat_alert_rule rules[] = {
        BEAT_KAFKA_UNREACHABLE_RULE(what, &o_alert),
        {.name = "kafka_drop_rate",
         .what = "events lost on the way to Kafka",
         .unit = "%",
         .kind = BEAT_RULE_RATIO,
         .value = a_lost,
         .total = a_offered,
         .warn = o_alert.drop_warn_pct,
         .error = o_alert.drop_error_pct},
        {.name = "kafka_queue_full",
         .what = "local Kafka queue fill",
         .unit = "%",
         .kind = BEAT_RULE_VALUE,
         .value = a_queue_pct,
         .warn = o_qwarn,
         .error = o_qerror},
    };
    return beat_alert_rules_start(a, rules, (int)(sizeof rules / sizeof rules[0]), o_alert.eval_ms);
}

static bool health(void *arg, beat_buf *d) {
    (void)arg;
    beat_kproducer_stats st;
    rcv_events_stats(&R.events, &st);
    beat_buf_puts(d, "\"name\":");
    beat_buf_json_str(d, o_name, strlen(o_name));
    beat_buf_printf(d,
                    ",\"kafka_sent\":%llu,\"kafka_delivered\":%llu,"
                    "\"kafka_dropped\":%llu,\"kafka_delivery_errors\":%llu,"
                    "\"kafka_queued\":%lld,\"notices\":%llu,\"notices_refused\":%llu,"
                    "\"workers\":%d,\"heartbeat_partitions\":%d",
                    (unsigned long long)st.sent, (unsigned long long)st.delivered,
                    (unsigned long long)st.dropped, (unsigned long long)st.delivery_errors,
                    (long long)st.queued, (unsigned long long)rcv_notices_accepted(&R.notices),
                    (unsigned long long)rcv_notices_refused(&R.notices), R.nw,
                    (int)atomic_load(&R.hb.partitions));
    return R.prod != NULL;
}

static void log_stats(void) {
    beat_kproducer_stats st;
    rcv_events_stats(&R.events, &st);
    beat_log(
        BEAT_INFO, "stats",
        "notices=%llu test_notices=%llu v1_notices=%llu rejected=%llu refused=%llu "
        "bidlogs=%llu bidlog_invalid=%llu bidlogs_shed=%llu "
        "kafka_sent=%llu kafka_delivered=%llu kafka_dropped=%llu "
        "kafka_delivery_errors=%llu kafka_queued=%lld kafka_unreachable_s=%.0f",
        (unsigned long long)rcv_notices_accepted(&R.notices),
        (unsigned long long)rcv_notices_test(&R.notices),
        (unsigned long long)beat_counter_get(R.notices.v1),
        (unsigned long long)rcv_notices_rejected(&R.notices),
        (unsigned long long)rcv_notices_refused(&R.notices),
        (unsigned long long)beat_counter_get(R.bidlog.accepted),
        (unsigned long long)beat_counter_get(R.bidlog.invalid),
        (unsigned long long)beat_counter_get(R.bidlog.shed), (unsigned long long)st.sent,
        (unsigned long long)st.delivered, (unsigned long long)beat_counter_get(R.events.dropped),
        (unsigned long long)st.delivery_errors, (long long)st.queued, beat_kafka_unreachable_s());
}

/* Worker 0 only: mirror producer counts into metrics; stats every 10 s. */
static void sync_tick(void *arg) {
    (void)arg;
    rcv_events_sync(&R.events);
    int64_t now = beat_mono_ms();
    if (now >= R.next_stats_ms) {
        R.next_stats_ms = now + 10000;
        log_stats();
    }
}

static int worker_init(worker *w, bool reuseport) {
    int err = 0;
    w->base = event_base_new();
    if (!w->base) return -ENOMEM;
    w->http = beat_http_new_lim(w->base, o_listen, (size_t)o_max_body, reuseport, &o_http, &err);
    if (!w->http) return err ? err : -EIO;
    rcv_worker_bufs_init(&w->bufs, &R.notices, (size_t)o_max_body);
    rcv_notices_route(w->http, &w->bufs);
    beat_http_set_health(w->http, health, NULL);
    /* Every worker leaves its loop once SIGTERM arrived. */
    w->tick = beat_loop_stop_watch(w->base);
    return w->tick ? 0 : -ENOMEM;
}

static void worker_fini(worker *w) {
    beat_loop_timer_free(w->tick);
    beat_http_free(w->http);
    if (w->http) rcv_worker_bufs_fini(&w->bufs);
    if (w->base) event_base_free(w->base);
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-receiver", "receiver",
                       "Receives win/bill/loss/imp/click notices and bid logs and "
                       "produces them to Kafka.",
                       opts, argc, argv, &o_log_level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-receiver", o_sim_clock) != 0) return 64;
    if (beat_cfg_secret("beat-receiver", "notice-secret", "BEAT_NOTICE_SECRET", &o_secret,
                        BEAT_NOTICE_DEV_SECRET, o_dev) != 0)
        return 64;
    if (!o_name[0] || strlen(o_name) > BEAT_ID_MAX) { /* it names the heartbeats */
        fprintf(stderr, "beat-receiver: --name: must be 1..%d bytes\n", BEAT_ID_MAX);
        return 64;
    }
    beat_reason fx_why = {{0}};
    if (beat_fx_parse(o_rates, &g_fx, &fx_why) != 0) {
        fprintf(stderr, "beat-receiver: --currency-rates: %s\n", fx_why.msg);
        return 64;
    }
    /* BEAT_RECEIVER_BIDLOG is also inference's twin, where it may list every
     * receiver: a receiver listens on one address of its own. */
    if (strchr(o_bidlog, ',')) {
        fprintf(stderr,
                "beat-receiver: --bidlog-listen: one address per receiver, "
                "not a list (got %s)\n",
                o_bidlog);
        return 64;
    }
    beat_stop_install();
    beat_cfg_log(opts);

    /* Creating the producer does not contact the broker: Kafka may be down.
     * A notice answered 2xx must not be dropped later: no message timeout
     * by default, and retries bounded only by it (librdkafka 2.0.2 gives up
     * on a message when either runs out), so the queue holds every event
     * until Kafka takes it, and fills — 503 — instead of draining as delivery
     * errors. Retries never block a caller and may duplicate (datastream
     * dedups by (auction, imp, type)). */
    char tmo[24];
    snprintf(tmo, sizeof tmo, "%lld", (long long)o_msg_timeout_ms);
    const char *spool_kv[] = {"message.timeout.ms", tmo, "message.send.max.retries", "2147483647",
                              NULL};
    R.prod = beat_kproducer_new(o_brokers, o_topic, o_queue_max, spool_kv);
    if (!R.prod) {
        beat_log(BEAT_FATAL, "kafka_config_invalid", "brokers=%s topic=%s", o_brokers, o_topic);
        return 64;
    }
    rcv_events_init(&R.events, R.prod);
    rcv_notice_cfg ncfg = {
        .secret = o_secret,
        .secret_len = strlen(o_secret),
        .max_age_ms = o_max_age_s * 1000,
        .max_future_ms = 5 * 60 * 1000,
        .accept_v1 = o_accept_v1,
        .conv_param = o_conv_param,
        .conv_max_age_ms = o_conv_max_age_s * 1000,
        .retry_after_s = (int)o_retry_after_s,
        .fx = &g_fx,
    };
    rcv_notices_init(&R.notices, &ncfg, &R.events);
    rcv_bidlog_init(&R.bidlog, &R.events);
    if (o_bidlog_pct < 100) {
        int64_t at = o_queue_max * o_bidlog_pct / 100;
        R.bidlog.shed_at = at > 0 ? at : 1;
    }

    int rc = 0;
    R.nw = (int)o_workers;
    for (int i = 0; i < R.nw && rc == 0; i++) {
        rc = worker_init(&R.w[i], R.nw > 1 || o_reuseport);
        if (rc != 0) beat_log(BEAT_FATAL, "listen_failed", "listen=%s err=%d", o_listen, rc);
    }
    if (rc == 0 && *o_admin &&
        !(R.admin = beat_admin_start_lim(o_admin, health, NULL, &o_http, &rc)))
        beat_log(BEAT_FATAL, "listen_failed", "listen=%s err=%d", o_admin, rc);
    if (rc == 0 && (rc = rcv_bidlog_start(&R.bidlog, o_bidlog, (size_t)o_bidlog_max)) != 0)
        beat_log(BEAT_FATAL, "bidlog_listen_failed", "url=%s err=%d", o_bidlog, rc);
    if (rc != 0) {
        beat_admin_stop(R.admin);
        rcv_bidlog_fini(&R.bidlog);
        for (int i = 0; i < R.nw; i++) worker_fini(&R.w[i]);
        beat_kproducer_free(R.prod, 0);
        return 1;
    }

    if ((rc = rcv_hb_start(&R.hb, R.prod, o_name, o_heartbeat_ms, hb_lost, NULL)) != 0)
        beat_log(BEAT_ERROR, "heartbeat_unavailable", "err=%d", rc); /* notices still flow */
    beat_alert *alert = beat_alert_opts_new(&o_alert, o_name);
    beat_alert_rules *rules = alert ? start_rules(alert) : NULL;
    if (!rules) beat_log(BEAT_ERROR, "alerts_unavailable", "msg=\"alert rules not started\"");
    R.sync_ev = beat_loop_every(R.w[0].base, 1000, sync_tick, NULL);
    R.next_stats_ms = beat_mono_ms() + 10000;

    int started = 1;
    for (int i = 1; i < R.nw; i++, started++)
        if (pthread_create(&R.w[i].thr, NULL, beat_loop_thread, R.w[i].base) != 0) break;
    beat_log(BEAT_INFO, "ready",
             "listen=%s reuseport=%d admin=%s bidlog=%s brokers=%s topic=%s workers=%d", o_listen,
             (int)o_reuseport, *o_admin ? o_admin : "-", o_bidlog, o_brokers, o_topic, started);
    event_base_dispatch(R.w[0].base);

    beat_log(BEAT_INFO, "stopping", "name=%s", o_name);
    for (int i = 1; i < started; i++) pthread_join(R.w[i].thr, NULL);
    beat_alert_rules_stop(rules);
    if (alert) beat_alert_flush(alert, 2000);
    beat_alert_free(alert);
    rcv_bidlog_fini(&R.bidlog);
    beat_admin_stop(R.admin);
    beat_loop_timer_free(R.sync_ev);
    for (int i = 0; i < R.nw; i++) worker_fini(&R.w[i]);
    /* After the last notice was queued: the goodbye follows them in every
     * partition, and the flush below delivers it with them. */
    rcv_hb_stop(&R.hb, true);
    log_stats();
    beat_kproducer_free(R.prod, 2000);
    R.prod = NULL;
    beat_log(BEAT_INFO, "stopped", "name=%s", o_name);
    return 0;
}
