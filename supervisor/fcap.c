/* The supervisor's frequency-cap relay (fcap.h). One thread owns every
 * table; nothing here is shared with the HTTP loop or the lease threads.
 * Each datastream's rows are kept in a table of their own, since a row's
 * count on the wire is that instance's absolute count: the published count
 * is the sum over the instances, and the recent bid times the newest of
 * all. An answer is untrusted input: bounded and checked before use. */
#include "fcap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat_clock.h"
#include "beat_fcap.h"
#include "beat_httpc.h"
#include "beat_json.h"
#include "beat_log.h"
#include "beat_metrics.h"

#define BODY_MAX ((size_t)8 << 20)
#define SWEEP_SLOTS 16384 /* slots re-sent per round, per datastream */

typedef struct src {
    char url[512];
    bool has_epoch;
    uint64_t epoch, seq;
    beat_fcap_tab *tab;
    int64_t sweep; /* next slot to re-send */
} src;

struct sup_fcap {
    sup_fcap_cfg cfg;
    sup_pub *pub;
    src *s;
    pthread_t thr;
    bool started;
    atomic_bool stop;
    beat_fcap_row *rows; /* BEAT_FCAP_FRAME_ROWS, one frame's worth */
    uint8_t *frame;      /* BEAT_FCAP_FRAME_MAX */
    beat_counter *failures, *missed, *evicted;
    beat_gauge *rows_g;
};

static bool parse_hex(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 16) return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v->valuestring, &end, 16);
    if (errno || *end) return false;
    *out = x;
    return true;
}

static bool parse_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

/* The published form of (camp, key, start): the sum over the sources. */
static void merged(sup_fcap *f, const beat_fcap_row *r, beat_fcap_row *out) {
    *out = (beat_fcap_row){
        .camp = r->camp, .key = r->key, .win_start_ms = r->win_start_ms, .window_s = r->window_s};
    uint32_t all[BEAT_FCAP_RECENT * 8];
    int na = 0;
    for (int i = 0; i < f->cfg.n_urls; i++) {
        const beat_fcap_row *x = beat_fcap_tab_find(f->s[i].tab, r->camp, r->key, r->win_start_ms);
        if (!x) continue;
        out->count = out->count > UINT32_MAX - x->count ? UINT32_MAX : out->count + x->count;
        for (int k = 0; k < BEAT_FCAP_RECENT && na < (int)(sizeof all / sizeof all[0]); k++)
            if (x->recent[k]) all[na++] = x->recent[k];
    }
    /* newest first; the low 32 bits of times a few seconds apart compare
     * as integers except across a wrap every 49 days */
    for (int k = 0; k < BEAT_FCAP_RECENT && k < na; k++) {
        int best = k;
        for (int j = k + 1; j < na; j++)
            if (all[j] > all[best]) best = j;
        uint32_t t = all[k];
        all[k] = all[best];
        all[best] = t;
        out->recent[k] = all[k];
    }
}

