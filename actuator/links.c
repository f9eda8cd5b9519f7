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
#include "beat_wire.h"

#define AGG_BODY_MAX (16u << 20)
#define STATE_BODY_MAX (64u << 20)
#define CAMPAIGNS_BODY_MAX (64u << 20)
#define PULLS_PER_TICK 8 /* a capped answer is followed up, this many times */

typedef struct ds_link {
    char url[512]; /* base, no trailing slash */
    beat_counter *failures;
} ds_link;

struct act_links {
    beat_httpc *http;
    ds_link *ds;
    int n_ds;
    char sup[512];
    char *token;
    beat_counter *sup_failures;
    beat_buf resp;
};

static void base_url(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src);
    size_t len = strlen(dst);
    while (len > 0 && dst[len - 1] == '/') dst[--len] = '\0';
}

/* Counter for one peer; the URL becomes the label value (escaped), with
 * "datastreamN" as a fallback if the registry refuses it. */
static beat_counter *peer_counter(const char *peer, int i) {
    char esc[600], name[700];
    size_t k = 0;
    for (const char *p = peer; *p && k + 3 < sizeof esc; p++) {
        if (*p == '\n') continue;
        if (*p == '"' || *p == '\\') esc[k++] = '\\';
        esc[k++] = *p;
    }
    esc[k] = '\0';
    snprintf(name, sizeof name, "beat_actuator_link_failures_total{peer=\"%s\"}", esc);
    const char *help = "Failed calls to a peer (transport, status or garbage)";
    beat_counter *c = beat_counter_new(name, help);
    if (!c) {
        snprintf(name, sizeof name,
                 "beat_actuator_link_failures_total{peer=\"datastream%d\"}", i);
        c = beat_counter_new(name, help);
    }
    return c;
}

static void count(beat_counter *c) {
    if (c) beat_counter_inc(c);
}

act_links *act_links_new(const beat_strlist *datastreams, const char *supervisor,
                         const char *token, long timeout_ms) {
    act_links *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->http = beat_httpc_new(timeout_ms);
    l->n_ds = datastreams->n;
    l->ds = calloc((size_t)(l->n_ds > 0 ? l->n_ds : 1), sizeof *l->ds);
    l->token = strdup(token ? token : "");
    if (!l->http || !l->ds || !l->token) {
        act_links_free(l);
        return NULL;
    }
    for (int i = 0; i < l->n_ds; i++) {
        base_url(l->ds[i].url, sizeof l->ds[i].url, datastreams->v[i]);
        l->ds[i].failures = peer_counter(l->ds[i].url, i);
    }
    base_url(l->sup, sizeof l->sup, supervisor);
    l->sup_failures = beat_counter_new(
        "beat_actuator_link_failures_total{peer=\"supervisor\"}",
        "Failed calls to a peer (transport, status or garbage)");
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
    snprintf(url, sizeof url, "%s/v1/state/latest", l->sup);
    long status = 0;
    int rc = get(l, url, STATE_BODY_MAX, &status);
    if (rc < 0) {
        count(l->sup_failures);
        beat_log_rl(5000, BEAT_WARN, "supervisor_unreachable",
                    "peer=%s op=restore err=%d detail=\"%s\"", l->sup, rc,
                    beat_httpc_error(l->http));
        return rc;
    }
    if (status == 404) return 0;
    if (status != 200) {
        count(l->sup_failures);
        beat_log_rl(5000, BEAT_WARN, "supervisor_unreachable",
                    "peer=%s op=restore status=%ld", l->sup, status);
        return -EAGAIN;
    }
    /* Whichever actuator wrote it (name and implementation may differ):
     * spend is spend, and starting from zero would overspend. */
    beat_reason why = {{0}};
    rc = act_state_restore(st, l->resp.data, l->resp.len, &why);
    if (rc < 0) {
        /* Garbage from the one store of our spend: starting from zero would
         * overwrite it, so keep asking. */
        count(l->sup_failures);
        beat_log_rl(5000, BEAT_WARN, "restore_bad_state", "peer=%s reason=\"%s\"",
                    l->sup, why.msg);
        return rc;
    }
    return 1;
}

