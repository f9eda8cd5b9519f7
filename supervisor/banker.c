/* Banker I/O (banker.h). One mutex guards the bank, the ledger table and
 * the db connection; the rep thread holds it for one report (decode
 * outside, arithmetic and the db write inside), the ledger thread for one
 * merge (HTTP outside). A grant is sent only after the allowance it carries
 * is committed to SQLite; if the write fails the node is told 'E' and the
 * allowance, already counted in memory, is simply never used (safe side). */
#include "banker.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

#include "beat_httpc.h"
#include "beat_ledger.h"
#include "beat_lease.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"

#define REPORT_MAX (2 * BEAT_CAMPAIGNS_MAX)
#define REPORT_RECVMAX ((size_t)REPORT_MAX * (BEAT_ID_MAX + 40) + 4096)
#define LEDGER_BODY_MAX ((size_t)64 << 20)

static const char LEASE_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS allowances(node TEXT NOT NULL, inc INTEGER NOT NULL,"
    " campaign TEXT NOT NULL, granted_cpm INTEGER NOT NULL, used_cpm INTEGER NOT NULL,"
    " final INTEGER NOT NULL, ts_ms INTEGER NOT NULL, PRIMARY KEY(node, inc, campaign));"
    "CREATE TABLE IF NOT EXISTS ledger(p INTEGER NOT NULL, campaign TEXT NOT NULL,"
    " seq INTEGER NOT NULL, spend_cpm INTEGER NOT NULL, released_cpm INTEGER NOT NULL,"
    " PRIMARY KEY(p, campaign));"
    /* a campaign's current day (bank.h "Day accounts"), in CPM micros */
    "CREATE TABLE IF NOT EXISTS days(campaign TEXT PRIMARY KEY, day INTEGER NOT NULL,"
    " start_ms INTEGER NOT NULL, base_cpm INTEGER NOT NULL, share_cpm INTEGER NOT NULL,"
    " carry_cpm INTEGER NOT NULL);";

typedef struct lpart {
    int32_t p;
    int64_t seq;
    int n;
    beat_ledger_row *rows; /* owned */
} lpart;

struct sup_banker {
    sup_banker_cfg cfg;
    char **urls;
    sup_bank *bank;
    pthread_mutex_t mu;
    sqlite3 *db;
    nng_socket rep;
    bool rep_open;
    pthread_t rep_thr, ledger_thr;
    bool rep_started, ledger_started;
    atomic_bool stop;
    lpart *parts;
    int n_parts;
    bool *full; /* per ledger URL */
    int64_t *ledger_ok_ms;
    beat_counter *reports, *refused, *store_failures, *ledger_failures, *daily_stops;
    int64_t daily_stops_seen; /* sup_bank_daily_stops at the last report */
};

/* ---- db ------------------------------------------------------------------ */

static int db_exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        beat_log_rl(5000, BEAT_ERROR, "lease_db_failed", "sql=\"%.40s\" err=\"%s\"", sql,
                    err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

/* One parameter of db_put: text when s is set, else the integer i. */
typedef struct db_val {
    const char *s;
    int64_t i;
} db_val;

/* Runs one write statement with v[0..n) bound to its parameters in order:
 * 0, or -EIO (the caller's transaction rolls back). */
static int db_put(sqlite3 *db, const char *sql, const db_val *v, int n) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    for (int k = 0; rc == SQLITE_OK && k < n; k++)
        rc = v[k].s ? sqlite3_bind_text(st, k + 1, v[k].s, -1, SQLITE_STATIC)
                    : sqlite3_bind_int64(st, k + 1, v[k].i);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int save_row(void *arg, const sup_bank_row *r) {
    const db_val v[] = {{.s = r->node},        {.i = (int64_t)r->inc}, {.s = r->campaign},
                        {.i = r->granted_cpm}, {.i = r->used_cpm},     {.i = r->final},
                        {.i = r->ts_ms}};
    return db_put(arg, "INSERT OR REPLACE INTO allowances VALUES(?,?,?,?,?,?,?)", v, 7);
}

static int save_day(void *arg, const char *campaign, const beat_daily *d) {
    const db_val v[] = {{.s = campaign}, {.i = d->day},   {.i = d->start_ms},
                        {.i = d->base},  {.i = d->share}, {.i = d->carry}};
    return db_put(arg, "INSERT OR REPLACE INTO days VALUES(?,?,?,?,?,?)", v, 6);
}

/* Writes every dirty allowance and day account in one transaction; the bank
 * forgets they were dirty only once the COMMIT is through. Caller holds mu. */
static int persist(sup_banker *b) {
    if (db_exec(b->db, "BEGIN IMMEDIATE")) return -EIO;
    if (sup_bank_flush(b->bank, save_row, b->db) != 0 ||
        sup_bank_flush_days(b->bank, save_day, b->db) != 0 || db_exec(b->db, "COMMIT")) {
        db_exec(b->db, "ROLLBACK");
        beat_counter_inc(b->store_failures);
        return -EIO;
    }
    sup_bank_clean(b->bank);
    return 0;
}

static int restore(sup_banker *b) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(b->db,
                                "SELECT node, inc, campaign, granted_cpm, used_cpm, final, ts_ms"
                                " FROM allowances",
                                -1, &st, NULL);
    int n = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        sup_bank_row r = {.node = (const char *)sqlite3_column_text(st, 0),
                          .inc = (uint64_t)sqlite3_column_int64(st, 1),
                          .campaign = (const char *)sqlite3_column_text(st, 2),
                          .granted_cpm = sqlite3_column_int64(st, 3),
                          .used_cpm = sqlite3_column_int64(st, 4),
                          .final = sqlite3_column_int(st, 5) != 0,
                          .ts_ms = sqlite3_column_int64(st, 6)};
        if (!r.node || !r.campaign || sup_bank_restore(b->bank, &r) != 0) break;
        n++;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return -EIO;
    rc = sqlite3_prepare_v2(
        b->db, "SELECT campaign, day, start_ms, base_cpm, share_cpm, carry_cpm FROM days", -1, &st,
        NULL);
    int days = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        beat_daily d = {.set = true,
                        .day = sqlite3_column_int64(st, 1),
                        .start_ms = sqlite3_column_int64(st, 2),
                        .base = sqlite3_column_int64(st, 3),
                        .share = sqlite3_column_int64(st, 4),
                        .carry = sqlite3_column_int64(st, 5)};
        if (!id || sup_bank_restore_day(b->bank, id, &d) != 0) break;
        days++;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return -EIO;
    beat_log(BEAT_INFO, "allowances_restored", "rows=%d days=%d", n, days);
    return 0;
}

/* ---- ledger ------------------------------------------------------------------ */

static int cmp_row(const void *x, const void *y) {
    return strcmp(((const beat_ledger_row *)x)->id, ((const beat_ledger_row *)y)->id);
}

/* Totals per campaign over every partition, into the bank. Caller holds mu. */
static void push_totals(sup_banker *b) {
    int n = 0;
    for (int i = 0; i < b->n_parts; i++) n += b->parts[i].n;
    beat_ledger_row *all = n ? malloc((size_t)n * sizeof *all) : NULL;
    if (n && !all) return; /* stale totals are the safe side (docs/money.md) */
    n = 0;
    for (int i = 0; i < b->n_parts; i++)
        for (int k = 0; k < b->parts[i].n; k++) all[n++] = b->parts[i].rows[k];
    qsort(all, (size_t)n, sizeof *all, cmp_row);
    for (int i = 0; i < n;) {
        int64_t s = 0, r = 0;
        int j = i;
        for (; j < n && strcmp(all[j].id, all[i].id) == 0; j++) {
            s += all[j].spend_cpm;
            r += all[j].released_cpm;
        }
        sup_bank_set_ledger(b->bank, all[i].id, s, r);
        i = j;
    }
    free(all);
    bool hold = false;
    for (int i = 0; i < b->cfg.n_ledger; i++) hold = hold || b->full[i];
    sup_bank_hold(b->bank, hold);
}

static lpart *part_of(sup_banker *b, int32_t p) {
    for (int i = 0; i < b->n_parts; i++)
        if (b->parts[i].p == p) return &b->parts[i];
    lpart *np = realloc(b->parts, (size_t)(b->n_parts + 1) * sizeof *np);
    if (!np) return NULL;
    b->parts = np;
    lpart *x = &b->parts[b->n_parts++];
    memset(x, 0, sizeof *x);
    x->p = p;
    x->seq = -1;
    return x;
}

static void save_part(sup_banker *b, const lpart *x) {
    if (db_exec(b->db, "BEGIN IMMEDIATE")) return;
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(b->db, "INSERT OR REPLACE INTO ledger VALUES(?,?,?,?,?)", -1, &st, NULL);
    for (int k = 0; rc == SQLITE_OK && k < x->n; k++) {
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, x->p);
        sqlite3_bind_text(st, 2, x->rows[k].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, x->seq);
        sqlite3_bind_int64(st, 4, x->rows[k].spend_cpm);
        sqlite3_bind_int64(st, 5, x->rows[k].released_cpm);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK || db_exec(b->db, "COMMIT")) db_exec(b->db, "ROLLBACK");
}

