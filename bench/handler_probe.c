/* Benchmark probe: the bid handler's four phases (parse, auction, response,
 * event) in one thread, without HTTP, kernel or other processes, on a world
 * shaped like bench_inference.py's (1,000 campaigns, 1 in 10 fitting the
 * request, a 2^20-weight model) and requests varying as there (2,000
 * domains, 200 publishers, one-off auction and user ids). Prints ns per
 * request per phase (thread CPU time), the median of several rounds: a quiet A/B of handler
 * changes on a shared machine, next to bench_inference's end-to-end CPU.
 * Not a daemon; asserts nothing about speed.
 *   build/bench/handler_probe [requests-per-round [rounds]] */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../inference/arena.h"
#include "../inference/bidder.h"
#include "../inference/xcache.h"
#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_clock.h"
#include "beat_wire.h"
#include "beat_util.h"

#define N_CAMPAIGNS 1000
#define FIT_EVERY 10
#define HASH_BITS 20
#define N_REQ 5000

static uint64_t rng = 0x243f6a8885a308d3ULL;
static uint64_t rnd(void) { /* splitmix64: reproducible, not the simulator's */
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* This thread's CPU time: what the phases cost, not how long the shared
 * cores made them wait (each reading is a system call of ~0.1-0.3 µs, the
 * same in every phase and every build compared). */
static int64_t ns_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inf_model *model(void) {
    beat_ckpt ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.h.kind, sizeof ck.h.kind, "logreg");
    snprintf(ck.h.trainer, sizeof ck.h.trainer, "handler_probe");
    ck.h.hash_bits = HASH_BITS;
    ck.h.hash_seed = BEAT_HASH_SEED_DEFAULT;
    ck.h.dim = 1u << HASH_BITS;
    ck.h.n_weights = ck.h.dim + 1;
    ck.h.avg_ctr = 0.01;
    ck.h.ts_ms = beat_now_ms();
    float *w = malloc(ck.h.n_weights * sizeof *w);
    if (!w) return NULL;
    for (uint32_t i = 0; i < ck.h.dim; i++) /* small weights around 0, as bench's gauss(0, 0.05) */
        w[i] = (float)(((double)(rnd() >> 11) / 9007199254740992.0 - 0.5) * 0.17);
    w[ck.h.dim] = -4.6f; /* bias: pCTR ≈ 1% */
    ck.w = w;
    beat_buf b;
    beat_buf_init(&b, 16u << 20);
    inf_model *m = NULL;
    beat_reason why = {{0}};
    if (beat_ckpt_frame_encode(&ck, 1, &b) != 0 ||
        inf_model_decode(b.data, b.len, 16u << 20, &m, &why))
        fprintf(stderr, "handler_probe: model: %s\n", why.msg);
    beat_buf_fini(&b);
    free(w);
    return m;
}

static inf_snap *snap(int64_t now_ms) {
    static const int sizes[4][2] = {{300, 250}, {728, 90}, {320, 50}, {160, 600}};
    static const char *const ctry[] = {"USA", "GBR", "DEU", "FRA", "CAN"};
    static const char *const cats[] = {"IAB1", "IAB2", "IAB12", "IAB18", "IAB19", "IAB20"};
    beat_buf j;
    beat_buf_init(&j, 8u << 20);
    beat_buf_puts(&j, "{\"v\":1,\"campaigns\":[");
    for (int i = 0; i < N_CAMPAIGNS; i++) {
        bool fits = i % FIT_EVERY == 0;
        int sz = fits || i % 2 ? 0 : 1 + i % 3;
        char countries[64] = "";
        if (i % 3 == 0)
            snprintf(countries, sizeof countries, "\"%s\",\"%s\"", fits ? "USA" : ctry[1 + i % 4],
                     ctry[1 + (i + 1) % 4]);
        else if (!fits && i % 2) snprintf(countries, sizeof countries, "\"FRA\"");
        int w = sizes[sz][0], h = sizes[sz][1];
        beat_buf_printf(
            &j,
            "%s{\"id\":\"bench-c%04d\",\"advertiser\":\"Bench %d\",\"adomain\":[\"adv%d.example\"],"
            "\"cat\":[\"%s\"],\"flight_s\":86400,\"budget_micros\":10000000000,"
            "\"base_bid_cpm_micros\":%d,\"max_bid_cpm_micros\":9000000,\"paused\":false,"
            "\"targeting\":{\"countries\":[%s],\"domains_block\":[\"blocked.example\"]},"
            "\"creatives\":[{\"crid\":\"bench-c%04d-%dx%d\",\"w\":%d,\"h\":%d,"
            "\"adm\":\"<a href=\\\"${CLICK_URL}\\\"><img "
            "src=\\\"https://cdn.adv%d.example/%dx%d.png\\\"></a>\","
            "\"landing\":\"https://adv%d.example/landing\"}]}",
            i ? "," : "", i, i, i, cats[rnd() % 6], 1000000 + 1000 * i, countries, i, w, h, w, h, i,
            w, h, i);
    }
    beat_buf_puts(&j, "]}");
    beat_campaign_set cs;
    beat_reason why = {{0}};
    int rc = beat_campaigns_decode(j.data, j.len, now_ms, BEAT_CAMPAIGNS_STRICT, &cs, &why);
    beat_buf_fini(&j);
    if (rc != 0) {
        fprintf(stderr, "handler_probe: campaigns: %s\n", why.msg);
        return NULL;
    }
    cs.version = 1;
    beat_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.actuator, sizeof st.actuator, "probe");
    st.ts_ms = now_ms;
    st.version = 1;
    st.c = calloc((size_t)cs.n, sizeof *st.c);
    for (int i = 0; st.c && i < cs.n; i++) {
        snprintf(st.c[i].id, sizeof st.c[i].id, "%s", cs.c[i].id);
        st.c[i].multiplier = 1.0;
        st.n++;
    }
    return inf_snap_new(&cs, &st, true);
}

