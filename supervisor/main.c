/* beat-supervisor: the engine's one durable store (SQLite, WAL) of campaigns,
 * pacing state and model checkpoints; HTTP for writers and readers, nng
 * pub/rep for inference (docs/architecture.md "Where state lives" and "The
 * careful link"). main wires flags, store, publisher, HTTP and the event
 * loop. Startup problems with its own config or database are fatal (exit 1);
 * nothing a peer sends ever is. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "api.h"
#include "app.h"
#include "beat_alert.h"
#include "beat_alert_rules.h"
#include "beat_cfg.h"
#include "beat_features.h"
#include "beat_http.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_loop.h"
#include "beat_seglist.h"
#include "fcap.h"
#include "publish.h"
#include "relay.h"
#include "reports.h"
#include "status.h"
#include "store.h"

static char *o_relay, *o_relay_rep, *o_lease, *o_lease_db;
static beat_strlist o_datastream;
static int64_t o_lease_horizon_s, o_lease_min_bids, o_fcap_every_ms, o_fcap_rows;
static char *o_listen, *o_db, *o_campaigns, *o_exchanges, *o_pub, *o_rep, *o_token, *o_seed,
    *o_name, *o_level;
static int64_t o_backup_s;
static double o_disk_warn, o_disk_error;
static beat_alert_opts o_alert;
static int64_t o_keep, o_max_ckpt, o_max_json, o_hash_bits, o_hb_ms, o_sendbuf;
static int64_t o_max_seg_bytes, o_max_seg_ids;
static double o_max_mult;
static bool o_dev;
static int64_t o_clock_skew_ms;

#define STR2(x) #x
#define STR(x) STR2(x)

static beat_http_limits o_http = BEAT_HTTP_LIMITS_DEFAULT;
static char *o_sim_clock; /* --sim-clock: engine time spec */
/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt OPTS[] = {
    {.name = "listen", .env = "BEAT_SUPERVISOR_LISTEN",
     .type = BEAT_OPT_STR, .dst = &o_listen, .def = "127.0.0.1:8083",
     .help = "HTTP listen address host:port"},
    {.name = "db", .env = "BEAT_SUPERVISOR_DB",
     .type = BEAT_OPT_STR, .dst = &o_db, .def = "run/supervisor.db",
     .help = "SQLite database file (parent directory created if missing)"},
    {.name = "campaigns", .env = "BEAT_CAMPAIGNS",
     .type = BEAT_OPT_STR, .dst = &o_campaigns,
     .help = "campaigns JSON file applied at start when its content changed since last applied"},
    {.name = "exchanges", .env = "BEAT_EXCHANGES",
     .type = BEAT_OPT_STR, .dst = &o_exchanges,
     .help = "exchanges JSON file (docs/exchanges.md) applied at start when its content changed "
             "since last applied"},
    {.name = "pub", .env = "BEAT_SUPERVISOR_PUB",
     .type = BEAT_OPT_STR, .dst = &o_pub, .def = "tcp://127.0.0.1:7103",
     .help = "nng PUB listen URL (snapshots, checkpoints, segment lists, heartbeats to inference)"},
    {.name = "rep", .env = "BEAT_SUPERVISOR_REP",
     .type = BEAT_OPT_STR, .dst = &o_rep, .def = "tcp://127.0.0.1:7104",
     .help = "nng REP listen URL (answers \"snapshot\" / \"checkpoint\" / \"segments\")"},
    {.name = "lease", .env = "BEAT_SUPERVISOR_LEASE",
     .type = BEAT_OPT_STR, .dst = &o_lease, .def = "tcp://127.0.0.1:7105",
     .help = "nng rep address of the budget leases inference nodes report to (docs/money.md)"},
    {.name = "lease-db", .env = "BEAT_SUPERVISOR_LEASE_DB",
     .type = BEAT_OPT_STR, .dst = &o_lease_db,
     .help = "SQLite file of the allowances granted (default: --db with \".leases\" appended); "
             "kept apart from --db so that restoring a backup of it cannot forget a grant"},
    {.name = "datastream", .env = "BEAT_DATASTREAM_URLS",
     .type = BEAT_OPT_STRLIST, .dst = &o_datastream,
     .help = "datastream base URLs whose spend ledgers settle the leases (repeatable; env: comma "
             "list); without any, leases are never settled and bidding stops once the budget's "
             "worth of bids is out"},
    {.name = "lease-horizon-s", .env = "BEAT_SUPERVISOR_LEASE_HORIZON_S",
     .type = BEAT_OPT_INT, .dst = &o_lease_horizon_s, .def = "120", .min = 1, .max = 86400,
     .help = "a node's lease covers this much of its recent bidding: how long it keeps bidding "
             "while the supervisor is away"},
    {.name = "fcap-every-ms", .env = "BEAT_SUPERVISOR_FCAP_EVERY_MS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_every_ms, .def = "250", .min = 20, .max = 60000,
     .help = "how often each --datastream's frequency-cap rows are pulled and the changes "
             "published to inference (docs/campaigns.md \"freq_cap\")"},
    {.name = "fcap-rows", .env = "BEAT_SUPERVISOR_FCAP_ROWS",
     .type = BEAT_OPT_INT, .dst = &o_fcap_rows, .def = "262144", .min = 4, .max = 1 << 28,
     .help = "frequency-cap rows kept per datastream (about 80 bytes each); the oldest "
             "window is evicted and counted when full"},
    {.name = "lease-min-bids", .env = "BEAT_SUPERVISOR_LEASE_MIN_BIDS",
     .type = BEAT_OPT_INT, .dst = &o_lease_min_bids, .def = "50", .min = 1, .max = 1000000,
     .help = "a lease covers at least this many bids at the campaign's max bid"},
    {.name = "admin-token", .env = "BEAT_ADMIN_TOKEN",
     .type = BEAT_OPT_STR, .dst = &o_token,
     .help = "Bearer token required on writes; required unless --dev (a relay takes no writes "
             "and needs none)",
     .secret = true},
    BEAT_OPT_DEV(&o_dev),
    BEAT_OPT_CLOCK_SKEW(&o_clock_skew_ms),
    {.name = "keep", .env = "BEAT_SUPERVISOR_KEEP",
     .type = BEAT_OPT_INT, .dst = &o_keep, .def = "20", .min = 1, .max = 100000,
     .help = "versions kept per kind (campaigns, states, checkpoints)"},
    {.name = "max-checkpoint-bytes", .env = "BEAT_SUPERVISOR_MAX_CHECKPOINT_BYTES",
     .type = BEAT_OPT_INT, .dst = &o_max_ckpt, .def = "67108864", .min = 1024, .max = 2147483647.0,
     .help = "largest checkpoint accepted; subscribers must set RECVMAXSZ above it + 9; pub memory"
             " is up to subscribers x pub-sendbuf x this"},
    {.name = "max-json-bytes", .env = "BEAT_SUPERVISOR_MAX_JSON_BYTES",
     .type = BEAT_OPT_INT, .dst = &o_max_json, .def = "16777216", .min = 1024, .max = 1073741824.0,
     .help = "largest campaigns or state body accepted"},
    {.name = "max-segment-bytes", .env = "BEAT_SUPERVISOR_MAX_SEGMENT_BYTES",
     .type = BEAT_OPT_INT, .dst = &o_max_seg_bytes, .def = "33554432", .min = 1024,
     .max = 1073741824.0,
     .help = "largest first-party segment list upload (PUT /v1/segments/<id>) accepted"},
    {.name = "max-segment-ids", .env = "BEAT_SUPERVISOR_MAX_SEGMENT_IDS",
     .type = BEAT_OPT_INT, .dst = &o_max_seg_ids, .def = "1000000", .min = 1,
     .max = BEAT_SEGLIST_IDS_MAX,
     .help = "user ids one segment list may hold (all lists together: at most 4000000)"},
    {.name = "max-multiplier", .env = "BEAT_SUPERVISOR_MAX_MULTIPLIER",
     .type = BEAT_OPT_DBL, .dst = &o_max_mult, .def = "10", .min = 0, .max = 1e6,
     .help = "state multipliers must be within [0, this]"},
    {.name = "hash-bits", .env = "BEAT_HASH_BITS",
     .type = BEAT_OPT_INT, .dst = &o_hash_bits, .def = STR(BEAT_HASH_BITS_DEFAULT), .min = 10,
     .max = 26,
     .help = "feature-hash bits a checkpoint must have"},
    {.name = "hash-seed", .env = "BEAT_HASH_SEED",
     .type = BEAT_OPT_STR, .dst = &o_seed,
     .help = "feature-hash seed (hex) a checkpoint must have; empty = the built-in default"},
    BEAT_ALERT_OPTS(&o_alert),
    {.name = "alert-disk-warn-pct", .env = "BEAT_ALERT_DISK_WARN_PCT",
     .type = BEAT_OPT_DBL, .dst = &o_disk_warn, .def = "90", .min = 0, .max = 100,
     .help = "warn when the database's filesystem is this % full (0 = off)"},
    {.name = "alert-disk-error-pct", .env = "BEAT_ALERT_DISK_ERROR_PCT",
     .type = BEAT_OPT_DBL, .dst = &o_disk_error, .def = "97", .min = 0, .max = 100,
     .help = "error when the database's filesystem is this % full (0 = off)"},
    {.name = "heartbeat-ms", .env = "BEAT_SUPERVISOR_HEARTBEAT_MS",
     .type = BEAT_OPT_INT, .dst = &o_hb_ms, .def = "1000", .min = 10, .max = 60000,
     .help = "heartbeat period on the pub socket"},
    {.name = "pub-sendbuf", .env = "BEAT_SUPERVISOR_PUB_SENDBUF",
     .type = BEAT_OPT_INT, .dst = &o_sendbuf, .def = "16", .min = 1, .max = 8192,
     .help = "messages buffered per subscriber before the pub socket drops"},
    {.name = "backup-every-s", .env = "BEAT_SUPERVISOR_BACKUP_EVERY_S",
     .type = BEAT_OPT_INT, .dst = &o_backup_s, .def = "3600", .min = 0, .max = 604800,
     .help = "online backup of the database to DB.bak at start and then every this many"
             " seconds when something changed (0 = never); named when the db is found corrupt"},
    {.name = "relay-from", .env = "BEAT_SUPERVISOR_RELAY_FROM",
     .type = BEAT_OPT_STR, .dst = &o_relay,
     .help = "primary's nng PUB URL: run as a read-only relay (no database; writes get 403)"},
    {.name = "relay-rep", .env = "BEAT_SUPERVISOR_RELAY_REP",
     .type = BEAT_OPT_STR, .dst = &o_relay_rep,
     .help = "primary's nng REP URL (required with --relay-from)"},
    {.name = "name", .env = "BEAT_SUPERVISOR_NAME",
     .type = BEAT_OPT_STR, .dst = &o_name, .def = "supervisor-1",
     .help = "instance name"},
    BEAT_HTTP_OPTS(o_http),
    BEAT_OPT_SIM_CLOCK(&o_sim_clock),
    BEAT_OPT_LOG_LEVEL(&o_level),
    BEAT_OPT_END,
};
/* clang-format on */

