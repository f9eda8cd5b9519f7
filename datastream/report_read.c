/* The reader of report rows (report_read.h): each partition file's rows in
 * the asked hours, grouped in SQLite, are summed into an in-memory table
 * keyed by the group columns (columns not grouped by are constants), then
 * encoded in the order of group_by, with the derived cpa, ctr and cvr. A
 * file without the reports table (a store written before reports existed)
 * holds no rows; one without a later column (not opened by a writer since
 * the upgrade, which adds it) reads 0 there. */
#include "report_read.h"

#include "beat_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVAL 8
static const char *const VAL_NAMES[NVAL] = {
    "opportunities", "bids",   "wins",        "spend_cpm",
    "impressions",   "clicks", "conversions", "conv_value_micros"};
enum { V_WINS = 2, V_SPEND = 3, V_CLICKS = 5, V_CONVS = 6 };

void dst_report_iso(int64_t t, char *buf, size_t n) {
    int64_t days = t / 86400000, ms = t % 86400000;
    /* civil from days (proleptic Gregorian), era arithmetic */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(buf, n, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y, (long long)m,
             (long long)d, (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
             (long long)(ms / 1000 % 60));
}

int dst_report_store_id(const char *dir, char out[33]) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/store-id", dir);
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            char b[33] = {0};
            ssize_t n = read(fd, b, 32);
            close(fd);
            if (n == 32 && strspn(b, "0123456789abcdef") == 32) {
                memcpy(out, b, 33);
                return 0;
            }
            return -EBADMSG;
        }
        if (errno != ENOENT) return -errno;
        /* Absent: written whole under a private name, then linked into
         * place, so an instance starting beside this one either finds no
         * file or a complete one, never one still being written; link()
         * fails with EEXIST when another instance won, and its id is read. */
        char b[33];
        snprintf(b, sizeof b, "%016llx%016llx", (unsigned long long)beat_random_u64(),
                 (unsigned long long)beat_random_u64());
        snprintf(tmp, sizeof tmp, "%s/.store-id.%s", dir, b);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) return -errno;
        bool ok = write(fd, b, 32) == 32 && fsync(fd) == 0;
        close(fd);
        int rc = ok && link(tmp, path) == 0 ? 0 : ok ? -errno : -EIO;
        unlink(tmp);
        if (rc == -EEXIST) continue;
        if (rc < 0) return rc;
        memcpy(out, b, 33);
        return 0;
    }
    return -EAGAIN;
}

/* name is "<topic>-<partition>.db". */
static bool is_part_file(const char *name, const char *topic) {
    size_t t = strlen(topic), n = strlen(name);
    if (n < t + 5 || strncmp(name, topic, t) != 0 || name[t] != '-') return false;
    if (strcmp(name + n - 3, ".db") != 0) return false;
    size_t digits = n - 3 - (t + 1);
    return digits >= 1 && digits <= 4 && strspn(name + t + 1, "0123456789") == digits;
}

static bool grouped(const dst_rq *q, dst_rq_col c) {
    for (int i = 0; i < q->n_group; i++)
        if (q->group[i] == c) return true;
    return false;
}

/* Sums one file's rows into mem (put: the UPSERT). 0 or -EIO. */
static int read_file(const char *path, const dst_rq *q, sqlite3_stmt *put, beat_reason *why) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = beat_reasonf(why, -EIO, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt *s = NULL;
    for (int old = 0; old < 2; old++) {
        char sql[700];
        snprintf(sql, sizeof sql,
                 "SELECT %s, %s, %s, %s, sum(opps), sum(bids), sum(wins), sum(spend_cpm),"
                 " sum(imps), sum(clicks), sum(convs), %s FROM reports"
                 " WHERE hour_ms >= ?1 AND hour_ms < ?2%s GROUP BY 1, 2, 3, 4",
                 grouped(q, DST_RQ_HOUR) ? "hour_ms" : "0",
                 grouped(q, DST_RQ_CAMPAIGN) ? "campaign" : "''",
                 grouped(q, DST_RQ_EXCHANGE) ? "exchange" : "''",
                 grouped(q, DST_RQ_CREATIVE) ? "creative" : "''", old ? "0" : "sum(conv_value)",
                 q->campaign[0] ? " AND campaign = ?3" : "");
        rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
        if (rc == SQLITE_OK || !strstr(sqlite3_errmsg(db), "no such column: conv_value")) break;
    }
    if (rc != SQLITE_OK) {
        /* No reports table: a store from before reports (no rows). */
        bool none = strstr(sqlite3_errmsg(db), "no such table") != NULL;
        if (!none) rc = beat_reasonf(why, -EIO, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_close_v2(db);
        return none ? 0 : rc;
    }
    sqlite3_bind_int64(s, 1, q->from_ms);
    sqlite3_bind_int64(s, 2, q->to_ms);
    if (q->campaign[0]) sqlite3_bind_text(s, 3, q->campaign, -1, SQLITE_STATIC);
    int n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (++n > DST_REPORT_ROWS_MAX) { /* memory stays bounded within a file too */
            rc = SQLITE_TOOBIG;
            break;
        }
        sqlite3_reset(put);
        sqlite3_bind_int64(put, 1, sqlite3_column_int64(s, 0));
        for (int i = 1; i < 4; i++) {
            const char *t = (const char *)sqlite3_column_text(s, i);
            sqlite3_bind_text(put, i + 1, t ? t : "", -1, SQLITE_TRANSIENT);
        }
        for (int i = 0; i < NVAL; i++)
            sqlite3_bind_int64(put, 5 + i, sqlite3_column_int64(s, 4 + i));
        if (sqlite3_step(put) != SQLITE_DONE) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    int out = rc == SQLITE_DONE     ? 0
              : rc == SQLITE_TOOBIG ? beat_reasonf(why, -E2BIG,
                                                   "more than %d rows: narrow from/to, group_by "
                                                   "or campaign",
                                                   DST_REPORT_ROWS_MAX)
                                    : beat_reasonf(why, -EIO, "%s: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(s);
    sqlite3_close_v2(db);
    return out;
}

/* A text cell, always quoted (ids may hold commas and quotes). */
static void csv_text(beat_buf *b, const char *s) {
    beat_buf_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"') beat_buf_puts(b, "\"\"");
        else beat_buf_append(b, p, 1);
    }
    beat_buf_puts(b, "\"");
}