/* Keeps each partition's answer with the highest seq. Caller holds mu. */
static void merge(sup_banker *b, int url, beat_ledger *l) {
    b->full[url] = l->store_full;
    for (int i = 0; i < l->n; i++) {
        beat_ledger_part *in = &l->parts[i];
        lpart *x = part_of(b, in->p);
        if (!x || in->seq <= x->seq) continue;
        free(x->rows);
        x->rows = in->rows; /* moved */
        x->n = in->n;
        x->seq = in->seq;
        in->rows = NULL;
        in->n = 0;
        save_part(b, x);
    }
    push_totals(b);
}

static int load_ledger(sup_banker *b) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        b->db, "SELECT p, campaign, seq, spend_cpm, released_cpm FROM ledger", -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        lpart *x = part_of(b, sqlite3_column_int(st, 0));
        const char *id = (const char *)sqlite3_column_text(st, 1);
        beat_ledger_row *nr = x ? realloc(x->rows, (size_t)(x->n + 1) * sizeof *nr) : NULL;
        if (!nr || !id) break;
        x->rows = nr;
        snprintf(nr[x->n].id, sizeof nr[x->n].id, "%s", id);
        nr[x->n].spend_cpm = sqlite3_column_int64(st, 3);
        nr[x->n].released_cpm = sqlite3_column_int64(st, 4);
        x->n++;
        if (sqlite3_column_int64(st, 2) > x->seq) x->seq = sqlite3_column_int64(st, 2);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return -EIO;
    push_totals(b);
    return 0;
}

