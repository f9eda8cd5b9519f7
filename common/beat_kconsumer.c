/* Kafka group consumer with the weak-link rules (docs/architecture.md "Every
 * link is weak", docs/contracts.md "Events on Kafka"): the caller decides
 * where each assigned partition starts (datastream: the offset its store
 * recorded), may pause a partition it cannot process and resume it at a
 * chosen offset, and commits what it processed; a partition without a
 * start of its own begins at the group's committed offset, else at the
 * log's start. A log that lost our offset (dev broker restart:
 * docs/architecture.md "Library facts") is followed from its new start
 * instead of stalling or skipping, and counted; so is a new log that has
 * already grown past our offset, told by reading the last processed
 * message again (beat_kconsumer_expect: after a start, a resume and any
 * broker error). Called by datastream's
 * consumer thread only; must never block longer than the caller's timeout
 * (plus at most 1 s to commit when partitions are revoked, 1 s per resumed
 * partition, and the start-offset lookups of an assignment) and never hand
 * broker errors out as messages. This file polls, pauses, resumes and
 * checks logs; beat_kconsumer_group.c handles assignments and revokes. */
#include "beat_kconsumer_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "beat_log.h"
#include "beat_util.h"

void beat_kc_mark_of(const rd_kafka_message_t *m, beat_kc_mark *out) {
    rd_kafka_timestamp_type_t tt;
    out->offset = m->offset;
    out->ts_ms = rd_kafka_message_timestamp(m, &tt);
    uint64_t h = XXH3_64bits_withSeed(m->key ? m->key : "", m->key ? m->key_len : 0,
                                      0x6b6d61726bULL /* "kmark" */);
    out->hash = XXH3_64bits_withSeed(m->payload ? m->payload : "", m->payload ? m->len : 0, h);
}

/* Where a partition starts (>= 0) with the caller's mark just below it:
 * start one message earlier, on the mark, and compare it first. */
int64_t beat_kc_check_start(beat_kconsumer *c, int32_t p, int64_t s) {
    if (!beat_kc_part_ok(p)) return s;
    bool check = s >= 1 && c->expected[p] && c->mark[p].offset == s - 1;
    c->expected[p] = false;
    c->check[p] = check ? KC_SOUGHT : KC_OK;
    if (!check) c->mark[p].offset = -1;
    return check ? s - 1 : s;
}

/* Any broker or transport error may be the broker going away and coming
 * back with another log: every partition read so far checks its mark again
 * at its next message. Polling thread (error_cb). */
static void suspect_all(beat_kconsumer *c) {
    for (int p = 0; p < KC_PARTS_MAX; p++)
        if (c->owned[p] && !c->paused[p] && c->mark[p].offset >= 0 && c->check[p] == KC_OK)
            c->check[p] = KC_SUSPECT;
}

/* Replaces the shared log callback of beat_kafka_route_logs() because the
 * consumer must see one line: librdkafka resolves OFFSET_OUT_OF_RANGE by
 * itself (auto.offset.reset=earliest: the log's start) and only says so in
 * a warning with facility OFFSET. That line is counted and logged as
 * "kafka_offset_reset" (an alert rule of datastream watches the count);
 * everything else goes out as "kafka_log" like beat_kafka.c does.
 * Runs on librdkafka's threads. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    beat_kconsumer *c = rk ? rd_kafka_opaque(rk) : NULL;
    if (c && level <= 4 && fac && strcmp(fac, "OFFSET") == 0 && strstr(buf, "offset reset")) {
        char msg[512];
        beat_kafka_log_safe(msg, sizeof msg, buf);
        atomic_fetch_add_explicit(&c->offset_resets, 1, memory_order_relaxed);
        beat_log_rl(1000, BEAT_WARN, "kafka_offset_reset", "action=%s msg=\"%s\"",
                    c->reset_earliest ? "log_start" : "log_end", msg);
        return;
    }
    beat_kafka_log_line(NULL, level, fac, buf);
}

/* Broker/transport errors reach us here (librdkafka serves it from
 * rd_kafka_consumer_poll on the polling thread). */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    beat_kconsumer *c = opaque;
    atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    suspect_all(c);
    char msg[512];
    beat_kafka_log_safe(msg, sizeof msg, reason);
    beat_log_rl(5000, BEAT_WARN, "kafka_consume_error", "err=%s reason=\"%s\"",
                rd_kafka_err2name((rd_kafka_resp_err_t)err), msg);
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    (void)offsets;
    beat_kconsumer *c = opaque;
    /* _NO_OFFSET: nothing to commit, not an error. */
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    beat_log_rl(5000, BEAT_WARN, "kafka_commit_failed", "err=%s", rd_kafka_err2name(err));
}

