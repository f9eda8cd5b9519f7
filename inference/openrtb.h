/* OpenRTB 2.5/2.6 bid requests parsed into the compact struct the bidder
 * reads (inf_req). Only fields the bidder uses are kept; strings point into
 * the parse's memory, which the request owns until inf_req_fini. Everything here
 * is untrusted input: malformed → -EBADMSG with a one-line reason (HTTP 400),
 * never an assert. Also here: the bidfloorcur currency table, consent
 * (2.5 ext and 2.6 top-level; decided on by privacy.c), wseat/bseat, at, test, device.sua, banner /
 * video / Native 1.2 imps, pmp deals, bapp and battr. gzip bodies are
 * inflated before this (gunzip.c). Bounded: fixed arrays, excess dropped. */
#ifndef INF_OPENRTB_H
#define INF_OPENRTB_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_exchange.h"
#include "beat_util.h"
#include "beat_wire.h"

#define INF_IMP_MAX 32      /* imps examined per request; later ones get no bid */
#define INF_SIZE_MAX 8      /* banner w×h + format[] sizes kept per imp */
#define INF_CAT_MAX 16      /* site/app categories kept */
#define INF_BLOCK_MAX 256   /* bcat / badv / bapp entries; more → whole request no-bid */
#define INF_SEAT_MAX 32     /* wseat / bseat entries kept (more → seat no-bid) */
#define INF_MIMES_MAX 16    /* video.mimes kept */
#define INF_DURS_MAX 8      /* video.rqddurs kept */
#define INF_ASSETS_MAX 16   /* native assets kept; more → the native is unusable */
#define INF_DEALS_MAX 8     /* pmp.deals kept per imp */
#define INF_SEGMENTS_MAX 32 /* user.data[].segment[].id kept (privacy.c) */
#define INF_SCHAIN_MAX 8    /* source.schain nodes kept (more → truncated) */

typedef enum { INF_CHAN_SITE = 1, INF_CHAN_APP, INF_CHAN_DOOH } inf_chan;

/* Formats offered by an imp, as a bit set; the values are bid.mtype. */
#define INF_FMT_BANNER 1u
#define INF_FMT_VIDEO 2u
#define INF_FMT_NATIVE 4u

/* Why an imp cannot be bid on although the request is valid. */
typedef enum {
    INF_IMP_OK = 0,
    INF_IMP_NO_FORMAT,   /* no banner, video or native object */
    INF_IMP_AUDIO,       /* audio only: we have no audio creatives */
    INF_IMP_NO_SIZE,     /* banner without a usable w×h (e.g. w=0,h=0) */
    INF_IMP_VIDEO_MIMES, /* video without mimes (required by the spec) */
    INF_IMP_NATIVE_REQ,  /* native request unparsable or without assets */
    INF_IMP_CURRENCY,    /* bidfloorcur neither USD nor in the rate table */
    INF_IMP_PRIVATE      /* pmp.private_auction=1 without a usable deal */
} inf_imp_skip;

typedef struct inf_size {
    int w, h;
} inf_size;

typedef struct inf_video {
    int w, h;                     /* 0 when absent */
    int minduration, maxduration; /* seconds; 0 = no bound */
    uint32_t protocols;           /* bit p: VAST protocol p; 0 = any */
    int n_mimes;
    const char *mimes[INF_MIMES_MAX];
    int n_rqddurs; /* 2.6 exact durations; 0 = none */
    int rqddurs[INF_DURS_MAX];
} inf_video;
/* The imp reset zeroes inf_video up to mimes and resets n_rqddurs by hand. */
static_assert(offsetof(inf_video, n_mimes) < offsetof(inf_video, mimes) &&
                  offsetof(inf_video, mimes) < offsetof(inf_video, n_rqddurs),
              "inf_video: scalars must precede mimes (openrtb.c imp reset)");

