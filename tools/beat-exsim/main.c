/* beat-exsim: a simulated ad exchange and open-loop load generator. Sends
 * OpenRTB 2.5/2.6 requests (banner, video, native, deals) to one or more
 * inference nodes on a rate curve whatever they answer, runs first/second
 * price auctions against a hidden market, calls notices and clicks, reports
 * what each campaign bought and, given --campaigns, what an oracle bidder
 * would have bought. main.c holds the flags, the schedule and the end of
 * run; it never blocks on a peer (a busy target means a skipped request). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "beat_cfg.h"
#include "beat_clock.h"
#include "beat_log.h"
#include "exsim.h"

#define GRACE_MS 2000   /* after the run: wait this long for notices at most */
#define STALL_US 100000 /* a schedule tick this late means we were not running */

static struct {
    beat_strlist inference, surge;
    double rate, duration_s, market_median, market_sigma, wave, price_wave, dup_prob;
    double test_share, replay_share, forge_share, consent_share;
    int64_t tcf_vendor_id;
    int64_t replay_delay_ms, loss_price;
    int64_t seed, connections, tmax_ms, http_timeout_ms, stats_every_s, per_try_ms;
    int64_t notice_conns, notice_queue, notice_timeout_ms, delayed_max, oracle_max;
    int64_t notice_retries, notice_retry_ms;
    int64_t auc_window_s;
    char *json, *log_level, *rates, *campaigns, *timeline, *events;
    char *exchange, *exchange_key, *sim_clock;
    int64_t users;
    beat_strlist lists;
} opt;

