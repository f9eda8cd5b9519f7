/* beat-kafka-dev: the embedded dev broker (docs/operations.md "The dev
 * broker") — librdkafka's in-memory mock cluster speaking the real Kafka
 * protocol on loopback, on stable ports (bindmap.c) so clients reconnect
 * after a restart, plus an admin HTTP server (/healthz, /metrics, fault
 * injection). For one machine and tests only: data lives in memory and starts
 * empty after a restart. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "beat_cfg.h"
#include "beat_http.h"
#include "beat_log.h"
#include "beat_loop.h"
#include "beat_util.h"
#include "cluster.h"

static int64_t o_port, o_brokers, o_partitions, o_bind_wait_ms;
static char *o_topic, *o_bootstrap_file, *o_listen, *o_log_level, *o_name;

/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "port", .env = "BEAT_KAFKA_DEV_PORT",
     .type = BEAT_OPT_INT, .dst = &o_port, .def = "9092", .min = 1, .max = 65535,
     .help = "first broker port on 127.0.0.1 (broker N listens on port+N-1)"},
    {.name = "brokers", .env = "BEAT_KAFKA_DEV_BROKERS",
     .type = BEAT_OPT_INT, .dst = &o_brokers, .def = "1", .min = 1, .max = 16,
     .help = "number of mock brokers"},
    {.name = "partitions", .env = "BEAT_KAFKA_DEV_PARTITIONS",
     .type = BEAT_OPT_INT, .dst = &o_partitions, .def = "4", .min = 1, .max = 1024,
     .help = "partitions of the events topic"},
    BEAT_OPT_KAFKA_TOPIC(&o_topic, "events topic created at start"),
    {.name = "bootstrap-file", .env = "BEAT_KAFKA_DEV_BOOTSTRAP_FILE",
     .type = BEAT_OPT_STR, .dst = &o_bootstrap_file,
     .help = "write the bootstrap address list here (atomically) once ready"},
    {.name = "bind-wait-ms", .env = "BEAT_KAFKA_DEV_BIND_WAIT_MS",
     .type = BEAT_OPT_INT, .dst = &o_bind_wait_ms, .def = "5000", .min = 0, .max = 600000,
     .help = "keep retrying busy broker ports this long before giving up"},
    {.name = "listen", .env = "BEAT_KAFKA_DEV_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8086",
     .help = "admin HTTP address (/healthz, /metrics, /fault/*)"},
    {.name = "name", .env = "BEAT_KAFKA_DEV_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "kafka-dev-1",
     .help = "instance name"},
    BEAT_OPT_LOG_LEVEL(&o_log_level),
    BEAT_OPT_END,
};
/* clang-format on */

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-kafka-dev", "kafka-dev",
                       "Embedded dev Kafka broker (librdkafka mock cluster) on "
                       "stable loopback ports.",
                       opts, argc, argv, &o_log_level) != 0)
        return 64;
    if (!o_topic || !*o_topic) {
        fprintf(stderr, "beat-kafka-dev: --topic: must not be empty\n");
        return 64;
    }
    if (o_port + o_brokers - 1 > 65535) {
        fprintf(stderr, "beat-kafka-dev: --port: port+brokers-1 > 65535\n");
        return 64;
    }
    beat_stop_install();
    beat_cfg_log(opts);

    kdev_cluster cluster;
    int rc = kdev_cluster_init(&cluster, (int)o_port, (int)o_brokers, (int)o_partitions, o_topic,
                               (int)o_bind_wait_ms);
    if (rc != 0) {
        beat_log(BEAT_FATAL, "kafka_dev_start_failed", "port=%lld err=%d", (long long)o_port, rc);
        return 1;
    }

    struct event_base *base = event_base_new();
    int err = 0;
    beat_http *http = base ? beat_http_new(base, o_listen, 4096, false, &err) : NULL;
    if (!http) {
        beat_log(BEAT_FATAL, "listen_failed", "listen=%s err=%d", o_listen, err);
        kdev_cluster_fini(&cluster);
        if (base) event_base_free(base);
        return 1;
    }
    kdev_admin_install(http, &cluster);

    if (o_bootstrap_file && *o_bootstrap_file) {
        rc = kdev_write_bootstrap(o_bootstrap_file, cluster.bootstraps);
        if (rc != 0) {
            /* Clients configured by flag still work; say so and go on. */
            beat_log(BEAT_ERROR, "bootstrap_file_failed", "path=%s err=%d", o_bootstrap_file, rc);
        }
    }
    printf("%s\n", cluster.bootstraps);
    fflush(stdout);
    beat_log(BEAT_INFO, "kafka_dev_ready",
             "bootstrap=%s brokers=%d topic=%s partitions=%d admin=%s", cluster.bootstraps,
             cluster.brokers, cluster.topic, cluster.partitions, o_listen);

    beat_loop_timer *tick = beat_loop_stop_watch(base);
    event_base_dispatch(base);

    beat_log(BEAT_INFO, "kafka_dev_stopping", "bootstrap=%s", cluster.bootstraps);
    beat_loop_timer_free(tick);
    beat_http_free(http);
    event_base_free(base);
    kdev_cluster_fini(&cluster);
    beat_log(BEAT_INFO, "stopped", "bootstrap=%s", cluster.bootstraps);
    return 0;
}
