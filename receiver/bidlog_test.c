/* Bid-log path of the receiver end to end inside one process: an nng push
 * socket (as inference uses) → rcv_bidlog's pull thread → beat_kproducer →
 * an in-process librdkafka mock cluster, read back with a plain consumer.
 * Also the validation rules (only valid type=bid events pass), that a
 * missing producer drops and counts instead of failing, and that bid logs
 * stop short of the queue's end while Kafka is away (notices keep room). */
#include "bidlog.h"

#include <errno.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_nng.h"
#include "beat_test.h"

static const char BID1[] =
    "{\"v\":1,\"type\":\"bid\",\"auction\":\"AU-1\",\"imp\":\"1\",\"campaign\":\"c1\","
    "\"crid\":\"cr1\",\"price\":1500000,\"pctr\":0.0125,\"model_v\":5,\"state_v\":7,"
    "\"node\":\"inf-1\",\"ts\":1700000000123,\"feat\":[12,99,4000]}";
static const char BID2[] =
    "{\"v\":1,\"type\":\"bid\",\"auction\":\"AU-2\",\"imp\":\"2\",\"campaign\":\"c2\","
    "\"price\":900000,\"ts\":1700000000456}";

static int t_validation_without_producer(void) {
    rcv_events ev;
    rcv_events_init(&ev, NULL);
    rcv_bidlog b;
    rcv_bidlog_init(&b, &ev);
    uint64_t inv0 = beat_counter_get(b.invalid), ok0 = beat_counter_get(b.accepted);
    uint64_t drop0 = beat_counter_get(ev.dropped);
    CHECK_EQ_INT(rcv_bidlog_accept(&b, "not json", 8), -EBADMSG);
    CHECK_EQ_INT(rcv_bidlog_accept(&b, "", 0), -EBADMSG);
    static const char win[] = "{\"v\":1,\"type\":\"win\",\"auction\":\"A\",\"imp\":\"1\",\"ts\":1}";
    CHECK_EQ_INT(rcv_bidlog_accept(&b, win, sizeof win - 1), -EBADMSG);
    static const char v2[] = "{\"v\":2,\"type\":\"bid\",\"auction\":\"A\",\"imp\":\"1\",\"ts\":1}";
    CHECK_EQ_INT(rcv_bidlog_accept(&b, v2, sizeof v2 - 1), -EBADMSG);
    CHECK_EQ_INT(beat_counter_get(b.invalid) - inv0, 4);
    /* Valid, but no producer: counted as accepted, then dropped. */
    CHECK(rcv_bidlog_accept(&b, BID1, sizeof BID1 - 1) < 0);
    CHECK_EQ_INT(beat_counter_get(b.accepted) - ok0, 1);
    CHECK_EQ_INT(beat_counter_get(ev.dropped) - drop0, 1);
    /* an inference node's opportunity summary is a bid log too */
    static const char opp[] = "{\"v\":1,\"type\":\"opp\",\"node\":\"inf-1\",\"campaign\":\"c1\","
                              "\"ts\":1700000000000,\"n\":12}";
    CHECK(rcv_bidlog_accept(&b, opp, sizeof opp - 1) < 0); /* no producer: dropped */
    CHECK_EQ_INT(beat_counter_get(b.accepted) - ok0, 2);
    static const char opp0[] = "{\"v\":1,\"type\":\"opp\",\"node\":\"inf-1\",\"campaign\":\"c1\","
                               "\"ts\":1700000000000,\"n\":0}";
    CHECK_EQ_INT(rcv_bidlog_accept(&b, opp0, sizeof opp0 - 1), -EBADMSG);
    rcv_bidlog_fini(&b);
    return 0;
}

/* Reads up to want messages from every partition of topic, from the start;
 * each is decoded into evs[i] with its key checked against the auction id
 * (bad_keys counts mismatches). Messages are destroyed before the handle,
 * which librdkafka requires (else rd_kafka_destroy waits for ever). */
