/* Versioned wire formats between daemons (docs/contracts.md):
 *  - events on Kafka (receiver → datastream) and bid logs over nng
 *    (inference → receiver): one JSON object, "v":1;
 *  - aggregates (datastream → actuator): GET /v1/aggregates JSON;
 *  - training samples (datastream → lighttrainer): GET /v1/samples, JSON lines;
 *  - pacing state (actuator → supervisor → inference): JSON;
 *  - supervisor → inference nng frames (snapshot, checkpoint, heartbeat).
 * Decoders take untrusted bytes: they validate everything, never assert,
 * and say why in a beat_reason. Money is integer micros; prices on the wire
 * are CPM micros (micros per thousand impressions). */
#ifndef BEAT_WIRE_H
#define BEAT_WIRE_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

/* One version per format, each bumped on its own and only for an
 * incompatible change: a reader refuses a "v" it does not know and ignores
 * fields it does not know, so adding an optional field needs no bump (a
 * field an old reader must not ignore, e.g. one that limits spend, is an
 * incompatible change). docs/contracts.md, "Versions". */
#define BEAT_EVENT_V 1   /* events on Kafka and bid logs */
#define BEAT_AGG_V 1     /* GET /v1/aggregates */
#define BEAT_SAMPLES_V 1 /* GET /v1/samples */
#define BEAT_STATE_V 1   /* pacing state */
#define BEAT_SNAPSHOT_V                                                                            \
    2                      /* 'S' frame (its campaigns and exchanges carry their own v);
                              2 added exchanges, 1 is still read */
#define BEAT_HEARTBEAT_V 1 /* 'H' frame */
#define BEAT_ID_MAX 64     /* auction, imp, campaign, creative ids: bytes */
#define BEAT_FEAT_MAX 64   /* hashed feature indices per bid / sample */

/* ---- events -------------------------------------------------------------- */
typedef enum {
    BEAT_EV_BID = 1,
    BEAT_EV_WIN,
    BEAT_EV_BILL,
    BEAT_EV_LOSS,
    BEAT_EV_IMP,
    BEAT_EV_CLICK,
    BEAT_EV_HB,  /* a receiver's heartbeat: no auction, never counted */
    BEAT_EV_OPP, /* an inference node's opportunities of one campaign: no auction */
    BEAT_EV_CONV /* a conversion of a click (receiver /conv, beat_conv.h) */
} beat_event_type;

/* Event JSON (fields absent when zero/empty, except v, type, auction, imp, ts):
 * {"v":1,"type":"bid","auction":"A1","imp":"1","campaign":"c1","crid":"cr1",
 *  "price":1500000,"pctr":0.0123,"model_v":5,"state_v":7,"node":"inf-1",
 *  "exchange":"adx-eu","ts":1700000000123,"feat":[12,99,…]}
 * bid:   price = our bid (CPM micros); pctr, model_v, state_v, node, feat;
 *        exchange = the authenticated exchange that sent the request
 *        (absent in inference's --open mode).
 * win/bill/loss/imp/click: exchange = the notice's signed x (absent if "").
 * win/bill: price = clearing price (CPM micros), bid = the signed bid price.
 * loss:  loss = exchange loss code. click/imp: no price.
 * nts = the notice's signed timestamp (ms) for notices.
 * hb:    {"v":1,"type":"hb","node":"receiver-1","ts":…,"lost":N,"bye":true}
 *        a receiver's heartbeat, produced every second into every partition
 *        (docs/contracts.md "Heartbeats"): node = the receiver, lost = events
 *        it failed to deliver so far (cumulative), bye = its last one (a
 *        graceful stop). The only event without auction and imp.
 * opp:   {"v":1,"type":"opp","node":"inference-1","campaign":"c1","ts":…,"n":N}
 *        an inference node's opportunities for one campaign since its last
 *        opp for it: N imps of billable requests where the campaign passed
 *        targeting, flight, seat, deals, creative fit and supply-chain rules
 *        (before frequency cap, lease and price). Sent once a second per
 *        campaign with N > 0. No auction and imp; node, campaign, n ≥ 1 required.
 * conv:  {"v":1,"type":"conv","auction":"A1","imp":"1","campaign":"c1",
 *         "crid":"cr1","exchange":"adx-eu","ts":…,"nts":…,"conv_s":86400,
 *         "value":12500000}
 *        a conversion of the click of (auction, imp): nts = the click URL's
 *        signed t, conv_s = the campaign's conversion window (s) signed with
 *        it, ts = when the receiver took the conversion, value = the
 *        advertiser's value in micros (absent = 0). campaign, nts and
 *        conv_s ≥ 1 required (docs/contracts.md "Conversions").
 * Dedup key downstream: (auction, imp, type). */
