/* Dayparting at auction time (bid_imp): umbrella-news flies 2026-03-01 to
 * 03-16 and is open Mondays 09-17 in New York; the other example campaigns
 * flew in 2023. So a request is bid on only in that window, judged in the
 * campaign's zone across the spring change, and otherwise answered with
 * reason "schedule" (a campaign matched but was closed), or "no_match"
 * outside every flight. Under a simulated clock the same decisions follow
 * engine time, not the wall time the request arrives at. */
#include "beat_clock.h"
#include "bidder_testlib.h"

#define H 3600000LL
#define MON_0302_UTC 1772409600000LL /* Monday 2026-03-02 00:00 UTC (EST: UTC-5) */
#define MON_0309_UTC 1773014400000LL /* Monday 2026-03-09 00:00 UTC (EDT: UTC-4) */

static int at(inf_bidder *b, int64_t now, inf_result *res) {
    inf_world *w = make_world(NULL, 0, now);
    CHECK(w != NULL);
    int rc = run(b, w, req_json(BANNER, "0.01", "news.example", NULL, NULL), now, res);
    if (rc == 0 && res->n) CHECK_EQ_STR(winner(w, res), BOOSTED);
    inf_world_free(w);
    return rc;
}

static int test_open_hours_in_the_campaign_zone(void) {
    campaigns_file = "inference/testdata/campaigns-schedule.json";
    inf_bidder *b = make_bidder();
    inf_result res;
    memset(&res, 0, sizeof res);
    static const struct {
        int64_t t;
        inf_nobid want; /* INF_NB_NONE: a bid */
    } cases[] = {
        {MON_0302_UTC + 13 * H + 30 * 60000, INF_NB_SCHEDULE}, /* 08:30 EST */
        {MON_0302_UTC + 14 * H, INF_NB_NONE},                  /* 09:00 EST */
        {MON_0302_UTC + 21 * H + 59 * 60000, INF_NB_NONE},     /* 16:59 EST */
        {MON_0302_UTC + 22 * H, INF_NB_SCHEDULE},              /* 17:00 EST */
        {MON_0302_UTC + 38 * H, INF_NB_SCHEDULE},              /* Tuesday 09:00 EST */
        {MON_0309_UTC + 12 * H + 59 * 60000, INF_NB_SCHEDULE}, /* 08:59 EDT */
        {MON_0309_UTC + 13 * H, INF_NB_NONE},                  /* 09:00 EDT */
        {MON_0309_UTC + 20 * H + 59 * 60000, INF_NB_NONE},     /* 16:59 EDT */
        {MON_0309_UTC + 21 * H, INF_NB_SCHEDULE},              /* 17:00 EDT */
        {MON_0309_UTC + 7 * 24 * H + 14 * H, INF_NB_NO_MATCH}, /* after the flight */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ_INT(at(b, cases[i].t, &res), 0);
        if (cases[i].want == INF_NB_NONE) CHECK_EQ_INT(res.n, 1);
        else {
            CHECK_EQ_INT(res.n, 0);
            CHECK_EQ_STR(inf_nobid_name(res.reason), inf_nobid_name(cases[i].want));
        }
    }
    CHECK_EQ_STR(inf_nobid_name(INF_NB_SCHEDULE), "schedule");
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* The request arrives at wall time T0 - 10 h (2023, before every flight);
 * the engine clock says Monday 2026-03-09 10:00 EDT, then 18:00: flight
 * and schedule follow it. */
static int test_engine_time_decides(void) {
    campaigns_file = "inference/testdata/campaigns-schedule.json";
    inf_bidder *b = make_bidder();
    inf_result res;
    memset(&res, 0, sizeof res);
    beat_reason why = {{0}};
    const long long wall = T0 - 10 * H;
    CHECK_EQ_INT(at(b, wall, &res), 0); /* wall clock: 2023, no flight */
    CHECK(res.n == 0 && res.reason == INF_NB_NO_MATCH);
    char spec[64];
    snprintf(spec, sizeof spec, "%lld:%lld:1", wall, MON_0309_UTC + 14 * H);
    CHECK_EQ_INT(beat_clock_configure(spec, &why), 0);
    CHECK_EQ_INT(at(b, wall, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    snprintf(spec, sizeof spec, "%lld:%lld:1", wall, MON_0309_UTC + 22 * H);
    CHECK_EQ_INT(beat_clock_configure(spec, &why), 0);
    CHECK_EQ_INT(at(b, wall, &res), 0);
    CHECK(res.n == 0 && res.reason == INF_NB_SCHEDULE);
    CHECK_EQ_INT(beat_clock_configure(NULL, &why), 0);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"open_hours_in_the_campaign_zone", test_open_hours_in_the_campaign_zone},
        {"engine_time_decides", test_engine_time_decides},
        {0},
    };
    return beat_test_main("bidder_sched", tests, argc, argv);
}
