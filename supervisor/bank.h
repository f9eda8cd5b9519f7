/* The banker's arithmetic (docs/money.md "Budget leases"), without I/O:
 * allowances per (node incarnation, campaign), the counted ledger per
 * campaign, and the one rule — per campaign,
 *     committed = spend + Σ allowances − released ≤ budget,
 * where an incarnation that said goodbye counts what it used, not what it
 * was allowed; with a daily budget also committed ≤ the day's base + the
 * day's budget (docs/money.md "Daily budgets"). Grants are sized from each node's recent bid rate and split
 * when the headroom is short. banker.c feeds it reports, ledger totals and
 * the campaign set, and stores what changed. Not thread-safe: one owner. */
#ifndef SUP_BANK_H
#define SUP_BANK_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_campaign.h"
#include "beat_daily.h"
#include "beat_lease.h"

typedef struct sup_bank sup_bank;

typedef struct sup_bank_cfg {
    int horizon_s;      /* a lease covers this much of the node's recent bidding (120) */
    int min_lease_bids; /* and at least this many bids at the campaign's max bid (50) */
    int live_ms;        /* a node not heard from this long does not share headroom (10000) */
} sup_bank_cfg;

/* A row of durable state: what banker.c stores and restores. */
typedef struct sup_bank_row {
    const char *node;
    uint64_t inc;
    const char *campaign;
    int64_t granted_cpm, used_cpm;
    bool final;
    int64_t ts_ms;
} sup_bank_row;

sup_bank *sup_bank_new(const sup_bank_cfg *cfg);
void sup_bank_free(sup_bank *b); /* NULL: no-op */

/* Budgets, flights, pauses and max bids of the current set (copied). */
int sup_bank_set_campaigns(sup_bank *b, const beat_campaign_set *cs);
/* The counted ledger, cumulative: replaces the campaign's totals. */
int sup_bank_set_ledger(sup_bank *b, const char *campaign, int64_t spend_cpm, int64_t released_cpm);
/* While set, nothing new is granted (the dedup store is full, or the ledger
 * is not known yet after a restart: see banker.c). */
void sup_bank_hold(sup_bank *b, bool hold);

/* Restores one stored row (before any report). */
int sup_bank_restore(sup_bank *b, const sup_bank_row *r);
/* Applies a report and writes the answer into grant (rows owned by grant:
 * beat_lease_fini). -ENOMEM; -EINVAL for a report whose incarnation said
 * goodbye already (answered with an 'E' frame by the caller). */
int sup_bank_report(sup_bank *b, const beat_lease_msg *rep, int64_t now_ms, beat_lease_msg *grant);
/* Calls fn for every row changed since the last sup_bank_clean; a nonzero
 * return from fn stops there. Rows stay dirty until sup_bank_clean, which
 * the caller calls once what fn wrote is durable (its COMMIT succeeded). */
int sup_bank_flush(sup_bank *b, int (*fn)(void *arg, const sup_bank_row *r), void *arg);
void sup_bank_clean(sup_bank *b);
/* Day accounts, durable like the rows: every one changed since the last
 * sup_bank_clean (a new day's frozen base must be stored with the first
 * grant of that day), and restored at start. */
int sup_bank_flush_days(sup_bank *b,
                        int (*fn)(void *arg, const char *campaign, const beat_daily *d), void *arg);
int sup_bank_restore_day(sup_bank *b, const char *campaign, const beat_daily *d);
/* Grants withheld because a campaign's day was used up, over all campaigns
 * since start (cumulative: the caller turns deltas into a counter). */
int64_t sup_bank_daily_stops(const sup_bank *b);

/* Per campaign, for the status page and tests. -ENOENT if unknown. */
typedef struct sup_bank_acct {
    int64_t budget_cpm, spend_cpm, released_cpm, allowed_cpm, committed_cpm;
    int live_nodes;
    /* A daily budget: today's bounds (engine time, clipped to the flight),
     * budget, and committed − the day's base; has_day false otherwise. */
    bool has_day;
    int64_t day_start_ms, day_end_ms, day_budget_cpm, day_committed_cpm;
    int64_t daily_stops;
} sup_bank_acct;
int sup_bank_acct_get(const sup_bank *b, const char *campaign, int64_t now_ms, sup_bank_acct *out);
/* Campaign ids known to the bank, for iteration: i in [0, n). */
int sup_bank_n(const sup_bank *b);
const char *sup_bank_id(const sup_bank *b, int i);

#endif
