/* Campaigns: the JSON a campaign operator loads into the supervisor
 * (--campaigns FILE or PUT /v1/campaigns), validated field by field, and
 * the snapshot frame that carries campaigns + state to inference.
 *
 * {"v":1,"campaigns":[{
 *   "id":"c1", "advertiser":"Acme", "adomain":["acme.com"], "cat":["IAB1"],
 *   "start_ms":…, "end_ms":…,            -- or "flight_s":N: starts now
 *   "budget_micros":…, "base_bid_cpm_micros":…, "max_bid_cpm_micros":…,
 *   "paused":false,
 *   "targeting":{"countries":["USA"],"device_types":[1,2],"os":["ios"],
 *                "site_cat":["IAB1"],"domains_allow":[],"domains_block":[],
 *                "bundles_allow":[],"bundles_block":[]},
 *   "creatives":[{"crid":"cr1","w":300,"h":250,"adm":"<a href=\"${CLICK_URL}\">…",
 *                 "landing":"https://acme.example/"}],
 *   "freq_cap":{"max":5,"window_s":3600},
 *   "seat":"beat", "deals":["deal-1"], "bundle":"com.acme.app",
 *   "schain_complete":true, "sellers":["exchange.example:pub-1"],
 *   "pacing":"value", "tz":"America/New_York",
 *   "schedule":{"mon":["09-17"],"sat":[],"sun":[]},
 *   "daily_budget_micros":…, "rollover":"next_day", "conv_window_s":604800}]}
 * v 4 adds "tz", "schedule", "daily_budget_micros", "rollover" and, to
 * "targeting": "regions", "metros", "cities", "zips", "radius",
 * "segments_include", "segments_exclude", "lists_include", "lists_exclude"
 * (docs/campaigns.md).
 * Empty/absent targeting lists mean "any". ${CLICK_URL} in adm is replaced
 * by inference with the receiver's signed click URL. "flight_s" is resolved
 * to absolute start_ms/end_ms at decode time (now_ms), and encode always
 * writes absolute times, so a stored set never moves.
 * Creatives have a "format": "banner" (default: w, h, adm), "video" (mimes,
 * duration, protocols, adm = VAST; w/h optional) or "native" (title,
 * img/icon {url,w,h}, sponsored, desc, cta; inference builds the Native 1.2
 * adm), and optional "attr" (IAB creative attributes). docs/contracts.md
 * has the full table. */
#ifndef BEAT_CAMPAIGN_H
#define BEAT_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>
#include "beat_conv.h"
#include "beat_exchange.h"
#include "beat_sched.h"
#include "beat_tz.h"
#include "beat_util.h"
#include "beat_wire.h"

/* The set's "v" (bump rules in beat_wire.h). 2 added the supply-chain
 * fields schain_complete and sellers, which limit where a campaign bids, so
 * a reader that ignored them would bid where it must not: a set using them
 * is written as v 2, which v1 readers refuse; a set without them is still
 * written as v 1. 3 added "pacing" (how the actuator spreads the budget): a
 * set in which a campaign names a mode is written as v 3, so an actuator
 * that would pace it otherwise refuses it instead; a set naming none keeps
 * the oldest version that holds it. 4 added the trading-desk fields, "tz"
 * first (the zone a campaign's days and hours are reckoned in): a set
 * using any of them is written as v 4. All four are read
 * (docs/contracts.md "Campaigns"). */
#define BEAT_CAMPAIGNS_V 4
#define BEAT_CAMPAIGNS_V_MIN 1
#define BEAT_CAMPAIGNS_MAX 10000
#define BEAT_CREATIVES_MAX 32
#define BEAT_SEAT_DEFAULT "beat" /* campaign seat when none is given */

typedef struct beat_strv {
    char **v;
    int n;
} beat_strv;

