/* Report rows from events (report_count.h): each offset is read into a
 * committed batch once (the store decides where a partition resumes);
 * notices count once per signed notice (their ledger keys), opp summaries
 * once per (node, campaign, ts) key, bids once while the join remembers
 * their (auction, imp) (store_ingest.c decides; docs/reports.md "Bids and
 * opportunities"), wins once per (auction, imp) (the first of its win and
 * bill notices). Events
 * without a campaign count nowhere, as in the aggregates. */
#include "report_count.h"

#include <string.h>

#include "beat_clock.h"
#include "beat_log.h"

int64_t dst_report_hour_ms(int64_t ts_ms, int64_t now_ms) {
    int64_t e = beat_engine_of_wall_ms(ts_ms < now_ms ? ts_ms : now_ms);
    if (e < 0) e = 0;
    return e - e % DST_HOUR_MS;
}

int dst_report_count(dst_ledger *l, const beat_event *ev, int64_t spend_cpm, int64_t nts_ms,
                     int64_t now_ms) {
    if (!ev->campaign[0]) return 0;
    dst_report_delta d = {0};
    switch (ev->type) {
        case BEAT_EV_OPP: d.opps = ev->opps; break;
        case BEAT_EV_BID: d.bids = 1; break;
        case BEAT_EV_WIN:
        case BEAT_EV_BILL: {
            /* A win is the first of win and bill: this one is new (the
             * caller's rule), so it wins unless the other is stored. All
             * notices of a bid carry its signed ts: an exact lookup. */
            int other = ev->type == BEAT_EV_WIN ? BEAT_EV_BILL : BEAT_EV_WIN;
            int rc = dst_ledger_has(l, dst_ledger_key(ev->auction, ev->imp, other), nts_ms);
            if (rc < 0) return rc;
            d.wins = !rc;
            d.spend_cpm = spend_cpm;
            break;
        }
        case BEAT_EV_IMP: d.imps = 1; break;
        case BEAT_EV_CLICK: d.clicks = 1; break;
        case BEAT_EV_CONV: /* within its click's signed window, as the aggregates count it */
            d.convs = ev->ts_ms - ev->notice_ts_ms <= (int64_t)ev->conv_window_s * 1000;
            d.conv_value = d.convs ? ev->value_micros : 0;
            break;
        default: return 0;
    }
    if (!d.opps && !d.bids && !d.wins && !d.spend_cpm && !d.imps && !d.clicks && !d.convs &&
        !d.conv_value)
        return 0;
    dst_report_key k = {.hour_ms = dst_report_hour_ms(ev->ts_ms, now_ms)};
    memcpy(k.campaign, ev->campaign, sizeof k.campaign);
    memcpy(k.exchange, ev->exchange, sizeof k.exchange);
    memcpy(k.creative, ev->crid, sizeof k.creative);
    return dst_ledger_report(l, &k, &d);
}

int dst_report_retain(dst_ledger *l, int32_t partition, int64_t retention_ms, int max,
                      int64_t now_ms) {
    int64_t cutoff = dst_report_hour_ms(now_ms, now_ms) - retention_ms;
    beat_reason why = {{0}};
    int n = dst_ledger_report_expire(l, cutoff, max, &why);
    if (n < 0) {
        beat_log_value_safe(why.msg);
        beat_log_rl(5000, BEAT_WARN, "report_expire_failed",
                    "partition=%d action=retry reason=\"%s\"", (int)partition, why.msg);
    }
    return n;
}