static char *requests[N_REQ];

static void make_requests(void) {
    for (int i = 0; i < N_REQ; i++) {
        char b[1024];
        snprintf(b, sizeof b,
                 "{\"id\":\"bench-%d-%012" PRIx64 "\",\"at\":2,\"tmax\":200,\"cur\":[\"USD\"],"
                 "\"imp\":[{\"id\":\"%d\",\"banner\":{\"w\":300,\"h\":250},\"bidfloor\":0.05}],"
                 "\"site\":{\"id\":\"s1\",\"domain\":\"site%d.example\",\"cat\":[\"IAB12\"],"
                 "\"publisher\":{\"id\":\"p%d\"}},\"device\":{\"devicetype\":2,\"os\":\"ios\","
                 "\"geo\":{\"country\":\"USA\"}},\"user\":{\"id\":\"u%010" PRIx64 "\"}}",
                 i, rnd() >> 16, 1 + i % 3, (int)(rnd() % 2000), (int)(rnd() % 200), rnd() >> 24);
        requests[i] = strdup(b);
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int per_round = argc > 1 ? atoi(argv[1]) : 50000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (per_round < 1 || rounds < 1 || rounds > 99) return 64;
    int64_t now = beat_now_ms();
    inf_model *m = model();
    inf_snap *s = snap(now);
    inf_world *w = m && s ? inf_world_build(m, s) : NULL;
    inf_model_unref(m);
    inf_snap_unref(s);
    const char secret[] = "0123456789abcdef0123456789abcdef";
    inf_bidder_cfg cfg = {.receiver_url = "http://127.0.0.1:8081",
                          .secret = secret,
                          .secret_len = sizeof secret - 1,
                          .node = "probe",
                          .max_state_age_ms = 1LL << 40};
    inf_bidder *b = inf_bidder_new(&cfg);
    inf_xcache *xc = inf_xcache_new();
    if (!w || !b || !xc || inf_arena_init(1, 1 << 20) != 0) return 1;
    inf_arena_bind(0);
    make_requests();
    static inf_req req;
    static inf_result res;
    static beat_event ev;
    beat_buf resp, scratch;
    beat_buf_init(&resp, 1 << 20);
    beat_buf_init(&scratch, 1 << 16);
    enum { PARSE, AUCTION, RESPONSE, EVENT, NPH };
    static const char *const names[NPH] = {"parse", "auction", "response", "event"};
    int64_t med[NPH][99];
    long bids = 0, total = 0;
    for (int rd = 0; rd < rounds; rd++) {
        int64_t ph[NPH] = {0};
        for (int i = 0; i < per_round; i++) {
            const char *body = requests[i % N_REQ];
            beat_reason why = {{0}};
            int64_t t0 = ns_now();
            inf_arena_on();
            int rc = inf_req_parse(body, strlen(body), &req, &why);
            inf_arena_off();
            int64_t t1 = ns_now();
            if (rc < 0) {
                fprintf(stderr, "handler_probe: request: %s\n", why.msg);
                return 1;
            }
            inf_bidder_run(b, w, &req, now, xc, &res);
            int64_t t2 = ns_now(), t3 = t2, t4 = t2;
            if (res.n > 0) {
                beat_buf_reset(&resp);
                if (inf_bidder_response(b, w, &req, &res, &resp, &scratch) != 0) return 1;
                t3 = ns_now();
                for (int k = 0; k < res.n; k++) inf_bidder_event(b, w, &req, &res, k, &ev);
                t4 = ns_now();
                bids++;
            }
            total++;
            inf_req_fini(&req);
            inf_arena_reset();
            ph[PARSE] += t1 - t0;
            ph[AUCTION] += t2 - t1;
            ph[RESPONSE] += t3 - t2;
            ph[EVENT] += t4 - t3;
        }
        for (int p = 0; p < NPH; p++) med[p][rd] = ph[p] / per_round;
    }
    printf("handler_probe: %d campaigns (1 in %d fit), %d rounds × %d requests, %.0f%% bid\n",
           N_CAMPAIGNS, FIT_EVERY, rounds, per_round, 100.0 * (double)bids / (double)total);
    int64_t sum = 0;
    for (int p = 0; p < NPH; p++) {
        qsort(med[p], (size_t)rounds, sizeof med[p][0], cmp_i64);
        int64_t lo = med[p][0], mid = med[p][rounds / 2], hi = med[p][rounds - 1];
        sum += mid;
        printf("  %-9s %6" PRId64 " ns/req (median; min %" PRId64 ", max %" PRId64 ")\n", names[p],
               mid, lo, hi);
    }
    printf("  %-9s %6" PRId64 " ns/req (sum of medians)\n", "handler", sum);
    uint64_t lookups, misses;
    inf_xcache_stats(xc, &lookups, &misses);
    printf("  cross weights: %.0f per request, %.0f of them from the model (cache misses)\n",
           (double)lookups / (double)total, (double)misses / (double)total);
    printf("  last response %zu bytes\n", resp.len);
    beat_buf_fini(&resp);
    beat_buf_fini(&scratch);
    for (int i = 0; i < N_REQ; i++) free(requests[i]);
    inf_xcache_free(xc);
    inf_bidder_free(b);
    inf_world_free(w);
    inf_arena_fini();
    return 0;
}
