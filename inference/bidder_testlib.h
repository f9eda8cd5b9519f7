/* Shared by the bidder_*_test.c binaries (header-only, all static inline):
 * a hand-built world = a campaigns file decoded at a fixed now, a model with
 * known weights (hash_bits 10) that went through the real checkpoint frame
 * decoder, and a state with multipliers (and win curves); request builders and the macro
 * substitution an exchange does on notice URLs. */
#ifndef INF_BIDDER_TESTLIB_H
#define INF_BIDDER_TESTLIB_H

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_fcap.h"
#include "beat_notice.h"
#include "beat_test.h"
#include "bidder.h"

#define CAMPAIGNS "docs/examples/campaigns.json"
/* Campaigns of every format, deals and seats, made to fit the shared
 * OpenRTB fixtures (see bidder_fixtures_test.c). */
#define FORMAT_CAMPAIGNS "inference/testdata/campaigns-formats.json"
#define T0 1700000000000LL /* fixed "now": campaigns fly [T0, T0 + 3600 s) */
#define SECRET "bidder-test-secret"
#define RCV "http://rcv.example:8081"
#define BOOSTED "umbrella-news"

/* ---- fixtures ------------------------------------------------------------- */

/* Model: all weights 0 except the boosted campaign's own bias index, set to
 * ln 3, so pCTR is 0.5 for every campaign and 0.75 for the boosted one;
 * avg_ctr 0.25. Built through beat_ckpt_encode + the 'C' frame decoder. */
static inline inf_model *make_model(double avg_ctr) {
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
    inf_model *m = NULL;
    beat_reason why = {{0}};
    if (beat_ckpt_frame_encode(&ck, 5, &b) == 0 &&
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
/* A win_curve (BEAT_LAND_N) make_snap gives the campaign state_curve_id
 * (NULL: every campaign); state_curve NULL = none. */
static const float *state_curve;
static const char *state_curve_id;

/* Campaigns file decoded at T0 (CAMPAIGNS unless a test sets
 * campaigns_file); state version 7 at state_ts, multiplier 1.2 unless
 * overridden. */
static const char *campaigns_file = CAMPAIGNS;

static inline inf_snap *make_snap(int64_t state_ts, const override *ov, int n_ov, bool with_state) {
    size_t len = 0;
    char *json = beat_test_read_file(campaigns_file, &len);
    if (!json) return NULL;
    beat_campaign_set cs;
    beat_reason why = {{0}};
    int rc = beat_campaigns_decode(json, len, T0, BEAT_CAMPAIGNS_STRICT, &cs, &why);
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
            if (state_curve && (!state_curve_id || strcmp(state_curve_id, id) == 0)) {
                sc->has_curve = true;
                memcpy(sc->win_curve, state_curve, sizeof sc->win_curve);
            }
        }
    }
    return inf_snap_new(&cs, &st, with_state);
}

static inline inf_world *make_world(const override *ov, int n_ov, int64_t state_ts) {
    inf_model *m = make_model(0.25);
    inf_snap *s = make_snap(state_ts, ov, n_ov, true);
    inf_world *w = m && s ? inf_world_build(m, s) : NULL;
    inf_model_unref(m); /* the world holds its own references */
    inf_snap_unref(s);
    return w;
}

static inline inf_bidder *make_bidder(void) {
    inf_bidder_cfg cfg = {.receiver_url = RCV,
                          .secret = SECRET,
                          .secret_len = strlen(SECRET),
                          .node = "inf-test",
                          .max_state_age_ms = 30000,
                          .freq_slots_log2 = 12};
    return inf_bidder_new(&cfg);
}

/* The simple-banner fixture's shape with knobs. */
static inline const char *req_json(const char *banner, const char *floor, const char *domain,
                                   const char *user, const char *extra) {
    static char buf[16384];
    snprintf(buf, sizeof buf,
             "{\"id\":\"auction-1\",\"imp\":[{\"id\":\"1\",\"bidfloor\":%s,\"banner\":%s}],"
             "\"site\":{\"id\":\"102855\",\"domain\":\"%s\",\"cat\":[\"IAB3-1\"],"
             "\"publisher\":{\"id\":\"8953\"}}%s%s%s%s}",
             floor, banner, domain, user ? ",\"user\":{\"id\":\"" : "", user ? user : "",
             user ? "\"}" : "", extra ? extra : "");
    return buf;
}
#define BANNER "{\"w\":300,\"h\":250}"

static inf_req R;

/* The tests' cross-weight cache: one, like a worker's, so runs hit and
 * miss it as a worker would (reachable at exit: not a leak). */
static inline inf_xcache *test_xc(void) {
    static inf_xcache *xc;
    if (!xc) xc = inf_xcache_new();
    return xc;
}

static inline int run(inf_bidder *b, const inf_world *w, const char *json, int64_t now,
                      inf_result *res) {
    beat_reason why = {{0}};
    inf_req_fini(&R);
    if (inf_req_parse(json, strlen(json), &R, &why) != 0) {
        fprintf(stderr, "  request: %s\n", why.msg);
        return -1;
    }
    inf_bidder_run(b, w, &R, now, test_xc(), res);
    return 0;
}

static inline const char *winner(const inf_world *w, const inf_result *res) {
    return res->n ? w->camps[res->bids[0].camp].c->id : "(none)";
}

/* Substitutes the exchange's macros the way an exchange would. */
static inline void substitute(const char *in, char *out, size_t n) {
    static const struct {
        const char *m, *v;
    } macros[] = {{"${AUCTION_ID}", "auction-1"}, {"${AUCTION_IMP_ID}", "1"},
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

/* Runs json and renders the response: NULL for a 204 (reason in res).
 * The caller frees with cJSON_Delete. */
static inline cJSON *answer(inf_bidder *b, const inf_world *w, const char *json, inf_result *res) {
    static beat_buf out, scratch;
    if (!out.max) {
        beat_buf_init(&out, 1 << 20);
        beat_buf_init(&scratch, 1 << 16);
    }
    if (run(b, w, json, T0 + 1000, res) != 0 || res->n == 0) return NULL;
    beat_buf_reset(&out);
    if (inf_bidder_response(b, w, &R, res, &out, &scratch) != 0) return NULL;
    if (getenv("BIDDER_DUMP")) fprintf(stderr, "%s\n", out.data);
    return cJSON_ParseWithLength(out.data, out.len);
}

/* seatbid[s].bid[k] of a response. */
static inline const cJSON *bid_at(const cJSON *resp, int s, int k) {
    const cJSON *sb = cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "seatbid"), s);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(sb, "bid"), k);
}

static inline const char *sfield(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "(none)";
}

static inline int ifield(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* The cap key the bidder makes of an id (no exchange in these tests). */
static inline uint64_t cap_key_of_id(beat_fcap_id_kind kind, const char *id) {
    return beat_fcap_key(SECRET, strlen(SECRET), kind, "", id);
}
#define UKEY(id) cap_key_of_id(BEAT_FCAP_ID_USER, id)

#endif
