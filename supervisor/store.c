/* SQLite store of the supervisor: the one durable state of the engine.
 * Called from the main thread only (api/app code); it must never hand out a
 * version twice (AUTOINCREMENT keeps the sequence even after retention
 * deletes) and never leave half a write behind (every put is a transaction).
 * synchronous=FULL: an acknowledged state carries the actuator's spend, so
 * it must survive power loss, not only a crash; writes are ~1/s, the extra
 * fsync is cheap. journal_size_limit keeps the WAL file from staying as
 * large as the biggest checkpoint ever written. */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "beat_log.h"
#include "beat_sha.h"

struct sup_store {
    sqlite3 *db;
    int keep;
    char *path;
    char *wal_path;
    uint64_t writes; /* successful puts since open */
};

static const char *const TABLE[] = {"campaigns", "states", "checkpoints", "exchanges"};
static const char *const LABEL[] = {"source_hash", "actuator", "trainer", "source_hash"};
static_assert(sizeof TABLE / sizeof TABLE[0] == SUP_T_N &&
                  sizeof LABEL / sizeof LABEL[0] == SUP_T_N,
              "one table and one label column per sup_table");

static const char SCHEMA[] = "CREATE TABLE IF NOT EXISTS campaigns("
                             " version INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
                             " source_hash TEXT, json TEXT NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS states("
                             " version INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
                             " actuator TEXT, json TEXT NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS checkpoints("
                             " version INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
                             " trainer TEXT, crc INTEGER NOT NULL, blob BLOB NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS exchanges("
                             " version INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
                             " source_hash TEXT, json TEXT NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);";

/* mkdir -p of the directory part of path. */
static int mkdir_parents(const char *path) {
    char *d = strdup(path);
    if (!d) return -ENOMEM;
    char *slash = strrchr(d, '/');
    int rc = 0;
    if (slash && slash != d) {
        *slash = '\0';
        for (char *p = d + 1; *p; p++) {
            if (*p != '/') continue;
            *p = '\0';
            if (mkdir(d, 0755) != 0 && errno != EEXIST) rc = -errno;
            *p = '/';
            if (rc) break;
        }
        if (!rc && mkdir(d, 0755) != 0 && errno != EEXIST) rc = -errno;
    }
    free(d);
    return rc;
}

static int exec(sup_store *st, const char *sql) {
    char *err = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        beat_log_rl(5000, BEAT_ERROR, "db_error", "path=%s sql=\"%.60s\" err=\"%s\"", st->path, sql,
                    err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

static bool is_corrupt_rc(int rc) {
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* "ok" or the first complaint. -EBADMSG if corrupt, -EIO if unreadable. */
static int integrity_check(sqlite3 *db, beat_reason *why) {
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        int code = is_corrupt_rc(rc) ? -EBADMSG : -EIO;
        beat_reasonf(why, code, "integrity_check: %s", sqlite3_errmsg(db));
        sqlite3_finalize(s);
        return code;
    }
    const char *res = (const char *)sqlite3_column_text(s, 0);
    int code = 0;
    if (!res || strcmp(res, "ok") != 0)
        code = beat_reasonf(why, -EBADMSG, "integrity_check: %.150s", res ? res : "(null)");
    sqlite3_finalize(s);
    return code;
}

int sup_store_open(const char *path, int keep, sup_store **out, beat_reason *why) {
    if (!path || !*path || keep < 1) return beat_reasonf(why, -EINVAL, "bad store arguments");
    int rc = mkdir_parents(path);
    if (rc) return beat_reasonf(why, rc, "cannot create directory for %s: %s", path, strerror(-rc));
    sup_store *st = calloc(1, sizeof *st);
    if (!st) return -ENOMEM;
    st->keep = keep;
    st->path = strdup(path);
    if (!st->path || asprintf(&st->wal_path, "%s-wal", path) < 0) {
        st->wal_path = NULL;
        sup_store_close(st);
        return -ENOMEM;
    }
    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int code = is_corrupt_rc(rc) ? -EBADMSG : -EIO;
        beat_reasonf(why, code, "open %s: %s", path,
                     st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        sup_store_close(st);
        return code;
    }
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_extended_result_codes(st->db, 1);
    if ((rc = integrity_check(st->db, why)) != 0) {
        sup_store_close(st);
        return rc;
    }
    /* journal_mode answers with a row; sqlite3_exec ignores it. */
    char *err = NULL;
    rc = sqlite3_exec(st->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA journal_size_limit=67108864;"
                      "PRAGMA foreign_keys=OFF;",
                      NULL, NULL, &err);
    if (rc == SQLITE_OK) rc = sqlite3_exec(st->db, SCHEMA, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        int code = is_corrupt_rc(rc) ? -EBADMSG : -EIO;
        beat_reasonf(why, code, "setup %s: %s", path, err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        sup_store_close(st);
        return code;
    }
    *out = st;
    return 0;
}

void sup_store_close(sup_store *st) {
    if (!st) return;
    if (st->db) sqlite3_close(st->db); /* all statements are finalized per call */
    free(st->path);
    free(st->wal_path);
    free(st);
}

int sup_store_next_version(sup_store *st, sup_table t, int64_t *out) {
    BEAT_ASSERT(t >= 0 && t < SUP_T_N);
    /* sqlite_sequence holds the highest version ever used (it is not rolled
     * back by deletes); max(version) covers a table that never had one. */
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name='%s'),0),"
             " coalesce((SELECT max(version) FROM %s),0))",
             TABLE[t], TABLE[t]);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        beat_log_rl(5000, BEAT_ERROR, "db_error", "path=%s op=next_version err=\"%s\"", st->path,
                    sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return -EIO;
    }
    *out = sqlite3_column_int64(s, 0) + 1;
    sqlite3_finalize(s);
    return 0;
}

