/* What supervisor/app.c (the write path, reload, lifecycle) and
 * supervisor/app_read.c (the read side: versions, health, stats) share: the
 * app's fields. Nothing outside these two files includes it. */
#ifndef SUP_APP_INT_H
#define SUP_APP_INT_H

#include "app.h"
#include "beat_alert.h"
#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_metrics.h"
#include "beat_wire.h"
#include "exchanges.h"

enum { K_CAMPAIGNS, K_STATE, K_CKPT, K_N };

struct sup_app {
    sup_cfg cfg;
    sup_store *st;
    sup_pub *pub;
    beat_alert *alert;  /* borrowed; NULL = no alerts */
    sup_banker *banker; /* borrowed; NULL = no leases (relays, tests) */

    beat_campaign_set cs; /* cs.version == 0: none */
    char *cs_json;        /* served JSON incl. "version" */
    size_t cs_len;
    int64_t cs_ts;

    beat_state state; /* state.version == 0: none */
    char *state_json; /* incl. "private" and "version" */
    size_t state_len;
    int64_t state_ts;

    sup_frame *model; /* 'C' frame or NULL */
    int64_t model_version, model_ts;
    beat_ckpt_header mh; /* of the current model */

    sup_exch *exch; /* owned: the exchange set, published inside the snapshot */

    beat_counter *accepted[K_N], *rejected[K_N], *db_fail;
    beat_gauge *version_g[K_N], *db_bytes;
    beat_histogram *db_write;
};

#endif
