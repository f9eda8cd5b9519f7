/* The campaign field "schedule" (set v 4, beat_sched.h): its codec, kept
 * out of beat_campaign.c for size, and the two questions asked of it:
 * is the campaign open at this instant, and how much (weighted) open time
 * lies between two instants. Both read the hour of the week in the
 * campaign's zone from the zone's UTC offset at that instant. */
#include "beat_sched.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat_campaign_fields.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define ALL_DAY 0xffffffu /* 24 bits */

/* Indexed by beat_civil.wday (0 = Sunday); encoded Monday first. */
static const char *const DAYS[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* "HH-HH" → the bits of hours [start, end). */
static int range_bits(const cJSON *v, const char *ctx, const char *day, int i, uint32_t *bits,
                      beat_reason *why) {
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    int a = -1, b = -1;
    bool shape = s && strlen(s) == 5 && s[2] == '-';
    for (int k = 0; shape && k < 5; k++) shape = k == 2 || (s[k] >= '0' && s[k] <= '9');
    if (shape) {
        a = (s[0] - '0') * 10 + (s[1] - '0');
        b = (s[3] - '0') * 10 + (s[4] - '0');
    }
    if (!shape || a > 23 || b > 24 || a >= b)
        return FAIL("%s.schedule.%s[%d]: must be \"HH-HH\" with 00 <= start < end <= 24 "
                    "(local hours, end exclusive; split a range across midnight in two)",
                    ctx, day, i);
    *bits |= (uint32_t)(((1ull << b) - 1) & ~((1ull << a) - 1));
    return 0;
}

int beat_sched_decode(const struct cJSON *j, const char *ctx, bool strict, beat_sched *out,
                      beat_reason *why) {
    char sctx[64];
    snprintf(sctx, sizeof sctx, "%s.schedule", ctx);
    const cJSON *f[7];
    int rc = beat_json_fields(j, sctx, DAYS, 7, f, strict, why);
    if (rc) return rc;
    beat_sched s = {.on = true};
    uint32_t any = 0;
    for (int d = 0; d < 7; d++) {
        if (!f[d]) { /* a weekday left out is not restricted */
            s.hours[d] = ALL_DAY;
            any |= ALL_DAY;
            continue;
        }
        if (!cJSON_IsArray(f[d]))
            return FAIL("%s.%s: must be an array of \"HH-HH\" ranges", sctx, DAYS[d]);
        if (cJSON_GetArraySize(f[d]) > BEAT_SCHED_RANGES_MAX)
            return FAIL("%s.%s: too many ranges (> %d)", sctx, DAYS[d], BEAT_SCHED_RANGES_MAX);
        int i = 0;
        for (const cJSON *r = f[d]->child; r; r = r->next, i++)
            if ((rc = range_bits(r, ctx, DAYS[d], i, &s.hours[d], why))) return rc;
        any |= s.hours[d];
    }
    if (!any) return FAIL("%s: open at no hour of the week", sctx);
    *out = s;
    return 0;
}

void beat_campaign_e_sched(beat_json_enc *e, const beat_campaign *c) {
    const beat_sched *s = &c->schedule;
    beat_campaign_e_key(e, "schedule", true);
    beat_json_put_raw(e, "{");
    for (int k = 0; k < 7; k++) {
        int d = (k + 1) % 7; /* Monday first */
        beat_json_put_printf(e, "%s\"%s\":[", k ? "," : "", DAYS[d]);
        int n = 0;
        for (int h = 0; h < 24;) {
            if (!(s->hours[d] >> h & 1)) {
                h++;
                continue;
            }
            int a = h;
            while (h < 24 && (s->hours[d] >> h & 1)) h++;
            beat_json_put_printf(e, "%s\"%02d-%02d\"", n++ ? "," : "", a, h);
        }
        beat_json_put_raw(e, "]");
    }
    beat_json_put_raw(e, "}");
}

static int64_t floor_mod(int64_t a, int64_t b) {
    int64_t m = a % b;
    return m < 0 ? m + b : m;
}

/* Local ms since the epoch of utc_ms in z. */
static int64_t local_ms(const beat_tz *z, int64_t utc_ms) {
    return utc_ms + (int64_t)beat_tz_offset_s(z, utc_ms) * 1000;
}

static bool open_local(const beat_sched *s, int64_t local) {
    int64_t day = (local - floor_mod(local, DAY_MS)) / DAY_MS;
    int wday = (int)floor_mod(day + 4, 7); /* 1970-01-01 was a Thursday */
    int hour = (int)(floor_mod(local, DAY_MS) / HOUR_MS);
    return s->hours[wday] >> hour & 1;
}

bool beat_sched_open(const beat_sched *s, const beat_tz *z, int64_t utc_ms) {
    if (!s || !s->on) return true;
    return open_local(s, local_ms(z, utc_ms));
}

/* A whole local day from t (a local midnight) to t + 24 h at offset off_ms
 * (no change within it): the open hours' weights, without a zone lookup
 * per hour. Only when local hours are UTC hours too, or nothing is
 * weighted. */
static double whole_day(const beat_sched *s, const double *w_utc, int64_t local, int64_t off_ms) {
    int64_t day = (local - floor_mod(local, DAY_MS)) / DAY_MS;
    uint32_t bits = s && s->on ? s->hours[floor_mod(day + 4, 7)] : ALL_DAY;
    double sum = 0;
    for (int h = 0; h < 24; h++)
        if (bits >> h & 1) sum += w_utc ? w_utc[floor_mod(h - off_ms / HOUR_MS, 24)] : 1.0;
    return sum * (double)HOUR_MS;
}

double beat_sched_weight(const beat_sched *s, const beat_tz *z, const double *w_utc,
                         int64_t from_ms, int64_t to_ms) {
    double sum = 0;
    for (int64_t t = from_ms; t < to_ms;) {
        int64_t local = local_ms(z, t), off = local - t;
        /* Fast path: a whole local day at one offset (flights run for
         * weeks; the actuator asks every tick). */
        if (floor_mod(local, DAY_MS) == 0 && to_ms - t >= DAY_MS &&
            (!w_utc || off % HOUR_MS == 0) &&
            local_ms(z, t + DAY_MS - 1) - (t + DAY_MS - 1) == off) {
            sum += whole_day(s, w_utc, local, off);
            t += DAY_MS;
            continue;
        }
        int64_t end = t + (HOUR_MS - floor_mod(local, HOUR_MS)); /* next local hour */
        int64_t utc_end = t + (HOUR_MS - floor_mod(t, HOUR_MS)); /* next UTC hour */
        if (utc_end < end) end = utc_end;
        if (end > to_ms) end = to_ms;
        if (!s || !s->on || open_local(s, local)) {
            double w = w_utc ? w_utc[floor_mod(t, DAY_MS) / HOUR_MS] : 1.0;
            sum += w * (double)(end - t);
        }
        t = end;
    }
    return sum;
}