/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt OPTS[] = {
    {.name = "inference", .env = "BEAT_EXSIM_INFERENCE",
     .type = BEAT_OPT_STRLIST, .dst = &opt.inference, .def = "http://127.0.0.1:8080",
     .help = "inference base URL (repeatable or comma list; requests are spread "
             "round-robin; a path other than / replaces /openrtb2/bid)"},
    {.name = "exchange", .env = "BEAT_EXSIM_EXCHANGE",
     .type = BEAT_OPT_STR, .dst = &opt.exchange, .def = "",
     .help = "exchange id to send as (X-Beat-Exchange); empty: no exchange headers (an engine "
             "in --open mode, or one that knows this address by network)"},
    {.name = "exchange-key", .env = "BEAT_EXSIM_EXCHANGE_KEY",
     .type = BEAT_OPT_STR, .dst = &opt.exchange_key, .def = "",
     .help = "that exchange's shared secret (X-Beat-Key); prefer the environment variable, "
             "since a flag shows in ps",
     .secret = true},
    {.name = "rate", .env = "BEAT_EXSIM_RATE",
     .type = BEAT_OPT_DBL, .dst = &opt.rate, .def = "200", .min = 0.1, .max = 1e6,
     .help = "bid requests per second (open loop: fired on schedule regardless of answers)"},
    {.name = "duration", .env = "BEAT_EXSIM_DURATION",
     .type = BEAT_OPT_DBL, .dst = &opt.duration_s, .def = "60", .min = 0.1, .max = 86400 * 7,
     .help = "seconds to send for"},
    {.name = "seed", .env = "BEAT_EXSIM_SEED",
     .type = BEAT_OPT_INT, .dst = &opt.seed, .def = "1", .min = 0, .max = 9e18,
     .help = "seed of the traffic, the hidden CTR model and market prices"},
    {.name = "connections", .env = "BEAT_EXSIM_CONNECTIONS",
     .type = BEAT_OPT_INT, .dst = &opt.connections, .def = "32", .min = 1, .max = 4096,
     .help = "keep-alive connections per inference node = max outstanding requests "
             "each; when all are busy a request is counted as skipped"},
    {.name = "tmax", .env = "BEAT_EXSIM_TMAX",
     .type = BEAT_OPT_INT, .dst = &opt.tmax_ms, .def = "100", .min = 1, .max = 10000,
     .help = "tmax sent in requests (ms); a later answer is a timeout and loses"},
    {.name = "http-timeout-ms", .env = "BEAT_EXSIM_HTTP_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &opt.http_timeout_ms, .def = "1000", .min = 10, .max = 60000,
     .help = "give up on a bid request after this long (ms)"},
    {.name = "per-try-timeout-ms", .env = "BEAT_EXSIM_PER_TRY_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &opt.per_try_ms, .def = "0", .min = 0, .max = 60000,
     .help = "a try unanswered after this long is abandoned and the request retried once on "
             "another live node within tmax (Envoy's per_try_timeout); two in a row eject the "
             "node; 0 = tmax/3"},
    {.name = "wave", .env = "BEAT_EXSIM_WAVE",
     .type = BEAT_OPT_DBL, .dst = &opt.wave, .def = "0", .min = 0, .max = 0.9,
     .help = "amplitude of the daily traffic wave compressed into the run (0 = flat rate)"},
    {.name = "surge", .env = "BEAT_EXSIM_SURGE",
     .type = BEAT_OPT_STRLIST, .dst = &opt.surge,
     .help = "AT:LEN:FACTOR (fractions of the run): rate × FACTOR from AT for LEN, e.g. "
             "0.6:0.1:5 (a surge) or 0.3:0.05:0.2 (a drop); repeatable"},
    {.name = "price-wave", .env = "BEAT_EXSIM_PRICE_WAVE",
     .type = BEAT_OPT_DBL, .dst = &opt.price_wave, .def = "0.15", .min = 0, .max = 0.9,
     .help = "amplitude of the market price's daily wave"},
    {.name = "currency-rates", .env = "BEAT_EXSIM_CURRENCY_RATES",
     .type = BEAT_OPT_STR, .dst = &opt.rates, .def = "EUR=1.08,GBP=1.27",
     .help = "USD per unit of the floor currencies (same form as inference's --currency-rates)"},
    {.name = "consent-share", .env = "BEAT_EXSIM_CONSENT_SHARE",
     .type = BEAT_OPT_DBL, .dst = &opt.consent_share, .def = "0.7", .min = 0, .max = 1,
     .help = "share of GDPR users whose TCF v2 string consents to purposes 1-4, special "
             "feature 1 and --tcf-vendor-id; the others consent to purpose 1 only"},
    {.name = "tcf-vendor-id", .env = "BEAT_EXSIM_TCF_VENDOR_ID",
     .type = BEAT_OPT_INT, .dst = &opt.tcf_vendor_id, .def = "0", .min = 0, .max = 65535,
     .help = "the bidder's IAB vendor id that consenting users' strings name (0: none, so "
             "no string gives the bidder personal data)"},
    {.name = "dup-prob", .env = "BEAT_EXSIM_DUP_PROB",
     .type = BEAT_OPT_DBL, .dst = &opt.dup_prob, .def = "0.05", .min = 0, .max = 1,
     .help = "probability that a win or bill notice is called twice (exchanges retry)"},
    {.name = "test-share", .env = "BEAT_EXSIM_TEST_SHARE",
     .type = BEAT_OPT_DBL, .dst = &opt.test_share, .def = "0", .min = 0, .max = 1,
     .help = "share of requests sent with OpenRTB test=1: answered and their notices called, "
             "but never billed, counted apart (\"test\" in --json)"},
    {.name = "replay-share", .env = "BEAT_EXSIM_REPLAY_SHARE",
     .type = BEAT_OPT_DBL, .dst = &opt.replay_share, .def = "0", .min = 0, .max = 1,
     .help = "share of real auctions' win and bill notices called once more --replay-delay-ms "
             "later, instead of any quick repeat (--dup-prob): replays, never charged, counted "
             "apart (\"replays\" in --json)"},
    {.name = "replay-delay-ms", .env = "BEAT_EXSIM_REPLAY_DELAY_MS",
     .type = BEAT_OPT_INT, .dst = &opt.replay_delay_ms, .def = "120000", .min = 0, .max = 86400000,
     .help = "how long after its first call a notice is replayed (ms); "
             "replays still waiting when the run ends are sent then"},
    {.name = "forge-share", .env = "BEAT_EXSIM_FORGE_SHARE",
     .type = BEAT_OPT_DBL, .dst = &opt.forge_share, .def = "0", .min = 0, .max = 1,
     .help = "share of real auctions' loss notices also called re-typed as a bill (/loss -> /bill, "
             "the same signed query): forgeries a receiver must refuse (403), never charged, "
             "counted apart (\"forged\" in --json)"},
    {.name = "loss-price", .env = "BEAT_EXSIM_LOSS_PRICE",
     .type = BEAT_OPT_INT, .dst = &opt.loss_price, .def = "1", .min = 0, .max = 1,
     .help = "1: loss notices carry the price to beat (${AUCTION_PRICE}); 0: it is substituted "
             "empty, as by the many exchanges that send no price with a loss"},
    {.name = "campaigns", .env = "BEAT_EXSIM_CAMPAIGNS",
     .type = BEAT_OPT_STR, .dst = &opt.campaigns,
     .help = "campaigns JSON (e.g. the supervisor's GET /v1/campaigns): enables the oracle and "
             "the Bayes AUC in --json, and blocks their advertisers in some requests' badv"},
    {.name = "oracle-max", .env = "BEAT_EXSIM_ORACLE_MAX",
     .type = BEAT_OPT_INT, .dst = &opt.oracle_max, .def = "1000000", .min = 1000, .max = 50000000,
     .help = "auctions the oracle keeps for its replay; beyond, dropped and counted"},
    {.name = "auc-window-s", .env = "BEAT_EXSIM_AUC_WINDOW_S",
     .type = BEAT_OPT_INT, .dst = &opt.auc_window_s, .def = "10", .min = 1, .max = 3600,
     .help = "window of the Bayes AUC over time (s)"},
    {.name = "timeline", .env = "BEAT_EXSIM_TIMELINE",
     .type = BEAT_OPT_STR, .dst = &opt.timeline,
     .help = "append one JSON line per second (rate, counters, latency, per-campaign wins, spend, "
             "clicks, bids and bid prices)"},
    {.name = "events", .env = "BEAT_EXSIM_EVENTS",
     .type = BEAT_OPT_STR, .dst = &opt.events,
     .help = "write one JSON line per bill charged (sent, or due and dropped) and click sent "
             "(the raw truth for tests)"},
    {.name = "delayed-max", .env = "BEAT_EXSIM_DELAYED_MAX",
     .type = BEAT_OPT_INT, .dst = &opt.delayed_max, .def = "200000", .min = 1, .max = 10000000,
     .help = "notices waiting for their delay (bills, clicks, repeats); beyond, dropped"},
    {.name = "market-median", .env = "BEAT_EXSIM_MARKET_MEDIAN",
     .type = BEAT_OPT_DBL, .dst = &opt.market_median, .def = "1.0", .min = 0.001, .max = 1000,
     .help = "median of the lognormal competing bid (CPM)"},
    {.name = "market-sigma", .env = "BEAT_EXSIM_MARKET_SIGMA",
     .type = BEAT_OPT_DBL, .dst = &opt.market_sigma, .def = "0.5", .min = 0, .max = 5,
     .help = "sigma of the lognormal competing bid"},
    {.name = "notice-connections", .env = "BEAT_EXSIM_NOTICE_CONNECTIONS",
     .type = BEAT_OPT_INT, .dst = &opt.notice_conns, .def = "16", .min = 1, .max = 1024,
     .help = "connections per notice host"},
    {.name = "notice-queue", .env = "BEAT_EXSIM_NOTICE_QUEUE",
     .type = BEAT_OPT_INT, .dst = &opt.notice_queue, .def = "10000", .min = 0, .max = 1000000,
     .help = "notices that may wait for a connection; beyond, dropped and counted"},
    {.name = "notice-timeout-ms", .env = "BEAT_EXSIM_NOTICE_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &opt.notice_timeout_ms, .def = "2000", .min = 10, .max = 60000,
     .help = "timeout of one notice call (ms)"},
    {.name = "notice-retries", .env = "BEAT_EXSIM_NOTICE_RETRIES",
     .type = BEAT_OPT_INT, .dst = &opt.notice_retries, .def = "0", .min = 0, .max = 100,
     .help = "call a notice again up to N times after no answer, a timeout or a 5xx (never after a "
             "4xx); it is charged once. 0 = one call, as at many exchanges"},
    {.name = "notice-retry-ms", .env = "BEAT_EXSIM_NOTICE_RETRY_MS",
     .type = BEAT_OPT_INT, .dst = &opt.notice_retry_ms, .def = "1000", .min = 1, .max = 600000,
     .help = "wait before the first notice retry (ms); doubles for each next one"},
    {.name = "users", .env = "BEAT_EXSIM_USERS",
     .type = BEAT_OPT_INT, .dst = &opt.users, .def = "5000", .min = 1, .max = 1000000,
     .help = "distinct users the traffic comes from (fewer: each recurs more often, so "
             "frequency caps bind)"},
    {.name = "list", .env = "BEAT_EXSIM_LISTS",
     .type = BEAT_OPT_STRLIST, .dst = &opt.lists,
     .help = "LIST_ID=PATH: a first-party list as uploaded to the supervisor (one user id a "
             "line), so that the oracle and the trading-desk grading know who is on it "
             "(repeatable or comma list)"},
    {.name = "json", .env = "BEAT_EXSIM_JSON",
     .type = BEAT_OPT_STR, .dst = &opt.json,
     .help = "write a JSON summary to this file at the end"},
    {.name = "stats-every-s", .env = "BEAT_EXSIM_STATS_EVERY_S",
     .type = BEAT_OPT_INT, .dst = &opt.stats_every_s, .def = "0", .min = 0, .max = 3600,
     .help = "log a progress line every N seconds (0 = off)"},
    BEAT_OPT_SIM_CLOCK(&opt.sim_clock),
    BEAT_OPT_LOG_LEVEL(&opt.log_level),
    BEAT_OPT_END,
};
/* clang-format on */

