/* Engine time (beat_clock.h): the wall clock, or a linear map of it set once
 * at start-up. The parameters are written before threads start and only
 * read afterwards, so no locking. */
#include "beat_clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int sim;
    int64_t origin_wall_ms, start_ms;
    double rate;
} G = {.rate = 1.0};

int beat_clock_configure(const char *spec, beat_reason *why) {
    if (!spec || !*spec) {
        G.sim = 0;
        G.rate = 1.0;
        return 0;
    }
    if (strlen(spec) >= BEAT_CLOCK_SPEC_MAX)
        return beat_reasonf(why, -EINVAL, "sim clock: longer than %d characters",
                            BEAT_CLOCK_SPEC_MAX - 1);
    int64_t origin, start;
    double rate;
    int used = 0;
    if (sscanf(spec, "%" SCNd64 ":%" SCNd64 ":%lf%n", &origin, &start, &rate, &used) != 3 ||
        spec[used] != '\0')
        return beat_reasonf(
            why, -EINVAL, "sim clock: want ORIGIN_WALL_MS:START_ENGINE_MS:RATE, got \"%s\"", spec);
    if (origin <= 0 || start <= 0)
        return beat_reasonf(why, -EINVAL, "sim clock: times must be unix ms > 0");
    if (!(rate >= 1.0 && rate <= 100000.0))
        return beat_reasonf(why, -EINVAL, "sim clock: rate must be in [1, 100000]");
    G.sim = 1;
    G.origin_wall_ms = origin;
    G.start_ms = start;
    G.rate = rate;
    return 0;
}

int64_t beat_engine_of_wall_ms(int64_t wall_ms) {
    if (!G.sim) return wall_ms;
    return G.start_ms + (int64_t)((double)(wall_ms - G.origin_wall_ms) * G.rate);
}

int64_t beat_wall_of_engine_ms(int64_t engine_ms) {
    if (!G.sim) return engine_ms;
    return G.origin_wall_ms + (int64_t)((double)(engine_ms - G.start_ms) / G.rate);
}

int64_t beat_engine_ms(void) { return beat_engine_of_wall_ms(beat_now_ms()); }

double beat_clock_rate(void) { return G.sim ? G.rate : 1.0; }

int beat_clock_simulated(void) { return G.sim; }
