/* Aggregates: the open bucket collects rows per campaign; when the wall clock
 * passes its end it closes, gets the next seq (1, 2, 3… for this process)
 * and joins a ring of the last --buckets-max closed buckets that
 * GET /v1/aggregates serves. The consumer thread adds and ticks, the HTTP
 * thread ticks and encodes; one mutex guards it all. A closed bucket is never
 * changed again (readers may cache by (epoch, seq)). */
#include "buckets.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define BODY_MAX (16u << 20)

typedef struct camp {
    char id[BEAT_ID_MAX + 1]; /* "" = empty slot */
    int64_t rem_milli;        /* spend not yet whole micros, in 1/1000 µ */
    uint64_t row_gen;         /* row valid if == open generation */
    int32_t row;
} camp;

struct dst_buckets {
    pthread_mutex_t mu;
    int64_t bucket_ms, max, campaigns_max;
    /* campaign table: open addressing, at most campaigns_max used */
    camp *ct;
    uint64_t ct_mask;
    int64_t ct_n, ct_resets;
    /* open bucket */
    int64_t open_start;
    uint64_t open_gen;
    beat_agg_row *rows;
    int n_rows;
    /* closed ring, oldest at head */
    beat_agg_bucket *ring;
    int64_t head, count;
    uint64_t last_seq;
    /* The heard time (heard.h), read as each bucket closes: every notice
     * produced before it was applied before the close, so it is in this
     * bucket or an earlier one. NULL: aggregates carry no heard_ms. */
    const _Atomic int64_t *heard_src;
};

void dst_buckets_set_heard_src(dst_buckets *b, const _Atomic int64_t *src) {
    pthread_mutex_lock(&b->mu);
    b->heard_src = src;
    pthread_mutex_unlock(&b->mu);
}

static int64_t floor_to(int64_t t, int64_t step) {
    int64_t q = t / step;
    if (t % step < 0) q--;
    return q * step;
}

dst_buckets *dst_buckets_new(int64_t bucket_ms, int64_t buckets_max, int64_t campaigns_max,
                             int64_t now_ms) {
    if (bucket_ms < 1 || buckets_max < 1 || campaigns_max < 1 || campaigns_max > (1 << 24))
        return NULL;
    dst_buckets *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    pthread_mutex_init(&b->mu, NULL);
    b->bucket_ms = bucket_ms;
    b->max = buckets_max;
    b->campaigns_max = campaigns_max;
    uint64_t sz = 16;
    while (sz < (uint64_t)campaigns_max * 2) sz <<= 1;
    b->ct = calloc(sz, sizeof *b->ct);
    b->ct_mask = sz - 1;
    b->rows = calloc((size_t)campaigns_max, sizeof *b->rows);
    b->ring = calloc((size_t)buckets_max, sizeof *b->ring);
    b->open_start = floor_to(now_ms, bucket_ms);
    b->open_gen = 1;
    if (!b->ct || !b->rows || !b->ring) {
        dst_buckets_free(b);
        return NULL;
    }
    return b;
}