beat_kconsumer *beat_kconsumer_new(const char *brokers, const char *group, const char *topic,
                                   beat_kconsumer_rebalance_fn fn, void *arg,
                                   const char *const *extra_kv) {
    char err[512] = "";
    if (!brokers || !*brokers || !group || !*group || !topic || !*topic) {
        beat_log(BEAT_ERROR, "kafka_consumer_failed",
                 "reason=\"brokers, group and topic are required\"");
        return NULL;
    }
    beat_kconsumer *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->topic = strdup(topic);
    if (!c->topic) {
        free(c);
        return NULL;
    }
    c->fn = fn;
    c->arg = arg;
    for (int i = 0; i < KC_PARTS_MAX; i++) {
        c->last_offset[i] = c->next_commit[i] = -1;
        c->mark[i].offset = -1;
    }
    c->reset_earliest = true;
    for (const char *const *kv = extra_kv; kv && kv[0] && kv[1]; kv += 2)
        if (!strcmp(kv[0], "auto.offset.reset"))
            c->reset_earliest = !strcmp(kv[1], "earliest") || !strcmp(kv[1], "smallest") ||
                                !strcmp(kv[1], "beginning");
    const char *defaults[] = {
        "bootstrap.servers",
        brokers,
        "group.id",
        group,
        /* A lost offset (the broker's log restarted) resumes at the new
         * log's start: nothing produced since is skipped. */
        "auto.offset.reset",
        "earliest",
        "enable.auto.commit",
        "false",
        "enable.auto.offset.store",
        "false",
        "enable.partition.eof",
        "false",
        /* A dead member's partitions move within ~6 s (Kafka's minimum
         * session) instead of 45 s; it also bounds how long leaving the
         * group can take when the broker is gone. Frequent heartbeats notice a rebalance fast, which also
         * shortens the window where a broker that refuses commits during
         * rebalances (the mock) makes the next owner re-read events. */
        "session.timeout.ms",
        "6000",
        "heartbeat.interval.ms",
        "500",
        /* Bound what librdkafka prefetches for us (memory limit). */
        "queued.max.messages.kbytes",
        "65536",
        NULL,
    };
    rd_kafka_conf_t *conf = beat_kafka_conf_new(defaults, extra_kv, err, sizeof err);
    if (!conf) {
        beat_log(BEAT_ERROR, "kafka_consumer_failed", "reason=\"%s\"", err);
        free(c->topic);
        free(c);
        return NULL;
    }
    /* Our own callbacks replace the shared ones: they also count. */
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_rebalance_cb(conf, beat_kc_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!c->rk) {
        beat_kafka_log_safe(err, sizeof err, err);
        beat_log(BEAT_ERROR, "kafka_consumer_failed", "reason=\"%s\"", err);
        rd_kafka_conf_destroy(conf);
        free(c->topic);
        free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        beat_log(BEAT_ERROR, "kafka_consumer_failed", "reason=\"subscribe: %s\"",
                 rd_kafka_err2str(e));
        rd_kafka_destroy(c->rk);
        free(c->topic);
        free(c);
        return NULL;
    }
    beat_log(BEAT_INFO, "kafka_consumer_started", "brokers=%s group=%s topic=%s", brokers, group,
             topic);
    return c;
}