static int consume(const char *bootstraps, const char *topic, int parts, beat_event *evs, int want,
                   int timeout_ms, int *bad) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "bidlog-test", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    beat_kafka_route_logs(conf);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) return -1;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    int n = 0;
    *bad = 0;
    int64_t deadline = beat_mono_ms() + timeout_ms;
    while (n < want && beat_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err) {
            beat_reason why;
            if (beat_event_decode(m->payload, m->len, &evs[n], &why) != 0 ||
                m->key_len != strlen(evs[n].auction) ||
                memcmp(m->key, evs[n].auction, m->key_len) != 0)
                (*bad)++;
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

static int t_nng_to_kafka(void) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    beat_kafka_route_logs(conf);
    rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    CHECK(host != NULL);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(host, 1);
    CHECK(mc != NULL);
    CHECK_EQ_INT(rd_kafka_mock_topic_create(mc, "bidlog.test", 4, 1), 0);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);

    beat_kproducer *prod = beat_kproducer_new(boot, "bidlog.test", 1000, NULL);
    CHECK(prod != NULL);
    rcv_events ev;
    rcv_events_init(&ev, prod);
    rcv_bidlog b;
    rcv_bidlog_init(&b, &ev);
    uint64_t ok0 = beat_counter_get(b.accepted), inv0 = beat_counter_get(b.invalid);
    char url[128];
    snprintf(url, sizeof url, "ipc:///tmp/beat-bidlog-test-%d.ipc", (int)getpid());
    CHECK_EQ_INT(rcv_bidlog_start(&b, url, 65536), 0);

    nng_socket push;
    CHECK_EQ_INT(beat_nng_push_open(&push, url, 16), 0);
    /* The dial is asynchronous: resend until the pull side counted them. */
    int64_t deadline = beat_mono_ms() + 10000;
    int sent = 0;
    /* The second message is a batch (--bidlog-batch): each line is judged
     * on its own, so the garbage one does not take the valid one down. */
    char batch[1024];
    snprintf(batch, sizeof batch, "{garbage\n%s\n", BID2);
    while (sent < 2 && beat_mono_ms() < deadline) {
        const char *m = sent == 0 ? BID1 : batch;
        if (beat_nng_send_nb(push, m, strlen(m)) == 0) sent++;
        else beat_stop_sleep_ms(20);
    }
    CHECK_EQ_INT(sent, 2);
    while (beat_mono_ms() < deadline &&
           (beat_counter_get(b.accepted) - ok0 < 2 || beat_counter_get(b.invalid) - inv0 < 1))
        beat_stop_sleep_ms(20);
    CHECK_EQ_INT(beat_counter_get(b.accepted) - ok0, 2);
    CHECK_EQ_INT(beat_counter_get(b.invalid) - inv0, 1);

    beat_event evs[2];
    int bad = 0;
    int n = consume(boot, "bidlog.test", 4, evs, 2, 10000, &bad);
    bool seen1 = false, seen2 = false;
    for (int i = 0; i < n; i++) {
        const beat_event *e = &evs[i];
        if (e->type != BEAT_EV_BID) bad++;
        if (strcmp(e->auction, "AU-1") == 0)
            seen1 = e->price_cpm_micros == 1500000 && e->n_feat == 3 && e->feat[2] == 4000 &&
                    e->model_version == 5 && strcmp(e->node, "inf-1") == 0;
        if (strcmp(e->auction, "AU-2") == 0) seen2 = true;
    }
    /* Delivery reports arrive on the producer's own polling thread. */
    beat_kproducer_stats st;
    int64_t dl = beat_mono_ms() + 5000;
    do {
        beat_kproducer_get_stats(prod, &st);
    } while (st.delivered < 2 && beat_mono_ms() < dl && !beat_stop_sleep_ms(20));
    nng_close(push);
    rcv_bidlog_fini(&b);            /* no sends after this: the producer may go */
    unlink(url + strlen("ipc://")); /* nng leaves the socket file behind */
    beat_kproducer_free(prod, 1000);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(host);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(bad, 0);
    CHECK(seen1);
    CHECK(seen2);
    CHECK_EQ_INT(st.sent, 2);
    CHECK_EQ_INT(st.delivered, 2);
    CHECK_EQ_INT(st.dropped, 0);
    return 0;
}

/* With Kafka unreachable the queue only grows: bid logs stop at shed_at
 * (counted as shed and dropped), leaving the rest of the queue to notices. */
static int t_shed_keeps_room_for_notices(void) {
    beat_kproducer *prod = beat_kproducer_new("127.0.0.1:1", "bidlog.shed", 10, NULL);
    CHECK(prod != NULL);
    rcv_events ev;
    rcv_events_init(&ev, prod);
    rcv_bidlog b;
    rcv_bidlog_init(&b, &ev);
    b.shed_at = 4;
    uint64_t shed0 = beat_counter_get(b.shed), drop0 = beat_counter_get(ev.dropped);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(rcv_bidlog_accept(&b, BID1, sizeof BID1 - 1), 0);
    CHECK_EQ_INT(rcv_bidlog_accept(&b, BID2, sizeof BID2 - 1), -ENOBUFS);
    CHECK_EQ_INT(beat_counter_get(b.shed) - shed0, 1);
    CHECK_EQ_INT(beat_counter_get(ev.dropped) - drop0, 1);
    CHECK_EQ_INT(beat_kproducer_queued(prod), 4);
    /* A notice still fits: the queue's own bound is 10. */
    beat_buf scratch;
    beat_buf_init(&scratch, RCV_EVENT_MAX);
    beat_event win = {.type = BEAT_EV_WIN, .ts_ms = 1700000000000LL};
    snprintf(win.auction, sizeof win.auction, "AU-W");
    snprintf(win.imp, sizeof win.imp, "1");
    CHECK_EQ_INT(rcv_events_send(&ev, &win, &scratch), 0);
    CHECK_EQ_INT(beat_kproducer_queued(prod), 5);
    beat_buf_fini(&scratch);
    rcv_bidlog_fini(&b);
    beat_kproducer_free(prod, 0);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("receiver-test", BEAT_WARN);
    static const beat_test_case cases[] = {
        {"validation_without_producer", t_validation_without_producer},
        {"nng_to_kafka", t_nng_to_kafka},
        {"shed_keeps_room_for_notices", t_shed_keeps_room_for_notices},
        {NULL, NULL},
    };
    return beat_test_main("receiver_bidlog", cases, argc, argv);
}
