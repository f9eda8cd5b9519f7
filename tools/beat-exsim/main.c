/* beat-exsim: a simulated ad exchange and open-loop load generator. Sends
 * OpenRTB 2.5 banner requests to one or more inference nodes at a fixed rate
 * whatever they answer, runs second-price auctions against a hidden market,
 * calls notices and clicks, and reports what each campaign bought. main.c
 * holds the flags, the schedule and the end of run; it never blocks on a
 * peer (a busy target means the request is skipped and counted). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "beat_cfg.h"
#include "beat_log.h"
#include "exsim.h"

#define GRACE_MS 2000 /* after the run: wait this long for notices at most */

static struct {
    beat_strlist inference;
    double rate, duration_s, market_median, market_sigma;
    int64_t seed, connections, tmax_ms, http_timeout_ms, stats_every_s;
    int64_t notice_conns, notice_queue, notice_timeout_ms;
    char *json, *log_level;
} opt;

static const beat_opt OPTS[] = {
    {"inference", "BEAT_EXSIM_INFERENCE", BEAT_OPT_STRLIST, &opt.inference,
     "http://127.0.0.1:8080", 0, -1,
     "inference base URL (repeatable or comma list; requests are spread "
     "round-robin; a path other than / replaces /openrtb2/bid)", false},
    {"rate", "BEAT_EXSIM_RATE", BEAT_OPT_DBL, &opt.rate, "200", 0.1, 1e6,
     "bid requests per second (open loop: fired on schedule regardless of answers)", false},
    {"duration", "BEAT_EXSIM_DURATION", BEAT_OPT_DBL, &opt.duration_s, "60", 0.1, 86400 * 7,
     "seconds to send for", false},
    {"seed", "BEAT_EXSIM_SEED", BEAT_OPT_INT, &opt.seed, "1", 0, 9e18,
     "seed of the traffic, the hidden CTR model and market prices", false},
    {"connections", "BEAT_EXSIM_CONNECTIONS", BEAT_OPT_INT, &opt.connections, "32", 1, 4096,
     "keep-alive connections per inference node = max outstanding requests "
     "each; when all are busy a request is counted as skipped", false},
    {"tmax", "BEAT_EXSIM_TMAX", BEAT_OPT_INT, &opt.tmax_ms, "100", 1, 10000,
     "tmax sent in requests (ms); a later answer is a timeout and loses", false},
    {"http-timeout-ms", "BEAT_EXSIM_HTTP_TIMEOUT_MS", BEAT_OPT_INT, &opt.http_timeout_ms,
     "1000", 10, 60000, "give up on a bid request after this long (ms)", false},
    {"market-median", "BEAT_EXSIM_MARKET_MEDIAN", BEAT_OPT_DBL, &opt.market_median, "1.0",
     0.001, 1000, "median of the lognormal competing bid (CPM)", false},
    {"market-sigma", "BEAT_EXSIM_MARKET_SIGMA", BEAT_OPT_DBL, &opt.market_sigma, "0.5", 0,
     5, "sigma of the lognormal competing bid", false},
    {"notice-connections", "BEAT_EXSIM_NOTICE_CONNECTIONS", BEAT_OPT_INT, &opt.notice_conns,
     "16", 1, 1024, "connections per notice host", false},
    {"notice-queue", "BEAT_EXSIM_NOTICE_QUEUE", BEAT_OPT_INT, &opt.notice_queue, "10000", 0,
     1000000, "notices that may wait for a connection; beyond, dropped and counted", false},
    {"notice-timeout-ms", "BEAT_EXSIM_NOTICE_TIMEOUT_MS", BEAT_OPT_INT,
     &opt.notice_timeout_ms, "2000", 10, 60000, "timeout of one notice call (ms)", false},
    {"json", "BEAT_EXSIM_JSON", BEAT_OPT_STR, &opt.json, NULL, 0, -1,
     "write a JSON summary to this file at the end", false},
    {"stats-every-s", "BEAT_EXSIM_STATS_EVERY_S", BEAT_OPT_INT, &opt.stats_every_s, "0", 0,
     3600, "log a progress line every N seconds (0 = off)", false},
    {"log-level", "BEAT_LOG_LEVEL", BEAT_OPT_STR, &opt.log_level, "info", 0, -1,
     "debug|info|warn|error", false},
    BEAT_OPT_END};

typedef struct run {
    exs_sim sim;
    struct event *tick;
    int64_t start_us, end_us, next_stats_us;
    bool ending;
} run;

static void progress(run *r, int64_t now) {
    const exs_stats *s = &r->sim.stats;
    beat_log(BEAT_INFO, "progress",
             "t_s=%.1f requests=%" PRId64 " skipped=%" PRId64 " bids=%" PRId64
             " wins=%" PRId64 " clicks=%" PRId64 " timeouts=%" PRId64 " errors=%" PRId64
             " p50_ms=%.2f p99_ms=%.2f",
             (double)(now - r->start_us) / 1e6, s->requests, s->skipped, s->bids, s->wins,
             s->clicks, s->timeouts, s->errors, exs_stats_latency_ms(s, 0.5),
             exs_stats_latency_ms(s, 0.99));
}

