/* Currency rates: one table of fixed USD-per-unit rates, shared by
 * inference (floors in other currencies, bids in the currency a request
 * allows) and the receiver (clearing prices in the notice's currency), so
 * both convert with the same numbers (docs/contracts.md "Currencies").
 * Money inside BEAT is USD micros; conversions happen only at these two
 * edges. A table is built once at start-up and read without locks after. */
#ifndef BEAT_FX_H
#define BEAT_FX_H

#include <stdint.h>
#include "beat_util.h"

#define BEAT_FX_MAX 32 /* currencies besides USD */

/* The default table: rounded reference rates, USD per unit, at the date
 * below. A documented starting point, not market data: deployments that
 * see other currencies set their own with --currency-rates, and inference
 * and receivers must use the same table. */
#define BEAT_FX_DEFAULT "EUR=1.08,GBP=1.27,JPY=0.0062,CHF=1.11,CAD=0.73,AUD=0.67"
#define BEAT_FX_DEFAULT_DATE "2024-07-01"

typedef struct beat_fx {
    int n;
    char cur[BEAT_FX_MAX][4]; /* upper case, NUL-terminated */
    double usd_per_unit[BEAT_FX_MAX];
} beat_fx;

/* --currency-rates (env BEAT_CURRENCY_RATES, the same on inference and
 * receivers). dst: char **. */
/* clang-format off */
#define BEAT_OPT_FX(ptr)                                                                        \
    {.name = "currency-rates", .env = "BEAT_CURRENCY_RATES",                                    \
     .type = BEAT_OPT_STR, .dst = (ptr), .def = BEAT_FX_DEFAULT,                                \
     .help = "USD per unit of each other currency, \"CUR=rate,...\" (3-letter codes, rates in " \
             "(0, 1e6]); replaces the whole default table, rounded rates of "                   \
             BEAT_FX_DEFAULT_DATE " to override; \"\" = USD only. The same on inference and "   \
             "receivers"}
/* clang-format on */

/* Parses "EUR=1.08,GBP=1.27" (codes case-insensitive; a trailing comma is
 * allowed; USD may not be listed: it is 1 by definition). NULL or "" → a
 * table with USD only. *out is written only on success; -EINVAL with why
 * on a bad entry, a duplicate code or more than BEAT_FX_MAX entries. */
int beat_fx_parse(const char *spec, beat_fx *out, beat_reason *why);

/* USD per unit of cur (exactly 3 ASCII letters, any case): 1 for USD, 0
 * when unknown (fx NULL = USD only). */
double beat_fx_rate(const beat_fx *fx, const char *cur);

/* micros of cur → USD micros, to the nearest micro (halves away from zero).
 * -ENOENT for an unknown currency, -ERANGE when the result would not fit
 * 1e12 (a million CPM). */
int beat_fx_to_usd(const beat_fx *fx, const char *cur, int64_t micros, int64_t *usd_micros);

/* USD micros → micros of cur, rounded down: a bid converted this way never
 * comes back above the USD amount it started from. -ENOENT / -ERANGE. */
int beat_fx_from_usd(const beat_fx *fx, const char *cur, int64_t usd_micros, int64_t *micros);

#endif
