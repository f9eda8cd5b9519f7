/* beat_alert against an in-process webhook sink (beat_http on its own thread):
 * fire → one post, unchanged state → none, clear inside the interval →
 * coalesced until it ends, then "resolved"; a dead webhook never makes
 * beat_alert_set wait and its losses are counted. */
#include "beat_alert.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "beat_http.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_test.h"
#include "beat_util.h"

#define MAX_POSTS 32

typedef struct sink {
    struct event_base *base;
    beat_http *http;
    pthread_t thread;
    int port;
    pthread_mutex_t mu;
    char *posts[MAX_POSTS];
    int n;
} sink;

static void on_hook(beat_http_req *req, void *arg) {
    sink *s = arg;
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    if (beat_http_body(req, &b) == 0) {
        pthread_mutex_lock(&s->mu);
        if (s->n < MAX_POSTS) s->posts[s->n++] = strdup(b.data);
        pthread_mutex_unlock(&s->mu);
    }
    beat_buf_fini(&b);
    beat_http_reply(req, 200, "text/plain", "ok", 2);
}

static void *sink_run(void *arg) {
    sink *s = arg;
    event_base_dispatch(s->base);
    return NULL;
}

/* The sink binds port 0 and reads the kernel's choice back: no races with
 * other tests for a fixed port. */
static int sink_start(sink *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    evthread_use_pthreads();
    s->base = event_base_new();
    int err = 0;
    s->http = beat_http_new(s->base, "127.0.0.1:0", 1 << 16, false, &err);
    if (!s->http) return -1;
    s->port = beat_http_port(s->http);
    if (s->port <= 0) return -1;
    beat_http_route(s->http, "/hook", on_hook, s);
    return pthread_create(&s->thread, NULL, sink_run, s) == 0 ? 0 : -1;
}

static void sink_stop(sink *s) {
    event_base_loopbreak(s->base);
    pthread_join(s->thread, NULL);
    beat_http_free(s->http);
    event_base_free(s->base);
    for (int i = 0; i < s->n; i++) free(s->posts[i]);
    pthread_mutex_destroy(&s->mu);
}