static int prep(sup_store *st, const char *sql, sqlite3_stmt **s) {
    if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) == SQLITE_OK) return 0;
    beat_log_rl(5000, BEAT_ERROR, "db_error", "path=%s sql=\"%.60s\" err=\"%s\"", st->path, sql,
                sqlite3_errmsg(st->db));
    *s = NULL;
    return -EIO;
}

static int step_done(sup_store *st, sqlite3_stmt *s, const char *op) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return -EEXIST;
    beat_log_rl(5000, BEAT_ERROR, "db_error", "path=%s op=%s err=\"%s\"", st->path, op,
                sqlite3_errmsg(st->db));
    return -EIO;
}

int sup_store_put(sup_store *st, sup_table t, int64_t version, int64_t ts_ms, const char *label,
                  uint32_t crc, const void *data, size_t len, const char *meta_key,
                  const char *meta_val) {
    BEAT_ASSERT(t >= 0 && t < SUP_T_N);
    char sql[256];
    sqlite3_stmt *s = NULL;
    int rc = exec(st, "BEGIN IMMEDIATE");
    if (rc) return rc;
    if (t == SUP_T_CHECKPOINTS)
        snprintf(sql, sizeof sql,
                 "INSERT INTO checkpoints(version,ts,trainer,crc,blob) VALUES(?,?,?,?,?)");
    else
        snprintf(sql, sizeof sql, "INSERT INTO %s(version,ts,%s,json) VALUES(?,?,?,?)", TABLE[t],
                 LABEL[t]);
    if ((rc = prep(st, sql, &s)) != 0) goto fail;
    sqlite3_bind_int64(s, 1, version);
    sqlite3_bind_int64(s, 2, ts_ms);
    sqlite3_bind_text(s, 3, label ? label : "", -1, SQLITE_STATIC);
    if (t == SUP_T_CHECKPOINTS) {
        sqlite3_bind_int64(s, 4, (int64_t)crc);
        sqlite3_bind_blob64(s, 5, data, len, SQLITE_STATIC);
    } else {
        sqlite3_bind_text64(s, 4, data, len, SQLITE_STATIC, SQLITE_UTF8);
    }
    if ((rc = step_done(st, s, "insert")) != 0) goto fail;
    sqlite3_finalize(s);
    s = NULL;

    /* Retention: keep the newest `keep` rows; the sequence is untouched. */
    snprintf(sql, sizeof sql,
             "DELETE FROM %s WHERE version NOT IN"
             " (SELECT version FROM %s ORDER BY version DESC LIMIT %d)",
             TABLE[t], TABLE[t], st->keep);
    if ((rc = exec(st, sql)) != 0) goto fail;

    if (meta_key) {
        if ((rc = prep(st, "INSERT OR REPLACE INTO meta(k,v) VALUES(?,?)", &s)) != 0) goto fail;
        sqlite3_bind_text(s, 1, meta_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, meta_val ? meta_val : "", -1, SQLITE_STATIC);
        if ((rc = step_done(st, s, "meta")) != 0) goto fail;
        sqlite3_finalize(s);
        s = NULL;
    }
    if ((rc = exec(st, "COMMIT")) != 0) goto fail;
    st->writes++;
    return 0;
fail:
    sqlite3_finalize(s);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void sup_row_fini(sup_row *r) {
    if (!r) return;
    free(r->label);
    free(r->data);
    memset(r, 0, sizeof *r);
}

int sup_store_latest(sup_store *st, sup_table t, sup_row *out) {
    BEAT_ASSERT(t >= 0 && t < SUP_T_N);
    char sql[200];
    if (t == SUP_T_CHECKPOINTS)
        snprintf(sql, sizeof sql,
                 "SELECT version,ts,trainer,crc,blob FROM checkpoints"
                 " ORDER BY version DESC LIMIT 1");
    else
        snprintf(sql, sizeof sql,
                 "SELECT version,ts,%s,0,json FROM %s"
                 " ORDER BY version DESC LIMIT 1",
                 LABEL[t], TABLE[t]);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(s);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW) {
        beat_log_rl(5000, BEAT_ERROR, "db_error", "path=%s op=latest table=%s err=\"%s\"", st->path,
                    TABLE[t], sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return -EIO;
    }
    sup_row r = {0};
    r.version = sqlite3_column_int64(s, 0);
    r.ts_ms = sqlite3_column_int64(s, 1);
    const char *label = (const char *)sqlite3_column_text(s, 2);
    r.label = strdup(label ? label : "");
    r.crc = (uint32_t)sqlite3_column_int64(s, 3);
    const void *p = sqlite3_column_blob(s, 4);
    r.len = (size_t)sqlite3_column_bytes(s, 4);
    r.data = malloc(r.len + 1);
    if (!r.label || !r.data) {
        sqlite3_finalize(s);
        sup_row_fini(&r);
        return -ENOMEM;
    }
    if (r.len) memcpy(r.data, p, r.len);
    ((char *)r.data)[r.len] = '\0';
    sqlite3_finalize(s);
    *out = r;
    return 0;
}

int64_t sup_store_count(sup_store *st, sup_table t) {
    BEAT_ASSERT(t >= 0 && t < SUP_T_N);
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", TABLE[t]);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -EIO;
    sqlite3_finalize(s);
    return n;
}

int sup_store_meta_get(sup_store *st, const char *key, char *val, size_t val_len) {
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT v FROM meta WHERE k=?", -1, &s, NULL);
    if (rc != SQLITE_OK) return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    int code = 0;
    if (rc == SQLITE_DONE) code = -ENOENT;
    else if (rc != SQLITE_ROW) code = -EIO;
    else {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        size_t n = v ? strlen(v) : 0;
        if (n + 1 > val_len) code = -EMSGSIZE;
        else {
            memcpy(val, v ? v : "", n);
            val[n] = '\0';
        }
    }
    sqlite3_finalize(s);
    return code;
}

double sup_store_disk_bytes(const sup_store *st) {
    struct stat sb;
    double n = 0;
    if (stat(st->path, &sb) == 0) n += (double)sb.st_size;
    if (stat(st->wal_path, &sb) == 0) n += (double)sb.st_size;
    return n;
}

const char *sup_store_path(const sup_store *st) { return st->path; }

uint64_t sup_store_writes(const sup_store *st) { return st->writes; }

struct sqlite3 *sup_store_db(sup_store *st, bool write) {
    if (write) st->writes++;
    return st->db;
}

int sup_store_check_file(const char *path, beat_reason *why) {
    struct stat sb;
    if (stat(path, &sb) != 0) return beat_reasonf(why, -ENOENT, "%s: not found", path);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) rc = integrity_check(db, why);
    else
        rc = beat_reasonf(why, is_corrupt_rc(rc) ? -EBADMSG : -EIO, "open %s: %s", path,
                          sqlite3_errstr(rc));
    sqlite3_close(db);
    return rc;
}

