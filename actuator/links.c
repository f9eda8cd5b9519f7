/* Links of the actuator: datastream aggregates (pull, with a cursor and
 * epoch per instance) and the supervisor (campaigns, state restore and
 * push). Called from main.c's tick loop only. Every failure is counted per
 * peer and logged rate-limited, then the loop carries on: nothing here may
 * exit, retry in a loop, or wait longer than the configured timeout. */
#include "links.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_httpc.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_pull.h"
#include "beat_wire.h"

#define AGG_BODY_MAX (16u << 20)
#define STATE_BODY_MAX (64u << 20)
#define CAMPAIGNS_BODY_MAX (64u << 20)
#define PULLS_PER_TICK 8 /* a capped answer is followed up, this many times */

struct act_links {
    beat_httpc *http;
    beat_pull_peer *ds; /* n_ds of them; their cursors live in act_state */
    int n_ds;
    beat_pull_peer sup;
    char *token;
    beat_buf resp;
};

act_links *act_links_new(const beat_strlist *datastreams, const char *supervisor, const char *token,
                         long timeout_ms) {
    act_links *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->http = beat_httpc_new(timeout_ms);
    l->n_ds = datastreams->n;
    l->ds = beat_pull_peers_new("actuator", datastreams);
    l->token = strdup(token ? token : "");
    if (!l->http || !l->ds || !l->token) {
        act_links_free(l);
        return NULL;
    }
    beat_pull_peer_init(&l->sup, "actuator", supervisor, "supervisor", NULL);
    beat_buf_init(&l->resp, STATE_BODY_MAX);
    return l;
}

void act_links_free(act_links *l) {
    if (!l) return;
    beat_httpc_free(l->http);
    free(l->ds);
    free(l->token);
    beat_buf_fini(&l->resp);
    free(l);
}

int act_links_n_datastreams(const act_links *l) { return l->n_ds; }

/* GET with a body bound; 0 and *status on any HTTP answer. */
static int get(act_links *l, const char *url, size_t max, long *status) {
    l->resp.max = max;
    return beat_httpc_get(l->http, url, &l->resp, status);
}

int act_links_restore(act_links *l, act_state *st) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/state/latest", l->sup.url);
    long status = 0;
    int rc = get(l, url, STATE_BODY_MAX, &status);
    if (rc < 0) {
        beat_pull_peer_failed(&l->sup);
        beat_log_rl(5000, BEAT_WARN, "supervisor_unreachable",
                    "peer=%s op=restore err=%d detail=\"%s\"", l->sup.url, rc,
                    beat_httpc_error(l->http));
        return rc;
    }
    if (status == 404) return 0;
    if (status != 200) {
        beat_pull_peer_failed(&l->sup);
        beat_log_rl(5000, BEAT_WARN, "supervisor_unreachable", "peer=%s op=restore status=%ld",
                    l->sup.url, status);
        return -EAGAIN;
    }
    /* Whichever actuator wrote it (name and implementation may differ):
     * spend is spend, and starting from zero would overspend. */
    beat_reason why = {{0}};
    rc = act_state_restore(st, l->resp.data, l->resp.len, &why);
    if (rc < 0) {
        /* Garbage from the one store of our spend: starting from zero would
         * overwrite it, so keep asking. */
        beat_pull_peer_failed(&l->sup);
        beat_log_rl(5000, BEAT_WARN, "restore_bad_state", "peer=%s reason=\"%s\"", l->sup.url,
                    why.msg);
        return rc;
    }
    return 1;
}

/* One GET /v1/aggregates for link i. Returns 1 if another pull is useful
 * (epoch reset, or the answer was capped), 0 if done, <0 on failure. */
