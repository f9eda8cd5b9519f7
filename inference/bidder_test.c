/* Bidding on banner campaigns (docs/examples/campaigns.json) in a
 * hand-built world (bidder_testlib.h): exact prices, floors, sizes, pauses,
 * staleness, frequency caps, explanations, targeting and blocks, several
 * impressions. The response fields, notice URLs and the request's seat,
 * test, consent and currency rules are bidder_openrtb_test.c's; video,
 * native, deals and the IAB example requests have their own
 * bidder_*_test.c; worlds, frames and swaps themselves are model_test.c's. */
#include "bidder_testlib.h"

/* ---- tests ------------------------------------------------------------------- */

static int test_exact_price(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    static inf_result res;
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0.03", "www.foobar.com", "u1", NULL), T0 + 1000, &res),
                 0);
    CHECK_EQ_INT(res.n, 1);
    /* 1.5 CPM × 0.75 / 0.25 × 1.2 = 5.4 CPM */
    CHECK_EQ_STR(winner(w, &res), BOOSTED);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 5400000);
    CHECK(fabs(res.bids[0].pctr - 0.75) < 1e-6);
    const beat_campaign *c = w->camps[res.bids[0].camp].c;
    CHECK_EQ_STR(c->creatives[res.bids[0].creative].crid, "umbrella-news-300x250");
    /* dom, pub, sz, chan, cat, hr → 6 bases + 6 crosses + campaign bias. */
    CHECK_EQ_INT(res.bids[0].n_feat, 13);
    CHECK_EQ_INT(res.bids[0].feat[12], w->camps[res.bids[0].camp].hash & 1023);

    /* Without the boost the others price at 1.5 × 0.5 / 0.25 × 1.2 = 3.6. */
    override ov[] = {{BOOSTED, 1.2, true, false}};
    inf_world *w2 = make_world(ov, 1, T0);
    CHECK_EQ_INT(
        run(b, w2, req_json(BANNER, "0.03", "www.foobar.com", "u1", NULL), T0 + 1000, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 3600000);
    CHECK(fabs(res.bids[0].pctr - 0.5) < 1e-9);
    /* Ties (same price and pCTR) go to the earlier campaign. */
    CHECK_EQ_STR(winner(w2, &res), "acme-shoes");

    /* A larger multiplier is clipped to max_bid (6 CPM); 0 never bids. */
    override big[] = {{BOOSTED, 2.0, false, false}};
    inf_world *w3 = make_world(big, 1, T0);
    CHECK_EQ_INT(run(b, w3, req_json(BANNER, "0", "www.foobar.com", "u1", NULL), T0 + 1000, &res),
                 0);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 6000000);
    CHECK_EQ_INT(inf_bidder_price(c, 0.75, 0.25, 0.0), 0);
    CHECK_EQ_INT(inf_bidder_price(c, 0.5, 0.0, 1.0), 6000000); /* avg ≤ 0 → 0.01 */
    CHECK_EQ_INT(inf_bidder_price(c, 0.001, 0.0, 1.0), 150000);
    inf_world_free(w);
    inf_world_free(w2);
    inf_world_free(w3);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_floor(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    CHECK(b && w);
    /* 5.4 is exactly the boosted price: it bids. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "5.4", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 5400000);
    /* Above it, nobody (the others are at 3.6). */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "5.41", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_BELOW_FLOOR);
    /* 4.0: only the boosted one clears it. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "4.0", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_STR(winner(w, &res), BOOSTED);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_sizes(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    CHECK(b && w);
    CHECK_EQ_INT(run(b, w, req_json("{\"w\":999,\"h\":999}", "0", "a.com", "u1", NULL), T0, &res),
                 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MATCH);
    /* format[]: the first size with a creative wins the creative choice. */
    CHECK_EQ_INT(run(b, w,
                     req_json("{\"format\":[{\"w\":999,\"h\":1},{\"w\":728,\"h\":90}]}", "0",
                              "a.com", "u1", NULL),
                     T0, &res),
                 0);
    CHECK_EQ_INT(res.n, 1);
    const beat_campaign *c = w->camps[res.bids[0].camp].c;
    CHECK_EQ_STR(c->creatives[res.bids[0].creative].crid, "umbrella-news-728x90");
    /* 160x600 exists only for umbrella-news. */
    override ov[] = {{BOOSTED, 1.2, true, false}};
    inf_world *w2 = make_world(ov, 1, T0);
    CHECK_EQ_INT(run(b, w2, req_json("{\"w\":160,\"h\":600}", "0", "a.com", "u1", NULL), T0, &res),
                 0);
    CHECK_EQ_INT(res.n, 0);
    /* No banner at all → no_imp. */
    const char *video = "{\"id\":\"v\",\"imp\":[{\"id\":\"1\",\"video\":{}}],\"site\":{}}";
    CHECK_EQ_INT(run(b, w, video, T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_IMP);
    inf_world_free(w);
    inf_world_free(w2);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_paused_and_absent(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    CHECK(b);
    /* Paused in the state, or absent from it: skipped. */
    override ov[] = {{BOOSTED, 1.2, true, false}, {"acme-shoes", 1.2, false, true}};
    inf_world *w = make_world(ov, 2, T0);
    CHECK(w);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_STR(winner(w, &res), "initech-apps");
    /* Paused in the campaign itself. */
    ((beat_campaign *)w->camps[2].c)->paused = true; /* initech-apps */
    inf_world *w2 = inf_world_build(w->model, w->snap);
    CHECK_EQ_INT(run(b, w2, req_json(BANNER, "0", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0); /* globex needs a country; nobody else is left */
    CHECK_EQ_INT(res.reason, INF_NB_NO_MATCH);
    /* Out of flight. */
    inf_world *w3 = make_world(NULL, 0, T0 + 3600 * 1000); /* fresh state then */
    CHECK_EQ_INT(run(b, w3, req_json(BANNER, "0", "a.com", "u1", NULL), T0 + 3600 * 1000, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MATCH);
    CHECK_EQ_INT(run(b, w3, req_json(BANNER, "0", "a.com", "u1", NULL), T0 - 1, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MATCH);
    inf_world_free(w);
    inf_world_free(w2);
    inf_world_free(w3);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_no_model_state_stale(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    const char *j = req_json(BANNER, "0", "a.com", "u1", NULL);
    CHECK_EQ_INT(run(b, NULL, j, T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MODEL);
    inf_snap *s = make_snap(T0, NULL, 0, false);
    inf_model *m = make_model(0.25);
    CHECK(s && m);
    inf_world *w = inf_world_build(NULL, s);
    CHECK_EQ_INT(run(b, w, j, T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MODEL);
    inf_world_free(w);
    w = inf_world_build(m, s); /* campaigns but no state */
    CHECK_EQ_INT(run(b, w, j, T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_STATE);
    inf_world_free(w);
    inf_model_unref(m);
    inf_snap_unref(s);
    /* State ts 30 s old is fine, 30.001 s is stale. */
    w = make_world(NULL, 0, T0);
    CHECK_EQ_INT(run(b, w, j, T0 + 30000, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(run(b, w, j, T0 + 30001, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_STALE_STATE);
    /* Request currency and imp currency. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"cur\":[\"EUR\"]"), T0, &res),
                 0);
    CHECK_EQ_INT(res.reason, INF_NB_CURRENCY);
    CHECK_EQ_INT(
        run(b, w, req_json(BANNER, "0,\"bidfloorcur\":\"EUR\"", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_CURRENCY); /* no rate for EUR: say so */
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_freq_cap(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    /* Only initech-apps (cap 20 per 3600 s) left. */
    override ov[] = {{BOOSTED, 1, true, false}, {"acme-shoes", 1, true, false}};
    inf_world *w = make_world(ov, 2, T0);
    CHECK(b && w);
    const char *j = req_json(BANNER, "0", "a.com", "capped-user", NULL);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(run(b, w, j, T0 + i, &res), 0);
        CHECK_EQ_STR(winner(w, &res), "initech-apps");
    }
    CHECK_EQ_INT(inf_bidder_freq_count(b, &w->camps[2], UKEY("capped-user"), T0), 20);
    /* the bid log carries the person's keyed hash and the cap window, never the id */
    {
        static beat_event ev;
        inf_bidder_event(b, w, &R, &res, 0, &ev);
        CHECK(ev.cap_key == UKEY("capped-user") && ev.cap_key != 0);
        CHECK_EQ_INT(ev.cap_window_s, 3600);
        /* the global rows name the campaign as datastream does */
        CHECK(w->camps[2].id_hash == beat_fcap_camp(w->camps[2].c->id));
        beat_buf o;
        beat_buf_init(&o, 1 << 16);
        CHECK_EQ_INT(beat_event_encode(&ev, &o), 0);
        CHECK(!strstr(o.data, "capped-user"));
        beat_buf_fini(&o);
    }
    CHECK_EQ_INT(run(b, w, j, T0 + 100, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_FREQ_CAP);
    /* Another user is not capped; no user at all cannot be capped → skip. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "other-user", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", NULL, NULL), T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_FREQ_CAP);
    /* Next fixed window (aligned to multiples of 3600 s) starts afresh. */
    int64_t next_win = (T0 / 3600000 + 1) * 3600000;
    CHECK(next_win < T0 + 3600000);                          /* still in flight */
    inf_world *w2 = make_world(ov, 2, next_win);             /* a state fresh at that time */
    j = req_json(BANNER, "0", "a.com", "capped-user", NULL); /* static buffer reused */
    CHECK_EQ_INT(run(b, w2, j, next_win, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NONE);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(inf_bidder_freq_count(b, &w2->camps[2], UKEY("capped-user"), next_win), 1);
    inf_world_free(w);
    inf_world_free(w2);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* --explain: the first imp's candidates with their pCTRs, including those
 * the cap or a pause keep from bidding (scored for the header only, no
 * bid, the no-bid reason unchanged); off, nothing is recorded. */
static int test_explain(void) {
    inf_bidder_cfg cfg = {.receiver_url = RCV,
                          .secret = SECRET,
                          .secret_len = strlen(SECRET),
                          .node = "inf-test",
                          .max_state_age_ms = 30000,
                          .freq_slots_log2 = 12,
                          .explain = true};
    inf_bidder *b = inf_bidder_new(&cfg), *plain = make_bidder();
    static inf_result res;
    override ov[] = {{BOOSTED, 1, true, false}, {"acme-shoes", 1, true, false}};
    inf_world *w = make_world(ov, 2, T0);
    CHECK(b && plain && w);
    const char *j = req_json(BANNER, "0", "a.com", "x-user", NULL);
    CHECK_EQ_INT(run(plain, w, j, T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.n_explain, 0);
    CHECK_EQ_INT(run(b, w, j, T0, &res), 0);
    CHECK_EQ_STR(winner(w, &res), "initech-apps");
    CHECK(res.bids[0].value_cpm_micros == res.bids[0].price_cpm_micros);
    bool seen[3] = {false, false, false};
    for (int i = 0; i < res.n_explain; i++) {
        const char *id = w->camps[res.explain[i].camp].c->id;
        CHECK(res.explain[i].pctr > 0 && res.explain[i].pctr < 1);
        seen[0] |= strcmp(id, "initech-apps") == 0;
        seen[1] |= strcmp(id, BOOSTED) == 0;      /* paused */
        seen[2] |= strcmp(id, "acme-shoes") == 0; /* paused */
    }
    CHECK(seen[0] && seen[1] && seen[2]);
    int n_all = res.n_explain;
    char h[INF_EXPLAIN_HDR_MAX + 1];
    inf_bidder_explain(w, &res, h, sizeof h);
    char want[64];
    snprintf(want, sizeof want, "X-Beat-Explain: v=%lld;", (long long)res.bids[0].price_cpm_micros);
    CHECK(strncmp(h, want, strlen(want)) == 0 && strstr(h, "initech-apps=") != NULL);
    CHECK(strcmp(h + strlen(h) - 2, "\r\n") == 0);
    /* A buffer too small for every campaign: whole entries are left out. */
    char small[48];
    inf_bidder_explain(w, &res, small, sizeof small);
    CHECK(strlen(small) < sizeof small && strcmp(small + strlen(small) - 2, "\r\n") == 0);
    CHECK(strncmp(small, want, strlen(want)) == 0);
    const char *eq = strrchr(small, '=');
    CHECK(eq && eq[1] != 'v' && strchr(small + strlen(want), ',') == NULL);
    /* Capped: no bid, the same reason as without explain, still listed. */
    for (int i = 0; i < 19; i++) CHECK_EQ_INT(run(b, w, j, T0 + 1 + i, &res), 0); /* 20 */
    CHECK_EQ_INT(run(b, w, j, T0 + 100, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_FREQ_CAP);
    CHECK_EQ_INT(res.n_explain, n_all);
    inf_bidder_explain(w, &res, h, sizeof h);
    CHECK(strncmp(h, "X-Beat-Explain: v=0;", 20) == 0 && strstr(h, "initech-apps=") != NULL);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_bidder_free(plain);
    inf_req_fini(&R);
    return 0;
}

static int test_targeting_and_blocks(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    /* badv / bcat remove the boosted advertiser; acme takes the imp. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"badv\":[\"umbrella.example\"]"),
                     T0, &res),
                 0);
    CHECK_EQ_STR(winner(w, &res), "acme-shoes");
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"bcat\":[\"IAB12\"]"), T0, &res),
                 0);
    CHECK_EQ_STR(winner(w, &res), "acme-shoes");
    /* A block on a sub-category does not block the parent. */
    CHECK_EQ_INT(
        run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"bcat\":[\"IAB12-1\"]"), T0, &res), 0);
    CHECK_EQ_STR(winner(w, &res), BOOSTED);
    /* domains_block matches the domain and its subdomains. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "www.blocked.example", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MATCH);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "notblocked.example", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    /* globex-travel targets USA/GBR/DEU: alone, it bids only with a country. */
    override ov[] = {{BOOSTED, 1, true, false},
                     {"acme-shoes", 1, true, false},
                     {"initech-apps", 1, true, false}};
    inf_world *w2 = make_world(ov, 3, T0);
    CHECK_EQ_INT(run(b, w2, req_json(BANNER, "0", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(
        run(b, w2,
            req_json(BANNER, "0", "a.com", "u1", ",\"device\":{\"geo\":{\"country\":\"FRA\"}}"), T0,
            &res),
        0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(
        run(b, w2,
            req_json(BANNER, "0", "a.com", "u1", ",\"device\":{\"geo\":{\"country\":\"usa\"}}"), T0,
            &res),
        0);
    CHECK_EQ_STR(winner(w2, &res), "globex-travel");
    /* A truncated block list is not honoured partially: no bid at all. */
    char extra[8192];
    size_t n = (size_t)snprintf(extra, sizeof extra, ",\"badv\":[");
    for (int i = 0; i <= INF_BLOCK_MAX; i++)
        n += (size_t)snprintf(extra + n, sizeof extra - n, "%s\"x%d.com\"", i ? "," : "", i);
    snprintf(extra + n, sizeof extra - n, "]");
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", extra), T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_BLOCKLIST);
    inf_world_free(w);
    inf_world_free(w2);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_multi_imp(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    CHECK(b && w);
    size_t len = 0;
    char *body = beat_test_read_file("tests/fixtures/openrtb/bid-request/2.5/mobile.json", &len);
    CHECK(body != NULL);
    beat_reason why = {{0}};
    inf_req_fini(&R);
    CHECK_EQ_INT(inf_req_parse(body, len, &R, &why), 0);
    free(body);
    inf_bidder_run(b, w, &R, T0, test_xc(), &res);
    /* imp 1 (728x90, floor 0.5) bids; imp 2 (0x0 interstitial) cannot. */
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].imp, 0);
    CHECK_EQ_STR(winner(w, &res), BOOSTED);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 5400000);
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"exact_price", test_exact_price},
        {"floor", test_floor},
        {"sizes", test_sizes},
        {"paused_and_absent", test_paused_and_absent},
        {"no_model_state_stale", test_no_model_state_stale},
        {"freq_cap", test_freq_cap},
        {"explain", test_explain},
        {"targeting_and_blocks", test_targeting_and_blocks},
        {"multi_imp", test_multi_imp},
        {NULL, NULL},
    };
    return beat_test_main("bidder", cases, argc, argv);
}
