/* The group side of the Kafka consumer (beat_kconsumer.c has the rest):
 * what happens when the group coordinator assigns or revokes partitions —
 * the caller's start offsets applied, offsets committed before a partition
 * moves, ownership and generations kept so nothing stale is handed out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_kconsumer_int.h"
#include "beat_log.h"

/* A partition about to move: make the offsets already handed out durable
 * first, or the next owner would hand the same events out again (counted
 * twice across instances). Waits at most 1 s for the coordinator. */
static void commit_revoked(beat_kconsumer *c, const int32_t *p, int n) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n ? n : 1);
    for (int i = 0; i < n; i++)
        if (beat_kc_part_ok(p[i]) && c->next_commit[p[i]] >= 0)
            rd_kafka_topic_partition_list_add(l, c->topic, p[i])->offset = c->next_commit[p[i]];
    if (l->cnt > 0) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
        rd_kafka_resp_err_t e = rd_kafka_commit_queue(c->rk, l, q, NULL, NULL);
        if (!e) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 1000);
            e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
            if (ev) rd_kafka_event_destroy(ev);
        }
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
            beat_log_rl(5000, BEAT_WARN, "kafka_commit_failed", "err=%s when=revoke partitions=%d",
                        rd_kafka_err2name(e), l->cnt);
        }
        rd_kafka_queue_destroy(q);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void set_owned(beat_kconsumer *c, const int32_t *p, int n, bool owned) {
    for (int i = 0; i < n; i++) {
        if (!beat_kc_part_ok(p[i])) continue;
        c->owned[p[i]] = owned;
        c->paused[p[i]] = false;
        c->gen[p[i]]++;
        c->next_commit[p[i]] = -1;
        c->last_offset[p[i]] = -1;
        if (!owned) {
            c->mark[p[i]].offset = -1;
            c->expected[p[i]] = false;
            c->check[p[i]] = KC_OK;
        }
    }
}

/* Copies the partitions of our topic into a plain array for the user fn.
 * Returns the count; *out is malloc'd (caller frees), NULL when n == 0. */
static int part_array(beat_kconsumer *c, const rd_kafka_topic_partition_list_t *parts,
                      int32_t **out) {
    *out = NULL;
    if (!parts || parts->cnt <= 0) return 0;
    int32_t *a = malloc(sizeof *a * (size_t)parts->cnt);
    if (!a) return 0;
    int n = 0;
    for (int i = 0; i < parts->cnt; i++)
        if (strcmp(parts->elems[i].topic, c->topic) == 0) a[n++] = parts->elems[i].partition;
    *out = a;
    return n;
}

/* Sets an explicit start offset on every newly assigned partition: the
 * group's committed offset, or else the current start of the log (its end
 * when auto.offset.reset asks for latest). Left to auto.offset.reset, the
 * start is resolved lazily at the first fetch, up to a second after the
 * assignment, silently skipping what arrived in between when that is the
 * end; pinned here, "assigned" means "reading from here on". If the broker
 * does not answer in time the offsets stay unset and the reset policy
 * applies. */
static void pin_start_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                              bool earliest) {
    if (!parts || parts->cnt <= 0) return;
    if (rd_kafka_committed(rk, parts, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t lo, hi;
        if (tp->offset >= 0) continue;
        tp->err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &lo, &hi, 1000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR)
            tp->offset = earliest ? lo : hi;
        else tp->offset = RD_KAFKA_OFFSET_INVALID;
    }
}

/* Where each newly assigned partition starts: the user fn's choice (start,
 * parallel to p), else pinned as above. Partitions of other topics keep
 * the default. Returns how many must be paused once assigned. */
static int apply_starts(beat_kconsumer *c, rd_kafka_topic_partition_list_t *parts,
                        const int64_t *start, int n) {
    bool any_default = false;
    for (int i = 0; i < n; i++) any_default |= start[i] == BEAT_KC_START_DEFAULT;
    for (int i = 0; i < parts->cnt; i++)
        any_default |= strcmp(parts->elems[i].topic, c->topic) != 0;
    if (any_default) pin_start_offsets(c->rk, parts, c->reset_earliest);
    int k = 0, paused = 0;
    for (int i = 0; i < parts->cnt && k < n; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (strcmp(tp->topic, c->topic) != 0) continue;
        int64_t s = start[k++];
        if (s < 0 && beat_kc_part_ok(tp->partition)) { /* no check: nothing to compare */
            c->expected[tp->partition] = false;
            c->check[tp->partition] = KC_OK;
            c->mark[tp->partition].offset = -1;
        }
        if (s == BEAT_KC_START_DEFAULT) continue;
        tp->err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (s == BEAT_KC_START_PAUSED) {
            /* Fetching is stopped right after the assign; whatever comes
             * before is never handed out (paused[]), and resume seeks. */
            tp->offset = RD_KAFKA_OFFSET_BEGINNING;
            paused++;
        } else {
            tp->offset = s >= 0                   ? beat_kc_check_start(c, tp->partition, s)
                         : s == BEAT_KC_START_END ? RD_KAFKA_OFFSET_END
                                                  : RD_KAFKA_OFFSET_BEGINNING;
        }
    }
    return paused;
}

