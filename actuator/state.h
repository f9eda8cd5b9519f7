/* The actuator's bookkeeping: per-campaign spend and controller state, the
 * per-datastream cursors, and the state JSON pushed to (and restored from)
 * the supervisor. No I/O and no clocks here: links.c feeds it decoded
 * aggregates, main.c steps the controllers, pacer_test.c checks it. */
#ifndef ACT_STATE_H
#define ACT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_campaign.h"
#include "beat_metrics.h"
#include "beat_pull.h"
#include "beat_util.h"
#include "beat_wire.h"
#include "daily.h"
#include "landscape.h"
#include "pacer.h"

#define ACT_CURSORS_MAX 64

typedef struct act_camp {
    char id[BEAT_ID_MAX + 1];
    bool in_set; /* in the supervisor's current campaign set */
    int64_t start_ms, end_ms, budget_micros;
    bool op_paused;
    int64_t spent_micros; /* counted from aggregates, restored on start */
    int64_t opps;         /* opportunities counted from aggregates, likewise */
    beat_pacing mode;     /* the campaign's, else the actuator's default */
    /* dayparting: open hours and their zone (interned, never freed) */
    beat_sched sched;
    const beat_tz *tz;
    int64_t bids, wins, imps, clicks; /* since this process started */
    act_pacer ctl;
    beat_campaign day_c; /* daily budget, rule, zone, flight: the scalars daily.c reads */
    act_daily daily;     /* the current day's account (persisted in "private") */
    act_land land;       /* win-price landscape: the state's win_curve */
    beat_gauge *g_spend, *g_mult, *g_forecast; /* set by main.c; NULL until then */
} act_camp;

typedef struct act_state {
    act_camp **c; /* owned, n of them */
    int n, max;
    int *index; /* open addressing into c; -1 = empty */
    uint32_t index_mask;
    beat_pull_cursor cur[ACT_CURSORS_MAX]; /* keyed by datastream URL */
    int64_t data_end_ms[ACT_CURSORS_MAX];  /* newest bucket end applied per
                                             cursor by this process; 0 = none */
    /* The datastream's last heard_ms (every notice produced before it is in
     * the buckets it listed; 0 = it does not know); has_heard false: it
     * sends none (a datastream from before heartbeats). */
    int64_t heard_ms[ACT_CURSORS_MAX];
    bool has_heard[ACT_CURSORS_MAX];
    int n_cur;
    /* A datastream time (bucket end, heard_ms) further ahead of our clock
     * than this is not trusted as a watermark (5000 after init; main sets
     * --max-clock-skew-ms). */
    int64_t max_skew_ms;
    act_land_cfg land_cfg; /* defaults after init; main sets the flags */
    /* Pacing mode of campaigns that name none (EVEN after init; main sets
     * --pacing-mode). */
    beat_pacing default_mode;
} act_state;

typedef struct act_apply_result {
    int64_t buckets;    /* buckets counted */
    int64_t missed;     /* buckets that fell out of the datastream before we saw them */
    int64_t dropped;    /* rows dropped: campaign table full */
    int64_t future;     /* times ahead of our clock beyond max_skew_ms: the rows
                         are counted, the time is not taken as a watermark */
    bool epoch_changed; /* the datastream restarted (new epoch) */
    bool refetch;       /* ...under a cursor past 0: cursor reset, pull again from 0 */
} act_apply_result;

/* max_campaigns bounds the table (campaigns seen in sets or aggregates). */
int act_state_init(act_state *st, int max_campaigns);
void act_state_fini(act_state *st);
act_camp *act_state_find(const act_state *st, const char *id);
/* Finds or creates (controller initialised); NULL when the table is full
 * or the id is too long. */
act_camp *act_state_get(act_state *st, const char *id);
/* Finds or creates the cursor of a datastream URL; NULL if full. */
beat_pull_cursor *act_state_cursor(act_state *st, const char *url);
/* Marks exactly the campaigns of cs as in the set and copies their flight,
 * budget, pause and pacing mode (a change of mode restarts the even law's
 * integrator from the current multiplier). Returns how many could not be added (table full). */
int act_state_set_campaigns(act_state *st, const beat_campaign_set *cs);
/* Counts the buckets of a (an answer to GET /v1/aggregates?after=cur->seq)
 * that are new for cur: a bucket (epoch, seq) is never counted twice. */
int act_state_apply(act_state *st, beat_pull_cursor *cur, const beat_aggregates *a,
                    act_apply_result *r);
/* Data time of the spend counted: the oldest of the newest bucket ends
 * applied per datastream, leaving out instances more than stale_ms behind
 * the freshest (down: their spend is not coming anyway), and no later than
 * the heard_ms of those that report it (an empty bucket is "no news", not
 * "nothing spent", until the receivers' heartbeats say every notice before
 * it was counted: docs/contracts.md "Aggregates"); 0 if none yet or a
 * datastream does not know (heard_ms 0): the controllers then hold. */
int64_t act_state_data_ms(const act_state *st, int64_t stale_ms);
/* Appends the state JSON (public campaigns of the set, with a win_curve
 * where the landscape has enough data, + private). */
int act_state_encode(const act_state *st, const char *actuator, int64_t now_ms, beat_buf *out);
/* Restores spend, controller state and cursors from a state JSON's
 * "private" (GET /v1/state/latest). -EBADMSG if json is not a JSON object;
 * bad fields inside private are skipped one by one. */
int act_state_restore(act_state *st, const char *json, size_t len, beat_reason *why);

#endif
