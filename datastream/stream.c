/* What each event means (docs/contracts.md "Events on Kafka", "Aggregates",
 * "Training samples"): dedup by (auction, imp, type), join bid and notices
 * per (auction, imp), count aggregates (first win-or-bill = win, first priced
 * one = spend, first imp, first click; every distinct bid; first loss, and
 * the bid price by first outcome into the landscape; opp summaries as read:
 * "Market signals"), emit samples
 * (click joined to its bid → positive at once; won entry closing without
 * click → negative, down-sampled). Late events (entry closed, not a
 * duplicate) still count in aggregates: a late bill must debit. Runs on the
 * consumer thread only; never reads the clock itself (now_ms is passed in). */
#include "stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "beat_metrics.h"
#include "caps.h"
#include "join.h"

/* A clicked bid's features, remembered for its conversion sample. */
typedef struct dst_click {
    uint64_t key; /* join key; 0 = empty */
    int64_t bid_ts_ms;
    uint16_t n_feat;
    uint32_t feat[BEAT_FEAT_MAX];
    char campaign[BEAT_ID_MAX + 1];
} dst_click;

struct dst_stream {
    dst_stream_cfg cfg;
    dst_click *clicks; /* ring of DST_CLICKS_MAX, oldest overwritten */
    int clicks_next;
    dst_samples *conv_samples;
    dst_unsettled *unsettled; /* ring of DST_UNSETTLED_MAX */
    int un_head, un_n;
    dst_join *join;
    dst_buckets *buckets;
    dst_samples *samples;
    uint64_t rng;
    dst_stream_stats st;
    dst_heard *heard; /* borrowed; NULL: heartbeats are only counted */
    dst_caps *caps;   /* borrowed; NULL: impressions are not counted per person */
};

void dst_stream_set_caps(dst_stream *s, dst_caps *c) { s->caps = c; }

void dst_stream_set_heard(dst_stream *s, dst_heard *h) { s->heard = h; }

static struct {
    beat_counter *events[BEAT_EV_CONV + 1];
    beat_counter *convs_attributed, *convs_late, *conv_samples, *conv_unjoined;
    beat_counter *invalid, *duplicates, *durable, *debited, *late, *evicted, *revoked;
    beat_counter *no_campaign, *overflow, *bad_price, *opp_events;
    beat_counter *pos, *neg, *skipped, *unjoined, *unsettled_dropped;
    beat_gauge *open;
} M;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void) {
    static const char *names[] = {"", "bid", "win", "bill", "loss", "imp", "click"};
    char name[128];
    for (int t = BEAT_EV_BID; t <= BEAT_EV_CLICK; t++) {
        snprintf(name, sizeof name, "beat_datastream_events_total{type=\"%s\"}", names[t]);
        M.events[t] = beat_counter_new(name, "Valid events consumed, by type.");
    }
    M.events[BEAT_EV_CONV] = beat_counter_new("beat_datastream_events_total{type=\"conv\"}",
                                              "Valid events consumed, by type.");
    M.convs_attributed = beat_counter_new(
        "beat_datastream_convs_attributed_total",
        "Conversions counted for their click's campaign (first per click, within its window).");
    M.convs_late = beat_counter_new("beat_datastream_convs_late_total",
                                    "Conversions after their click's signed window: not counted.");
    M.conv_samples = beat_counter_new("beat_datastream_conv_samples_total",
                                      "Conversion samples emitted (GET /v1/samples?kind=conv).");
    M.conv_unjoined = beat_counter_new(
        "beat_datastream_conv_samples_unjoined_total",
        "Attributed conversions without a sample: their click's features were no longer held.");
    M.invalid = beat_counter_new("beat_datastream_invalid_events_total",
                                 "Messages that are not valid events (dropped).");
    M.duplicates = beat_counter_new("beat_datastream_duplicates_total",
                                    "Events seen before for (auction, imp, type): counted once.");
    M.durable = beat_counter_new("beat_datastream_store_duplicates_total",
                                 "Of the duplicates: notices the partition's store "
                                 "already held (across restarts and owners).");
    M.debited = beat_counter_new("beat_datastream_store_debited_before_total",
                                 "Priced wins/bills not debited: the store says their "
                                 "(auction, imp) was debited already.");
    M.late = beat_counter_new("beat_datastream_late_total",
                              "Events after their join entry closed (still aggregated).");
    M.evicted = beat_counter_new("beat_datastream_evicted_total",
                                 "Join entries dropped early: --max-open-auctions reached.");
    M.revoked = beat_counter_new("beat_datastream_join_revoked_total",
                                 "Join entries dropped because their partition was revoked.");
    M.no_campaign = beat_counter_new("beat_datastream_no_campaign_total",
                                     "Events without a campaign (not aggregated).");
    M.overflow = beat_counter_new("beat_datastream_campaign_overflow_total",
                                  "Aggregate updates dropped: too many campaigns in a bucket.");
    M.bad_price = beat_counter_new("beat_datastream_bad_price_total",
                                   "Win/bill prices outside (0, 1e12] CPM micros (not debited).");
    M.opp_events = beat_counter_new("beat_datastream_opp_events_total",
                                    "Inference nodes' opportunity summaries (opp events) "
                                    "added to the aggregates.");
    M.pos = beat_counter_new("beat_datastream_samples_total{label=\"1\"}",
                             "Training samples emitted, by label.");
    M.neg = beat_counter_new("beat_datastream_samples_total{label=\"0\"}",
                             "Training samples emitted, by label.");
    M.skipped = beat_counter_new("beat_datastream_samples_skipped_total",
                                 "Negatives dropped by down-sampling (--neg-rate).");
    M.unjoined = beat_counter_new("beat_datastream_samples_unjoined_total",
                                  "Samples not emitted because the bid (features) never joined.");
    M.unsettled_dropped = beat_counter_new(
        "beat_datastream_unsettled_dropped_total",
        "Closed bids with no settling notice not kept for expiry (queue full): their "
        "price stays committed (docs/money.md).");
    M.open = beat_gauge_new("beat_datastream_open_auctions", "Join entries open now.");
}

