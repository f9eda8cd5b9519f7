/* Actuator bookkeeping: the campaign table (spend, controller state), the
 * datastream cursors that make every bucket count once, and the state JSON
 * with its "private" part. Called from main.c's tick loop only (one
 * thread). Never does I/O, never trusts a restored document: every field
 * of "private" is checked and skipped alone when bad. */
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int act_state_init(act_state *st, int max_campaigns) {
    memset(st, 0, sizeof *st);
    if (max_campaigns < 1) return -EINVAL;
    uint32_t size = 16;
    while (size < (uint32_t)max_campaigns * 2u) size <<= 1;
    st->c = calloc((size_t)max_campaigns, sizeof *st->c);
    st->index = malloc(size * sizeof *st->index);
    if (!st->c || !st->index) {
        free(st->c);
        free(st->index);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < size; i++) st->index[i] = -1;
    st->max_skew_ms = 5000;
    act_land_cfg_default(&st->land_cfg);
    st->default_mode = BEAT_PACING_EVEN;
    st->index_mask = size - 1;
    st->max = max_campaigns;
    return 0;
}

void act_state_fini(act_state *st) {
    if (!st->c) return;
    for (int i = 0; i < st->n; i++) free(st->c[i]);
    free(st->c);
    free(st->index);
    memset(st, 0, sizeof *st);
}

static int *slot_of(const act_state *st, const char *id) {
    uint32_t i = hash_str(id) & st->index_mask;
    for (;;) {
        int *slot = &st->index[i];
        if (*slot < 0 || strcmp(st->c[*slot]->id, id) == 0) return slot;
        i = (i + 1) & st->index_mask;
    }
}

act_camp *act_state_find(const act_state *st, const char *id) {
    if (!id) return NULL;
    int *slot = slot_of(st, id);
    return *slot < 0 ? NULL : st->c[*slot];
}

act_camp *act_state_get(act_state *st, const char *id) {
    if (!id) return NULL; /* a cJSON array member has no name */
    size_t len = strlen(id);
    if (len == 0 || len > BEAT_ID_MAX) return NULL;
    int *slot = slot_of(st, id);
    if (*slot >= 0) return st->c[*slot];
    if (st->n >= st->max) return NULL;
    act_camp *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    memcpy(c->id, id, len + 1);
    act_pacer_init(&c->ctl);
    st->c[st->n] = c;
    *slot = st->n++;
    return c;
}

beat_pull_cursor *act_state_cursor(act_state *st, const char *url) {
    if (!url || strlen(url) >= sizeof st->cur[0].url) return NULL;
    for (int i = 0; i < st->n_cur; i++)
        if (strcmp(st->cur[i].url, url) == 0) return &st->cur[i];
    if (st->n_cur >= ACT_CURSORS_MAX) return NULL;
    beat_pull_cursor *c = &st->cur[st->n_cur++];
    memset(c, 0, sizeof *c);
    snprintf(c->url, sizeof c->url, "%s", url);
    return c;
}

int act_state_set_campaigns(act_state *st, const beat_campaign_set *cs) {
    int dropped = 0;
    for (int i = 0; i < st->n; i++) st->c[i]->in_set = false;
    for (int i = 0; i < cs->n; i++) {
        const beat_campaign *bc = &cs->c[i];
        act_camp *c = act_state_get(st, bc->id);
        if (!c) {
            dropped++;
            continue;
        }
        c->in_set = true;
        c->start_ms = bc->start_ms;
        c->end_ms = bc->end_ms;
        c->budget_micros = bc->budget_micros;
        c->op_paused = bc->paused;
        c->sched = bc->schedule;
        c->tz = bc->tz;
        c->day_c.start_ms = bc->start_ms;
        c->day_c.end_ms = bc->end_ms;
        c->day_c.budget_micros = bc->budget_micros;
        c->day_c.daily_budget_micros = bc->daily_budget_micros;
        c->day_c.rollover = bc->rollover;
        c->day_c.tz = bc->tz;
        beat_pacing mode = bc->pacing != BEAT_PACING_DEFAULT ? bc->pacing : st->default_mode;
        if (mode != c->mode && c->mode != BEAT_PACING_DEFAULT) c->ctl.has_integ = false;
        c->mode = mode;
    }
    return dropped;
}

