/* beat-inference: answers OpenRTB bid requests (POST /openrtb2/bid) from the
 * current world (campaigns + pacing state + CTR model) that the sync thread
 * keeps in step with the supervisor (docs/architecture.md "Bidding" and "The
 * careful link"). Flags, wiring and the main loop live here; the workers and
 * the bid handler are worker.c, /healthz, gauges, alerts and stats health.c,
 * HTTP http_conn.c and http.c, parse memory arena.c, parsing openrtb.c, the auction
 * bidder.c, the model model.c, worlds world.c, the supervisor link sync.c, bid logs bidlog.c.
 * The bid path never blocks on a peer and never logs per request. */
#include <errno.h>
#include <inttypes.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_fx.h"
#include "beat_log.h"
#include "beat_loop.h"
#include "beat_metrics.h"
#include "beat_notice.h"
#include "beat_srccap.h"
#include "beat_util.h"
#include "bidder.h"
#include "bidlog.h"
#include "exchange.h"
#include "fcap.h"
#include "health.h"
#include "lease.h"
#include "model.h"
#include "openrtb.h"
#include "opps.h"
#include "privacy.h"
#include "prof.h"
#include "sync.h"
#include "worker.h"

#define MAX_WORKERS 64

static char *o_lease, *o_listen, *o_pub, *o_rep, *o_receiver_url, *o_bidlog, *o_secret, *o_name,
    *o_log_level, *o_rates, *o_tcf_purposes;
static bool o_open, o_explain;
static int64_t o_lease_every_ms, o_tcf_vendor_id;
static int64_t o_workers, o_max_body, o_sendbuf, o_max_state_age_ms, o_max_model_bytes,
    o_tmax_reserve_ms, o_max_conns, o_bidlog_queue, o_bidlog_batch, o_read_timeout_ms,
    o_idle_timeout_ms, o_max_conns_per_source;
static char *o_exempt_networks;
static bool o_dev;
static int64_t o_clock_skew_ms, o_fcap_rows, o_fcap_inflight_ms, o_fcap_stale_ms;
static beat_alert_opts o_alert;
static double o_state_warn_s, o_state_error_s, o_model_warn_s, o_model_error_s;

