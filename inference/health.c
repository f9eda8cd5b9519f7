/* beat-inference's health, gauges, alert rules and stats line: what an
 * operator sees of a node (docs/operations.md). /healthz runs on worker
 * threads, the gauges on whoever scrapes, the alert rules on their own
 * thread: all only read (versions under the holder's lock, atomics). */
#include "health.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "exchange.h"

static inf_health_cfg H;

void inf_health_set(const inf_health_cfg *cfg) { H = *cfg; }

bool inf_health_fn(void *arg, beat_buf *d) {
    (void)arg;
    inf_versions v;
    inf_holder_versions(H.holder, &v);
    int64_t now = beat_now_ms();
    int64_t state_age = v.has_state ? now - v.state_ts_ms : -1;
    beat_buf_puts(d, "\"name\":");
    beat_buf_json_str(d, H.name, strlen(H.name));
    beat_buf_printf(
        d,
        ",\"workers\":%d,\"has_model\":%s,\"has_state\":%s,"
        "\"model_version\":%lld,\"campaigns_version\":%lld,"
        "\"state_version\":%lld,\"campaigns\":%d,\"state_age_ms\":%lld,"
        "\"model_age_ms\":%lld,\"state_stale\":%s,\"lease_age_ms\":%lld",
        H.workers, v.has_model ? "true" : "false", v.has_state ? "true" : "false",
        (long long)v.model_v, (long long)v.campaigns_v, (long long)v.state_v, v.n_campaigns,
        (long long)state_age, (long long)(v.has_model ? now - v.model_ts_ms : -1),
        state_age > H.max_state_age_ms ? "true" : "false",
        (long long)(inf_leases_last_ok_ms(H.leases) ? now - inf_leases_last_ok_ms(H.leases) : -1));
    beat_buf_printf(d, ",\"exchanges_version\":%lld,\"exchanges\":%d,\"open\":%s",
                    (long long)v.exchanges_v, v.n_exchanges, H.open ? "true" : "false");
    beat_buf_printf(d, ",\"segments_version\":%lld,\"segment_lists\":%d", (long long)v.segments_v,
                    v.n_segment_lists);
    /* Without an exchange configured every bid request is refused: not
     * ready to do the job (docs/exchanges.md "Before the first snapshot"). */
    return v.has_model && v.has_state && inf_leases_ready(H.leases) &&
           (H.open || v.n_exchanges > 0);
}

enum { GV_MODEL_V, GV_STATE_V, GV_CAMP_V, GV_CAMPS, GV_STATE_AGE, GV_MODEL_AGE, GV_N };
/* The gauges' args: &gauge_sel[k] holds k. */
static const int gauge_sel[] = {GV_MODEL_V, GV_STATE_V,   GV_CAMP_V,
                                GV_CAMPS,   GV_STATE_AGE, GV_MODEL_AGE};
static_assert(sizeof gauge_sel / sizeof gauge_sel[0] == GV_N, "one selector per gauge");

static double gauge_fn(void *arg) {
    inf_versions v;
    inf_holder_versions(H.holder, &v);
    double now = (double)beat_now_ms();
    switch (*(const int *)arg) {
        case GV_MODEL_V: return (double)v.model_v;
        case GV_STATE_V: return (double)v.state_v;
        case GV_CAMP_V: return (double)v.campaigns_v;
        case GV_CAMPS: return v.n_campaigns;
        case GV_STATE_AGE: return v.has_state ? (now - (double)v.state_ts_ms) / 1e3 : -1;
        case GV_MODEL_AGE: return v.has_model ? (now - (double)v.model_ts_ms) / 1e3 : -1;
    }
    return 0;
}

void inf_health_metrics_init(void) {
    beat_gauge_fn_new("beat_inference_model_version", "Model version held", gauge_fn,
                      (void *)&gauge_sel[GV_MODEL_V]);
    beat_gauge_fn_new("beat_inference_state_version", "Pacing state version held", gauge_fn,
                      (void *)&gauge_sel[GV_STATE_V]);
    beat_gauge_fn_new("beat_inference_campaigns_version", "Campaign set version held", gauge_fn,
                      (void *)&gauge_sel[GV_CAMP_V]);
    beat_gauge_fn_new("beat_inference_campaigns", "Campaigns in the world", gauge_fn,
                      (void *)&gauge_sel[GV_CAMPS]);
    beat_gauge_fn_new("beat_inference_state_age_seconds",
                      "Age of the pacing state (by its ts); -1 if none", gauge_fn,
                      (void *)&gauge_sel[GV_STATE_AGE]);
    beat_gauge_fn_new("beat_inference_model_age_seconds",
                      "Age of the model (checkpoint ts); -1 if none", gauge_fn,
                      (void *)&gauge_sel[GV_MODEL_AGE]);
}