/* Seeks one partition (async unless wait_ms > 0). 0 or -EIO (logged). */
static int seek_to(beat_kconsumer *c, const char *topic, int32_t partition, int64_t offset,
                   int wait_ms, const char *what) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, wait_ms);
    int rc = 0;
    /* Without a wait, a seek that was started answers _IN_PROGRESS. */
    if (!e && l->elems[0].err &&
        !(wait_ms == 0 && l->elems[0].err == RD_KAFKA_RESP_ERR__IN_PROGRESS)) {
        /* a per-partition failure */
        beat_log_rl(5000, BEAT_WARN, "kafka_consume_error",
                    "err=%s partition=%d reason=\"seek to %s\"", rd_kafka_err2name(l->elems[0].err),
                    (int)partition, what);
        rc = -EIO;
    } else if (e) {
        beat_log_rl(5000, BEAT_WARN, "kafka_consume_error",
                    "err=%s partition=%d reason=\"seek to %s: %s\"", rd_kafka_error_name(e),
                    (int)partition, what, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        rc = -EIO;
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (rc) atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    return rc;
}

static void handle_error(beat_kconsumer *c, const rd_kafka_message_t *m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
        m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        /* auto.offset.reset normally resolves this inside librdkafka (the
         * OFFSET line log_cb counts); if it reaches us anyway, go to the
         * log's start by hand: the broker lost the log we were reading, so
         * everything in the new one is unread. */
        atomic_fetch_add_explicit(&c->offset_resets, 1, memory_order_relaxed);
        beat_log_rl(5000, BEAT_WARN, "kafka_offset_reset",
                    "partition=%d offset=%lld err=%s action=log_start", (int)m->partition,
                    (long long)m->offset, rd_kafka_err2name(m->err));
        seek_to(c, m->rkt ? rd_kafka_topic_name(m->rkt) : c->topic, m->partition,
                RD_KAFKA_OFFSET_BEGINNING, 0, "log start");
        return;
    }
    atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    char msg[512];
    beat_kafka_log_safe(msg, sizeof msg, rd_kafka_message_errstr(m));
    beat_log_rl(5000, BEAT_WARN, "kafka_consume_error", "err=%s partition=%d reason=\"%s\"",
                rd_kafka_err2name(m->err), (int)m->partition, msg);
}

/* Says so when a partition's offsets went backwards: the broker's log
 * restarted (a dev broker comes back empty) and we follow it from where it is
 * now. Not counted as an offset reset (that is librdkafka's OUT_OF_RANGE
 * handling, which may or may not have happened first). */
static void track_offset(beat_kconsumer *c, const rd_kafka_message_t *m) {
    if (!beat_kc_part_ok(m->partition)) return;
    int64_t *last = &c->last_offset[m->partition];
    if (*last >= 0 && m->offset <= *last)
        beat_log_rl(5000, BEAT_WARN, "kafka_log_restarted", "partition=%d from=%lld to=%lld",
                    (int)m->partition, (long long)*last, (long long)m->offset);
    *last = m->offset;
}