static void nap(sup_banker *b, int ms) {
    for (; ms > 0 && !atomic_load(&b->stop); ms -= 50)
        nanosleep(&(struct timespec){.tv_nsec = (ms > 50 ? 50 : ms) * 1000000L}, NULL);
}

static void *ledger_main(void *arg) {
    sup_banker *b = arg;
    beat_httpc *hc = beat_httpc_new(b->cfg.ledger_timeout_ms);
    beat_buf resp;
    beat_buf_init(&resp, LEDGER_BODY_MAX);
    while (hc && !atomic_load(&b->stop)) {
        for (int i = 0; i < b->cfg.n_ledger && !atomic_load(&b->stop); i++) {
            char url[600];
            snprintf(url, sizeof url, "%s/v1/ledger", b->urls[i]);
            long status = 0;
            int rc = beat_httpc_get(hc, url, &resp, &status);
            beat_ledger l;
            beat_reason why = {{0}};
            if (rc == 0 && status == 200)
                rc = beat_ledger_decode(resp.data, resp.len, REPORT_MAX, &l, &why);
            else if (rc == 0) rc = -EPROTO;
            if (rc) {
                beat_counter_inc(b->ledger_failures);
                beat_log_rl(5000, BEAT_WARN, "ledger_unreachable",
                            "peer=%s err=%d status=%ld reason=\"%s\"", b->urls[i], rc, status,
                            why.msg);
                continue;
            }
            pthread_mutex_lock(&b->mu);
            merge(b, i, &l);
            b->ledger_ok_ms[i] = beat_now_ms();
            pthread_mutex_unlock(&b->mu);
            beat_ledger_fini(&l);
        }
        nap(b, b->cfg.ledger_every_ms);
    }
    beat_buf_fini(&resp);
    beat_httpc_free(hc);
    return NULL;
}

/* ---- lease socket --------------------------------------------------------------- */

static void reply(sup_banker *b, const void *data, size_t len) {
    nng_msg *m = NULL;
    if (nng_msg_alloc(&m, 0) != 0) return;
    if (nng_msg_append(m, data, len) != 0 || nng_sendmsg(b->rep, m, 0) != 0) nng_msg_free(m);
}

static void refuse(sup_banker *b, const char *reason) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%c%s", BEAT_FRAME_ERROR, reason);
    beat_counter_inc(b->refused);
    reply(b, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
}