typedef struct beat_event {
    beat_event_type type;
    int64_t ts_ms;
    char auction[BEAT_ID_MAX + 1];
    char imp[BEAT_ID_MAX + 1];
    char campaign[BEAT_ID_MAX + 1];
    char crid[BEAT_ID_MAX + 1];
    char node[BEAT_ID_MAX + 1];
    char exchange[BEAT_ID_MAX + 1]; /* "" = none */
    int64_t price_cpm_micros;
    int64_t bid_cpm_micros;
    int64_t notice_ts_ms;
    int32_t loss_code;
    double pctr;
    int64_t model_version;
    int64_t state_version;
    int64_t lost; /* hb: events the receiver failed to deliver, cumulative */
    bool bye;     /* hb: the receiver's last heartbeat */
    int64_t opps; /* opp: opportunities counted ("n") */
    /* bid: the frequency-cap key (beat_fcap_key; 0 = none, "cap" as 16 hex
     * digits) and the campaign's cap window (s, "cap_s"): the impression of
     * this bid counts in that window of the bid's ts. */
    uint64_t cap_key;
    int32_t cap_window_s;
    int32_t conv_window_s; /* conv: the signed window (s, "conv_s") */
    int64_t value_micros;  /* conv: the advertiser's value ("value"), 0 = none */
    uint32_t n_feat;
    uint32_t feat[BEAT_FEAT_MAX];
} beat_event;
/* Producers zero an event up to feat (the 256-byte array is written before
 * read, n_feat says how much): feat must stay the last field. */
static_assert(offsetof(beat_event, n_feat) < offsetof(beat_event, feat) &&
                  sizeof(beat_event) - offsetof(beat_event, feat) -
                          sizeof(uint32_t) * BEAT_FEAT_MAX <
                      _Alignof(beat_event),
              "beat_event: feat must be the last field");

const char *beat_event_type_name(beat_event_type t); /* "bid", "win", … */
int beat_event_type_parse(const char *s, beat_event_type *out);
/* Appends the JSON object to out. */
int beat_event_encode(const beat_event *ev, beat_buf *out);
/* Parses one JSON event. -EBADMSG with a reason on anything invalid
 * (unknown v or type, missing auction/imp/ts — or node for hb —, ids too
 * long, bad numbers). */
int beat_event_decode(const char *json, size_t len, beat_event *out, beat_reason *why);

/* ---- aggregates ---------------------------------------------------------- */
/* GET /v1/aggregates?after=SEQ →
 * {"v":1,"instance":"ds-1","epoch":"9f3a…16 hex","bucket_ms":1000,
 *  "first_seq":F,"last_seq":L,
 *  "buckets":[{"seq":S,"start_ms":…,"end_ms":…,
 *              "campaigns":{"c1":{"bids":…,"wins":…,"spend_micros":…,
 *                                 "imps":…,"clicks":…, market fields below}}}]}
 * Only closed buckets with seq > after, ascending. first_seq is the oldest
 * bucket still held (a reader whose cursor is older missed some). epoch is
 * random per datastream start: a new epoch means reset the cursor to 0.
 * spend_micros is real money (clearing CPM / 1000), exact over time: the
 * sub-micro remainder is carried per campaign into the next bucket.
 * "heard_ms":H (optional, after last_seq): every notice produced before H
 * has been counted in the buckets listed; 0 = unknown (docs/contracts.md
 * "Aggregates", "Heartbeats"). */
/* Market fields (optional on the wire, absent when zero, so old readers
 * ignore them; docs/contracts.md "Market signals"):
 *   "losses":N, "loss_outbid":N, "loss_floor":N, "loss_other":N
 *       loss notices (first per (auction, imp)) and their class by the
 *       exchange's loss code: 102 outbid; 100, 101 below floor; any other
 *       (or none) other. losses = the sum of the three.
 *   "expired":N  bids that no notice settled within --settle-ms;
 *   "opps":N  opportunities: imps where the campaign was a candidate, as
 *       inference nodes report them (opp events);
 *   "convs":N, "conv_value_micros":N  conversions attributed to the
 *       campaign's clicks (once per click, within its window) and the sum
 *       of their values;
 *   "pctr_bids":x, "pctr_wins":x  Σ pCTR of bids, of wins joined to their bid;
 *   "won_cpm":[…], "lost_cpm":[…]  BEAT_LAND_N counts: our bid prices that
 *       won (first win/bill) or lost (loss notice or expired), by landscape
 *       bucket (beat_land_bucket); each count ≤ 2^31 - 1. */