typedef enum {
    INF_ASSET_TITLE = 1,
    INF_ASSET_IMG,
    INF_ASSET_DATA,
    INF_ASSET_OTHER /* video or unknown: we cannot fill it */
} inf_asset_kind;

typedef struct inf_asset {
    int64_t id;
    bool required;
    inf_asset_kind kind;
    int type;             /* img: 1 icon, 3 main (0 absent); data: 1, 2, 12 … */
    int len;              /* title/data max length; 0 = none given */
    int w, h, wmin, hmin; /* img; 0 when absent */
} inf_asset;

typedef struct inf_native {
    bool wrapped; /* request was {"native":{…}} (1.0/1.1): wrap adm too */
    int n_assets;
    inf_asset assets[INF_ASSETS_MAX];
} inf_native;

typedef struct inf_deal {
    const char *id;
    int64_t floor_cpm_micros; /* USD CPM micros; 0 when absent */
    bool usable;              /* currency known */
    int n_wseat;              /* 0 = any seat */
    const char *wseat[INF_SEAT_MAX];
    int n_wadomain; /* 0 = any advertiser */
    const char *wadomain[INF_SEAT_MAX];
} inf_deal;

typedef struct inf_imp {
    const char *id;
    inf_imp_skip skip;
    unsigned formats; /* INF_FMT_* usable in this imp */
    int n_sizes;      /* sizes[0] is the primary one */
    inf_size sizes[INF_SIZE_MAX];
    int pos;                  /* banner.pos (video.pos), -1 absent */
    int64_t floor_cpm_micros; /* USD CPM micros; 0 when absent */
    uint64_t battr[5];        /* by mtype (1, 2, 4): blocked creative attrs */
    inf_video video;
    inf_native native;
    bool private_auction;
    int n_deals;
    inf_deal deals[INF_DEALS_MAX];
} inf_imp;

/* One source.schain node (schain.c). */
typedef struct inf_schain_node {
    const char *asi, *sid; /* NULL when absent */
    int hp;                /* 1 = the node handles payment, -1 absent */
} inf_schain_node;

