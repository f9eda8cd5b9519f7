/* libevent loop helpers for the daemons that run their own event bases
 * (inference and receiver workers, datastream, supervisor, beat-kafka-dev):
 * the stop watch that turns SIGTERM into a loop break, periodic timers
 * (stats, syncs) and the thread entry of a worker base. Called at start-up
 * on the thread that owns the base, before dispatch; nothing here blocks,
 * and a timer must be freed before its base. */
#ifndef BEAT_LOOP_H
#define BEAT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;

typedef struct beat_loop_timer beat_loop_timer;

/* Calls fn(arg) on base's thread every period_ms until freed. Returns NULL
 * on OOM; the caller owns the timer (beat_loop_timer_free). */
beat_loop_timer *beat_loop_every(struct event_base *base, int64_t period_ms, void (*fn)(void *arg),
                                 void *arg);
/* Breaks base's loop within 100 ms once beat_stop_requested() (SIGTERM,
 * SIGINT or beat_stop_request()). NULL on OOM; the caller owns it. */
beat_loop_timer *beat_loop_stop_watch(struct event_base *base);
void beat_loop_timer_free(beat_loop_timer *t); /* NULL is a no-op */

/* pthread entry of a worker: dispatches the event_base passed as arg until
 * its loop breaks (see beat_loop_stop_watch). Returns NULL. */
void *beat_loop_thread(void *base);

/* Makes ev pending (no timeout) when want and not pending otherwise; *on
 * remembers which, so the HTTP servers can switch a connection's read and
 * write events in every callback and call libevent only on a change.
 * ev NULL (a connection fed without a socket, in tests): nothing. */
void beat_loop_ev_set(struct event *ev, bool *on, bool want);

#endif