/* What the counts give (docs/reports.md "Derived columns"): cost per
 * conversion (real micros, rounded down), clicks per win and conversions
 * per click; null (CSV: empty) where the divisor is 0. */
static void derived(beat_buf *b, bool csv, const int64_t *v) {
    const char *const name[3] = {"cpa_micros", "ctr", "cvr"};
    for (int i = 0; i < 3; i++) {
        int64_t den = i == 0 ? v[V_CONVS] : i == 1 ? v[V_WINS] : v[V_CLICKS];
        if (!csv) beat_buf_printf(b, ",\"%s\":", name[i]);
        else beat_buf_puts(b, ",");
        if (den <= 0) {
            if (!csv) beat_buf_puts(b, "null");
        } else if (i == 0) {
            beat_buf_printf(b, "%lld", (long long)(v[V_SPEND] / 1000 / den));
        } else {
            beat_buf_printf(b, "%.6g", (double)(i == 1 ? v[V_CLICKS] : v[V_CONVS]) / (double)den);
        }
    }
}

/* One result row (cols in group order, then the values). */
static int encode_row(beat_buf *b, const dst_rq *q, sqlite3_stmt *s, bool first) {
    if (!q->csv) beat_buf_puts(b, first ? "{" : ",{");
    for (int i = 0; i < q->n_group; i++) {
        dst_rq_col c = q->group[i];
        const char *sep = i ? "," : "";
        if (c == DST_RQ_HOUR) {
            char iso[32];
            int64_t h = sqlite3_column_int64(s, 0);
            dst_report_iso(h, iso, sizeof iso);
            if (q->csv) beat_buf_printf(b, "%s%s", sep, iso);
            else beat_buf_printf(b, "%s\"hour\":\"%s\",\"hour_ms\":%lld", sep, iso, (long long)h);
        } else {
            const char *t = (const char *)sqlite3_column_text(s, (int)c);
            if (!t) t = "";
            if (q->csv) {
                beat_buf_puts(b, sep);
                csv_text(b, t);
            } else {
                beat_buf_printf(b, "%s\"%s\":", sep, dst_rq_col_name(c));
                beat_buf_json_str(b, t, strlen(t));
            }
        }
    }
    int64_t val[NVAL];
    for (int i = 0; i < NVAL; i++) {
        const char *sep = i || q->n_group ? "," : "";
        int64_t v = val[i] = sqlite3_column_int64(s, 4 + i);
        if (i == V_SPEND) { /* spend: real micros, then the exact CPM sum */
            if (q->csv) beat_buf_printf(b, "%s%lld", sep, (long long)(v / 1000));
            else
                beat_buf_printf(b, "%s\"spend_micros\":%lld,\"spend_cpm_micros\":%lld", sep,
                                (long long)(v / 1000), (long long)v);
        } else if (q->csv) {
            beat_buf_printf(b, "%s%lld", sep, (long long)v);
        } else {
            beat_buf_printf(b, "%s\"%s\":%lld", sep, VAL_NAMES[i], (long long)v);
        }
    }
    derived(b, q->csv, val);
    return beat_buf_puts(b, q->csv ? "\r\n" : "}");
}