void beat_kconsumer_commit(beat_kconsumer *c, const int32_t *partitions, const int64_t *next,
                           int n) {
    if (!c || n <= 0) return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        if (next[i] < 0) continue;
        if (beat_kc_part_ok(partitions[i])) {
            if (!c->owned[partitions[i]]) continue; /* moved meanwhile */
            c->next_commit[partitions[i]] = next[i];
        }
        rd_kafka_topic_partition_list_add(l, c->topic, partitions[i])->offset = next[i];
    }
    if (l->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, 1 /* async */);
        if (e) {
            atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
            beat_log_rl(5000, BEAT_WARN, "kafka_commit_failed", "err=%s", rd_kafka_err2name(e));
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

int beat_kconsumer_pause(beat_kconsumer *c, int32_t partition) {
    if (!c || !beat_kc_part_ok(partition) || !c->owned[partition]) return -ENOENT;
    c->paused[partition] = true;
    c->gen[partition]++;
    int rc = beat_kc_fetch_pause(c, &partition, 1, true);
    beat_log(BEAT_INFO, "kafka_paused", "partition=%d", (int)partition);
    return rc;
}

int beat_kconsumer_resume(beat_kconsumer *c, int32_t partition, int64_t offset) {
    if (!c || !beat_kc_part_ok(partition) || !c->owned[partition]) return -ENOENT;
    /* Seek while paused, then resume: librdkafka resumes from the seeked
     * position (seeking first and pausing after would lose the seek). */
    int64_t o = offset >= 0                   ? offset
                : offset == BEAT_KC_START_END ? RD_KAFKA_OFFSET_END
                                              : RD_KAFKA_OFFSET_BEGINNING;
    bool expected = c->expected[partition];
    beat_kc_mark mark = c->mark[partition];
    if (o >= 0) {
        o = beat_kc_check_start(c, partition, o);
    } else {
        c->expected[partition] = false;
        c->check[partition] = KC_OK;
        c->mark[partition].offset = -1;
    }
    if (seek_to(c, c->topic, partition, o, 1000, "resume") != 0) {
        c->expected[partition] = expected; /* the next resume checks again */
        c->mark[partition] = mark;
        return -EIO;
    }
    if (beat_kc_fetch_pause(c, &partition, 1, false) != 0) return -EIO;
    c->paused[partition] = false;
    c->gen[partition]++;
    c->last_offset[partition] = -1;
    beat_log(BEAT_INFO, "kafka_resumed", "partition=%d offset=%lld", (int)partition,
             (long long)offset);
    return 0;
}

static bool check_msg(beat_kconsumer *c, const rd_kafka_message_t *m);

int beat_kconsumer_poll(beat_kconsumer *c, rd_kafka_message_t **msgs, int max, int timeout_ms) {
    if (!c || !msgs || max <= 0) return -EINVAL;
    if (timeout_ms < 0) timeout_ms = 0;
    if (max > c->msg_gen_cap) {
        uint32_t *g = realloc(c->msg_gen, sizeof *g * (size_t)max);
        if (!g) return -ENOMEM;
        c->msg_gen = g;
        c->msg_gen_cap = max;
    }
    int64_t deadline = beat_mono_ms() + timeout_ms;
    int n = 0;
    while (n < max) {
        /* Wait only while the batch is empty; then take what is buffered. */
        int64_t left = n ? 0 : deadline - beat_mono_ms();
        if (left < 0) left = 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, (int)left);
        if (!m) {
            if (n || beat_mono_ms() >= deadline) break;
            continue;
        }
        if (m->err) {
            handle_error(c, m);
            rd_kafka_message_destroy(m);
            if (!n && beat_mono_ms() >= deadline) break;
            continue;
        }
        c->msg_gen[n] = beat_kc_part_ok(m->partition) ? c->gen[m->partition] : 0;
        msgs[n++] = m;
    }
    /* A rebalance inside this call (rebalance_cb runs in consumer_poll)
     * hands revoked partitions to another member, which starts where the
     * store or the last commit says, and restarts reassigned ones from
     * their new start: what we collected from them before must not be
     * handed out here, nor anything of a paused partition. */
    int k = 0;
    for (int i = 0; i < n; i++) {
        int32_t p = msgs[i]->partition;
        if (beat_kc_part_ok(p) && (!c->owned[p] || c->paused[p] || c->msg_gen[i] != c->gen[p] ||
                                   (c->check[p] != KC_OK && !check_msg(c, msgs[i])))) {
            rd_kafka_message_destroy(msgs[i]);
            continue;
        }
        track_offset(c, msgs[i]);
        if (beat_kc_part_ok(p)) beat_kc_mark_of(msgs[i], &c->mark[p]);
        msgs[k++] = msgs[i];
    }
    if (k < n) beat_log_rl(5000, BEAT_INFO, "kafka_revoked_dropped", "messages=%d", n - k);
    n = k;
    if (n > 0) atomic_fetch_add_explicit(&c->consumed, (uint64_t)n, memory_order_relaxed);
    return n;
}

int beat_kconsumer_expect(beat_kconsumer *c, int32_t partition, const beat_kc_mark *mark) {
    if (!c || !mark || !beat_kc_part_ok(partition)) return -ENOENT;
    c->mark[partition] = *mark;
    c->expected[partition] = mark->offset >= 0;
    return 0;
}

/* The broker's log for this partition is not the one our mark was read
 * from: read the new one from its start (the caller's dedup makes what it
 * already processed harmless; skipping would lose what it never read). */
