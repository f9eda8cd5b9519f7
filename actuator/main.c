/* beat-actuator: paces every campaign's budget over its flight. Each tick
 * it pulls spend aggregates from the datastream instances, steps one
 * pacing controller per campaign (pacer.c) and pushes the resulting state
 * (multipliers, paused flags, win-rate curves, private spend and cursors) to the
 * supervisor. Nobody depends on it: a dead peer is counted and skipped,
 * never fatal. It pushes nothing until it has restored its spend from the
 * supervisor (or learned there is none), so a restart never resets spend. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_alert_rules.h"
#include "beat_campaign.h"
#include "beat_cfg.h"
#include "beat_clock.h"
#include "beat_http.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_pull.h"
#include "beat_util.h"
#include "links.h"
#include "pacer.h"
#include "state.h"

#define STATE_MAX (64u << 20)

static char *o_listen, *o_supervisor, *o_token, *o_name, *o_log_level, *o_weights, *o_pacing;
static beat_strlist o_datastreams;
static bool o_dev;
static int64_t o_clock_skew_ms;
static beat_alert_opts o_alert;
static int64_t o_tick_ms, o_timeout_ms, o_campaigns_every, o_max_campaigns;
static double o_min_mult, o_max_mult, o_kp, o_ki, o_kd, o_stop_margin, o_inflight_s, o_transit_s,
    o_horizon, o_land_tau_s, o_land_min_bids;

static beat_http_limits o_http = BEAT_HTTP_LIMITS_DEFAULT;
static char *o_sim_clock; /* --sim-clock: engine time spec */
/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "listen", .env = "BEAT_ACTUATOR_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8084",
     .help = "admin HTTP address (/healthz, /metrics)"},
    BEAT_PULL_OPTS(&o_datastreams, &o_supervisor, &o_token, &o_dev),
    BEAT_OPT_CLOCK_SKEW(&o_clock_skew_ms),
    {.name = "tick-ms", .env = "BEAT_ACTUATOR_TICK_MS",
     .type = BEAT_OPT_INT, .dst = &o_tick_ms, .def = "1000", .min = 50, .max = 600000,
     .help = "control period: pull, step, push"},
    {.name = "min-multiplier", .env = "BEAT_ACTUATOR_MIN_MULTIPLIER",
     .type = BEAT_OPT_DBL, .dst = &o_min_mult, .def = "0.05", .min = 0.001, .max = 1000,
     .help = "lowest bid multiplier"},
    {.name = "max-multiplier", .env = "BEAT_ACTUATOR_MAX_MULTIPLIER",
     .type = BEAT_OPT_DBL, .dst = &o_max_mult, .def = "10", .min = 0.001, .max = 1000,
     .help = "highest bid multiplier"},
    {.name = "kp", .env = "BEAT_ACTUATOR_KP",
     .type = BEAT_OPT_DBL, .dst = &o_kp, .def = "0.35", .min = 0, .max = 10,
     .help = "PID proportional gain on the log spend-rate error"},
    {.name = "ki", .env = "BEAT_ACTUATOR_KI",
     .type = BEAT_OPT_DBL, .dst = &o_ki, .def = "0.2", .min = 0, .max = 10,
     .help = "PID integral gain (1/s) on the log spend-rate error"},
    {.name = "kd", .env = "BEAT_ACTUATOR_KD",
     .type = BEAT_OPT_DBL, .dst = &o_kd, .def = "0", .min = 0, .max = 100,
     .help = "PID derivative gain (s) on the log spend-rate error"},
    {.name = "catchup-frac", .env = "BEAT_ACTUATOR_CATCHUP_FRAC",
     .type = BEAT_OPT_DBL, .dst = &o_horizon, .def = "0.05", .min = 0.001, .max = 1,
     .help = "a deviation from plan is worked off over this fraction of the flight"},
    {.name = "inflight-s", .env = "BEAT_ACTUATOR_INFLIGHT_S",
     .type = BEAT_OPT_DBL, .dst = &o_inflight_s, .def = "2", .min = 0, .max = 600,
     .help = "spend in flight (won, not yet counted) = recent spend rate x this, while the "
             "age of the aggregates is unknown"},
    {.name = "transit-s", .env = "BEAT_ACTUATOR_TRANSIT_S",
     .type = BEAT_OPT_DBL, .dst = &o_transit_s, .def = "0.5", .min = 0, .max = 600,
     .help = "...else rate x (age of the newest closed bucket + this): notice delay and "
             "Kafka transit"},
    {.name = "stop-margin", .env = "BEAT_ACTUATOR_STOP_MARGIN",
     .type = BEAT_OPT_DBL, .dst = &o_stop_margin, .def = "0.002", .min = 0, .max = 0.5,
     .help = "hard stop at spent + in flight >= budget*(1-margin)"},
    {.name = "pacing-mode", .env = "BEAT_ACTUATOR_PACING_MODE",
     .type = BEAT_OPT_STR, .dst = &o_pacing, .def = "even",
     .help = "pacing of campaigns that name none: even (follow the planned spend curve), "
             "value (hold the price of a click and let spend follow supply: docs/swapping.md "
             "says where it does not yet beat even) or asap (no pacing, budget stop only)"},
    {.name = "hourly-weights", .env = "BEAT_ACTUATOR_HOURLY_WEIGHTS",
     .type = BEAT_OPT_STR, .dst = &o_weights, .def = "",
     .help = "24 comma-separated weights of the planned spend per hour (UTC; stretched "
             "over flights shorter than a day); empty = uniform"},
    {.name = "landscape-tau-s", .env = "BEAT_ACTUATOR_LANDSCAPE_TAU_S",
     .type = BEAT_OPT_DBL, .dst = &o_land_tau_s, .def = "1800", .min = 10, .max = 604800,
     .help = "time constant (data time) of the decaying won/lost counts "
             "by bid price that the win-rate curve is fitted to"},
    {.name = "landscape-min-bids", .env = "BEAT_ACTUATOR_LANDSCAPE_MIN_BIDS",
     .type = BEAT_OPT_DBL, .dst = &o_land_min_bids, .def = "100", .min = 10, .max = 1e9,
     .help = "decayed settled bids a campaign needs (at "
             "least 5 wins and 5 losses among them) before its win_curve is published; "
             "without one inference does not shade first-price bids"},
    {.name = "http-timeout-ms", .env = "BEAT_ACTUATOR_HTTP_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_timeout_ms, .def = "500", .min = 10, .max = 60000,
     .help = "timeout of every HTTP call"},
    {.name = "campaigns-every", .env = "BEAT_ACTUATOR_CAMPAIGNS_EVERY",
     .type = BEAT_OPT_INT, .dst = &o_campaigns_every, .def = "5", .min = 1, .max = 3600,
     .help = "refresh campaigns every N ticks"},
    {.name = "max-campaigns", .env = "BEAT_ACTUATOR_MAX_CAMPAIGNS",
     .type = BEAT_OPT_INT, .dst = &o_max_campaigns, .def = "20000", .min = 1, .max = 1000000,
     .help = "campaigns tracked at most (sets + aggregates); more are dropped"},
    BEAT_ALERT_OPTS(&o_alert),
    {.name = "name", .env = "BEAT_ACTUATOR_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "beat-actuator",
     .help = "instance name, written into every state"},
    BEAT_HTTP_OPTS(o_http),
    BEAT_OPT_SIM_CLOCK(&o_sim_clock),
    {.name = "log-level", .env = "BEAT_LOG_LEVEL",
     .type = BEAT_OPT_STR, .dst = &o_log_level, .def = "info",
     .help = "debug|info|warn|error"},
    BEAT_OPT_END,
};
/* clang-format on */