/* Creative formats; the values are OpenRTB 2.6 bid.mtype. */
typedef enum { BEAT_FMT_BANNER = 1, BEAT_FMT_VIDEO = 2, BEAT_FMT_NATIVE = 4 } beat_format;

typedef struct beat_native_img {
    char *url; /* owned; NULL = the creative has no such image */
    int w, h;
} beat_native_img;

typedef struct beat_creative {
    char crid[BEAT_ID_MAX + 1];
    int w, h;      /* banner: > 0; video: 0 when not given; native: 0 or given */
    char *adm;     /* owned; NULL for native (inference builds it) */
    char *landing; /* owned */
    beat_format format;
    uint64_t attr; /* bit a set: has IAB creative attribute a (1..63) */
    /* video */
    beat_strv mimes;
    int duration_s;
    uint32_t protocols; /* bit p set: VAST protocol id p (1..31) */
    /* native (owned strings, NULL when absent) */
    char *title, *sponsored, *desc, *cta;
    beat_native_img img, icon;
} beat_creative;

/* How the actuator spreads a campaign's budget over its flight ("pacing",
 * v 3). DEFAULT = not named: the actuator's --pacing-mode decides. */
typedef enum {
    BEAT_PACING_DEFAULT = 0,
    BEAT_PACING_EVEN,  /* follow the planned spend curve */
    BEAT_PACING_VALUE, /* the most value for the budget within the flight */
    BEAT_PACING_ASAP   /* no pacing: bid the campaign's value until the budget stop */
} beat_pacing;

/* What happens to a day's unspent budget ("rollover", v 4; beat_daily.h). */
typedef enum {
    BEAT_ROLLOVER_NONE = 0, /* each day gets its daily budget; unspent is lost */
    BEAT_ROLLOVER_NEXT_DAY, /* the next day gets it on top of its own */
    BEAT_ROLLOVER_EVEN      /* spread evenly over the flight's remaining days */
} beat_rollover;

/* "even", "value", "asap" -> mode; -EINVAL for anything else (DEFAULT has
 * no name). */
int beat_pacing_parse(const char *s, beat_pacing *out);
/* The name of a mode; "default" for BEAT_PACING_DEFAULT. Static string. */
const char *beat_pacing_name(beat_pacing p);

/* Geography and audience targeting (v 4, common/beat_campaign_geo.c; the
 * rules: docs/campaigns.md). The geo lists and radius targets together
 * name places: a campaign with any of them bids only on requests inside at
 * least one. Segment and list rules need the user's data, which the
 * privacy gate may have cleared: an include rule then never matches, an
 * exclude rule has nothing to exclude. */
#define BEAT_RADIUS_MAX 64       /* radius targets per campaign */
#define BEAT_RADIUS_KM_MAX 500.0 /* a larger circle is a region, not a radius */
#define BEAT_SEG_RULES_MAX 16    /* providers per include / exclude list */
typedef struct beat_geo_radius {
    double lat, lon, radius_km; /* [-90,90], [-180,180], (0, BEAT_RADIUS_KM_MAX] */
} beat_geo_radius;
typedef struct beat_seg_rule {
    char provider[BEAT_ID_MAX + 1]; /* user.data[].id */
    beat_strv ids;                  /* its segment ids (user.data[].segment[].id) */
} beat_seg_rule;
typedef struct beat_campaign_aud {
    beat_strv regions; /* "USA:NY": country (as in geo.country) ':' subdivision */
    beat_strv metros, cities, zips;
    int n_radius;
    beat_geo_radius *radius; /* owned */
    int n_seg_incl, n_seg_excl;
    beat_seg_rule *seg_incl, *seg_excl; /* owned */
    beat_strv lists_incl, lists_excl;   /* first-party list ids (beat_seglist.h) */
} beat_campaign_aud;

/* Whether any of it is used (a v 4 field; inference checks only those). */
bool beat_campaign_aud_used(const beat_campaign_aud *a);

