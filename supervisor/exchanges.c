/* Exchange sets in the supervisor (exchanges.h): validated strictly (an
 * operator's typo must not open the bid endpoint), stored as the encoded
 * set — which holds each key only as its SHA-256 — and handed to the owner
 * to republish. Main thread only; a refused or failed write changes
 * nothing. */
#include "exchanges.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_sha.h"

#define META_XFILE_HASH "exchanges_file_sha256"

struct sup_exch {
    sup_store *st;
    size_t max_json;
    void (*changed)(void *);
    void *arg;
    beat_exchange_set xs; /* xs.version == 0: none */
    int64_t ts_ms;
    beat_counter *accepted, *rejected;
    beat_gauge *version_g;
};

sup_exch *sup_exch_new(sup_store *st, size_t max_json, void (*changed)(void *), void *arg) {
    sup_exch *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->st = st;
    x->max_json = max_json;
    x->changed = changed;
    x->arg = arg;
    x->accepted = beat_counter_new("beat_supervisor_accepted_total{kind=\"exchanges\"}",
                                   "Writes accepted and stored");
    x->rejected = beat_counter_new("beat_supervisor_rejected_total{kind=\"exchanges\"}",
                                   "Writes rejected as invalid or too large");
    x->version_g =
        beat_gauge_new("beat_supervisor_exchanges_version", "Current version (0 = none)");
    return x;
}

void sup_exch_free(sup_exch *x) {
    if (!x) return;
    beat_exchanges_fini(&x->xs);
    free(x);
}

const beat_exchange_set *sup_exch_current(const sup_exch *x) { return &x->xs; }

/* Stores xs under the next version and swaps it in. Takes xs on success;
 * on error the caller keeps it. */
static int install(sup_exch *x, beat_exchange_set *xs, const char *source, const char *mk,
                   const char *mv, beat_reason *why) {
    int64_t version;
    if (sup_store_next_version(x->st, SUP_T_EXCHANGES, &version) != 0)
        return beat_reasonf(why, -EIO, "store failed");
    xs->version = version;
    beat_buf b;
    beat_buf_init(&b, 2 * x->max_json + 4096);
    int rc = beat_exchanges_encode(xs, &b);
    int64_t now = beat_now_ms();
    if (rc == 0)
        rc = sup_store_put(x->st, SUP_T_EXCHANGES, version, now, source, 0, b.data, b.len, mk, mv);
    beat_buf_fini(&b);
    if (rc) {
        xs->version = 0;
        return beat_reasonf(why, -EIO, "store failed");
    }
    beat_exchanges_fini(&x->xs);
    x->xs = *xs;
    x->ts_ms = now;
    beat_counter_inc(x->accepted);
    beat_gauge_set(x->version_g, (double)version);
    if (x->changed) x->changed(x->arg);
    return 0;
}

int sup_exch_put(sup_exch *x, const char *json, size_t len, int64_t *version, beat_reason *why) {
    if (len > x->max_json) {
        beat_counter_inc(x->rejected);
        return beat_reasonf(why, -EMSGSIZE, "body over %zu bytes", x->max_json);
    }
    beat_exchange_set xs = {0};
    if (beat_exchanges_decode(json, len, BEAT_EXCHANGES_STRICT, &xs, why) != 0) {
        beat_counter_inc(x->rejected);
        beat_log_rl(5000, BEAT_WARN, "exchanges_rejected", "reason=\"%s\"", why->msg);
        return -EINVAL;
    }
    char hex[65], source[80];
    beat_sha256_hex(json, len, hex);
    snprintf(source, sizeof source, "api:%s", hex);
    int rc = install(x, &xs, source, NULL, NULL, why);
    if (rc) {
        beat_exchanges_fini(&xs);
        return rc;
    }
    beat_log(BEAT_INFO, "exchanges_accepted", "version=%lld n=%d source=api",
             (long long)x->xs.version, x->xs.n);
    *version = x->xs.version;
    return 0;
}

int sup_exch_load_file(sup_exch *x, const char *path, beat_reason *why) {
    beat_buf b;
    beat_buf_init(&b, x->max_json);
    char hex[65];
    bool same = false;
    int rc = sup_read_config_file(x->st, path, META_XFILE_HASH, &b, hex, &same, why);
    if (rc) {
        beat_buf_fini(&b);
        return rc;
    }
    if (x->xs.version && same) {
        beat_log(BEAT_INFO, "exchanges_file_unchanged", "path=%s version=%lld", path,
                 (long long)x->xs.version);
        beat_buf_fini(&b);
        return 0;
    }
    beat_exchange_set xs = {0};
    beat_reason r = {{0}};
    rc = beat_exchanges_decode(b.data ? b.data : "", b.len, BEAT_EXCHANGES_STRICT, &xs, &r);
    beat_buf_fini(&b);
    if (rc) return beat_reasonf(why, -EINVAL, "%s: %s", path, r.msg);
    char source[80];
    snprintf(source, sizeof source, "file:%s", hex);
    if ((rc = install(x, &xs, source, META_XFILE_HASH, hex, why)) != 0) {
        beat_exchanges_fini(&xs);
        return rc;
    }
    beat_log(BEAT_INFO, "exchanges_loaded", "path=%s version=%lld n=%d", path,
             (long long)x->xs.version, x->xs.n);
    return 0;
}

int sup_exch_load(sup_exch *x) {
    sup_row r;
    int rc = sup_store_latest(x->st, SUP_T_EXCHANGES, &r);
    if (rc == -ENOENT) return 0;
    if (rc) return -EIO;
    beat_exchange_set xs = {0};
    beat_reason why = {{0}};
    if (beat_exchanges_decode(r.data, r.len, 0, &xs, &why) == 0) {
        xs.version = r.version;
        beat_exchanges_fini(&x->xs);
        x->xs = xs;
        x->ts_ms = r.ts_ms;
        beat_gauge_set(x->version_g, (double)r.version);
    } else {
        beat_log(BEAT_ERROR, "stored_exchanges_invalid", "version=%lld reason=\"%s\"",
                 (long long)r.version, why.msg);
    }
    sup_row_fini(&r);
    return 0;
}

int sup_exch_public_json(const sup_exch *x, beat_buf *out) {
    if (!x->xs.version) return -ENOENT;
    int rc = beat_exchanges_encode_public(&x->xs, out);
    /* "ts" of the version, inserted before the closing brace */
    if (rc == 0 && out->len && out->data[out->len - 1] == '}') {
        out->len--;
        rc = beat_buf_printf(out, ",\"ts\":%lld}", (long long)x->ts_ms);
    }
    return rc;
}
