/* Daily budgets in the actuator: each campaign with a daily budget is paced
 * one local day at a time. The controller sees the day as its flight (the
 * plan restarts at each local day's start, weighted by the local hours),
 * the day's budget as its budget and the day's counted spend as its spend,
 * so the even law paces the day, the value law targets what is left of the
 * day, and asap runs to the day's stop. Day decisions use engine time. The
 * bank enforces the same days (beat_daily.h); this only paces within them. */
#ifndef ACT_DAILY_H
#define ACT_DAILY_H

#include <stdint.h>

#include "beat_daily.h"
#include "pacer.h"

typedef struct act_daily {
    beat_daily day;  /* in micros of counted spend: day.base = spend at the day's start */
    int64_t applied; /* the base taken off the spend at the previous step */
} act_daily;

/* Scopes in (the flight: start/end, lifetime budget, cumulative spend) to
 * c's day at engine_ms, rolling d into a new day from counted spend. now_ms
 * is the controller's time and rate the engine ms per controller ms (they
 * differ only under a simulated clock). The controller p keeps its spend
 * reference across the change of base and is un-capped at a new day (asap).
 * The day's budget is at most what the lifetime budget leaves. Returns 1
 * when scoped, 0 when c has no daily budget or engine_ms is outside the
 * flight (in is then the flight's, unchanged). */
int act_daily_scope(const beat_campaign *c, act_daily *d, act_pacer *p, act_pacer_in *in,
                    int64_t engine_ms, int64_t now_ms, double rate);

#endif
