/* The frequency-cap counter of datastream (caps.h). Each count moves the
 * row to a new change sequence number and appends (slot, seq) to a ring
 * journal of as many entries as the table has slots; seq numbers are
 * consecutive, so the entry of seq s sits at (s - 1) mod size and an answer
 * walks the journal from the reader's cursor, naming a row only at its
 * latest change. A reader further behind than the ring misses the rows
 * changed in between (first_seq tells it). The clock that ends windows is
 * the engine time of the latest bid counted, never this host's clock:
 * windows are the bidders' engine time (beat_clock.h). */
#include "caps.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "beat_clock.h"
#include "beat_fcap.h"
#include "beat_metrics.h"

typedef struct jent {
    int64_t slot;
    uint64_t seq;
} jent;

struct dst_caps {
    pthread_mutex_t mu;
    beat_fcap_tab *tab;
    jent *journal;
    int64_t jsize;
    uint64_t seq; /* last given */
    int64_t clock_ms;
    int64_t counted, evicted;
};

static struct {
    beat_counter *counted, *evicted;
    beat_gauge *rows;
} M;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void) {
    M.counted = beat_counter_new("beat_datastream_fcap_impressions_total",
                                 "Impressions of frequency-capped bids counted per person "
                                 "(first win, bill or imp notice joined to a bid with a cap key).");
    M.evicted = beat_counter_new("beat_datastream_fcap_evicted_total",
                                 "Cap rows of a window still open dropped to make room "
                                 "(--fcap-rows reached): those people may see more than the cap.");
    M.rows = beat_gauge_new("beat_datastream_fcap_rows",
                            "Rows held in the frequency-cap table (of --fcap-rows).");
}

dst_caps *dst_caps_new(int64_t max_rows) {
    pthread_once(&metrics_once, metrics_init);
    dst_caps *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->tab = beat_fcap_tab_new(max_rows);
    if (c->tab) {
        c->jsize = beat_fcap_tab_slots(c->tab);
        c->journal = calloc((size_t)c->jsize, sizeof *c->journal);
    }
    if (!c->tab || !c->journal) {
        beat_fcap_tab_free(c->tab);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->clock_ms = INT64_MIN;
    return c;
}

void dst_caps_free(dst_caps *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->mu);
    beat_fcap_tab_free(c->tab);
    free(c->journal);
    free(c);
}

void dst_caps_count(dst_caps *c, const char *campaign, uint64_t key, int32_t window_s,
                    int64_t bid_ts_ms) {
    if (!key || window_s <= 0 || !campaign[0]) return;
    uint64_t camp = beat_fcap_camp(campaign);
    /* Windows are engine time (a one-day cap is one engine day under a
     * simulated clock); bid_ts_ms stays the bid's identity in recent. */
    int64_t t = beat_engine_of_wall_ms(bid_ts_ms);
    int64_t start = beat_fcap_win_start(t, window_s);
    bool ev;
    pthread_mutex_lock(&c->mu);
    if (t > c->clock_ms) c->clock_ms = t;
    beat_fcap_row *r = beat_fcap_tab_upsert(c->tab, camp, key, start, window_s, c->clock_ms, &ev);
    beat_fcap_row_add(r, bid_ts_ms);
    r->seq = ++c->seq;
    c->journal[(r->seq - 1) % (uint64_t)c->jsize] =
        (jent){.slot = beat_fcap_tab_index(c->tab, r), .seq = r->seq};
    c->counted++;
    if (ev) c->evicted++;
    int64_t rows = beat_fcap_tab_rows(c->tab);
    pthread_mutex_unlock(&c->mu);
    beat_counter_inc(M.counted);
    if (ev) beat_counter_inc(M.evicted);
    beat_gauge_set(M.rows, (double)rows);
}

static int put_hex(beat_buf *out, uint64_t v) {
    return beat_buf_printf(out, "\"%016" PRIx64 "\"", v);
}

int dst_caps_encode(dst_caps *c, uint64_t after, int max, const char *instance, uint64_t epoch,
                    beat_buf *out) {
    pthread_mutex_lock(&c->mu);
    uint64_t first = c->seq > (uint64_t)c->jsize ? c->seq - (uint64_t)c->jsize + 1 : 1;
    uint64_t s = after + 1 > first ? after + 1 : first, last = after < c->seq ? after : c->seq;
    int bad =
        beat_buf_printf(out, "{\"v\":1,\"instance\":\"%s\",\"epoch\":\"%016" PRIx64 "\",\"rows\":[",
                        instance, epoch);
    int n = 0;
    for (; s <= c->seq && n < max; s++) {
        last = s;
        const jent *j = &c->journal[(s - 1) % (uint64_t)c->jsize];
        const beat_fcap_row *r = beat_fcap_tab_slot(c->tab, j->slot);
        if (j->seq != s || r->seq != s) continue; /* changed again later */
        bad |= beat_buf_puts(out, n++ ? ",[" : "[") | put_hex(out, r->camp) |
               beat_buf_puts(out, ",") | put_hex(out, r->key);
        bad |=
            beat_buf_printf(out, ",%" PRId64 ",%d,%u,[%u,%u,%u,%u]]", r->win_start_ms, r->window_s,
                            r->count, r->recent[0], r->recent[1], r->recent[2], r->recent[3]);
    }
    bad |= beat_buf_printf(out, "],\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}",
                           c->seq ? first : 0, last);
    pthread_mutex_unlock(&c->mu);
    return bad < 0 ? -EMSGSIZE : 0;
}

void dst_caps_stats_get(dst_caps *c, dst_caps_stats *st) {
    pthread_mutex_lock(&c->mu);
    *st = (dst_caps_stats){
        .rows = beat_fcap_tab_rows(c->tab), .counted = c->counted, .evicted = c->evicted};
    pthread_mutex_unlock(&c->mu);
}
