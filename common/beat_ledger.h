/* The spend ledger (datastream → supervisor; docs/money.md): per Kafka
 * partition, cumulative per campaign, what notices counted — exactly once,
 * durably, in the same transaction as their dedup keys.
 *
 * GET /v1/ledger →
 * {"v":1,"instance":"datastream-1","store_full":false,
 *  "partitions":[{"p":0,"seq":812,
 *                 "campaigns":{"c1":{"spend_cpm":123000,"released_cpm":456000}}}]}
 *
 *  spend_cpm    Σ clearing prices (CPM micros) of the first priced win/bill
 *               of each (auction, imp): spend in micros is spend_cpm / 1000.
 *  released_cpm Σ signed bid prices of the (auction, imp) settled by their
 *               first priced win/bill or their loss: the worst case those
 *               bids no longer hold.
 *  seq          the partition store's commit count: it never goes back,
 *               across restarts and partition moves, so a reader keeps per
 *               partition the answer with the highest seq.
 *  store_full   the instance's dedup store reached its bound: exactly-once
 *               can no longer be promised, so no new allowance is granted.
 * Only the partitions the instance holds now are listed. Totals only grow;
 * a reader that lost an answer just reads the next one. */
#ifndef BEAT_LEDGER_H
#define BEAT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define BEAT_LEDGER_V 1
#define BEAT_LEDGER_PARTS_MAX 1024

typedef struct beat_ledger_row {
    char id[BEAT_ID_MAX + 1];
    int64_t spend_cpm, released_cpm;
} beat_ledger_row;

typedef struct beat_ledger_part {
    int32_t p;
    int64_t seq;
    int n;
    beat_ledger_row *rows; /* owned */
} beat_ledger_part;

typedef struct beat_ledger {
    char instance[BEAT_ID_MAX + 1];
    bool store_full;
    int n;
    beat_ledger_part *parts; /* owned */
} beat_ledger;

int beat_ledger_encode(const beat_ledger *l, beat_buf *out);
/* At most max_rows campaigns per partition. On success out owns its arrays
 * (beat_ledger_fini); -EBADMSG with a reason otherwise. */
int beat_ledger_decode(const char *json, size_t len, int max_rows, beat_ledger *out,
                       beat_reason *why);
void beat_ledger_fini(beat_ledger *l);

#endif
