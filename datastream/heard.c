/* Per partition, per receiver, the newest heartbeat (heard.h). Tables are
 * small (a few receivers per partition) and only the held partitions are
 * walked, so a linear scan is the whole data structure. Consumer thread
 * only, except the published atomics. Never logs per heartbeat. */
#include "heard.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"
#include "beat_wire.h"

typedef struct rcv {
    char name[BEAT_ID_MAX + 1];
    int64_t newest_ts; /* the receiver's clock */
    int64_t read_ms;   /* ours: when its newest heartbeat was read */
    int64_t lost;
} rcv;

typedef struct part {
    bool held;
    int n;
    rcv *r; /* DST_HEARD_RECEIVERS_MAX, allocated on first use */
    /* Receivers' clock: the end of the latest gap seen here (a receiver's
     * beats further apart than gap_ms, more lost events, a receiver new or
     * forgotten): notices sent around then may be lost unheard. */
    int64_t last_gap_ts;
} part;

struct dst_heard {
    int64_t forget_ms, gap_ms, skew_ms;
    part p[DST_HEARD_PARTS_MAX];
    _Atomic int64_t heard_ms;
    _Atomic int receivers;
};

static struct { beat_counter *beats, *gaps, *full, *forgotten, *byes, *future; } M;

dst_heard *dst_heard_new(int64_t forget_ms) {
    if (forget_ms < 1) return NULL;
    dst_heard *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->forget_ms = forget_ms;
    h->gap_ms = 3000;
    h->skew_ms = 5000;
    M.beats = beat_counter_new("beat_datastream_heartbeats_total",
                               "Receiver heartbeats read (never counted as events).");
    M.gaps = beat_counter_new("beat_datastream_heartbeat_gaps_total",
                              "Heartbeats whose receiver reports more lost events than "
                              "its previous one in that partition (notices lost before Kafka).");
    M.full = beat_counter_new("beat_datastream_heartbeat_receivers_full_total",
                              "Heartbeats of a new receiver ignored: the partition already "
                              "tracks the maximum number of receivers.");
    M.forgotten = beat_counter_new("beat_datastream_receivers_forgotten_total",
                                   "Receivers dropped from a partition after "
                                   "--receiver-forget-s without a heartbeat.");
    M.byes = beat_counter_new("beat_datastream_receiver_byes_total",
                              "Receivers dropped from a partition by their goodbye "
                              "heartbeat (graceful stop).");
    M.future = beat_counter_new("beat_datastream_heartbeats_future_total",
                                "Heartbeats ignored because their ts is further ahead of "
                                "this clock than --max-clock-skew-ms.");
    return h;
}

void dst_heard_free(dst_heard *h) {
    if (!h) return;
    for (int i = 0; i < DST_HEARD_PARTS_MAX; i++) free(h->p[i].r);
    free(h);
}

static bool part_ok(int32_t p) { return p >= 0 && p < DST_HEARD_PARTS_MAX; }

void dst_heard_assign(dst_heard *h, const int32_t *parts, int n) {
    for (int i = 0; i < n; i++)
        if (part_ok(parts[i])) h->p[parts[i]].held = true;
}

void dst_heard_revoke(dst_heard *h, const int32_t *parts, int n) {
    for (int i = 0; i < n; i++) {
        if (!part_ok(parts[i])) continue;
        part *q = &h->p[parts[i]];
        q->held = false;
        q->n = 0;
    }
}

