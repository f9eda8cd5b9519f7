/* The per-partition dedup ledger (ledger.h): SQLite in WAL mode, three tables,
 *   keys(nts INTEGER, k INTEGER, PRIMARY KEY(nts, k)) WITHOUT ROWID
 *       a notice's signed ts and its 63-bit key
 *   meta(k TEXT PRIMARY KEY, v)    format, topic, partition, next_offset,
 *                                  clock_ms, seq, mark_offset, mark_ts,
 *                                  mark_hash (the last message read)
 *   totals(campaign TEXT PRIMARY KEY, spend_cpm, released_cpm)
 *       the spend ledger, cumulative, in the same transactions as the keys
 *   reports(hour_ms, campaign, exchange, creative, counts…)
 *       the hourly report rows (report_rows.h), in the same transactions
 * Ordering the keys by nts first keeps inserts near the end of the B-tree
 * (notices arrive roughly in nts order), so a batch dirties a few pages
 * instead of one page per key, and retention deletes a prefix without a
 * second index. A duplicate is the same signed notice, so it carries the
 * same nts: the lookup is exact. Called by store*.c on the consumer thread.
 * It must never report a key as new that a committed batch stored (that is
 * a double debit), so every failure is an error the caller turns into "do
 * not consume this partition", never a guess. */
#include "ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <xxhash.h>

#include "beat_log.h"
#include "report_rows.h"

/* Part of the file format (ledger.h): the seed and the text hashed. */
#define KEY_SEED 0x62656174u /* "beat" */