typedef struct run {
    exs_sim sim;
    exs_curve curve;
    struct event *tick;
    int64_t start_us, end_us, next_stats_us, last_us, next_tl_us;
    double due; /* requests due so far: the integral of the rate curve */
    bool ending;
    FILE *timeline;
    uint32_t *prev_hist, *delta_hist;
    int64_t prev_n;
} run;

/* One timeline line with the latency of the last second only. */
static void timeline_line(run *r, double rate) {
    const exs_stats *s = &r->sim.stats;
    for (int b = 0; b < EXS_LAT_BUCKETS; b++) r->delta_hist[b] = s->lat_hist[b] - r->prev_hist[b];
    int64_t n = s->lat_n - r->prev_n;
    exs_stats_timeline(s, beat_now_ms(), rate, exs_hist_quantile_ms(r->delta_hist, n, 0.5),
                       exs_hist_quantile_ms(r->delta_hist, n, 0.99), r->timeline);
    memcpy(r->prev_hist, s->lat_hist, EXS_LAT_BUCKETS * sizeof *r->prev_hist);
    r->prev_n = s->lat_n;
}

static void progress(run *r, int64_t now) {
    const exs_stats *s = &r->sim.stats;
    beat_log(BEAT_INFO, "progress",
             "t_s=%.1f requests=%" PRId64 " skipped=%" PRId64 " bids=%" PRId64 " wins=%" PRId64
             " clicks=%" PRId64 " timeouts=%" PRId64 " errors=%" PRId64 " p50_ms=%.2f p99_ms=%.2f",
             (double)(now - r->start_us) / 1e6, s->requests, s->skipped, s->bids, s->wins,
             s->clicks, s->timeouts, s->errors, exs_stats_latency_ms(s, 0.5),
             exs_stats_latency_ms(s, 0.99));
}

