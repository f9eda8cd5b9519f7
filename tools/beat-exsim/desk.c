/* The trading-desk grading of beat-exsim (desk.h): what the exchange saw
 * each campaign buy, judged against its own rules with the exchange's
 * knowledge — spend and impressions per local day of its zone (engine
 * time of the auction), wins outside its geography and audiences, and
 * impressions per (user, cap window). The exchange knows each win's user,
 * which the engine only ever sees as ids. Memory is bounded: the
 * frequency table holds a fixed number of (campaign, user, window) pairs
 * and counts what did not fit. */
#include "desk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "beat_tz.h"

#define DESK_DAYS 32 /* local days per campaign; later ones are counted in the last */

typedef struct desk_day {
    int64_t day, start_ms; /* local days since 1970; the day's UTC first instant */
    int y, m, d;
    int64_t imps, spend_cpm_micros;
} desk_day;

typedef struct desk_camp {
    desk_day days[DESK_DAYS];
    int n_days;
    int64_t off_target;
} desk_camp;

typedef struct fslot {
    uint64_t key; /* 0 = empty */
    uint32_t count;
} fslot;

struct exs_desk {
    const exs_camps *cs;
    desk_camp *c;
    fslot *f;
    uint64_t fmask;
    int64_t fused, fdropped;
};

exs_desk *exs_desk_new(const exs_camps *cs, int slots_log2) {
    if (slots_log2 < 4 || slots_log2 > 28) return NULL;
    exs_desk *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->cs = cs;
    d->c = calloc((size_t)(cs->n ? cs->n : 1), sizeof *d->c);
    d->f = calloc((size_t)1 << slots_log2, sizeof *d->f);
    d->fmask = ((uint64_t)1 << slots_log2) - 1;
    if (!d->c || !d->f) {
        exs_desk_free(d);
        return NULL;
    }
    return d;
}

void exs_desk_free(exs_desk *d) {
    if (!d) return;
    free(d->c);
    free(d->f);
    free(d);
}

static desk_day *day_of(desk_camp *c, const beat_tz *tz, int64_t engine_ms) {
    beat_civil cv;
    beat_tz_civil(tz ? tz : beat_tz_get("UTC", NULL), engine_ms, &cv);
    for (int i = c->n_days - 1; i >= 0; i--)
        if (c->days[i].day == cv.day) return &c->days[i];
    if (c->n_days == DESK_DAYS) return &c->days[DESK_DAYS - 1];
    desk_day *x = &c->days[c->n_days++];
    *x = (desk_day){
        .day = cv.day, .start_ms = cv.day_start_ms, .y = cv.year, .m = cv.month, .d = cv.mday};
    return x;
}

/* The pair's slot, or NULL when the table is full (linear probing). */
static fslot *pair_slot(exs_desk *d, uint64_t key) {
    uint64_t h = key * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    for (uint64_t k = 0; k <= d->fmask; k++) {
        fslot *s = &d->f[(h + k) & d->fmask];
        if (s->key == key) return s;
        if (!s->key) {
            if ((uint64_t)d->fused * 4 >= (d->fmask + 1) * 3) return NULL; /* ¾ full */
            s->key = key;
            d->fused++;
            return s;
        }
    }
    return NULL;
}

static uint64_t pair_key(int ci, int user, int64_t win) {
    return ((uint64_t)(unsigned)(ci + 1) << 52) ^ ((uint64_t)(win & 0xfffff) << 32) ^
           (uint64_t)(uint32_t)user;
}

void exs_desk_win(exs_desk *d, int ci, const exs_req *r, int64_t engine_ms,
                  int64_t clearing_cpm_micros) {
    if (ci < 0 || ci >= d->cs->n) return;
    desk_camp *c = &d->c[ci];
    desk_day *x = day_of(c, exs_camp_tz(d->cs, ci), engine_ms);
    x->imps++;
    x->spend_cpm_micros += clearing_cpm_micros;
    if (!exs_camp_on_target(d->cs, ci, r)) c->off_target++;
    int win_s, max = exs_camp_fcap(d->cs, ci, &win_s);
    if (max <= 0 || r->user < 0) return;
    int64_t w = (int64_t)win_s * 1000, win = engine_ms / w - (engine_ms < 0 && engine_ms % w);
    fslot *s = pair_slot(d, pair_key(ci, r->user, win));
    if (!s) {
        d->fdropped++;
        return;
    }
    s->count++;
}

void exs_desk_freq(const exs_desk *d, int ci, exs_desk_freq_res *out) {
    memset(out, 0, sizeof *out);
    out->max = exs_camp_fcap(d->cs, ci, &out->window_s);
    if (out->max <= 0) return;
    for (uint64_t i = 0; i <= d->fmask; i++) {
        const fslot *s = &d->f[i];
        if (!s->key || s->key >> 52 != (uint64_t)(unsigned)(ci + 1)) continue;
        out->pairs++;
        if ((int64_t)s->count > out->most) out->most = s->count;
        if ((int64_t)s->count > out->max) out->over_pairs++;
    }
}

int64_t exs_desk_off_target(const exs_desk *d, int ci) { return d->c[ci].off_target; }

int exs_desk_json(const exs_desk *d, beat_buf *out) {
    int64_t off = 0;
    if (beat_buf_puts(out, ",\"desk\":{\"campaigns\":[") < 0) return -ENOMEM;
    for (int i = 0; i < d->cs->n; i++) {
        const desk_camp *c = &d->c[i];
        const beat_tz *tz = exs_camp_tz(d->cs, i);
        off += c->off_target;
        if (beat_buf_printf(
                out, "%s{\"id\":\"%s\",\"tz\":\"%s\",\"off_target_imps\":%" PRId64 ",\"days\":[",
                i ? "," : "", exs_camp_id(d->cs, i), tz ? beat_tz_name(tz) : "UTC",
                c->off_target) < 0)
            return -ENOMEM;
        for (int k = 0; k < c->n_days; k++) {
            const desk_day *x = &c->days[k];
            if (beat_buf_printf(out,
                                "%s{\"date\":\"%04d-%02d-%02d\",\"start_ms\":%" PRId64
                                ",\"imps\":%" PRId64 ",\"spend_micros\":%" PRId64 "}",
                                k ? "," : "", x->y, x->m, x->d, x->start_ms, x->imps,
                                x->spend_cpm_micros / 1000) < 0)
                return -ENOMEM;
        }
        exs_desk_freq_res fr;
        exs_desk_freq(d, i, &fr);
        if (beat_buf_puts(out, "]") < 0) return -ENOMEM;
        if (fr.max > 0 &&
            beat_buf_printf(out,
                            ",\"freq\":{\"max\":%d,\"window_s\":%d,\"pairs\":%" PRId64
                            ",\"most\":%" PRId64 ",\"over_pairs\":%" PRId64 "}",
                            fr.max, fr.window_s, fr.pairs, fr.most, fr.over_pairs) < 0)
            return -ENOMEM;
        if (beat_buf_puts(out, "}") < 0) return -ENOMEM;
    }
    return beat_buf_printf(out, "],\"off_target_imps\":%" PRId64 ",\"freq_dropped\":%" PRId64 "}",
                           off, d->fdropped) < 0
               ? -ENOMEM
               : 0;
}
