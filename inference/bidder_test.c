/* Bidding on a hand-built world: the example campaigns decoded at a fixed
 * now, a model with known weights (hash_bits 10) that went through the real
 * checkpoint frame decoder, and a state with multipliers. Checks exact
 * prices, floors, sizes, pauses, staleness, frequency caps, blocks, the
 * response fields and signed notice URLs (after macro substitution).
 * Worlds, frames and swaps themselves are model_test.c's. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_notice.h"
#include "beat_test.h"
#include "bidder.h"

#define T0 1700000000000LL /* fixed "now": campaigns fly [T0, T0 + 3600 s) */
#define SECRET "bidder-test-secret"
#define RCV "http://rcv.example:8081"
#define BOOSTED "umbrella-news"

/* ---- fixtures ------------------------------------------------------------- */

/* Model: all weights 0 except the boosted campaign's own bias index, set to
 * ln 3, so pCTR is 0.5 for every campaign and 0.75 for the boosted one;
 * avg_ctr 0.25. Built through beat_ckpt_encode + the 'C' frame decoder. */
static inf_model *make_model(double avg_ctr) {
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    snprintf(ck.h.trainer, sizeof ck.h.trainer, "bidder_test");
    ck.h.hash_bits = 10;
    ck.h.hash_seed = BEAT_HASH_SEED_DEFAULT;
    ck.h.dim = 1024;
    ck.h.n_weights = 1025;
    ck.h.avg_ctr = avg_ctr;
    ck.h.ts_ms = T0;
    float w[1025] = {0};
    beat_hash_params hp = {10, BEAT_HASH_SEED_DEFAULT};
    w[beat_feat_campaign_hash(&hp, BOOSTED) & 1023] = (float)log(3.0);
    ck.w = w;
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    uint8_t pre[9] = {BEAT_FRAME_CHECKPOINT, 5, 0, 0, 0, 0, 0, 0, 0}; /* version 5 */
    beat_buf_append(&b, pre, sizeof pre);
    inf_model *m = NULL;
    beat_reason why = {{0}};
    if (beat_ckpt_encode(&ck, &b) == 0 &&
        inf_model_decode(b.data, b.len, 1 << 20, &m, &why) != 0)
        fprintf(stderr, "  model: %s\n", why.msg);
    beat_buf_fini(&b);
    return m;
}

typedef struct override {
    const char *id;
    double mult;
    bool paused, absent;
} override;

/* Campaigns from docs/examples decoded at T0; state version 7 at state_ts,
 * multiplier 1.2 unless overridden. */
static inf_snap *make_snap(int64_t state_ts, const override *ov, int n_ov,
                           bool with_state) {
    size_t len = 0;
    char *json = beat_test_read_file("docs/examples/campaigns.json", &len);
    if (!json) return NULL;
    beat_campaign_set cs;
    beat_reason why = {{0}};
    int rc = beat_campaigns_decode(json, len, T0, &cs, &why);
    free(json);
    if (rc != 0) {
        fprintf(stderr, "  campaigns: %s\n", why.msg);
        return NULL;
    }
    cs.version = 3;
    beat_state st;
    memset(&st, 0, sizeof st);
    if (with_state) {
        snprintf(st.actuator, sizeof st.actuator, "test");
        st.ts_ms = state_ts;
        st.version = 7;
        st.c = calloc((size_t)cs.n, sizeof *st.c);
        for (int i = 0; i < cs.n; i++) {
            const char *id = cs.c[i].id;
            double mult = 1.2;
            bool paused = false, absent = false;
            for (int k = 0; k < n_ov; k++)
                if (strcmp(ov[k].id, id) == 0) {
                    mult = ov[k].mult;
                    paused = ov[k].paused;
                    absent = ov[k].absent;
                }
            if (absent) continue;
            beat_state_campaign *sc = &st.c[st.n++];
            snprintf(sc->id, sizeof sc->id, "%s", id);
            sc->multiplier = mult;
            sc->paused = paused;
        }
    }
    return inf_snap_new(&cs, &st, with_state);
}

static inf_world *make_world(const override *ov, int n_ov, int64_t state_ts) {
    inf_model *m = make_model(0.25);
    inf_snap *s = make_snap(state_ts, ov, n_ov, true);
    inf_world *w = m && s ? inf_world_build(m, s) : NULL;
    inf_model_unref(m); /* the world holds its own references */
    inf_snap_unref(s);
    return w;
}

