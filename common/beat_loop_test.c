/* Unit tests for beat_loop.c: a periodic timer fires repeatedly on its
 * base, a freed timer stops, and the stop watch breaks a worker's loop
 * (dispatched on its own thread by beat_loop_thread) after a stop request. */
#include "beat_loop.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

#include "beat_test.h"
#include "beat_util.h"

typedef struct ticks {
    int n;
    struct event_base *base;
} ticks;

static void on_tick(void *arg) {
    ticks *t = arg;
    if (++t->n == 3) event_base_loopbreak(t->base);
}

static int t_every(void) {
    ticks t = {0, event_base_new()};
    CHECK(t.base);
    beat_loop_timer *tm = beat_loop_every(t.base, 10, on_tick, &t);
    CHECK(tm);
    int64_t t0 = beat_mono_ms();
    event_base_dispatch(t.base);
    CHECK_EQ_INT(t.n, 3);
    CHECK(beat_mono_ms() - t0 >= 20);
    beat_loop_timer_free(tm);
    beat_loop_timer_free(NULL);
    /* freed: the base has nothing left to run */
    CHECK_EQ_INT(event_base_dispatch(t.base), 1);
    CHECK_EQ_INT(t.n, 3);
    event_base_free(t.base);
    return 0;
}

static int t_stop_watch(void) {
    struct event_base *base = event_base_new();
    CHECK(base);
    beat_loop_timer *w = beat_loop_stop_watch(base);
    CHECK(w);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, beat_loop_thread, base), 0);
    beat_stop_sleep_ms(150);
    /* still dispatching: nothing asked it to stop */
    CHECK_EQ_INT(pthread_tryjoin_np(th, NULL), EBUSY);
    int64_t t0 = beat_mono_ms();
    beat_stop_request();
    pthread_join(th, NULL);
    CHECK(beat_mono_ms() - t0 < 1000);
    beat_loop_timer_free(w);
    event_base_free(base);
    return 0;
}

static const beat_test_case cases[] = {
    {"every", t_every},
    {"stop_watch", t_stop_watch},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_loop", cases, argc, argv); }
