/* The partitions' ledgers and the order of a batch (store.h): decode, one
 * ledger transaction (notice keys, debit markers, next offset), commit,
 * and only then the stream. So a crash between two batches loses at most
 * the batch whose commit did not happen (it is read again from the stored
 * offset, and nothing of it was counted), and a notice key that committed
 * is never counted again, whoever consumes the partition next. Bids are
 * not money and stay with the stream's in-memory dedup. Retention and
 * retries run from dst_store_maintain in small steps so that no
 * transaction holds the consumer for long. Consumer thread only; the info
 * snapshot is behind a mutex for the HTTP and alert threads. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"
#include "join.h"
#include "ledger.h"
#include "report_count.h"

typedef struct part {
    dst_ledger *l;
    bool assigned, refused;
    int64_t next_retry_ms, next_expire_ms, next_report_ms;
    /* The ledger's committed totals as GET /v1/ledger serves them; under
     * mu (the HTTP thread reads them). snap_seq < 0: not held here. */
    beat_ledger_row *snap;
    int snap_n;
    int64_t snap_seq;
} part;

struct dst_store {
    dst_store_cfg cfg;
    char *dir, *topic;
    part p[DST_STORE_PARTS_MAX];
    bool assigned_once;
    /* batch scratch, grown on demand */
    beat_event *ev;
    uint8_t *what;
    int cap;
    uint64_t *bids; /* the batch's bid keys (open addressing), 2 × cap slots */
    uint32_t *bgen; /* a slot is used when its generation is the batch's */
    uint32_t gen;
    /* Unsettled bids waiting for their partition's heard time (expiry). */
    dst_unsettled *wait;
    int n_wait;
    pthread_mutex_t mu; /* guards info and the parts' snapshots */
    dst_store_info info;
};

enum { W_INVALID, W_NEW, W_NEW_DEBITED, W_DUP };

static struct {
    beat_gauge *keys, *fill, *full, *refused;
    beat_counter *errors, *expired, *batches, *full_batches;
    beat_counter *bids_expired, *expiry_dropped;
    beat_histogram *commit;
} M;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void) {
    M.keys = beat_gauge_new("beat_datastream_store_keys",
                            "Notice keys (and debit markers) in the open partition stores.");
    M.fill = beat_gauge_new("beat_datastream_store_fill_ratio",
                            "Fullest open partition store: keys / --dedup-max-keys.");
    M.full = beat_gauge_new("beat_datastream_store_full",
                            "1 while a partition store holds --dedup-max-keys keys or more "
                            "(keys are still stored, never forgotten).");
    M.refused = beat_gauge_new("beat_datastream_store_refused_partitions",
                               "Assigned partitions not consumed: their store cannot be "
                               "opened or written (retried).");
    M.errors = beat_counter_new("beat_datastream_store_errors_total",
                                "Partition store failures (open, write, retention).");
    M.expired = beat_counter_new("beat_datastream_store_expired_total",
                                 "Keys deleted by retention (--dedup-retention-s).");
    M.batches = beat_counter_new("beat_datastream_store_batches_total",
                                 "Batches committed to a partition store.");
    M.full_batches = beat_counter_new("beat_datastream_store_full_batches_total",
                                      "Batches committed while their store was full.");
    M.bids_expired =
        beat_counter_new("beat_datastream_bids_expired_total",
                         "Bids released without a notice: none came within --settle-ms while every "
                         "receiver was heard throughout (docs/money.md).");
    M.expiry_dropped = beat_counter_new(
        "beat_datastream_expiry_dropped_total",
        "Unsettled bids that will never expire (a gap in what was heard, partition "
        "moved, or waited too long): their price stays committed.");
    M.commit = beat_histogram_new("beat_datastream_store_batch_seconds",
                                  "Time to record one batch in its partition store.",
                                  beat_latency_bounds, beat_latency_nbounds);
}

static bool part_ok(int32_t p) { return p >= 0 && p < DST_STORE_PARTS_MAX; }

