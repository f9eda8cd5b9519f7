/* Time zones: fixed offsets, IANA zones across daylight-saving changes
 * (day lengths, local fields), refusals, and TZif images cut short. */
#include <errno.h>
#include "beat_test.h"
#include "beat_tz.h"

/* 2026-03-08 00:00 UTC and friends, in unix ms. */
#define D(days) ((int64_t)(days)*86400000)
#define MAR8_2026 D(20520)
#define NOV1_2026 D(20758)

static int t_utc_and_fixed(void) {
    beat_reason why = {{0}};
    const beat_tz *u = beat_tz_get(NULL, &why), *u2 = beat_tz_get("UTC", &why);
    CHECK(u && u == u2 && beat_tz_offset_s(u, MAR8_2026) == 0);
    beat_civil c;
    beat_tz_civil(u, MAR8_2026 + 3600000 * 13 + 60000 * 7, &c);
    CHECK(c.year == 2026 && c.month == 3 && c.mday == 8 && c.wday == 0 && c.hour == 13 &&
          c.minute == 7);
    CHECK(c.day_start_ms == MAR8_2026 && c.day_end_ms == MAR8_2026 + D(1));
    const beat_tz *k = beat_tz_get("+05:30", &why);
    CHECK(k && beat_tz_get("+05:30", &why) == k); /* interned */
    CHECK_EQ_STR(beat_tz_name(k), "+05:30");
    CHECK(beat_tz_offset_s(k, 0) == 19800);
    beat_tz_civil(k, MAR8_2026 - 19800 * 1000, &c); /* local midnight */
    CHECK(c.mday == 8 && c.hour == 0 && c.day_start_ms == MAR8_2026 - 19800000);
    const beat_tz *w = beat_tz_get("-08", &why);
    CHECK(w && beat_tz_offset_s(w, 0) == -28800);
    beat_tz_civil(w, 0, &c); /* the epoch is 1969-12-31 16:00 there, a Wednesday */
    CHECK(c.year == 1969 && c.month == 12 && c.mday == 31 && c.hour == 16 && c.wday == 3);
    CHECK(c.day == -1);
    return 0;
}

static int t_new_york(void) {
    beat_reason why = {{0}};
    const beat_tz *z = beat_tz_get("America/New_York", &why);
    if (!z) {
        fprintf(stderr, "  %s\n", why.msg);
        return 1;
    }
    CHECK(beat_tz_offset_s(z, MAR8_2026) == -5 * 3600);
    /* Clocks go forward at 02:00 EST = 07:00 UTC on 2026-03-08. */
    CHECK(beat_tz_offset_s(z, MAR8_2026 + 7 * 3600000 - 1) == -5 * 3600);
    CHECK(beat_tz_offset_s(z, MAR8_2026 + 7 * 3600000) == -4 * 3600);
    beat_civil c;
    beat_tz_civil(z, MAR8_2026 + 12 * 3600000, &c); /* 08:00 EDT */
    CHECK(c.mday == 8 && c.hour == 8 && c.wday == 0);
    CHECK(c.day_start_ms == MAR8_2026 + 5 * 3600000);
    CHECK(c.day_end_ms - c.day_start_ms == 23 * 3600000); /* the short day */
    /* Back at 02:00 EDT = 06:00 UTC on 2026-11-01: a 25-hour day. */
    beat_tz_civil(z, NOV1_2026 + 12 * 3600000, &c);
    CHECK(c.mday == 1 && c.month == 11 && c.hour == 7);
    CHECK(c.day_end_ms - c.day_start_ms == 25 * 3600000);
    /* An ordinary day. */
    beat_tz_civil(z, NOV1_2026 + D(3), &c);
    CHECK(c.day_end_ms - c.day_start_ms == 24 * 3600000 && c.mday == 3 && c.hour == 19);
    return 0;
}

static int t_refusals(void) {
    beat_reason why = {{0}};
    const char *bad[] = {"../etc/passwd",
                         "/etc/localtime",
                         "Nowhere/Atlantis",
                         "+15:00",
                         "+5",
                         "+05:60",
                         "America//New_York",
                         "a b",
                         "-05:3",
                         "+05:30x",
                         ""};
    for (size_t i = 0; i + 1 < sizeof bad / sizeof *bad; i++) {
        why.msg[0] = 0;
        CHECK(beat_tz_get(bad[i], &why) == NULL);
        CHECK_REASON(why, "time zone");
    }
    char longname[200];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK(beat_tz_get(longname, &why) == NULL);
    return 0;
}

static int t_tzif_cut_short(void) {
    size_t len = 0;
    char *img = NULL;
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Paris", "rb");
    CHECK(f);
    img = malloc(1 << 16);
    len = fread(img, 1, 1 << 16, f);
    fclose(f);
    CHECK(beat_tz_parse_tzif(img, len) == 0);
    int refused = 0;
    for (size_t cut = 0; cut < len; cut += 7) refused += beat_tz_parse_tzif(img, cut) == -EINVAL;
    /* Every cut inside the header or the data is refused; only cuts in the
     * footer (after the 64-bit block) still decode. */
    CHECK(refused >= (int)(len * 8 / 10 / 7));
    img[0] = 'X';
    CHECK(beat_tz_parse_tzif(img, len) == -EINVAL);
    free(img);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"utc_and_fixed", t_utc_and_fixed},
        {"new_york", t_new_york},
        {"refusals", t_refusals},
        {"tzif_cut_short", t_tzif_cut_short},
        {0},
    };
    return beat_test_main("beat_tz", tests, argc, argv);
}
