/* Daily budgets: the campaign fields "daily_budget_micros" and "rollover"
 * (set v 4, decoded and encoded here to keep beat_campaign.c small) and the
 * day arithmetic of beat_daily.h that the bank and the actuator share. */
#include "beat_daily.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "beat_campaign_fields.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

static const char *const rollover_names[] = {"none", "next_day", "even"};
static_assert(sizeof rollover_names / sizeof rollover_names[0] == BEAT_ROLLOVER_EVEN + 1,
              "one name per rollover mode, indexed by beat_rollover");

int beat_rollover_parse(const char *s, beat_rollover *out) {
    for (int i = 0; s && i <= BEAT_ROLLOVER_EVEN; i++)
        if (strcmp(s, rollover_names[i]) == 0) {
            *out = (beat_rollover)i;
            return 0;
        }
    return -EINVAL;
}

const char *beat_rollover_name(beat_rollover r) {
    return r >= BEAT_ROLLOVER_NONE && r <= BEAT_ROLLOVER_EVEN ? rollover_names[r] : "none";
}

/* ---- campaign fields -------------------------------------------------------- */

int beat_campaign_budget_decode(const cJSON *daily, const cJSON *rollover, const char *ctx,
                                beat_campaign *c, beat_reason *why) {
    int rc;
    if (daily && (rc = beat_json_int(daily, ctx, "daily_budget_micros", 1, c->budget_micros,
                                     &c->daily_budget_micros, why)))
        return rc;
    if (!rollover) return 0;
    if (!cJSON_IsString(rollover) || beat_rollover_parse(rollover->valuestring, &c->rollover))
        return FAIL("%s.rollover: must be \"none\", \"next_day\" or \"even\"", ctx);
    /* A rule without a daily budget would silently mean nothing. */
    if (!daily) return FAIL("%s.rollover: needs daily_budget_micros", ctx);
    return 0;
}

void beat_campaign_budget_encode(beat_json_enc *e, const beat_campaign *c) {
    if (!c->daily_budget_micros) return;
    beat_campaign_e_i64(e, "daily_budget_micros", c->daily_budget_micros);
    if (c->rollover != BEAT_ROLLOVER_NONE)
        beat_json_put_printf(e, ",\"rollover\":\"%s\"", beat_rollover_name(c->rollover));
}

bool beat_campaign_budget_used(const beat_campaign *c) { return c->daily_budget_micros > 0; }

/* ---- days ------------------------------------------------------------------- */

#define SAT (INT64_MAX / 4) /* sums of plans saturate here, far above any budget */

/* daily × part / len without overflow (daily < 2^53, part ≤ len < 2^27). */
static int64_t prorate(int64_t daily, int64_t part, int64_t len) {
    if (len <= 0 || part >= len) return daily;
    if (part <= 0) return 0;
    return daily / len * part + daily % len * part / len;
}

/* The plan of the local day described by cv, clipped to c's flight. */
static int64_t day_plan(const beat_campaign *c, const beat_civil *cv, int64_t *start,
                        int64_t *end) {
    *start = cv->day_start_ms > c->start_ms ? cv->day_start_ms : c->start_ms;
    *end = cv->day_end_ms < c->end_ms ? cv->day_end_ms : c->end_ms;
    return prorate(c->daily_budget_micros, *end - *start, cv->day_end_ms - cv->day_start_ms);
}

int beat_daily_day(const beat_campaign *c, int64_t t_ms, beat_day *out) {
    if (c->daily_budget_micros <= 0 || t_ms < c->start_ms || t_ms >= c->end_ms) return -ENOENT;
    const beat_tz *z = c->tz ? c->tz : beat_tz_get("UTC", NULL);
    beat_civil now, last;
    beat_tz_civil(z, t_ms, &now);
    beat_tz_civil(z, c->end_ms - 1, &last);
    out->day = now.day;
    out->day_start_ms = now.day_start_ms;
    out->day_end_ms = now.day_end_ms;
    out->plan_micros = day_plan(c, &now, &out->start_ms, &out->end_ms);
    int64_t left = out->plan_micros;
    if (last.day > now.day) {
        int64_t s, e, full = last.day - now.day - 1, d = c->daily_budget_micros;
        left += full > 0 && d > SAT / full ? SAT : d * full;
        left += day_plan(c, &last, &s, &e);
        if (left > SAT) left = SAT;
    }
    out->plan_left_micros = left;
    return 0;
}

int64_t beat_daily_budget(const beat_campaign *c, const beat_daily *d, int64_t unit) {
    beat_day day;
    if (!d->set || beat_daily_day(c, d->start_ms, &day) != 0 || day.day != d->day) return 0;
    return day.plan_micros * unit + d->share;
}

int beat_daily_roll(const beat_campaign *c, beat_daily *d, int64_t t_ms, int64_t amount_now,
                    int64_t unit) {
    beat_day today, prev;
    if (beat_daily_day(c, t_ms, &today) != 0) return -ENOENT;
    if (d->set && today.day <= d->day) return 0;
    int64_t carry = 0, cap = c->budget_micros * unit; /* never more than the lifetime */
    if (d->set && c->rollover != BEAT_ROLLOVER_NONE) {
        int64_t unspent = beat_daily_budget(c, d, unit) - (amount_now - d->base);
        carry = d->carry + (unspent > 0 ? unspent : 0);
        /* Days nobody asked about (a supervisor down all day) spent nothing. */
        if (beat_daily_day(c, d->start_ms, &prev) == 0) {
            int64_t skipped = prev.plan_left_micros - prev.plan_micros - today.plan_left_micros;
            if (skipped > 0) carry += skipped > cap / unit ? cap : skipped * unit;
        }
        if (carry > cap) carry = cap;
    }
    int64_t share = 0;
    if (c->rollover == BEAT_ROLLOVER_NEXT_DAY) share = carry;
    else if (c->rollover == BEAT_ROLLOVER_EVEN && today.plan_left_micros <= today.plan_micros)
        share = carry; /* the last day takes what is left */
    else if (c->rollover == BEAT_ROLLOVER_EVEN)
        share =
            (int64_t)((double)carry * (double)today.plan_micros / (double)today.plan_left_micros);
    if (share > carry) share = carry;
    *d = (beat_daily){.set = true,
                      .day = today.day,
                      .start_ms = today.start_ms,
                      .base = amount_now,
                      .share = share,
                      .carry = carry - share};
    return 1;
}
