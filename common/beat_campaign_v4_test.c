/* Campaign fields of set version 4 (the trading-desk fields): each one
 * round-trips, makes the set v4 only when used, and is refused with its
 * field named when malformed. */
#include <errno.h>
#include "beat_campaign.h"
#include "beat_campaign_testlib.h"
#include "beat_test.h"

/* The one-campaign set with extra fields, decoded strictly. */
static int decode(int v, const char *extra, beat_campaign_set *s, beat_reason *why) {
    return decode_one(v, extra, BEAT_CAMPAIGNS_STRICT, s, why);
}

/* "tz": absent = UTC and the set stays v1; named zones and fixed offsets
 * round-trip (interned: the same zone pointer back) and make the set v4. */
static int t_tz(void) {
    beat_campaign_set s, back;
    beat_reason why = {{0}};
    beat_buf b;
    beat_buf_init(&b, 0);
    CHECK_EQ_INT(decode(1, "", &s, &why), 0);
    CHECK(s.c[0].tz == NULL);
    CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
    CHECK(strncmp(b.data, "{\"v\":1,", 7) == 0 && !strstr(b.data, "\"tz\""));
    beat_campaigns_fini(&s);
    static const char *const zones[] = {"America/New_York", "+05:30", "UTC"};
    for (int i = 0; i < 3; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ",\"tz\":\"%s\"", zones[i]);
        CHECK_EQ_INT(decode(4, extra, &s, &why), 0);
        CHECK(s.c[0].tz != NULL);
        CHECK_EQ_STR(beat_tz_name(s.c[0].tz), zones[i]);
        beat_buf_reset(&b);
        CHECK_EQ_INT(beat_campaigns_encode(&s, &b), 0);
        CHECK(strncmp(b.data, "{\"v\":4,", 7) == 0);
        CHECK_EQ_INT(beat_campaigns_decode(b.data, b.len, 0, BEAT_CAMPAIGNS_STRICT, &back, &why),
                     0);
        CHECK(back.c[0].tz == s.c[0].tz);
        beat_campaigns_fini(&s);
        beat_campaigns_fini(&back);
    }
    static const char *const bad[] = {"\"Mars/Olympus\"", "\"../../etc/passwd\"", "\"+25:00\"", "5",
                                      "null"};
    for (int i = 0; i < 5; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ",\"tz\":%s", bad[i]);
        why.msg[0] = 0;
        CHECK_EQ_INT(decode(4, extra, &s, &why), -EBADMSG);
        CHECK_REASON(why, "campaigns[0].tz: ");
    }
    /* a v5 set is from the future: refused */
    CHECK(decode(5, "", &s, &why) != 0);
    beat_buf_fini(&b);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"tz", t_tz},
        {0},
    };
    return beat_test_main("beat_campaign_v4", tests, argc, argv);
}
