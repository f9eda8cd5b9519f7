/* Pending report increments of one batch (report_rows.h): an array of rows
 * with an open-addressing index over it, so a batch of N events touches at
 * most N rows in O(N), then one UPSERT per row at commit. The index is
 * rebuilt as the array grows; both are emptied after each batch and keep
 * their capacity (bounded by the largest batch seen). */
#include "report_rows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

const char DST_REPORT_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS reports(hour_ms INTEGER NOT NULL, campaign TEXT NOT NULL,"
    " exchange TEXT NOT NULL, creative TEXT NOT NULL, opps INTEGER NOT NULL DEFAULT 0,"
    " bids INTEGER NOT NULL DEFAULT 0, wins INTEGER NOT NULL DEFAULT 0,"
    " spend_cpm INTEGER NOT NULL DEFAULT 0, imps INTEGER NOT NULL DEFAULT 0,"
    " clicks INTEGER NOT NULL DEFAULT 0, convs INTEGER NOT NULL DEFAULT 0,"
    " conv_value INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(hour_ms, campaign, exchange, creative)) WITHOUT ROWID;";

/* Columns added after the table's first version, oldest first: a file
 * made before gets each with its default (docs/reports.md "Durable"). */
static const char *const ADDED[][2] = {
    {"conv_value", "ALTER TABLE reports ADD COLUMN conv_value INTEGER NOT NULL DEFAULT 0"},
};

int dst_rrows_migrate(sqlite3 *db, beat_reason *why) {
    for (size_t i = 0; i < sizeof ADDED / sizeof ADDED[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT %s FROM reports LIMIT 0", ADDED[i][0]);
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
        sqlite3_finalize(s);
        if (rc == SQLITE_OK) continue;
        if (sqlite3_exec(db, ADDED[i][1], NULL, NULL, NULL) != SQLITE_OK)
            return beat_reasonf(why, -EIO, "migrate reports (%s): %s", ADDED[i][0],
                                sqlite3_errmsg(db));
    }
    return 0;
}

typedef struct pend {
    dst_report_key k;
    dst_report_delta d;
} pend;

struct dst_rrows {
    sqlite3_stmt *put, *expire;
    pend *rows;
    int n, cap;
    int32_t *idx; /* slot → row index + 1 (0 = empty); nidx = 2 * cap */
    int nidx;
};

dst_rrows *dst_rrows_new(sqlite3 *db, beat_reason *why) {
    dst_rrows *r = calloc(1, sizeof *r);
    if (!r) {
        beat_reasonf(why, -ENOMEM, "out of memory");
        return NULL;
    }
    int rc = sqlite3_prepare_v2(
        db,
        "INSERT INTO reports(hour_ms, campaign, exchange, creative, opps, bids, wins,"
        " spend_cpm, imps, clicks, convs, conv_value)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
        " ON CONFLICT(hour_ms, campaign, exchange, creative) DO UPDATE SET"
        " opps=opps+excluded.opps, bids=bids+excluded.bids, wins=wins+excluded.wins,"
        " spend_cpm=spend_cpm+excluded.spend_cpm, imps=imps+excluded.imps,"
        " clicks=clicks+excluded.clicks, convs=convs+excluded.convs,"
        " conv_value=conv_value+excluded.conv_value",
        -1, &r->put, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db,
                                "DELETE FROM reports WHERE (hour_ms, campaign, exchange, creative)"
                                " IN (SELECT hour_ms, campaign, exchange, creative FROM reports"
                                " WHERE hour_ms < ?1 ORDER BY hour_ms LIMIT ?2)",
                                -1, &r->expire, NULL);
    if (rc != SQLITE_OK) {
        beat_reasonf(why, -EIO, "prepare reports: %s", sqlite3_errmsg(db));
        dst_rrows_free(r);
        return NULL;
    }
    return r;
}

void dst_rrows_free(dst_rrows *r) {
    if (!r) return;
    sqlite3_finalize(r->put);
    sqlite3_finalize(r->expire);
    free(r->rows);
    free(r->idx);
    free(r);
}

static uint64_t hash_key(const dst_report_key *k) {
    char b[3 * (BEAT_ID_MAX + 1)];
    size_t n = 0;
    const char *f[3] = {k->campaign, k->exchange, k->creative};
    for (int i = 0; i < 3; i++) {
        size_t l = strnlen(f[i], BEAT_ID_MAX);
        memcpy(b + n, f[i], l);
        n += l;
        b[n++] = 0;
    }
    return XXH3_64bits_withSeed(b, n, (uint64_t)k->hour_ms);
}

static bool same(const dst_report_key *a, const dst_report_key *b) {
    return a->hour_ms == b->hour_ms && strcmp(a->campaign, b->campaign) == 0 &&
           strcmp(a->exchange, b->exchange) == 0 && strcmp(a->creative, b->creative) == 0;
}

/* The slot of k: its row's, or the empty one where it goes. */
static int32_t *slot_of(dst_rrows *r, const dst_report_key *k) {
    size_t mask = (size_t)r->nidx - 1, i = (size_t)hash_key(k) & mask;
    while (r->idx[i] && !same(&r->rows[r->idx[i] - 1].k, k)) i = (i + 1) & mask;
    return &r->idx[i];
}

static int grow(dst_rrows *r) {
    int cap = r->cap ? 2 * r->cap : 64;
    pend *rows = realloc(r->rows, (size_t)cap * sizeof *rows);
    if (!rows) return -ENOMEM;
    r->rows = rows;
    int32_t *idx = calloc((size_t)cap * 2, sizeof *idx);
    if (!idx) return -ENOMEM;
    free(r->idx);
    r->idx = idx;
    r->nidx = cap * 2;
    r->cap = cap;
    for (int i = 0; i < r->n; i++) *slot_of(r, &r->rows[i].k) = i + 1;
    return 0;
}

int dst_rrows_add(dst_rrows *r, const dst_report_key *k, const dst_report_delta *d) {
    if (r->n == r->cap && grow(r) != 0) return -ENOMEM;
    int32_t *s = slot_of(r, k);
    if (!*s) {
        r->rows[r->n] = (pend){.k = *k};
        *s = ++r->n;
    }
    dst_report_delta *t = &r->rows[*s - 1].d;
    t->opps += d->opps;
    t->bids += d->bids;
    t->wins += d->wins;
    t->spend_cpm += d->spend_cpm;
    t->imps += d->imps;
    t->clicks += d->clicks;
    t->convs += d->convs;
    t->conv_value += d->conv_value;
    return 0;
}

int dst_rrows_flush(dst_rrows *r) {
    for (int i = 0; i < r->n; i++) {
        const pend *p = &r->rows[i];
        sqlite3_stmt *s = r->put;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, p->k.hour_ms);
        sqlite3_bind_text(s, 2, p->k.campaign, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, p->k.exchange, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, p->k.creative, -1, SQLITE_STATIC);
        const int64_t v[] = {p->d.opps, p->d.bids,   p->d.wins,  p->d.spend_cpm,
                             p->d.imps, p->d.clicks, p->d.convs, p->d.conv_value};
        for (int j = 0; j < 8; j++) sqlite3_bind_int64(s, 5 + j, v[j]);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) return rc;
    }
    return SQLITE_DONE;
}

void dst_rrows_clear(dst_rrows *r) {
    if (r->n) memset(r->idx, 0, (size_t)r->nidx * sizeof *r->idx);
    r->n = 0;
}

int dst_rrows_pending(const dst_rrows *r) { return r->n; }

int dst_rrows_expire(dst_rrows *r, int64_t cutoff_hour_ms, int max) {
    if (max <= 0) return 0;
    sqlite3_bind_int64(r->expire, 1, cutoff_hour_ms);
    sqlite3_bind_int(r->expire, 2, max);
    int rc = sqlite3_step(r->expire);
    sqlite3_reset(r->expire);
    if (rc != SQLITE_DONE) return -rc;
    return sqlite3_changes(sqlite3_db_handle(r->expire));
}