static _Noreturn void die(const char *ev, const char *msg) {
    fprintf(stderr, "beat-supervisor: %s\n", msg);
    beat_log(BEAT_FATAL, ev, "reason=\"%s\"", msg);
    exit(1);
}

static char *backup_path; /* o_db + ".bak" */
static uint64_t backup_writes = UINT64_MAX;

/* Runs on the main loop: blocks it for the copy (bounded by the db size,
 * i.e. --keep x the largest objects). Failure is logged, never fatal. */
static void backup_now(void *arg) {
    sup_store *st = arg;
    if (sup_store_writes(st) == backup_writes) return;
    beat_reason why = {{0}};
    int64_t t0 = beat_mono_us();
    int rc = sup_store_backup(st, backup_path, &why);
    if (rc) {
        beat_log(BEAT_ERROR, "backup_failed", "path=%s err=%d reason=\"%s\"", backup_path, rc,
                 why.msg);
        return;
    }
    backup_writes = sup_store_writes(st);
    beat_log(BEAT_INFO, "backup_done", "path=%s ms=%.1f", backup_path,
             (double)(beat_mono_us() - t0) / 1000.0);
}

/* The fatal message on a corrupt db: where the last good backup is. */
static void corrupt_msg(char *msg, size_t n, const char *why) {
    beat_reason bw = {{0}};
    struct stat sb;
    int rc = sup_store_check_file(backup_path, &bw);
    char when[32] = "?";
    if (rc == 0 && stat(backup_path, &sb) == 0) {
        struct tm tm;
        gmtime_r(&sb.st_mtime, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (rc == 0)
        snprintf(msg, n,
                 "database %s is corrupt (%s); last good backup: %s (taken %s, passes"
                 " integrity_check): move %s aside and copy the backup in its place",
                 o_db, why, backup_path, when, o_db);
    else
        snprintf(msg, n,
                 "database %s is corrupt (%s); no good backup at %s (%s): move it"
                 " aside and restore one from elsewhere, or start with a new --db",
                 o_db, why, backup_path, bw.msg);
}

static char *db_dir; /* directory of o_db, for statvfs */

/* Evaluator thread: one statvfs, no locks. NaN (unknown) on failure. */
static double disk_used_pct(void *arg) {
    (void)arg;
    struct statvfs v;
    if (statvfs(db_dir, &v) != 0 || v.f_blocks == 0) return NAN;
    return 100.0 * (1.0 - (double)v.f_bavail / (double)v.f_blocks);
}

static beat_alert_rules *start_rules(beat_alert *a) {
    char what[300];
    snprintf(what, sizeof what, "filesystem of %s used", o_db);
    beat_alert_rule rules[] = {
        {.name = "disk_full",
         .what = what,
         .unit = "%",
         .kind = BEAT_RULE_VALUE,
         .value = disk_used_pct,
         .warn = o_disk_warn,
         .error = o_disk_error},
    };
    return beat_alert_rules_start(a, rules, 1, o_alert.eval_ms);
}

/* Ages of the current objects, computed at scrape time. /metrics is served
 * by the main loop, the only thread that may read the app (app.h). */
static sup_app *g_app;
static const char *const AGE_KEY[] = {"campaigns_ts", "state_ts", "model_ts"};

static double age_s(void *key) {
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    double age = -1;
    if (g_app && sup_app_versions_json(g_app, &b) == 0) {
        cJSON *j = cJSON_ParseWithLength(b.data, b.len);
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, *(const char *const *)key);
        if (cJSON_IsNumber(ts) && ts->valuedouble > 0)
            age = ((double)beat_now_ms() - ts->valuedouble) / 1000.0;
        cJSON_Delete(j);
    }
    beat_buf_fini(&b);
    return age;
}

static void age_gauges(sup_app *app) {
    g_app = app;
    beat_gauge_fn_new("beat_supervisor_campaigns_age_seconds",
                      "Time since the current campaign set was stored; -1 if none", age_s,
                      (void *)&AGE_KEY[0]);
    beat_gauge_fn_new("beat_supervisor_state_age_seconds",
                      "Time since the current pacing state was stored; -1 if none", age_s,
                      (void *)&AGE_KEY[1]);
    beat_gauge_fn_new("beat_supervisor_model_age_seconds",
                      "Time since the current checkpoint was stored; -1 if none", age_s,
                      (void *)&AGE_KEY[2]);
}

static void on_stats(void *arg) { sup_app_stats(arg); }

static int parse_seed(const char *s, uint64_t *out) {
    if (!s || !*s) return -EINVAL;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (errno || !end || *end || end == s || strlen(s) > 16) return -EINVAL;
    *out = v;
    return 0;
}

/* The largest frame a relay takes from its primary: a checkpoint, a
 * snapshot or the segment lists, plus frame overhead. */
static size_t relay_recvmax(const sup_cfg *cfg) {
    size_t m =
        cfg->max_ckpt_bytes > cfg->max_json_bytes ? cfg->max_ckpt_bytes : cfg->max_json_bytes;
    if (m < BEAT_SEGLISTS_FRAME_MAX) m = BEAT_SEGLISTS_FRAME_MAX;
    return m + 4096;
}

/* Relay mode: no database, no writes; frames come from the primary. */
static int run_relay(const sup_cfg *cfg) {
    char msg[512];
    int rc = 0;
    sup_pub_cfg pc = {.pub_url = o_pub,
                      .rep_url = o_rep,
                      .sendbuf = (int)o_sendbuf,
                      .heartbeat_ms = (int)o_hb_ms};
    sup_pub *pub = sup_pub_new(&pc, &rc);
    if (!pub) {
        snprintf(msg, sizeof msg, "cannot listen on nng pub %s / rep %s (err %d)", o_pub, o_rep,
                 rc);
        die("nng_listen_failed", msg);
    }
    sup_relay_cfg rcfg = {.pub_url = o_relay,
                          .rep_url = o_relay_rep,
                          .recvmax = relay_recvmax(cfg),
                          .heartbeat_ms = (int)o_hb_ms};
    sup_relay *r = sup_relay_new(&rcfg, pub, &rc);
    if (!r) die("relay_start_failed", "cannot open the relay's nng sockets");
    struct event_base *base = event_base_new();
    if (!base) die("start_failed", "event_base_new failed");
    /* The primary's body limit, so a writer pointed here by mistake gets
     * the 403 that explains it rather than a 413. */
    size_t max_body =
        cfg->max_ckpt_bytes > cfg->max_json_bytes ? cfg->max_ckpt_bytes : cfg->max_json_bytes;
    beat_http *http = beat_http_new_lim(base, o_listen, max_body, false, &o_http, &rc);
    if (!http) {
        snprintf(msg, sizeof msg, "cannot listen on %s: %s", o_listen, strerror(-rc));
        die("listen_failed", msg);
    }
    sup_relay_routes(http, r);
    sup_status_route(http);
    beat_loop_timer *stop_ev = beat_loop_stop_watch(base);
    if (!stop_ev) die("start_failed", "event_new failed");
    beat_log(BEAT_INFO, "started", "name=%s listen=%s pub=%s rep=%s relay_from=%s relay_rep=%s",
             o_name, o_listen, o_pub, o_rep, o_relay, o_relay_rep);
    event_base_dispatch(base);
    beat_log(BEAT_INFO, "stopping", "name=%s", o_name);
    beat_loop_timer_free(stop_ev);
    beat_http_free(http);
    sup_relay_free(r);
    sup_pub_free(pub);
    event_base_free(base);
    beat_log(BEAT_INFO, "stopped", "name=%s", o_name);
    return 0;
}

int main(int argc, char **argv) {
    if (beat_cfg_start("beat-supervisor", "supervisor",
                       "Stores campaigns, pacing state and model checkpoints; serves them over "
                       "HTTP and publishes them to inference over nng.",
                       OPTS, argc, argv, &o_level) != 0)
        return 64;
    if (beat_cfg_sim_clock("beat-supervisor", o_sim_clock) != 0) return 64;
    sup_cfg cfg = {
        .max_ckpt_bytes = (size_t)o_max_ckpt,
        .max_json_bytes = (size_t)o_max_json,
        .max_multiplier = o_max_mult,
        .max_clock_skew_ms = o_clock_skew_ms,
        .hash_bits = (uint32_t)o_hash_bits,
    };
    cfg.hash_seed = BEAT_HASH_SEED_DEFAULT;
    if (o_seed && *o_seed && parse_seed(o_seed, &cfg.hash_seed) != 0) {
        fprintf(stderr, "beat-supervisor: --hash-seed: not a 64-bit hex value \"%s\"\n", o_seed);
        return 64;
    }
    bool relay = o_relay && *o_relay;
    if (relay && !(o_relay_rep && *o_relay_rep)) {
        fprintf(stderr, "beat-supervisor: --relay-from needs --relay-rep\n");
        return 64;
    }
    /* A relay answers every write 403: only a primary needs the token. */
    if (!relay && beat_cfg_secret("beat-supervisor", "admin-token", "BEAT_ADMIN_TOKEN", &o_token,
                                  NULL, o_dev) != 0)
        return 64;
    beat_cfg_log(OPTS);
    beat_stop_install();
    if (relay) return run_relay(&cfg);

    char msg[512];
    sup_store *st = NULL;
    beat_reason why = {{0}};
    int rc = sup_store_open(o_db, (int)o_keep, &st, &why);
    if (asprintf(&backup_path, "%s.bak", o_db) < 0) die("start_failed", "out of memory");
    if (rc == -EBADMSG) {
        corrupt_msg(msg, sizeof msg, why.msg);
        die("db_corrupt", msg);
    }
    if (rc) {
        snprintf(msg, sizeof msg, "cannot open database %s: %s", o_db, why.msg);
        die("db_open_failed", msg);
    }

    sup_pub_cfg pc = {.pub_url = o_pub,
                      .rep_url = o_rep,
                      .sendbuf = (int)o_sendbuf,
                      .heartbeat_ms = (int)o_hb_ms};
    sup_pub *pub = sup_pub_new(&pc, &rc);
    if (!pub) {
        snprintf(msg, sizeof msg, "cannot listen on nng pub %s / rep %s (err %d)", o_pub, o_rep,
                 rc);
        die("nng_listen_failed", msg);
    }
    sup_app *app = sup_app_new(&cfg, st, pub);
    if (!app) die("start_failed", "out of memory");
    char *lease_db = NULL;
    if (o_lease_db && *o_lease_db) lease_db = strdup(o_lease_db);
    else if (asprintf(&lease_db, "%s.leases", o_db) < 0) lease_db = NULL;
    if (!lease_db) die("start_failed", "out of memory");
    sup_banker_cfg bcfg = {
        .lease_url = o_lease,
        .db_path = lease_db,
        .bank = {.horizon_s = (int)o_lease_horizon_s, .min_lease_bids = (int)o_lease_min_bids},
        .ledger_urls = (const char *const *)o_datastream.v,
        .n_ledger = o_datastream.n,
    };
    sup_banker *banker = sup_banker_new(&bcfg, &rc);
    if (!banker) {
        snprintf(msg, sizeof msg, "cannot start budget leases on %s with %s (err %d)", o_lease,
                 lease_db, rc);
        die("lease_start_failed", msg);
    }
    if (o_datastream.n == 0)
        beat_log(BEAT_WARN, "no_ledger", "msg=\"no --datastream: leases are never settled\"");
    sup_app_set_banker(app, banker);
    sup_fcap_cfg fcfg = {.urls = (const char *const *)o_datastream.v,
                         .n_urls = o_datastream.n,
                         .every_ms = o_fcap_every_ms,
                         .rows_max = o_fcap_rows,
                         .timeout_ms = 1000};
    sup_fcap *fcap = sup_fcap_new(&fcfg, pub);
    if (!fcap) die("start_failed", "cannot start the frequency-cap puller");
    /* Rejected writes alert (BEAT_ALERT_WEBHOOK; unset = tracked, not posted). */
    beat_alert *alert = beat_alert_opts_new(&o_alert, o_name);
    if (!alert) die("start_failed", "cannot start alerts");
    sup_app_set_alert(app, alert);
    age_gauges(app);
    char *dbcopy = strdup(o_db);
    db_dir = dbcopy ? strdup(dirname(dbcopy)) : NULL;
    free(dbcopy);
    beat_alert_rules *rules = db_dir ? start_rules(alert) : NULL;
    if (!rules) die("start_failed", "cannot start alert rules");
    if (sup_app_load(app) != 0) {
        snprintf(msg, sizeof msg, "cannot read database %s", o_db);
        die("db_read_failed", msg);
    }
    if (o_campaigns && *o_campaigns) {
        if ((rc = sup_app_load_campaigns_file(app, o_campaigns, &why)) != 0)
            die("campaigns_file_invalid", why.msg);
    }
    if (o_exchanges && *o_exchanges &&
        sup_exch_load_file(sup_app_exchanges(app), o_exchanges, &why) != 0)
        die("exchanges_file_invalid", why.msg);
    sup_segs *segs = sup_segs_new(st, pub, (uint32_t)o_max_seg_ids, &rc);
    if (!segs) {
        snprintf(msg, sizeof msg, "cannot read segment lists from %s (err %d)", o_db, rc);
        die("db_read_failed", msg);
    }

    struct event_base *base = event_base_new();
    if (!base) die("start_failed", "event_base_new failed");
    size_t max_body =
        cfg.max_ckpt_bytes > cfg.max_json_bytes ? cfg.max_ckpt_bytes : cfg.max_json_bytes;
    beat_http *http = beat_http_new_lim(base, o_listen, max_body, false, &o_http, &rc);
    if (!http) {
        snprintf(msg, sizeof msg, "cannot listen on %s: %s", o_listen, strerror(-rc));
        die("listen_failed", msg);
    }
    sup_api *api = sup_api_new(http, app, o_token, &cfg);
    if (!api) die("start_failed", "out of memory");
    sup_api_segments(api, http, segs, (size_t)o_max_seg_bytes);
    sup_status_route(http);
    sup_reports_cfg rpcfg = {.urls = (const char *const *)o_datastream.v, .n_urls = o_datastream.n};
    sup_reports *reports = sup_reports_new(&rpcfg);
    if (!reports) die("start_failed", "out of memory");
    sup_reports_route(http, reports);

    beat_loop_timer *stop_ev = beat_loop_stop_watch(base);
    beat_loop_timer *stats_ev = beat_loop_every(base, 10000, on_stats, app);
    beat_loop_timer *backup_ev = NULL;
    if (o_backup_s > 0) {
        backup_now(st); /* the db just passed integrity_check */
        backup_ev = beat_loop_every(base, o_backup_s * 1000, backup_now, st);
    }
    if (!stop_ev || !stats_ev || (o_backup_s > 0 && !backup_ev))
        die("start_failed", "event_new failed");
    beat_log(BEAT_INFO, "started",
             "name=%s listen=%s pub=%s rep=%s db=%s campaigns_version=%lld state_version=%lld"
             " model_version=%lld",
             o_name, o_listen, o_pub, o_rep, o_db, (long long)sup_app_version(app, 0),
             (long long)sup_app_version(app, 1), (long long)sup_app_version(app, 2));

    event_base_dispatch(base);

    beat_log(BEAT_INFO, "stopping", "name=%s", o_name);
    beat_loop_timer_free(stop_ev);
    beat_loop_timer_free(stats_ev);
    beat_loop_timer_free(backup_ev);
    sup_api_free(api);
    beat_http_free(http);
    sup_fcap_free(fcap); /* before the pub socket it sends on */
    sup_reports_free(reports);
    sup_pub_free(pub);
    beat_alert_rules_stop(rules);
    free(db_dir);
    g_app = NULL;
    sup_app_free(app);
    sup_segs_free(segs);
    sup_banker_free(banker);
    free(lease_db);
    beat_alert_flush(alert, 2000);
    beat_alert_free(alert);
    sup_store_close(st);
    event_base_free(base);
    free(backup_path);
    beat_log(BEAT_INFO, "stopped", "name=%s", o_name);
    return 0;
}
