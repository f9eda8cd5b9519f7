/* First-party segment lists (segments.h). The lists live in memory as
 * their hashes (what the 'U' frame carries, at most
 * BEAT_SEGLIST_TOTAL_MAX in all: 32 MiB) and in SQLite; every change is
 * one transaction (the list row and the segments version in meta), then
 * the frame is rebuilt and published. The hash seed is drawn once per
 * database and kept in meta: stored hashes stay valid across restarts. */
#include "segments.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "beat_json.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_seglist.h"

typedef struct list {
    char id[BEAT_ID_MAX + 1];
    int64_t version, ts_ms;
    uint32_t n;
    uint64_t *h; /* owned */
} list;

struct sup_segs {
    sup_store *st;
    sup_pub *pub;
    uint32_t max_ids;
    int64_t version;
    uint64_t seed;
    int n;
    list l[BEAT_SEGLISTS_MAX]; /* ascending id */
    beat_counter *puts, *deletes, *rejected;
    beat_gauge *ids_g, *lists_g;
};

static const char SCHEMA[] = "CREATE TABLE IF NOT EXISTS segment_lists("
                             " id TEXT PRIMARY KEY, version INTEGER NOT NULL, ts INTEGER NOT NULL,"
                             " n INTEGER NOT NULL, hashes BLOB NOT NULL)";

static int db_fail(sup_segs *g, const char *what) {
    sqlite3 *db = sup_store_db(g->st, false);
    beat_log_rl(5000, BEAT_ERROR, "db_error", "what=%s err=\"%s\"", what, sqlite3_errmsg(db));
    return -EIO;
}

