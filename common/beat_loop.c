/* Stop watch, periodic timers and worker-thread entry on libevent bases,
 * so every daemon leaves its loops the same way on SIGTERM. Used from the
 * daemons' main.c at start-up; never touches a base from another thread
 * (the stop flag is polled on the base's own thread instead). Also the
 * switch of a connection's events both HTTP servers use. */
#include "beat_loop.h"

#include <event2/event.h>
#include <stdlib.h>

#include "beat_util.h"

#define STOP_POLL_MS 100

struct beat_loop_timer {
    struct event *ev;
    void (*fn)(void *arg);
    void *arg;
};

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    beat_loop_timer *t = arg;
    t->fn(t->arg);
}

beat_loop_timer *beat_loop_every(struct event_base *base, int64_t period_ms, void (*fn)(void *arg),
                                 void *arg) {
    beat_loop_timer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->fn = fn;
    t->arg = arg;
    t->ev = event_new(base, -1, EV_PERSIST, on_timer, t);
    struct timeval tv = {(time_t)(period_ms / 1000), (suseconds_t)(period_ms % 1000) * 1000};
    if (!t->ev || event_add(t->ev, &tv) != 0) {
        beat_loop_timer_free(t);
        return NULL;
    }
    return t;
}

static void stop_check(void *base) {
    if (beat_stop_requested()) event_base_loopbreak(base);
}

beat_loop_timer *beat_loop_stop_watch(struct event_base *base) {
    return beat_loop_every(base, STOP_POLL_MS, stop_check, base);
}

void beat_loop_timer_free(beat_loop_timer *t) {
    if (!t) return;
    if (t->ev) event_free(t->ev);
    free(t);
}

void *beat_loop_thread(void *base) {
    event_base_dispatch(base);
    return NULL;
}

void beat_loop_ev_set(struct event *ev, bool *on, bool want) {
    if (!ev || want == *on) return;
    if (want) event_add(ev, NULL);
    else event_del(ev);
    *on = want;
}
