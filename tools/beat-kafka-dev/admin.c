/* Admin endpoints of the dev broker on its libevent loop (main.c): the
 * health detail (bootstrap address, brokers, topic) and fault injection for
 * recovery tests, which wrap librdkafka's mock fault API (DESIGN §9):
 *   POST /fault/broker?id=N&state=down|up   broker N stops/starts answering
 *   POST /fault/rtt?id=N&ms=M               adds M ms round-trip to broker N
 * Every input is validated; a bad request gets 400, never a crash. */
#include "admin.h"

#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"

static beat_counter *faults_total;

static bool health(void *arg, beat_buf *detail) {
    kdev_cluster *c = arg;
    beat_buf_puts(detail, "\"bootstrap\":");
    beat_buf_json_str(detail, c->bootstraps, strlen(c->bootstraps));
    beat_buf_puts(detail, ",\"topic\":");
    beat_buf_json_str(detail, c->topic, strlen(c->topic));
    beat_buf_printf(detail, ",\"brokers\":%d,\"partitions\":%d", c->brokers,
                    c->partitions);
    return c->mcluster != NULL;
}

static bool is_post(struct evhttp_request *req) {
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) return true;
    beat_http_reply_error(req, 405, "use POST");
    return false;
}

static void fault_broker(struct evhttp_request *req, void *arg) {
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
    rd_kafka_resp_err_t e =
        strcmp(state, "down") == 0
            ? rd_kafka_mock_broker_set_down(c->mcluster, (int32_t)id)
            : rd_kafka_mock_broker_set_up(c->mcluster, (int32_t)id);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        beat_http_reply_error(req, 400, rd_kafka_err2str(e));
        return;
    }
    beat_counter_inc(faults_total);
    beat_log(BEAT_WARN, "kafka_dev_fault", "broker=%lld state=%s",
             (long long)id, state);
    beat_http_reply_json(req, 200, "{\"ok\":true}", 11);
}

static void fault_rtt(struct evhttp_request *req, void *arg) {
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
    rd_kafka_resp_err_t e =
        rd_kafka_mock_broker_set_rtt(c->mcluster, (int32_t)id, (int)ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        beat_http_reply_error(req, 400, rd_kafka_err2str(e));
        return;
    }
    beat_counter_inc(faults_total);
    beat_log(BEAT_WARN, "kafka_dev_fault", "broker=%lld rtt_ms=%lld",
             (long long)id, (long long)ms);
    beat_http_reply_json(req, 200, "{\"ok\":true}", 11);
}

void kdev_admin_install(beat_http *h, kdev_cluster *c) {
    faults_total = beat_counter_new("beat_kafka_dev_faults_total",
                                    "Faults injected through /fault/*");
    beat_gauge *g = beat_gauge_new("beat_kafka_dev_brokers",
                                   "Mock brokers in the dev cluster");
    beat_gauge_set(g, c->brokers);
    beat_http_set_health(h, health, c);
    beat_http_route(h, "/fault/broker", fault_broker, c);
    beat_http_route(h, "/fault/rtt", fault_rtt, c);
}
