/* Internal to common/: the field helpers beat_campaign.c and
 * beat_creative.c share (the creative codec lives in its own file to keep
 * both under the size limit). Daemons never include this header. */
#ifndef BEAT_CAMPAIGN_FIELDS_H
#define BEAT_CAMPAIGN_FIELDS_H

#include <cjson/cJSON.h>
#include "beat_campaign.h"
#include "beat_json.h"

/* An id [A-Za-z0-9_.:-]{1,64} into out; reason names ctx.name. */
int beat_campaign_j_id(const cJSON *v, const char *ctx, const char *name, char out[BEAT_ID_MAX + 1],
                       beat_reason *why);
/* A list of non-empty strings (absent = empty); out owns the copies. */
int beat_campaign_j_strv(const cJSON *v, const char *ctx, const char *name, beat_strv *out,
                         beat_reason *why);
void beat_campaign_strv_fini(beat_strv *v);

/* A whole set from its parsed JSON (beat_campaigns_decode minus the
 * parse), for frames that embed one (beat_snapshot.c). On error s holds
 * what was decoded so far: beat_campaigns_fini it. */
int beat_campaign_set_from(const cJSON *root, int64_t now_ms, bool strict, beat_campaign_set *s,
                           beat_reason *why);

void beat_campaign_e_key(beat_json_enc *e, const char *key, bool comma);
void beat_campaign_e_i64(beat_json_enc *e, const char *key, int64_t x);
void beat_campaign_e_strv(beat_json_enc *e, const char *key, bool comma, const beat_strv *v);

/* One creative object at ctx ("campaigns[0].creatives[1]"); strict refuses
 * unknown keys (see beat_campaigns_decode). On error cr may hold partial
 * allocations: beat_creative_fini it. */
int beat_creative_decode(const cJSON *j, const char *ctx, bool strict, beat_creative *cr,
                         beat_reason *why);
/* The creative's fields, without the enclosing braces. */
void beat_creative_encode(beat_json_enc *e, const beat_creative *cr);
void beat_creative_fini(beat_creative *cr);

/* Geography and audience targeting (beat_campaign_geo.c): the keys it
 * reads inside "targeting", in the order of the slots f[] passed to
 * beat_campaign_aud_decode. */
#define BEAT_AUD_KEYS 9
extern const char *const *const beat_campaign_aud_keys;
/* f[k]: the member named beat_campaign_aud_keys[k] or NULL. ctx names the
 * targeting object ("campaigns[0].targeting"). On error a may hold partial
 * allocations: beat_campaign_aud_fini it. */
int beat_campaign_aud_decode(const cJSON *const *f, const char *ctx, bool strict,
                             beat_campaign_aud *a, beat_reason *why);
/* The non-empty fields as ,"key":… members (nothing when none is used,
 * so older sets encode byte for byte as before). */
void beat_campaign_aud_encode(beat_json_enc *e, const beat_campaign_aud *a);
void beat_campaign_aud_fini(beat_campaign_aud *a);

/* ,"schedule":{…} (every weekday, ranges merged; beat_sched.h). */
void beat_campaign_e_sched(beat_json_enc *e, const beat_campaign *c);

/* "daily_budget_micros" and "rollover" (v 4, beat_campaign_budget.c): either
 * may be NULL (absent); needs c->budget_micros decoded first. */
int beat_campaign_budget_decode(const cJSON *daily, const cJSON *rollover, const char *ctx,
                                beat_campaign *c, beat_reason *why);
/* Appends ,"daily_budget_micros":…,"rollover":… when the campaign has them. */
void beat_campaign_budget_encode(beat_json_enc *e, const beat_campaign *c);
/* True when c uses a field of this file (its set must be written as v 4). */
bool beat_campaign_budget_used(const beat_campaign *c);

#endif