static int64_t sat_add(int64_t a, int64_t b) {
    if (b <= 0) return a; /* counts only grow; a negative row is garbage */
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int act_state_apply(act_state *st, beat_pull_cursor *cur, const beat_aggregates *a,
                    act_apply_result *r) {
    memset(r, 0, sizeof *r);
    beat_pull_check chk;
    beat_pull_begin(cur, a->epoch, a->n_buckets, a->first_seq, &chk);
    r->epoch_changed = chk.epoch_changed;
    r->refetch = chk.refetch;
    r->missed = chk.missed;
    if (chk.refetch) return 0;
    /* Spend is always counted; a time from the future is only kept out of
     * data_end_ms and heard_ms, where it would claim data not yet complete
     * (docs/contracts.md "Timestamps"): 0 there means "does not know". */
    int64_t now = beat_now_ms();
    int cix = (int)(cur - st->cur);
    if (cix >= 0 && cix < st->n_cur) {
        bool ahead = a->has_heard && beat_ts_ahead(a->heard_ms, now, st->max_skew_ms);
        if (ahead) r->future++;
        st->has_heard[cix] = a->has_heard;
        st->heard_ms[cix] = a->has_heard && !ahead ? a->heard_ms : 0;
    }
    for (int b = 0; b < a->n_buckets; b++) {
        const beat_agg_bucket *bk = &a->buckets[b];
        if (!beat_pull_take(cur, bk->seq)) continue; /* already counted */
        for (int i = 0; i < bk->n_rows; i++) {
            const beat_agg_row *row = &bk->rows[i];
            act_camp *c = act_state_get(st, row->campaign);
            if (!c) {
                r->dropped++;
                continue;
            }
            c->spent_micros = sat_add(c->spent_micros, row->spend_micros);
            c->opps = sat_add(c->opps, row->opps);
            c->bids = sat_add(c->bids, row->bids);
            c->wins = sat_add(c->wins, row->wins);
            c->imps = sat_add(c->imps, row->imps);
            c->clicks = sat_add(c->clicks, row->clicks);
            act_land_add(&c->land, &st->land_cfg, row->won_cpm, row->lost_cpm, bk->end_ms);
        }
        r->buckets++;
        int ci = (int)(cur - st->cur);
        if (beat_ts_ahead(bk->end_ms, now, st->max_skew_ms)) r->future++;
        else if (ci >= 0 && ci < st->n_cur && bk->end_ms > st->data_end_ms[ci])
            st->data_end_ms[ci] = bk->end_ms;
    }
    return 0;
}

int64_t act_state_data_ms(const act_state *st, int64_t stale_ms) {
    int64_t newest = 0, t = 0;
    for (int i = 0; i < st->n_cur; i++)
        if (st->data_end_ms[i] > newest) newest = st->data_end_ms[i];
    for (int i = 0; i < st->n_cur; i++)
        if (st->data_end_ms[i] > 0 && st->data_end_ms[i] >= newest - stale_ms &&
            (t == 0 || st->data_end_ms[i] < t))
            t = st->data_end_ms[i];
    for (int i = 0; t > 0 && i < st->n_cur; i++)
        if (st->data_end_ms[i] > 0 && st->data_end_ms[i] >= newest - stale_ms && st->has_heard[i] &&
            st->heard_ms[i] < t)
            t = st->heard_ms[i]; /* 0: that datastream does not know */
    return t;
}

/* ---- JSON out --------------------------------------------------------- */

static int put_dbl(beat_buf *b, double v) {
    return beat_buf_printf(b, "%.17g", isfinite(v) ? v : 0.0);
}

static int put_key(beat_buf *b, bool *first, const char *k) {
    int rc = 0;
    if (!*first) rc |= beat_buf_puts(b, ",");
    *first = false;
    rc |= beat_buf_json_str(b, k, strlen(k));
    rc |= beat_buf_puts(b, ":");
    return rc;
}

int act_state_encode(const act_state *st, const char *actuator, int64_t now_ms, beat_buf *out) {
    int rc = beat_buf_printf(out, "{\"v\":%d,\"actuator\":", BEAT_STATE_V);
    rc |= beat_buf_json_str(out, actuator, strlen(actuator));
    rc |= beat_buf_printf(out, ",\"ts\":%" PRId64 ",\"campaigns\":{", now_ms);
    bool first = true;
    for (int i = 0; i < st->n; i++) {
        const act_camp *c = st->c[i];
        if (!c->in_set) continue;
        rc |= put_key(out, &first, c->id);
        rc |= beat_buf_puts(out, "{\"multiplier\":");
        rc |= put_dbl(out, c->ctl.multiplier);
        rc |= beat_buf_printf(out, ",\"paused\":%s,\"spent_micros\":%" PRId64,
                              c->ctl.paused ? "true" : "false", c->spent_micros);
        float curve[BEAT_LAND_N];
        if (act_land_fit(&c->land, &st->land_cfg, curve) == 0) {
            /* 6 digits: more than the counts carry; rounding keeps the order */
            for (int k = 0; k < BEAT_LAND_N; k++)
                rc |=
                    beat_buf_printf(out, "%s%.6g", k ? "," : ",\"win_curve\":[", (double)curve[k]);
            rc |= beat_buf_puts(out, "]");
        }
        rc |= beat_buf_puts(out, "}");
    }
    rc |= beat_buf_puts(out, "},\"private\":{\"spend\":{");
    first = true;
    for (int i = 0; i < st->n; i++) {
        const act_camp *c = st->c[i];
        if (c->spent_micros == 0 && !c->in_set) continue;
        rc |= put_key(out, &first, c->id);
        rc |= beat_buf_printf(out, "%" PRId64, c->spent_micros);
    }
    /* Day accounts (daily.h): day, its start, base, share, carry. */
    rc |= beat_buf_puts(out, "},\"daily\":{");
    first = true;
    for (int i = 0; i < st->n; i++) {
        const beat_daily *d = &st->c[i]->daily.day;
        if (!st->c[i]->in_set || !d->set) continue;
        rc |= put_key(out, &first, st->c[i]->id);
        rc |= beat_buf_printf(out, "[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
                              d->day, d->start_ms, d->base, d->share, d->carry);
    }
    rc |= beat_buf_puts(out, "},\"mult\":{");
    first = true;
    for (int i = 0; i < st->n; i++) {
        const act_camp *c = st->c[i];
        if (!c->in_set) continue;
        rc |= put_key(out, &first, c->id);
        rc |= put_dbl(out, c->ctl.multiplier);
    }
    rc |= beat_buf_puts(out, "},\"rate\":{");
    first = true;
    for (int i = 0; i < st->n; i++) {
        const act_camp *c = st->c[i];
        if (!c->in_set || c->ctl.rate < 0) continue;
        rc |= put_key(out, &first, c->id);
        rc |= put_dbl(out, c->ctl.rate);
    }
    rc |= beat_buf_puts(out, "},\"integ\":{");
    first = true;
    for (int i = 0; i < st->n; i++) {
        const act_camp *c = st->c[i];
        if (!c->in_set || !c->ctl.has_integ) continue;
        rc |= put_key(out, &first, c->id);
        rc |= put_dbl(out, c->ctl.integ);
    }
    /* The value law's estimates (pacer_value.c), restored one by one. */
    rc |= beat_buf_puts(out, "},\"value\":{");
    first = true;
    for (int i = 0; i < st->n; i++) {
        const act_camp *c = st->c[i];
        const act_pacer *p = &c->ctl;
        if (!c->in_set) continue;
        rc |= put_key(out, &first, c->id);
        rc |= beat_buf_printf(out, "{\"mode\":\"%s\",\"opps\":%" PRId64 ",\"obs_s\":",
                              beat_pacing_name(c->mode), c->opps);
        rc |= put_dbl(out, p->v_obs_s);
        rc |= beat_buf_puts(out, ",\"flight_opps\":");
        rc |= put_dbl(out, p->v_opps);
        if (p->v_spend_avg >= 0 && p->v_opps_avg >= 0) {
            rc |= beat_buf_puts(out, ",\"spend_avg\":");
            rc |= put_dbl(out, p->v_spend_avg);
            rc |= beat_buf_puts(out, ",\"opps_avg\":");
            rc |= put_dbl(out, p->v_opps_avg);
            rc |= beat_buf_puts(out, ",\"loglam\":");
            rc |= put_dbl(out, p->v_loglam);
        }
        if (p->cruise > 0) {
            rc |= beat_buf_puts(out, ",\"cruise\":");
            rc |= put_dbl(out, p->cruise);
        }
        rc |= beat_buf_puts(out, "}");
    }
    /* The win-price landscape (landscape.c), so a restart shades again at
     * once instead of after the next min_bids settled bids. */
    rc |= beat_buf_puts(out, "},\"land\":{");
    first = true;
    for (int i = 0; i < st->n; i++) {
        const act_camp *c = st->c[i];
        if (!c->in_set || c->land.t_ms <= 0) continue;
        rc |= put_key(out, &first, c->id);
        rc |= beat_buf_printf(out, "{\"t\":%" PRId64, c->land.t_ms);
        for (int k = 0; k < BEAT_LAND_N; k++) {
            rc |= beat_buf_puts(out, k ? "," : ",\"won\":[");
            rc |= put_dbl(out, c->land.won[k]);
        }
        for (int k = 0; k < BEAT_LAND_N; k++) {
            rc |= beat_buf_puts(out, k ? "," : "],\"lost\":[");
            rc |= put_dbl(out, c->land.lost[k]);
        }
        rc |= beat_buf_puts(out, "]}");
    }
    rc |= beat_buf_puts(out, "},\"cursors\":");
    rc |= beat_pull_cursors_encode(st->cur, st->n_cur, out);
    rc |= beat_buf_puts(out, "}}");
    return rc ? -EMSGSIZE : 0;
}

/* ---- JSON in ---------------------------------------------------------- */

static bool num_of(const cJSON *v, double *out) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return false;
    *out = v->valuedouble;
    return true;
}