void dst_heard_beat(dst_heard *h, int32_t p, const char *node, int64_t ts_ms, int64_t lost,
                    bool bye, int64_t now_ms) {
    if (!part_ok(p) || !node || !*node) return;
    beat_counter_inc(M.beats);
    /* A beat from the future would claim every notice up to then has been
     * read, settling bids before their notices could arrive: ignored, the
     * receiver's last good beat stands (docs/contracts.md "Timestamps"). */
    if (beat_ts_ahead(ts_ms, now_ms, h->skew_ms)) {
        beat_counter_inc(M.future);
        beat_log_rl(10000, BEAT_WARN, "future_timestamp",
                    "what=heartbeat partition=%d node=%s ts=%lld ahead_ms=%lld "
                    "max_clock_skew_ms=%lld",
                    (int)p, node, (long long)ts_ms, (long long)(ts_ms - now_ms),
                    (long long)h->skew_ms);
        return;
    }
    part *q = &h->p[p];
    int k = 0;
    while (k < q->n && strcmp(q->r[k].name, node) != 0) k++;
    if (bye) { /* a graceful stop: nothing more will come from it */
        if (k < q->n) {
            q->r[k] = q->r[--q->n];
            beat_counter_inc(M.byes);
        }
        return;
    }
    if (k == q->n) {
        if (!q->r && !(q->r = calloc(DST_HEARD_RECEIVERS_MAX, sizeof *q->r))) return;
        if (q->n == DST_HEARD_RECEIVERS_MAX) {
            beat_counter_inc(M.full);
            beat_log_rl(60000, BEAT_WARN, "heartbeat_receivers_full", "partition=%d max=%d node=%s",
                        (int)p, DST_HEARD_RECEIVERS_MAX, node);
            return;
        }
        rcv *r = &q->r[q->n++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", node);
        r->lost = lost;
        /* What it did before its first beat read here is unknown. */
        if (ts_ms > q->last_gap_ts) q->last_gap_ts = ts_ms;
        beat_log_rl(1000, BEAT_INFO, "receiver_heard", "partition=%d node=%s", (int)p, node);
    }
    rcv *r = &q->r[k];
    bool gap = lost > r->lost || (r->newest_ts > 0 && ts_ms - r->newest_ts > h->gap_ms);
    if (gap && ts_ms > q->last_gap_ts) q->last_gap_ts = ts_ms;
    if (lost > r->lost) {
        beat_counter_inc(M.gaps);
        beat_log_rl(10000, BEAT_WARN, "receiver_lost_events",
                    "partition=%d node=%s lost=%lld before=%lld", (int)p, node, (long long)lost,
                    (long long)r->lost);
    }
    r->lost = lost; /* a restarted receiver counts from 0 again */
    /* Re-read heartbeats (a log read again) never move it back. */
    if (ts_ms > r->newest_ts) r->newest_ts = ts_ms;
    r->read_ms = now_ms;
}

int64_t dst_heard_tick(dst_heard *h, int64_t now_ms) {
    int64_t heard = INT64_MAX;
    bool any = false;
    /* distinct names over the held partitions (bounded: a small table) */
    char names[DST_HEARD_RECEIVERS_MAX][BEAT_ID_MAX + 1];
    int nn = 0;
    for (int i = 0; i < DST_HEARD_PARTS_MAX; i++) {
        part *q = &h->p[i];
        if (!q->held) continue;
        any = true;
        int64_t ph = INT64_MAX;
        for (int k = 0; k < q->n;) {
            rcv *r = &q->r[k];
            if (now_ms - r->read_ms > h->forget_ms) {
                /* Its silence was unheard: a gap up to the others' newest. */
                for (int j = 0; j < q->n; j++)
                    if (q->r[j].newest_ts > q->last_gap_ts) q->last_gap_ts = q->r[j].newest_ts;
                beat_counter_inc(M.forgotten);
                beat_log_rl(10000, BEAT_WARN, "receiver_forgotten",
                            "partition=%d node=%s silent_ms=%lld", i, r->name,
                            (long long)(now_ms - r->read_ms));
                q->r[k] = q->r[--q->n];
                continue;
            }
            if (r->newest_ts < ph) ph = r->newest_ts;
            int j = 0;
            while (j < nn && strcmp(names[j], r->name) != 0) j++;
            if (j == nn && nn < DST_HEARD_RECEIVERS_MAX)
                snprintf(names[nn++], sizeof names[0], "%s", r->name);
            k++;
        }
        /* Nobody heard here (yet, or any more): unknown, not "now". */
        if (ph == INT64_MAX) ph = 0;
        if (ph < heard) heard = ph;
    }
    if (!any) heard = 0;
    atomic_store(&h->heard_ms, heard);
    atomic_store(&h->receivers, nn);
    return heard;
}

void dst_heard_set_max_skew_ms(dst_heard *h, int64_t skew_ms) {
    if (skew_ms >= 0) h->skew_ms = skew_ms;
}

void dst_heard_set_gap_ms(dst_heard *h, int64_t gap_ms) {
    if (gap_ms > 0) h->gap_ms = gap_ms;
}

int64_t dst_heard_part(const dst_heard *h, int32_t p, int64_t *last_gap_ts) {
    *last_gap_ts = INT64_MAX;
    if (!part_ok(p) || !h->p[p].held || h->p[p].n == 0) return 0;
    const part *q = &h->p[p];
    int64_t ph = INT64_MAX;
    for (int k = 0; k < q->n; k++)
        if (q->r[k].newest_ts < ph) ph = q->r[k].newest_ts;
    *last_gap_ts = q->last_gap_ts;
    return ph;
}

int64_t dst_heard_get(const dst_heard *h) { return atomic_load(&((dst_heard *)h)->heard_ms); }

int dst_heard_receivers(const dst_heard *h) { return atomic_load(&((dst_heard *)h)->receivers); }

const _Atomic int64_t *dst_heard_src(const dst_heard *h) { return &h->heard_ms; }