/* Read by the admin thread: atomics only. */
static beat_pull_status g_status;
static _Atomic int g_campaigns;
static _Atomic int g_restore_err; /* last failed restore attempt; 0 = none */

static struct {
    beat_counter *ticks, *pushes, *push_failures, *buckets, *missed, *dropped, *epoch_resets,
        *future;
    beat_gauge *restore, *campaigns, *state_age;
    beat_histogram *tick_s;
} m;

static void metrics_init(void) {
    m.ticks = beat_counter_new("beat_actuator_ticks_total", "Control ticks run");
    m.pushes =
        beat_counter_new("beat_actuator_state_pushes_total", "States accepted by the supervisor");
    m.push_failures = beat_counter_new("beat_actuator_state_push_failures_total",
                                       "State pushes that failed or were rejected");
    m.buckets = beat_counter_new("beat_actuator_buckets_total", "Aggregate buckets counted");
    m.missed = beat_counter_new("beat_actuator_buckets_missed_total",
                                "Buckets gone from a datastream before we pulled them");
    m.dropped = beat_counter_new("beat_actuator_rows_dropped_total",
                                 "Aggregate rows dropped: campaign table full");
    m.future = beat_counter_new("beat_actuator_future_timestamps_total",
                                "Aggregate times (bucket ends, heard_ms) further ahead of "
                                "this clock than --max-clock-skew-ms, not taken as watermarks");
    m.epoch_resets = beat_counter_new("beat_actuator_epoch_resets_total",
                                      "Datastream restarts seen (cursor reset)");
    m.restore = beat_gauge_new("beat_actuator_restore_state",
                               "0 restoring, 1 restored from supervisor, 2 fresh start");
    m.campaigns = beat_gauge_new("beat_actuator_campaigns", "Campaigns in the current set");
    m.state_age = beat_gauge_fn_new("beat_actuator_state_age_seconds",
                                    "Time since the last accepted state push", beat_pull_push_age_s,
                                    &g_status);
    m.tick_s = beat_histogram_new("beat_actuator_tick_seconds", "Duration of one tick",
                                  beat_latency_bounds, beat_latency_nbounds);
}

