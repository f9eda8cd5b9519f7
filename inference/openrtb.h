/* OpenRTB 2.5/2.6 bid requests parsed into the compact struct the bidder
 * reads (inf_req). Only fields the bidder uses are kept; strings point into
 * the parse tree, which the request owns until inf_req_fini. Everything here
 * is untrusted input: malformed → -EBADMSG with a one-line reason (HTTP 400),
 * never an assert. Also here: the bidfloorcur currency table, consent
 * (2.5 ext and 2.6 top-level), wseat/bseat, at, test, device.sua. gzip
 * bodies are inflated before this (gunzip.c). Not yet: video/native
 * creatives and deals (beat_campaign has banner creatives only, no deals). */
#ifndef INF_OPENRTB_H
#define INF_OPENRTB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define INF_IMP_MAX 32     /* imps examined per request; later ones get no bid */
#define INF_SIZE_MAX 8     /* banner w×h + format[] sizes kept per imp */
#define INF_CAT_MAX 16     /* site/app categories kept */
#define INF_BLOCK_MAX 256  /* bcat / badv entries; more → whole request no-bid */
#define INF_SEAT "beat"    /* seatbid[].seat of our bids; wseat/bseat match it */

typedef enum {
    INF_CHAN_SITE = 1,
    INF_CHAN_APP,
    INF_CHAN_DOOH
} inf_chan;

/* Why an imp cannot be bid on although the request is valid. */
typedef enum {
    INF_IMP_OK = 0,
    INF_IMP_NO_BANNER, /* video/native/audio only: later issues */
    INF_IMP_NO_SIZE,   /* banner without a usable w×h (e.g. w=0,h=0) */
    INF_IMP_CURRENCY,  /* bidfloorcur neither USD nor in the rate table */
    INF_IMP_PRIVATE    /* pmp.private_auction=1: deal bids only, no deals yet */
} inf_imp_skip;

typedef struct inf_size {
    int w, h;
} inf_size;

typedef struct inf_imp {
    const char *id;
    inf_imp_skip skip;
    int n_sizes;                  /* sizes[0] is the primary one */
    inf_size sizes[INF_SIZE_MAX];
    int pos;                      /* banner.pos, -1 absent */
    int64_t floor_cpm_micros;     /* USD CPM micros; 0 when absent */
} inf_imp;

typedef struct inf_req {
    void *tree;            /* owned parse tree (cJSON); strings below live in it */
    const char *id;
    int64_t tmax_ms;       /* 0 = absent */
    bool cur_ok;           /* cur absent or contains USD */
    int at;                /* auction type: 1 first price, 2 second (default) */
    bool test;             /* test=1: not billable; answered, not logged */
    bool seat_ok;          /* our seat (INF_SEAT) not excluded by wseat/bseat */
    bool gdpr;             /* regs.gdpr=1 (2.6) or regs.ext.gdpr=1 (2.5) */
    bool coppa;            /* regs.coppa=1 */
    const char *consent;   /* user.consent (2.6) or user.ext.consent (2.5) */
    bool personal_ok;      /* user data usable (see inf_req_parse); else
                              user_id is NULL */
    inf_chan chan;
    const char *domain;    /* site.domain (NULL if absent or app) */
    const char *bundle;    /* app.bundle */
    const char *pub_id;    /* site/app.publisher.id */
    int n_cats;
    const char *cats[INF_CAT_MAX]; /* site.cat or app.cat */
    int devicetype;        /* -1 absent */
    const char *os, *country, *user_id;
    bool blocks_truncated; /* bcat/badv longer than INF_BLOCK_MAX */
    int n_bcat, n_badv;
    const char *bcat[INF_BLOCK_MAX];
    const char *badv[INF_BLOCK_MAX];
    int n_imp;             /* examined imps (≤ INF_IMP_MAX) */
    int n_imp_total;       /* imps in the request */
    inf_imp imp[INF_IMP_MAX];
} inf_req;

/* Parses body[0..len) (need not be NUL-terminated). On success r owns the
 * parse tree: call inf_req_fini. On failure returns -EBADMSG with why set,
 * and r holds nothing (inf_req_fini is still safe). r may be reused. */
int inf_req_parse(const char *body, size_t len, inf_req *r, beat_reason *why);

/* Currency table for bidfloorcur: spec "EUR=1.08,GBP=1.27" (USD per unit,
 * 3-letter codes, rates in (0, 1e6]); NULL or "" clears it. Call before any
 * parse (start-up): the table is read without locks afterwards. -EINVAL
 * with why set on a bad spec (the table is then unchanged). */
int inf_openrtb_rates_set(const char *spec, beat_reason *why);
/* USD per unit of cur (1 for USD), 0 when unknown. */
double inf_openrtb_rate(const char *cur);
void inf_req_fini(inf_req *r);

const char *inf_imp_skip_name(inf_imp_skip s);

#endif