static char *o_sim_clock; /* --sim-clock: engine time spec */
/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "listen", .env = "BEAT_INFERENCE_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8080",
     .help = "HTTP address for /openrtb2/bid, /healthz, /metrics"},
    {.name = "workers", .env = "BEAT_INFERENCE_WORKERS",
     .type = BEAT_OPT_INT, .dst = &o_workers, .def = "1", .min = 1, .max = MAX_WORKERS,
     .help = "HTTP event loops, one thread each (SO_REUSEPORT when > 1)"},
    {.name = "max-body", .env = "BEAT_INFERENCE_MAX_BODY",
     .type = BEAT_OPT_INT, .dst = &o_max_body, .def = "65536", .min = 1024, .max = 16 * 1024 * 1024,
     .help = "largest bid request body in bytes (larger → 413)"},
    {.name = "max-conns", .env = "BEAT_INFERENCE_MAX_CONNS",
     .type = BEAT_OPT_INT, .dst = &o_max_conns, .def = "1024", .min = 1, .max = 65536,
     .help = "open HTTP connections per worker; at the cap a new one closes the "
             "connection that has waited longest for a request"},
    {.name = "read-timeout-ms", .env = "BEAT_INFERENCE_READ_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_read_timeout_ms, .def = "10000", .min = 100, .max = 600000,
     .help = "a started request must arrive whole within this (else 408, closed)"},
    {.name = "idle-timeout-ms", .env = "BEAT_INFERENCE_IDLE_TIMEOUT_MS",
     .type = BEAT_OPT_INT, .dst = &o_idle_timeout_ms, .def = "60000", .min = 100, .max = 3600000,
     .help = "idle keep-alive connections are closed after this"},
    {.name = "max-conns-per-source", .env = "BEAT_INFERENCE_MAX_CONNS_PER_SOURCE",
     .type = BEAT_OPT_INT, .dst = &o_max_conns_per_source, .def = "512", .min = 0, .max = 1000000,
     .help = "open HTTP connections one client address may hold (all workers together); "
             "more are closed at accept, unless the address is in a configured exchange's "
             "networks or --exempt-networks; 0: no cap"},
    {.name = "exempt-networks", .env = "BEAT_INFERENCE_EXEMPT_NETWORKS",
     .type = BEAT_OPT_STR, .dst = &o_exempt_networks, .def = "",
     .help = "comma-separated CIDRs not held to --max-conns-per-source besides the "
             "configured exchanges' networks: keyed exchanges without networks, a proxy "
             "in front of them (\"10.1.0.0/16,2001:db8::/32\")"},
    {.name = "supervisor-pub", .env = "BEAT_SUPERVISOR_PUB",
     .type = BEAT_OPT_STR, .dst = &o_pub, .def = "tcp://127.0.0.1:7103",
     .help = "supervisor nng pub address (snapshots, checkpoints, heartbeats)"},
    {.name = "supervisor-rep", .env = "BEAT_SUPERVISOR_REP",
     .type = BEAT_OPT_STR, .dst = &o_rep, .def = "tcp://127.0.0.1:7104",
     .help = "supervisor nng rep address (requests)"},
    {.name = "supervisor-lease", .env = "BEAT_SUPERVISOR_LEASE",
     .type = BEAT_OPT_STR, .dst = &o_lease, .def = "tcp://127.0.0.1:7105",
     .help = "primary supervisor's nng lease address: this node reports what it bid and gets "
             "its budget leases (docs/money.md); without a lease nothing is bid"},
    {.name = "lease-every-ms", .env = "BEAT_INFERENCE_LEASE_EVERY_MS",
     .type = BEAT_OPT_INT, .dst = &o_lease_every_ms, .def = "1000", .min = 100, .max = 60000,
     .help = "how often this node reports its bids and renews its leases"},
    {.name = "receiver-url", .env = "BEAT_RECEIVER_URL",
     .type = BEAT_OPT_STR, .dst = &o_receiver_url, .def = "http://127.0.0.1:8081",
     .help = "base URL of notice URLs (win/bill/loss/click)"},
    {.name = "receiver-bidlog", .env = "BEAT_RECEIVER_BIDLOG",
     .type = BEAT_OPT_STR, .dst = &o_bidlog, .def = "tcp://127.0.0.1:7101",
     .help = "receiver nng pull address for bid logs; a comma list dials every receiver "
             "and spreads bid logs over the ones that are up"},
    {.name = "bidlog-sendbuf", .env = "BEAT_INFERENCE_BIDLOG_SENDBUF",
     .type = BEAT_OPT_INT, .dst = &o_sendbuf, .def = "1024", .min = 0, .max = 8192,
     .help = "bid-log messages buffered while the receiver is slow or away; beyond it "
             "they are dropped and counted"},
    {.name = "bidlog-queue", .env = "BEAT_INFERENCE_BIDLOG_QUEUE",
     .type = BEAT_OPT_INT, .dst = &o_bidlog_queue, .def = "8192", .min = 16, .max = 1048576,
     .help = "bid events waiting for the bid-log sender thread; beyond it they are "
             "dropped and counted"},
    {.name = "bidlog-batch", .env = "BEAT_INFERENCE_BIDLOG_BATCH",
     .type = BEAT_OPT_INT, .dst = &o_bidlog_batch, .def = "32", .min = 1, .max = 1024,
     .help = "most bid events per nng message, newline-separated (1: one per message; "
             "a batch holds what queued up since the last send, so it adds no delay; "
             "keep batches under the receiver's --bidlog-max-bytes)"},
    BEAT_OPT_NOTICE_SECRET(&o_secret, "HMAC key of notice URL signatures (same as the "
                                      "receiver); required unless --dev"),
    BEAT_OPT_DEV(&o_dev),
    {.name = "fcap-rows", .env = "BEAT_INFERENCE_FCAP_ROWS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_rows, .def = "262144", .min = 4, .max = 1 << 28,
     .help = "global frequency-cap rows kept from the supervisor's frames (about 80 bytes "
             "each; the oldest window goes first)"},
    {.name = "fcap-inflight-ms", .env = "BEAT_INFERENCE_FCAP_INFLIGHT_MS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_inflight_ms, .def = "3000", .min = 10, .max = 3600000,
     .help = "a capped bid not seen counted this long is taken as lost: at least the time "
             "from bid to win notice to the supervisor's frame (docs/campaigns.md \"freq_cap\")"},
    {.name = "fcap-stale-ms", .env = "BEAT_INFERENCE_FCAP_STALE_MS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_stale_ms, .def = "2000", .min = 100, .max = 3600000,
     .help = "no complete frequency-cap frame for this long: caps use this node's own "
             "counts until one comes"},
    {.name = "max-state-age-ms", .env = "BEAT_INFERENCE_MAX_STATE_AGE_MS",
     .type = BEAT_OPT_INT, .dst = &o_max_state_age_ms, .def = "600000", .min = 1000,
     .max = 86400000,
     .help = "no bids while the pacing state is older than this: how long a node keeps pacing "
             "on the last multipliers while the actuator or supervisor is away (budget leases, "
             "not this, bound the money)"},
    BEAT_OPT_CLOCK_SKEW(&o_clock_skew_ms),
    {.name = "max-model-bytes", .env = "BEAT_INFERENCE_MAX_MODEL_BYTES",
     .type = BEAT_OPT_INT, .dst = &o_max_model_bytes, .def = "67108864", .min = 65536,
     .max = 1073741824,
     .help = "largest checkpoint accepted; sizes the nng receive limit (bigger messages "
             "are dropped by nng silently)"},
    BEAT_OPT_FX(&o_rates),
    {.name = "tcf-vendor-id", .env = "BEAT_INFERENCE_TCF_VENDOR_ID",
     .type = BEAT_OPT_INT, .dst = &o_tcf_vendor_id, .def = "0", .min = 0, .max = 65535,
     .help = "our IAB TCF vendor id: under GDPR personal data is used only with this "
             "vendor's consent in the TC string; 0 (no id) bids GDPR traffic "
             "contextually (docs/privacy.md)"},
    {.name = "tcf-purposes", .env = "BEAT_INFERENCE_TCF_PURPOSES",
     .type = BEAT_OPT_STR, .dst = &o_tcf_purposes, .def = "1,3,4",
     .help = "TCF purposes that need consent before personal data is used (1 store "
             "and access, 3 and 4 personalised ads profile and selection)"},
    {.name = "tmax-reserve-ms", .env = "BEAT_INFERENCE_TMAX_RESERVE_MS",
     .type = BEAT_OPT_INT, .dst = &o_tmax_reserve_ms, .def = "5", .min = 0, .max = 1000,
     .help = "time kept for the network out of a request's tmax: when less than this is "
             "left of tmax since the request arrived, answer no-bid (204)"},
    {.name = "open", .env = "BEAT_INFERENCE_OPEN",
     .type = BEAT_OPT_BOOL, .dst = &o_open, .def = "false",
     .help = "development only: answer bid requests from anyone, without exchange "
             "authentication or QPS caps (docs/exchanges.md)"},
    {.name = "explain", .env = "BEAT_INFERENCE_EXPLAIN",
     .type = BEAT_OPT_BOOL, .dst = &o_explain, .def = "false",
     .help = "grading only: every bid answer (200 and 204) carries X-Beat-Explain with our "
             "pCTR for each candidate campaign of the first imp, which tells the exchange what "
             "we think its traffic is worth; never on a real exchange (docs/demo.md)"},
    BEAT_ALERT_OPTS(&o_alert),
    {.name = "alert-state-age-warn-s", .env = "BEAT_ALERT_STATE_AGE_WARN_S",
     .type = BEAT_OPT_DBL, .dst = &o_state_warn_s, .def = "15", .min = 0, .max = 1e7,
     .help = "warn when the pacing state is this old (0 = off)"},
    {.name = "alert-state-age-error-s", .env = "BEAT_ALERT_STATE_AGE_ERROR_S",
     .type = BEAT_OPT_DBL, .dst = &o_state_error_s, .def = "30", .min = 0, .max = 1e7,
     .help = "error when the pacing state is this old (0 = off)"},
    {.name = "alert-model-age-warn-s", .env = "BEAT_ALERT_MODEL_AGE_WARN_S",
     .type = BEAT_OPT_DBL, .dst = &o_model_warn_s, .def = "3600", .min = 0, .max = 1e7,
     .help = "warn when the model is this old (0 = off)"},
    {.name = "alert-model-age-error-s", .env = "BEAT_ALERT_MODEL_AGE_ERROR_S",
     .type = BEAT_OPT_DBL, .dst = &o_model_error_s, .def = "21600", .min = 0, .max = 1e7,
     .help = "error when the model is this old (0 = off)"},
    {.name = "name", .env = "BEAT_INFERENCE_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "inference-1",
     .help = "instance name (node id in bid logs)"},
    BEAT_OPT_SIM_CLOCK(&o_sim_clock),
    BEAT_OPT_LOG_LEVEL(&o_log_level),
    BEAT_OPT_END,
};
/* clang-format on */