void dst_buckets_free(dst_buckets *b) {
    if (!b) return;
    if (b->ring)
        for (int64_t i = 0; i < b->count; i++) free(b->ring[(b->head + i) % b->max].rows);
    free(b->ring);
    free(b->rows);
    free(b->ct);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static camp *ct_slot(dst_buckets *b, const char *id) {
    uint64_t i = XXH3_64bits(id, strlen(id)) & b->ct_mask;
    while (b->ct[i].id[0] && strcmp(b->ct[i].id, id) != 0) i = (i + 1) & b->ct_mask;
    return &b->ct[i];
}

/* Table full: forget campaigns with no row in the open bucket. Their
 * remainders (< 1 micro each) are lost; that is the bounded-memory price and
 * it is counted. */
static void ct_reset(dst_buckets *b) {
    uint64_t sz = b->ct_mask + 1;
    camp *old = b->ct;
    camp *nt = calloc(sz, sizeof *nt);
    if (!nt) return;
    b->ct = nt;
    b->ct_n = 0;
    for (uint64_t i = 0; i < sz; i++) {
        if (!old[i].id[0] || old[i].row_gen != b->open_gen) continue;
        *ct_slot(b, old[i].id) = old[i];
        b->ct_n++;
    }
    free(old);
    b->ct_resets++;
}

static void close_open(dst_buckets *b) {
    beat_agg_bucket bk = {0};
    bk.seq = ++b->last_seq;
    bk.start_ms = b->open_start;
    bk.end_ms = b->open_start + b->bucket_ms;
    bk.heard_ms = b->heard_src ? atomic_load(b->heard_src) : 0;
    if (b->n_rows) {
        bk.rows = malloc(sizeof *bk.rows * (size_t)b->n_rows);
        /* OOM: the bucket keeps its seq but loses its rows. */
        if (bk.rows) {
            memcpy(bk.rows, b->rows, sizeof *bk.rows * (size_t)b->n_rows);
            bk.n_rows = b->n_rows;
        }
    }
    if (b->count == b->max) { /* oldest falls off */
        free(b->ring[b->head].rows);
        b->head = (b->head + 1) % b->max;
        b->count--;
    }
    b->ring[(b->head + b->count) % b->max] = bk;
    b->count++;
    b->n_rows = 0;
    b->open_gen++;
    b->open_start = bk.end_ms;
}

static int64_t tick_locked(dst_buckets *b, int64_t now_ms) {
    int64_t closed = 0;
    while (now_ms >= b->open_start + b->bucket_ms) {
        close_open(b);
        closed++;
        /* After a long stall (or a clock jump) do not mint thousands of
         * empty buckets: jump to the current interval. */
        if ((now_ms - b->open_start) / b->bucket_ms > b->max)
            b->open_start = floor_to(now_ms, b->bucket_ms);
    }
    return closed;
}

int64_t dst_buckets_tick(dst_buckets *b, int64_t now_ms) {
    pthread_mutex_lock(&b->mu);
    int64_t n = tick_locked(b, now_ms);
    pthread_mutex_unlock(&b->mu);
    return n;
}

/* A landscape count saturates rather than wraps (2^31 in one bucket). */
static void land_inc(int32_t *c) {
    if (*c < INT32_MAX) (*c)++;
}

int dst_buckets_add(dst_buckets *b, int64_t now_ms, const char *campaign, const dst_delta *d) {
    if (!campaign || !campaign[0] || strlen(campaign) > BEAT_ID_MAX) return -EINVAL;
    pthread_mutex_lock(&b->mu);
    tick_locked(b, now_ms);
    camp *c = ct_slot(b, campaign);
    if (!c->id[0]) {
        /* Reset only if it frees something: campaigns without a row in
         * the open bucket (n_rows of the ct_n have one). */
        if (b->ct_n >= b->campaigns_max && b->n_rows < b->ct_n) {
            ct_reset(b);
            c = ct_slot(b, campaign);
        }
        if (b->ct_n >= b->campaigns_max) {
            pthread_mutex_unlock(&b->mu);
            return -ENOSPC;
        }
        memset(c, 0, sizeof *c);
        strcpy(c->id, campaign);
        b->ct_n++;
    }
    if (c->row_gen != b->open_gen) {
        /* n_rows ≤ ct_n ≤ campaigns_max: a row is always available. */
        c->row_gen = b->open_gen;
        c->row = b->n_rows++;
        memset(&b->rows[c->row], 0, sizeof b->rows[c->row]);
        strcpy(b->rows[c->row].campaign, campaign);
    }
    beat_agg_row *r = &b->rows[c->row];
    r->bids += d->bids;
    r->wins += d->wins;
    r->imps += d->imps;
    r->clicks += d->clicks;
    r->losses += d->losses;
    r->loss_outbid += d->loss_outbid;
    r->loss_floor += d->loss_floor;
    r->loss_other += d->loss_other;
    r->expired += d->expired;
    r->opps += d->opps;
    r->convs += d->convs;
    r->conv_value_micros += d->conv_value_micros;
    r->pctr_bids += d->pctr_bids;
    r->pctr_wins += d->pctr_wins;
    if (d->won_bid_cpm > 0) land_inc(&r->won_cpm[beat_land_bucket(d->won_bid_cpm)]);
    if (d->lost_bid_cpm > 0) land_inc(&r->lost_cpm[beat_land_bucket(d->lost_bid_cpm)]);
    if (d->price_cpm_micros > 0) {
        int64_t milli = c->rem_milli + d->price_cpm_micros;
        r->spend_micros += milli / 1000;
        c->rem_milli = milli % 1000;
    }
    pthread_mutex_unlock(&b->mu);
    return 0;
}

static uint64_t first_seq_locked(const dst_buckets *b) {
    return b->count ? b->last_seq - (uint64_t)b->count + 1 : 0;
}

int dst_buckets_encode(dst_buckets *b, int64_t now_ms, uint64_t after, int max,
                       const char *instance, uint64_t epoch, beat_buf *out) {
    if (max < 1) return -EINVAL;
    pthread_mutex_lock(&b->mu);
    tick_locked(b, now_ms);
    beat_aggregates a = {0};
    snprintf(a.instance, sizeof a.instance, "%s", instance ? instance : "");
    a.epoch = epoch;
    a.bucket_ms = b->bucket_ms;
    a.first_seq = first_seq_locked(b);
    a.last_seq = b->last_seq;
    a.has_heard = b->heard_src != NULL;
    int64_t start = 0; /* ring offset of the first bucket with seq > after */
    if (b->count && after >= a.first_seq) start = (int64_t)(after - a.first_seq + 1);
    int64_t n = b->count - start;
    if (n < 0) n = 0;
    if (n > max) n = max;
    /* Stay well under the body bound: ~150 bytes per row (~600 with both
     * landscapes), 120 per bucket. */
    size_t est = 256;
    for (int64_t i = 0; i < n; i++) {
        const beat_agg_bucket *bk = &b->ring[(b->head + start + i) % b->max];
        est += 120 + 600 * (size_t)bk->n_rows;
        if (est > BODY_MAX / 2 && i > 0) {
            n = i;
            break;
        }
    }
    int rc = 0;
    if (n > 0) {
        a.buckets = malloc(sizeof *a.buckets * (size_t)n);
        if (!a.buckets) rc = -ENOMEM;
        for (int64_t i = 0; !rc && i < n; i++)
            a.buckets[i] = b->ring[(b->head + start + i) % b->max]; /* shallow */
        a.n_buckets = (int)n;
    }
    /* What the buckets listed (or, when none is new, those listed before)
     * hold: the heard time of the last of them as it closed. */
    if (n > 0) a.heard_ms = b->ring[(b->head + start + n - 1) % b->max].heard_ms;
    else if (b->count) a.heard_ms = b->ring[(b->head + b->count - 1) % b->max].heard_ms;
    if (!rc) rc = beat_aggregates_encode(&a, out);
    pthread_mutex_unlock(&b->mu);
    free(a.buckets); /* rows belong to the ring: no beat_aggregates_fini */
    return rc;
}

uint64_t dst_buckets_last_seq(dst_buckets *b) {
    pthread_mutex_lock(&b->mu);
    uint64_t s = b->last_seq;
    pthread_mutex_unlock(&b->mu);
    return s;
}

uint64_t dst_buckets_first_seq(dst_buckets *b) {
    pthread_mutex_lock(&b->mu);
    uint64_t s = first_seq_locked(b);
    pthread_mutex_unlock(&b->mu);
    return s;
}

void dst_buckets_sum(dst_buckets *b, const char *campaign, uint64_t after, dst_totals *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&b->mu);
    for (int64_t i = 0; i < b->count; i++) {
        const beat_agg_bucket *bk = &b->ring[(b->head + i) % b->max];
        if (bk->seq <= after) continue;
        for (int r = 0; r < bk->n_rows; r++) {
            const beat_agg_row *row = &bk->rows[r];
            if (campaign && strcmp(row->campaign, campaign) != 0) continue;
            out->bids += row->bids;
            out->wins += row->wins;
            out->spend_micros += row->spend_micros;
            out->imps += row->imps;
            out->clicks += row->clicks;
            out->losses += row->losses;
            out->loss_outbid += row->loss_outbid;
            out->loss_floor += row->loss_floor;
            out->loss_other += row->loss_other;
            out->expired += row->expired;
            out->opps += row->opps;
            out->convs += row->convs;
            out->conv_value_micros += row->conv_value_micros;
            out->pctr_bids += row->pctr_bids;
            out->pctr_wins += row->pctr_wins;
            for (int k = 0; k < BEAT_LAND_N; k++) {
                out->won_cpm[k] += row->won_cpm[k];
                out->lost_cpm[k] += row->lost_cpm[k];
            }
        }
    }
    pthread_mutex_unlock(&b->mu);
}

int64_t dst_buckets_campaign_resets(dst_buckets *b) {
    pthread_mutex_lock(&b->mu);
    int64_t n = b->ct_resets;
    pthread_mutex_unlock(&b->mu);
    return n;
}
