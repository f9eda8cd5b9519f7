/* The campaign field "schedule" (set v 4): round trip, v4 only when used,
 * refusals naming the field, and the open/closed decision and open-time
 * weight in the campaign's zone, across daylight-saving changes. */
#include <errno.h>
#include <math.h>
#include "beat_campaign.h"
#include "beat_campaign_testlib.h"
#include "beat_test.h"

#define H 3600000LL

/* The one-campaign set (v 4) with extra fields. */
static int decode(const char *extra, unsigned flags, beat_campaign_set *s, beat_reason *why) {
    return decode_one(4, extra, flags, s, why);
}

/* UTC ms of a UTC civil time (days from civil, as beat_tz does). */
static int64_t utc(int y, int m, int d, int hh, int mm) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return ((era * 146097 + doe - 719468) * 24 + hh) * H + mm * 60000LL;
}

static int t_round_trip(void) {
    beat_campaign_set s, back;
    beat_reason why = {{0}};
    beat_buf b;
    beat_buf_init(&b, 0);
    /* Absent: open always, the set stays v1, nothing encoded. */
    CHECK_EQ_INT(decode_one(1, "", BEAT_CAMPAIGNS_STRICT, &s, &why), 0);
    CHECK(!s.c[0].schedule.on);
    CHECK(beat_sched_open(&s.c[0].schedule, NULL, NOW));
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strncmp(b.data, "{\"v\":1,", 7) == 0 && !strstr(b.data, "schedule"));
    beat_campaigns_fini(&s);
    /* Used: v4, every weekday written Monday first, overlaps merged, a left
     * out weekday open all day, [] closed. */
    CHECK_EQ_INT(decode(",\"schedule\":{\"tue\":[\"09-12\",\"14-18\",\"11-13\"],"
                        "\"mon\":[\"09-17\"],\"sat\":[],\"sun\":[\"00-24\"]}",
                        BEAT_CAMPAIGNS_STRICT, &s, &why),
                 0);
    const beat_sched *sc = &s.c[0].schedule;
    CHECK(sc->on);
    CHECK(sc->hours[1] == 0x1fe00u);  /* mon 09..16 */
    CHECK(sc->hours[2] == 0x3de00u);  /* tue 09..12 ("11-13" adds 12), 14..17 */
    CHECK(sc->hours[3] == 0xffffffu); /* wed: left out */
    CHECK(sc->hours[6] == 0);         /* sat: [] */
    CHECK(sc->hours[0] == 0xffffffu); /* sun 00-24 */
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strncmp(b.data, "{\"v\":4,", 7) == 0);
    CHECK(strstr(b.data, "\"schedule\":{\"mon\":[\"09-17\"],\"tue\":[\"09-13\",\"14-18\"],"
                         "\"wed\":[\"00-24\"],\"thu\":[\"00-24\"],\"fri\":[\"00-24\"],"
                         "\"sat\":[],\"sun\":[\"00-24\"]}") != NULL);
    CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why), 0);
    CHECK(memcmp(&back.c[0].schedule, sc, sizeof *sc) == 0);
    beat_campaigns_fini(&back);
    beat_campaigns_fini(&s);
    /* Lenient readers (daemons) skip an unknown key inside it. */
    CHECK_EQ_INT(decode(",\"schedule\":{\"mon\":[\"09-17\"],\"holidays\":[]}", 0, &s, &why), 0);
    CHECK(s.c[0].schedule.hours[1] == 0x1fe00u);
    beat_campaigns_fini(&s);
    beat_buf_fini(&b);
    return 0;
}

