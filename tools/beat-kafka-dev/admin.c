/* Admin endpoints of the dev broker on its libevent loop (main.c): the
 * health detail (bootstrap address, brokers, topic) and fault injection for
 * recovery tests, which wrap librdkafka's mock fault API
 * (docs/operations.md "The dev broker"):
 *   POST /fault/broker?id=N&state=down|up   broker N stops/starts answering
 *   POST /fault/rtt?id=N&ms=M               adds M ms round-trip to broker N
 *   POST /fault/errors?api=K&err=E&count=C  the next C requests of Kafka API
 *        key K (0 Produce, 1 Fetch, 2 ListOffsets, 3 Metadata, 8 OffsetCommit,
 *        9 OffsetFetch, 10 FindCoordinator, 11 JoinGroup, 12 Heartbeat, 14
 *        SyncGroup) fail with error E (a code or a name such as
 *        NOT_LEADER_FOR_PARTITION or _TRANSPORT, which disconnects the client)
 * Every input is validated; a bad request gets 400, never a crash. */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"

static beat_counter *faults_total;

static bool health(void *arg, beat_buf *detail) {
    kdev_cluster *c = arg;
    beat_buf_puts(detail, "\"bootstrap\":");
    beat_buf_json_str(detail, c->bootstraps, strlen(c->bootstraps));
    beat_buf_puts(detail, ",\"topic\":");
    beat_buf_json_str(detail, c->topic, strlen(c->topic));
    beat_buf_printf(detail, ",\"brokers\":%d,\"partitions\":%d", c->brokers, c->partitions);
    return c->mcluster != NULL;
}

static bool is_post(beat_http_req *req) {
    if (beat_http_req_method(req) == BEAT_HTTP_POST) return true;
    beat_http_reply_error(req, 405, "use POST");
    return false;
}

static void fault_broker(beat_http_req *req, void *arg) {
    kdev_cluster *c = arg;
    if (!is_post(req)) return;
    int64_t id;
    char state[16];
    if (beat_http_query_i64(req, "id", -1, 1, c->brokers, &id) != 0 || id < 0) {
        beat_http_reply_error(req, 400, "id must be a broker id (1..brokers)");
        return;
    }
    if (beat_http_query(req, "state", state, sizeof state) != 0 ||
        (strcmp(state, "down") != 0 && strcmp(state, "up") != 0)) {
        beat_http_reply_error(req, 400, "state must be down or up");
        return;
    }
    rd_kafka_resp_err_t e = strcmp(state, "down") == 0
                                ? rd_kafka_mock_broker_set_down(c->mcluster, (int32_t)id)
                                : rd_kafka_mock_broker_set_up(c->mcluster, (int32_t)id);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        beat_http_reply_error(req, 400, rd_kafka_err2str(e));
        return;
    }
    beat_counter_inc(faults_total);
    beat_log(BEAT_WARN, "kafka_dev_fault", "broker=%lld state=%s", (long long)id, state);
    beat_http_reply_json(req, 200, "{\"ok\":true}", 11);
}

static void fault_rtt(beat_http_req *req, void *arg) {
    kdev_cluster *c = arg;
    if (!is_post(req)) return;
    int64_t id, ms;
    if (beat_http_query_i64(req, "id", -1, 1, c->brokers, &id) != 0 || id < 0) {
        beat_http_reply_error(req, 400, "id must be a broker id (1..brokers)");
        return;
    }
    if (beat_http_query_i64(req, "ms", -1, 0, 60000, &ms) != 0 || ms < 0) {
        beat_http_reply_error(req, 400, "ms must be 0..60000");
        return;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_rtt(c->mcluster, (int32_t)id, (int)ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        beat_http_reply_error(req, 400, rd_kafka_err2str(e));
        return;
    }
    beat_counter_inc(faults_total);
    beat_log(BEAT_WARN, "kafka_dev_fault", "broker=%lld rtt_ms=%lld", (long long)id, (long long)ms);
    beat_http_reply_json(req, 200, "{\"ok\":true}", 11);
}

/* An error code by number or by librdkafka's name ("_TRANSPORT",
 * "NOT_COORDINATOR"); false if neither. */
static bool parse_err(const char *s, rd_kafka_resp_err_t *out) {
    const struct rd_kafka_err_desc *descs;
    size_t n;
    int64_t code;
    rd_kafka_get_err_descs(&descs, &n);
    bool numeric = beat_parse_i64(s, &code) == 0;
    for (size_t i = 0; i < n; i++) {
        if (!descs[i].name) continue;
        if (numeric ? (int64_t)descs[i].code == code : strcasecmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return true;
        }
    }
    return false;
}

static void fault_errors(beat_http_req *req, void *arg) {
    kdev_cluster *c = arg;
    if (!is_post(req)) return;
    int64_t api, count;
    char err_s[64];
    rd_kafka_resp_err_t err;
    if (beat_http_query_i64(req, "api", -1, 0, 1000, &api) != 0 || api < 0) {
        beat_http_reply_error(req, 400, "api must be a Kafka API key (0..1000)");
        return;
    }
    if (beat_http_query_i64(req, "count", 1, 1, 100000, &count) != 0) {
        beat_http_reply_error(req, 400, "count must be 1..100000");
        return;
    }
    if (beat_http_query(req, "err", err_s, sizeof err_s) != 0 || !parse_err(err_s, &err) ||
        err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        beat_http_reply_error(req, 400, "err must be a Kafka error code or name");
        return;
    }
    rd_kafka_resp_err_t *errs = calloc((size_t)count, sizeof *errs);
    if (!errs) {
        beat_http_reply_error(req, 503, "out of memory");
        return;
    }
    for (int64_t i = 0; i < count; i++) errs[i] = err;
    rd_kafka_mock_push_request_errors_array(c->mcluster, (int16_t)api, (size_t)count, errs);
    free(errs);
    beat_counter_inc(faults_total);
    beat_log(BEAT_WARN, "kafka_dev_fault", "api=%lld err=%s count=%lld", (long long)api,
             rd_kafka_err2name(err), (long long)count);
    beat_http_reply_json(req, 200, "{\"ok\":true}", 11);
}

void kdev_admin_install(beat_http *h, kdev_cluster *c) {
    faults_total =
        beat_counter_new("beat_kafka_dev_faults_total", "Faults injected through /fault/*");
    beat_gauge *g = beat_gauge_new("beat_kafka_dev_brokers", "Mock brokers in the dev cluster");
    beat_gauge_set(g, c->brokers);
    beat_http_set_health(h, health, c);
    beat_http_route(h, "/fault/broker", fault_broker, c);
    beat_http_route(h, "/fault/rtt", fault_rtt, c);
    beat_http_route(h, "/fault/errors", fault_errors, c);
}