static double field(const cJSON *o, const char *k, double lo, double hi, double dflt) {
    double d;
    if (!num_of(cJSON_GetObjectItemCaseSensitive(o, k), &d) || d < lo || d > hi) return dflt;
    return d;
}

/* One campaign's value-law estimates; each bad field is left at its fresh
 * value. The mode is the set's to say: restored only so that a campaign
 * whose set has not come yet keeps the law it had. */
static void restore_value(act_camp *c, const cJSON *o) {
    act_pacer *p = &c->ctl;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mode");
    beat_pacing mode;
    if (cJSON_IsString(m) && beat_pacing_parse(m->valuestring, &mode) == 0 &&
        c->mode == BEAT_PACING_DEFAULT)
        c->mode = mode;
    double opps = field(o, "opps", 0, 9e18, -1);
    if (opps >= 0) {
        c->opps = (int64_t)opps;
        p->last_opps = c->opps;
    }
    p->v_obs_s = field(o, "obs_s", 0, 1e12, p->v_obs_s);
    p->v_opps = field(o, "flight_opps", 0, 9e18, p->v_opps);
    double sa = field(o, "spend_avg", 0, 1e18, -1), oa = field(o, "opps_avg", 0, 1e18, -1);
    p->cruise = field(o, "cruise", 1e-6, 1e6, p->cruise);
    double ll = field(o, "loglam", -20, 20, NAN);
    if (sa >= 0 && oa >= 0 && isfinite(ll)) {
        p->v_spend_avg = sa;
        p->v_opps_avg = oa;
        p->v_loglam = ll;
    }
}