static void on_tick(evutil_socket_t fd, short ev, void *arg) {
    (void)fd, (void)ev;
    run *r = arg;
    int64_t now = beat_mono_us();
    if (!r->ending) {
        double elapsed_s = (double)(now - r->start_us) / 1e6;
        if (elapsed_s >= opt.duration_s || beat_stop_requested()) {
            r->ending = true;
            r->end_us = now;
        } else {
            /* Open loop: everything due by now goes out, late or not. */
            uint64_t due = (uint64_t)(elapsed_s * opt.rate) + 1;
            while (r->sim.next_seq < due) exs_auction_fire(&r->sim);
        }
    }
    if (opt.stats_every_s > 0 && now >= r->next_stats_us) {
        progress(r, now);
        r->next_stats_us = now + opt.stats_every_s * 1000000;
    }
    if (r->ending) {
        bool idle = r->sim.bids_in_flight == 0 && exs_notifier_pending(r->sim.notifier) == 0;
        if (idle || now - r->end_us > (int64_t)GRACE_MS * 1000)
            event_base_loopbreak(r->sim.base);
    }
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
    sim->paths[i] = strdup(path && strcmp(path, "") != 0 && strcmp(path, "/") != 0
                               ? path : "/openrtb2/bid");
    sim->targets[i] = exs_pool_new(sim->base, host, port, (int)opt.connections,
                                   (int)opt.http_timeout_ms, 0);
    if (!sim->targets[i] || !sim->paths[i]) {
        fprintf(stderr, "beat-exsim: cannot set up %s\n", url);
        exit(1);
    }
    evhttp_uri_free(u);
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-exsim", "exsim",
                       "Simulated ad exchange: open-loop OpenRTB load, second-price "
                       "auctions, notices and clicks, per-campaign report.",
                       OPTS, argc, argv, &opt.log_level) != 0)
        return 64;
    if (opt.inference.n < 1) {
        fprintf(stderr, "beat-exsim: --inference: at least one URL needed\n");
        return 64;
    }
    beat_stop_install();

    static run r;
    exs_sim *sim = &r.sim;
    exs_world_init(&sim->world, (uint64_t)opt.seed, opt.market_median, opt.market_sigma);
    sim->tmax_ms = (int)opt.tmax_ms;
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
    if (!sim->base || !sim->targets || !sim->paths || !sim->down_until_us ||
        !sim->fail_streak || !sim->probing)
        return 1;
    for (int i = 0; i < opt.inference.n; i++) add_target(&r, opt.inference.v[i]);
    sim->notifier = exs_notifier_new(sim->base, (int)opt.notice_conns,
                                     (int)opt.notice_timeout_ms, (int)opt.notice_queue);
    if (!sim->notifier) return 1;
    exs_auction_init(sim);
    beat_cfg_log(OPTS);

    r.tick = event_new(sim->base, -1, EV_PERSIST, on_tick, &r);
    /* One tick per request at most, between 100 µs and 1 ms: bursts stay
     * small at high rates, idle wake-ups few at low ones. */
    double period_us = 1e6 / opt.rate;
    if (period_us < 100) period_us = 100;
    if (period_us > 1000) period_us = 1000;
    struct timeval tv = {0, (suseconds_t)period_us};
    event_add(r.tick, &tv);
    r.start_us = beat_mono_us();
    r.next_stats_us = r.start_us + opt.stats_every_s * 1000000;
    event_base_dispatch(sim->base);

    double elapsed_s = (double)((r.end_us ? r.end_us : beat_mono_us()) - r.start_us) / 1e6;
    event_free(r.tick);
    /* Whatever is still in flight after the grace period is dropped
     * (counted by the callbacks as errors / dropped notices). */
    for (int i = 0; i < sim->n_targets; i++) {
        exs_pool_free(sim->targets[i]);
        free(sim->paths[i]);
    }
    exs_notifier_free(sim->notifier);
    event_base_free(sim->base);
    free(sim->targets);
    free(sim->paths);
    free(sim->down_until_us);
    free(sim->fail_streak);
    free(sim->probing);

    exs_stats_print(&sim->stats, elapsed_s);
    int rc = 0;
    if (opt.json && *opt.json && exs_stats_write_json(&sim->stats, elapsed_s, opt.json) < 0)
        rc = 1;
    beat_log(BEAT_INFO, "done", "requests=%" PRId64 " bids=%" PRId64 " wins=%" PRId64
             " clicks=%" PRId64, sim->stats.requests, sim->stats.bids, sim->stats.wins,
             sim->stats.clicks);
    exs_stats_fini(&sim->stats);
    return rc;
}