/* Recomputes the snapshot and gauges (after every change; O(partitions)). */
static void publish(dst_store *st) {
    dst_store_info in = {.assigned_once = st->assigned_once};
    for (int i = 0; i < DST_STORE_PARTS_MAX; i++) {
        part *p = &st->p[i];
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
    beat_gauge_set(M.keys, (double)in.keys);
    beat_gauge_set(M.fill, in.fill_ratio);
    beat_gauge_set(M.full, in.full ? 1 : 0);
    beat_gauge_set(M.refused, in.refused);
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
    publish(st);
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

/* Copies partition i's committed totals for the HTTP thread (after a
 * commit or an open); a closed ledger's snapshot goes. */
static void snap(dst_store *st, int32_t i) {
    part *p = &st->p[i];
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
        part *p = &st->p[i];
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

/* The partition stops being consumed until its ledger opens again. */
static void refuse(dst_store *st, int32_t i, const char *op, const beat_reason *why,
                   int64_t now_ms) {
    part *p = &st->p[i];
    dst_ledger_close(p->l);
    p->l = NULL;
    snap(st, i);
    p->refused = true;
    p->next_retry_ms = now_ms + st->cfg.retry_ms;
    beat_counter_inc(M.errors);
    char msg[sizeof why->msg];
    snprintf(msg, sizeof msg, "%s", why->msg);
    for (char *q = msg; *q; q++)
        if (*q == '"' || *q == '\\') *q = '\'';
    beat_log_rl(5000, BEAT_ERROR, "store_failed",
                "partition=%d op=%s action=not_consumed retry_ms=%lld reason=\"%s\"", (int)i, op,
                (long long)st->cfg.retry_ms, msg);
}

/* Opens partition i's ledger; its start offset or DST_STORE_REFUSED. */
static int64_t open_part(dst_store *st, int32_t i, int64_t now_ms, const char *op) {
    part *p = &st->p[i];
    beat_reason why = {{0}};
    dst_ledger *l = NULL;
    int rc = dst_ledger_open(st->dir, st->topic, i, st->cfg.sync_full, &l, &why);
    if (rc) {
        refuse(st, i, op, &why, now_ms);
        return DST_STORE_REFUSED;
    }
    p->l = l;
    p->refused = false;
    p->next_expire_ms = now_ms; /* a reopened store may hold old keys */
    snap(st, i);
    int64_t next = dst_ledger_next_offset(l);
    beat_log(BEAT_INFO, "store_opened", "partition=%d path=%s next_offset=%lld keys=%lld", (int)i,
             dst_ledger_path(l), (long long)next, (long long)dst_ledger_keys(l));
    return next >= 0 ? next : DST_STORE_FROM_START;
}

void dst_store_assign(dst_store *st, const int32_t *parts, int n, int64_t *start, int64_t now_ms) {
    for (int k = 0; k < n; k++) {
        int32_t i = parts[k];
        if (!part_ok(i)) { /* no ledger can exist for it: never consume it */
            start[k] = DST_STORE_REFUSED;
            beat_log_rl(5000, BEAT_ERROR, "store_failed",
                        "partition=%d op=open action=not_consumed reason=\"partition "
                        "number beyond %d\"",
                        (int)i, DST_STORE_PARTS_MAX - 1);
            continue;
        }
        part *p = &st->p[i];
        if (p->assigned && p->l) { /* assigned twice: keep it, same start */
            int64_t next = dst_ledger_next_offset(p->l);
            start[k] = next >= 0 ? next : DST_STORE_FROM_START;
            continue;
        }
        p->assigned = true;
        start[k] = open_part(st, i, now_ms, "open");
    }
    st->assigned_once = true;
    publish(st);
}

void dst_store_revoke(dst_store *st, const int32_t *parts, int n) {
    for (int k = 0; k < n; k++) {
        if (!part_ok(parts[k])) continue;
        part *p = &st->p[parts[k]];
        if (p->l)
            beat_log(BEAT_INFO, "store_closed", "partition=%d next_offset=%lld", (int)parts[k],
                     (long long)dst_ledger_next_offset(p->l));
        dst_ledger_close(p->l);
        p->l = NULL;
        snap(st, parts[k]);
        pthread_mutex_lock(&st->mu);
        free(p->snap);
        memset(p, 0, sizeof *p);
        p->snap_seq = -1;
        pthread_mutex_unlock(&st->mu);
    }
    publish(st);
}

static int grow(dst_store *st, int n) {
    if (n <= st->cap) return 0;
    beat_event *ev = realloc(st->ev, sizeof *ev * (size_t)n);
    if (!ev) return -ENOMEM;
    st->ev = ev;
    uint8_t *w = realloc(st->what, (size_t)n);
    if (!w) return -ENOMEM;
    st->what = w;
    uint64_t *b = realloc(st->bids, sizeof *b * 2 * (size_t)n);
    if (!b) return -ENOMEM;
    st->bids = b;
    uint32_t *g = calloc(2 * (size_t)n, sizeof *g);
    if (!g) return -ENOMEM;
    free(st->bgen);
    st->bgen = g;
    st->gen = 0;
    st->cap = n;
    return 0;
}

/* A bid the aggregates would not count (docs/reports.md "Bids and
 * opportunities"): the join remembers its (auction, imp)'s bid, or the
 * batch had it already (the join sees the batch only after it commits). */
static bool bid_again(dst_store *st, dst_stream *s, const beat_event *ev) {
    if (dst_stream_seen(s, ev->auction, ev->imp, BEAT_EV_BID)) return true;
    uint64_t k = dst_join_key(ev->auction, ev->imp);
    size_t n = 2 * (size_t)st->cap, i = k % n;
    for (; st->bgen[i] == st->gen; i = (i + 1) % n)
        if (st->bids[i] == k) return true;
    st->bgen[i] = st->gen;
    st->bids[i] = k;
    return false;
}

static bool is_notice(beat_event_type t) {
    return t == BEAT_EV_WIN || t == BEAT_EV_BILL || t == BEAT_EV_LOSS || t == BEAT_EV_IMP ||
           t == BEAT_EV_CLICK || t == BEAT_EV_CONV;
}

/* The money of a new notice, once per (auction, imp), in the batch: the
 * first priced win/bill debits its clearing price (spend); that or a loss
 * settles the bid, whose signed price then no longer counts as committed
 * (released; docs/money.md). Markers make both exactly once for the life
 * of the keys. 0 or a negative errno. */
static int settle(dst_ledger *l, const beat_event *ev, int64_t nts, uint8_t *what, int64_t *spent) {
    bool priced = (ev->type == BEAT_EV_WIN || ev->type == BEAT_EV_BILL) &&
                  ev->price_cpm_micros > 0 && ev->price_cpm_micros <= DST_PRICE_CPM_MAX;
    int64_t spend = 0;
    if (priced) {
        int rc = dst_ledger_add(l, dst_ledger_key(ev->auction, ev->imp, DST_LEDGER_DEBIT), nts);
        if (rc < 0) return rc;
        if (rc == 0) *what = W_NEW_DEBITED;
        else spend = ev->price_cpm_micros;
    }
    int64_t released = 0;
    if ((priced || ev->type == BEAT_EV_LOSS) && ev->bid_cpm_micros > 0 &&
        ev->bid_cpm_micros <= DST_PRICE_CPM_MAX) {
        int rc = dst_ledger_add(l, dst_ledger_release_key(dst_join_key(ev->auction, ev->imp)), nts);
        if (rc < 0) return rc;
        if (rc == 1) released = ev->bid_cpm_micros;
    }
    *spent = spend;
    if ((spend || released) && ev->campaign[0])
        return dst_ledger_credit(l, ev->campaign, spend, released);
    return 0;
}

/* Records the batch in the ledger; fills st->ev / st->what. */
static int record(dst_store *st, dst_stream *s, dst_ledger *l, int32_t partition,
                  const dst_store_msg *m, int n, int64_t now_ms, const dst_ledger_mark *last,
                  beat_reason *why) {
    int64_t clock = dst_ledger_clock_ms(l), next = -1;
    if (++st->gen == 0) { /* wrapped: no slot may look used */
        memset(st->bgen, 0, 2 * (size_t)st->cap * sizeof *st->bgen);
        st->gen = 1;
    }
    int rc = dst_ledger_begin(l, why);
    if (rc) return rc;
    if (last && last->offset == m[n - 1].offset) dst_ledger_set_mark(l, last);
    for (int i = 0; i < n; i++) {
        beat_event *ev = &st->ev[i];
        beat_reason bad = {{0}};
        const char *json = m[i].payload ? m[i].payload : "";
        if (beat_event_decode(json, m[i].payload ? m[i].len : 0, ev, &bad) != 0) {
            st->what[i] = W_INVALID;
            /* the reason may quote input: keep it one logfmt value */
            for (char *q = bad.msg; *q; q++)
                if (*q == '"' || *q == '\\') *q = '\'';
            beat_log_rl(5000, BEAT_WARN, "invalid_event", "partition=%d offset=%lld reason=\"%s\"",
                        (int)partition, (long long)m[i].offset, bad.msg);
        } else {
            st->what[i] = W_NEW;
            /* The retention clock: the newest event time seen, never ahead
             * of ours (a bogus future ts must not expire everything). */
            int64_t ts = ev->ts_ms < now_ms ? ev->ts_ms : now_ms;
            if (ts > clock) clock = ts;
            int64_t spent = 0, nts = 0;
            bool count = true;
            if (is_notice(ev->type)) {
                nts = dst_stream_dedup_ts(ev);
                rc = dst_ledger_add(l, dst_ledger_key(ev->auction, ev->imp, (int)ev->type), nts);
                if (rc == 0) st->what[i] = W_DUP;
                else if (rc == 1) rc = settle(l, ev, nts, &st->what[i], &spent);
            } else if (ev->type == BEAT_EV_OPP) { /* few: a key each (node, campaign, ts) */
                rc = dst_ledger_add(l, dst_ledger_key(ev->node, ev->campaign, (int)ev->type),
                                    ev->ts_ms);
                if (rc == 0) st->what[i] = W_DUP;
            } else if (ev->type == BEAT_EV_BID) { /* many: no key, the join's memory */
                count = !bid_again(st, s, ev);
            }
            /* The report rows, in the same transaction (report_count.h). */
            if (rc >= 0 && count && (st->what[i] == W_NEW || st->what[i] == W_NEW_DEBITED))
                rc = dst_report_count(l, ev, spent, nts, now_ms);
            if (rc < 0) {
                dst_ledger_rollback(l);
                return beat_reasonf(why, rc, "%s: insert failed (%s)", dst_ledger_path(l),
                                    strerror(-rc));
            }
        }
        if (m[i].offset + 1 > next) next = m[i].offset + 1;
    }
    /* The batch's own offsets are the truth, also when they are below the
     * stored one (the broker's log restarted from 0). */
    return dst_ledger_commit(l, next, clock, why);
}

int dst_store_ingest(dst_store *st, dst_stream *s, int32_t partition, const dst_store_msg *m, int n,
                     int64_t now_ms) {
    return dst_store_ingest_marked(st, s, partition, m, n, now_ms, NULL);
}

void dst_store_mark(dst_store *st, int32_t partition, dst_ledger_mark *out) {
    out->offset = -1;
    if (part_ok(partition) && st->p[partition].l) dst_ledger_mark_get(st->p[partition].l, out);
}

int dst_store_ingest_marked(dst_store *st, dst_stream *s, int32_t partition, const dst_store_msg *m,
                            int n, int64_t now_ms, const dst_ledger_mark *last) {
    if (!part_ok(partition) || !st->p[partition].l) return -ENOENT;
    if (n <= 0) return 0;
    part *p = &st->p[partition];
    beat_reason why = {{0}};
    if (grow(st, n) != 0) {
        beat_reasonf(&why, -ENOMEM, "out of memory for a batch of %d", n);
        refuse(st, partition, "write", &why, now_ms);
        publish(st);
        return -EIO;
    }
    int64_t t0 = beat_mono_us();
    if (record(st, s, p->l, partition, m, n, now_ms, last, &why) != 0) {
        refuse(st, partition, "write", &why, now_ms);
        publish(st);
        return -EIO;
    }
    beat_histogram_observe(M.commit, (double)(beat_mono_us() - t0) / 1e6);
    beat_counter_inc(M.batches);
    snap(st, partition);
    for (int i = 0; i < n; i++) {
        switch (st->what[i]) {
            case W_INVALID: dst_stream_count_invalid(s); break;
            case W_DUP: dst_stream_count_duplicate(s, &st->ev[i]); break;
            case W_NEW_DEBITED:
                dst_stream_apply_ex(s, &st->ev[i], partition, now_ms, DST_APPLY_DEBITED);
                break;
            default: dst_stream_apply_ex(s, &st->ev[i], partition, now_ms, 0); break;
        }
    }
    if (dst_ledger_keys(p->l) >= st->cfg.max_keys) {
        beat_counter_inc(M.full_batches);
        beat_log_rl(60000, BEAT_ERROR, "store_full",
                    "partition=%d keys=%lld max=%lld action=kept_storing", (int)partition,
                    (long long)dst_ledger_keys(p->l), (long long)st->cfg.max_keys);
    }
    publish(st);
    return 0;
}

/* Deletes expired keys of one ledger within the time budget left. */
static void expire(dst_store *st, int32_t i, int64_t now_ms, int64_t deadline_us) {
    part *p = &st->p[i];
    int64_t clock = dst_ledger_clock_ms(p->l);
    if (clock > now_ms) clock = now_ms;
    int64_t cutoff = clock - st->cfg.retention_ms;
    int64_t total = 0;
    for (;;) {
        beat_reason why = {{0}};
        int n = dst_ledger_expire(p->l, cutoff, st->cfg.expire_batch, &why);
        if (n < 0) {
            beat_counter_inc(M.errors);
            for (char *q = why.msg; *q; q++)
                if (*q == '"' || *q == '\\') *q = '\'';
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
    if (total) beat_counter_add(M.expired, (uint64_t)total);
}

int dst_store_maintain(dst_store *st, int64_t now_ms, int32_t *parts, int64_t *start, int max) {
    int out = 0;
    bool changed = false;
    int64_t deadline_us = beat_mono_us() + st->cfg.expire_budget_ms * 1000;
    for (int i = 0; i < DST_STORE_PARTS_MAX; i++) {
        part *p = &st->p[i];
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
    if (changed) publish(st);
    return out;
}

void dst_store_retry_later(dst_store *st, int32_t partition, int64_t now_ms, const char *reason) {
    if (!part_ok(partition) || !st->p[partition].assigned) return;
    beat_reason why = {{0}};
    snprintf(why.msg, sizeof why.msg, "%s", reason);
    refuse(st, partition, "resume", &why, now_ms);
    publish(st);
}

void dst_store_info_get(dst_store *st, dst_store_info *out) {
    pthread_mutex_lock(&st->mu);
    *out = st->info;
    pthread_mutex_unlock(&st->mu);
}

/* ---- expiry (docs/money.md) -------------------------------------------------- */

/* A bid may expire when its partition has heard every receiver up to its
 * settle window's end and saw no gap since it was made. 1 = expire now,
 * 0 = not yet, -1 = never (drop it). */
static int ripe(const dst_unsettled *u, const dst_heard *h, int64_t settle_ms, int64_t now_ms) {
    int64_t gap, heard = dst_heard_part(h, u->partition, &gap);
    if (gap >= u->bid_ts_ms) return -1; /* something may have been lost unheard */
    if (heard >= u->bid_ts_ms + settle_ms) return 1;
    /* Waited four settle windows (and at least a minute): heard is stuck. */
    int64_t patience = 4 * settle_ms > 60000 ? 4 * settle_ms : 60000;
    return now_ms - u->closed_ms > patience ? -1 : 0;
}

int dst_store_expire(dst_store *st, dst_stream *s, const dst_heard *h, int64_t settle_ms,
                     int64_t now_ms) {
    if (!st->wait && !(st->wait = malloc(DST_UNSETTLED_MAX * sizeof *st->wait))) return 0;
    st->n_wait +=
        dst_stream_take_unsettled(s, st->wait + st->n_wait, DST_UNSETTLED_MAX - st->n_wait);
    int done = 0, keep = 0;
    for (;;) {
        /* One transaction per partition: find the next partition with a ripe bid. */
        int32_t p = -1;
        for (int i = 0; i < st->n_wait && p < 0; i++)
            if (ripe(&st->wait[i], h, settle_ms, now_ms) == 1) p = st->wait[i].partition;
        if (p < 0) break;
        dst_ledger *l = part_ok(p) ? st->p[p].l : NULL;
        beat_reason why = {{0}};
        bool tx = l && dst_ledger_begin(l, &why) == 0;
        int64_t released = 0;
        int rc = 0;
        for (int i = 0; i < st->n_wait; i++) {
            dst_unsettled *u = &st->wait[i];
            if (u->partition != p || ripe(u, h, settle_ms, now_ms) != 1) continue;
            u->partition = -1; /* handled, whatever happens below */
            if (!tx || rc < 0) {
                beat_counter_inc(M.expiry_dropped);
                continue;
            }
            rc = dst_ledger_add(l, dst_ledger_release_key(u->join_key), u->bid_ts_ms);
            if (rc == 1) {
                rc = dst_ledger_credit(l, u->campaign, 0, u->bid_cpm);
                released++;
                u->released = true;
            }
        }
        bool ok =
            tx && rc >= 0 &&
            dst_ledger_commit(l, dst_ledger_next_offset(l), dst_ledger_clock_ms(l), &why) == 0;
        /* In the aggregates only what the ledger now says expired. */
        for (int i = 0; released && i < st->n_wait; i++)
            if (st->wait[i].released) {
                if (ok) dst_stream_expired(s, &st->wait[i], now_ms);
                st->wait[i].released = false;
            }
        if (ok) {
            beat_counter_add(M.bids_expired, (uint64_t)released);
            done += (int)released;
            snap(st, p);
        } else if (tx) {
            dst_ledger_rollback(l);
            beat_log_rl(5000, BEAT_WARN, "expiry_failed", "partition=%d reason=\"%s\"", (int)p,
                        why.msg);
        }
    }
    for (int i = 0; i < st->n_wait; i++) {
        dst_unsettled *u = &st->wait[i];
        if (u->partition < 0) continue;
        int r = part_ok(u->partition) && st->p[u->partition].l ? ripe(u, h, settle_ms, now_ms) : -1;
        if (r < 0) beat_counter_inc(M.expiry_dropped);
        else st->wait[keep++] = *u;
    }
    st->n_wait = keep;
    return done;
}
