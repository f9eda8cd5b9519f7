/* Engine time: the clock by which campaign flights, days, schedules and
 * frequency windows are judged. In production it is the wall clock. For
 * demos and tests a simulated clock can run RATE times faster from a chosen
 * start, so a three-day flight plays in minutes; every daemon and the
 * simulator get the same spec so they agree. Timeouts, rate limits and log
 * stamps keep the wall clock (beat_now_ms). */
#ifndef BEAT_CLOCK_H
#define BEAT_CLOCK_H

#include <stdint.h>
#include "beat_util.h"

/* Longest spec text (with NUL) a daemon needs to pass on. */
#define BEAT_CLOCK_SPEC_MAX 96

/* spec: NULL or "" = wall clock; else "ORIGIN_WALL_MS:START_ENGINE_MS:RATE"
 * — at wall time ORIGIN the engine time is START, and it runs RATE times
 * faster (1 ≤ RATE ≤ 100000). All three are required so that daemons
 * started at different moments agree to the millisecond. Call at start-up,
 * before any thread reads the clock; -EINVAL with why on a bad spec (the
 * clock is unchanged). */
int beat_clock_configure(const char *spec, beat_reason *why);

/* Engine time, unix ms. Any thread. */
int64_t beat_engine_ms(void);
/* The engine time of a given wall time (for times other daemons stamped). */
int64_t beat_engine_of_wall_ms(int64_t wall_ms);
/* The wall time at which the engine clock shows engine_ms (the inverse,
 * to the ms): for a daemon whose other inputs are wall-stamped. */
int64_t beat_wall_of_engine_ms(int64_t engine_ms);
/* How many engine ms pass per wall ms (1 on the wall clock). */
double beat_clock_rate(void);
/* True when a simulated clock is configured. */
int beat_clock_simulated(void);

#endif