void dst_stream_expired(dst_stream *s, const dst_unsettled *u, int64_t now_ms) {
    if (u->landed || !u->campaign[0]) return;
    dst_delta d = {.expired = 1, .lost_bid_cpm = u->bid_cpm};
    if (dst_buckets_add(s->buckets, now_ms, u->campaign, &d) != 0) {
        s->st.campaign_overflow++;
        beat_counter_inc(M.overflow);
    }
    uint16_t flags;
    if (dst_join_closed_get(s->join, u->join_key, &flags))
        dst_join_closed_put(s->join, u->join_key, flags | DST_F_LANDED, now_ms);
}

static void on_close(void *arg, dst_entry *e, dst_close_reason why);

dst_stream *dst_stream_new(const dst_stream_cfg *cfg, int64_t now_ms) {
    if (!cfg || !(cfg->neg_rate > 0 && cfg->neg_rate <= 1)) return NULL;
    pthread_once(&metrics_once, metrics_init);
    dst_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cfg = *cfg;
    s->rng = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ULL;
    s->join = dst_join_new(cfg->max_open, cfg->join_window_ms, on_close, s);
    s->buckets = dst_buckets_new(cfg->bucket_ms, cfg->buckets_max, cfg->campaigns_max, now_ms);
    s->samples = dst_samples_new(cfg->samples_max);
    s->unsettled = malloc(DST_UNSETTLED_MAX * sizeof *s->unsettled);
    s->clicks = calloc(DST_CLICKS_MAX, sizeof *s->clicks);
    s->conv_samples =
        dst_samples_new(cfg->samples_max < DST_CLICKS_MAX ? cfg->samples_max : DST_CLICKS_MAX);
    if (s->conv_samples) dst_samples_set_conv(s->conv_samples);
    if (!s->join || !s->buckets || !s->samples || !s->clicks || !s->conv_samples) {
        dst_stream_free(s);
        return NULL;
    }
    return s;
}

void dst_stream_free(dst_stream *s) {
    if (!s) return;
    dst_join_free(s->join);
    dst_buckets_free(s->buckets);
    dst_samples_free(s->samples);
    dst_samples_free(s->conv_samples);
    free(s->clicks);
    free(s->unsettled);
    free(s);
}