static void cnt(beat_counter *c, uint64_t n) {
    if (c && n) beat_counter_add(c, n);
}

/* Why the restore has not succeeded yet, for /healthz. */
static const char *restore_reason(int err) {
    switch (err) {
        case 0: return "first attempt pending";
        case -EAGAIN: return "supervisor answered with an error status";
        case -EBADMSG: return "stored state is not a JSON object";
        default: return "supervisor unreachable";
    }
}

static bool health(void *arg, beat_buf *detail) {
    (void)arg;
    if (!beat_pull_health(&g_status, detail)) {
        beat_buf_printf(detail, ",\"reason\":\"%s\"", restore_reason(atomic_load(&g_restore_err)));
        return false;
    }
    beat_buf_printf(detail, ",\"campaigns\":%d,\"last_push_age_ms\":%" PRId64,
                    atomic_load(&g_campaigns), beat_pull_push_age_ms(&g_status));
    return true;
}

/* Per-campaign gauges, registered once when a campaign enters a set. */
static void camp_gauges(act_camp *c) {
    if (c->g_spend) return;
    char name[200];
    snprintf(name, sizeof name, "beat_actuator_spend_micros{campaign=\"%s\"}", c->id);
    c->g_spend = beat_gauge_new(name, "Spend counted for a campaign (micros)");
    snprintf(name, sizeof name, "beat_actuator_multiplier_ratio{campaign=\"%s\"}", c->id);
    c->g_mult = beat_gauge_new(name, "Bid multiplier of a campaign");
    snprintf(name, sizeof name, "beat_actuator_forecast_spend_micros{campaign=\"%s\"}", c->id);
    c->g_forecast = beat_gauge_new(name, "Value pacing: the flight's total spend "
                                         "forecast at the current multiplier (micros)");
}

