/* Internal interfaces of beat-exsim, the exchange simulator: traffic.h
 * (requests, hidden truth, OpenRTB, rate curve), net.h (non-blocking HTTP),
 * grade.h (campaigns, oracle, Bayes AUC), and here the simulator itself:
 * stats.c counts and reports, lb.c spreads bid requests over nodes like an
 * exchange's load balancer, auction.c runs the auctions (markup.c reads
 * and fills the creative's text), notice.c fires (delayed) notices and
 * clicks. Not a library: nothing outside
 * tools/beat-exsim includes these headers. */
#ifndef EXSIM_H
#define EXSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <event2/http.h>

#include "beat_util.h"
#include "desk.h"
#include "grade.h"
#include "net.h"
#include "traffic.h"

/* ---- stats --------------------------------------------------------------- */
typedef struct exs_campaign_stats {
    char id[72];
    int64_t bids, wins, spend_cpm_micros, clicks, imps;
    /* impressions bought while its schedule was closed from the request
     * to the answer (engine time, its zone): 0 for a correct engine */
    int64_t off_schedule_imps;
    int64_t bid_cpm_micros; /* Σ prices of its non-test bids: their worst case */
    double exp_clicks;      /* Σ true CTR over its wins */
    /* First-price wins: what it paid, and the value it bid before shading
     * (X-Beat-Explain v=; its bid when the engine did not say). */
    int64_t fp_wins, fp_paid_cpm_micros, fp_value_cpm_micros;
    /* Conversions its simulated users made (ground truth): fired at the
     * receiver's /conv with the click's token, and their value (micros). */
    int64_t convs, conv_value_micros;
} exs_campaign_stats;

enum exs_notice_kind { EXS_N_WIN, EXS_N_BILL, EXS_N_LOSS, EXS_N_CLICK, EXS_N_CONV, EXS_N_KINDS };

typedef struct exs_stats {
    int64_t requests, skipped, errors, timeouts, retries, per_try_timeouts, ejections;
    int64_t sim_stalled;    /* due while this process was not running: not sent */
    int64_t stall_adjusted; /* answers whose latency had our own stall taken out */
    int64_t ans_200, ans_204, ans_400, ans_other;
    int64_t bad_responses, bids, wins, spend_cpm_micros, clicks, imps;
    int64_t below_floor, outbid, blocked_bids, deal_bids, wins_first_price;
    /* sent: first calls (what is charged); ok, failed: final outcomes (a
     * notice retried and then answered is ok once); retried: retry calls. */
    int64_t notice_sent[EXS_N_KINDS], notice_ok[EXS_N_KINDS];
    int64_t notice_failed[EXS_N_KINDS], notice_dropped[EXS_N_KINDS];
    int64_t notice_retried[EXS_N_KINDS];
    int64_t notice_dupes, delayed_dropped;
    /* --replay-share: win/bill notices called again --replay-delay-ms later
     * (never charged; not in notice_* above). sent: called; ok: answered
     * 2xx; failed: no answer, an error status, or never sent. */
    int64_t replay_sent, replay_ok, replay_failed;
    /* --forge-share: loss URLs re-typed as bills (path /loss → /bill) and
     * called once; never charged. refused: 403 (what a receiver must say);
     * accepted: 2xx (a forgery got through); failed: anything else. */
    int64_t forged_sent, forged_refused, forged_accepted, forged_failed;
    /* Test traffic (--test-share, OpenRTB test=1): counted here only. Its
     * notices are sent (and in notice_sent/ok/failed) but it buys nothing:
     * no wins, spend, impressions or clicks above, per campaign, in
     * --events or for the oracle. */
    int64_t test_requests, test_wins, test_notices[EXS_N_KINDS];
    int64_t click_no_href;
    /* Conversions (hidden per-click rate, exs_true_cvr): decided on clicks,
     * fired at /conv after the click's 302 handed a token (convs: first
     * calls, the ground truth, also per campaign), or lost because the
     * click got no redirect with a token (conv_no_token). */
    int64_t convs, conv_value_micros, conv_decided, conv_no_token;
    /* X-Beat-Explain on bid answers (200/204 in time): read, malformed
     * (taken as no pCTRs for that auction) */
    int64_t explain_ok, explain_bad;
    int64_t fp_paid_cpm_micros, fp_value_cpm_micros; /* over all first-price wins */
    int64_t by_fmt_req[3], by_fmt_bids[3], by_fmt_wins[3];
    uint32_t *lat_hist; /* EXS_LAT_BUCKETS of 10 µs; the last one is ≥ 1 s */
    int64_t lat_n;
    /* Engine time (beat_clock.h) at the first and last auction: the span
     * of campaign time the run covered (the wall span under no --sim-clock). */
    int64_t engine_start_ms, engine_end_ms;
    int64_t off_schedule_imps; /* Σ over campaigns */
    int n_campaigns, campaigns_dropped;
    exs_campaign_stats *campaigns; /* up to EXS_CAMPAIGNS_MAX */
} exs_stats;
#define EXS_CAMPAIGNS_MAX 1024
#define EXS_LAT_BUCKETS 100001