static struct {
    inf_holder *holder;
    inf_bidder *bidder;
    inf_bidlog *bidlog;
    inf_sync *sync;
    inf_leases *leases;
    inf_fcap *fcap;
    beat_srccap *srccap; /* --max-conns-per-source, shared by the workers */
    inf_worker *w;
    int nw;
    inf_worker_cfg wcfg; /* what every worker shares */
    beat_loop_timer *stats_ev;
    inf_opps *opps;           /* opportunity counters, one row per worker */
    beat_loop_timer *opps_ev; /* sends them every second (on worker 0) */
} G;

/* ---- timers on worker 0 ------------------------------------------------------- */

static void stats_tick(void *arg) {
    (void)arg;
    inf_health_log_stats();
}

/* Opportunities counted since the last second, into the bid log. */
static void emit_opp(void *arg, const beat_event *ev) {
    (void)arg;
    inf_bidlog_send(G.bidlog, ev);
}

static void opps_tick(void *arg) {
    (void)arg;
    inf_opps_collect(G.opps, beat_now_ms(), o_name, emit_opp, NULL);
}

static void cleanup(void) {
    inf_sync_stop(G.sync); /* before the holder: it is the holder's writer */
    for (int i = 0; i < G.nw; i++) inf_worker_fini(&G.w[i]);
    beat_loop_timer_free(G.stats_ev);
    beat_loop_timer_free(G.opps_ev);
    inf_holder_free(G.holder);
    inf_opps_free(G.opps); /* no world or worker counts any more */
    /* After the workers and every world: the final report is exact, and no
     * campaign points at a slot any more. */
    inf_leases_stop(G.leases);
    inf_bidlog_free(G.bidlog);
    inf_bidder_free(G.bidder);
    inf_fcap_free(G.fcap);      /* after the sync thread and the workers */
    beat_srccap_free(G.srccap); /* after the workers: their connections release it */
    free(G.w);
    inf_arena_fini();
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-inference", "inference",
                       "Answers OpenRTB bid requests from the campaigns, pacing state "
                       "and CTR model kept in sync with the supervisor.",
                       opts, argc, argv, &o_log_level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-inference", o_sim_clock) != 0) return 64;
    if (beat_cfg_secret("beat-inference", "notice-secret", "BEAT_NOTICE_SECRET", &o_secret,
                        BEAT_NOTICE_DEV_SECRET, o_dev) != 0)
        return 64;
    /* Notice URLs are built on it for every bid: refuse a base the exchange
     * could not call back, rather than bid with dead notice URLs. */
    if (strncmp(o_receiver_url, "http://", 7) != 0 && strncmp(o_receiver_url, "https://", 8) != 0) {
        fprintf(stderr, "beat-inference: --receiver-url: must start with http:// or "
                        "https://\n");
        return 64;
    }
    if (!*o_name || strlen(o_name) > BEAT_ID_MAX) {
        fprintf(stderr,
                "beat-inference: --name: 1..%d bytes (it is the node id in bid "
                "logs)\n",
                BEAT_ID_MAX);
        return 64;
    }
    beat_reason why = {{0}};
    if (inf_openrtb_rates_set(o_rates, &why) != 0) {
        fprintf(stderr, "beat-inference: --currency-rates: %s\n", why.msg);
        return 64;
    }
    if (inf_privacy_config((int)o_tcf_vendor_id, o_tcf_purposes, &why) != 0) {
        fprintf(stderr, "beat-inference: --tcf-purposes: %s\n", why.msg);
        return 64;
    }
    /* Every worker's connections count against one table: the cap is per
     * address for the node, and a counted connection holds a slot, so the
     * slots of all workers (plus one being accepted in each) bound it. */
    int sc_err = 0;
    G.srccap = beat_srccap_new((int)o_max_conns_per_source, (int)(o_workers * (o_max_conns + 1)),
                               o_exempt_networks, &sc_err);
    if (!G.srccap) {
        fprintf(stderr, "beat-inference: --exempt-networks: %s\n",
                sc_err == -EINVAL ? "comma-separated IPv4 or IPv6 CIDRs with zero host bits "
                                    "(\"10.0.0.0/8,2001:db8::/32\")"
                                  : "out of memory");
        return 64;
    }
    beat_stop_install();
    beat_cfg_log(opts);
    if (o_open)
        beat_log(BEAT_WARN, "open_mode",
                 "msg=\"--open: bid requests are answered for anyone, "
                 "unauthenticated and uncapped; for development only\"");
    inf_exch_metrics_init(); /* the per-request metrics are per exchange (exchange.c) */
    inf_prof_metrics_init();
    inf_worker_metrics_init();
    inf_health_metrics_init();
    inf_privacy_metrics_init();

    G.nw = (int)o_workers;
    /* cJSON hooks before any thread parses (the sync thread starts below).
     * Slices are address space only until used; a parse that does not fit
     * falls back to malloc. */
    if (inf_arena_init(G.nw, (size_t)o_max_body * 32 + (1u << 20)) != 0)
        beat_log(BEAT_WARN, "arena_unavailable", "msg=\"parsing with malloc\"");
    inf_arena_bind(0);
    G.w = calloc((size_t)G.nw, sizeof *G.w);
    G.holder = inf_holder_new(G.nw);
    inf_fcap_cfg fcfg = {
        .rows_max = o_fcap_rows, .inflight_ms = o_fcap_inflight_ms, .stale_ms = o_fcap_stale_ms};
    G.fcap = inf_fcap_new(&fcfg);
    inf_bidder_cfg bcfg = {
        .fcap = G.fcap,
        .receiver_url = o_receiver_url,
        .secret = o_secret,
        .secret_len = strlen(o_secret),
        .node = o_name,
        .max_state_age_ms = o_max_state_age_ms,
        .explain = o_explain,
    };
    G.bidder = inf_bidder_new(&bcfg);
    if (!G.w || !G.holder || !G.bidder || !G.fcap) {
        beat_log(BEAT_FATAL, "out_of_memory", "what=startup");
        return 1;
    }
    inf_fcap_metrics_init(G.fcap);
    int rc = 0;
    inf_bidlog_cfg lcfg = {
        .url = o_bidlog,
        .sendbuf = (int)o_sendbuf,
        .queue = (int)o_bidlog_queue,
        .batch = (int)o_bidlog_batch,
    };
    G.bidlog = inf_bidlog_new(&lcfg, &rc);
    if (!G.bidlog) {
        beat_log(BEAT_FATAL, "bidlog_open_failed", "url=%s err=%d", o_bidlog, rc);
        cleanup();
        return 1;
    }
    inf_lease_cfg lscfg = {
        .url = o_lease,
        .node = o_name,
        .every_ms = (int)o_lease_every_ms,
        .timeout_ms = 500,
    };
    G.leases = inf_leases_start(&lscfg, &rc);
    if (!G.leases) {
        beat_log(BEAT_FATAL, "lease_link_failed", "url=%s err=%d", o_lease, rc);
        cleanup();
        return 1;
    }
    G.opps = inf_opps_new(G.nw, 2 * BEAT_CAMPAIGNS_MAX);
    if (!G.opps) {
        beat_log(BEAT_FATAL, "out_of_memory", "what=opps");
        cleanup();
        return 1;
    }
    inf_sync_cfg scfg = {
        .pub_url = o_pub,
        .rep_url = o_rep,
        .max_model_bytes = (size_t)o_max_model_bytes,
        .req_timeout_ms = 500,
        .silence_ms = 3000,
        .max_clock_skew_ms = o_clock_skew_ms,
        .leases = G.leases,
        .opps = G.opps,
        .fcap = G.fcap,
    };
    G.sync = inf_sync_start(&scfg, G.holder, &rc);
    if (!G.sync) {
        beat_log(BEAT_FATAL, "supervisor_link_failed", "pub=%s rep=%s err=%d", o_pub, o_rep, rc);
        cleanup();
        return 1;
    }
    inf_health_cfg hcfg = {
        .holder = G.holder,
        .leases = G.leases,
        .name = o_name,
        .workers = G.nw,
        .open = o_open,
        .max_state_age_ms = o_max_state_age_ms,
        .pub_url = o_pub,
        .bidlog_url = o_bidlog,
        .alert = &o_alert,
        .state_warn_s = o_state_warn_s,
        .state_error_s = o_state_error_s,
        .model_warn_s = o_model_warn_s,
        .model_error_s = o_model_error_s,
    };
    inf_health_set(&hcfg);
    G.wcfg = (inf_worker_cfg){
        .holder = G.holder,
        .bidder = G.bidder,
        .bidlog = G.bidlog,
        .opps = G.opps,
        .open = o_open,
        .explain = o_explain,
        .tmax_reserve_ms = o_tmax_reserve_ms,
        .listen = o_listen,
        .max_body = (size_t)o_max_body,
        .max_conns = (int)o_max_conns,
        .read_timeout_ms = (int)o_read_timeout_ms,
        .idle_timeout_ms = (int)o_idle_timeout_ms,
        .srccap = G.srccap,
        .health = inf_health_fn,
    };
    for (int i = 0; i < G.nw; i++) {
        if ((rc = inf_worker_init(&G.w[i], i, &G.wcfg, G.nw > 1)) != 0) {
            beat_log(BEAT_FATAL, "listen_failed", "listen=%s err=%d", o_listen, rc);
            G.nw = i + 1; /* fini what was (partly) set up */
            cleanup();
            return 1;
        }
    }
    G.stats_ev = beat_loop_every(G.w[0].base, 10000, stats_tick, NULL);
    G.opps_ev = beat_loop_every(G.w[0].base, 1000, opps_tick, NULL);
    beat_alert_rules *alert_rules = inf_health_alerts_start();

    int started = 1;
    for (int i = 1; i < G.nw; i++, started++)
        if (pthread_create(&G.w[i].thr, NULL, inf_worker_main, &G.w[i]) != 0) {
            /* Its socket would accept connections nobody serves: stop. */
            beat_log(BEAT_FATAL, "worker_start_failed", "worker=%d", i);
            beat_stop_request();
            break;
        }
    beat_log(BEAT_INFO, "listening",
             "listen=%s workers=%d supervisor_pub=%s "
             "supervisor_rep=%s supervisor_lease=%s receiver_bidlog=%s name=%s "
             "incarnation=%016" PRIx64,
             o_listen, started, o_pub, o_rep, o_lease, o_bidlog, o_name,
             inf_leases_incarnation(G.leases));
    event_base_dispatch(G.w[0].base);

    beat_log(BEAT_INFO, "stopping", "name=%s", o_name);
    for (int i = 1; i < started; i++) pthread_join(G.w[i].thr, NULL);
    inf_health_log_stats();
    beat_alert_rules_end(alert_rules);
    cleanup();
    beat_log(BEAT_INFO, "stopped", "name=%s", o_name);
    return 0;
}