int sup_fcap_merge(sup_fcap *f, int i, const char *json, size_t len, int64_t now_ms,
                   beat_fcap_row *out, int max, beat_reason *why) {
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    src *s = &f->s[i];
    int rc = -EBADMSG, n = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "rows");
    uint64_t epoch;
    int64_t first, last;
    if (!cJSON_IsNumber(v) || v->valuedouble != BEAT_FCAP_V) {
        beat_reasonf(why, rc, "unsupported version");
        goto out;
    }
    if (!parse_hex(cJSON_GetObjectItemCaseSensitive(root, "epoch"), &epoch) ||
        !parse_int(cJSON_GetObjectItemCaseSensitive(root, "first_seq"), 0, INT64_MAX, &first) ||
        !parse_int(cJSON_GetObjectItemCaseSensitive(root, "last_seq"), 0, INT64_MAX, &last) ||
        !cJSON_IsArray(rows) || cJSON_GetArraySize(rows) > max) {
        beat_reasonf(why, rc, "epoch, first_seq, last_seq or rows missing or out of range");
        goto out;
    }
    if (s->has_epoch && epoch != s->epoch) {
        /* A restarted instance counts from zero again: its new rows
         * replace the old ones as they come. Its answer to our old cursor
         * is dropped; the next pull starts from 0. */
        beat_log(BEAT_INFO, "fcap_epoch_changed", "peer=%s", s->url);
        s->epoch = epoch;
        s->seq = 0;
        rc = 0;
        goto out;
    }
    s->has_epoch = true;
    s->epoch = epoch;
    if ((uint64_t)first > s->seq + 1 && f->missed) beat_counter_inc(f->missed);
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        int64_t start, win, cnt, t;
        beat_fcap_row in = {0};
        const cJSON *rec = cJSON_GetArrayItem(r, 5), *x;
        if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 6 ||
            !parse_hex(cJSON_GetArrayItem(r, 0), &in.camp) ||
            !parse_hex(cJSON_GetArrayItem(r, 1), &in.key) || !in.key ||
            !parse_int(cJSON_GetArrayItem(r, 2), -(1LL << 62), 1LL << 62, &start) ||
            !parse_int(cJSON_GetArrayItem(r, 3), 1, INT32_MAX, &win) ||
            !parse_int(cJSON_GetArrayItem(r, 4), 0, UINT32_MAX, &cnt) || !cJSON_IsArray(rec) ||
            cJSON_GetArraySize(rec) > BEAT_FCAP_RECENT) {
            beat_reasonf(why, rc, "row %d: not [camp, key, start, window_s, count, recent]", n);
            goto out;
        }
        int k = 0;
        cJSON_ArrayForEach(x, rec) {
            if (!parse_int(x, 0, UINT32_MAX, &t)) {
                beat_reasonf(why, rc, "row %d: recent: not a u32", n);
                goto out;
            }
            in.recent[k++] = (uint32_t)t;
        }
        bool ev;
        beat_fcap_row *row =
            beat_fcap_tab_upsert(s->tab, in.camp, in.key, start, (int32_t)win, now_ms, &ev);
        if (ev && f->evicted) beat_counter_inc(f->evicted);
        row->count = (uint32_t)cnt;
        memcpy(row->recent, in.recent, sizeof row->recent);
        merged(f, row, &out[n++]);
    }
    s->seq = (uint64_t)last;
    rc = n;
out:
    cJSON_Delete(root);
    return rc;
}

static void send_rows(sup_fcap *f, const beat_fcap_row *rows, int n, bool complete) {
    int64_t len = beat_fcap_frame_encode(rows, n, beat_now_ms(), f->frame, BEAT_FCAP_FRAME_MAX);
    if (len < 0) return;
    f->frame[2] = complete ? 1 : 0; /* flags bit 0: every datastream answered */
    if (f->pub) sup_pub_fcap(f->pub, f->frame, (size_t)len);
}

/* Appends live rows of source i's next slice to rows (up to the frame). */
static int sweep(sup_fcap *f, int i, int n, int64_t now_ms) {
    src *s = &f->s[i];
    int64_t slots = beat_fcap_tab_slots(s->tab);
    for (int k = 0; k < SWEEP_SLOTS && n < BEAT_FCAP_FRAME_ROWS; k++) {
        const beat_fcap_row *r = beat_fcap_tab_slot(s->tab, s->sweep);
        s->sweep = (s->sweep + 1) % slots;
        if (r->window_s && beat_fcap_row_end(r) > now_ms) merged(f, r, &f->rows[n++]);
    }
    return n;
}