/* Alert rules (ops): inputs are the registry counters of bidlog.c and
 * sync.c (same name = same counter) and the age gauges above. */
beat_alert_rules *inf_health_alerts_start(void) {
    beat_counter *hb = beat_counter_new("beat_inference_heartbeats_total", "");
    beat_counter *sent = beat_counter_new("beat_inference_bidlog_sent_total", "");
    beat_counter *drop = beat_counter_new("beat_inference_bidlog_dropped_total", "");
    char sup[300], rcv[300];
    snprintf(sup, sizeof sup, "supervisor %s silent (no heartbeat)", H.pub_url);
    snprintf(rcv, sizeof rcv, "receiver %s: bid-log pushes failing", H.bidlog_url);
    beat_alert_rule r[] = {
        {.name = "supervisor_unreachable",
         .what = sup,
         .unit = "s",
         .kind = BEAT_RULE_SILENT,
         .value = beat_alert_counter_fn,
         .value_arg = hb,
         .warn = H.alert->peer_warn_s,
         .error = H.alert->peer_error_s},
        {.name = "receiver_unreachable",
         .what = rcv,
         .unit = "s",
         .kind = BEAT_RULE_FAILING,
         .value = beat_alert_counter_fn,
         .value_arg = drop,
         .total = beat_alert_counter_fn,
         .total_arg = sent,
         .warn = H.alert->peer_warn_s,
         .error = H.alert->peer_error_s},
        {.name = "bidlog_drop_rate",
         .what = "bid logs dropped",
         .unit = "%",
         .kind = BEAT_RULE_RATIO,
         .value = beat_alert_counter_fn,
         .value_arg = drop,
         .total = beat_alert_counter_fn,
         .total_arg = sent,
         .total_is_rest = true,
         .warn = H.alert->drop_warn_pct,
         .error = H.alert->drop_error_pct},
        {.name = "state_stale",
         .what = "pacing state age",
         .unit = "s",
         .kind = BEAT_RULE_VALUE,
         .value = gauge_fn,
         .value_arg = (void *)&gauge_sel[GV_STATE_AGE],
         .warn = H.state_warn_s,
         .error = H.state_error_s},
        {.name = "model_stale",
         .what = "model age",
         .unit = "s",
         .kind = BEAT_RULE_VALUE,
         .value = gauge_fn,
         .value_arg = (void *)&gauge_sel[GV_MODEL_AGE],
         .warn = H.model_warn_s,
         .error = H.model_error_s},
    };
    return beat_alert_rules_run(H.alert, H.name, r, (int)(sizeof r / sizeof r[0]));
}

void inf_health_log_stats(void) {
    inf_versions v;
    inf_holder_versions(H.holder, &v);
    inf_exch_totals t;
    inf_exch_get_totals(&t);
    beat_log(
        BEAT_INFO, "stats",
        "bid=%llu nobid=%llu bad_request=%llu bids=%llu no_model=%llu "
        "no_state=%llu stale_state=%llu refused=%llu qps_limited=%llu "
        "model_version=%lld campaigns_version=%lld state_version=%lld "
        "exchanges_version=%lld",
        (unsigned long long)t.outcome[INF_OUT_BID], (unsigned long long)t.outcome[INF_OUT_NOBID],
        (unsigned long long)t.outcome[INF_OUT_BAD], (unsigned long long)t.bids,
        (unsigned long long)t.nobid[INF_NB_NO_MODEL], (unsigned long long)t.nobid[INF_NB_NO_STATE],
        (unsigned long long)t.nobid[INF_NB_STALE_STATE], (unsigned long long)t.refused,
        (unsigned long long)t.qps_limited, (long long)v.model_v, (long long)v.campaigns_v,
        (long long)v.state_v, (long long)v.exchanges_v);
}