int exs_stats_init(exs_stats *s);
void exs_stats_fini(exs_stats *s);
void exs_stats_latency(exs_stats *s, int64_t us);
double exs_stats_latency_ms(const exs_stats *s, double q);
/* Quantile (ms) of a latency histogram laid out like lat_hist holding n
 * values; main.c passes the difference of two snapshots for the latency
 * of the last second in the timeline. */
double exs_hist_quantile_ms(const uint32_t *hist, int64_t n, double q);
/* NULL when the table is full (counted in campaigns_dropped). */
exs_campaign_stats *exs_stats_campaign(exs_stats *s, const char *id);
void exs_stats_print(const exs_stats *s, double elapsed_s);
/* extra: more JSON members (",\"k\":…" form) appended at the top level. */
int exs_stats_write_json(const exs_stats *s, double elapsed_s, const char *extra, const char *path);
/* One timeline line (JSON) with cumulative counters at wall time now_ms;
 * per campaign [wins, spend micros, clicks, bids, bid micros] (bid micros:
 * the sum of its non-test bid prices, their worst case). */
int exs_stats_timeline(const exs_stats *s, int64_t now_ms, double rate, double p50_ms,
                       double p99_ms, FILE *f);

/* ---- the simulator ------------------------------------------------------- */
typedef struct exs_delayq exs_delayq;

typedef struct exs_sim {
    exs_world world;
    exs_stats stats;
    struct event_base *base;
    exs_pool **targets;
    char **paths; /* request path per target, e.g. "/openrtb2/bid" */
    /* Like an exchange's load balancer, a node whose request failed (a
     * transport error or --http-timeout-ms at once, per-try timeouts when
     * EXS_EJECT_SLOW come in a row) is left out of the rotation until this
     * time (monotonic µs); 0 = in rotation.
     * Consecutive failures double the ejection (1 s up to 8 s); a good
     * answer resets it. */
    int64_t *down_until_us;
    int *fail_streak;
    int *slow_streak; /* consecutive per-try timeouts; EXS_EJECT_SLOW eject */
    /* Half-open: after an ejection ends, one request probes the node and
     * it takes no other until that one succeeds. */
    bool *probing;
    int n_targets;
    exs_notifier *notifier;
    exs_delayq *delayq;
    int tmax_ms, per_try_ms;
    /* Notice delivery policy (--notice-retries, --notice-retry-ms): a call
     * that got no answer, a timeout or a 5xx is called again up to this many
     * times, the first after retry_ms, doubling; never after a 4xx. */
    int notice_retries, notice_retry_ms;
    double dup_prob, price_wave; /* current market price factor */
    double test_share;           /* share of requests sent with test=1 */
    double replay_share;         /* share of win/bill notices replayed late */
    int64_t replay_delay_ms;     /* ...this long after the first call is due */
    double forge_share;          /* share of loss notices also sent re-typed as bills */
    bool loss_price;             /* --loss-price: loss notices carry the price to beat */
    int64_t start_ms;            /* wall clock at the start of the run */
    /* Time this process was not running (schedule ticks later than
     * EXS_STALL_GAP_US, summed): taken out of a bid's measured latency, so
     * an overloaded simulator does not blame the bidder for its own stalls. */
    int64_t last_tick_us, stall_us;
    uint64_t next_seq;
    int64_t bids_in_flight;
    exs_camps camps;    /* n == 0 when no --campaigns */
    exs_oracle *oracle; /* NULL when no --campaigns */
    exs_desk *desk;     /* trading-desk grading; NULL when no --campaigns */
    FILE *events;       /* --events: one JSON line per billed/clicked notice */
    /* The answer being handled: the engine's pCTR per campaign of camps
     * (explain_pctr, NULL when no --campaigns) and its bid's value before
     * shading, when it sent a well-formed X-Beat-Explain (explain_told). */
    float *explain_pctr;
    bool explain_told;
    int64_t explain_value;
} exs_sim;

