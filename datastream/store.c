/* The partitions' ledgers (store.h): opened on assignment, closed on
 * revoke, refused and retried when unusable, kept within retention in
 * small steps (dst_store_maintain) so that no transaction holds the
 * consumer for long, and their committed totals copied for GET /v1/ledger.
 * A batch's order (decode, one transaction, commit, then the stream) is
 * store_ingest.c's; releasing bids without a notice, store_expiry.c's.
 * Consumer thread only; the info snapshot is behind a mutex for the HTTP
 * and alert threads. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"
#include "ledger.h"
#include "report_count.h"
#include "store_int.h"

dst_store_metrics dst_store_m;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void) {
    dst_store_m.keys =
        beat_gauge_new("beat_datastream_store_keys",
                       "Notice keys (and debit markers) in the open partition stores.");
    dst_store_m.fill = beat_gauge_new("beat_datastream_store_fill_ratio",
                                      "Fullest open partition store: keys / --dedup-max-keys.");
    dst_store_m.full =
        beat_gauge_new("beat_datastream_store_full",
                       "1 while a partition store holds --dedup-max-keys keys or more "
                       "(keys are still stored, never forgotten).");
    dst_store_m.refused = beat_gauge_new("beat_datastream_store_refused_partitions",
                                         "Assigned partitions not consumed: their store cannot be "
                                         "opened or written (retried).");
    dst_store_m.errors = beat_counter_new("beat_datastream_store_errors_total",
                                          "Partition store failures (open, write, retention).");
    dst_store_m.expired = beat_counter_new("beat_datastream_store_expired_total",
                                           "Keys deleted by retention (--dedup-retention-s).");
    dst_store_m.batches = beat_counter_new("beat_datastream_store_batches_total",
                                           "Batches committed to a partition store.");
    dst_store_m.full_batches = beat_counter_new("beat_datastream_store_full_batches_total",
                                                "Batches committed while their store was full.");
    dst_store_m.bids_expired =
        beat_counter_new("beat_datastream_bids_expired_total",
                         "Bids released without a notice: none came within --settle-ms while every "
                         "receiver was heard throughout (docs/money.md).");
    dst_store_m.expiry_dropped = beat_counter_new(
        "beat_datastream_expiry_dropped_total",
        "Unsettled bids that will never expire (a gap in what was heard, partition "
        "moved, or waited too long): their price stays committed.");
    dst_store_m.commit = beat_histogram_new("beat_datastream_store_batch_seconds",
                                            "Time to record one batch in its partition store.",
                                            beat_latency_bounds, beat_latency_nbounds);
}

void dst_store_publish(dst_store *st) {
    dst_store_info in = {.assigned_once = st->assigned_once};
    for (int i = 0; i < DST_STORE_PARTS_MAX; i++) {
        dst_store_part *p = &st->p[i];
        if (!p->assigned) continue;
        if (p->refused) {
            if (in.n_listed < (int)(sizeof in.refused_parts / sizeof in.refused_parts[0]))
                in.refused_parts[in.n_listed++] = i;
            in.refused++;
        }
        if (!p->l) continue;
        in.open++;
        int64_t k = dst_ledger_keys(p->l);
        in.keys += k;
        double r = (double)k / (double)st->cfg.max_keys;
        if (r > in.fill_ratio) in.fill_ratio = r;
        if (k >= st->cfg.max_keys) in.full = true;
    }
    beat_gauge_set(dst_store_m.keys, (double)in.keys);
    beat_gauge_set(dst_store_m.fill, in.fill_ratio);
    beat_gauge_set(dst_store_m.full, in.full ? 1 : 0);
    beat_gauge_set(dst_store_m.refused, in.refused);
    pthread_mutex_lock(&st->mu);
    st->info = in;
    pthread_mutex_unlock(&st->mu);
}

dst_store *dst_store_new(const dst_store_cfg *cfg) {
    if (!cfg || !cfg->dir || !*cfg->dir || !cfg->topic || !*cfg->topic || cfg->retention_ms < 1 ||
        cfg->max_keys < 1)
        return NULL;
    pthread_once(&metrics_once, metrics_init);
    dst_store *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->cfg = *cfg;
    st->dir = strdup(cfg->dir);
    st->topic = strdup(cfg->topic);
    if (!st->dir || !st->topic) {
        dst_store_free(st);
        return NULL;
    }
    st->cfg.dir = st->dir;
    st->cfg.topic = st->topic;
    if (st->cfg.retry_ms <= 0) st->cfg.retry_ms = 5000;
    if (st->cfg.expire_batch <= 0) st->cfg.expire_batch = 2000;
    if (st->cfg.expire_budget_ms <= 0) st->cfg.expire_budget_ms = 20;
    if (st->cfg.report_retention_ms <= 0) st->cfg.report_retention_ms = 400 * 24 * DST_HOUR_MS;
    pthread_mutex_init(&st->mu, NULL);
    for (int i = 0; i < DST_STORE_PARTS_MAX; i++) st->p[i].snap_seq = -1;
    dst_store_publish(st);
    return st;
}

void dst_store_free(dst_store *st) {
    if (!st) return;
    for (int i = 0; i < DST_STORE_PARTS_MAX; i++) {
        dst_ledger_close(st->p[i].l);
        free(st->p[i].snap);
    }
    free(st->ev);
    free(st->what);
    free(st->bids);
    free(st->bgen);
    free(st->wait);
    free(st->dir);
    free(st->topic);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

void dst_store_snap(dst_store *st, int32_t i) {
    dst_store_part *p = &st->p[i];
    const beat_ledger_row *rows = NULL;
    int n = p->l ? dst_ledger_totals(p->l, &rows) : 0;
    beat_ledger_row *copy = n ? malloc((size_t)n * sizeof *copy) : NULL;
    if (n && !copy) return; /* the last snapshot stays: behind is the safe side */
    if (n) memcpy(copy, rows, (size_t)n * sizeof *copy);
    pthread_mutex_lock(&st->mu);
    free(p->snap);
    p->snap = copy;
    p->snap_n = n;
    p->snap_seq = p->l ? dst_ledger_seq(p->l) : -1;
    pthread_mutex_unlock(&st->mu);
}

