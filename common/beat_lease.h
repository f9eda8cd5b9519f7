/* The lease link (docs/money.md "Budget leases"): each inference node
 * reports what it has bid per campaign and the supervisor answers with what
 * it may bid, over nng req/rep on the supervisor's lease socket.
 *
 *  'L' + {"v":1,"node":"inference-1","inc":"9f3a…","ts":…,"final":false,
 *         "campaigns":{"c1":1500000,…}}      report: used (W), cumulative
 *  'G' + {"v":1,"inc":"9f3a…","ts":…,"campaigns":{"c1":9000000,…}}
 *                                            grant: allowed (A), cumulative
 *  'E' + UTF-8 reason                         refusal (not the primary, …)
 *
 * Amounts are CPM micros (a bid's price is its own worst case, summed
 * without rounding); budgets are micros, so a budget B allows B × 1000.
 * "inc" is the node's incarnation, random per process start: a restarted
 * node starts from zero used and zero allowed, and its predecessor's
 * allowance stays committed. Both sides refuse what they cannot read with a
 * reason; unknown fields are ignored (docs/contracts.md "Versions"). */
#ifndef BEAT_LEASE_H
#define BEAT_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define BEAT_LEASE_V 1
#define BEAT_FRAME_LEASE_REPORT 'L'
#define BEAT_FRAME_LEASE_GRANT 'G'
/* Largest amount on the link: keeps sums of a few thousand far from int64
 * overflow (2^53 CPM micros is $9 billion). */
#define BEAT_LEASE_CPM_MAX ((int64_t)1 << 53)

typedef struct beat_lease_row {
    char id[BEAT_ID_MAX + 1];
    int64_t cpm; /* report: used; grant: allowed */
} beat_lease_row;

typedef struct beat_lease_msg {
    char tag;                   /* BEAT_FRAME_LEASE_REPORT or _GRANT */
    char node[BEAT_ID_MAX + 1]; /* report only */
    uint64_t inc;
    int64_t ts_ms;
    bool final; /* report only: the node is stopping */
    int n;
    beat_lease_row *rows; /* owned */
} beat_lease_msg;

/* Appends the frame (tag included). -EINVAL for an unwritable message
 * (bad tag, id lengths, negative or huge amounts). */
int beat_lease_encode(const beat_lease_msg *m, beat_buf *out);
/* Decodes a whole frame whose tag must be want. At most max_rows campaigns.
 * On success out owns its rows (beat_lease_fini); -EBADMSG with a reason
 * otherwise (out untouched). */
int beat_lease_decode(const void *msg, size_t len, char want, int max_rows, beat_lease_msg *out,
                      beat_reason *why);
void beat_lease_fini(beat_lease_msg *m);

#endif