static int exec(sup_segs *g, const char *sql) {
    return sqlite3_exec(sup_store_db(g->st, false), sql, NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : db_fail(g, sql);
}

static int meta_put(sup_segs *g, const char *k, const char *v) {
    sqlite3_stmt *s = NULL;
    sqlite3 *db = sup_store_db(g->st, false);
    int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(k,v) VALUES(?,?)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : db_fail(g, "meta");
}

static size_t total_ids(const sup_segs *g) {
    size_t t = 0;
    for (int i = 0; i < g->n; i++) t += g->l[i].n;
    return t;
}

/* The 'U' frame of every list, published; the gauges follow. */
static void publish(sup_segs *g) {
    beat_gauge_set(g->lists_g, g->n);
    beat_gauge_set(g->ids_g, (double)total_ids(g));
    if (!g->pub) return;
    beat_seglist v[BEAT_SEGLISTS_MAX];
    for (int i = 0; i < g->n; i++)
        v[i] = (beat_seglist){.version = g->l[i].version, .n = g->l[i].n, .h = g->l[i].h};
    for (int i = 0; i < g->n; i++) memcpy(v[i].id, g->l[i].id, sizeof v[i].id);
    beat_seglists s = {.version = g->version, .seed = g->seed, .n = g->n, .l = v};
    beat_buf b;
    beat_buf_init(&b, BEAT_SEGLISTS_FRAME_MAX);
    int rc = beat_seglists_encode(&s, &b);
    sup_frame *f = rc == 0 ? sup_frame_new(b.len) : NULL;
    if (f) {
        memcpy(f->data, b.data, b.len);
        sup_pub_set_segments(g->pub, g->version, f);
        sup_frame_unref(f);
    } else {
        beat_log_rl(5000, BEAT_ERROR, "segments_publish_failed", "err=%d", rc ? rc : -ENOMEM);
    }
    beat_buf_fini(&b);
}

static int find(const sup_segs *g, const char *id, bool *hit) {
    int lo = 0, hi = g->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(g->l[mid].id, id);
        if (c == 0) {
            *hit = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *hit = false;
    return lo;
}

/* seed and version from meta (a new seed for a new database), then the
 * rows. */
static int load(sup_segs *g) {
    char val[64];
    int rc = sup_store_meta_get(g->st, "segments_seed", val, sizeof val);
    if (rc == -ENOENT) {
        g->seed = beat_random_u64();
        snprintf(val, sizeof val, "%016" PRIx64, g->seed);
        if ((rc = meta_put(g, "segments_seed", val))) return rc;
    } else if (rc) {
        return -EIO;
    } else {
        g->seed = strtoull(val, NULL, 16);
    }
    if (sup_store_meta_get(g->st, "segments_version", val, sizeof val) == 0)
        g->version = strtoll(val, NULL, 10);
    sqlite3_stmt *s = NULL;
    sqlite3 *db = sup_store_db(g->st, false);
    if (sqlite3_prepare_v2(db, "SELECT id, version, ts, n, hashes FROM segment_lists ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK)
        return db_fail(g, "load");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && g->n < BEAT_SEGLISTS_MAX) {
        list *l = &g->l[g->n];
        const char *id = (const char *)sqlite3_column_text(s, 0);
        int64_t n = sqlite3_column_int64(s, 3);
        int bytes = sqlite3_column_bytes(s, 4);
        const void *blob = sqlite3_column_blob(s, 4);
        if (!id || strlen(id) > BEAT_ID_MAX || n < 0 || n > BEAT_SEGLIST_IDS_MAX ||
            (int64_t)bytes != n * 8) {
            beat_log(BEAT_ERROR, "segment_list_skipped", "id=%s reason=\"bad row\"", id ? id : "?");
            continue;
        }
        snprintf(l->id, sizeof l->id, "%s", id);
        l->version = sqlite3_column_int64(s, 1);
        l->ts_ms = sqlite3_column_int64(s, 2);
        l->n = (uint32_t)n;
        l->h = malloc(n ? (size_t)n * 8 : 1);
        if (!l->h) {
            sqlite3_finalize(s);
            return -ENOMEM;
        }
        for (int64_t k = 0; k < n; k++) l->h[k] = beat_get_le64((const uint8_t *)blob + 8 * k);
        g->n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(g, "load");
}

sup_segs *sup_segs_new(sup_store *st, sup_pub *pub, uint32_t max_ids, int *err) {
    sup_segs *g = calloc(1, sizeof *g);
    if (!g) {
        *err = -ENOMEM;
        return NULL;
    }
    g->st = st;
    g->pub = pub;
    g->max_ids = max_ids < 1 || max_ids > BEAT_SEGLIST_IDS_MAX ? BEAT_SEGLIST_IDS_MAX : max_ids;
    const char *h = "First-party segment list changes";
    g->puts = beat_counter_new("beat_supervisor_segment_writes_total{op=\"put\"}", h);
    g->deletes = beat_counter_new("beat_supervisor_segment_writes_total{op=\"delete\"}", h);
    g->rejected = beat_counter_new("beat_supervisor_rejected_total{kind=\"segments\"}",
                                   "Writes rejected as invalid or too large");
    g->lists_g = beat_gauge_new("beat_supervisor_segment_lists", "First-party segment lists held");
    g->ids_g = beat_gauge_new("beat_supervisor_segment_ids",
                              "Distinct user ids over all first-party segment lists");
    int rc = exec(g, SCHEMA);
    if (!rc) rc = load(g);
    if (rc) {
        *err = rc;
        sup_segs_free(g);
        return NULL;
    }
    if (g->version > 0) publish(g);
    return g;
}

void sup_segs_free(sup_segs *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) free(g->l[i].h);
    free(g);
}

/* One transaction: the row (NULL hashes: delete it) and the version. */
static int store(sup_segs *g, const char *id, int64_t version, int64_t ts, const uint64_t *h,
                 uint32_t n) {
    sqlite3 *db = sup_store_db(g->st, true);
    uint8_t *blob = NULL;
    if (h && !(blob = malloc(n ? (size_t)n * 8 : 1))) return -ENOMEM;
    for (uint32_t k = 0; h && k < n; k++) beat_put_le64(blob + 8 * k, h[k]);
    int rc = exec(g, "BEGIN IMMEDIATE");
    sqlite3_stmt *s = NULL;
    if (!rc) {
        const char *sql = h ? "INSERT OR REPLACE INTO segment_lists(id,version,ts,n,hashes) "
                              "VALUES(?,?,?,?,?)"
                            : "DELETE FROM segment_lists WHERE id=?";
        int q = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
        if (q == SQLITE_OK) {
            sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
            if (h) {
                sqlite3_bind_int64(s, 2, version);
                sqlite3_bind_int64(s, 3, ts);
                sqlite3_bind_int64(s, 4, n);
                sqlite3_bind_blob(s, 5, blob, (int)(n * 8), SQLITE_STATIC);
            }
            q = sqlite3_step(s);
        }
        sqlite3_finalize(s);
        char v[BEAT_I64_CHARS];
        beat_fmt_i64(v, version);
        rc = q == SQLITE_DONE ? meta_put(g, "segments_version", v) : db_fail(g, "segment_lists");
        if (!rc) rc = exec(g, "COMMIT");
        if (rc) exec(g, "ROLLBACK");
    }
    free(blob);
    return rc;
}

int sup_segs_put(sup_segs *g, const char *id, const char *body, size_t len, int64_t *version,
                 uint32_t *n, beat_reason *why) {
    if (!beat_id_ok(id, strlen(id), BEAT_ID_MAX)) {
        beat_counter_inc(g->rejected);
        return beat_reasonf(why, -EINVAL, "list id must match [A-Za-z0-9_.:-]{1,%d}", BEAT_ID_MAX);
    }
    bool hit;
    int at = find(g, id, &hit);
    if (!hit && g->n == BEAT_SEGLISTS_MAX) {
        beat_counter_inc(g->rejected);
        return beat_reasonf(why, -EMSGSIZE, "already %d lists: delete one first",
                            BEAT_SEGLISTS_MAX);
    }
    uint64_t *h = NULL;
    uint32_t nh = 0;
    int rc = beat_seglist_parse(body, len, g->seed, g->max_ids, &h, &nh, why);
    if (!rc && total_ids(g) - (hit ? g->l[at].n : 0) + nh > BEAT_SEGLIST_TOTAL_MAX)
        rc = beat_reasonf(why, -EMSGSIZE, "all lists together would hold more than %d ids",
                          BEAT_SEGLIST_TOTAL_MAX);
    if (rc) {
        free(h);
        beat_counter_inc(g->rejected);
        return rc;
    }
    int64_t v = g->version + 1, ts = beat_now_ms();
    if ((rc = store(g, id, v, ts, h ? h : (uint64_t[1]){0}, nh))) {
        free(h);
        return beat_reasonf(why, rc, "cannot store the list");
    }
    if (hit) {
        free(g->l[at].h);
    } else {
        memmove(&g->l[at + 1], &g->l[at], (size_t)(g->n - at) * sizeof g->l[0]);
        g->n++;
        snprintf(g->l[at].id, sizeof g->l[at].id, "%s", id);
    }
    g->l[at].h = h;
    g->l[at].n = nh;
    g->l[at].version = v;
    g->l[at].ts_ms = ts;
    g->version = v;
    beat_counter_inc(g->puts);
    beat_log(BEAT_INFO, "segment_list_stored", "id=%s version=%lld ids=%u", id, (long long)v, nh);
    publish(g);
    *version = v;
    *n = nh;
    return 0;
}

int sup_segs_delete(sup_segs *g, const char *id, int64_t *version, beat_reason *why) {
    bool hit;
    int at = find(g, id, &hit);
    if (!hit) return beat_reasonf(why, -ENOENT, "no such list");
    int64_t v = g->version + 1;
    int rc = store(g, id, v, beat_now_ms(), NULL, 0);
    if (rc) return beat_reasonf(why, rc, "cannot delete the list");
    free(g->l[at].h);
    memmove(&g->l[at], &g->l[at + 1], (size_t)(g->n - at - 1) * sizeof g->l[0]);
    g->n--;
    g->version = v;
    beat_counter_inc(g->deletes);
    beat_log(BEAT_INFO, "segment_list_deleted", "id=%s version=%lld", id, (long long)v);
    publish(g);
    *version = v;
    return 0;
}

static void list_json(beat_json_enc *e, const list *l) {
    beat_json_put_raw(e, "{\"id\":");
    beat_json_put_str(e, l->id);
    beat_json_put_printf(e, ",\"version\":%" PRId64 ",\"size\":%u,\"ts\":%" PRId64 "}", l->version,
                         l->n, l->ts_ms);
}

int sup_segs_json(const sup_segs *g, const char *id, beat_buf *out) {
    beat_json_enc e = beat_json_enc_start(out);
    if (id) {
        bool hit;
        int at = find(g, id, &hit);
        if (!hit) return -ENOENT;
        list_json(&e, &g->l[at]);
        return beat_json_enc_done(&e);
    }
    beat_json_put_printf(&e, "{\"version\":%" PRId64 ",\"lists\":[", g->version);
    for (int i = 0; i < g->n; i++) {
        if (i) beat_json_put_raw(&e, ",");
        list_json(&e, &g->l[i]);
    }
    beat_json_put_raw(&e, "]}");
    return beat_json_enc_done(&e);
}

int64_t sup_segs_version(const sup_segs *g) { return g->version; }