static inf_bidder *make_bidder(void) {
    inf_bidder_cfg cfg = {.receiver_url = RCV, .secret = SECRET,
                          .secret_len = strlen(SECRET), .node = "inf-test",
                          .max_state_age_ms = 30000, .freq_slots_log2 = 12};
    return inf_bidder_new(&cfg);
}

/* The simple-banner fixture's shape with knobs. */
static const char *req_json(const char *banner, const char *floor,
                            const char *domain, const char *user, const char *extra) {
    static char buf[16384];
    snprintf(buf, sizeof buf,
             "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",\"bidfloor\":%s,\"banner\":%s}],"
             "\"site\":{\"id\":\"102855\",\"domain\":\"%s\",\"cat\":[\"IAB3-1\"],"
             "\"publisher\":{\"id\":\"8953\"}}%s%s%s%s}",
             floor, banner, domain, user ? ",\"user\":{\"id\":\"" : "",
             user ? user : "", user ? "\"}" : "", extra ? extra : "");
    return buf;
}
#define BANNER "{\"w\":300,\"h\":250}"

static inf_req R;

static int run(inf_bidder *b, const inf_world *w, const char *json, int64_t now,
               inf_result *res) {
    beat_reason why = {{0}};
    inf_req_fini(&R);
    if (inf_req_parse(json, strlen(json), &R, &why) != 0) {
        fprintf(stderr, "  request: %s\n", why.msg);
        return -1;
    }
    inf_bidder_run(b, w, &R, now, res);
    return 0;
}

static const char *winner(const inf_world *w, const inf_result *res) {
    return res->n ? w->camps[res->bids[0].camp].c->id : "(none)";
}

/* ---- tests ------------------------------------------------------------------- */

