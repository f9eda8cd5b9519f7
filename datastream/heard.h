/* Completeness watermarks (docs/contracts.md "Heartbeats", "Aggregates"):
 * per partition, per receiver, the newest heartbeat time read. Kafka keeps
 * a receiver's messages to a partition in order, so when its heartbeat
 * stamped t has been read, so has every notice it queued there before t.
 * A partition's heard time is the min over the receivers heard there
 * (heartbeat read within forget_ms) of their newest heartbeat; a receiver
 * that said goodbye is dropped at once, one that went silent after
 * forget_ms. The instance's heard time is the min over the partitions it
 * holds: 0 when it holds none, or one of them has heard nobody yet.
 * Written by the consumer thread; dst_heard_get/_receivers from any thread. */
#ifndef DST_HEARD_H
#define DST_HEARD_H

#include <stdbool.h>
#include <stdint.h>

#define DST_HEARD_PARTS_MAX 1024
#define DST_HEARD_RECEIVERS_MAX 64 /* per partition; more are ignored, counted */

typedef struct dst_heard dst_heard;

dst_heard *dst_heard_new(int64_t forget_ms);
void dst_heard_free(dst_heard *h); /* NULL no-op */

/* The partitions this instance now holds (assign) or gave up (revoke: their
 * receivers are forgotten; the next owner learns them from the log). */
void dst_heard_assign(dst_heard *h, const int32_t *parts, int n);
void dst_heard_revoke(dst_heard *h, const int32_t *parts, int n);

/* A heartbeat read from partition p at now_ms (the local clock, for
 * forgetting). ts_ms is the receiver's; lost its cumulative count of
 * events it failed to deliver (a rise is a gap: counted and logged). */
void dst_heard_beat(dst_heard *h, int32_t p, const char *node, int64_t ts_ms, int64_t lost,
                    bool bye, int64_t now_ms);

/* Forgets silent receivers and publishes the instance's heard time (call
 * after each batch and each poll). Returns it. */
int64_t dst_heard_tick(dst_heard *h, int64_t now_ms);

/* Beats stamped further ahead of now_ms than this are ignored (5000). */
void dst_heard_set_max_skew_ms(dst_heard *h, int64_t skew_ms);
/* Beats of one receiver further apart than this are a gap (3000). */
void dst_heard_set_gap_ms(dst_heard *h, int64_t gap_ms);
/* Partition p's heard time now (0: unknown, not held or nobody heard) and
 * the end of its latest gap (receivers' clock): a bid made after the gap
 * whose settle window the heard time covers has provably had every notice
 * sent for it read (docs/money.md, expiry). Consumer thread only. */
int64_t dst_heard_part(const dst_heard *h, int32_t p, int64_t *last_gap_ts);

int64_t dst_heard_get(const dst_heard *h);   /* last published; any thread */
int dst_heard_receivers(const dst_heard *h); /* distinct names known; any thread */
/* The published heard time's address, for readers that snapshot it under
 * their own lock (buckets.c: the heard time of each bucket as it closes). */
const _Atomic int64_t *dst_heard_src(const dst_heard *h);

#endif
