/* Daily budgets: the v4 fields daily_budget_micros and rollover (codec,
 * versions, refusals; older sets load unchanged) and the day arithmetic of
 * beat_daily.h (pro-rated partial days, zones, daylight saving, the three
 * roll-over rules). */
#include <errno.h>
#include "beat_daily.h"
#include "beat_test.h"

#define NOW 1700000000000LL
#define DAY 86400000LL
#define JAN1 1767225600000LL /* 2026-01-01T00:00Z */

static const char *FMT = "{\"v\":%d,\"campaigns\":[{\"id\":\"c1\",\"flight_s\":600000,"
                         "\"budget_micros\":1000000,\"base_bid_cpm_micros\":10,"
                         "\"max_bid_cpm_micros\":20%s,"
                         "\"creatives\":[{\"crid\":\"cr1\",\"w\":300,\"h\":250,\"adm\":\"x\"}]}]}";

static int decode(int v, const char *extra, beat_campaign_set *s, beat_reason *why) {
    char json[1024];
    snprintf(json, sizeof json, FMT, v, extra);
    return beat_campaigns_decode(json, strlen(json), NOW, BEAT_CAMPAIGNS_STRICT, s, why);
}

/* Encodes s and checks the set's "v". */
static int encoded_v(const beat_campaign_set *s, beat_buf *b, int v) {
    char head[16];
    beat_buf_reset(b);
    CHECK_EQ_INT(beat_campaigns_encode(s, b), 0);
    snprintf(head, sizeof head, "{\"v\":%d,", v);
    CHECK(strncmp(b->data, head, strlen(head)) == 0);
    return 0;
}

static int t_fields(void) {
    beat_campaign_set s, back;
    beat_reason why = {{0}};
    beat_buf b, b2;
    beat_buf_init(&b, 0);
    beat_buf_init(&b2, 0);
    /* Older sets load unchanged: no daily budget, same version, same bytes
     * after a second round trip. */
    static const struct {
        int v;
        const char *extra;
    } old[] = {{1, ""}, {2, ",\"schain_complete\":true"}, {3, ",\"pacing\":\"value\""}};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(decode(old[i].v, old[i].extra, &s, &why), 0);
        CHECK(s.c[0].daily_budget_micros == 0 && s.c[0].rollover == BEAT_ROLLOVER_NONE);
        CHECK_EQ_INT(encoded_v(&s, &b, old[i].v), 0);
        CHECK(!strstr(b.data, "daily") && !strstr(b.data, "rollover"));
        CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why),
                     0);
        beat_buf_reset(&b2);
        CHECK_EQ_INT(beat_campaigns_encode(&back, &b2), 0);
        CHECK_EQ_STR(b.data, b2.data);
        beat_campaigns_fini(&s);
        beat_campaigns_fini(&back);
    }
    /* Each rule round-trips and makes the set v4; "none" is the default and
     * is not written. */
    static const char *const rules[] = {"none", "next_day", "even"};
    for (int i = 0; i < 3; i++) {
        char extra[96];
        snprintf(extra, sizeof extra, ",\"daily_budget_micros\":250000,\"rollover\":\"%s\"",
                 rules[i]);
        CHECK_EQ_INT(decode(4, extra, &s, &why), 0);
        CHECK(s.c[0].daily_budget_micros == 250000 && (int)s.c[0].rollover == i);
        CHECK_EQ_INT(encoded_v(&s, &b, 4), 0);
        CHECK(strstr(b.data, "\"daily_budget_micros\":250000") != NULL);
        CHECK((strstr(b.data, "\"rollover\"") != NULL) == (i != 0));
        CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why),
                     0);
        CHECK(back.c[0].daily_budget_micros == 250000 && (int)back.c[0].rollover == i);
        beat_campaigns_fini(&s);
        beat_campaigns_fini(&back);
    }
    static const struct {
        const char *extra, *reason;
    } bad[] = {
        {",\"daily_budget_micros\":1000001", "campaigns[0].daily_budget_micros"},
        {",\"daily_budget_micros\":0", "campaigns[0].daily_budget_micros"},
        {",\"daily_budget_micros\":\"5\"", "campaigns[0].daily_budget_micros"},
        {",\"daily_budget_micros\":5,\"rollover\":\"weekly\"", "campaigns[0].rollover: must be"},
        {",\"daily_budget_micros\":5,\"rollover\":1", "campaigns[0].rollover: must be"},
        {",\"rollover\":\"even\"", "campaigns[0].rollover: needs daily_budget_micros"},
        {",\"daily_budgets_micros\":5", "daily_budgets_micros"}, /* a typo: strict */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why.msg[0] = 0;
        CHECK_EQ_INT(decode(4, bad[i].extra, &s, &why), -EBADMSG);
        CHECK_REASON(why, bad[i].reason);
    }
    beat_buf_fini(&b);
    beat_buf_fini(&b2);
    return 0;
}