/* Asks the supervisor for our last state until it answers 200 or 404. */
static int restore(act_links *l, act_state *st) {
    int64_t backoff = 0;
    while (beat_pull_retry(&backoff)) {
        int rc = act_links_restore(l, st);
        if (rc < 0) atomic_store(&g_restore_err, rc);
        if (rc >= 0) {
            atomic_store(&g_status.restore, rc == 1 ? BEAT_RESTORE_DONE : BEAT_RESTORE_FRESH);
            if (m.restore) beat_gauge_set(m.restore, rc == 1 ? 1 : 2);
            int64_t spend = 0;
            for (int i = 0; i < st->n; i++) spend += st->c[i]->spent_micros;
            beat_log(BEAT_INFO, rc == 1 ? "restored" : "fresh_start",
                     "campaigns=%d cursors=%d spend_micros=%" PRId64, st->n, st->n_cur, spend);
            return 0;
        }
    }
    return -EINTR;
}

typedef struct loop {
    act_links *links;
    act_state st;
    act_pacer_cfg pcfg;
    int64_t campaigns_version;
    bool have_set, refresh_now;
    beat_buf body;
    act_pull_stats pulled;
    uint64_t ticks, pushes, push_failures;
} loop;

static void refresh_campaigns(loop *lp, int64_t now_ms) {
    beat_campaign_set cs;
    int rc = act_links_campaigns(lp->links, lp->campaigns_version, now_ms, &cs);
    if (rc < 0) return;
    lp->refresh_now = false;
    if (rc == 0) return;
    int dropped = act_state_set_campaigns(&lp->st, &cs);
    if (dropped)
        beat_log(BEAT_WARN, "campaigns_full", "dropped=%d max=%" PRId64, dropped, o_max_campaigns);
    lp->campaigns_version = cs.version;
    lp->have_set = true;
    int n_in = 0;
    for (int i = 0; i < lp->st.n; i++)
        if (lp->st.c[i]->in_set) {
            camp_gauges(lp->st.c[i]);
            n_in++;
        }
    atomic_store(&g_campaigns, n_in);
    if (m.campaigns) beat_gauge_set(m.campaigns, n_in);
    beat_log(BEAT_INFO, "campaigns", "version=%" PRId64 " n=%d", cs.version, cs.n);
    beat_campaigns_fini(&cs);
}