static void round_once(sup_fcap *f, beat_httpc *hc, beat_buf *resp) {
    bool complete = true;
    int n = 0;
    for (int i = 0; i < f->cfg.n_urls && !atomic_load(&f->stop); i++) {
        src *s = &f->s[i];
        char url[700];
        snprintf(url, sizeof url, "%s/v1/caps?after=%" PRIu64 "&max=%d", s->url, s->seq,
                 BEAT_FCAP_FRAME_ROWS - n);
        long status = 0;
        beat_reason why = {{0}};
        int rc = beat_httpc_get(hc, url, resp, &status);
        if (rc == 0 && status == 200)
            rc = sup_fcap_merge(f, i, resp->data, resp->len, beat_engine_ms(), f->rows + n,
                                BEAT_FCAP_FRAME_ROWS - n, &why);
        else if (rc == 0) rc = -EPROTO;
        if (rc < 0) {
            complete = false;
            beat_counter_inc(f->failures);
            beat_log_rl(5000, BEAT_WARN, "fcap_unreachable",
                        "peer=%s err=%d status=%ld reason=\"%s\"", s->url, rc, status, why.msg);
            continue;
        }
        n += rc;
        if (n == BEAT_FCAP_FRAME_ROWS) {
            send_rows(f, f->rows, n, false);
            n = 0;
        }
    }
    int64_t now = beat_engine_ms(), held = 0; /* windows end in engine time */
    for (int i = 0; i < f->cfg.n_urls; i++) {
        n = sweep(f, i, n, now);
        if (n == BEAT_FCAP_FRAME_ROWS) {
            send_rows(f, f->rows, n, false);
            n = 0;
        }
        held += beat_fcap_tab_rows(f->s[i].tab);
    }
    send_rows(f, f->rows, n, complete); /* even empty: the freshness signal */
    beat_gauge_set(f->rows_g, (double)held);
}

static void *fcap_main(void *arg) {
    sup_fcap *f = arg;
    beat_httpc *hc = beat_httpc_new(f->cfg.timeout_ms);
    beat_buf resp;
    beat_buf_init(&resp, BODY_MAX);
    while (hc && !atomic_load(&f->stop)) {
        int64_t t0 = beat_mono_ms();
        round_once(f, hc, &resp);
        for (int64_t left = f->cfg.every_ms - (beat_mono_ms() - t0);
             left > 0 && !atomic_load(&f->stop); left -= 50)
            nanosleep(&(struct timespec){.tv_nsec = (left > 50 ? 50 : left) * 1000000L}, NULL);
    }
    beat_buf_fini(&resp);
    beat_httpc_free(hc);
    return NULL;
}

sup_fcap *sup_fcap_new_detached(const sup_fcap_cfg *cfg) {
    sup_fcap *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->cfg = *cfg;
    f->s = calloc((size_t)(cfg->n_urls > 0 ? cfg->n_urls : 1), sizeof *f->s);
    f->rows = calloc(BEAT_FCAP_FRAME_ROWS, sizeof *f->rows);
    f->frame = malloc(BEAT_FCAP_FRAME_MAX);
    bool ok = f->s && f->rows && f->frame;
    for (int i = 0; ok && i < cfg->n_urls; i++) {
        snprintf(f->s[i].url, sizeof f->s[i].url, "%s", cfg->urls[i]);
        ok = (f->s[i].tab = beat_fcap_tab_new(cfg->rows_max)) != NULL;
    }
    if (!ok) {
        sup_fcap_free(f);
        return NULL;
    }
    return f;
}

sup_fcap *sup_fcap_new(const sup_fcap_cfg *cfg, sup_pub *pub) {
    sup_fcap *f = sup_fcap_new_detached(cfg);
    if (!f) return NULL;
    f->pub = pub;
    f->failures = beat_counter_new("beat_supervisor_fcap_pull_failures_total",
                                   "Pulls of a datastream's frequency-cap rows that failed "
                                   "(unreachable, not 200, or an answer refused)");
    f->missed = beat_counter_new("beat_supervisor_fcap_missed_total",
                                 "Answers that show cap rows changed beyond the datastream's "
                                 "journal since the last pull (those wait for the re-send)");
    f->evicted = beat_counter_new("beat_supervisor_fcap_evicted_total",
                                  "Cap rows of an open window dropped: --fcap-rows reached");
    f->rows_g = beat_gauge_new("beat_supervisor_fcap_rows",
                               "Frequency-cap rows held, summed over the datastreams");
    if (cfg->n_urls > 0) {
        if (pthread_create(&f->thr, NULL, fcap_main, f) != 0) {
            sup_fcap_free(f);
            return NULL;
        }
        f->started = true;
    }
    return f;
}

void sup_fcap_free(sup_fcap *f) {
    if (!f) return;
    atomic_store(&f->stop, true);
    if (f->started) pthread_join(f->thr, NULL);
    for (int i = 0; f->s && i < f->cfg.n_urls; i++) beat_fcap_tab_free(f->s[i].tab);
    free(f->s);
    free(f->rows);
    free(f->frame);
    free(f);
}