static beat_campaign camp(int64_t start, int64_t end, int64_t daily, beat_rollover r,
                          const char *tz) {
    beat_campaign c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "c1");
    c.start_ms = start;
    c.end_ms = end;
    c.budget_micros = 100 * daily;
    c.daily_budget_micros = daily;
    c.rollover = r;
    c.tz = tz ? beat_tz_get(tz, NULL) : NULL;
    return c;
}

/* Days in the campaign's zone, cut by the flight and pro-rated. */
static int t_days(void) {
    beat_day d;
    /* noon Jan 1 to noon Jan 4, UTC: ½ + 1 + 1 + ½ days */
    beat_campaign c = camp(JAN1 + DAY / 2, JAN1 + 3 * DAY + DAY / 2, 1000, 0, NULL);
    CHECK_EQ_INT(beat_daily_day(&c, JAN1 + DAY / 2 - 1, &d), -ENOENT);
    CHECK_EQ_INT(beat_daily_day(&c, JAN1 + 3 * DAY + DAY / 2, &d), -ENOENT);
    CHECK_EQ_INT(beat_daily_day(&c, JAN1 + DAY / 2, &d), 0);
    CHECK(d.start_ms == JAN1 + DAY / 2 && d.end_ms == JAN1 + DAY && d.day_start_ms == JAN1);
    CHECK(d.plan_micros == 500 && d.plan_left_micros == 3000);
    CHECK_EQ_INT(beat_daily_day(&c, JAN1 + 2 * DAY + 5, &d), 0);
    CHECK(d.start_ms == JAN1 + 2 * DAY && d.plan_micros == 1000 && d.plan_left_micros == 1500);
    CHECK_EQ_INT(beat_daily_day(&c, JAN1 + 3 * DAY + 1, &d), 0);
    CHECK(d.end_ms == JAN1 + 3 * DAY + DAY / 2 && d.plan_micros == 500 &&
          d.plan_left_micros == 500);
    /* +05:30: the local day starts at 18:30Z the day before */
    c = camp(JAN1, JAN1 + 10 * DAY, 1000, 0, "+05:30");
    CHECK_EQ_INT(beat_daily_day(&c, JAN1 + 19 * 3600000LL, &d), 0);
    CHECK(d.start_ms == JAN1 + 18 * 3600000LL + 1800000 && d.plan_micros == 1000);
    CHECK_EQ_INT(beat_daily_day(&c, JAN1, &d), 0);
    CHECK(d.start_ms == JAN1 && d.plan_micros == 1000 * 185 / 240); /* 18.5 of 24 h */
    /* New York, 2026-03-08: a 23-hour day is a whole day of budget */
    int64_t mar8 = JAN1 + 66 * DAY + 5 * 3600000LL; /* local midnight, EST */
    c = camp(JAN1, JAN1 + 100 * DAY, 1000, 0, "America/New_York");
    CHECK_EQ_INT(beat_daily_day(&c, mar8 + 3600000, &d), 0);
    CHECK(d.start_ms == mar8 && d.end_ms == mar8 + 23 * 3600000LL && d.plan_micros == 1000);
    /* no daily budget: no days */
    c.daily_budget_micros = 0;
    CHECK_EQ_INT(beat_daily_day(&c, mar8, &d), -ENOENT);
    return 0;
}

