/* Internal to common/: the group consumer's state, shared by
 * beat_kconsumer.c (polling, pause/resume, the log identity check) and
 * beat_kconsumer_group.c (the rebalance callback: assignment starts,
 * commit on revoke). Daemons never include this header. */
#ifndef BEAT_KCONSUMER_INT_H
#define BEAT_KCONSUMER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include "beat_kafka.h"

/* Per-partition bookkeeping (ownership, commit on revoke, restart notice)
 * covers partitions below this; higher ones are consumed without it. */
#define KC_PARTS_MAX 1024

/* A partition's log identity check (beat_kconsumer_expect). */
enum { KC_OK, KC_SUSPECT, KC_SOUGHT };

struct beat_kconsumer {
    rd_kafka_t *rk;
    char *topic;
    beat_kconsumer_rebalance_fn fn;
    void *arg;
    _Atomic uint64_t consumed, errors, offset_resets, rebalances, log_replaced, log_verified;
    _Atomic int32_t assigned;
    bool reset_earliest; /* auto.offset.reset asks for the log's start */
    /* Polling thread only (rebalance_cb runs inside poll): */
    int64_t last_offset[KC_PARTS_MAX]; /* highest offset seen; -1 = none */
    int64_t next_commit[KC_PARTS_MAX]; /* processed in this ownership */
    bool owned[KC_PARTS_MAX];
    bool paused[KC_PARTS_MAX];
    /* Bumped on every assign, revoke, pause and resume of a partition: a
     * message collected under an older generation is not handed out. */
    uint32_t gen[KC_PARTS_MAX];
    uint32_t *msg_gen; /* poll scratch: generation of each collected message */
    /* The last message processed (handed out, or named by the caller) and
     * whether it must be read again and compared before going on. */
    beat_kc_mark mark[KC_PARTS_MAX];
    bool expected[KC_PARTS_MAX]; /* mark named by the caller: check on start */
    uint8_t check[KC_PARTS_MAX];
    int msg_gen_cap;
};

static inline bool beat_kc_part_ok(int32_t p) { return p >= 0 && p < KC_PARTS_MAX; }

/* Where partition p starts when the caller asked for offset s >= 0: one
 * message earlier when the caller's mark sits just below s, so that the
 * mark is read again and compared first (beat_kconsumer_expect). */
int64_t beat_kc_check_start(beat_kconsumer *c, int32_t p, int64_t s);
/* Pauses (pause) or resumes fetching of partitions p[0..n) of our topic;
 * -EIO (logged, counted) when librdkafka refuses. */
int beat_kc_fetch_pause(beat_kconsumer *c, const int32_t *p, int n, bool pause);
/* librdkafka's rebalance callback (runs inside the consumer poll). */
void beat_kc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *parts, void *opaque);

#endif
