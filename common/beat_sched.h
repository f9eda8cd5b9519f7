/* Dayparting schedules: the hours of the week in which a campaign may bid,
 * reckoned in the campaign's time zone (beat_tz.h) on engine time
 * (beat_clock.h). Stored as a 7×24 bitmap; the campaign field "schedule"
 * (set v 4) is decoded and encoded in beat_campaign_sched.c, which also
 * answers "open at t?" (inference, beat-exsim) and "how much open time
 * between a and b?" (the actuator's plan and supply forecast). */
#ifndef BEAT_SCHED_H
#define BEAT_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include "beat_tz.h"
#include "beat_util.h"

#define BEAT_SCHED_RANGES_MAX 24 /* ranges per weekday */

typedef struct beat_sched {
    bool on;           /* false: no schedule, open at every hour */
    uint32_t hours[7]; /* bit h of hours[d]: local hour h..h+1 of weekday d (0 = Sunday) open */
} beat_sched;

/* "schedule" at ctx ("campaigns[0]"): an object of weekdays "mon".."sun",
 * each an array of "HH-HH" ranges (00 ≤ start < end ≤ 24, local hours,
 * end exclusive; ranges may overlap). A weekday left out is open all day;
 * [] closes it. Refused with the field named ("campaigns[0].schedule.tue[1]:
 * ...") when malformed, when strict and a key is not a weekday, and when no
 * hour of the week is open. out is written only on success. */
struct cJSON;
int beat_sched_decode(const struct cJSON *j, const char *ctx, bool strict, beat_sched *out,
                      beat_reason *why);

/* True when s (NULL or !on: always) is open at utc_ms in zone z (NULL = UTC). */
bool beat_sched_open(const beat_sched *s, const beat_tz *z, int64_t utc_ms);

/* Σ over [from_ms, to_ms) of the time s is open in z, each piece weighted
 * by w_utc[UTC hour of day] (w_utc NULL: weight 1), in weighted ms. Pieces
 * end at every UTC and local hour boundary; an offset change that falls
 * inside a local hour (rare: zones change on the hour) is taken at the
 * next boundary. Linear in the hours spanned. */
double beat_sched_weight(const beat_sched *s, const beat_tz *z, const double *w_utc,
                         int64_t from_ms, int64_t to_ms);

#endif
