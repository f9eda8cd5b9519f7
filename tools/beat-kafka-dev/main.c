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

static const beat_opt opts[] = {
    {"port", "BEAT_KAFKA_DEV_PORT", BEAT_OPT_INT, &o_port, "9092", 1, 65535,
     "first broker port on 127.0.0.1 (broker N listens on port+N-1)", false},
    {"brokers", "BEAT_KAFKA_DEV_BROKERS", BEAT_OPT_INT, &o_brokers, "1", 1, 16,
     "number of mock brokers", false},
    {"partitions", "BEAT_KAFKA_DEV_PARTITIONS", BEAT_OPT_INT, &o_partitions,
     "4", 1, 1024, "partitions of the events topic", false},
    {"topic", "BEAT_KAFKA_TOPIC", BEAT_OPT_STR, &o_topic, "beat.events", 0, -1,
     "events topic created at start", false},
    {"bootstrap-file", "BEAT_KAFKA_DEV_BOOTSTRAP_FILE", BEAT_OPT_STR,
     &o_bootstrap_file, NULL, 0, -1,
     "write the bootstrap address list here (atomically) once ready", false},
    {"bind-wait-ms", "BEAT_KAFKA_DEV_BIND_WAIT_MS", BEAT_OPT_INT,
     &o_bind_wait_ms, "5000", 0, 600000,
     "keep retrying busy broker ports this long before giving up", false},
    {"listen", "BEAT_KAFKA_DEV_LISTEN", BEAT_OPT_STR, &o_listen,
     "127.0.0.1:8086", 0, -1, "admin HTTP address (/healthz, /metrics, /fault/*)",
     false},
    {"name", "BEAT_KAFKA_DEV_NAME", BEAT_OPT_STR, &o_name, "kafka-dev-1", 0, -1,
     "instance name", false},
    {"log-level", "BEAT_LOG_LEVEL", BEAT_OPT_STR, &o_log_level, "info", 0, -1,
     "debug|info|warn|error", false},
    BEAT_OPT_END,
};

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
    int rc = kdev_cluster_init(&cluster, (int)o_port, (int)o_brokers,
                               (int)o_partitions, o_topic, (int)o_bind_wait_ms);
    if (rc != 0) {
        beat_log(BEAT_FATAL, "kafka_dev_start_failed", "port=%lld err=%d",
                 (long long)o_port, rc);
        return 1;
    }

    struct event_base *base = event_base_new();
    int err = 0;
    beat_http *http = base ? beat_http_new(base, o_listen, 4096, false, &err)
                           : NULL;
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
            beat_log(BEAT_ERROR, "bootstrap_file_failed", "path=%s err=%d",
                     o_bootstrap_file, rc);
        }
    }
    printf("%s\n", cluster.bootstraps);
    fflush(stdout);
    beat_log(BEAT_INFO, "kafka_dev_ready",
             "bootstrap=%s brokers=%d topic=%s partitions=%d admin=%s",
             cluster.bootstraps, cluster.brokers, cluster.topic,
             cluster.partitions, o_listen);

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