static void handle(sup_banker *b, const void *data, size_t len, beat_buf *out) {
    beat_lease_msg rep, g;
    beat_reason why = {{0}};
    if (beat_lease_decode(data, len, BEAT_FRAME_LEASE_REPORT, REPORT_MAX, &rep, &why) != 0) {
        beat_log_rl(5000, BEAT_WARN, "lease_report_refused", "reason=\"%s\"", why.msg);
        refuse(b, why.msg);
        return;
    }
    beat_counter_inc(b->reports);
    pthread_mutex_lock(&b->mu);
    int rc = sup_bank_report(b->bank, &rep, beat_now_ms(), &g);
    if (rc == 0 && persist(b) != 0) {
        beat_lease_fini(&g);
        rc = -EIO;
    }
    int64_t stops = sup_bank_daily_stops(b->bank);
    if (stops > b->daily_stops_seen)
        beat_counter_add(b->daily_stops, (uint64_t)(stops - b->daily_stops_seen));
    b->daily_stops_seen = stops;
    pthread_mutex_unlock(&b->mu);
    if (rep.final && rc == 0)
        beat_log(BEAT_INFO, "lease_goodbye", "node=%s inc=%016" PRIx64, rep.node, rep.inc);
    beat_lease_fini(&rep);
    if (rc) {
        refuse(b, rc == -EINVAL ? "this incarnation said goodbye"
                  : rc == -EIO  ? "allowance store failed"
                                : "out of memory");
        return;
    }
    beat_buf_reset(out);
    rc = beat_lease_encode(&g, out);
    beat_lease_fini(&g);
    if (rc) refuse(b, "grant too large");
    else reply(b, out->data, out->len);
}

