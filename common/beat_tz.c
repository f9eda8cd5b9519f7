/* Time zones (beat_tz.h): fixed offsets parsed from the name, IANA zones
 * from the system's TZif files (RFC 8536, the 64-bit block of version 2+
 * files), interned in a small table under a mutex. Local calendar fields
 * come from the zone's offset and the proleptic Gregorian calendar. */
#include "beat_tz.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZIF_MAX_BYTES (256 * 1024)
#define TZ_TRANS_MAX 4096

struct beat_tz {
    char name[BEAT_TZ_NAME_MAX + 1];
    int32_t first_off; /* before the first transition (or the fixed offset) */
    int n;             /* transitions */
    int64_t *at_s;     /* UTC seconds, ascending */
    int32_t *off_s;    /* offset in force from at_s[i] */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static beat_tz *g_zones[BEAT_TZ_ZONES_MAX];
static int g_n;
static const beat_tz g_utc = {.name = "UTC"};

/* "+HH:MM" / "-HH:MM" (and "+HH"), |offset| ≤ 14 h. */
static int fixed_offset(const char *s, int32_t *out) {
    if ((s[0] != '+' && s[0] != '-') || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
        return -EINVAL;
    int h = (s[1] - '0') * 10 + (s[2] - '0'), m = 0;
    if (s[3] == ':') {
        if (s[4] < '0' || s[4] > '5' || s[5] < '0' || s[5] > '9' || s[6]) return -EINVAL;
        m = (s[4] - '0') * 10 + (s[5] - '0');
    } else if (s[3]) return -EINVAL;
    if (h * 60 + m > 14 * 60) return -EINVAL;
    *out = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

static bool iana_name_ok(const char *s) {
    if (!*s || *s == '/' || strstr(s, "..") || strstr(s, "//")) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '+' || *p == '/'))
            return false;
    return true;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static int64_t be64(const unsigned char *p) {
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The counts of a TZif header at p (44 bytes): isut, isstd, leap, time,
 * type, char. */
static int tzif_header(const unsigned char *p, size_t left, uint32_t c[6]) {
    if (left < 44 || memcmp(p, "TZif", 4) != 0) return -EINVAL;
    for (int i = 0; i < 6; i++) c[i] = be32(p + 20 + 4 * i);
    if (c[3] > TZ_TRANS_MAX || c[4] == 0 || c[4] > 256 || c[5] > 1024 || c[2] > 1024 ||
        c[0] > c[4] || c[1] > c[4])
        return -EINVAL;
    return 0;
}

/* Decodes a TZif image into z's transitions (version 2+: the 64-bit block;
 * version 1: the 32-bit one). Exposed to the fuzz target through
 * beat_tz_parse_tzif below. */
static int tzif_decode(const unsigned char *p, size_t len, beat_tz *z) {
    uint32_t c[6];
    if (tzif_header(p, len, c)) return -EINVAL;
    int tsize = 4, lsize = 8;
    size_t skip = 44;
    if (p[4] >= '2') { /* skip the v1 block to the 64-bit one */
        skip += (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
        if (skip > len || tzif_header(p + skip, len - skip, c)) return -EINVAL;
        skip += 44;
        tsize = 8;
        lsize = 12;
    }
    size_t need = (size_t)c[3] * ((size_t)tsize + 1) + (size_t)c[4] * 6 + c[5] +
                  (size_t)c[2] * (size_t)lsize + c[1] + c[0];
    if (need > len - skip) return -EINVAL;
    const unsigned char *times = p + skip, *idx = times + (size_t)c[3] * (size_t)tsize,
                        *types = idx + c[3];
    z->n = (int)c[3];
    z->at_s = malloc(((size_t)z->n + 1) * sizeof *z->at_s);
    z->off_s = malloc(((size_t)z->n + 1) * sizeof *z->off_s);
    if (!z->at_s || !z->off_s) return -ENOMEM;
    /* Before the first transition: the first standard-time type, else 0. */
    int first = 0;
    for (uint32_t t = 0; t < c[4]; t++)
        if (types[t * 6 + 4] == 0) {
            first = (int)t;
            break;
        }
    z->first_off = (int32_t)be32(types + (size_t)first * 6);
    for (int i = 0; i < z->n; i++) {
        z->at_s[i] =
            tsize == 8 ? be64(times + (size_t)i * 8) : (int32_t)be32(times + (size_t)i * 4);
        if (i > 0 && z->at_s[i] <= z->at_s[i - 1]) return -EINVAL;
        if (idx[i] >= c[4]) return -EINVAL;
        int32_t off = (int32_t)be32(types + (size_t)idx[i] * 6);
        if (off < -26 * 3600 || off > 26 * 3600) return -EINVAL;
        z->off_s[i] = off;
    }
    if (z->first_off < -26 * 3600 || z->first_off > 26 * 3600) return -EINVAL;
    return 0;
}

static void tz_free(beat_tz *z) {
    if (!z) return;
    free(z->at_s);
    free(z->off_s);
    free(z);
}

int beat_tz_parse_tzif(const void *data, size_t len) {
    beat_tz *z = calloc(1, sizeof *z);
    if (!z) return -ENOMEM;
    int rc = tzif_decode(data, len, z);
    tz_free(z);
    return rc;
}

static beat_tz *load(const char *name, beat_reason *why) {
    beat_tz *z = calloc(1, sizeof *z);
    if (!z) return NULL;
    snprintf(z->name, sizeof z->name, "%s", name);
    if (name[0] == '+' || name[0] == '-') {
        if (fixed_offset(name, &z->first_off) == 0) return z;
        beat_reasonf(why, -EINVAL, "time zone \"%s\": want +HH:MM or -HH:MM within 14 hours", name);
        tz_free(z);
        return NULL;
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = f ? malloc(TZIF_MAX_BYTES) : NULL;
    size_t len = buf ? fread(buf, 1, TZIF_MAX_BYTES, f) : 0;
    if (f) fclose(f);
    int rc = !f                      ? -ENOENT
             : !buf                  ? -ENOMEM
             : len == TZIF_MAX_BYTES ? -EFBIG
                                     : tzif_decode(buf, len, z);
    free(buf);
    if (rc == 0) return z;
    beat_reasonf(why, rc,
                 rc == -ENOENT ? "time zone \"%s\": unknown (no zoneinfo file)"
                               : "time zone \"%s\": unreadable zoneinfo file",
                 name);
    tz_free(z);
    return NULL;
}

const beat_tz *beat_tz_get(const char *name, beat_reason *why) {
    if (!name || !*name || strcmp(name, "UTC") == 0) return &g_utc;
    if (strlen(name) > BEAT_TZ_NAME_MAX ||
        !(name[0] == '+' || name[0] == '-' || iana_name_ok(name))) {
        beat_reasonf(why, -EINVAL,
                     "time zone \"%.*s\": not a zone name (UTC, +HH:MM or an IANA name)",
                     BEAT_TZ_NAME_MAX, name);
        return NULL;
    }
    pthread_mutex_lock(&g_mu);
    const beat_tz *found = NULL;
    for (int i = 0; i < g_n && !found; i++)
        if (strcmp(g_zones[i]->name, name) == 0) found = g_zones[i];
    if (!found && g_n == BEAT_TZ_ZONES_MAX)
        beat_reasonf(why, -ENOSPC, "time zone \"%s\": more than %d zones in use", name,
                     BEAT_TZ_ZONES_MAX);
    else if (!found && (g_zones[g_n] = load(name, why)) != NULL) found = g_zones[g_n++];
    pthread_mutex_unlock(&g_mu);
    return found;
}

const char *beat_tz_name(const beat_tz *z) { return z ? z->name : "UTC"; }

int32_t beat_tz_offset_s(const beat_tz *z, int64_t utc_ms) {
    if (!z || z->n == 0) return z ? z->first_off : 0;
    int64_t t = utc_ms >= 0 ? utc_ms / 1000 : -((-utc_ms + 999) / 1000);
    if (t < z->at_s[0]) return z->first_off;
    int lo = 0, hi = z->n - 1; /* last transition at or before t */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (z->at_s[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    return z->off_s[lo];
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil_from_days(int64_t days, int *y, int *m, int *d) {
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The UTC ms at which local midnight of local day `day` falls: local ms
 * minus the offset in force then (two rounds settle a change near it). */
static int64_t day_start(const beat_tz *z, int64_t day) {
    int64_t local = day * 86400000;
    int64_t utc = local - (int64_t)beat_tz_offset_s(z, local) * 1000;
    utc = local - (int64_t)beat_tz_offset_s(z, utc) * 1000;
    return utc;
}

void beat_tz_civil(const beat_tz *z, int64_t utc_ms, beat_civil *out) {
    int64_t local = utc_ms + (int64_t)beat_tz_offset_s(z, utc_ms) * 1000;
    int64_t day = floor_div(local, 86400000), ms = local - day * 86400000;
    memset(out, 0, sizeof *out);
    civil_from_days(day, &out->year, &out->month, &out->mday);
    out->wday = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    out->hour = (int)(ms / 3600000);
    out->minute = (int)(ms / 60000 % 60);
    out->day = day;
    out->day_start_ms = day_start(z, day);
    out->day_end_ms = day_start(z, day + 1);
}
