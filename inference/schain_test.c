/* Supply chains: reading source.schain (2.6) and source.ext.schain (2.5)
 * with their defects, a campaign's schain_complete / sellers rules as a
 * table, and the bid path's no-bid reasons (schain_incomplete,
 * schain_seller) on a world whose one campaign has both rules
 * (inference/testdata/campaigns-schain.json). */
#include "bidder_testlib.h"
#include "schain.h"

static const char *with_source(const char *source) {
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
             "\"site\":{\"id\":\"102855\",\"domain\":\"www.foobar.com\"}%s%s}",
             source ? ",\"source\":" : "", source ? source : "");
    return buf;
}

#define NODE(asi, sid) "{\"asi\":\"" asi "\",\"sid\":\"" sid "\",\"hp\":1}"
#define CHAIN(c, nodes) "{\"schain\":{\"ver\":\"1.0\",\"complete\":" #c ",\"nodes\":[" nodes "]}}"
#define CHAIN25(c, nodes)                                                                          \
    "{\"ext\":{\"schain\":{\"ver\":\"1.0\",\"complete\":" #c ",\"nodes\":[" nodes "]}}}"

static int parse(const char *source) {
    beat_reason why = {{0}};
    inf_req_fini(&R);
    const char *j = with_source(source);
    if (inf_req_parse(j, strlen(j), &R, &why) != 0) {
        fprintf(stderr, "  %s\n", why.msg);
        return -1;
    }
    return 0;
}

static int t_read(void) {
    CHECK_EQ_INT(parse(NULL), 0);
    CHECK(R.schain_complete == -1 && R.n_schain == 0);
    CHECK_EQ_INT(parse(CHAIN(1, NODE("exchange.example", "pub-1") "," NODE("ssp.example", "9"))),
                 0);
    CHECK(R.schain_complete == 1 && R.n_schain == 2 && !R.schain_truncated);
    CHECK_EQ_STR(R.schain[0].asi, "exchange.example");
    CHECK_EQ_STR(R.schain[1].sid, "9");
    CHECK_EQ_INT(R.schain[0].hp, 1);
    CHECK_EQ_INT(parse(CHAIN25(0, NODE("exchange.example", "pub-1"))), 0);
    CHECK(R.schain_complete == 0 && R.n_schain == 1);
    /* a node without sid, or not an object: the chain is not complete */
    CHECK_EQ_INT(parse(CHAIN(1, "{\"asi\":\"a.example\"}")), 0);
    CHECK(R.schain_complete == 0 && R.n_schain == 1 && R.schain[0].sid == NULL);
    CHECK_EQ_INT(parse(CHAIN(1, NODE("a.example", "1") ",7")), 0);
    CHECK(R.schain_complete == 0 && R.n_schain == 1);
    /* wrong shapes: absent, never a 400 */
    CHECK_EQ_INT(parse("{\"schain\":{\"complete\":\"1\",\"nodes\":[]}}"), 0);
    CHECK_EQ_INT(R.schain_complete, -1);
    CHECK_EQ_INT(parse("{\"schain\":{\"complete\":1,\"nodes\":{}}}"), 0);
    CHECK_EQ_INT(R.schain_complete, -1);
    CHECK_EQ_INT(parse("{\"schain\":5}"), 0);
    CHECK_EQ_INT(parse("7"), 0);
    /* bounded */
    CHECK_EQ_INT(
        parse(CHAIN(
            1,
            NODE("a", "1") "," NODE("a", "2") "," NODE("a", "3") "," NODE("a", "4") "," NODE(
                "a", "5") "," NODE("a", "6") "," NODE("a", "7") "," NODE("a", "8") "," NODE("a",
                                                                                            "9"))),
        0);
    CHECK(R.n_schain == INF_SCHAIN_MAX && R.schain_truncated && R.schain_complete == 1);
    return 0;
}

static int t_rules(void) {
    char *s1 = "ssp.example", *s2 = "exchange.example:pub-1";
    char *sellers[] = {s1, s2};
    beat_campaign c;
    memset(&c, 0, sizeof c);
    static const struct {
        bool complete;
        int n_sellers;
        const char *source;
        inf_schain_verdict want;
    } cases[] = {
        {false, 0, NULL, INF_SCHAIN_OK},
        {true, 0, NULL, INF_SCHAIN_INCOMPLETE},
        {true, 0, CHAIN(0, NODE("x.example", "1")), INF_SCHAIN_INCOMPLETE},
        {true, 0, CHAIN(1, ""), INF_SCHAIN_INCOMPLETE},
        {true, 0, CHAIN(1, NODE("x.example", "1")), INF_SCHAIN_OK},
        {false, 2, NULL, INF_SCHAIN_SELLER},
        {false, 2, CHAIN(0, NODE("SSP.example", "42")), INF_SCHAIN_OK}, /* asi entry, any sid */
        {false, 2, CHAIN(1, NODE("exchange.example", "pub-1")), INF_SCHAIN_OK},
        {false, 2, CHAIN(1, NODE("exchange.example", "pub-2")), INF_SCHAIN_SELLER},
        {false, 2, CHAIN(1, NODE("exchange.example.evil", "pub-1")), INF_SCHAIN_SELLER},
        /* the seller is the first node, not a later reseller */
        {false, 2, CHAIN(1, NODE("other.example", "1") "," NODE("ssp.example", "1")),
         INF_SCHAIN_SELLER},
        {true, 2, CHAIN(0, NODE("ssp.example", "1")), INF_SCHAIN_INCOMPLETE},
        {true, 2, CHAIN(1, NODE("ssp.example", "1")), INF_SCHAIN_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        c.schain_complete = cases[i].complete;
        c.sellers = (beat_strv){cases[i].n_sellers ? sellers : NULL, cases[i].n_sellers};
        CHECK_EQ_INT(parse(cases[i].source), 0);
        if (inf_schain_check(&c, &R) != cases[i].want) {
            fprintf(stderr, "  case %zu: verdict %d want %d\n", i, inf_schain_check(&c, &R),
                    cases[i].want);
            return 1;
        }
    }
    return 0;
}

static int t_bid_path(void) {
    campaigns_file = "inference/testdata/campaigns-schain.json";
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    campaigns_file = CAMPAIGNS;
    CHECK(b && w);
    static inf_result res;
    CHECK_EQ_INT(run(b, w, with_source(NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_STR(inf_nobid_name(res.reason), "schain_incomplete");
    CHECK_EQ_INT(run(b, w, with_source(CHAIN(1, NODE("rogue.example", "1"))), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_STR(inf_nobid_name(res.reason), "schain_seller");
    CHECK_EQ_INT(run(b, w, with_source(CHAIN25(1, NODE("exchange.example", "pub-1"))), T0, &res),
                 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_STR(winner(w, &res), "chain-bound");
    inf_bidder_free(b);
    inf_world_free(w);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"read", t_read}, {"rules", t_rules}, {"bid_path", t_bid_path}, {NULL, NULL}};
    int rc = beat_test_main("schain", tests, argc, argv);
    inf_req_fini(&R);
    return rc;
}