typedef struct inf_req {
    void *mem; /* owned: the parse (jparse.h inf_jmem); strings below live in it */
    const char *id;
    int64_t tmax_ms;           /* 0 = absent */
    bool cur_ok;               /* we can bid in a currency cur allows */
    bool cur_absent;           /* no cur: the exchange's default currency applies
                              (inf_req_default_cur) */
    char bid_cur[4];           /* ...that one: "USD" unless cur excludes it */
    double bid_usd_per_unit;   /* its rate (1 for USD) */
    int at;                    /* auction type: 1 first price, 2 second; 0 absent (the
                              caller applies the exchange's default) */
    const beat_exchange *exch; /* set by the caller after parsing: who sent it
                                  (NULL: --open, defaults) */
    bool test;                 /* test=1: not billable; answered, not logged */
    bool seats_truncated;      /* wseat/bseat longer than INF_SEAT_MAX */
    int n_wseat, n_bseat;      /* 0 wseat = any seat */
    const char *wseat[INF_SEAT_MAX], *bseat[INF_SEAT_MAX];
    bool gdpr;           /* regs.gdpr=1 (2.6) or regs.ext.gdpr=1 (2.5) */
    bool coppa;          /* regs.coppa=1 */
    const char *consent; /* user.consent (2.6) or user.ext.consent (2.5) */
    bool personal_ok;    /* personal data usable (privacy.c decides);
                              else every field below is cleared */
    inf_chan chan;
    const char *domain; /* site.domain (NULL if absent or app) */
    const char *bundle; /* app.bundle */
    const char *pub_id; /* site/app.publisher.id */
    int n_cats;
    const char *cats[INF_CAT_MAX]; /* site.cat or app.cat */
    int devicetype;                /* -1 absent */
    const char *os, *country, *user_id;
    /* Coarse geo, each from device.geo else user.geo (not personal data
     * here: docs/privacy.md); NULL when absent or not a string. */
    const char *region, *metro, *city, *zip;
    /* Identity and privacy signals, read and then gated by privacy.c: what
     * the request's consent does not allow is cleared before anything
     * else sees the request (docs/privacy.md). */
    const char *buyeruid, *ifa;   /* user.buyeruid, device.ifa */
    const char *cap_key;          /* frequency-cap id: buyeruid, else ifa, else
                                     user_id; NULL = no usable id */
    int cap_kind;                 /* which (beat_fcap_id_kind) */
    const char *us_privacy, *gpp; /* regs (or regs.ext) strings */
    uint64_t gpp_sid;             /* bit i: section i in regs.gpp_sid */
    bool gpp_sid_given;
    int privacy;  /* inf_privacy_reason (privacy.h) */
    bool has_geo; /* precise lat/lon (device.geo, else user.geo) */
    double lat, lon;
    int n_segments;
    const char *segments[INF_SEGMENTS_MAX];
    const char *seg_provider[INF_SEGMENTS_MAX]; /* its user.data[].id; NULL if none */
    /* source.schain (2.6) or source.ext.schain (2.5), schain.c */
    int schain_complete;   /* -1 absent, else 0 or 1 */
    bool schain_truncated; /* more than INF_SCHAIN_MAX nodes */
    int n_schain;
    inf_schain_node schain[INF_SCHAIN_MAX];
    bool blocks_truncated; /* bcat/badv/bapp longer than INF_BLOCK_MAX */
    int n_bcat, n_badv, n_bapp;
    const char *bcat[INF_BLOCK_MAX];
    const char *badv[INF_BLOCK_MAX];
    const char *bapp[INF_BLOCK_MAX];
    int n_imp;       /* examined imps (≤ INF_IMP_MAX) */
    int n_imp_total; /* imps in the request */
    inf_imp imp[INF_IMP_MAX];
} inf_req;
/* inf_req_parse zeroes the header up to bcat and resets the counts after it
 * by hand: every count of a list past the cut must be listed there, and
 * the lists (written before read) must stay at the end. */
static_assert(offsetof(inf_req, n_bcat) < offsetof(inf_req, bcat) &&
                  offsetof(inf_req, bcat) < offsetof(inf_req, badv) &&
                  offsetof(inf_req, bapp) < offsetof(inf_req, n_imp) &&
                  offsetof(inf_req, n_imp_total) < offsetof(inf_req, imp),
              "inf_req: header fields must precede bcat (inf_req_parse)");

/* Our seat s passes the request's wseat/bseat. */
bool inf_req_seat_ok(const inf_req *r, const char *seat);

/* Parses body[0..len) (need not be NUL-terminated). On success r owns the
 * parse's memory: call inf_req_fini. On failure returns -EBADMSG with why set,
 * and r holds nothing (inf_req_fini is still safe). r may be reused. */
int inf_req_parse(const char *body, size_t len, inf_req *r, beat_reason *why);

/* Currency table for bidfloorcur and the bid currency (beat_fx_parse):
 * spec "EUR=1.08,GBP=1.27" (USD per unit, 3-letter codes, rates in
 * (0, 1e6]); NULL or "" leaves USD only. Call before any
 * parse (start-up): the table is read without locks afterwards. -EINVAL
 * with why set on a bad spec (the table is then unchanged). */
int inf_openrtb_rates_set(const char *spec, beat_reason *why);
/* USD per unit of cur (1 for USD), 0 when unknown. */
double inf_openrtb_rate(const char *cur);
/* The table itself (response prices in the bid currency). */
struct beat_fx;
const struct beat_fx *inf_openrtb_fx(void);
/* A request without cur is in its exchange's default currency cur: we bid
 * in it when the rate table knows it, else cur_ok turns false (no-bid
 * "currency"). No-op when the request named currencies or cur is USD. */
void inf_req_default_cur(inf_req *r, const char *cur);
void inf_req_fini(inf_req *r);

const char *inf_imp_skip_name(inf_imp_skip s);

#endif
