/* Expiry (store.h dst_store_expire, docs/money.md): the stream's closed,
 * unsettled bids wait here until their partition has heard every receiver
 * past their settle window, then are released in one ledger transaction per
 * partition, a release marker each so that no bid is released twice.
 * Consumer thread only. */
#include <stdlib.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "heard.h"
#include "ledger.h"
#include "store.h"
#include "store_int.h"
#include "stream.h"

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
        dst_ledger *l = dst_store_part_ok(p) ? st->p[p].l : NULL;
        beat_reason why = {{0}};
        bool tx = l && dst_ledger_begin(l, &why) == 0;
        int64_t released = 0;
        int rc = 0;
        for (int i = 0; i < st->n_wait; i++) {
            dst_unsettled *u = &st->wait[i];
            if (u->partition != p || ripe(u, h, settle_ms, now_ms) != 1) continue;
            u->partition = -1; /* handled, whatever happens below */
            if (!tx || rc < 0) {
                beat_counter_inc(dst_store_m.expiry_dropped);
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
            beat_counter_add(dst_store_m.bids_expired, (uint64_t)released);
            done += (int)released;
            dst_store_snap(st, p);
        } else if (tx) {
            dst_ledger_rollback(l);
            beat_log_value_safe(why.msg);
            beat_log_rl(5000, BEAT_WARN, "expiry_failed", "partition=%d reason=\"%s\"", (int)p,
                        why.msg);
        }
    }
    for (int i = 0; i < st->n_wait; i++) {
        dst_unsettled *u = &st->wait[i];
        if (u->partition < 0) continue;
        int r = dst_store_part_ok(u->partition) && st->p[u->partition].l
                    ? ripe(u, h, settle_ms, now_ms)
                    : -1;
        if (r < 0) beat_counter_inc(dst_store_m.expiry_dropped);
        else st->wait[keep++] = *u;
    }
    st->n_wait = keep;
    return done;
}
