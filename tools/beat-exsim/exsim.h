/* Internal interfaces of beat-exsim, the exchange simulator: traffic.c makes
 * requests and holds the hidden ground truth (CTR, market), client.c moves
 * HTTP without ever blocking the schedule, auction.c runs the second-price
 * auction and fires notices, stats.c counts and reports. Not a library:
 * nothing outside tools/beat-exsim includes this. */
#ifndef EXSIM_H
#define EXSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

#include "beat_util.h"

/* ---- traffic: requests and the hidden truth ------------------------------ */
#define EXS_DOMAINS 50 /* regular domains; index EXS_DOMAINS = blocked.example */
#define EXS_CATS 12
#define EXS_SIZES 4
#define EXS_DEVS 3
#define EXS_OSES 4
#define EXS_CTRIES 5
#define EXS_USERS 5000

typedef struct exs_world {
    uint64_t seed;
    uint32_t run_id; /* random per run: auction ids never repeat across runs */
    double b0;
    double dom_eff[EXS_DOMAINS + 1];
    int dom_cat[EXS_DOMAINS + 1];
    double size_eff[EXS_SIZES], dev_eff[EXS_DEVS], ctry_eff[EXS_CTRIES];
    double market_median, market_sigma; /* CPM, lognormal */
} exs_world;

typedef struct exs_req {
    uint64_t seq;
    char id[48];
    int dom, size, dev, os, ctry, user;
    int64_t floor_cpm_micros;
} exs_req;

void exs_world_init(exs_world *w, uint64_t seed, double market_median,
                    double market_sigma);
void exs_req_gen(const exs_world *w, uint64_t seq, exs_req *r);
/* Appends the OpenRTB 2.5 bid request JSON. */
int exs_req_json(const exs_world *w, const exs_req *r, int tmax_ms, beat_buf *out);
/* Ground truth: probability that an impression of campaign on r is clicked. */
double exs_true_ctr(const exs_world *w, const exs_req *r, const char *campaign);
/* Highest competing bid (CPM micros) for this request, deterministic. */
int64_t exs_market_cpm_micros(const exs_world *w, const exs_req *r);
/* Uniform [0,1) derived from (seed, request, salt): per-request randomness
 * that does not depend on the order answers arrive in. */
double exs_unit(const exs_world *w, uint64_t seq, uint64_t salt);
const char *exs_domain_name(int dom, char *buf, size_t n);

/* ---- client: bounded, non-blocking HTTP ---------------------------------- */
#define EXS_URL_MAX 4096 /* notice and click URLs; longer ones are refused */
/* status: HTTP code, or -ETIMEDOUT / -ECONNREFUSED / -EIO when no answer.
 * body is valid only during the call. */
typedef void (*exs_done_fn)(void *arg, int status, const char *body,
                            size_t len, int64_t latency_us);
typedef struct exs_pool exs_pool;
/* A pool of conns keep-alive connections to one host:port; queue_max
 * requests may wait for a free connection (0 = never wait). */
exs_pool *exs_pool_new(struct event_base *base, const char *host, int port,
                       int conns, int timeout_ms, int queue_max);
void exs_pool_free(exs_pool *p); /* NULL is a no-op; aborts what is pending */
/* Starts (or queues) a request; body NULL for GET. 0 on success, then cb is
 * called exactly once; -EBUSY when every connection is busy and the queue
 * is full (cb is not called). */
int exs_pool_request(exs_pool *p, bool post, const char *path_query,
                     const char *body, size_t len, exs_done_fn cb, void *arg);
int exs_pool_pending(const exs_pool *p); /* in flight + queued */
int exs_pool_busy(const exs_pool *p);    /* in flight */

/* Notice sender: GETs absolute http:// URLs over per-host pools.
 * -EINVAL bad URL, -ENOSPC too many hosts, -EBUSY queue full. */
typedef struct exs_notifier exs_notifier;
exs_notifier *exs_notifier_new(struct event_base *base, int conns,
                               int timeout_ms, int queue_max);
void exs_notifier_free(exs_notifier *n);
int exs_notifier_get(exs_notifier *n, const char *url, exs_done_fn cb, void *arg);
int exs_notifier_pending(const exs_notifier *n);

/* ---- stats --------------------------------------------------------------- */
typedef struct exs_campaign_stats {
    char id[72];
    int64_t bids, wins, spend_cpm_micros, clicks;
} exs_campaign_stats;

enum exs_notice_kind { EXS_N_WIN, EXS_N_BILL, EXS_N_LOSS, EXS_N_CLICK, EXS_N_KINDS };

typedef struct exs_stats {
    int64_t requests, skipped, errors, timeouts, retries;
    int64_t ans_200, ans_204, ans_400, ans_other;
    int64_t bad_responses, bids, wins, spend_cpm_micros, clicks;
    int64_t below_floor, outbid;
    int64_t notice_sent[EXS_N_KINDS], notice_ok[EXS_N_KINDS];
    int64_t notice_failed[EXS_N_KINDS], notice_dropped[EXS_N_KINDS];
    int64_t click_no_href;
    uint32_t *lat_hist; /* 10 µs buckets */
    int64_t lat_n;
    int n_campaigns, campaigns_dropped;
    exs_campaign_stats *campaigns; /* up to EXS_CAMPAIGNS_MAX */
} exs_stats;
#define EXS_CAMPAIGNS_MAX 1024

int exs_stats_init(exs_stats *s);
void exs_stats_fini(exs_stats *s);
void exs_stats_latency(exs_stats *s, int64_t us);
double exs_stats_latency_ms(const exs_stats *s, double q);
/* NULL when the table is full (counted in campaigns_dropped). */
exs_campaign_stats *exs_stats_campaign(exs_stats *s, const char *id);
void exs_stats_print(const exs_stats *s, double elapsed_s);
int exs_stats_write_json(const exs_stats *s, double elapsed_s, const char *path);

/* ---- the simulator ------------------------------------------------------- */
typedef struct exs_sim {
    exs_world world;
    exs_stats stats;
    struct event_base *base;
    exs_pool **targets;
    char **paths; /* request path per target, e.g. "/openrtb2/bid" */
    /* Like an exchange's load balancer, a node whose request failed (a
     * transport error or --http-timeout-ms) is left out of the rotation until this time
     * (monotonic µs); 0 = in rotation. Consecutive failures double the
     * ejection (1 s up to 8 s); a good answer resets it. */
    int64_t *down_until_us;
    int *fail_streak;
    /* Half-open: after an ejection ends, one request probes the node and
     * it takes no other until that one succeeds. */
    bool *probing;
    int n_targets;
    exs_notifier *notifier;
    int tmax_ms;
    uint64_t next_seq;
    int64_t bids_in_flight;
} exs_sim;

/* Binds the notice callbacks to sim; call once before the first fire. */
void exs_auction_init(exs_sim *sim);
/* Sends the next request to some free target, or counts it as skipped. */
void exs_auction_fire(exs_sim *sim);
/* Exposed for tests: macro substitution and the click link in an adm. */
int exs_macro_subst(const char *tmpl, const char *const *names,
                    const char *const *vals, int n, char *out, size_t cap);
int exs_adm_href(const char *adm, char *out, size_t cap);

#endif
