/* Time zones for campaigns (days, schedules, daily budgets): "UTC", fixed
 * offsets ("+05:30", "-08:00") and IANA names ("America/New_York") read
 * from the system's zoneinfo. Zones are interned: each name is loaded once
 * per process and the returned zone is immutable and lives until exit, so
 * campaigns decoded on any thread share it without copying or freeing. */
#ifndef BEAT_TZ_H
#define BEAT_TZ_H

#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

#define BEAT_TZ_NAME_MAX 64   /* longest accepted name, without NUL */
#define BEAT_TZ_ZONES_MAX 512 /* distinct zones per process */

typedef struct beat_tz beat_tz;

/* The zone named name (NULL or "" = UTC). NULL with why (and the name in
 * it) when the name is malformed, unknown, or its zone data is unreadable,
 * or when BEAT_TZ_ZONES_MAX distinct zones are already loaded. Thread-safe.
 * The result is owned by the interning table: never freed. */
const beat_tz *beat_tz_get(const char *name, beat_reason *why);
/* The canonical name ("UTC", "+05:30", "America/New_York"). */
const char *beat_tz_name(const beat_tz *z);
/* Seconds to add to UTC to get local time at utc_ms. */
int32_t beat_tz_offset_s(const beat_tz *z, int64_t utc_ms);

/* A moment in a zone's local calendar. */
typedef struct beat_civil {
    int year, month, mday; /* month 1..12 */
    int wday;              /* 0 = Sunday .. 6 = Saturday */
    int hour, minute;
    int64_t day;          /* local days since 1970-01-01 (may be < 0) */
    int64_t day_start_ms; /* UTC ms of that local day's first instant */
    int64_t day_end_ms;   /* UTC ms of the next local day's first instant */
} beat_civil;
/* Where utc_ms falls in z's calendar. Days are 23–25 hours long across a
 * daylight-saving change; day_start_ms/day_end_ms say exactly. */
void beat_tz_civil(const beat_tz *z, int64_t utc_ms, beat_civil *out);

/* Validates a TZif image (what beat_tz_get reads from zoneinfo): 0 or
 * -EINVAL. For the fuzz target and tests. */
int beat_tz_parse_tzif(const void *data, size_t len);

#endif
