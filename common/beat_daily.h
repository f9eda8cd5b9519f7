/* Daily budgets (campaign fields "daily_budget_micros" and "rollover", set
 * v 4): which local day a moment falls in, what that day's plan is, and how
 * a day's unspent budget rolls into the next ones. Pure arithmetic on a
 * campaign and a time, shared by the supervisor's bank (the hard limit) and
 * the actuator (pacing within the day) so that both reckon days alike.
 * docs/money.md "Daily budgets" has the rules and the proof of the bound. */
#ifndef BEAT_DAILY_H
#define BEAT_DAILY_H

#include <stdbool.h>
#include <stdint.h>

#include "beat_campaign.h"

/* "none", "next_day", "even" -> rule; -EINVAL for anything else. */
int beat_rollover_parse(const char *s, beat_rollover *out);
/* The rule's name (static string). */
const char *beat_rollover_name(beat_rollover r);

/* One local day of a campaign's flight, in its zone (c->tz). */
typedef struct beat_day {
    int64_t day;              /* local days since 1970-01-01 */
    int64_t start_ms, end_ms; /* the day's UTC bounds, clipped to the flight */
    int64_t day_start_ms;     /* the whole local day's bounds (unclipped): 23-25 h */
    int64_t day_end_ms;
    int64_t plan_micros;      /* the daily budget pro-rated to [start_ms, end_ms) */
    int64_t plan_left_micros; /* plan of this day and of every later day of the flight */
} beat_day;

/* The day of c that t_ms (engine time) falls in. A day cut by the flight's
 * start or end gets the daily budget × the fraction of the local day inside
 * the flight (a 23- or 25-hour day across a daylight-saving change is a
 * whole day). -ENOENT when c has no daily budget or t_ms is outside the
 * flight. */
int beat_daily_day(const beat_campaign *c, int64_t t_ms, beat_day *out);

/* A running day account. Amounts are in a caller's unit: the bank counts
 * CPM micros (unit 1000 per micro), the actuator micros (unit 1). */
typedef struct beat_daily {
    bool set;         /* false: no day seen yet */
    int64_t day;      /* the local day this account is for */
    int64_t start_ms; /* its first instant within the flight */
    int64_t base;     /* the caller's amount (committed, or spent) frozen at
                         the day's start: the day may add its budget to it */
    int64_t share;    /* roll-over handed to this day, on top of its plan */
    int64_t carry;    /* roll-over not handed out yet (rule "even") */
} beat_daily;

/* The budget of d's day: plan × unit + share (plan recomputed from c, so a
 * changed daily budget applies at once); 0 when d's day is no longer in the
 * flight or c has no daily budget. */
int64_t beat_daily_budget(const beat_campaign *c, const beat_daily *d, int64_t unit);

/* Moves d to the day of t_ms when that is a later day than d's (or d is
 * not set): amount_now becomes the new base, and by c->rollover the
 * previous day's unspent (its budget − (amount_now − its base), never < 0)
 * plus the plan of days skipped entirely (nobody asked during them) goes
 * to the new day ("next_day"), is spread over the days left in proportion
 * to their plans ("even"), or is dropped ("none"). 1 = rolled, 0 = same day
 * (an earlier t_ms, after a clock step back, changes nothing), -ENOENT as
 * beat_daily_day. */
int beat_daily_roll(const beat_campaign *c, beat_daily *d, int64_t t_ms, int64_t amount_now,
                    int64_t unit);

#endif