int dst_store_ledger(dst_store *st, beat_ledger *out) {
    memset(out, 0, sizeof *out);
    int rc = 0;
    pthread_mutex_lock(&st->mu);
    out->store_full = st->info.full;
    int n = 0;
    for (int i = 0; i < DST_STORE_PARTS_MAX; i++) n += st->p[i].snap_seq >= 0 && st->p[i].l;
    if (n && !(out->parts = calloc((size_t)n, sizeof *out->parts))) rc = -ENOMEM;
    for (int i = 0; !rc && i < DST_STORE_PARTS_MAX; i++) {
        dst_store_part *p = &st->p[i];
        if (p->snap_seq < 0 || !p->l) continue;
        beat_ledger_part *q = &out->parts[out->n++];
        q->p = i;
        q->seq = p->snap_seq;
        if (p->snap_n && !(q->rows = malloc((size_t)p->snap_n * sizeof *q->rows))) {
            rc = -ENOMEM;
            break;
        }
        if (p->snap_n) memcpy(q->rows, p->snap, (size_t)p->snap_n * sizeof *q->rows);
        q->n = p->snap_n;
    }
    pthread_mutex_unlock(&st->mu);
    if (rc) beat_ledger_fini(out);
    return rc;
}

void dst_store_refuse(dst_store *st, int32_t i, const char *op, const beat_reason *why,
                      int64_t now_ms) {
    dst_store_part *p = &st->p[i];
    dst_ledger_close(p->l);
    p->l = NULL;
    dst_store_snap(st, i);
    p->refused = true;
    p->next_retry_ms = now_ms + st->cfg.retry_ms;
    beat_counter_inc(dst_store_m.errors);
    char msg[sizeof why->msg];
    snprintf(msg, sizeof msg, "%s", why->msg);
    beat_log_value_safe(msg);
    beat_log_rl(5000, BEAT_ERROR, "store_failed",
                "partition=%d op=%s action=not_consumed retry_ms=%lld reason=\"%s\"", (int)i, op,
                (long long)st->cfg.retry_ms, msg);
}

/* Opens partition i's ledger; its start offset or DST_STORE_REFUSED. */
static int64_t open_part(dst_store *st, int32_t i, int64_t now_ms, const char *op) {
    dst_store_part *p = &st->p[i];
    beat_reason why = {{0}};
    dst_ledger *l = NULL;
    int rc = dst_ledger_open(st->dir, st->topic, i, st->cfg.sync_full, &l, &why);
    if (rc) {
        dst_store_refuse(st, i, op, &why, now_ms);
        return DST_STORE_REFUSED;
    }
    p->l = l;
    p->refused = false;
    p->next_expire_ms = now_ms; /* a reopened store may hold old keys */
    dst_store_snap(st, i);
    int64_t next = dst_ledger_next_offset(l);
    beat_log(BEAT_INFO, "store_opened", "partition=%d path=%s next_offset=%lld keys=%lld", (int)i,
             dst_ledger_path(l), (long long)next, (long long)dst_ledger_keys(l));
    return next >= 0 ? next : DST_STORE_FROM_START;
}