int beat_kc_fetch_pause(beat_kconsumer *c, const int32_t *p, int n, bool pause) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n ? n : 1);
    for (int i = 0; i < n; i++) rd_kafka_topic_partition_list_add(l, c->topic, p[i]);
    rd_kafka_resp_err_t e =
        pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
        beat_log_rl(5000, BEAT_WARN, "kafka_consume_error", "err=%s reason=\"%s\"",
                    rd_kafka_err2name(e), pause ? "pause" : "resume");
        return -EIO;
    }
    return 0;
}

/* Handles both protocols: EAGER hands over the whole assignment each time
 * (assign / unassign everything), COOPERATIVE only the delta
 * (incremental_assign / incremental_unassign). */
void beat_kc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *parts, void *opaque) {
    beat_kconsumer *c = opaque;
    bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    int32_t *p = NULL;
    int n = part_array(c, parts, &p);
    atomic_fetch_add_explicit(&c->rebalances, 1, memory_order_relaxed);
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        int64_t *start = calloc((size_t)(n ? n : 1), sizeof *start);
        for (int i = 0; start && i < n; i++) start[i] = BEAT_KC_START_DEFAULT;
        /* The user picks the starts first (datastream opens its stores). */
        if (c->fn && start) c->fn(c->arg, false, p, n, start);
        int npause = 0;
        if (start) npause = apply_starts(c, parts, start, n);
        else pin_start_offsets(rk, parts, c->reset_earliest);
        if (coop) error = rd_kafka_incremental_assign(rk, parts);
        else rerr = rd_kafka_assign(rk, parts);
        if (!error && !rerr) {
            if (coop) atomic_fetch_add(&c->assigned, n);
            else atomic_store(&c->assigned, n);
            set_owned(c, p, n, true);
            if (npause) {
                int32_t *pp = malloc(sizeof *pp * (size_t)npause);
                int k = 0;
                for (int i = 0; pp && i < n; i++)
                    if (start[i] == BEAT_KC_START_PAUSED) pp[k++] = p[i];
                for (int i = 0; i < k; i++)
                    if (beat_kc_part_ok(pp[i])) c->paused[pp[i]] = true;
                if (pp) beat_kc_fetch_pause(c, pp, k, true);
                free(pp);
            }
        }
        beat_log(BEAT_INFO, "kafka_assigned", "protocol=%s partitions=%d paused=%d total=%d",
                 coop ? "cooperative" : "eager", n, npause, (int)atomic_load(&c->assigned));
        free(start);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* The user drops its state first: nothing from these partitions
         * reaches it after this call. */
        bool lost = rd_kafka_assignment_lost(rk);
        if (!lost) commit_revoked(c, p, n); /* lost: others own them already */
        set_owned(c, p, n, false);
        if (c->fn) c->fn(c->arg, true, p, n, NULL);
        if (coop) error = rd_kafka_incremental_unassign(rk, parts);
        else rerr = rd_kafka_assign(rk, NULL);
        if (coop) atomic_fetch_sub(&c->assigned, n);
        else atomic_store(&c->assigned, 0);
        if (atomic_load(&c->assigned) < 0) atomic_store(&c->assigned, 0);
        beat_log(BEAT_INFO, "kafka_revoked", "protocol=%s partitions=%d lost=%d total=%d",
                 coop ? "cooperative" : "eager", n, lost ? 1 : 0, (int)atomic_load(&c->assigned));
    } else {
        atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
        beat_log_rl(5000, BEAT_WARN, "kafka_consume_error", "err=%s reason=\"rebalance failed\"",
                    rd_kafka_err2name(err));
        if (c->fn) c->fn(c->arg, true, p, n, NULL);
        rerr = rd_kafka_assign(rk, NULL);
        atomic_store(&c->assigned, 0);
        for (int i = 0; i < KC_PARTS_MAX; i++) {
            c->owned[i] = c->paused[i] = false;
            c->gen[i]++;
        }
    }
    if (error) {
        beat_log(BEAT_WARN, "kafka_consume_error", "err=%s reason=\"%s\"",
                 rd_kafka_error_name(error), rd_kafka_error_string(error));
        atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
        rd_kafka_error_destroy(error);
    } else if (rerr) {
        beat_log(BEAT_WARN, "kafka_consume_error", "err=%s reason=\"assign failed\"",
                 rd_kafka_err2name(rerr));
        atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    }
    free(p);
}