static int sink_count(sink *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static bool sink_has(sink *s, int i, const char *needle) {
    pthread_mutex_lock(&s->mu);
    bool ok = i < s->n && strstr(s->posts[i], needle) != NULL;
    if (!ok && i < s->n) fprintf(stderr, "  post %d: %s\n", i, s->posts[i]);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static int t_fire_repeat_resolve(void) {
    sink s;
    CHECK(sink_start(&s) == 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
    beat_alert_cfg cfg = {.source = "actuator", .webhook = url, .min_interval_ms = 300};
    beat_alert *a = beat_alert_new(&cfg);
    CHECK(a != NULL);
    const char *r = "supervisor_unreachable";

    CHECK_EQ_INT(beat_alert_set(a, r, BEAT_ALERT_WARN, false, "ok"), 0);
    CHECK(beat_alert_flush(a, 2000));
    CHECK_EQ_INT(sink_count(&s), 0); /* never fired: nothing to say */

    CHECK_EQ_INT(beat_alert_set(a, r, BEAT_ALERT_WARN, true, "no answer for 12 s"), 0);
    CHECK(beat_alert_firing(a, r));
    CHECK(beat_alert_flush(a, 2000));
    CHECK_EQ_INT(sink_count(&s), 1);
    CHECK(sink_has(&s, 0,
                   "{\"text\":\"[WARN] beat/actuator supervisor_unreachable: "
                   "no answer for 12 s\"}"));

    for (int i = 0; i < 5; i++) /* still firing: no new post */
        CHECK_EQ_INT(beat_alert_set(a, r, BEAT_ALERT_WARN, true, "no answer"), 0);
    CHECK(beat_alert_flush(a, 2000));
    CHECK_EQ_INT(sink_count(&s), 1);

    /* Cleared inside the interval: coalesced, posted once it has passed. */
    CHECK_EQ_INT(beat_alert_set(a, r, BEAT_ALERT_WARN, false, NULL), 0);
    CHECK(!beat_alert_firing(a, r));
    CHECK(beat_alert_flush(a, 2000));
    CHECK_EQ_INT(sink_count(&s), 1);
    int64_t deadline = beat_mono_ms() + 3000;
    while (sink_count(&s) < 2 && beat_mono_ms() < deadline) {
        CHECK_EQ_INT(beat_alert_set(a, r, BEAT_ALERT_WARN, false, NULL), 0);
        beat_alert_flush(a, 500);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK_EQ_INT(sink_count(&s), 2);
    CHECK(sink_has(&s, 1, "[RESOLVED] beat/actuator supervisor_unreachable: no answer"));

    uint64_t sent = 0, dropped = 0;
    beat_alert_stats(a, &sent, &dropped);
    CHECK_EQ_INT(sent, 2);
    CHECK_EQ_INT(dropped, 0);
    CHECK(beat_counter_get(beat_counter_new("beat_alerts_sent_total", "x")) >= 2);
    beat_buf m;
    beat_buf_init(&m, 0);
    CHECK(beat_metrics_render(&m) == 0);
    bool gauge = strstr(m.data, "beat_alert_firing{rule=\"supervisor_unreachable\"} 0") != NULL;
    if (!gauge) fprintf(stderr, "%s\n", m.data);
    beat_buf_fini(&m);
    CHECK(gauge);
    beat_alert_free(a);
    sink_stop(&s);
    return 0;
}

static int t_escalate_and_repeat(void) {
    sink s;
    CHECK(sink_start(&s) == 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
    beat_alert_cfg cfg = {
        .source = "supervisor-1", .webhook = url, .min_interval_ms = 1, .repeat_ms = 100};
    beat_alert *a = beat_alert_new(&cfg);
    CHECK(a != NULL);
    CHECK_EQ_INT(beat_alert_set(a, "disk_full", BEAT_ALERT_WARN, true, "90%"), 0);
    CHECK(beat_alert_flush(a, 2000));
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    CHECK_EQ_INT(beat_alert_set(a, "disk_full", BEAT_ALERT_ERROR, true, "99%"), 0);
    CHECK(beat_alert_flush(a, 2000));
    CHECK_EQ_INT(sink_count(&s), 2);
    CHECK(sink_has(&s, 1, "[ERROR] beat/supervisor-1 disk_full: 99%"));
    int64_t deadline = beat_mono_ms() + 3000; /* reminder after repeat_ms */
    while (sink_count(&s) < 3 && beat_mono_ms() < deadline) {
        CHECK_EQ_INT(beat_alert_set(a, "disk_full", BEAT_ALERT_ERROR, true, "99%"), 0);
        beat_alert_flush(a, 500);
        nanosleep(&ts, NULL);
    }
    CHECK_EQ_INT(sink_count(&s), 3);
    beat_alert_free(a);
    sink_stop(&s);
    return 0;
}

static int t_dead_webhook_never_blocks(void) {
    /* A port nobody listens on, and a black hole (non-routable address)
     * that would hang a synchronous caller for the whole timeout. */
    const char *urls[] = {"http://127.0.0.1:1/hook", "http://10.255.255.1:9/hook"};
    for (int u = 0; u < 2; u++) {
        beat_alert_cfg cfg = {.source = "receiver",
                              .webhook = urls[u],
                              .min_interval_ms = 1,
                              .queue_max = 4,
                              .timeout_ms = 300};
        beat_alert *a = beat_alert_new(&cfg);
        CHECK(a != NULL);
        /* Blocking on the post would cost the 300 ms timeout per call; a
         * loaded test machine may preempt a few calls, hence the 95 %. */
        int64_t worst = 0;
        int slow = 0;
        for (int i = 0; i < 200; i++) {
            char rule[32];
            snprintf(rule, sizeof rule, "rule_%d", i % 40);
            int64_t t0 = beat_mono_us();
            CHECK_EQ_INT(beat_alert_set(a, rule, BEAT_ALERT_ERROR, (i / 40) % 2 == 0, "x"), 0);
            int64_t dt = beat_mono_us() - t0;
            if (dt > worst) worst = dt;
            if (dt >= 1000) slow++;
        }
        if (slow > 10 || worst >= 100000)
            fprintf(stderr, "  slow sets: %d, worst %lld us\n", slow, (long long)worst);
        CHECK(slow <= 10);     /* at least 95 % under 1 ms */
        CHECK(worst < 100000); /* none waited for the network */
        uint64_t sent = 1, dropped = 0;
        beat_alert_stats(a, &sent, &dropped);
        CHECK_EQ_INT(sent, 0);
        CHECK(dropped > 0); /* queue of 4 overflowed long ago */
        int64_t t0 = beat_mono_ms();
        beat_alert_free(a); /* at most one post's timeout */
        CHECK(beat_mono_ms() - t0 < 2000);
    }
    return 0;
}

static int t_bad_input_and_no_webhook(void) {
    beat_alert_cfg none = {0};
    CHECK(beat_alert_new(&none) == NULL);
    CHECK(beat_alert_new(NULL) == NULL);
    beat_alert_cfg cfg = {.source = "x", .webhook = ""};
    beat_alert *a = beat_alert_new(&cfg);
    CHECK(a != NULL);
    CHECK_EQ_INT(beat_alert_set(a, "Bad-Name", BEAT_ALERT_WARN, true, "m"), -EINVAL);
    CHECK_EQ_INT(beat_alert_set(a, "", BEAT_ALERT_WARN, true, "m"), -EINVAL);
    CHECK_EQ_INT(beat_alert_set(a, "ok", (beat_alert_level)7, true, "m"), -EINVAL);
    CHECK_EQ_INT(beat_alert_set(a, "ok", BEAT_ALERT_WARN, true, "m"), 0);
    CHECK(beat_alert_firing(a, "ok"));
    CHECK(!beat_alert_firing(a, "other"));
    char rule[32];
    int rc = 0;
    for (int i = 0; i < 70 && rc == 0; i++) {
        snprintf(rule, sizeof rule, "r%d", i);
        rc = beat_alert_set(a, rule, BEAT_ALERT_WARN, false, NULL);
    }
    CHECK_EQ_INT(rc, -ENOSPC);
    CHECK(beat_alert_flush(a, 10));
    uint64_t sent = 9, dropped = 9;
    beat_alert_stats(a, &sent, &dropped);
    CHECK_EQ_INT(sent, 0);
    CHECK_EQ_INT(dropped, 0); /* no webhook: nothing queued, nothing lost */
    beat_alert_free(a);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("beat_alert_test", BEAT_ERROR); /* the transitions would flood */
    static const beat_test_case cases[] = {
        {"fire_repeat_resolve", t_fire_repeat_resolve},
        {"escalate_and_repeat", t_escalate_and_repeat},
        {"dead_webhook_never_blocks", t_dead_webhook_never_blocks},
        {"bad_input_and_no_webhook", t_bad_input_and_no_webhook},
        {NULL, NULL},
    };
    return beat_test_main("beat_alert", cases, argc, argv);
}