/* One GET /v1/aggregates for link i. Returns 1 if another pull is useful
 * (epoch reset, or the answer was capped), 0 if done, <0 on failure. */
static int pull_one(act_links *l, int i, act_state *st, act_pull_stats *ps) {
    ds_link *d = &l->ds[i];
    act_cursor *cur = act_state_cursor(st, d->url);
    if (!cur) return -ENOSPC;
    char url[700];
    snprintf(url, sizeof url, "%s/v1/aggregates?after=%" PRIu64, d->url, cur->seq);
    long status = 0;
    int rc = get(l, url, AGG_BODY_MAX, &status);
    if (rc < 0 || status != 200) {
        count(d->failures);
        ps->failures++;
        beat_log_rl(5000, BEAT_WARN, "peer_down",
                    "peer=%s err=%d status=%ld detail=\"%s\"", d->url, rc, status,
                    rc < 0 ? beat_httpc_error(l->http) : "http status");
        return rc < 0 ? rc : -EIO;
    }
    beat_aggregates a;
    beat_reason why = {{0}};
    rc = beat_aggregates_decode(l->resp.data, l->resp.len, &a, &why);
    if (rc < 0) {
        count(d->failures);
        ps->failures++;
        beat_log_rl(5000, BEAT_WARN, "peer_garbage", "peer=%s reason=\"%s\"",
                    d->url, why.msg);
        return rc;
    }
    act_apply_result r;
    uint64_t before_epoch = cur->epoch;
    bool had_epoch = cur->has_epoch;
    act_state_apply(st, cur, &a, &r);
    if (had_epoch && before_epoch != cur->epoch) {
        ps->epoch_resets++;
        beat_log_rl(1000, BEAT_INFO, "datastream_epoch", "peer=%s epoch=%016" PRIx64,
                    d->url, cur->epoch);
    }
    ps->buckets += r.buckets;
    ps->missed += r.missed;
    ps->dropped += r.dropped;
    if (r.missed)
        beat_log_rl(5000, BEAT_WARN, "buckets_missed", "peer=%s missed=%" PRId64,
                    d->url, r.missed);
    if (r.dropped)
        beat_log_rl(5000, BEAT_WARN, "campaigns_full", "peer=%s dropped=%" PRId64,
                    d->url, r.dropped);
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
    snprintf(url, sizeof url, "%s/v1/campaigns", l->sup);
    long status = 0;
    int rc = get(l, url, CAMPAIGNS_BODY_MAX, &status);
    if (rc < 0 || status != 200) {
        count(l->sup_failures);
        beat_log_rl(5000, BEAT_WARN, "peer_down",
                    "peer=%s op=campaigns err=%d status=%ld", l->sup, rc, status);
        return rc < 0 ? rc : -EIO;
    }
    beat_campaign_set cs;
    beat_reason why = {{0}};
    rc = beat_campaigns_decode(l->resp.data, l->resp.len, now_ms, &cs, &why);
    if (rc < 0) {
        count(l->sup_failures);
        beat_log_rl(5000, BEAT_WARN, "peer_garbage", "peer=%s op=campaigns reason=\"%s\"",
                    l->sup, why.msg);
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
    snprintf(url, sizeof url, "%s/v1/state", l->sup);
    long status = 0;
    l->resp.max = 64 * 1024;
    int rc = beat_httpc_send(l->http, "POST", url, "application/json", body->data,
                             body->len, l->token, &l->resp, &status);
    if (rc == 0 && status == 200) return 0;
    count(l->sup_failures);
    if (rc == 0 && status == 400) {
        beat_log_rl(5000, BEAT_WARN, "state_rejected", "peer=%s body=\"%.200s\"",
                    l->sup, l->resp.data ? l->resp.data : "");
        return -EBADMSG;
    }
    beat_log_rl(5000, BEAT_WARN, "peer_down", "peer=%s op=state err=%d status=%ld",
                l->sup, rc, status);
    return rc < 0 ? rc : -EIO;
}