typedef struct beat_campaign {
    char id[BEAT_ID_MAX + 1];
    char *advertiser;
    beat_strv adomain, cat;
    int64_t start_ms, end_ms;
    int64_t budget_micros, base_bid_cpm_micros, max_bid_cpm_micros;
    bool paused;
    beat_strv countries, os, site_cat;
    beat_strv domains_allow, domains_block, bundles_allow, bundles_block;
    int device_types[16];
    int n_device_types;
    beat_creative *creatives;
    int n_creatives;
    int freq_cap_max; /* 0 = no cap */
    int freq_cap_window_s;
    char seat[BEAT_ID_MAX + 1]; /* buyer seat; "beat" when not given */
    beat_strv deals;            /* PMP deal ids it may bid on */
    char *bundle;               /* owned; advertised app (bapp), NULL if none */
    /* supply chain (v 2): bid only on a complete source.schain, and/or only
     * when its first node (the seller holding the publisher's account) is
     * one of sellers: "asi" (any account there) or "asi:sid" */
    bool schain_complete;
    beat_strv sellers;
    beat_pacing pacing; /* v 3; DEFAULT when absent */
    const beat_tz *tz;  /* v 4, "tz": interned (beat_tz.h), never freed; NULL = UTC */
    /* v 4, "schedule": the open hours in tz (beat_sched.h); .on false = always open */
    beat_sched schedule;
    beat_campaign_aud aud;       /* v 4; all empty when absent */
    int64_t daily_budget_micros; /* v 4; 0 = none; ≤ budget_micros (beat_daily.h) */
    beat_rollover rollover;      /* v 4; NONE when absent */
    /* "conv_window_s": conversions count within this many seconds of the
     * click (signed into its click URL); 0 = BEAT_CONV_WINDOW_DEFAULT_S.
     * Written only when set, with no set version of its own. */
    int conv_window_s;
} beat_campaign;

typedef struct beat_campaign_set {
    int64_t version; /* assigned by the supervisor; 0 if none yet */
    int n;
    beat_campaign *c; /* owned */
} beat_campaign_set;

/* Validates every field: ids [A-Za-z0-9_.:-]{1,64} and unique, end > start,
 * budget > 0, 0 < base ≤ max bid, ≥ 1 creative with w,h > 0 and adm,
 * list sizes bounded. Reason names the field: "campaigns[2].budget_micros:
 * must be > 0". BEAT_CAMPAIGNS_STRICT refuses unknown keys: an operator's
 * typo must not silently change spending, so the supervisor decodes what
 * operators send strictly; daemons reading a set the supervisor already
 * accepted do not, so a newer supervisor's additive field does not stop
 * them. On success out owns everything (beat_campaigns_fini). */
#define BEAT_CAMPAIGNS_STRICT 1u
int beat_campaigns_decode(const char *json, size_t len, int64_t now_ms, unsigned flags,
                          beat_campaign_set *out, beat_reason *why);
int beat_campaigns_encode(const beat_campaign_set *s, beat_buf *out);
void beat_campaigns_fini(beat_campaign_set *s);
const beat_campaign *beat_campaigns_find(const beat_campaign_set *s, const char *id);

/* Snapshot frame ('S' + JSON, see beat_wire.h). state and xs may be NULL
 * (none yet). */
int beat_snapshot_encode(const beat_campaign_set *cs, const beat_state *st,
                         const beat_exchange_set *xs, beat_buf *out);
/* Decodes a whole frame (tag included). out_state->n == 0 and
 * out_state->version == 0 when the snapshot carries no state; likewise
 * out_xs->version == 0 when it carries no exchanges (a v1 frame never
 * does). out_xs may be NULL: the exchanges are validated, then dropped. */
int beat_snapshot_decode(const void *msg, size_t len, beat_campaign_set *out_campaigns,
                         beat_state *out_state, beat_exchange_set *out_xs, beat_reason *why);

#endif