void dst_store_assign(dst_store *st, const int32_t *parts, int n, int64_t *start, int64_t now_ms) {
    for (int k = 0; k < n; k++) {
        int32_t i = parts[k];
        if (!dst_store_part_ok(i)) { /* no ledger can exist for it: never consume it */
            start[k] = DST_STORE_REFUSED;
            beat_log_rl(5000, BEAT_ERROR, "store_failed",
                        "partition=%d op=open action=not_consumed reason=\"partition "
                        "number beyond %d\"",
                        (int)i, DST_STORE_PARTS_MAX - 1);
            continue;
        }
        dst_store_part *p = &st->p[i];
        if (p->assigned && p->l) { /* assigned twice: keep it, same start */
            int64_t next = dst_ledger_next_offset(p->l);
            start[k] = next >= 0 ? next : DST_STORE_FROM_START;
            continue;
        }
        p->assigned = true;
        start[k] = open_part(st, i, now_ms, "open");
    }
    st->assigned_once = true;
    dst_store_publish(st);
}

void dst_store_revoke(dst_store *st, const int32_t *parts, int n) {
    for (int k = 0; k < n; k++) {
        if (!dst_store_part_ok(parts[k])) continue;
        dst_store_part *p = &st->p[parts[k]];
        if (p->l)
            beat_log(BEAT_INFO, "store_closed", "partition=%d next_offset=%lld", (int)parts[k],
                     (long long)dst_ledger_next_offset(p->l));
        dst_ledger_close(p->l);
        p->l = NULL;
        dst_store_snap(st, parts[k]);
        pthread_mutex_lock(&st->mu);
        free(p->snap);
        memset(p, 0, sizeof *p);
        p->snap_seq = -1;
        pthread_mutex_unlock(&st->mu);
    }
    dst_store_publish(st);
}

/* Deletes expired keys of one ledger within the time budget left. */
static void expire(dst_store *st, int32_t i, int64_t now_ms, int64_t deadline_us) {
    dst_store_part *p = &st->p[i];
    int64_t clock = dst_ledger_clock_ms(p->l);
    if (clock > now_ms) clock = now_ms;
    int64_t cutoff = clock - st->cfg.retention_ms;
    int64_t total = 0;
    for (;;) {
        beat_reason why = {{0}};
        int n = dst_ledger_expire(p->l, cutoff, st->cfg.expire_batch, &why);
        if (n < 0) {
            beat_counter_inc(dst_store_m.errors);
            beat_log_value_safe(why.msg);
            beat_log_rl(5000, BEAT_ERROR, "store_failed",
                        "partition=%d op=expire action=retry reason=\"%s\"", (int)i, why.msg);
            p->next_expire_ms = now_ms + st->cfg.retry_ms;
            break;
        }
        total += n;
        if (n < st->cfg.expire_batch) { /* caught up: look again in a second */
            p->next_expire_ms = now_ms + 1000;
            break;
        }
        if (beat_mono_us() >= deadline_us) { /* more to do: next call */
            p->next_expire_ms = now_ms;
            break;
        }
    }
    if (total) beat_counter_add(dst_store_m.expired, (uint64_t)total);
}

int dst_store_maintain(dst_store *st, int64_t now_ms, int32_t *parts, int64_t *start, int max) {
    int out = 0;
    bool changed = false;
    int64_t deadline_us = beat_mono_us() + st->cfg.expire_budget_ms * 1000;
    for (int i = 0; i < DST_STORE_PARTS_MAX; i++) {
        dst_store_part *p = &st->p[i];
        if (!p->assigned) continue;
        if (p->refused && out < max && now_ms >= p->next_retry_ms) {
            int64_t s = open_part(st, i, now_ms, "reopen");
            if (s != DST_STORE_REFUSED) {
                parts[out] = i;
                start[out++] = s;
                beat_log(BEAT_INFO, "store_recovered", "partition=%d start=%lld", i, (long long)s);
            }
            changed = true;
        }
        if (p->l && now_ms >= p->next_report_ms) { /* report retention, in steps */
            int n = dst_report_retain(p->l, i, st->cfg.report_retention_ms, 2000, now_ms);
            p->next_report_ms = now_ms + (n == 2000 ? 100 : 5000);
        }
        if (p->l && now_ms >= p->next_expire_ms && beat_mono_us() < deadline_us) {
            int64_t before = dst_ledger_keys(p->l);
            expire(st, i, now_ms, deadline_us);
            changed |= dst_ledger_keys(p->l) != before;
        }
    }
    if (changed) dst_store_publish(st);
    return out;
}

void dst_store_retry_later(dst_store *st, int32_t partition, int64_t now_ms, const char *reason) {
    if (!dst_store_part_ok(partition) || !st->p[partition].assigned) return;
    beat_reason why = {{0}};
    snprintf(why.msg, sizeof why.msg, "%s", reason);
    dst_store_refuse(st, partition, "resume", &why, now_ms);
    dst_store_publish(st);
}

void dst_store_info_get(dst_store *st, dst_store_info *out) {
    pthread_mutex_lock(&st->mu);
    *out = st->info;
    pthread_mutex_unlock(&st->mu);
}
