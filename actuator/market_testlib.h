/* Shared by the actuator's simulated-market tests: a small seeded
 * generator, so that every run of a market draws the same opportunities
 * and tests stay deterministic. Header-only; tests include it once. */
#ifndef ACT_MARKET_TESTLIB_H
#define ACT_MARKET_TESTLIB_H

#include <math.h>
#include <stdint.h>

/* Uniform in (0, 1): a 64-bit LCG's top 53 bits, never 0 (log-safe). */
static inline double u01(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

/* Standard normal (Box-Muller, one of the pair). */
static inline double gauss(uint64_t *s) {
    return sqrt(-2.0 * log(u01(s))) * cos(2.0 * M_PI * u01(s));
}

#endif