static int pull_one(act_links *l, int i, act_state *st, act_pull_stats *ps) {
    beat_pull_peer *d = &l->ds[i];
    beat_pull_cursor *cur = act_state_cursor(st, d->url);
    if (!cur) return -ENOSPC;
    char url[700];
    snprintf(url, sizeof url, "%s/v1/aggregates?after=%" PRIu64, d->url, cur->seq);
    l->resp.max = AGG_BODY_MAX;
    int rc = beat_pull_get(l->http, d, url, &l->resp);
    if (rc < 0) {
        ps->failures++;
        return rc;
    }
    beat_aggregates a;
    beat_reason why = {{0}};
    rc = beat_aggregates_decode(l->resp.data, l->resp.len, &a, &why);
    if (rc < 0) {
        beat_pull_peer_failed(d);
        ps->failures++;
        beat_log_rl(5000, BEAT_WARN, "peer_garbage", "peer=%s reason=\"%s\"", d->url, why.msg);
        return rc;
    }
    act_apply_result r;
    act_state_apply(st, cur, &a, &r);
    if (r.epoch_changed) {
        ps->epoch_resets++;
        beat_log_rl(1000, BEAT_INFO, "datastream_epoch", "peer=%s epoch=%016" PRIx64, d->url,
                    cur->epoch);
    }
    ps->buckets += r.buckets;
    ps->missed += r.missed;
    ps->dropped += r.dropped;
    if (r.missed)
        beat_log_rl(5000, BEAT_WARN, "buckets_missed", "peer=%s missed=%" PRId64, d->url, r.missed);
    if (r.dropped)
        beat_log_rl(5000, BEAT_WARN, "campaigns_full", "peer=%s dropped=%" PRId64, d->url,
                    r.dropped);
    ps->future += r.future;
    if (r.future)
        beat_log_rl(10000, BEAT_WARN, "future_timestamp",
                    "what=aggregates peer=%s "
                    "times=%" PRId64 " max_clock_skew_ms=%" PRId64,
                    d->url, r.future, st->max_skew_ms);
    bool more = r.refetch || (r.buckets > 0 && cur->seq < a.last_seq);
    beat_aggregates_fini(&a);
    return more ? 1 : 0;
}

void act_links_pull(act_links *l, act_state *st, act_pull_stats *ps) {
    for (int i = 0; i < l->n_ds; i++)
        for (int k = 0; k < PULLS_PER_TICK; k++)
            if (pull_one(l, i, st, ps) != 1) break;
}

int act_links_campaigns(act_links *l, int64_t have_version, int64_t now_ms,
                        beat_campaign_set *out) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/campaigns", l->sup.url);
    long status = 0;
    int rc = get(l, url, CAMPAIGNS_BODY_MAX, &status);
    if (rc < 0 || status != 200) {
        beat_pull_peer_failed(&l->sup);
        beat_log_rl(5000, BEAT_WARN, "peer_down", "peer=%s op=campaigns err=%d status=%ld",
                    l->sup.url, rc, status);
        return rc < 0 ? rc : -EIO;
    }
    beat_campaign_set cs;
    beat_reason why = {{0}};
    rc = beat_campaigns_decode(l->resp.data, l->resp.len, now_ms, 0, &cs, &why);
    if (rc < 0) {
        beat_pull_peer_failed(&l->sup);
        beat_log_rl(5000, BEAT_WARN, "peer_garbage", "peer=%s op=campaigns reason=\"%s\"",
                    l->sup.url, why.msg);
        return rc;
    }
    if (cs.version > 0 && cs.version == have_version) {
        beat_campaigns_fini(&cs);
        return 0;
    }
    *out = cs;
    return 1;
}

int act_links_push_state(act_links *l, const beat_buf *body) {
    char url[600];
    snprintf(url, sizeof url, "%s/v1/state", l->sup.url);
    long status = 0;
    l->resp.max = 64 * 1024;
    int rc = beat_httpc_send(l->http, "POST", url, "application/json", body->data, body->len,
                             l->token, &l->resp, &status);
    if (rc == 0 && status == 200) return 0;
    beat_pull_peer_failed(&l->sup);
    if (rc == 0 && status == 400) {
        beat_log_rl(5000, BEAT_WARN, "state_rejected", "peer=%s body=\"%.200s\"", l->sup.url,
                    l->resp.data ? l->resp.data : "");
        return -EBADMSG;
    }
    beat_log_rl(5000, BEAT_WARN, "peer_down", "peer=%s op=state err=%d status=%ld", l->sup.url, rc,
                status);
    return rc < 0 ? rc : -EIO;
}