static int test_exact_price(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    static inf_result res;
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0.03", "www.foobar.com", "u1", NULL),
                     T0 + 1000, &res), 0);
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
    CHECK_EQ_INT(run(b, w2, req_json(BANNER, "0.03", "www.foobar.com", "u1", NULL),
                     T0 + 1000, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].price_cpm_micros, 3600000);
    CHECK(fabs(res.bids[0].pctr - 0.5) < 1e-9);
    /* Ties (same price and pCTR) go to the earlier campaign. */
    CHECK_EQ_STR(winner(w2, &res), "acme-shoes");

    /* A larger multiplier is clipped to max_bid (6 CPM); 0 never bids. */
    override big[] = {{BOOSTED, 2.0, false, false}};
    inf_world *w3 = make_world(big, 1, T0);
    CHECK_EQ_INT(run(b, w3, req_json(BANNER, "0", "www.foobar.com", "u1", NULL),
                     T0 + 1000, &res), 0);
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
    CHECK_EQ_INT(run(b, w, req_json("{\"w\":999,\"h\":999}", "0", "a.com", "u1", NULL),
                     T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MATCH);
    /* format[]: the first size with a creative wins the creative choice. */
    CHECK_EQ_INT(run(b, w, req_json("{\"format\":[{\"w\":999,\"h\":1},{\"w\":728,\"h\":90}]}",
                                    "0", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    const beat_campaign *c = w->camps[res.bids[0].camp].c;
    CHECK_EQ_STR(c->creatives[res.bids[0].creative].crid, "umbrella-news-728x90");
    /* 160x600 exists only for umbrella-news. */
    override ov[] = {{BOOSTED, 1.2, true, false}};
    inf_world *w2 = make_world(ov, 1, T0);
    CHECK_EQ_INT(run(b, w2, req_json("{\"w\":160,\"h\":600}", "0", "a.com", "u1", NULL),
                     T0, &res), 0);
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
    CHECK_EQ_INT(run(b, w3, req_json(BANNER, "0", "a.com", "u1", NULL),
                     T0 + 3600 * 1000, &res), 0);
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
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"cur\":[\"EUR\"]"),
                     T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_CURRENCY);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0,\"bidfloorcur\":\"EUR\"", "a.com", "u1", NULL),
                     T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_IMP);
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
    CHECK_EQ_INT(inf_bidder_freq_count(b, &w->camps[2], "capped-user", T0), 20);
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
    CHECK(next_win < T0 + 3600000); /* still in flight */
    inf_world *w2 = make_world(ov, 2, next_win); /* a state fresh at that time */
    j = req_json(BANNER, "0", "a.com", "capped-user", NULL); /* static buffer reused */
    CHECK_EQ_INT(run(b, w2, j, next_win, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NONE);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(inf_bidder_freq_count(b, &w2->camps[2], "capped-user", next_win), 1);
    inf_world_free(w);
    inf_world_free(w2);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

static int test_targeting_and_blocks(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    /* badv / bcat remove the boosted advertiser; acme takes the imp. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1",
                                    ",\"badv\":[\"umbrella.example\"]"), T0, &res), 0);
    CHECK_EQ_STR(winner(w, &res), "acme-shoes");
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"bcat\":[\"IAB12\"]"),
                     T0, &res), 0);
    CHECK_EQ_STR(winner(w, &res), "acme-shoes");
    /* A block on a sub-category does not block the parent. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", "u1", ",\"bcat\":[\"IAB12-1\"]"),
                     T0, &res), 0);
    CHECK_EQ_STR(winner(w, &res), BOOSTED);
    /* domains_block matches the domain and its subdomains. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "www.blocked.example", "u1", NULL), T0,
                     &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_NO_MATCH);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "notblocked.example", "u1", NULL), T0,
                     &res), 0);
    CHECK_EQ_INT(res.n, 1);
    /* globex-travel targets USA/GBR/DEU: alone, it bids only with a country. */
    override ov[] = {{BOOSTED, 1, true, false}, {"acme-shoes", 1, true, false},
                     {"initech-apps", 1, true, false}};
    inf_world *w2 = make_world(ov, 3, T0);
    CHECK_EQ_INT(run(b, w2, req_json(BANNER, "0", "a.com", "u1", NULL), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(run(b, w2, req_json(BANNER, "0", "a.com", "u1",
                                     ",\"device\":{\"geo\":{\"country\":\"FRA\"}}"), T0, &res), 0);
    CHECK_EQ_INT(res.n, 0);
    CHECK_EQ_INT(run(b, w2, req_json(BANNER, "0", "a.com", "u1",
                                     ",\"device\":{\"geo\":{\"country\":\"usa\"}}"), T0, &res), 0);
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

/* Substitutes the exchange's macros the way an exchange would. */
static void substitute(const char *in, char *out, size_t n) {
    static const struct { const char *m, *v; } macros[] = {
        {"${AUCTION_ID}", "auction-1"}, {"${AUCTION_IMP_ID}", "1"},
        {"${AUCTION_PRICE}", "4.2"},    {"${AUCTION_CURRENCY}", "USD"},
        {"${AUCTION_LOSS}", "102"},     {"&amp;", "&"}};
    size_t k = 0;
    while (*in && k + 1 < n) {
        bool hit = false;
        for (size_t i = 0; i < sizeof macros / sizeof macros[0] && !hit; i++) {
            size_t ml = strlen(macros[i].m);
            if (strncmp(in, macros[i].m, ml) == 0) {
                size_t vl = strlen(macros[i].v);
                if (k + vl + 1 >= n) break;
                memcpy(out + k, macros[i].v, vl);
                k += vl;
                in += ml;
                hit = true;
            }
        }
        if (!hit) out[k++] = *in++;
    }
    out[k] = '\0';
}

static int check_notice(const char *url, beat_event_type t, const char *path,
                        int64_t ts, const char *landing) {
    char sub[4096];
    CHECK(strncmp(url, RCV, strlen(RCV)) == 0);
    CHECK(strncmp(url + strlen(RCV), path, strlen(path)) == 0);
    substitute(url, sub, sizeof sub);
    const char *q = strchr(sub, '?');
    CHECK(q != NULL);
    beat_notice n;
    beat_reason why = {{0}};
    int rc = beat_notice_parse(t, q + 1, &n, &why);
    if (rc) fprintf(stderr, "  %s: %s\n", sub, why.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK(beat_notice_verify(SECRET, strlen(SECRET), &n));
    CHECK(!beat_notice_verify("wrong", 5, &n));
    CHECK_EQ_STR(n.auction, "auction-1");
    CHECK_EQ_STR(n.imp, "1");
    CHECK_EQ_STR(n.campaign, BOOSTED);
    CHECK_EQ_STR(n.crid, "umbrella-news-300x250");
    CHECK_EQ_INT(n.bid_cpm_micros, 5400000);
    CHECK_EQ_INT(n.ts_ms, ts);
    if (t == BEAT_EV_WIN || t == BEAT_EV_BILL) CHECK_EQ_INT(n.price_cpm_micros, 4200000);
    if (t == BEAT_EV_LOSS) CHECK_EQ_INT(n.loss_code, 102);
    if (landing) CHECK_EQ_STR(n.landing, landing);
    return 0;
}

static int test_response_and_notices(void) {
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    CHECK(b && w);
    int64_t now = T0 + 1234;
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0.03", "www.foobar.com", "u1", NULL), now,
                     &res), 0);
    CHECK_EQ_INT(res.n, 1);
    beat_buf out, scratch;
    beat_buf_init(&out, 1 << 20);
    beat_buf_init(&scratch, 1 << 16);
    CHECK_EQ_INT(inf_bidder_response(b, w, &R, &res, &out, &scratch), 0);
    cJSON *j = cJSON_Parse(out.data);
    CHECK(j != NULL);
    CHECK_EQ_STR(cJSON_GetObjectItem(j, "id")->valuestring, "auction-1");
    CHECK_EQ_STR(cJSON_GetObjectItem(j, "cur")->valuestring, "USD");
    cJSON *sb = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "seatbid"), 0);
    CHECK_EQ_STR(cJSON_GetObjectItem(sb, "seat")->valuestring, "beat");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sb, "bid")), 1);
    cJSON *bid = cJSON_GetArrayItem(cJSON_GetObjectItem(sb, "bid"), 0);
    CHECK(strlen(cJSON_GetObjectItem(bid, "id")->valuestring) == 24);
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "impid")->valuestring, "1");
    CHECK(strstr(out.data, "\"price\":5.4,") != NULL); /* exact decimal text */
    CHECK(cJSON_GetObjectItem(bid, "price")->valuedouble == 5.4);
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "adid")->valuestring, "umbrella-news-300x250");
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "crid")->valuestring, "umbrella-news-300x250");
    CHECK_EQ_STR(cJSON_GetObjectItem(bid, "cid")->valuestring, BOOSTED);
    CHECK_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(bid, "adomain"), 0)->valuestring,
                 "umbrella.example");
    CHECK_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(bid, "cat"), 0)->valuestring,
                 "IAB12");
    CHECK_EQ_INT(cJSON_GetObjectItem(bid, "w")->valueint, 300);
    CHECK_EQ_INT(cJSON_GetObjectItem(bid, "h")->valueint, 250);
    CHECK_EQ_INT(cJSON_GetObjectItem(bid, "mtype")->valueint, 1);
    CHECK(check_notice(cJSON_GetObjectItem(bid, "nurl")->valuestring, BEAT_EV_WIN,
                       "/win?", now, NULL) == 0);
    CHECK(check_notice(cJSON_GetObjectItem(bid, "burl")->valuestring, BEAT_EV_BILL,
                       "/bill?", now, NULL) == 0);
    CHECK(check_notice(cJSON_GetObjectItem(bid, "lurl")->valuestring, BEAT_EV_LOSS,
                       "/loss?", now, NULL) == 0);
    /* adm: the click URL replaced the macro, &-escaped inside href="…". */
    const char *adm = cJSON_GetObjectItem(bid, "adm")->valuestring;
    CHECK(strstr(adm, "${CLICK_URL}") == NULL);
    CHECK(strstr(adm, "src=\"https://cdn.umbrella.example/300x250.png\"") != NULL);
    const char *href = strstr(adm, "href=\"");
    CHECK(href != NULL);
    href += 6;
    const char *end = strchr(href, '"');
    CHECK(end != NULL);
    char click[4096];
    snprintf(click, sizeof click, "%.*s", (int)(end - href), href);
    for (const char *p = strchr(click, '&'); p; p = strchr(p + 1, '&'))
        CHECK(strncmp(p, "&amp;", 5) == 0);
    CHECK(check_notice(click, BEAT_EV_CLICK, "/click?", now,
                       "https://www.umbrella.example/landing?src=beat") == 0);

    /* The bid-log event mirrors the bid. */
    beat_event ev;
    inf_bidder_event(b, w, &R, &res, 0, &ev);
    CHECK_EQ_INT(ev.type, BEAT_EV_BID);
    CHECK_EQ_STR(ev.auction, "auction-1");
    CHECK_EQ_STR(ev.imp, "1");
    CHECK_EQ_STR(ev.campaign, BOOSTED);
    CHECK_EQ_STR(ev.crid, "umbrella-news-300x250");
    CHECK_EQ_STR(ev.node, "inf-test");
    CHECK_EQ_INT(ev.price_cpm_micros, 5400000);
    CHECK_EQ_INT(ev.model_version, 5);
    CHECK_EQ_INT(ev.state_version, 7);
    CHECK_EQ_INT(ev.ts_ms, now);
    CHECK_EQ_INT(ev.n_feat, 13);
    CHECK(memcmp(ev.feat, res.bids[0].feat, 13 * sizeof ev.feat[0]) == 0);
    beat_buf_reset(&scratch);
    CHECK_EQ_INT(beat_event_encode(&ev, &scratch), 0);
    beat_event back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_event_decode(scratch.data, scratch.len, &back, &why), 0);
    CHECK_EQ_INT(back.n_feat, 13);

    /* A response that does not fit is refused whole, buffer unchanged. */
    beat_buf small;
    beat_buf_init(&small, 200);
    CHECK_EQ_INT(inf_bidder_response(b, w, &R, &res, &small, &scratch), -EMSGSIZE);
    CHECK_EQ_INT(small.len, 0);
    beat_buf_fini(&small);
    cJSON_Delete(j);
    beat_buf_fini(&out);
    beat_buf_fini(&scratch);
    inf_world_free(w);
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
    char *body = beat_test_read_file("../shared/openrtb/bid-request/2.5/mobile.json", &len);
    if (!body) body = beat_test_read_file("shared/openrtb/bid-request/2.5/mobile.json", &len);
    CHECK(body != NULL);
    beat_reason why = {{0}};
    inf_req_fini(&R);
    CHECK_EQ_INT(inf_req_parse(body, len, &R, &why), 0);
    free(body);
    inf_bidder_run(b, w, &R, T0, &res);
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