static int t_refused(void) {
    static const struct {
        const char *extra, *reason;
    } bad[] = {
        {",\"schedule\":[]", "campaigns[0].schedule: must be an object"},
        {",\"schedule\":\"9-5\"", "campaigns[0].schedule: must be an object"},
        {",\"schedule\":{\"monday\":[]}", "campaigns[0].schedule.monday: unknown field"},
        {",\"schedule\":{\"mon\":\"09-17\"}", "campaigns[0].schedule.mon: must be an array"},
        {",\"schedule\":{\"mon\":[\"9-17\"]}", "campaigns[0].schedule.mon[0]: must be \"HH-HH\""},
        {",\"schedule\":{\"mon\":[\"09-17\",\"17-09\"]}", "campaigns[0].schedule.mon[1]: "},
        {",\"schedule\":{\"mon\":[\"22-02\"]}", "across midnight"},
        {",\"schedule\":{\"mon\":[\"09-25\"]}", "campaigns[0].schedule.mon[0]: "},
        {",\"schedule\":{\"mon\":[\"24-24\"]}", "campaigns[0].schedule.mon[0]: "},
        {",\"schedule\":{\"mon\":[\"09-09\"]}", "campaigns[0].schedule.mon[0]: "},
        {",\"schedule\":{\"mon\":[9]}", "campaigns[0].schedule.mon[0]: "},
        {",\"schedule\":{\"mon\":[\"09:00-17:00\"]}", "campaigns[0].schedule.mon[0]: "},
        {",\"schedule\":{\"mon\":[\"0x-17\"]}", "campaigns[0].schedule.mon[0]: "},
        {",\"schedule\":{\"mon\":[],\"mon\":[]}", "campaigns[0].schedule.mon: duplicate key"},
        {",\"schedule\":{\"mon\":[],\"tue\":[],\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],"
         "\"sun\":[]}",
         "campaigns[0].schedule: open at no hour of the week"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        beat_campaign_set s;
        beat_reason why = {{0}};
        CHECK_EQ_INT(decode(bad[i].extra, BEAT_CAMPAIGNS_STRICT, &s, &why), -EBADMSG);
        CHECK_REASON(why, bad[i].reason);
    }
    /* Too many ranges in a day. */
    char extra[1024] = ",\"schedule\":{\"mon\":[";
    for (int i = 0; i < BEAT_SCHED_RANGES_MAX + 1; i++)
        strcat(extra, i ? ",\"09-10\"" : "\"09-10\"");
    strcat(extra, "]}");
    beat_campaign_set s;
    beat_reason why = {{0}};
    CHECK_EQ_INT(decode(extra, BEAT_CAMPAIGNS_STRICT, &s, &why), -EBADMSG);
    CHECK_REASON(why, "campaigns[0].schedule.mon: too many ranges");
    return 0;
}

/* Weekdays 09-17 in New York: in the week after the spring change (EDT,
 * UTC-4) the day opens at 13:00 UTC, the week before (EST, UTC-5) at 14:00
 * UTC; the change itself (Sunday 2026-03-08, 02:00 local) makes a 23-hour
 * day, the autumn one (2026-11-01) a 25-hour one. */
static int t_dst(void) {
    beat_reason why = {{0}};
    const beat_tz *ny = beat_tz_get("America/New_York", &why);
    CHECK(ny != NULL);
    beat_sched s = {.on = true};
    for (int d = 1; d <= 5; d++) s.hours[d] = 0x1fe00u; /* 09..16 */
    s.hours[0] = 0xffffffu;                             /* Sunday all day */
    /* Monday 2026-03-02 (EST) */
    CHECK(!beat_sched_open(&s, ny, utc(2026, 3, 2, 13, 30)));
    CHECK(beat_sched_open(&s, ny, utc(2026, 3, 2, 14, 0)));
    CHECK(beat_sched_open(&s, ny, utc(2026, 3, 2, 21, 59)));
    CHECK(!beat_sched_open(&s, ny, utc(2026, 3, 2, 22, 0)));
    /* Monday 2026-03-09 (EDT) */
    CHECK(!beat_sched_open(&s, ny, utc(2026, 3, 9, 12, 59)));
    CHECK(beat_sched_open(&s, ny, utc(2026, 3, 9, 13, 0)));
    CHECK(beat_sched_open(&s, ny, utc(2026, 3, 9, 20, 59)));
    CHECK(!beat_sched_open(&s, ny, utc(2026, 3, 9, 21, 0)));
    /* Saturday closed, and Sunday open on either side of its change. */
    CHECK(!beat_sched_open(&s, ny, utc(2026, 3, 7, 15, 0)));
    CHECK(beat_sched_open(&s, ny, utc(2026, 3, 8, 6, 59))); /* 01:59 EST */
    CHECK(beat_sched_open(&s, ny, utc(2026, 3, 8, 7, 0)));  /* 03:00 EDT */
    /* Open time: 8 h on each weekday, the whole local Sunday (23 h, 25 h). */
    CHECK(beat_sched_weight(&s, ny, NULL, utc(2026, 3, 9, 4, 0), utc(2026, 3, 10, 4, 0)) ==
          8.0 * H);
    beat_civil day;
    beat_tz_civil(ny, utc(2026, 3, 8, 12, 0), &day);
    CHECK(beat_sched_weight(&s, ny, NULL, day.day_start_ms, day.day_end_ms) == 23.0 * H);
    beat_tz_civil(ny, utc(2026, 11, 1, 12, 0), &day);
    CHECK(beat_sched_weight(&s, ny, NULL, day.day_start_ms, day.day_end_ms) == 25.0 * H);
    /* Monday 03-02 to Sunday 03-08 00:00 local: 5 × 8 h, Saturday closed. */
    beat_tz_civil(ny, utc(2026, 3, 2, 12, 0), &day);
    CHECK(beat_sched_weight(&s, ny, NULL, day.day_start_ms, day.day_start_ms + 6 * 24 * H) ==
          40.0 * H);
    /* Weighted by UTC hour: only UTC 13..20 weigh on 03-09 (EDT 09..16). */
    double w[24] = {0};
    w[13] = 2.0;
    w[21] = 5.0; /* 17:00 EDT: closed, must not count */
    CHECK(beat_sched_weight(&s, ny, w, utc(2026, 3, 9, 0, 0), utc(2026, 3, 10, 0, 0)) == 2.0 * H);
    /* A half-hour zone: local hours straddle UTC hours. */
    const beat_tz *in = beat_tz_get("+05:30", &why);
    CHECK(in != NULL);
    beat_sched one = {.on = true};
    for (int d = 0; d < 7; d++) one.hours[d] = 1u << 10; /* 10:00-11:00 local */
    CHECK(!beat_sched_open(&one, in, utc(2026, 3, 9, 4, 29)));
    CHECK(beat_sched_open(&one, in, utc(2026, 3, 9, 4, 30)));
    CHECK(!beat_sched_open(&one, in, utc(2026, 3, 9, 5, 30)));
    w[4] = 1.0;
    w[5] = 3.0;
    w[13] = 0;
    w[21] = 0;
    CHECK(fabs(beat_sched_weight(&one, in, w, utc(2026, 3, 9, 0, 0), utc(2026, 3, 10, 0, 0)) -
               (0.5 * 1.0 + 0.5 * 3.0) * H) < 1e-6);
    /* Whole days are summed at once: the same as hour by hour, over six
     * weeks across the spring change, with and without weights, in a zone
     * of whole hours and one of half hours. */
    double wv[24];
    for (int h = 0; h < 24; h++) wv[h] = 1.0 + h % 5;
    const beat_tz *zones[] = {ny, in};
    for (int k = 0; k < 2; k++)
        for (int weighted = 0; weighted < 2; weighted++) {
            const double *ww = weighted ? wv : NULL;
            int64_t a = utc(2026, 2, 20, 3, 17), b = a + 42 * 24 * H;
            double by_hour = 0;
            for (int64_t t = a; t < b; t += H)
                by_hour += beat_sched_weight(&s, zones[k], ww, t, t + H);
            double all = beat_sched_weight(&s, zones[k], ww, a, b);
            CHECK(fabs(all - by_hour) < 1e-3);
            CHECK(all > 0);
        }
    /* No schedule: open always, the plain (weighted) length. */
    CHECK(beat_sched_open(NULL, ny, 0));
    CHECK(beat_sched_weight(NULL, NULL, NULL, 5, 5 + 7 * H) == 7.0 * H);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"round_trip", t_round_trip},
        {"refused", t_refused},
        {"dst", t_dst},
        {0},
    };
    return beat_test_main("beat_campaign_sched", tests, argc, argv);
}