/* 20 finite counts ≥ 0 into out; false (out untouched) otherwise. */
static bool counts_of(const cJSON *a, double out[BEAT_LAND_N]) {
    double v[BEAT_LAND_N];
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != BEAT_LAND_N) return false;
    int k = 0;
    for (const cJSON *x = a->child; x; x = x->next, k++)
        if (!num_of(x, &v[k]) || v[k] < 0 || v[k] > 1e15) return false;
    memcpy(out, v, sizeof v);
    return true;
}

/* One campaign's landscape, whole or not at all. */
static void restore_land(act_camp *c, const cJSON *o) {
    act_land l;
    double t = field(o, "t", 1, 9e15, -1);
    if (t < 0 || !counts_of(cJSON_GetObjectItemCaseSensitive(o, "won"), l.won) ||
        !counts_of(cJSON_GetObjectItemCaseSensitive(o, "lost"), l.lost))
        return;
    l.t_ms = (int64_t)t;
    c->land = l;
}

int act_state_restore(act_state *st, const char *json, size_t len, beat_reason *why) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return beat_reasonf(why, -EBADMSG, "state is not a JSON object");
    }
    double d;
    int64_t ts = num_of(cJSON_GetObjectItemCaseSensitive(root, "ts"), &d) && d > 0 ? (int64_t)d : 0;
    const cJSON *it;
    /* Public multipliers first: a state written by another actuator
     * implementation may have no private part we understand. */
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "campaigns")) {
        double m;
        if (!cJSON_IsObject(it) ||
            !num_of(cJSON_GetObjectItemCaseSensitive(it, "multiplier"), &m) || m <= 0)
            continue;
        act_camp *c = act_state_get(st, it->string);
        if (c) c->ctl.multiplier = m;
    }
    const cJSON *priv = cJSON_GetObjectItemCaseSensitive(root, "private");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "spend")) {
        if (!num_of(it, &d) || d < 0 || d > 9e18) continue;
        act_camp *c = act_state_get(st, it->string);
        if (!c) continue;
        c->spent_micros = (int64_t)d;
        c->ctl.last_spent = c->spent_micros;
        c->ctl.last_ms = ts;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "daily")) {
        double v[5];
        int k = 0;
        for (const cJSON *x = cJSON_IsArray(it) ? it->child : NULL; x && k < 5; x = x->next, k++)
            if (!num_of(x, &v[k]) || fabs(v[k]) > 9e15) break;
        act_camp *c = k == 5 && cJSON_GetArraySize(it) == 5 ? act_state_get(st, it->string) : NULL;
        if (c)
            c->daily.day = (beat_daily){.set = true,
                                        .day = (int64_t)v[0],
                                        .start_ms = (int64_t)v[1],
                                        .base = (int64_t)v[2],
                                        .share = (int64_t)v[3],
                                        .carry = (int64_t)v[4]};
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "mult")) {
        if (!num_of(it, &d) || d <= 0) continue;
        act_camp *c = act_state_get(st, it->string);
        if (c) c->ctl.multiplier = d;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "rate")) {
        if (!num_of(it, &d) || d < 0) continue;
        act_camp *c = act_state_get(st, it->string);
        if (c) c->ctl.rate = d;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "integ")) {
        /* ln of the multiplier at zero error: bounded like the multiplier. */
        if (!num_of(it, &d) || d < -20 || d > 20) continue;
        act_camp *c = act_state_get(st, it->string);
        if (!c) continue;
        c->ctl.integ = d;
        c->ctl.has_integ = true;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "value")) {
        if (!cJSON_IsObject(it)) continue;
        act_camp *c = act_state_get(st, it->string);
        if (c) restore_value(c, it);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "land")) {
        if (!cJSON_IsObject(it)) continue;
        act_camp *c = act_state_get(st, it->string);
        if (c) restore_land(c, it);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(priv, "cursors")) {
        uint64_t epoch, seq;
        if (beat_pull_cursor_decode(it, &epoch, &seq) != 0) continue;
        beat_pull_cursor *cu = act_state_cursor(st, it->string);
        if (!cu) continue;
        cu->has_epoch = true;
        cu->epoch = epoch;
        cu->seq = seq;
    }
    cJSON_Delete(root);
    return 0;
}
