/* librdkafka statistics → metrics (beat_kafka_route_stats), against an
 * in-process mock cluster: a producer's statistics show the broker UP,
 * its queue and the metric families; with the broker down, "unreachable"
 * grows; with it back, it returns to 0. The cases poll with deadlines of
 * several statistics intervals. Also the shared conf start and the
 * "kafka_log" line of the producer and the consumer (stderr captured). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beat_kafka.h" /* rdkafka.h first: rdkafka_mock.h needs it */
#include <librdkafka/rdkafka_mock.h>
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_test.h"
#include "beat_util.h"

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Value of one exposition line "name value" from /metrics text; NaN if absent. */
static double scrape(const char *name) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    beat_metrics_render(&b);
    double v = NAN;
    size_t n = strlen(name);
    for (const char *p = b.data; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    beat_buf_fini(&b);
    return v;
}

static bool wait_value(const char *name, bool (*ok)(double), int64_t ms) {
    int64_t end = beat_mono_ms() + ms;
    while (beat_mono_ms() < end) {
        if (ok(scrape(name))) return true;
        nap_ms(50);
    }
    return ok(scrape(name));
}
static bool positive(double v) { return v > 0; }
static bool zero(double v) { return v == 0; }

static int t_stats_follow_the_broker(void) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    beat_kafka_route_logs(conf);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    CHECK(rk != NULL);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    CHECK(mc != NULL);
    CHECK(rd_kafka_mock_topic_create(mc, "t", 2, 1) == 0);
    CHECK(beat_kafka_unreachable_s() == 0); /* nothing known yet */
    /* extra properties win over the producer's defaults: faster statistics */
    static const char *const fast[] = {"statistics.interval.ms", "200", NULL};
    beat_kproducer *p = beat_kproducer_new(rd_kafka_mock_cluster_bootstraps(mc), "t", 1000, fast);
    CHECK(p != NULL);
    CHECK(beat_kproducer_send(p, "k", 1, "v", 1) == 0);
    CHECK(wait_value("beat_kafka_brokers_up", positive, 8000));
    CHECK(beat_kafka_unreachable_s() == 0);
    CHECK(scrape("beat_kafka_unreachable_seconds") == 0);
    CHECK(!isnan(scrape("beat_kafka_queue_messages")));
    CHECK(!isnan(scrape("beat_kafka_consumer_lag_messages")));
    CHECK(!isnan(scrape("beat_kafka_broker_errors_total{kind=\"tx\"}")));
    CHECK(!isnan(scrape("beat_kafka_broker_rtt_seconds{broker=\"1\"}")));

    CHECK(rd_kafka_mock_broker_set_down(mc, 1) == 0);
    CHECK(wait_value("beat_kafka_brokers_up", zero, 8000));
    int64_t end = beat_mono_ms() + 6000;
    while (beat_kafka_unreachable_s() < 1 && beat_mono_ms() < end) nap_ms(50);
    CHECK(beat_kafka_unreachable_s() >= 1);
    CHECK(scrape("beat_kafka_unreachable_seconds") >= 1);

    CHECK(rd_kafka_mock_broker_set_up(mc, 1) == 0);
    CHECK(wait_value("beat_kafka_brokers_up", positive, 10000));
    CHECK(beat_kafka_unreachable_s() == 0);

    beat_kproducer_free(p, 0);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

static int t_conf_new(void) {
    char err[256] = "";
    static const char *const ok[] = {"linger.ms", "5", NULL};
    static const char *const bad[] = {"no.such.property", "1", NULL};
    static const char *const odd[] = {"linger.ms", NULL};
    rd_kafka_conf_t *conf = beat_kafka_conf_new(ok, NULL, err, sizeof err);
    CHECK(conf != NULL);
    char v[32];
    size_t vn = sizeof v;
    CHECK(rd_kafka_conf_get(conf, "linger.ms", v, &vn) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(v, "5");
    vn = sizeof v; /* the settings every client shares */
    CHECK(rd_kafka_conf_get(conf, "statistics.interval.ms", v, &vn) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(v, "2000");
    vn = sizeof v;
    CHECK(rd_kafka_conf_get(conf, "reconnect.backoff.max.ms", v, &vn) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(v, "1000");
    rd_kafka_conf_destroy(conf);
    CHECK(beat_kafka_conf_new(ok, bad, err, sizeof err) == NULL);
    CHECK(strstr(err, "no.such.property") != NULL);
    CHECK(strchr(err, '"') == NULL); /* one logfmt value */
    CHECK(beat_kafka_conf_new(odd, NULL, err, sizeof err) == NULL);
    CHECK_EQ_STR(err, "linger.ms: missing value");
    return 0;
}

static int t_log_safe(void) {
    char out[8];
    beat_kafka_log_safe(out, sizeof out, "a\"b\\c\nd");
    CHECK_EQ_STR(out, "a'b'c d");
    beat_kafka_log_safe(out, sizeof out, "0123456789");
    CHECK_EQ_STR(out, "0123456");
    beat_kafka_log_safe(out, sizeof out, NULL);
    CHECK_EQ_STR(out, "");
    char in_place[] = "x\"y";
    beat_kafka_log_safe(in_place, sizeof in_place, in_place);
    CHECK_EQ_STR(in_place, "x'y");
    return 0;
}

/* The producer's line names the client, the consumer's does not. */
static int t_log_line(void) {
    fflush(stderr);
    FILE *cap = tmpfile();
    CHECK(cap != NULL);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(cap), STDERR_FILENO);
    beat_log_init("beat_kafka_test", BEAT_DEBUG);
    beat_kafka_log_line("rdkafka#producer-1", 3, "FAIL", "broker \"down\"");
    beat_kafka_log_line(NULL, 6, "CONF", "fine");
    beat_log_init("beat_kafka_test", BEAT_FATAL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char buf[2048] = "";
    rewind(cap);
    size_t n = fread(buf, 1, sizeof buf - 1, cap);
    buf[n] = 0;
    fclose(cap);
    CHECK(strstr(buf, "\"lvl\":\"warn\"") != NULL);
    CHECK(strstr(buf, "\"fac\":\"FAIL\",\"client\":\"rdkafka#producer-1\",\"syslog\":3,"
                      "\"msg\":\"broker 'down'\"") != NULL);
    CHECK(strstr(buf, "\"lvl\":\"info\"") != NULL);
    CHECK(strstr(buf, "\"fac\":\"CONF\",\"syslog\":6,\"msg\":\"fine\"") != NULL);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("beat_kafka_test", BEAT_FATAL); /* broker-down warnings expected */
    static const beat_test_case cases[] = {
        {"stats_follow_the_broker", t_stats_follow_the_broker},
        {"conf_new", t_conf_new},
        {"log_safe", t_log_safe},
        {"log_line", t_log_line},
        {NULL, NULL},
    };
    return beat_test_main("beat_kafka", cases, argc, argv);
}
