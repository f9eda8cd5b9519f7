/* One consumed batch of a partition (store.h): decode, one ledger
 * transaction (notice keys, debit markers, report rows, next offset),
 * commit, and only then the stream. So a crash between two batches loses
 * at most the batch whose commit did not happen (it is read again from the
 * stored offset, and nothing of it was counted), and a notice key that
 * committed is never counted again, whoever consumes the partition next.
 * Bids are not money and stay with the stream's in-memory dedup. Consumer
 * thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"
#include "join.h"
#include "ledger.h"
#include "report_count.h"
#include "store.h"
#include "store_int.h"

enum { W_INVALID, W_NEW, W_NEW_DEBITED, W_DUP };

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
            beat_log_value_safe(bad.msg);
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
    if (dst_store_part_ok(partition) && st->p[partition].l)
        dst_ledger_mark_get(st->p[partition].l, out);
}

int dst_store_ingest_marked(dst_store *st, dst_stream *s, int32_t partition, const dst_store_msg *m,
                            int n, int64_t now_ms, const dst_ledger_mark *last) {
    if (!dst_store_part_ok(partition) || !st->p[partition].l) return -ENOENT;
    if (n <= 0) return 0;
    dst_store_part *p = &st->p[partition];
    beat_reason why = {{0}};
    if (grow(st, n) != 0) {
        beat_reasonf(&why, -ENOMEM, "out of memory for a batch of %d", n);
        dst_store_refuse(st, partition, "write", &why, now_ms);
        dst_store_publish(st);
        return -EIO;
    }
    int64_t t0 = beat_mono_us();
    if (record(st, s, p->l, partition, m, n, now_ms, last, &why) != 0) {
        dst_store_refuse(st, partition, "write", &why, now_ms);
        dst_store_publish(st);
        return -EIO;
    }
    beat_histogram_observe(dst_store_m.commit, (double)(beat_mono_us() - t0) / 1e6);
    beat_counter_inc(dst_store_m.batches);
    dst_store_snap(st, partition);
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
        beat_counter_inc(dst_store_m.full_batches);
        beat_log_rl(60000, BEAT_ERROR, "store_full",
                    "partition=%d keys=%lld max=%lld action=kept_storing", (int)partition,
                    (long long)dst_ledger_keys(p->l), (long long)st->cfg.max_keys);
    }
    dst_store_publish(st);
    return 0;
}