/* xorshift64*: the down-sampling only needs to be unbiased, not secret. */
static double rand01(dst_stream *s) {
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static void emit(dst_stream *s, const dst_entry *e, int label, float w) {
    if (!e->campaign[0]) { /* a sample names its campaign (beat_wire.h) */
        s->st.no_campaign++;
        beat_counter_inc(M.no_campaign);
        return;
    }
    if (!dst_samples_push(s->samples, e->campaign, label, w, e->bid_ts_ms, e->feat, e->n_feat))
        return; /* OOM: dropped */
    if (label) {
        s->st.samples_pos++;
        beat_counter_inc(M.pos);
        /* Remembered for a conversion that may follow (the oldest goes). */
        dst_click *c = &s->clicks[s->clicks_next];
        s->clicks_next = (s->clicks_next + 1) % DST_CLICKS_MAX;
        c->key = e->key ? e->key : 1;
        c->bid_ts_ms = e->bid_ts_ms;
        c->n_feat = e->n_feat;
        if (e->n_feat) memcpy(c->feat, e->feat, sizeof *c->feat * e->n_feat);
        memcpy(c->campaign, e->campaign, sizeof c->campaign);
    } else {
        s->st.samples_neg++;
        beat_counter_inc(M.neg);
    }
}

static void unjoined(dst_stream *s) {
    s->st.samples_unjoined++;
    beat_counter_inc(M.unjoined);
}

/* Keeps a closed bid that nothing settled, for expiry (store_expiry.c). */
static void keep_unsettled(dst_stream *s, const dst_entry *e, int64_t now_ms) {
    if (!(e->flags & DST_F_HASBID) || (e->flags & DST_F_SETTLED) || e->bid_cpm <= 0 ||
        !e->campaign[0] || !s->unsettled)
        return;
    if (s->un_n == DST_UNSETTLED_MAX) {
        beat_counter_inc(M.unsettled_dropped);
        return;
    }
    dst_unsettled *u = &s->unsettled[(s->un_head + s->un_n++) % DST_UNSETTLED_MAX];
    *u = (dst_unsettled){.join_key = e->key,
                         .partition = e->partition,
                         .bid_ts_ms = e->bid_ts_ms,
                         .bid_cpm = e->bid_cpm,
                         .closed_ms = now_ms,
                         .landed = (e->flags & (DST_F_LANDED | DST_F_WON)) != 0};
    memcpy(u->campaign, e->campaign, sizeof u->campaign);
}

int dst_stream_take_unsettled(dst_stream *s, dst_unsettled *out, int max) {
    int n = 0;
    while (n < max && s->un_n > 0) {
        out[n++] = s->unsettled[s->un_head];
        s->un_head = (s->un_head + 1) % DST_UNSETTLED_MAX;
        s->un_n--;
    }
    return n;
}

static void on_close(void *arg, dst_entry *e, dst_close_reason why) {
    dst_stream *s = arg;
    if (why == DST_CLOSE_EXPIRED) keep_unsettled(s, e, e->first_ms + s->cfg.join_window_ms);
    if (why == DST_CLOSE_EVICTED) {
        s->st.evicted++;
        beat_counter_inc(M.evicted);
        return;
    }
    if (why == DST_CLOSE_REVOKED) {
        s->st.revoked++;
        beat_counter_inc(M.revoked);
        return;
    }
    if (e->flags & DST_F_POS) return;
    if (e->flags & DST_F_TYPEBIT(BEAT_EV_CLICK)) { /* clicked, bid never came */
        unjoined(s);
        return;
    }
    /* Only shown ads are training data: won (win/bill) or an imp seen. */
    if (!(e->flags & (DST_F_WON | DST_F_TYPEBIT(BEAT_EV_IMP)))) return;
    if (!(e->flags & DST_F_HASBID)) {
        unjoined(s);
        return;
    }
    if (s->cfg.neg_rate >= 1.0 || rand01(s) < s->cfg.neg_rate) {
        emit(s, e, 0, (float)(1.0 / s->cfg.neg_rate));
    } else {
        s->st.samples_skipped++;
        beat_counter_inc(M.skipped);
    }
}

/* The first outcome of a bid places its price in the landscape. Every
 * notice carries our signed bid price (b), so no join is needed. */
static void land(uint16_t *flags, int64_t bid_cpm, int64_t *slot) {
    if ((*flags & DST_F_LANDED) || bid_cpm <= 0) return;
    *slot = bid_cpm;
    *flags |= DST_F_LANDED;
}

/* OpenRTB loss reason codes into the classes of the aggregates. */
static void loss_class(dst_delta *d, int32_t code) {
    d->losses = 1;
    if (code == 102) d->loss_outbid = 1;
    else if (code == 100 || code == 101) d->loss_floor = 1;
    else d->loss_other = 1;
}

/* Aggregates for one non-duplicate event; flags carry what was already
 * counted for its (auction, imp); e is its open join entry (NULL: late). */
static void account(dst_stream *s, uint16_t *flags, const dst_entry *e, const beat_event *ev,
                    const char *campaign, int64_t now_ms) {
    dst_delta d = {0};
    switch (ev->type) {
        case BEAT_EV_BID:
            d.bids = 1;
            d.pctr_bids = ev->pctr;
            if (*flags & DST_F_WON) d.pctr_wins = ev->pctr; /* its win came first */
            break;
        case BEAT_EV_WIN:
        case BEAT_EV_BILL:
            if (!(*flags & DST_F_WON)) {
                d.wins = 1;
                *flags |= DST_F_WON;
                if (e && (*flags & DST_F_TYPEBIT(BEAT_EV_BID))) d.pctr_wins = e->pctr;
                land(flags, ev->bid_cpm_micros, &d.won_bid_cpm);
            }
            if (!(*flags & DST_F_SPENT) && ev->price_cpm_micros != 0) {
                if (ev->price_cpm_micros > 0 && ev->price_cpm_micros <= DST_PRICE_CPM_MAX) {
                    d.price_cpm_micros = ev->price_cpm_micros;
                    *flags |= DST_F_SPENT;
                } else {
                    s->st.bad_price++;
                    beat_counter_inc(M.bad_price);
                }
            }
            break;
        case BEAT_EV_IMP: d.imps = 1; break;
        case BEAT_EV_CLICK: d.clicks = 1; break;
        case BEAT_EV_LOSS: /* counted, never debited (its price, if any, is theirs) */
            loss_class(&d, ev->loss_code);
            land(flags, ev->bid_cpm_micros, &d.lost_bid_cpm);
            break;
        default: return;
    }
    if (!campaign || !campaign[0]) {
        s->st.no_campaign++;
        beat_counter_inc(M.no_campaign);
        return;
    }
    if (dst_buckets_add(s->buckets, now_ms, campaign, &d) != 0) {
        s->st.campaign_overflow++;
        beat_counter_inc(M.overflow);
        beat_log_rl(5000, BEAT_WARN, "campaign_overflow", "campaign=%s max=%lld", campaign,
                    (long long)s->cfg.campaigns_max);
    }
}

static void apply_open(dst_stream *s, dst_entry *e, const beat_event *ev, int64_t now_ms) {
    e->flags |= DST_F_TYPEBIT(ev->type);
    if (ev->type == BEAT_EV_BID) {
        /* The bid is what the sample is about: its campaign and features. */
        if (ev->campaign[0]) memcpy(e->campaign, ev->campaign, sizeof e->campaign);
        if (dst_join_set_feat(e, ev->feat, ev->n_feat) == 0) e->flags |= DST_F_HASBID;
        e->pctr = ev->pctr;
        e->bid_ts_ms = ev->ts_ms;
        e->bid_cpm = ev->price_cpm_micros;
        e->cap_key = ev->cap_key;
        e->cap_window_s = ev->cap_window_s;
    } else if (!e->campaign[0] && ev->campaign[0]) {
        memcpy(e->campaign, ev->campaign, sizeof e->campaign);
    }
    account(s, &e->flags, e, ev, ev->campaign[0] ? ev->campaign : e->campaign, now_ms);
    /* The impression, for frequency caps: the first win, bill or imp
     * notice of a bid that carries a cap key, whichever of bid and notice
     * comes first (the join keeps both). Test traffic never gets here (no
     * bid log, no notice produced), a forged notice never passed the
     * receiver, and a replay is a duplicate. */
    if (s->caps && e->cap_key && !(e->flags & DST_F_CAPPED) &&
        (e->flags & DST_F_TYPEBIT(BEAT_EV_BID)) &&
        (e->flags & (DST_F_WON | DST_F_TYPEBIT(BEAT_EV_IMP)))) {
        e->flags |= DST_F_CAPPED;
        dst_caps_count(s->caps, e->campaign, e->cap_key, e->cap_window_s, e->bid_ts_ms);
    }
    if (ev->type == BEAT_EV_LOSS ||
        ((ev->type == BEAT_EV_WIN || ev->type == BEAT_EV_BILL) && ev->price_cpm_micros > 0))
        e->flags |= DST_F_SETTLED;
    if ((e->flags & DST_F_TYPEBIT(BEAT_EV_CLICK)) && (e->flags & DST_F_HASBID) &&
        !(e->flags & DST_F_POS)) {
        emit(s, e, 1, 1.0f);
        e->flags |= DST_F_POS;
    }
}

int64_t dst_stream_dedup_ts(const beat_event *ev) {
    if (ev->type == BEAT_EV_CONV) return ev->notice_ts_ms + (int64_t)ev->conv_window_s * 1000;
    return ev->notice_ts_ms > 0 ? ev->notice_ts_ms : ev->ts_ms;
}

/* Attribution (docs/contracts.md "Conversions"): the token names the click
 * it came through, the last one before the conversion (the landing page
 * keeps the newest token), so a conversion counts for that click's
 * campaign when it came within the window signed with the click, in the
 * bucket open when it is read. Once per click: its key is the click's
 * (auction, imp) in the store, so replays never get here. No join: a
 * conversion comes long after its click's entry closed. */
static void conv_apply(dst_stream *s, const beat_event *ev, int64_t now_ms) {
    s->st.events[BEAT_EV_CONV]++;
    beat_counter_inc(M.events[BEAT_EV_CONV]);
    if (ev->ts_ms - ev->notice_ts_ms > (int64_t)ev->conv_window_s * 1000) {
        s->st.convs_late++;
        beat_counter_inc(M.convs_late);
        return;
    }
    dst_delta d = {.convs = 1, .conv_value_micros = ev->value_micros};
    if (dst_buckets_add(s->buckets, now_ms, ev->campaign, &d) != 0) {
        s->st.campaign_overflow++;
        beat_counter_inc(M.overflow);
        return;
    }
    s->st.convs_attributed++;
    beat_counter_inc(M.convs_attributed);
    /* The conversion sample: the clicked bid's features, newest first (a
     * linear scan: conversions are few, the ring is small). */
    uint64_t key = dst_join_key(ev->auction, ev->imp);
    for (int i = 0; i < DST_CLICKS_MAX; i++) {
        const dst_click *c =
            &s->clicks[(s->clicks_next - 1 - i + 2 * DST_CLICKS_MAX) % DST_CLICKS_MAX];
        if (!c->key) break;
        if (c->key != key) continue;
        if (dst_samples_push(s->conv_samples, c->campaign, 1, 1.0f, c->bid_ts_ms, c->feat,
                             c->n_feat)) {
            s->st.conv_samples++;
            beat_counter_inc(M.conv_samples);
        }
        return;
    }
    s->st.conv_unjoined++;
    beat_counter_inc(M.conv_unjoined);
}

void dst_stream_apply(dst_stream *s, const beat_event *ev, int32_t partition, int64_t now_ms) {
    dst_stream_apply_ex(s, ev, partition, now_ms, 0);
}

void dst_stream_count_duplicate(dst_stream *s, const beat_event *ev) {
    if ((ev->type < BEAT_EV_BID || ev->type > BEAT_EV_CLICK) && ev->type != BEAT_EV_CONV) return;
    s->st.events[ev->type]++;
    beat_counter_inc(M.events[ev->type]);
    s->st.duplicates++;
    beat_counter_inc(M.duplicates);
    s->st.durable_duplicates++;
    beat_counter_inc(M.durable);
}

bool dst_stream_seen(dst_stream *s, const char *auction, const char *imp, beat_event_type type) {
    uint64_t key = dst_join_key(auction, imp);
    uint16_t bit = DST_F_TYPEBIT(type), flags = 0;
    const dst_entry *e = dst_join_find(s->join, key);
    if (e) return (e->flags & bit) != 0;
    return dst_join_closed_get(s->join, key, &flags) && (flags & bit);
}

void dst_stream_count_invalid(dst_stream *s) {
    s->st.invalid++;
    beat_counter_inc(M.invalid);
}

/* The ledger's debit marker, as the in-memory flag: spend is then never
 * counted again for this (auction, imp). Counted when it changes an
 * outcome (a priced win/bill that would have debited). */
static uint16_t debited_flag(dst_stream *s, const beat_event *ev, uint16_t flags,
                             unsigned apply_flags) {
    if (!(apply_flags & DST_APPLY_DEBITED) || (flags & DST_F_SPENT)) return 0;
    if ((ev->type == BEAT_EV_WIN || ev->type == BEAT_EV_BILL) && ev->price_cpm_micros) {
        s->st.debited_before++;
        beat_counter_inc(M.debited);
    }
    return DST_F_SPENT;
}

void dst_stream_apply_ex(dst_stream *s, const beat_event *ev, int32_t partition, int64_t now_ms,
                         unsigned apply_flags) {
    if (ev->type == BEAT_EV_HB) { /* a watermark, never an event of any count */
        s->st.heartbeats++;
        if (s->heard)
            dst_heard_beat(s->heard, partition, ev->node, ev->ts_ms, ev->lost, ev->bye, now_ms);
        return;
    }
    if (ev->type == BEAT_EV_OPP) { /* a node's summary: no auction, no join */
        s->st.opp_events++;
        beat_counter_inc(M.opp_events);
        dst_delta d = {.opps = ev->opps};
        if (dst_buckets_add(s->buckets, now_ms, ev->campaign, &d) != 0) {
            s->st.campaign_overflow++;
            beat_counter_inc(M.overflow);
        }
        return;
    }
    if (ev->type == BEAT_EV_CONV) {
        conv_apply(s, ev, now_ms);
        return;
    }
    if (ev->type < BEAT_EV_BID || ev->type > BEAT_EV_CLICK) return;
    s->st.events[ev->type]++;
    beat_counter_inc(M.events[ev->type]);
    dst_join_expire(s->join, now_ms);
    uint64_t key = dst_join_key(ev->auction, ev->imp);
    uint16_t bit = DST_F_TYPEBIT(ev->type), flags;
    dst_entry *e = dst_join_find(s->join, key);
    if (e) {
        if (e->flags & bit) goto duplicate;
        e->flags |= debited_flag(s, ev, e->flags, apply_flags);
        apply_open(s, e, ev, now_ms);
    } else if (dst_join_closed_get(s->join, key, &flags)) {
        if (flags & bit) goto duplicate;
        s->st.late++;
        beat_counter_inc(M.late);
        flags |= bit | debited_flag(s, ev, flags, apply_flags);
        account(s, &flags, NULL, ev, ev->campaign, now_ms);
        dst_join_closed_put(s->join, key, flags, now_ms);
    } else {
        e = dst_join_insert(s->join, key, partition, now_ms);
        if (e) {
            e->flags |= debited_flag(s, ev, 0, apply_flags);
            apply_open(s, e, ev, now_ms);
        } else { /* OOM: count the money anyway, lose the join */
            flags = bit | debited_flag(s, ev, 0, apply_flags);
            account(s, &flags, NULL, ev, ev->campaign, now_ms);
        }
    }
    beat_gauge_set(M.open, (double)dst_join_open(s->join));
    return;
duplicate:
    s->st.duplicates++;
    beat_counter_inc(M.duplicates);
}

int dst_stream_apply_json(dst_stream *s, const char *json, size_t len, int32_t partition,
                          int64_t now_ms, beat_reason *why) {
    beat_event ev;
    if (!json) { /* an empty Kafka message has no payload at all */
        json = "";
        len = 0;
    }
    int rc = beat_event_decode(json, len, &ev, why);
    if (rc != 0) {
        s->st.invalid++;
        beat_counter_inc(M.invalid);
        return -EBADMSG;
    }
    dst_stream_apply(s, &ev, partition, now_ms);
    return 0;
}

void dst_stream_tick(dst_stream *s, int64_t now_ms) {
    dst_join_expire(s->join, now_ms);
    dst_buckets_tick(s->buckets, now_ms);
    beat_gauge_set(M.open, (double)dst_join_open(s->join));
}

void dst_stream_revoke(dst_stream *s, const int32_t *parts, int n, int64_t now_ms) {
    int64_t d = dst_join_drop_partitions(s->join, parts, n, now_ms);
    if (d) beat_log(BEAT_INFO, "join_revoked", "partitions=%d entries=%lld", n, (long long)d);
    beat_gauge_set(M.open, (double)dst_join_open(s->join));
}

dst_buckets *dst_stream_buckets(dst_stream *s) { return s->buckets; }
dst_samples *dst_stream_samples(dst_stream *s) { return s->samples; }
dst_samples *dst_stream_conv_samples(dst_stream *s) { return s->conv_samples; }
const dst_stream_stats *dst_stream_stats_get(const dst_stream *s) { return &s->st; }
int64_t dst_stream_open(const dst_stream *s) { return dst_join_open(s->join); }