static void log_replaced(beat_kconsumer *c, const rd_kafka_message_t *m, const char *why) {
    int32_t p = m->partition;
    atomic_fetch_add_explicit(&c->log_replaced, 1, memory_order_relaxed);
    beat_log_rl(1000, BEAT_WARN, "kafka_log_replaced",
                "partition=%d mark_offset=%lld read_offset=%lld why=%s action=log_start", (int)p,
                (long long)c->mark[p].offset, (long long)m->offset, why);
    c->check[p] = KC_OK;
    c->mark[p].offset = -1;
    c->last_offset[p] = -1;
    c->gen[p]++; /* the rest of this batch came from the wrong position */
    if (seek_to(c, c->topic, p, RD_KAFKA_OFFSET_BEGINNING, 0, "log start (replaced)") != 0)
        c->check[p] = KC_SUSPECT; /* try again at the next message */
}

/* The identity check of one message of a partition being checked (poll's
 * hand-out loop). True: hand it out; false: drop it. */
static bool check_msg(beat_kconsumer *c, const rd_kafka_message_t *m) {
    int32_t p = m->partition;
    beat_kc_mark *mk = &c->mark[p];
    if (c->check[p] == KC_SUSPECT) {
        /* Read the mark again before anything newer: whatever was fetched
         * after it is dropped and fetched again. */
        c->gen[p]++;
        if (seek_to(c, c->topic, p, mk->offset, 0, "mark") == 0) c->check[p] = KC_SOUGHT;
        return false;
    }
    if (m->offset == mk->offset) {
        beat_kc_mark now;
        beat_kc_mark_of(m, &now);
        if (now.ts_ms == mk->ts_ms && now.hash == mk->hash) {
            c->check[p] = KC_OK; /* the same log: go on after the mark */
            atomic_fetch_add_explicit(&c->log_verified, 1, memory_order_relaxed);
            return false;
        }
        log_replaced(c, m, "mark_differs");
        return false;
    }
    if (m->offset < mk->offset) { /* the log is shorter than our mark */
        log_replaced(c, m, "log_shorter");
        return false;
    }
    /* The mark is no longer in the log (retention deleted it): nothing to
     * compare; the log still holds everything after it. */
    c->check[p] = KC_OK;
    beat_log_rl(5000, BEAT_INFO, "kafka_mark_gone",
                "partition=%d mark_offset=%lld "
                "read_offset=%lld",
                (int)p, (long long)mk->offset, (long long)m->offset);
    return true;
}

void beat_kconsumer_get_stats(beat_kconsumer *c, beat_kconsumer_stats *out) {
    if (!c || !out) return;
    out->consumed = atomic_load_explicit(&c->consumed, memory_order_relaxed);
    out->errors = atomic_load_explicit(&c->errors, memory_order_relaxed);
    out->offset_resets = atomic_load_explicit(&c->offset_resets, memory_order_relaxed);
    out->rebalances = atomic_load_explicit(&c->rebalances, memory_order_relaxed);
    out->log_replaced = atomic_load_explicit(&c->log_replaced, memory_order_relaxed);
    out->log_verified = atomic_load_explicit(&c->log_verified, memory_order_relaxed);
    out->assigned = atomic_load(&c->assigned);
}

void beat_kconsumer_free(beat_kconsumer *c) {
    if (!c) return;
    /* Leave the group (revoke callback runs, partitions move at once), but
     * never hang the exit on a dead broker: bounded wait, then destroy
     * without another close attempt (librdkafka still finishes the started
     * close within session.timeout.ms: ~6 s in all). */
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(c->rk, q);
    int flags = 0;
    if (e) {
        rd_kafka_error_destroy(e);
    } else {
        int64_t deadline = beat_mono_ms() + 3000;
        while (!rd_kafka_consumer_closed(c->rk) && beat_mono_ms() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (!ev) continue;
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
                beat_kc_rebalance_cb(c->rk, rd_kafka_event_error(ev),
                                     rd_kafka_event_topic_partition_list(ev), c);
            }
            rd_kafka_event_destroy(ev);
        }
        if (!rd_kafka_consumer_closed(c->rk)) {
            beat_log(BEAT_WARN, "kafka_close_timeout", "waited_ms=3000");
            flags = RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE;
        }
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy_flags(c->rk, flags);
    beat_log(BEAT_INFO, "kafka_consumer_closed", "consumed=%llu",
             (unsigned long long)atomic_load(&c->consumed));
    free(c->msg_gen);
    free(c->topic);
    free(c);
}