#define EXS_EJECT_SLOW 2       /* one slow answer on a loaded machine is no failure */
#define EXS_STALL_GAP_US 20000 /* the tick runs every ≤ 1 ms; a gap this long is a stall */

typedef struct exs_bid_ctx exs_bid_ctx;
typedef struct exs_try { /* one attempt of a bid request on one node */
    exs_bid_ctx *ctx;
    int target;
    exs_call *call; /* NULL when not running */
} exs_try;

struct exs_bid_ctx {
    exs_sim *sim;
    exs_try t[2]; /* the first try and at most one retry */
    int tries;
    struct event *per_try; /* per-try timer; NULL when not armed */
    int64_t t0_us;         /* first attempt: latency and tmax count from here */
    int64_t stall0_us;     /* sim->stall_us when fired */
    int64_t t_ms;          /* wall clock when fired */
    exs_req req;
    char *body; /* request JSON, owned; kept for a retry */
    size_t len;
};

/* lb.c: sends ctx (taking it) to a node; 0, or -EBUSY when no node can
 * take it (the caller keeps ctx). The answer goes to exs_auction_answer. */
int exs_lb_send(exs_sim *sim, exs_bid_ctx *ctx);
/* auction.c: the final answer to ctx (frees it). */
void exs_auction_answer(exs_bid_ctx *ctx, int status, const char *body, size_t len);
/* Sends the next request to some free target, or counts it as skipped. */
void exs_auction_fire(exs_sim *sim);
/* markup.c: macro substitution, and the click link in an adm (banner
 * href, VAST ClickThrough, Native 1.2 link.url). */
int exs_macro_subst(const char *tmpl, const char *const *names, const char *const *vals, int n,
                    char *out, size_t cap);
int exs_adm_href(const char *adm, char *out, size_t cap);

/* How a notice call stands to the auction it belongs to. */
enum exs_call_how {
    EXS_FIRST = 0,  /* the exchange's call: what is charged */
    EXS_REPEAT = 1, /* an exchange's repeated call (retry storms): not charged again */
    EXS_REPLAY = 2, /* the same URL called again much later (--replay-share) */
    EXS_FORGED = 3, /* a URL re-typed to another notice path (--forge-share) */
};

/* notice.c: a notice GET now or after delay_ms (bounded queue). kind
 * EXS_N_BILL counts price as spend of camp when first sent (an exchange
 * charges on its own record, answered or not; a retry is not charged
 * again), EXS_N_CLICK a click; how (enum exs_call_how) says whether this is
 * the charged first call or a repeat, replay or forgery (never charged,
 * the last two counted on their own); a test auction's notice counts as a
 * test notice only (never spend or a click). Failed first calls and repeats
 * are retried per sim->notice_retries; forgeries never. */
exs_delayq *exs_delayq_new(int64_t max);
void exs_delayq_free(exs_delayq *q);
int exs_notice(exs_sim *sim, int kind, const char *url, int64_t delay_ms, const char *camp,
               const char *auction, int64_t price_cpm_micros, int how, bool test);
/* A click (EXS_N_CLICK, first call) whose user converts: conv_delay_ms after
 * its 302 the token in the Location's beat_cv is sent to the receiver's
 * /conv (same origin as the click URL) with val = value_micros; a click
 * answered without a token counts in conv_no_token. */
int exs_notice_click(exs_sim *sim, const char *url, int64_t delay_ms, const char *camp,
                     const char *auction, int64_t price, bool test, int64_t conv_delay_ms,
                     int64_t value_micros);
/* The /conv URL for a click URL's origin and a redirect's Location into
 * out (cap); -EINVAL when the Location carries no beat_cv token. */
int exs_conv_url(const char *click_url, const char *location, int64_t value_micros, char *out,
                 size_t cap);
/* Sends what is due (all when flush); returns how many still wait. */
int64_t exs_delayq_run(exs_sim *sim, bool flush);
/* At exit: counts what still waits as never delivered (a first call as
 * dropped, a pending retry as failed) and empties the queue. */
void exs_delayq_abandon(exs_sim *sim);

#endif
