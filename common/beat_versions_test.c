/* The version rule of every JSON wire format (docs/contracts.md, "Versions"):
 * a reader refuses a "v" it does not know and accepts fields it does not
 * know, at every level of a record, so an additive change needs no bump.
 * Each case decodes a message full of unknown fields, checks the known ones
 * came through, then the same message with "v":2. The checkpoint's binary
 * version and additive header keys are beat_ckpt_test.c's. */
#include <errno.h>
#include <string.h>

#include "beat_campaign.h"
#include "beat_test.h"
#include "beat_wire.h"

/* Rewrites the first "v":1 of a message to "v":2 (in place). */
static void bump(char *msg) {
    char *p = strstr(msg, "\"v\":1");
    if (p) p[4] = '2';
}

#define FUTURE "\"zz_future\":{\"a\":[1,\"x\",null],\"b\":{\"c\":true}}"

static int t_event(void) {
    char m[] = "{\"v\":1," FUTURE ",\"type\":\"win\",\"auction\":\"A\",\"imp\":\"1\","
               "\"campaign\":\"c1\",\"price\":1000,\"bid\":2000,\"ts\":5,\"zz_n\":3}";
    beat_event ev;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_event_decode(m, strlen(m), &ev, &why), 0);
    CHECK(ev.type == BEAT_EV_WIN && ev.price_cpm_micros == 1000 && ev.bid_cpm_micros == 2000);
    CHECK_EQ_STR(ev.campaign, "c1");
    bump(m);
    CHECK_EQ_INT(beat_event_decode(m, strlen(m), &ev, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    /* the opp event (added without a bump) follows the same rule */
    char o[] = "{\"v\":1," FUTURE ",\"type\":\"opp\",\"node\":\"i\",\"campaign\":\"c1\","
               "\"ts\":5,\"n\":7,\"zz_n\":3}";
    CHECK_EQ_INT(beat_event_decode(o, strlen(o), &ev, &why), 0);
    CHECK(ev.type == BEAT_EV_OPP && ev.opps == 7);
    bump(o);
    CHECK_EQ_INT(beat_event_decode(o, strlen(o), &ev, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    return 0;
}

static int t_aggregates(void) {
    char m[] = "{\"v\":1," FUTURE ",\"instance\":\"ds\",\"epoch\":\"ab\",\"bucket_ms\":1000,"
               "\"first_seq\":1,\"last_seq\":1,\"buckets\":[{\"seq\":1," FUTURE ",\"start_ms\":0,"
               "\"end_ms\":1000,\"campaigns\":{\"c1\":{\"bids\":4,\"wins\":2," FUTURE
               ",\"spend_micros\":7,\"imps\":2,\"clicks\":1}}}]}";
    beat_aggregates a;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_aggregates_decode(m, strlen(m), &a, &why), 0);
    CHECK(a.n_buckets == 1 && a.buckets[0].n_rows == 1);
    CHECK(a.buckets[0].rows[0].spend_micros == 7 && a.buckets[0].rows[0].clicks == 1);
    /* written before the market fields: they read as zero */
    CHECK(a.buckets[0].rows[0].losses == 0 && a.buckets[0].rows[0].expired == 0);
    CHECK(a.buckets[0].rows[0].pctr_bids == 0 && a.buckets[0].rows[0].lost_cpm[0] == 0);
    beat_aggregates_fini(&a);
    /* a row with the market fields, and unknown ones among them */
    const char *mk = "{\"v\":1,\"instance\":\"ds\",\"epoch\":\"ab\",\"bucket_ms\":1000,"
                     "\"first_seq\":1,\"last_seq\":1,\"buckets\":[{\"seq\":1,\"start_ms\":0,"
                     "\"end_ms\":1000,\"campaigns\":{\"c1\":{\"bids\":4,\"losses\":2," FUTURE
                     ",\"loss_outbid\":2,\"opps\":9,\"zz_cpm\":[1,2],"
                     "\"lost_cpm\":[0,0,0,0,0,0,0,0,0,0,0,2,0,0,0,0,0,0,0,0]}}}]}";
    CHECK_EQ_INT(beat_aggregates_decode(mk, strlen(mk), &a, &why), 0);
    CHECK(a.buckets[0].rows[0].losses == 2 && a.buckets[0].rows[0].opps == 9);
    CHECK(a.buckets[0].rows[0].lost_cpm[11] == 2);
    beat_aggregates_fini(&a);
    bump(m);
    CHECK_EQ_INT(beat_aggregates_decode(m, strlen(m), &a, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    return 0;
}

static int count_sample(void *arg, const beat_sample *s) {
    *(int *)arg += s->label;
    return 0;
}

static int t_samples(void) {
    char m[] =
        "{\"v\":1," FUTURE ",\"instance\":\"ds\",\"epoch\":\"ab\",\"first_seq\":1,"
        "\"last_seq\":2,\"n\":2}\n"
        "{\"seq\":1," FUTURE ",\"campaign\":\"c1\",\"label\":1,\"w\":1.0,\"ts\":1,\"feat\":[3]}\n"
        "{\"seq\":2,\"campaign\":\"c1\",\"label\":1,\"w\":1.0,\"ts\":2,\"feat\":[4],\"zz\":0}\n";
    beat_samples_header h;
    beat_reason why = {{0}};
    int clicks = 0;
    CHECK_EQ_INT(beat_samples_decode(m, strlen(m), &h, count_sample, &clicks, &why), 0);
    CHECK(h.n == 2 && clicks == 2);
    bump(m);
    CHECK_EQ_INT(beat_samples_decode(m, strlen(m), &h, count_sample, &clicks, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    return 0;
}

static int t_state(void) {
    char m[] = "{\"v\":1," FUTURE ",\"actuator\":\"a\",\"ts\":9,\"campaigns\":{\"c1\":{"
               "\"multiplier\":1.5," FUTURE ",\"paused\":true}},\"private\":{}}";
    beat_state s;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_state_decode(m, strlen(m), 10, &s, &why), 0);
    CHECK(s.n == 1 && s.c[0].multiplier == 1.5 && s.c[0].paused);
    beat_state_fini(&s);
    bump(m);
    CHECK_EQ_INT(beat_state_decode(m, strlen(m), 10, &s, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    return 0;
}

static int t_heartbeat(void) {
    char m[] = "H{\"v\":1," FUTURE ",\"ts\":1,\"campaigns_version\":2,\"state_version\":3,"
               "\"model_version\":4,\"snapshot_crc\":5,\"model_crc\":6}";
    beat_heartbeat hb;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_heartbeat_decode(m, strlen(m), &hb, &why), 0);
    CHECK(hb.model_version == 4 && hb.model_crc == 6);
    bump(m);
    CHECK_EQ_INT(beat_heartbeat_decode(m, strlen(m), &hb, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    return 0;
}

/* One campaign with an unknown key at each level a campaign has. */
#define CAMPAIGNS(v)                                                                               \
    "{\"v\":" v "," FUTURE ",\"campaigns\":[{\"id\":\"c1\",\"start_ms\":1,\"end_ms\":2,"           \
    "\"budget_micros\":100,\"base_bid_cpm_micros\":1,\"max_bid_cpm_micros\":2," FUTURE             \
    ",\"targeting\":{\"countries\":[]," FUTURE "},\"freq_cap\":{\"max\":1,\"window_s\":9," FUTURE  \
    "},\"creatives\":[{\"crid\":\"k\",\"w\":1,\"h\":1,\"adm\":\"x\"," FUTURE "}]}]}"

/* Campaigns are operator input first: the supervisor decodes them strictly
 * (a typo must not change spending), every other reader leniently. */
static int t_campaigns(void) {
    char m[] = CAMPAIGNS("1");
    beat_campaign_set cs;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_campaigns_decode(m, strlen(m), 0, BEAT_CAMPAIGNS_STRICT, &cs, &why),
                 -EBADMSG);
    CHECK_REASON(why, "zz_future: unknown field");
    CHECK_EQ_INT(beat_campaigns_decode(m, strlen(m), 0, 0, &cs, &why), 0);
    CHECK(cs.n == 1 && cs.c[0].budget_micros == 100 && cs.c[0].freq_cap_max == 1);
    beat_campaigns_fini(&cs);
    /* 2 (the supply-chain fields), 3 (pacing) and 4 (the trading-desk
     * fields) are read too; 5 is the unknown one */
    bump(m);
    CHECK_EQ_INT(beat_campaigns_decode(m, strlen(m), 0, 0, &cs, &why), 0);
    beat_campaigns_fini(&cs);
    char m3[] = CAMPAIGNS("3");
    CHECK_EQ_INT(beat_campaigns_decode(m3, strlen(m3), 0, 0, &cs, &why), 0);
    beat_campaigns_fini(&cs);
    char m4[] = CAMPAIGNS("4");
    CHECK_EQ_INT(beat_campaigns_decode(m4, strlen(m4), 0, 0, &cs, &why), 0);
    beat_campaigns_fini(&cs);
    char m5[] = CAMPAIGNS("5");
    CHECK_EQ_INT(beat_campaigns_decode(m5, strlen(m5), 0, 0, &cs, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 5");
    return 0;
}

#define EXCHANGES(v)                                                                               \
    "{\"v\":" v "," FUTURE ",\"exchanges\":[{\"id\":\"x1\",\"networks\":[\"10.0.0.0/8\"],"         \
    "\"qps\":5," FUTURE ",\"notices\":{\"lurl\":false," FUTURE "}}]}"

/* Exchanges, like campaigns, are decoded strictly from operators only. */
static int t_exchanges(void) {
    char m[] = EXCHANGES("1");
    beat_exchange_set xs;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_exchanges_decode(m, strlen(m), BEAT_EXCHANGES_STRICT, &xs, &why), -EBADMSG);
    CHECK_REASON(why, "zz_future: unknown field");
    CHECK_EQ_INT(beat_exchanges_decode(m, strlen(m), 0, &xs, &why), 0);
    CHECK(xs.n == 1 && xs.x[0].qps == 5 && !xs.x[0].lurl);
    beat_exchanges_fini(&xs);
    bump(m);
    CHECK_EQ_INT(beat_exchanges_decode(m, strlen(m), 0, &xs, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 2");
    return 0;
}

/* The snapshot is at v2 (exchanges added); v1 frames are still read, as a
 * snapshot without exchanges, and v3 is refused. */
static int t_snapshot(void) {
    char m[] =
        "S{\"v\":2," FUTURE ",\"campaigns_version\":3,\"state_version\":0,"
        "\"exchanges_version\":4,\"campaigns\":" CAMPAIGNS("1") ",\"state\":null,"
                                                                "\"exchanges\":" EXCHANGES("1") "}";
    beat_campaign_set cs;
    beat_state st;
    beat_exchange_set xs;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_snapshot_decode(m, strlen(m), &cs, &st, &xs, &why), 0);
    CHECK(cs.n == 1 && cs.version == 3 && st.n == 0 && xs.n == 1 && xs.version == 4);
    beat_campaigns_fini(&cs);
    beat_state_fini(&st);
    beat_exchanges_fini(&xs);
    char v1[] = "S{\"v\":1," FUTURE ",\"campaigns_version\":3,\"state_version\":0,"
                "\"campaigns\":" CAMPAIGNS("1") ",\"state\":null}";
    CHECK_EQ_INT(beat_snapshot_decode(v1, strlen(v1), &cs, &st, &xs, &why), 0);
    CHECK(cs.n == 1 && xs.n == 0 && xs.version == 0);
    beat_campaigns_fini(&cs);
    beat_state_fini(&st);
    m[6] = '3'; /* the frame's own v */
    CHECK_EQ_INT(beat_snapshot_decode(m, strlen(m), &cs, &st, &xs, &why), -EBADMSG);
    CHECK_REASON(why, "snapshot.v: unsupported version 3");
    char m2[] = "S{\"v\":2,\"campaigns_version\":3,\"state_version\":0,\"exchanges_version\":0,"
                "\"campaigns\":" CAMPAIGNS("5") ",\"state\":null,\"exchanges\":null}";
    CHECK_EQ_INT(beat_snapshot_decode(m2, strlen(m2), &cs, &st, &xs, &why), -EBADMSG);
    CHECK_REASON(why, "unsupported version 5");
    char m3[] = "S{\"v\":2,\"campaigns_version\":3,\"state_version\":0,\"exchanges_version\":4,"
                "\"campaigns\":" CAMPAIGNS("1") ",\"state\":null,\"exchanges\":" EXCHANGES("2") "}";
    CHECK_EQ_INT(beat_snapshot_decode(m3, strlen(m3), &cs, &st, &xs, &why), -EBADMSG);
    CHECK_REASON(why, "snapshot.exchanges: v: unsupported version 2");
    return 0;
}

static const beat_test_case cases[] = {
    {"event", t_event},         {"aggregates", t_aggregates}, {"samples", t_samples},
    {"state", t_state},         {"heartbeat", t_heartbeat},   {"campaigns", t_campaigns},
    {"exchanges", t_exchanges}, {"snapshot", t_snapshot},     {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_versions", cases, argc, argv); }