static int encode(sqlite3 *mem, const dst_rq *q, const char *store_id, int nfiles, beat_buf *out,
                  beat_reason *why) {
    char order[128] = "";
    for (int i = 0; i < q->n_group; i++) {
        static const char *const COL[] = {"hour_ms", "campaign", "exchange", "creative"};
        size_t n = strlen(order);
        snprintf(order + n, sizeof order - n, "%s%s", i ? ", " : " ORDER BY ", COL[q->group[i]]);
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT hour_ms, campaign, exchange, creative, opps, bids, wins, spend_cpm, imps,"
             " clicks, convs, conv_value FROM agg%s",
             order);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(mem, sql, -1, &s, NULL) != SQLITE_OK)
        return beat_reasonf(why, -EIO, "report: %s", sqlite3_errmsg(mem));
    if (q->csv) {
        for (int i = 0; i < q->n_group; i++)
            beat_buf_printf(out, "%s%s", i ? "," : "", dst_rq_col_name(q->group[i]));
        for (int i = 0; i < NVAL; i++)
            beat_buf_printf(out, "%s%s", i || q->n_group ? "," : "",
                            i == V_SPEND ? "spend_micros" : VAL_NAMES[i]);
        beat_buf_puts(out, ",cpa_micros,ctr,cvr\r\n");
    } else {
        char from[32], to[32];
        dst_report_iso(q->from_ms, from, sizeof from);
        dst_report_iso(q->to_ms, to, sizeof to);
        beat_buf_printf(out, "{\"v\":1,\"from\":\"%s\",\"from_ms\":%lld,", from,
                        (long long)q->from_ms);
        if (q->to_ms > DST_RQ_TIME_MAX) beat_buf_puts(out, "\"to\":null,\"to_ms\":null");
        else beat_buf_printf(out, "\"to\":\"%s\",\"to_ms\":%lld", to, (long long)q->to_ms);
        beat_buf_puts(out, ",\"group_by\":[");
        for (int i = 0; i < q->n_group; i++)
            beat_buf_printf(out, "%s\"%s\"", i ? "," : "", dst_rq_col_name(q->group[i]));
        beat_buf_printf(out, "],\"store\":\"%s\",\"partitions\":%d,\"rows\":[", store_id, nfiles);
    }
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) encode_row(out, q, s, n++ == 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return beat_reasonf(why, -EIO, "report: %s", sqlite3_errmsg(mem));
    if (!q->csv && beat_buf_puts(out, "]}\n") != 0)
        return beat_reasonf(why, -EIO, "report: answer too large");
    return 0;
}

int dst_report_read(const char *dir, const char *topic, const char *store_id, const dst_rq *q,
                    beat_buf *out, beat_reason *why) {
    DIR *d = opendir(dir);
    if (!d) return beat_reasonf(why, -EIO, "%s: %s", dir, strerror(errno));
    sqlite3 *mem = NULL;
    sqlite3_stmt *put = NULL;
    int rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(mem,
                          "CREATE TABLE agg(hour_ms INTEGER, campaign TEXT, exchange TEXT,"
                          " creative TEXT, opps, bids, wins, spend_cpm, imps, clicks, convs,"
                          " conv_value,"
                          " PRIMARY KEY(hour_ms, campaign, exchange, creative)) WITHOUT ROWID",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            mem,
            "INSERT INTO agg VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
            " ON CONFLICT DO UPDATE SET"
            " opps=opps+excluded.opps, bids=bids+excluded.bids, wins=wins+excluded.wins,"
            " spend_cpm=spend_cpm+excluded.spend_cpm, imps=imps+excluded.imps,"
            " clicks=clicks+excluded.clicks, convs=convs+excluded.convs,"
            " conv_value=conv_value+excluded.conv_value",
            -1, &put, NULL);
    int out_rc = rc == SQLITE_OK ? 0 : beat_reasonf(why, -EIO, "report: in-memory table failed");
    int nfiles = 0;
    sqlite3_stmt *count = NULL;
    if (!out_rc &&
        sqlite3_prepare_v2(mem, "SELECT count(*) FROM agg", -1, &count, NULL) != SQLITE_OK)
        out_rc = beat_reasonf(why, -EIO, "report: in-memory table failed");
    struct dirent *e;
    while (!out_rc && (e = readdir(d)) != NULL) {
        if (!is_part_file(e->d_name, topic)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if ((out_rc = read_file(path, q, put, why)) != 0) break;
        nfiles++;
        sqlite3_reset(count);
        if (sqlite3_step(count) == SQLITE_ROW &&
            sqlite3_column_int64(count, 0) > DST_REPORT_ROWS_MAX)
            out_rc =
                beat_reasonf(why, -E2BIG, "more than %d rows: narrow from/to, group_by or campaign",
                             DST_REPORT_ROWS_MAX);
    }
    closedir(d);
    sqlite3_finalize(count);
    sqlite3_finalize(put);
    if (!out_rc) out_rc = encode(mem, q, store_id, nfiles, out, why);
    sqlite3_close_v2(mem);
    return out_rc;
}
