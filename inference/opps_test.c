/* Opportunities (opps.h): slots stable per campaign id, each worker's row
 * its own, the collector sending only what is new; and the bidder counting
 * a campaign once per imp where it was a candidate — before frequency cap
 * and price, never on test traffic. */
#include "bidder_testlib.h"
#include "opps.h"

typedef struct got {
    int n;
    beat_event ev[8];
} got;

static void keep(void *arg, const beat_event *ev) {
    got *g = arg;
    if (g->n < 8) g->ev[g->n++] = *ev;
}

static int64_t count_of(const got *g, const char *camp) {
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->ev[i].campaign, camp) == 0) return g->ev[i].opps;
    return 0;
}

static int test_slots_rows_and_collect(void) {
    inf_opps *o = inf_opps_new(2, 3);
    CHECK(o != NULL);
    CHECK_EQ_INT(inf_opps_slot(o, "a"), 0);
    CHECK_EQ_INT(inf_opps_slot(o, "b"), 1);
    CHECK_EQ_INT(inf_opps_slot(o, "a"), 0); /* stable across world builds */
    CHECK_EQ_INT(inf_opps_slot(o, "c"), 2);
    CHECK_EQ_INT(inf_opps_slot(o, "d"), -1); /* full: not counted */
    CHECK_EQ_INT(inf_opps_slot(o, ""), -1);
    CHECK(inf_opps_row(o, 2) == NULL);
    _Atomic uint64_t *r0 = inf_opps_row(o, 0), *r1 = inf_opps_row(o, 1);
    CHECK(r0 && r1 && r0 != r1);
    for (int i = 0; i < 5; i++) inf_opps_inc(r0, 0);
    inf_opps_inc(r1, 0);
    inf_opps_inc(r1, 2);
    got g = {0};
    CHECK_EQ_INT(inf_opps_collect(o, 1234, "inf-1", keep, &g), 2);
    CHECK_EQ_INT(count_of(&g, "a"), 6); /* both workers' rows, summed */
    CHECK_EQ_INT(count_of(&g, "c"), 1);
    CHECK_EQ_INT(g.ev[0].type, BEAT_EV_OPP);
    CHECK_EQ_STR(g.ev[0].node, "inf-1");
    CHECK_EQ_INT(g.ev[0].ts_ms, 1234);
    beat_buf b; /* what the bid log sends: a valid event */
    beat_buf_init(&b, 1024);
    CHECK_EQ_INT(beat_event_encode(&g.ev[0], &b), 0);
    beat_buf_fini(&b);
    g.n = 0; /* nothing new: nothing sent */
    CHECK_EQ_INT(inf_opps_collect(o, 2234, "inf-1", keep, &g), 0);
    inf_opps_inc(r1, 0); /* only what is new */
    CHECK_EQ_INT(inf_opps_collect(o, 3234, "inf-1", keep, &g), 1);
    CHECK_EQ_INT(count_of(&g, "a"), 1);
    inf_opps_free(o);
    return 0;
}

static int test_bidder_counts_candidates(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    inf_world *w = make_world(NULL, 0, T0);
    inf_opps *o = inf_opps_new(1, 16);
    CHECK(b && w && o);
    for (int i = 0; i < w->n; i++) w->camps[i].opp_slot = inf_opps_slot(o, w->camps[i].c->id);
    res.opps = inf_opps_row(o, 0);
    /* Every live campaign but globex-travel (it needs a country) is a
     * candidate; one of them wins. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    /* badv leaves acme-shoes and initech-apps; a floor nobody reaches
     * still counts them (price comes after) */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"badv\":[\"umbrella.example\"]"),
                     T0, &res),
                 0);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "500", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_BELOW_FLOOR);
    /* test traffic is not an opportunity */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"test\":1"), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    got g = {0};
    inf_opps_collect(o, T0, "inf-1", keep, &g);
    CHECK_EQ_INT(count_of(&g, "acme-shoes"), 3);
    CHECK_EQ_INT(count_of(&g, "initech-apps"), 3);
    CHECK_EQ_INT(count_of(&g, BOOSTED), 2);
    CHECK_EQ_INT(count_of(&g, "globex-travel"), 0);
    /* without a row nothing is counted (and nothing breaks) */
    res.opps = NULL;
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", NULL), T0, &res), 0);
    g.n = 0;
    CHECK_EQ_INT(inf_opps_collect(o, T0, "inf-1", keep, &g), 0);
    inf_opps_free(o);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case t[] = {
        {"slots_rows_and_collect", test_slots_rows_and_collect},
        {"bidder_counts_candidates", test_bidder_counts_candidates},
        {NULL, NULL},
    };
    return beat_test_main("opps", t, argc, argv);
}