static void tick(loop *lp) {
    int64_t t0 = beat_mono_us();
    int64_t now = beat_now_ms();
    if (lp->refresh_now || !lp->have_set || lp->ticks % (uint64_t)o_campaigns_every == 0)
        refresh_campaigns(lp, beat_engine_ms()); /* "flight_s" starts at engine now */

    act_pull_stats ps = {0};
    act_links_pull(lp->links, &lp->st, &ps);
    cnt(m.buckets, (uint64_t)ps.buckets);
    cnt(m.missed, (uint64_t)ps.missed);
    cnt(m.dropped, (uint64_t)ps.dropped);
    cnt(m.future, (uint64_t)ps.future);
    cnt(m.epoch_resets, (uint64_t)ps.epoch_resets);
    lp->pulled.buckets += ps.buckets;
    lp->pulled.failures += ps.failures;

    now = beat_now_ms();
    /* No bucket pulled yet by this process: -1, the controllers hold. */
    int64_t data_ms = act_state_data_ms(&lp->st, 10000);
    if (data_ms == 0) data_ms = -1;
    for (int i = 0; i < lp->st.n; i++) {
        act_camp *c = lp->st.c[i];
        if (!c->in_set) continue;
        /* The flight is in engine time, the aggregates and this tick in
         * wall time: the pacer gets the flight as wall times (its plan maps
         * them back to engine hours), so a simulated clock simply makes
         * the flight shorter. */
        act_pacer_in in = {.start_ms = beat_wall_of_engine_ms(c->start_ms),
                           .end_ms = beat_wall_of_engine_ms(c->end_ms),
                           .budget_micros = c->budget_micros,
                           .spent_micros = c->spent_micros,
                           .data_ms = data_ms,
                           .op_paused = c->op_paused,
                           .opps = c->opps,
                           .mode = c->mode,
                           .sched = &c->sched,
                           .tz = c->tz};
        /* a daily budget: the controller paces today (engine time decides the day) */
        act_daily_scope(&c->day_c, &c->daily, &c->ctl, &in, beat_engine_of_wall_ms(now), now,
                        beat_clock_rate());
        act_pacer_step(&lp->pcfg, &c->ctl, &in, now);
        if (c->g_spend) beat_gauge_set(c->g_spend, (double)c->spent_micros);
        if (c->g_mult) beat_gauge_set(c->g_mult, c->ctl.multiplier);
        if (c->g_forecast && c->mode == BEAT_PACING_VALUE && c->ctl.forecast >= 0)
            beat_gauge_set(c->g_forecast, c->ctl.forecast);
    }

    if (lp->have_set) {
        beat_buf_reset(&lp->body);
        if (act_state_encode(&lp->st, o_name, now, &lp->body) < 0) {
            beat_log_rl(5000, BEAT_ERROR, "state_too_big", "max=%u", STATE_MAX);
            lp->push_failures++;
            cnt(m.push_failures, 1);
        } else {
            int rc = act_links_push_state(lp->links, &lp->body);
            if (rc == 0) {
                lp->pushes++;
                cnt(m.pushes, 1);
                atomic_store(&g_status.last_push_ms, now);
            } else {
                lp->push_failures++;
                cnt(m.push_failures, 1);
                if (rc == -EBADMSG) lp->refresh_now = true; /* set changed? */
            }
        }
    }
    lp->ticks++;
    cnt(m.ticks, 1);
    if (m.tick_s) beat_histogram_observe(m.tick_s, (double)(beat_mono_us() - t0) / 1e6);
}