/* Four whole days of 1000; the days spend 400, 1000, 0 (skipped: nobody
 * asked), then the rule decides what day 4 gets. */
static int roll_days(beat_rollover r, int64_t unit, int64_t want[4]) {
    beat_campaign c = camp(JAN1, JAN1 + 4 * DAY, 1000, r, NULL);
    beat_daily d = {0};
    int64_t amount = 7 * unit; /* whatever was there before */
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 + 10, amount, unit), 1);
    want[0] = beat_daily_budget(&c, &d, unit);
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 + 20, amount, unit), 0); /* same day */
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 - 5, amount, unit), -ENOENT);
    amount += 400 * unit;
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 + DAY, amount, unit), 1);
    CHECK(d.base == amount);
    want[1] = beat_daily_budget(&c, &d, unit);
    amount += 1000 * unit;
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 + 3 * DAY + 1, amount, unit), 1);
    want[2] = d.share;
    want[3] = beat_daily_budget(&c, &d, unit);
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 + 2 * DAY, amount, unit), 0); /* back in time */
    return 0;
}

static int t_roll(void) {
    int64_t w[4];
    /* none: every day its plan */
    CHECK_EQ_INT(roll_days(BEAT_ROLLOVER_NONE, 1, w), 0);
    CHECK(w[0] == 1000 && w[1] == 1000 && w[2] == 0 && w[3] == 1000);
    /* next_day: day 2 gets 600 more; it spends only 1000 of 1600, so day 4
     * gets 600 + the skipped day's 1000 */
    CHECK_EQ_INT(roll_days(BEAT_ROLLOVER_NEXT_DAY, 1, w), 0);
    CHECK(w[0] == 1000 && w[1] == 1600 && w[2] == 1600 && w[3] == 2600);
    /* even: day 2's 600 is spread over days 2-4 (200 each); day 2 spends
     * 1000 of 1200; day 4, the last, takes the 400 not handed out yet, its
     * unspent 200 and the skipped day's 1000 */
    CHECK_EQ_INT(roll_days(BEAT_ROLLOVER_EVEN, 1, w), 0);
    CHECK(w[0] == 1000 && w[1] == 1200 && w[2] == 1600 && w[3] == 2600);
    /* the bank's unit: the same in CPM micros */
    CHECK_EQ_INT(roll_days(BEAT_ROLLOVER_EVEN, 1000, w), 0);
    CHECK(w[1] == 1200000 && w[3] == 2600000);
    /* a changed daily budget applies to the current day at once */
    beat_campaign c = camp(JAN1, JAN1 + 4 * DAY, 1000, BEAT_ROLLOVER_NONE, NULL);
    beat_daily d = {0};
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 + 10, 0, 1), 1);
    c.daily_budget_micros = 1500;
    CHECK(beat_daily_budget(&c, &d, 1) == 1500);
    /* roll-over never exceeds the lifetime budget */
    c = camp(JAN1, JAN1 + 400 * DAY, 1000, BEAT_ROLLOVER_NEXT_DAY, NULL);
    d = (beat_daily){0};
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1, 0, 1), 1);
    CHECK_EQ_INT(beat_daily_roll(&c, &d, JAN1 + 300 * DAY, 0, 1), 1);
    CHECK(d.share == c.budget_micros);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"fields", t_fields},
        {"days", t_days},
        {"roll", t_roll},
        {0},
    };
    return beat_test_main("beat_daily", tests, argc, argv);
}