/* OpenRTB semantics beyond the basics: wseat/bseat, test=1, consent (2.5 ext
 * and 2.6 top level), bidfloorcur through the currency table. */
static int test_seats_test_consent_currency(void) {
    inf_bidder *b = make_bidder();
    static inf_result res;
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(b && w);
    /* wseat without our seat / bseat with it: no bid; wseat with it: bid. */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", NULL, ",\"wseat\":[\"x\"]"), T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_SEAT);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", NULL, ",\"bseat\":[\"beat\"]"), T0, &res), 0);
    CHECK_EQ_INT(res.reason, INF_NB_SEAT);
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", NULL,
                                    ",\"wseat\":[\"x\",\"beat\"],\"bseat\":[\"y\"],\"at\":1"), T0, &res), 0);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(R.at, 1);

    /* Only initech-apps (frequency-capped) left: it needs a usable user id. */
    override ov[] = {{BOOSTED, 1, true, false}, {"acme-shoes", 1, true, false}};
    inf_world *wc = make_world(ov, 2, T0);
    CHECK(wc);
    static const char *const gdpr_no_consent[] = {
        ",\"regs\":{\"gdpr\":1}",                       /* 2.6 */
        ",\"regs\":{\"ext\":{\"gdpr\":1}}",             /* 2.5 */
        ",\"regs\":{\"coppa\":1}",
    };
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(run(b, wc, req_json(BANNER, "0", "a.com", "u-gdpr", gdpr_no_consent[i]),
                         T0, &res), 0);
        CHECK(R.user_id == NULL && !R.personal_ok);
        CHECK_EQ_INT(res.reason, INF_NB_FREQ_CAP);
    }
    /* consent in user.ext (2.5): the user id is kept, the bid goes out */
    static char j[16384];
    snprintf(j, sizeof j,
             "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
             "\"site\":{\"domain\":\"a.com\"},\"regs\":{\"ext\":{\"gdpr\":1}},"
             "\"user\":{\"id\":\"u-gdpr\",\"ext\":{\"consent\":\"CO-tcf\"}}}");
    CHECK_EQ_INT(run(b, wc, j, T0, &res), 0);
    CHECK(R.gdpr && R.personal_ok);
    CHECK_EQ_STR(R.consent, "CO-tcf");
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(inf_bidder_freq_count(b, &wc->camps[2], "u-gdpr", T0), 1);
    /* 2.6: regs.gdpr + user.consent; test=1 bids but does not count */
    snprintf(j, sizeof j,
             "{\"id\":\"a\",\"test\":1,\"imp\":[{\"id\":\"1\",\"banner\":" BANNER "}],"
             "\"site\":{\"domain\":\"a.com\"},\"regs\":{\"gdpr\":1},"
             "\"user\":{\"id\":\"u-gdpr\",\"consent\":\"CP-tcf\"}}");
    CHECK_EQ_INT(run(b, wc, j, T0, &res), 0);
    CHECK(R.test && R.personal_ok);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(inf_bidder_freq_count(b, &wc->camps[2], "u-gdpr", T0), 1);

    /* Currency table: a EUR floor converts; an unknown one skips the imp. */
    beat_reason why = {{0}};
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1.25,gbp=2", &why), 0);
    CHECK(inf_openrtb_rate("GBP") == 2.0 && inf_openrtb_rate("usd") == 1.0);
    CHECK(inf_openrtb_rate("JPY") == 0);
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=0", &why), -EINVAL);
    CHECK_EQ_INT(inf_openrtb_rates_set("EU=1", &why), -EINVAL);
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1,", &why), 0); /* trailing comma */
    CHECK_EQ_INT(inf_openrtb_rates_set("EUR=1.25", &why), 0);
    snprintf(j, sizeof j,
             "{\"id\":\"a\",\"imp\":[{\"id\":\"1\",\"bidfloor\":2,\"bidfloorcur\":\"EUR\","
             "\"banner\":" BANNER "},{\"id\":\"2\",\"bidfloor\":2,\"bidfloorcur\":\"JPY\","
             "\"banner\":" BANNER "}],\"site\":{\"domain\":\"a.com\"}}");
    CHECK_EQ_INT(run(b, w, j, T0, &res), 0);
    CHECK_EQ_INT(R.imp[0].skip, INF_IMP_OK);
    CHECK_EQ_INT(R.imp[0].floor_cpm_micros, 2500000);
    CHECK_EQ_INT(R.imp[1].skip, INF_IMP_CURRENCY);
    CHECK_EQ_INT(res.n, 1);
    CHECK_EQ_INT(res.bids[0].imp, 0);
    CHECK(res.bids[0].price_cpm_micros >= 2500000);
    CHECK_EQ_INT(inf_openrtb_rates_set(NULL, &why), 0);
    CHECK(inf_openrtb_rate("EUR") == 0);

    /* device.sua platform stands in for device.os */
    CHECK_EQ_INT(run(b, w, req_json(BANNER, "0", "a.com", NULL,
                                    ",\"device\":{\"sua\":{\"platform\":{\"brand\":\"Android\"}}}"),
                     T0, &res), 0);
    CHECK_EQ_STR(R.os, "Android");
    inf_world_free(w);
    inf_world_free(wc);
    inf_bidder_free(b);
    inf_req_fini(&R);
    return 0;
}