#define BEAT_LAND_N 20
/* Bucket i holds bid prices in [edge[i], edge[i+1]) CPM micros, edges
 * 10^(4 + i/5) rounded: $0.01 … $100 CPM, five per decade; below $0.01
 * counts in bucket 0, $100 and above in the last. */
extern const int64_t beat_land_edges[BEAT_LAND_N + 1];
int beat_land_bucket(int64_t cpm_micros);
/* A win-rate curve W (state "win_curve") gives the win rate of a bid at each
 * bucket's centre, 10^(4 + (i + 0.5)/5) CPM micros. Between centres W is
 * linear in log price; below centre 0 it falls linearly to 0 one bucket
 * step lower (no data there: assume no wins), above the last centre it is
 * flat. beat_land_pos is a price's position in bucket steps (centre of
 * bucket i at i; -HUGE_VAL for a price ≤ 0), beat_land_price its inverse,
 * beat_land_win W at a position. */
double beat_land_pos(double cpm_micros);
double beat_land_price(double pos);
double beat_land_win(const float curve[BEAT_LAND_N], double pos);
typedef struct beat_agg_row {
    char campaign[BEAT_ID_MAX + 1];
    int64_t bids, wins, spend_micros, imps, clicks;
    int64_t losses, loss_outbid, loss_floor, loss_other, expired, opps;
    int64_t convs, conv_value_micros; /* attributed conversions, their value */
    double pctr_bids, pctr_wins;
    /* 32 bits: a count per bucket (seconds) never nears 2^31, and every
     * closed bucket a datastream keeps holds its rows (--buckets-max). */
    int32_t won_cpm[BEAT_LAND_N], lost_cpm[BEAT_LAND_N];
} beat_agg_row;
typedef struct beat_agg_bucket {
    uint64_t seq;
    int64_t start_ms, end_ms;
    int64_t heard_ms; /* the writer's own (not on the wire per bucket) */
    int n_rows;
    beat_agg_row *rows; /* owned */
} beat_agg_bucket;
typedef struct beat_aggregates {
    char instance[BEAT_ID_MAX + 1];
    uint64_t epoch;
    int64_t bucket_ms;
    uint64_t first_seq, last_seq;
    /* Every notice produced before heard_ms has been counted in the
     * buckets listed (0: unknown). Optional: has_heard false = absent
     * (a writer from before heartbeats). */
    int64_t heard_ms;
    bool has_heard;
    int n_buckets;
    beat_agg_bucket *buckets; /* owned */
} beat_aggregates;
int beat_aggregates_encode(const beat_aggregates *a, beat_buf *out);
/* On success out owns its arrays: free with beat_aggregates_fini. */
int beat_aggregates_decode(const char *json, size_t len, beat_aggregates *out, beat_reason *why);
void beat_aggregates_fini(beat_aggregates *a);

/* ---- training samples ----------------------------------------------------- */
/* GET /v1/samples?after=SEQ&max=N → JSON lines:
 * line 1: {"v":1,"instance":"ds-1","epoch":"…","first_seq":F,"last_seq":L,"n":K}
 * then K lines: {"seq":S,"campaign":"c1","label":1,"w":1.0,"ts":…,"feat":[…]}
 * label 1 = clicked. w = importance weight (1/r for down-sampled negatives).
 * "conv":1 (optional, absent = 0) marks a conversion sample: the clicked
 * bid's features again when its conversion was attributed, served only on
 * GET /v1/samples?kind=conv (its own ring and seqs), never to click readers.
 * first_seq = oldest still in the ring (after < first_seq-1 → missed). */
typedef struct beat_sample {
    uint64_t seq;
    char campaign[BEAT_ID_MAX + 1];
    int label;
    int conv; /* 1: a conversion of this clicked bid ("conv":1; GET /v1/samples?kind=conv) */
    float weight;
    int64_t ts_ms;
    uint32_t n_feat;
    uint32_t feat[BEAT_FEAT_MAX];
} beat_sample;
typedef struct beat_samples_header {
    char instance[BEAT_ID_MAX + 1];
    uint64_t epoch;
    uint64_t first_seq, last_seq;
    int64_t n;
} beat_samples_header;
int beat_samples_header_encode(const beat_samples_header *h, beat_buf *out); /* adds '\n' */
int beat_sample_encode(const beat_sample *s, beat_buf *out);                 /* adds '\n' */
/* Decodes a whole response body: header, then calls fn for each sample line.
 * A bad line fails the whole body (-EBADMSG, reason names the line). */
int beat_samples_decode(const char *body, size_t len, beat_samples_header *h,
                        int (*fn)(void *arg, const beat_sample *s), void *arg, beat_reason *why);

