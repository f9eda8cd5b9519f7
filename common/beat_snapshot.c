/* The 'S' snapshot frame (beat_campaign.h): campaigns, pacing state and
 * exchanges in one JSON document, published by the supervisor and decoded
 * by inference; the campaign set inside is decoded leniently (the
 * supervisor already accepted it strictly). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "beat_campaign.h"
#include "beat_campaign_fields.h"
#include "beat_json.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)

int beat_snapshot_encode(const beat_campaign_set *cs, const beat_state *st,
                         const beat_exchange_set *xs, beat_buf *out) {
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e,
                         "%c{\"v\":%d,\"campaigns_version\":%" PRId64 ",\"state_version\":%" PRId64
                         ",\"exchanges_version\":%" PRId64 ",\"campaigns\":",
                         BEAT_FRAME_SNAPSHOT, BEAT_SNAPSHOT_V, cs->version, st ? st->version : 0,
                         xs ? xs->version : 0);
    if (!e.rc) e.rc = beat_campaigns_encode(cs, out);
    beat_json_put_raw(&e, ",\"state\":");
    if (!st) beat_json_put_raw(&e, "null");
    else if (!e.rc) e.rc = beat_state_encode(st, false, out);
    beat_json_put_raw(&e, ",\"exchanges\":");
    if (!xs) beat_json_put_raw(&e, "null");
    else if (!e.rc) e.rc = beat_exchanges_encode(xs, out);
    beat_json_put_raw(&e, "}");
    return beat_json_enc_done(&e);
}

/* "exchanges" of a v2 frame: null or a set whose version matches. */
static int snapshot_exchanges(const cJSON *vj, const cJSON *xj, beat_exchange_set *xs,
                              beat_reason *why) {
    int64_t xv = 0;
    int rc;
    if (!vj) return FAIL("snapshot.exchanges_version: missing");
    if ((rc = beat_json_count(vj, "snapshot", "exchanges_version", &xv, why))) return rc;
    if (!xj) return FAIL("snapshot.exchanges: missing");
    if (cJSON_IsNull(xj)) {
        if (xv != 0) return FAIL("snapshot.exchanges_version: %" PRId64 " but none", xv);
        return 0;
    }
    char *txt = cJSON_PrintUnformatted(xj);
    if (!txt) return beat_reasonf(why, -ENOMEM, "out of memory");
    beat_reason sub = {{0}};
    rc = beat_exchanges_decode(txt, strlen(txt), 0, xs, &sub);
    free(txt);
    if (rc) return FAIL("snapshot.exchanges: %s", sub.msg);
    if (xs->version && xs->version != xv)
        return FAIL("snapshot.exchanges_version: %" PRId64 " but set says %" PRId64, xv,
                    xs->version);
    xs->version = xv;
    return 0;
}

/* v1 frames (no exchanges) are still read: an inference node upgraded
 * before its supervisor keeps syncing (docs/exchanges.md "Upgrading"). */
static int snapshot_from(const cJSON *root, beat_campaign_set *cs, beat_state *st,
                         beat_exchange_set *xs, beat_reason *why) {
    static const char *const names[] = {"v",     "campaigns_version", "state_version", "campaigns",
                                        "state", "exchanges_version", "exchanges"};
    const cJSON *f[7];
    int64_t cv, sv;
    int rc;
    if ((rc = beat_json_fields(root, "snapshot", names, 7, f, false, why))) return rc;
    bool v1 = cJSON_IsNumber(f[0]) && f[0]->valuedouble == 1;
    if ((!v1 && (rc = beat_json_version(f[0], "snapshot", BEAT_SNAPSHOT_V, why))) ||
        (rc = beat_json_count(f[1], "snapshot", "campaigns_version", &cv, why)) ||
        (rc = beat_json_count(f[2], "snapshot", "state_version", &sv, why)))
        return rc;
    if (!f[3]) return FAIL("snapshot.campaigns: missing");
    if (!f[4]) return FAIL("snapshot.state: missing");
    if ((rc = beat_campaign_set_from(f[3], beat_now_ms(), false, cs, why))) return rc;
    if (cs->version && cs->version != cv)
        return FAIL("snapshot.campaigns_version: %" PRId64 " but set says %" PRId64, cv,
                    cs->version);
    cs->version = cv;
    if (!v1 && (rc = snapshot_exchanges(f[5], f[6], xs, why))) return rc;
    if (cJSON_IsNull(f[4])) {
        if (sv != 0) return FAIL("snapshot.state_version: %" PRId64 " but no state", sv);
        return 0;
    }
    /* The state decoder takes text; snapshots are rare, printing is cheap. */
    char *txt = cJSON_PrintUnformatted(f[4]);
    if (!txt) return beat_reasonf(why, -ENOMEM, "out of memory");
    beat_reason sub = {{0}};
    rc = beat_state_decode(txt, strlen(txt), BEAT_CAMPAIGNS_MAX, st, &sub);
    free(txt);
    if (rc) return FAIL("snapshot.state: %s", sub.msg);
    if (st->version && st->version != sv)
        return FAIL("snapshot.state_version: %" PRId64 " but state says %" PRId64, sv, st->version);
    st->version = sv;
    return 0;
}

int beat_snapshot_decode(const void *msg, size_t len, beat_campaign_set *out_campaigns,
                         beat_state *out_state, beat_exchange_set *out_xs, beat_reason *why) {
    const char *p = msg;
    if (len < 1 || p[0] != BEAT_FRAME_SNAPSHOT) return FAIL("not a snapshot frame");
    cJSON *root;
    if (beat_json_parse(p + 1, len - 1, &root, why)) return -EBADMSG;
    beat_campaign_set cs = {0};
    beat_state st;
    memset(&st, 0, sizeof st);
    beat_exchange_set xs = {0};
    int rc = snapshot_from(root, &cs, &st, &xs, why);
    cJSON_Delete(root);
    if (rc) {
        beat_campaigns_fini(&cs);
        beat_state_fini(&st);
        beat_exchanges_fini(&xs);
        return rc;
    }
    *out_campaigns = cs;
    *out_state = st;
    if (out_xs) *out_xs = xs;
    else beat_exchanges_fini(&xs);
    return 0;
}