static void on_tick(evutil_socket_t fd, short ev, void *arg) {
    (void)fd, (void)ev;
    run *r = arg;
    int64_t now = beat_mono_us();
    double x = (double)(now - r->start_us) / 1e6 / opt.duration_s, rate = 0;
    if (!r->ending) {
        if (x >= 1.0 || beat_stop_requested()) {
            r->ending = true;
            r->end_us = now;
        } else {
            /* Open loop: everything due by now goes out, late or not. */
            /* Under a simulated clock the day is the engine's (UTC) day. */
            double day_x = x;
            if (beat_clock_simulated()) {
                int64_t e = beat_engine_ms() % 86400000;
                day_x = (double)(e < 0 ? e + 86400000 : e) / 86400000.0;
            }
            rate = opt.rate * exs_curve_at(&r->curve, x, day_x);
            r->due += rate * (double)(now - r->last_us) / 1e6;
            /* This process was not scheduled for longer than a bid's whole
             * deadline (an overloaded machine): what fell due meanwhile is
             * lost by the exchange itself, not sent late in one burst, and
             * counted apart so it does not blame the bidder. */
            if (now - r->last_us > STALL_US && (double)r->sim.next_seq < r->due - 1) {
                uint64_t lost = (uint64_t)(r->due - 1) - r->sim.next_seq;
                r->sim.next_seq += lost;
                r->sim.stats.sim_stalled += (int64_t)lost;
                beat_log_rl(5000, BEAT_WARN, "sim_stalled", "gap_ms=%" PRId64 " lost=%" PRIu64,
                            (now - r->last_us) / 1000, lost);
            }
            r->sim.price_wave = 1.0 + opt.price_wave * exs_daily(day_x);
            while ((double)r->sim.next_seq < r->due) exs_auction_fire(&r->sim);
        }
    }
    if (now - r->last_us > EXS_STALL_GAP_US) r->sim.stall_us += now - r->last_us;
    r->last_us = r->sim.last_tick_us = now;
    exs_delayq_run(&r->sim, r->ending);
    if (r->timeline && now >= r->next_tl_us) {
        timeline_line(r, rate);
        r->next_tl_us += 1000000;
    }
    if (opt.stats_every_s > 0 && now >= r->next_stats_us) {
        progress(r, now);
        r->next_stats_us = now + opt.stats_every_s * 1000000;
    }
    if (r->ending) {
        bool idle = r->sim.bids_in_flight == 0 && exs_notifier_pending(r->sim.notifier) == 0 &&
                    exs_delayq_run(&r->sim, true) == 0;
        if (idle || now - r->end_us > (int64_t)GRACE_MS * 1000) event_base_loopbreak(r->sim.base);
    }
}

