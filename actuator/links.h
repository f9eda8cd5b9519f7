/* The actuator's two weak links: pulling aggregates from every datastream
 * instance and talking to the supervisor (campaigns, state restore, state
 * push). Blocking calls with hard timeouts, made from the tick loop only. */
#ifndef ACT_LINKS_H
#define ACT_LINKS_H

#include <stdint.h>

#include "beat_campaign.h"
#include "beat_cfg.h"
#include "beat_util.h"
#include "state.h"

typedef struct act_links act_links;

typedef struct act_pull_stats {
    int64_t buckets, missed, dropped, epoch_resets, failures, future;
} act_pull_stats;

/* Copies what it needs from its arguments. NULL on OOM. */
act_links *act_links_new(const beat_strlist *datastreams, const char *supervisor, const char *token,
                         long timeout_ms);
void act_links_free(act_links *l);

/* 1 = a stored state was restored into st, 0 = the supervisor has none
 * (404: fresh start), negative = unreachable, 5xx or unusable answer (the
 * caller must retry and push nothing meanwhile). */
int act_links_restore(act_links *l, act_state *st);
/* One pull round over every datastream; adds to ps. Never fails. */
void act_links_pull(act_links *l, act_state *st, act_pull_stats *ps);
/* GET /v1/campaigns. 1 = a set with a version other than have_version was
 * decoded into out (caller owns it), 0 = unchanged, negative = failure. */
int act_links_campaigns(act_links *l, int64_t have_version, int64_t now_ms, beat_campaign_set *out);
/* POST /v1/state. 0 = accepted, -EBADMSG = rejected with 400 (reason
 * logged), other negative = transport/5xx failure. */
int act_links_push_state(act_links *l, const beat_buf *body);
int act_links_n_datastreams(const act_links *l);

#endif