struct dst_ledger {
    sqlite3 *db;
    sqlite3_stmt *ins, *meta_put, *expire, *has;
    char *path;
    int32_t partition;
    int64_t next_offset, clock_ms, keys;
    int64_t tx_added; /* keys inserted by the open batch */
    bool in_tx;
    int64_t seq;
    dst_ledger_mark mark, tx_mark; /* committed; of the open batch */
    beat_ledger_row *tot;          /* committed totals, then rows new in the batch */
    int64_t *pend;                 /* per row: [2i] spend, [2i+1] released of the batch */
    int n_tot, n_tot_committed, cap_tot;
    sqlite3_stmt *tot_put;
    dst_rrows *rep; /* the batch's report increments */
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS keys(nts INTEGER NOT NULL, k INTEGER NOT NULL,"
    " PRIMARY KEY(nts, k)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS totals(campaign TEXT PRIMARY KEY, spend_cpm INTEGER NOT NULL,"
    " released_cpm INTEGER NOT NULL) WITHOUT ROWID;";

int64_t dst_ledger_key(const char *auction, const char *imp, int kind) {
    char buf[2 * (BEAT_ID_MAX + 1) + 4];
    size_t a = strnlen(auction, BEAT_ID_MAX), i = strnlen(imp, BEAT_ID_MAX), n = 0;
    memcpy(buf, auction, a);
    n += a;
    buf[n++] = 0x1f;
    memcpy(buf + n, imp, i);
    n += i;
    buf[n++] = 0x1f;
    buf[n++] = (char)('0' + kind);
    return (int64_t)(XXH3_64bits_withSeed(buf, n, KEY_SEED) >> 1);
}

int64_t dst_ledger_release_key(uint64_t join_key) {
    uint8_t b[9];
    beat_put_le64(b, join_key);
    b[8] = (uint8_t)('0' + DST_LEDGER_RELEASE);
    return (int64_t)(XXH3_64bits_withSeed(b, sizeof b, KEY_SEED) >> 1);
}

static int sql_err(dst_ledger *l, int rc, beat_reason *why, const char *what) {
    int prim = rc & 0xff;
    int code = prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB ? -EBADMSG : -EIO;
    return beat_reasonf(why, code, "%s: %s: %s", l->path, what,
                        l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
}

static int exec(dst_ledger *l, const char *sql, beat_reason *why) {
    int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sql_err(l, rc, why, sql);
}

/* One integer column of a one-row query; *found false when no row. */
static int query_i64(dst_ledger *l, const char *sql, int64_t *out, bool *found, beat_reason *why) {
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(l->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (found) *found = true;
        *out = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return 0;
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) {
        if (found) *found = false;
        return 0;
    }
    return sql_err(l, rc, why, sql);
}

static int meta_set(dst_ledger *l, const char *k, int64_t v, const char *text) {
    sqlite3_reset(l->meta_put);
    sqlite3_bind_text(l->meta_put, 1, k, -1, SQLITE_STATIC);
    if (text) sqlite3_bind_text(l->meta_put, 2, text, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_int64(l->meta_put, 2, v);
    int rc = sqlite3_step(l->meta_put);
    sqlite3_reset(l->meta_put);
    return rc;
}

static int tot_grow(dst_ledger *l) {
    if (l->n_tot < l->cap_tot) return 0;
    int cap = l->cap_tot ? 2 * l->cap_tot : 16;
    beat_ledger_row *t = realloc(l->tot, (size_t)cap * sizeof *t);
    if (!t) return -ENOMEM;
    l->tot = t;
    int64_t *p = realloc(l->pend, (size_t)cap * 2 * sizeof *p);
    if (!p) return -ENOMEM;
    l->pend = p;
    l->cap_tot = cap;
    return 0;
}

static int load_totals(dst_ledger *l, beat_reason *why) {
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(l->db, "SELECT campaign, spend_cpm, released_cpm FROM totals", -1,
                                &s, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        if (!id || tot_grow(l) != 0) {
            sqlite3_finalize(s);
            return beat_reasonf(why, -ENOMEM, "%s: totals: out of memory", l->path);
        }
        beat_ledger_row *r = &l->tot[l->n_tot];
        snprintf(r->id, sizeof r->id, "%s", id);
        r->spend_cpm = sqlite3_column_int64(s, 1);
        r->released_cpm = sqlite3_column_int64(s, 2);
        l->pend[2 * l->n_tot] = l->pend[2 * l->n_tot + 1] = 0;
        l->n_tot++;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return sql_err(l, rc, why, "read totals");
    l->n_tot_committed = l->n_tot;
    return 0;
}

/* Creates the schema and meta of a new file, or checks an existing one is
 * this partition's ledger of a format we know. In one transaction, so two
 * processes opening a new file at once agree. */
static int init_or_check(dst_ledger *l, const char *topic, beat_reason *why) {
    int rc = exec(l, "BEGIN IMMEDIATE", why);
    if (rc) return rc;
    if ((rc = exec(l, SCHEMA, why)) != 0 || (rc = exec(l, DST_REPORT_SCHEMA, why)) != 0 ||
        (rc = dst_rrows_migrate(l->db, why)) != 0)
        goto fail;
    int r = sqlite3_prepare_v2(l->db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)", -1,
                               &l->meta_put, NULL);
    if (r != SQLITE_OK) {
        rc = sql_err(l, r, why, "prepare meta");
        goto fail;
    }
    int64_t format = 0, part = -1;
    bool found = false;
    if ((rc = query_i64(l, "SELECT v FROM meta WHERE k='format'", &format, &found, why))) goto fail;
    if (!found) {
        if ((r = meta_set(l, "format", DST_LEDGER_FORMAT, NULL)) != SQLITE_DONE ||
            (r = meta_set(l, "topic", 0, topic)) != SQLITE_DONE ||
            (r = meta_set(l, "partition", l->partition, NULL)) != SQLITE_DONE) {
            rc = sql_err(l, r, why, "write meta");
            goto fail;
        }
    } else {
        if (format != DST_LEDGER_FORMAT) {
            rc = beat_reasonf(why, -EBADMSG, "%s: ledger format %lld, expected %d", l->path,
                              (long long)format, DST_LEDGER_FORMAT);
            goto fail;
        }
        sqlite3_stmt *s = NULL;
        bool same = false;
        if (sqlite3_prepare_v2(l->db, "SELECT v FROM meta WHERE k='topic'", -1, &s, NULL) ==
                SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(s, 0);
            same = t && strcmp(t, topic) == 0;
        }
        sqlite3_finalize(s);
        if ((rc = query_i64(l, "SELECT v FROM meta WHERE k='partition'", &part, NULL, why)))
            goto fail;
        if (!same || part != l->partition) {
            rc = beat_reasonf(why, -EBADMSG, "%s: the ledger of another topic or partition (%lld)",
                              l->path, (long long)part);
            goto fail;
        }
    }
    found = false;
    if ((rc = query_i64(l, "SELECT v FROM meta WHERE k='next_offset'", &l->next_offset, &found,
                        why)))
        goto fail;
    if (!found) l->next_offset = -1;
    found = false;
    if ((rc = query_i64(l, "SELECT v FROM meta WHERE k='clock_ms'", &l->clock_ms, &found, why)))
        goto fail;
    if (!found) l->clock_ms = 0;
    found = false;
    if ((rc = query_i64(l, "SELECT v FROM meta WHERE k='seq'", &l->seq, &found, why))) goto fail;
    if (!found) l->seq = 0;
    /* Files written before marks existed have none: their offset is trusted. */
    l->mark.offset = -1;
    int64_t mo = -1, mt = 0, mh = 0;
    bool fo = false, ft = false, fh = false;
    if ((rc = query_i64(l, "SELECT v FROM meta WHERE k='mark_offset'", &mo, &fo, why)) ||
        (rc = query_i64(l, "SELECT v FROM meta WHERE k='mark_ts'", &mt, &ft, why)) ||
        (rc = query_i64(l, "SELECT v FROM meta WHERE k='mark_hash'", &mh, &fh, why)))
        goto fail;
    if (fo && ft && fh) l->mark = (dst_ledger_mark){mo, mt, (uint64_t)mh};
    if ((rc = load_totals(l, why))) goto fail;
    /* Walks the table: ~0.1 s per million keys, once per open. */
    if ((rc = query_i64(l, "SELECT count(*) FROM keys", &l->keys, NULL, why))) goto fail;
    return exec(l, "COMMIT", why);
fail:
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int dst_ledger_open(const char *dir, const char *topic, int32_t partition, bool sync_full,
                    dst_ledger **out, beat_reason *why) {
    if (!dir || !*dir || !topic || !*topic || partition < 0 || !out)
        return beat_reasonf(why, -EINVAL, "bad ledger arguments");
    dst_ledger *l = calloc(1, sizeof *l);
    if (!l) return beat_reasonf(why, -ENOMEM, "out of memory");
    l->partition = partition;
    if (asprintf(&l->path, "%s/%s-%d.db", dir, topic, (int)partition) < 0) {
        free(l);
        return beat_reasonf(why, -ENOMEM, "out of memory");
    }
    int rc = sqlite3_open_v2(
        l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = sql_err(l, rc, why, "open");
        dst_ledger_close(l);
        return rc;
    }
    sqlite3_extended_result_codes(l->db, 1);
    /* The partition's previous owner may still hold the write lock for one
     * batch (a frozen process whose session expired): wait that long. */
    sqlite3_busy_timeout(l->db, 2000);
    if (sqlite3_db_readonly(l->db, "main") == 1) {
        rc = beat_reasonf(why, -EIO, "%s: read-only", l->path);
        dst_ledger_close(l);
        return rc;
    }
    /* journal_mode answers with a row: check it is really WAL (a file that
     * is not a database fails here with "file is not a database"). */
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(l->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = sql_err(l, rc, why, "journal_mode=WAL");
        sqlite3_finalize(s);
        dst_ledger_close(l);
        return rc;
    }
    const char *mode = (const char *)sqlite3_column_text(s, 0);
    bool wal = mode && strcmp(mode, "wal") == 0;
    sqlite3_finalize(s);
    if (!wal) {
        rc = beat_reasonf(why, -EIO, "%s: cannot use WAL mode", l->path);
        dst_ledger_close(l);
        return rc;
    }
    if ((rc = exec(l, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", why)) ||
        (rc = exec(l, "PRAGMA journal_size_limit=16777216", why)) ||
        (rc = exec(l, "PRAGMA cache_size=-32768", why)) || (rc = init_or_check(l, topic, why))) {
        dst_ledger_close(l);
        return rc;
    }
    if ((rc = sqlite3_prepare_v2(l->db, "INSERT OR IGNORE INTO keys(nts, k) VALUES(?2, ?1)", -1,
                                 &l->ins, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(l->db,
                                 "DELETE FROM keys WHERE (nts, k) IN (SELECT nts, k "
                                 "FROM keys WHERE nts < ?1 ORDER BY nts, k LIMIT ?2)",
                                 -1, &l->expire, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(l->db, "SELECT 1 FROM keys WHERE nts = ?2 AND k = ?1", -1, &l->has,
                                 NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(l->db,
                                 "INSERT OR REPLACE INTO totals(campaign, spend_cpm, "
                                 "released_cpm) VALUES(?1, ?2, ?3)",
                                 -1, &l->tot_put, NULL)) != SQLITE_OK) {
        rc = sql_err(l, rc, why, "prepare");
        dst_ledger_close(l);
        return rc;
    }
    if (!(l->rep = dst_rrows_new(l->db, why))) {
        dst_ledger_close(l);
        return -EIO;
    }
    *out = l;
    return 0;
}

void dst_ledger_close(dst_ledger *l) {
    if (!l) return;
    if (l->in_tx) dst_ledger_rollback(l);
    sqlite3_finalize(l->ins);
    sqlite3_finalize(l->meta_put);
    sqlite3_finalize(l->expire);
    sqlite3_finalize(l->has);
    sqlite3_finalize(l->tot_put);
    dst_rrows_free(l->rep);
    if (l->db) sqlite3_close_v2(l->db);
    free(l->tot);
    free(l->pend);
    free(l->path);
    free(l);
}

const char *dst_ledger_path(const dst_ledger *l) { return l->path; }
int64_t dst_ledger_next_offset(const dst_ledger *l) { return l->next_offset; }
int64_t dst_ledger_clock_ms(const dst_ledger *l) { return l->clock_ms; }
int64_t dst_ledger_keys(const dst_ledger *l) { return l->keys; }

int dst_ledger_begin(dst_ledger *l, beat_reason *why) {
    if (l->in_tx) return beat_reasonf(why, -EINVAL, "batch already open");
    int rc = exec(l, "BEGIN IMMEDIATE", why);
    if (rc) return rc;
    l->in_tx = true;
    l->tx_added = 0;
    l->tx_mark.offset = -1;
    return 0;
}

void dst_ledger_set_mark(dst_ledger *l, const dst_ledger_mark *m) {
    if (l->in_tx && m) l->tx_mark = *m;
}

void dst_ledger_mark_get(const dst_ledger *l, dst_ledger_mark *out) {
    *out = l->mark;
    if (l->mark.offset < 0 || l->mark.offset != l->next_offset - 1) out->offset = -1;
}

int dst_ledger_add(dst_ledger *l, int64_t key, int64_t nts_ms) {
    if (!l->in_tx) return -EINVAL;
    sqlite3_bind_int64(l->ins, 1, key);
    sqlite3_bind_int64(l->ins, 2, nts_ms);
    int rc = sqlite3_step(l->ins);
    sqlite3_reset(l->ins);
    if (rc != SQLITE_DONE) return (rc & 0xff) == SQLITE_CORRUPT ? -EBADMSG : -EIO;
    if (sqlite3_changes(l->db) == 1) {
        l->tx_added++;
        return 1;
    }
    return 0;
}

int dst_ledger_has(dst_ledger *l, int64_t key, int64_t nts_ms) {
    sqlite3_bind_int64(l->has, 1, key);
    sqlite3_bind_int64(l->has, 2, nts_ms);
    int rc = sqlite3_step(l->has);
    sqlite3_reset(l->has);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return (rc & 0xff) == SQLITE_CORRUPT ? -EBADMSG : -EIO;
}

int dst_ledger_credit(dst_ledger *l, const char *campaign, int64_t spend_cpm,
                      int64_t released_cpm) {
    if (!l->in_tx || !campaign || !*campaign) return -EINVAL;
    int i = 0;
    while (i < l->n_tot && strcmp(l->tot[i].id, campaign) != 0) i++;
    if (i == l->n_tot) {
        if (tot_grow(l) != 0) return -ENOMEM;
        memset(&l->tot[i], 0, sizeof l->tot[i]);
        snprintf(l->tot[i].id, sizeof l->tot[i].id, "%s", campaign);
        l->pend[2 * i] = l->pend[2 * i + 1] = 0;
        l->n_tot++;
    }
    l->pend[2 * i] += spend_cpm;
    l->pend[2 * i + 1] += released_cpm;
    return 0;
}

int64_t dst_ledger_seq(const dst_ledger *l) { return l->seq; }

int dst_ledger_totals(const dst_ledger *l, const beat_ledger_row **rows) {
    *rows = l->tot;
    return l->n_tot_committed;
}

/* Writes the batch's changed totals (inside its transaction). */
static int totals_put(dst_ledger *l) {
    for (int i = 0; i < l->n_tot; i++) {
        if (!l->pend[2 * i] && !l->pend[2 * i + 1] && i < l->n_tot_committed) continue;
        sqlite3_reset(l->tot_put);
        sqlite3_bind_text(l->tot_put, 1, l->tot[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(l->tot_put, 2, l->tot[i].spend_cpm + l->pend[2 * i]);
        sqlite3_bind_int64(l->tot_put, 3, l->tot[i].released_cpm + l->pend[2 * i + 1]);
        int rc = sqlite3_step(l->tot_put);
        sqlite3_reset(l->tot_put);
        if (rc != SQLITE_DONE) return rc;
    }
    return SQLITE_DONE;
}

static void totals_settle(dst_ledger *l, bool committed) {
    if (committed) {
        for (int i = 0; i < l->n_tot; i++) {
            l->tot[i].spend_cpm += l->pend[2 * i];
            l->tot[i].released_cpm += l->pend[2 * i + 1];
        }
        l->n_tot_committed = l->n_tot;
    } else {
        l->n_tot = l->n_tot_committed; /* rows new in the batch go */
    }
    for (int i = 0; i < l->n_tot; i++) l->pend[2 * i] = l->pend[2 * i + 1] = 0;
}

int dst_ledger_commit(dst_ledger *l, int64_t next_offset, int64_t clock_ms, beat_reason *why) {
    if (!l->in_tx) return beat_reasonf(why, -EINVAL, "no batch open");
    int rc = meta_set(l, "next_offset", next_offset, NULL);
    if (rc == SQLITE_DONE) rc = meta_set(l, "clock_ms", clock_ms, NULL);
    if (rc == SQLITE_DONE) rc = meta_set(l, "seq", l->seq + 1, NULL);
    if (rc == SQLITE_DONE) rc = meta_set(l, "mark_offset", l->tx_mark.offset, NULL);
    if (rc == SQLITE_DONE) rc = meta_set(l, "mark_ts", l->tx_mark.ts_ms, NULL);
    if (rc == SQLITE_DONE) rc = meta_set(l, "mark_hash", (int64_t)l->tx_mark.hash, NULL);
    if (rc == SQLITE_DONE) rc = totals_put(l);
    if (rc == SQLITE_DONE) rc = dst_rrows_flush(l->rep);
    if (rc != SQLITE_DONE) {
        rc = sql_err(l, rc, why, "write meta");
        dst_ledger_rollback(l);
        return rc;
    }
    rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = sql_err(l, rc, why, "COMMIT");
        dst_ledger_rollback(l);
        return rc;
    }
    l->in_tx = false;
    l->next_offset = next_offset;
    l->clock_ms = clock_ms;
    l->keys += l->tx_added;
    l->seq++;
    l->mark = l->tx_mark;
    totals_settle(l, true);
    dst_rrows_clear(l->rep);
    return 0;
}

void dst_ledger_rollback(dst_ledger *l) {
    if (!l->in_tx) return;
    /* Fails harmlessly when SQLite already rolled back (e.g. on SQLITE_FULL). */
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    l->in_tx = false;
    l->tx_added = 0;
    totals_settle(l, false);
    if (l->rep) dst_rrows_clear(l->rep);
}

int dst_ledger_report(dst_ledger *l, const dst_report_key *k, const dst_report_delta *d) {
    if (!l->in_tx) return -EINVAL;
    return dst_rrows_add(l->rep, k, d);
}

int dst_ledger_report_expire(dst_ledger *l, int64_t cutoff_hour_ms, int max, beat_reason *why) {
    if (l->in_tx) return beat_reasonf(why, -EINVAL, "batch open");
    int n = dst_rrows_expire(l->rep, cutoff_hour_ms, max);
    return n >= 0 ? n : sql_err(l, -n, why, "expire reports");
}

int dst_ledger_expire(dst_ledger *l, int64_t cutoff_ms, int max, beat_reason *why) {
    if (l->in_tx) return beat_reasonf(why, -EINVAL, "batch open");
    if (max <= 0) return 0;
    sqlite3_bind_int64(l->expire, 1, cutoff_ms);
    sqlite3_bind_int(l->expire, 2, max);
    int rc = sqlite3_step(l->expire);
    sqlite3_reset(l->expire);
    if (rc != SQLITE_DONE) return sql_err(l, rc, why, "expire");
    int n = sqlite3_changes(l->db);
    l->keys -= n;
    if (l->keys < 0) l->keys = 0;
    return n;
}