/* ---- pacing state ---------------------------------------------------------- */
/* {"v":1,"actuator":"beat-actuator","ts":…,"version":N (set by supervisor),
 *  "campaigns":{"c1":{"multiplier":1.2,"paused":false,"win_curve":[…], …}},
 *  "private":{…opaque…}}
 * Inference reads multiplier, paused and, when present, win_curve: the
 * campaign's win rate by landscape bucket (beat_land_win), BEAT_LAND_N
 * numbers in [0, 1], non-decreasing; it shades first-price bids with it
 * (docs/architecture.md "First-price shading"). Other campaign fields are
 * ignored (not kept by the supervisor). */
typedef struct beat_state_campaign {
    char id[BEAT_ID_MAX + 1];
    double multiplier;
    bool paused;
    bool has_curve; /* win_curve present */
    float win_curve[BEAT_LAND_N];
} beat_state_campaign;
typedef struct beat_state {
    char actuator[BEAT_ID_MAX + 1];
    int64_t ts_ms;
    int64_t version; /* 0 until the supervisor assigned one */
    int n;
    beat_state_campaign *c; /* owned */
    char *private_json;     /* owned raw JSON text of "private", or NULL */
} beat_state;
/* Structural checks only (v, types, finite multiplier ≥ 0, id lengths,
 * no duplicate ids, win_curve shape). max_campaigns bounds n. */
int beat_state_decode(const char *json, size_t len, int max_campaigns, beat_state *out,
                      beat_reason *why);
/* with_private=false drops "private" (what inference is sent). */
int beat_state_encode(const beat_state *s, bool with_private, beat_buf *out);
void beat_state_fini(beat_state *s);
const beat_state_campaign *beat_state_find(const beat_state *s, const char *id);

/* ---- supervisor → inference nng frames ------------------------------------ */
/* Every message starts with one tag byte:
 *  'S' + JSON snapshot {"v":2,"campaigns_version":N,"state_version":M,
 *        "exchanges_version":E,"campaigns":<campaign set JSON>,
 *        "state":<state JSON, no private>|null,
 *        "exchanges":<exchange set JSON, keys as SHA-256 only>|null}
 *  'C' + 8-byte little-endian model version + checkpoint bytes (beat_ckpt.h)
 *  'H' + JSON heartbeat {"v":1,"ts":…,"campaigns_version":N,"state_version":M,
 *        "model_version":K,"snapshot_crc":…,"model_crc":…,"exchanges_version":E,
 *        "segments_version":L}
 *        (exchanges_version and segments_version: optional, 0 when absent)
 *  'U' + first-party segment lists, binary (beat_seglist.h)
 *  'E' + UTF-8 reason (rep socket only: nothing to give yet)
 * Requests on the rep socket are the ASCII strings "snapshot", "checkpoint"
 * or "segments". */
#define BEAT_FRAME_SNAPSHOT 'S'
#define BEAT_FRAME_CHECKPOINT 'C'
#define BEAT_FRAME_HEARTBEAT 'H'
#define BEAT_FRAME_ERROR 'E'

/* The 'C' frame's fixed head: the tag and the model version. */
#define BEAT_CKPT_FRAME_HEAD 9

/* Writes the head of a 'C' frame for version into out[0..9). */
void beat_ckpt_frame_head(uint8_t out[BEAT_CKPT_FRAME_HEAD], int64_t version);
struct beat_ckpt; /* beat_ckpt.h */
/* Appends a whole 'C' frame to out: the head for version, then c encoded
 * (beat_ckpt_encode). 0, or its error with part of the frame appended. */
int beat_ckpt_frame_encode(const struct beat_ckpt *c, int64_t version, beat_buf *out);
/* The model version of a 'C' frame without decoding the checkpoint; the
 * checkpoint bytes follow at frame + BEAT_CKPT_FRAME_HEAD. -EBADMSG if it
 * is shorter than the head or has another tag (*version untouched). */
int beat_ckpt_frame_version(const void *frame, size_t len, int64_t *version);

typedef struct beat_heartbeat {
    int64_t ts_ms;
    int64_t campaigns_version, state_version, model_version;
    uint32_t snapshot_crc, model_crc;
    int64_t exchanges_version; /* 0: none (or a supervisor without exchanges) */
    int64_t segments_version;  /* first-party lists ('U', beat_seglist.h); 0: none */
} beat_heartbeat;
int beat_heartbeat_encode(const beat_heartbeat *hb, beat_buf *out); /* with tag */
int beat_heartbeat_decode(const void *msg, size_t len, beat_heartbeat *out,
                          beat_reason *why); /* msg includes the tag */

#endif