static void *lease_rep_main(void *arg) {
    sup_banker *b = arg;
    beat_buf out;
    beat_buf_init(&out, REPORT_RECVMAX);
    while (!atomic_load(&b->stop)) {
        void *buf = NULL;
        size_t sz = 0;
        int rv = nng_recv(b->rep, &buf, &sz, NNG_FLAG_ALLOC);
        if (rv == NNG_ETIMEDOUT) continue;
        if (rv != 0) {
            if (rv == NNG_ECLOSED) break;
            continue;
        }
        handle(b, buf, sz, &out);
        nng_free(buf, sz);
    }
    beat_buf_fini(&out);
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------------- */

sup_banker *sup_banker_new(const sup_banker_cfg *cfg, int *err) {
    sup_banker *b = calloc(1, sizeof *b);
    if (!b) {
        *err = -ENOMEM;
        return NULL;
    }
    b->cfg = *cfg;
    pthread_mutex_init(&b->mu, NULL);
    if (b->cfg.ledger_every_ms <= 0) b->cfg.ledger_every_ms = 500;
    if (b->cfg.ledger_timeout_ms <= 0) b->cfg.ledger_timeout_ms = 1000;
    b->urls = calloc((size_t)cfg->n_ledger + 1, sizeof *b->urls);
    b->full = calloc((size_t)cfg->n_ledger + 1, sizeof *b->full);
    b->ledger_ok_ms = calloc((size_t)cfg->n_ledger + 1, sizeof *b->ledger_ok_ms);
    b->bank = sup_bank_new(&cfg->bank);
    int rc = b->urls && b->full && b->ledger_ok_ms && b->bank ? 0 : -ENOMEM;
    for (int i = 0; !rc && i < cfg->n_ledger; i++)
        if (!(b->urls[i] = strdup(cfg->ledger_urls[i]))) rc = -ENOMEM;
    b->reports = beat_counter_new("beat_supervisor_lease_reports_total",
                                  "Lease reports from inference nodes answered with a grant.");
    b->refused =
        beat_counter_new("beat_supervisor_lease_refused_total",
                         "Lease reports refused (unreadable, goodbye said, store failed).");
    b->store_failures = beat_counter_new("beat_supervisor_lease_store_failures_total",
                                         "Allowance writes that failed (no grant was sent).");
    b->ledger_failures = beat_counter_new("beat_supervisor_ledger_failures_total",
                                          "Datastream ledger reads that failed.");
    b->daily_stops = beat_counter_labeled(
        "beat_supervisor_lease_withheld_total",
        "Lease grants withheld from a node that asked for more, by reason (daily_budget: the "
        "campaign committed its day's budget; granting resumes the next local day).",
        "reason", "daily_budget");
    if (!rc && sqlite3_open_v2(cfg->db_path, &b->db,
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                               NULL) != SQLITE_OK) {
        beat_log(BEAT_ERROR, "lease_db_open_failed", "path=%s err=\"%s\"", cfg->db_path,
                 b->db ? sqlite3_errmsg(b->db) : "out of memory");
        rc = -EIO;
    }
    if (!rc) {
        sqlite3_busy_timeout(b->db, 5000);
        if (db_exec(b->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") ||
            db_exec(b->db, LEASE_SCHEMA) || restore(b) || load_ledger(b))
            rc = -EIO;
    }
    if (!rc && (rc = beat_nng_rep_open(&b->rep, cfg->lease_url, REPORT_RECVMAX)) == 0) {
        b->rep_open = true;
        nng_socket_set_ms(b->rep, NNG_OPT_RECVTIMEO, 200);
        nng_socket_set_ms(b->rep, NNG_OPT_SENDTIMEO, 2000);
    }
    if (!rc && pthread_create(&b->rep_thr, NULL, lease_rep_main, b) != 0) rc = -EAGAIN;
    if (!rc) b->rep_started = true;
    if (!rc && cfg->n_ledger > 0 && pthread_create(&b->ledger_thr, NULL, ledger_main, b) != 0)
        rc = -EAGAIN;
    if (!rc) b->ledger_started = cfg->n_ledger > 0;
    if (rc) {
        *err = rc;
        sup_banker_free(b);
        return NULL;
    }
    return b;
}

void sup_banker_free(sup_banker *b) {
    if (!b) return;
    atomic_store(&b->stop, true);
    if (b->rep_started) pthread_join(b->rep_thr, NULL);
    if (b->ledger_started) pthread_join(b->ledger_thr, NULL);
    if (b->rep_open) nng_close(b->rep);
    if (b->db) sqlite3_close(b->db);
    for (int i = 0; i < b->n_parts; i++) free(b->parts[i].rows);
    free(b->parts);
    for (int i = 0; b->urls && i < b->cfg.n_ledger; i++) free(b->urls[i]);
    free(b->urls);
    free(b->full);
    free(b->ledger_ok_ms);
    sup_bank_free(b->bank);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void sup_banker_set_campaigns(sup_banker *b, const beat_campaign_set *cs) {
    pthread_mutex_lock(&b->mu);
    if (sup_bank_set_campaigns(b->bank, cs) != 0)
        beat_log(BEAT_ERROR, "out_of_memory", "what=banker_campaigns");
    pthread_mutex_unlock(&b->mu);
}

int sup_banker_json(sup_banker *b, beat_buf *out) {
    int64_t now = beat_now_ms();
    pthread_mutex_lock(&b->mu);
    int rc = beat_buf_puts(out, "{\"campaigns\":{");
    for (int i = 0; i < sup_bank_n(b->bank); i++) {
        sup_bank_acct a;
        const char *id = sup_bank_id(b->bank, i);
        if (sup_bank_acct_get(b->bank, id, now, &a) != 0) continue;
        rc |= beat_buf_puts(out, i ? "," : "");
        rc |= beat_buf_json_str(out, id, strlen(id));
        /* CPM micros / 1000 = micros of money */
        rc |= beat_buf_printf(out,
                              ":{\"budget_micros\":%" PRId64 ",\"spend_micros\":%" PRId64
                              ",\"released_micros\":%" PRId64 ",\"allowed_micros\":%" PRId64
                              ",\"committed_micros\":%" PRId64 ",\"live_nodes\":%d",
                              a.budget_cpm / 1000, a.spend_cpm / 1000, a.released_cpm / 1000,
                              a.allowed_cpm / 1000, (a.committed_cpm + 999) / 1000, a.live_nodes);
        if (a.has_day)
            rc |= beat_buf_printf(out,
                                  ",\"today\":{\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64
                                  ",\"budget_micros\":%" PRId64 ",\"committed_micros\":%" PRId64
                                  ",\"daily_stops\":%" PRId64 "}",
                                  a.day_start_ms, a.day_end_ms, a.day_budget_cpm / 1000,
                                  (a.day_committed_cpm + 999) / 1000, a.daily_stops);
        rc |= beat_buf_puts(out, "}");
    }
    rc |= beat_buf_puts(out, "},\"ledger\":[");
    for (int i = 0; i < b->cfg.n_ledger; i++) {
        rc |= beat_buf_puts(out, i ? ",{\"url\":" : "{\"url\":");
        rc |= beat_buf_json_str(out, b->urls[i], strlen(b->urls[i]));
        rc |= beat_buf_printf(out, ",\"age_ms\":%" PRId64 ",\"store_full\":%s}",
                              b->ledger_ok_ms[i] ? now - b->ledger_ok_ms[i] : -1,
                              b->full[i] ? "true" : "false");
    }
    rc |= beat_buf_puts(out, "]}");
    pthread_mutex_unlock(&b->mu);
    return rc ? -EMSGSIZE : 0;
}