static void log_stats(loop *lp) {
    int64_t spend = 0;
    int paused = 0, in = 0;
    for (int i = 0; i < lp->st.n; i++) {
        spend += lp->st.c[i]->spent_micros;
        if (lp->st.c[i]->in_set) {
            in++;
            paused += lp->st.c[i]->ctl.paused;
        }
    }
    beat_log(BEAT_INFO, "stats",
             "ticks=%" PRIu64 " pushes=%" PRIu64 " push_failures=%" PRIu64 " buckets=%" PRId64
             " pull_failures=%" PRId64 " campaigns=%d paused=%d spend_micros=%" PRId64,
             lp->ticks, lp->pushes, lp->push_failures, lp->pulled.buckets, lp->pulled.failures, in,
             paused, spend);
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-actuator", "actuator",
                       "Paces campaign budgets: datastream aggregates in, state to the "
                       "supervisor.",
                       opts, argc, argv, &o_log_level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-actuator", o_sim_clock) != 0) return 64;
    if (beat_cfg_secret("beat-actuator", "admin-token", "BEAT_ADMIN_TOKEN", &o_token, NULL,
                        o_dev) != 0)
        return 64;
    if (o_min_mult > o_max_mult) {
        fprintf(stderr, "beat-actuator: --min-multiplier: above --max-multiplier\n");
        return 64;
    }
    if (o_datastreams.n == 0) {
        fprintf(stderr, "beat-actuator: --datastream: at least one URL needed\n");
        return 64;
    }
    act_pacer_cfg chk;
    act_pacer_cfg_default(&chk);
    if (act_pacer_set_weights(&chk, o_weights) != 0) {
        fprintf(stderr, "beat-actuator: --hourly-weights: want 24 comma-separated "
                        "numbers >= 0 with a positive sum\n");
        return 64;
    }
    beat_pacing default_mode;
    if (beat_pacing_parse(o_pacing, &default_mode) != 0) {
        fprintf(stderr, "beat-actuator: --pacing-mode: want value, even or asap\n");
        return 64;
    }
    beat_cfg_log(opts);
    beat_stop_install();
    metrics_init();

    loop lp;
    memset(&lp, 0, sizeof lp);
    act_pacer_cfg_default(&lp.pcfg);
    lp.pcfg.kp = o_kp;
    lp.pcfg.ki = o_ki;
    lp.pcfg.kd = o_kd;
    lp.pcfg.catchup_frac = o_horizon;
    lp.pcfg.inflight_s = o_inflight_s;
    lp.pcfg.transit_s = o_transit_s;
    lp.pcfg.lookahead_s = (double)o_tick_ms / 1000.0;
    lp.pcfg.min_mult = o_min_mult;
    lp.pcfg.max_mult = o_max_mult;
    lp.pcfg.stop_margin = o_stop_margin;
    act_pacer_set_weights(&lp.pcfg, o_weights); /* checked above */
    if (act_state_init(&lp.st, (int)o_max_campaigns) != 0) {
        beat_log(BEAT_FATAL, "oom", "what=state");
        return 1;
    }
    lp.st.max_skew_ms = o_clock_skew_ms;
    lp.st.land_cfg.tau_s = o_land_tau_s;
    lp.st.land_cfg.min_bids = o_land_min_bids;
    lp.st.default_mode = default_mode;
    beat_buf_init(&lp.body, STATE_MAX);
    lp.links = act_links_new(&o_datastreams, o_supervisor, o_token, (long)o_timeout_ms);
    if (!lp.links) {
        beat_log(BEAT_FATAL, "oom", "what=links");
        return 1;
    }
    int err = 0;
    beat_admin *admin = beat_admin_start_lim(o_listen, health, NULL, &o_http, &err);
    if (!admin) {
        beat_log(BEAT_FATAL, "listen_failed", "listen=%s err=%d", o_listen, err);
        return 1;
    }
    /* Alert rules (ops): peers failing; windows above the call periods. */
    int64_t win_ms = 3 * o_tick_ms > 10000 ? 3 * o_tick_ms : 10000;
    beat_alert_rules *alert_rules = beat_alert_pull_rules_run(
        &o_alert, o_name, "actuator", o_supervisor, m.pushes, win_ms, &o_datastreams, win_ms);
    beat_log(BEAT_INFO, "started", "listen=%s datastreams=%d supervisor=%s name=%s", o_listen,
             o_datastreams.n, o_supervisor, o_name);

    if (restore(lp.links, &lp.st) == 0) {
        int64_t next = beat_mono_ms(), next_stats = next + 10000;
        while (!beat_stop_requested()) {
            tick(&lp);
            int64_t now = beat_mono_ms();
            if (now >= next_stats) {
                log_stats(&lp);
                next_stats = now + 10000;
            }
            next += o_tick_ms;
            if (next < now) next = now; /* overran: no burst of catch-up ticks */
            /* Tick just after the wall-clock grid where datastream buckets
             * close (their bounds are multiples of bucket_ms): the newest
             * bucket is then fresh and a surge is seen up to a tick sooner. */
            int64_t wall = beat_now_ms(), phase = o_tick_ms / 8 < 150 ? o_tick_ms / 8 : 150;
            int64_t aligned = wall + (next - now);
            aligned = (aligned - phase + o_tick_ms / 2) / o_tick_ms * o_tick_ms + phase;
            if (aligned > wall) next = now + (aligned - wall);
            beat_stop_sleep_ms(next - now);
        }
        log_stats(&lp);
    }

    beat_log(BEAT_INFO, "stopping", "ticks=%" PRIu64, lp.ticks);
    beat_alert_rules_end(alert_rules);
    beat_admin_stop(admin);
    act_links_free(lp.links);
    act_state_fini(&lp.st);
    beat_buf_fini(&lp.body);
    return 0;
}