int sup_store_backup(sup_store *st, const char *dest, beat_reason *why) {
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", dest) < 0) return beat_reasonf(why, -ENOMEM, "out of memory");
    unlink(tmp);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", st->db, "main");
        if (b) {
            rc = sqlite3_backup_step(b, -1);
            int frc = sqlite3_backup_finish(b);
            if (rc == SQLITE_DONE) rc = frc;
        } else {
            rc = sqlite3_errcode(dst);
        }
    }
    int code = 0;
    if (rc != SQLITE_OK)
        code = beat_reasonf(why, -EIO, "backup to %s: %s", tmp,
                            dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
    /* After close the copy is one self-contained file (its WAL, if any,
     * is checkpointed and removed by the last connection). */
    if (!code) code = integrity_check(dst, why);
    sqlite3_close(dst);
    if (!code) {
        int fd = open(tmp, O_RDONLY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        if (rename(tmp, dest) != 0)
            code = beat_reasonf(why, -errno, "rename %s: %s", dest, strerror(errno));
    }
    if (code) unlink(tmp);
    free(tmp);
    return code;
}

int sup_read_config_file(sup_store *st, const char *path, const char *meta_key, beat_buf *out,
                         char hex[65], bool *same, beat_reason *why) {
    beat_buf_reset(out);
    FILE *f = fopen(path, "rb");
    if (!f) return beat_reasonf(why, -errno, "cannot open %s: %s", path, strerror(errno));
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = beat_buf_append(out, chunk, n);
    if (rc == 0 && ferror(f)) rc = beat_reasonf(why, -EIO, "cannot read %s", path);
    else if (rc) beat_reasonf(why, rc, "%s is over %zu bytes", path, out->max);
    fclose(f);
    if (rc) return rc;
    char prev[80] = "";
    beat_sha256_hex(out->data ? out->data : "", out->len, hex);
    *same = sup_store_meta_get(st, meta_key, prev, sizeof prev) == 0 && strcmp(prev, hex) == 0;
    return 0;
}