/* "EUR=1.08,GBP=1.27" → rates[1], rates[2] (others ignored). */
static int parse_rates(const char *spec, double *rates) {
    if (!spec) return 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char cur[8];
        double v;
        if (sscanf(tok, " %3[A-Z]=%lf", cur, &v) != 2 || !(v > 0) || v > 1e6) return -EINVAL;
        for (int k = 1; k < 3; k++)
            if (strcmp(cur, EXS_CUR[k]) == 0) rates[k] = v;
    }
    return 0;
}

/* "http://host:port[/path]" → pool + path. Exits 64 on a bad URL. */
static void add_target(run *r, const char *url) {
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!scheme || strcmp(scheme, "http") != 0 || !host || !*host) {
        fprintf(stderr, "beat-exsim: --inference: not an http:// URL: %s\n", url);
        exit(64);
    }
    int port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
    const char *path = evhttp_uri_get_path(u);
    exs_sim *sim = &r->sim;
    int i = sim->n_targets++;
    sim->paths[i] =
        strdup(path && strcmp(path, "") != 0 && strcmp(path, "/") != 0 ? path : "/openrtb2/bid");
    sim->targets[i] =
        exs_pool_new(sim->base, host, port, (int)opt.connections, (int)opt.http_timeout_ms, 0);
    if (!sim->targets[i] || !sim->paths[i] ||
        exs_pool_set_exchange(sim->targets[i], opt.exchange, opt.exchange_key) != 0) {
        fprintf(stderr, "beat-exsim: cannot set up %s\n", url);
        exit(1);
    }
    evhttp_uri_free(u);
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-exsim", "exsim",
                       "Simulated ad exchange: open-loop OpenRTB 2.5/2.6 load on a daily "
                       "curve, first/second-price auctions, notices and clicks, an oracle "
                       "and the Bayes AUC (docs/demo.md).",
                       OPTS, argc, argv, &opt.log_level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-exsim", opt.sim_clock) != 0) return 64;
    if (opt.inference.n < 1) {
        fprintf(stderr, "beat-exsim: --inference: at least one URL needed\n");
        return 64;
    }
    beat_stop_install();

    static run r;
    exs_sim *sim = &r.sim;
    exs_world_init(&sim->world, (uint64_t)opt.seed, opt.market_median, opt.market_sigma);
    sim->world.users = (int)opt.users;
    if (parse_rates(opt.rates, sim->world.rates) < 0) {
        fprintf(stderr, "beat-exsim: --currency-rates: want e.g. EUR=1.08,GBP=1.27\n");
        return 64;
    }
    r.curve.wave = opt.wave;
    for (int i = 0; i < opt.surge.n; i++)
        if (exs_curve_add(&r.curve, opt.surge.v[i]) < 0) {
            fprintf(stderr, "beat-exsim: --surge: want AT:LEN:FACTOR, got %s\n", opt.surge.v[i]);
            return 64;
        }
    if (opt.campaigns && *opt.campaigns) {
        char err[256];
        if (exs_camps_load(opt.campaigns, &sim->camps, err, sizeof err) < 0) {
            fprintf(stderr, "beat-exsim: --campaigns: %s\n", err);
            return 64;
        }
        for (int i = 0; i < opt.lists.n; i++)
            if (exs_camps_list_load(&sim->camps, opt.lists.v[i], err, sizeof err) < 0) {
                fprintf(stderr, "beat-exsim: --list: %s\n", err);
                return 64;
            }
        sim->world.n_badv = exs_camps_adomains(&sim->camps, &sim->world.badv);
        if (!(sim->desk = exs_desk_new(&sim->camps, 20))) return 1;
        if (!(sim->oracle = exs_oracle_new(&sim->camps, opt.oracle_max))) return 1;
        if (!(sim->explain_pctr =
                  calloc((size_t)(sim->camps.n ? sim->camps.n : 1), sizeof *sim->explain_pctr)))
            return 1;
    }
    if (opt.timeline && *opt.timeline && !(r.timeline = fopen(opt.timeline, "a"))) {
        fprintf(stderr, "beat-exsim: --timeline: cannot open %s\n", opt.timeline);
        return 64;
    }
    if (opt.events && *opt.events && !(sim->events = fopen(opt.events, "w"))) {
        fprintf(stderr, "beat-exsim: --events: cannot open %s\n", opt.events);
        return 64;
    }
    r.prev_hist = calloc(EXS_LAT_BUCKETS, sizeof *r.prev_hist);
    r.delta_hist = calloc(EXS_LAT_BUCKETS, sizeof *r.delta_hist);
    sim->delayq = exs_delayq_new(opt.delayed_max);
    if (!r.prev_hist || !r.delta_hist || !sim->delayq) return 1;
    sim->tmax_ms = (int)opt.tmax_ms;
    sim->per_try_ms = opt.per_try_ms > 0 ? (int)opt.per_try_ms : (int)(opt.tmax_ms / 3);
    sim->dup_prob = opt.dup_prob;
    exs_consent_init(opt.consent_share, (int)opt.tcf_vendor_id);
    sim->test_share = opt.test_share;
    sim->replay_share = opt.replay_share;
    sim->replay_delay_ms = opt.replay_delay_ms;
    sim->forge_share = opt.forge_share;
    sim->loss_price = opt.loss_price != 0;
    sim->notice_retries = (int)opt.notice_retries;
    sim->notice_retry_ms = (int)opt.notice_retry_ms;
    sim->price_wave = 1.0;
    if (exs_stats_init(&sim->stats) < 0) return 1;
    /* timerfd-backed timers: the 1 ms schedule tick must not be rounded
     * up to the next epoll millisecond (or slower). */
    struct event_config *ecfg = event_config_new();
    if (ecfg) event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    sim->base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg) event_config_free(ecfg);
    sim->targets = calloc((size_t)opt.inference.n, sizeof *sim->targets);
    sim->paths = calloc((size_t)opt.inference.n, sizeof *sim->paths);
    sim->down_until_us = calloc((size_t)opt.inference.n, sizeof *sim->down_until_us);
    sim->fail_streak = calloc((size_t)opt.inference.n, sizeof *sim->fail_streak);
    sim->probing = calloc((size_t)opt.inference.n, sizeof *sim->probing);
    sim->slow_streak = calloc((size_t)opt.inference.n, sizeof *sim->slow_streak);
    if (!sim->base || !sim->targets || !sim->paths || !sim->down_until_us || !sim->fail_streak ||
        !sim->probing || !sim->slow_streak)
        return 1;
    for (int i = 0; i < opt.inference.n; i++) add_target(&r, opt.inference.v[i]);
    sim->notifier = exs_notifier_new(sim->base, (int)opt.notice_conns, (int)opt.notice_timeout_ms,
                                     (int)opt.notice_queue);
    if (!sim->notifier) return 1;
    beat_cfg_log(OPTS);

    r.tick = event_new(sim->base, -1, EV_PERSIST, on_tick, &r);
    /* One tick per request at most, between 100 µs and 1 ms: bursts stay
     * small at high rates, idle wake-ups few at low ones. */
    double period_us = 1e6 / opt.rate;
    if (period_us < 100) period_us = 100;
    if (period_us > 1000) period_us = 1000;
    struct timeval tv = {0, (suseconds_t)period_us};
    event_add(r.tick, &tv);
    r.start_us = r.last_us = sim->last_tick_us = beat_mono_us();
    r.next_tl_us = r.start_us + 1000000;
    r.due = 1.0; /* the first request goes out at once */
    sim->start_ms = beat_now_ms();
    sim->stats.engine_start_ms = beat_engine_of_wall_ms(sim->start_ms);
    r.next_stats_us = r.start_us + opt.stats_every_s * 1000000;
    event_base_dispatch(sim->base);

    double elapsed_s = (double)((r.end_us ? r.end_us : beat_mono_us()) - r.start_us) / 1e6;
    sim->stats.engine_end_ms = beat_engine_ms();
    event_free(r.tick);
    /* Whatever is still in flight after the grace period is dropped
     * (counted by the callbacks as errors / dropped notices). */
    for (int i = 0; i < sim->n_targets; i++) {
        exs_pool_free(sim->targets[i]);
        free(sim->paths[i]);
    }
    exs_notifier_free(sim->notifier);
    exs_delayq_abandon(sim); /* retries still waiting when the grace ran out */
    exs_delayq_free(sim->delayq);
    event_base_free(sim->base);
    free(sim->targets);
    free(sim->paths);
    free(sim->down_until_us);
    free(sim->fail_streak);
    free(sim->probing);
    free(sim->slow_streak);

    if (r.timeline) {
        timeline_line(&r, 0);
        fclose(r.timeline);
    }
    if (sim->events) fclose(sim->events);
    free(r.prev_hist);
    free(r.delta_hist);
    exs_stats_print(&sim->stats, elapsed_s);
    int rc = 0;
    beat_buf extra;
    beat_buf_init(&extra, 8 << 20);
    if (sim->oracle &&
        exs_oracle_json(sim->oracle, &sim->world, opt.auc_window_s * 1000, &extra) < 0) {
        beat_log(BEAT_ERROR, "oracle_failed", "auctions dropped or no memory");
        beat_buf_reset(&extra);
    }
    if (sim->desk && exs_desk_json(sim->desk, &extra) < 0) beat_buf_reset(&extra);
    if (opt.json && *opt.json &&
        exs_stats_write_json(&sim->stats, elapsed_s, extra.len ? extra.data : NULL, opt.json) < 0)
        rc = 1;
    beat_buf_fini(&extra);
    exs_oracle_free(sim->oracle);
    exs_desk_free(sim->desk);
    free(sim->explain_pctr);
    exs_camps_fini(&sim->camps);
    beat_log(BEAT_INFO, "done",
             "requests=%" PRId64 " bids=%" PRId64 " wins=%" PRId64 " clicks=%" PRId64,
             sim->stats.requests, sim->stats.bids, sim->stats.wins, sim->stats.clicks);
    exs_stats_fini(&sim->stats);
    return rc;
}