/* Every shared fixture against the example campaigns (open, fresh state):
 * a bid whose fields check out, or a 204 whose reason we can justify. */
static int test_shared_fixtures(void) {
    static const struct {
        const char *file;
        int bids;          /* expected bids */
        inf_nobid reason;  /* when 0 bids */
    } fx[] = {
        {"2.5/simple-banner.json", 1, 0},
        {"2.5/expandable-creative.json", 1, 0},
        {"2.5/mobile.json", 1, 0},              /* imp 2 is 0x0 interstitial */
        {"2.5/native-ad.json", 0, INF_NB_NO_IMP}, /* native: no native creatives */
        {"2.5/pmp-with-direct-deal.json", 0, INF_NB_NO_IMP}, /* private, no deals */
        {"2.5/video.json", 0, INF_NB_NO_IMP},   /* video: no VAST creatives */
        {"2.6/simple-banner.json", 1, 0},
        {"2.6/expandable-creative.json", 1, 0},
        {"2.6/mobile.json", 1, 0},
        {"2.6/pmp-with-direct-deal.json", 0, INF_NB_NO_IMP},
        {"2.6/video.json", 0, INF_NB_NO_IMP},
    };
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    static inf_result res;
    static beat_buf out, scratch;
    beat_buf_init(&out, 1 << 20);
    beat_buf_init(&scratch, 1 << 16);
    CHECK(b && w);
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        char rel[256];
        size_t len = 0;
        snprintf(rel, sizeof rel, "../shared/openrtb/bid-request/%s", fx[i].file);
        char *body = beat_test_read_file(rel, &len);
        CHECK(body != NULL);
        beat_reason why = {{0}};
        inf_req_fini(&R);
        CHECK_EQ_INT(inf_req_parse(body, len, &R, &why), 0);
        inf_bidder_run(b, w, &R, T0 + 1000, &res);
        if (res.n != fx[i].bids)
            fprintf(stderr, "  %s: %d bids, reason %s\n", fx[i].file, res.n,
                    inf_nobid_name(res.reason));
        CHECK_EQ_INT(res.n, fx[i].bids);
        if (!res.n) {
            CHECK_EQ_INT(res.reason, fx[i].reason);
            free(body);
            continue;
        }
        beat_buf_reset(&out);
        CHECK_EQ_INT(inf_bidder_response(b, w, &R, &res, &out, &scratch), 0);
        cJSON *resp = cJSON_ParseWithLength(out.data, out.len);
        cJSON *req = cJSON_ParseWithLength(body, len);
        CHECK(resp && req);
        CHECK_EQ_STR(cJSON_GetObjectItem(resp, "id")->valuestring,
                     cJSON_GetObjectItem(req, "id")->valuestring);
        CHECK_EQ_STR(cJSON_GetObjectItem(resp, "cur")->valuestring, "USD");
        cJSON *sb = cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "seatbid"), 0);
        CHECK_EQ_STR(cJSON_GetObjectItem(sb, "seat")->valuestring, INF_SEAT);
        cJSON *bid = cJSON_GetArrayItem(cJSON_GetObjectItem(sb, "bid"), 0);
        const char *impid = cJSON_GetObjectItem(bid, "impid")->valuestring;
        cJSON *imp = NULL, *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(req, "imp"))
            if (strcmp(cJSON_GetObjectItem(it, "id")->valuestring, impid) == 0) imp = it;
        CHECK(imp != NULL);
        double price = cJSON_GetObjectItem(bid, "price")->valuedouble;
        cJSON *fl = cJSON_GetObjectItem(imp, "bidfloor");
        CHECK(price > 0 && (!fl || price >= fl->valuedouble));
        /* creative fits: its w×h is the banner's or one of its formats */
        int bw = cJSON_GetObjectItem(bid, "w")->valueint;
        int bh = cJSON_GetObjectItem(bid, "h")->valueint;
        cJSON *ban = cJSON_GetObjectItem(imp, "banner");
        bool fits = cJSON_GetObjectItem(ban, "w") &&
                    cJSON_GetObjectItem(ban, "w")->valueint == bw &&
                    cJSON_GetObjectItem(ban, "h")->valueint == bh;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(ban, "format"))
            fits |= cJSON_GetObjectItem(it, "w")->valueint == bw &&
                    cJSON_GetObjectItem(it, "h")->valueint == bh;
        CHECK(fits);
        CHECK_EQ_INT(cJSON_GetObjectItem(bid, "mtype")->valueint, 1);
        static const char *const urls[] = {"nurl", "burl", "lurl"};
        for (int u = 0; u < 3; u++) {
            const char *url = cJSON_GetObjectItem(bid, urls[u])->valuestring;
            CHECK(strncmp(url, RCV "/", strlen(RCV) + 1) == 0);
            CHECK(strstr(url, "&s=") != NULL && strstr(url, "${AUCTION_PRICE}") != NULL);
        }
        cJSON_Delete(resp);
        cJSON_Delete(req);
        free(body);
    }
    beat_buf_fini(&out);
    beat_buf_fini(&scratch);
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
        {"seats_test_consent_currency", test_seats_test_consent_currency},
        {"shared_fixtures", test_shared_fixtures},
        {"targeting_and_blocks", test_targeting_and_blocks},
        {"response_and_notices", test_response_and_notices},
        {"multi_imp", test_multi_imp},
        {NULL, NULL},
    };
    return beat_test_main("bidder", cases, argc, argv);
}
