/* Banker arithmetic (bank.h). Campaign accounts are append-only (an index
 * never moves, so lease rows refer to them by index) with a sorted index
 * for lookup by id; each incarnation keeps its rows sorted by account.
 * Amounts are CPM micros throughout; a budget in micros is × 1000. A
 * campaign with a daily budget also has a day account (beat_daily.h): the
 * committed amount frozen at the day's start, to which the day may add its
 * budget (docs/money.md "Daily budgets"). */
#include "bank.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_clock.h"

typedef struct account {
    char id[BEAT_ID_MAX + 1];
    bool in_set, paused;
    int64_t budget_cpm, start_ms, end_ms, max_bid_cpm;
    int64_t spend_cpm, released_cpm;
    int64_t alloc_cpm;   /* Σ granted (used, once an incarnation said goodbye) */
    beat_campaign day_c; /* the scalars beat_daily.h reads (no owned fields) */
    beat_daily day;      /* in CPM micros; day.set false until the first day */
    bool day_dirty;
    int64_t daily_stops; /* grants withheld for the day's budget */
} account;

typedef struct lrow {
    int account;
    int64_t granted, used, rate_ms;
    double rate; /* used per second, smoothed */
    bool dirty;
} lrow;

typedef struct incn {
    char node[BEAT_ID_MAX + 1];
    uint64_t inc;
    int64_t last_ms;
    bool final;
    lrow *rows;
    int n, cap;
} incn;

struct sup_bank {
    sup_bank_cfg cfg;
    account *a;
    int *order; /* indices into a, sorted by id */
    int n, cap;
    incn *in;
    int n_in, cap_in;
    bool hold;
};

sup_bank *sup_bank_new(const sup_bank_cfg *cfg) {
    sup_bank *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->cfg = *cfg;
    if (b->cfg.horizon_s <= 0) b->cfg.horizon_s = 120;
    if (b->cfg.min_lease_bids <= 0) b->cfg.min_lease_bids = 50;
    if (b->cfg.live_ms <= 0) b->cfg.live_ms = 10000;
    return b;
}

void sup_bank_free(sup_bank *b) {
    if (!b) return;
    for (int i = 0; i < b->n_in; i++) free(b->in[i].rows);
    free(b->in);
    free(b->a);
    free(b->order);
    free(b);
}

void sup_bank_hold(sup_bank *b, bool hold) { b->hold = hold; }
int sup_bank_n(const sup_bank *b) { return b->n; }
const char *sup_bank_id(const sup_bank *b, int i) { return b->a[b->order[i]].id; }

/* Position of id in order (found), or where it would go (-pos - 1). */
static int locate(const sup_bank *b, const char *id) {
    int lo = 0, hi = b->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(b->a[b->order[mid]].id, id);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

/* Account index of id, created when missing (-ENOMEM). */
static int acct_of(sup_bank *b, const char *id) {
    int pos = locate(b, id);
    if (pos >= 0) return b->order[pos];
    pos = -pos - 1;
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        account *na = realloc(b->a, (size_t)cap * sizeof *na);
        if (!na) return -ENOMEM;
        b->a = na;
        int *no = realloc(b->order, (size_t)cap * sizeof *no);
        if (!no) return -ENOMEM;
        b->order = no;
        b->cap = cap;
    }
    account *x = &b->a[b->n];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    memmove(&b->order[pos + 1], &b->order[pos], (size_t)(b->n - pos) * sizeof *b->order);
    b->order[pos] = b->n;
    return b->n++;
}

int sup_bank_set_campaigns(sup_bank *b, const beat_campaign_set *cs) {
    for (int i = 0; i < b->n; i++) b->a[i].in_set = false;
    for (int i = 0; i < cs->n; i++) {
        const beat_campaign *c = &cs->c[i];
        int k = acct_of(b, c->id);
        if (k < 0) return k;
        account *x = &b->a[k];
        x->in_set = true;
        x->paused = c->paused;
        /* budgets are < 2^53 micros (beat_json_count): × 1000 fits */
        x->budget_cpm = c->budget_micros * 1000;
        x->start_ms = c->start_ms;
        x->end_ms = c->end_ms;
        x->max_bid_cpm = c->max_bid_cpm_micros;
        beat_campaign *d = &x->day_c;
        d->start_ms = c->start_ms;
        d->end_ms = c->end_ms;
        d->budget_micros = c->budget_micros;
        d->daily_budget_micros = c->daily_budget_micros;
        d->rollover = c->rollover;
        d->tz = c->tz;
    }
    return 0;
}

int sup_bank_set_ledger(sup_bank *b, const char *campaign, int64_t spend_cpm,
                        int64_t released_cpm) {
    int k = acct_of(b, campaign);
    if (k < 0) return k;
    b->a[k].spend_cpm = spend_cpm;
    b->a[k].released_cpm = released_cpm;
    return 0;
}

static incn *incn_of(sup_bank *b, const char *node, uint64_t inc, bool create) {
    for (int i = 0; i < b->n_in; i++)
        if (b->in[i].inc == inc && strcmp(b->in[i].node, node) == 0) return &b->in[i];
    if (!create) return NULL;
    if (b->n_in == b->cap_in) {
        int cap = b->cap_in ? b->cap_in * 2 : 16;
        incn *ni = realloc(b->in, (size_t)cap * sizeof *ni);
        if (!ni) return NULL;
        b->in = ni;
        b->cap_in = cap;
    }
    incn *x = &b->in[b->n_in++];
    memset(x, 0, sizeof *x);
    snprintf(x->node, sizeof x->node, "%s", node);
    x->inc = inc;
    return x;
}

static lrow *row_of(incn *x, int account, bool create) {
    int lo = 0, hi = x->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (x->rows[mid].account == account) return &x->rows[mid];
        if (x->rows[mid].account < account) lo = mid + 1;
        else hi = mid - 1;
    }
    if (!create) return NULL;
    if (x->n == x->cap) {
        int cap = x->cap ? x->cap * 2 : 16;
        lrow *nr = realloc(x->rows, (size_t)cap * sizeof *nr);
        if (!nr) return NULL;
        x->rows = nr;
        x->cap = cap;
    }
    memmove(&x->rows[lo + 1], &x->rows[lo], (size_t)(x->n - lo) * sizeof *x->rows);
    x->n++;
    x->rows[lo] = (lrow){.account = account};
    return &x->rows[lo];
}

static int64_t committed(const account *x) { return x->spend_cpm + x->alloc_cpm - x->released_cpm; }

int sup_bank_restore(sup_bank *b, const sup_bank_row *r) {
    int k = acct_of(b, r->campaign);
    if (k < 0) return k;
    incn *x = incn_of(b, r->node, r->inc, true);
    lrow *w = x ? row_of(x, k, true) : NULL;
    if (!w) return -ENOMEM;
    w->granted = r->granted_cpm;
    w->used = r->used_cpm;
    if (r->final) x->final = true;
    if (r->ts_ms > x->last_ms) x->last_ms = r->ts_ms;
    b->a[k].alloc_cpm += r->final ? r->used_cpm : r->granted_cpm;
    return 0;
}

/* Nodes bidding on account k now (heard from lately, not stopping). */
static int live_nodes(const sup_bank *b, int k, int64_t now_ms) {
    int n = 0;
    for (int i = 0; i < b->n_in; i++) {
        incn *x = &b->in[i];
        if (!x->final && now_ms - x->last_ms <= b->cfg.live_ms && row_of(x, k, false)) n++;
    }
    return n;
}

/* The flight ends in engine time; now_ms is the wall clock. */
static bool eligible(const sup_bank *b, const account *x, int64_t now_ms) {
    return !b->hold && x->in_set && !x->paused && beat_engine_of_wall_ms(now_ms) < x->end_ms;
}

/* Allowance granted for account k and not bid yet (as last reported). */
static int64_t unused_lease(const sup_bank *b, int k) {
    int64_t n = 0;
    for (int i = 0; i < b->n_in; i++) {
        const lrow *w = b->in[i].final ? NULL : row_of(&b->in[i], k, false);
        if (w && w->granted > w->used) n += w->granted - w->used;
    }
    return n;
}

/* Rolls account k's day account to the day of engine_ms: at the first look
 * into a new day, committed less the allowance not bid yet (as reported
 * before this report) is its base, frozen and stored with the grant that
 * follows, before anything is granted in that day. Yesterday's unused
 * allowance is bid today, so it counts against today's budget, and so do
 * the bids this report brings (a few may be yesterday's last: the safe
 * side for today). */
static void day_roll(sup_bank *b, int k, int64_t engine_ms) {
    account *x = &b->a[k];
    if (!x->in_set || x->day_c.daily_budget_micros <= 0) return;
    if (beat_daily_roll(&x->day_c, &x->day, engine_ms, committed(x) - unused_lease(b, k), 1000) > 0)
        x->day_dirty = true;
}

/* What today may still add to committed (INT64_MAX: no daily budget; 0
 * outside the flight, where *in_day is false). */
static int64_t day_head(const account *x, bool *in_day) {
    *in_day = false;
    if (!x->in_set || x->day_c.daily_budget_micros <= 0) return INT64_MAX;
    int64_t budget = beat_daily_budget(&x->day_c, &x->day, 1000);
    *in_day = budget > 0;
    return budget > 0 ? x->day.base + budget - committed(x) : 0;
}

int sup_bank_report(sup_bank *b, const beat_lease_msg *rep, int64_t now_ms, beat_lease_msg *grant) {
    incn *x = incn_of(b, rep->node, rep->inc, true);
    if (!x) return -ENOMEM;
    if (x->final) return -EINVAL;
    memset(grant, 0, sizeof *grant);
    grant->tag = BEAT_FRAME_LEASE_GRANT;
    grant->inc = rep->inc;
    grant->ts_ms = now_ms;
    if (rep->n && !(grant->rows = calloc((size_t)rep->n, sizeof *grant->rows))) return -ENOMEM;
    for (int i = 0; i < rep->n; i++) {
        int k = acct_of(b, rep->rows[i].id);
        lrow *w = k >= 0 ? row_of(x, k, true) : NULL;
        if (!w) {
            beat_lease_fini(grant);
            return -ENOMEM;
        }
        account *a = &b->a[k];
        day_roll(b, k, beat_engine_of_wall_ms(now_ms));
        int64_t used = rep->rows[i].cpm > w->used ? rep->rows[i].cpm : w->used;
        /* The bid rate, smoothed over reports (a quiet node's rate decays). */
        if (w->rate_ms > 0 && now_ms > w->rate_ms) {
            double r = (double)(used - w->used) * 1000.0 / (double)(now_ms - w->rate_ms);
            w->rate = w->rate > 0 ? 0.7 * w->rate + 0.3 * r : r;
        }
        if (now_ms > w->rate_ms) w->rate_ms = now_ms;
        if (used > w->used) {
            w->used = used;
            w->dirty = true;
        }
        /* A node that bid past its allowance is broken; what it bid is
         * committed all the same. */
        if (w->used > w->granted) {
            a->alloc_cpm += w->used - w->granted;
            w->granted = w->used;
            w->dirty = true;
        }
    }
    x->last_ms = now_ms;
    if (rep->final) {
        /* Goodbye: what was allowed and not bid is free again. */
        x->final = true;
        for (int i = 0; i < x->n; i++) {
            lrow *w = &x->rows[i];
            b->a[w->account].alloc_cpm -= w->granted - w->used;
            w->dirty = true;
        }
    }
    for (int i = 0; i < rep->n; i++) {
        int k = acct_of(b, rep->rows[i].id);
        lrow *w = row_of(x, k, false);
        account *a = &b->a[k];
        if (!rep->final && eligible(b, a, now_ms)) {
            int64_t floor_cpm = (int64_t)b->cfg.min_lease_bids * a->max_bid_cpm;
            double want_d = w->rate * b->cfg.horizon_s;
            int64_t target = want_d > (double)floor_cpm ? (int64_t)want_d : floor_cpm;
            int64_t left = w->granted - w->used;
            int64_t head = a->budget_cpm - committed(a);
            bool in_day;
            int64_t today = day_head(a, &in_day);
            if (left < target / 2 && head > 0 && in_day && today <= 0) a->daily_stops++;
            if (today < head) head = today;
            if (left < target / 2 && head > 0) {
                int live = live_nodes(b, k, now_ms);
                int64_t share = head / (live > 0 ? live : 1);
                int64_t g = target - left < share ? target - left : share;
                if (g > 0) {
                    w->granted += g;
                    a->alloc_cpm += g;
                    w->dirty = true;
                }
            }
        }
        snprintf(grant->rows[grant->n].id, sizeof grant->rows[0].id, "%s", a->id);
        grant->rows[grant->n++].cpm = w->granted;
    }
    return 0;
}

int sup_bank_flush(sup_bank *b, int (*fn)(void *arg, const sup_bank_row *r), void *arg) {
    for (int i = 0; i < b->n_in; i++) {
        incn *x = &b->in[i];
        for (int k = 0; k < x->n; k++) {
            lrow *w = &x->rows[k];
            if (!w->dirty) continue;
            sup_bank_row r = {.node = x->node,
                              .inc = x->inc,
                              .campaign = b->a[w->account].id,
                              .granted_cpm = w->granted,
                              .used_cpm = w->used,
                              .final = x->final,
                              .ts_ms = x->last_ms};
            int rc = fn(arg, &r);
            if (rc) return rc;
        }
    }
    return 0;
}

int sup_bank_flush_days(sup_bank *b,
                        int (*fn)(void *arg, const char *campaign, const beat_daily *d),
                        void *arg) {
    for (int i = 0; i < b->n; i++) {
        if (!b->a[i].day_dirty) continue;
        int rc = fn(arg, b->a[i].id, &b->a[i].day);
        if (rc) return rc;
    }
    return 0;
}

int sup_bank_restore_day(sup_bank *b, const char *campaign, const beat_daily *d) {
    int k = acct_of(b, campaign);
    if (k < 0) return k;
    b->a[k].day = *d;
    b->a[k].day.set = true;
    return 0;
}

int64_t sup_bank_daily_stops(const sup_bank *b) {
    int64_t n = 0;
    for (int i = 0; i < b->n; i++) n += b->a[i].daily_stops;
    return n;
}

void sup_bank_clean(sup_bank *b) {
    for (int i = 0; i < b->n; i++) b->a[i].day_dirty = false;
    for (int i = 0; i < b->n_in; i++)
        for (int k = 0; k < b->in[i].n; k++) b->in[i].rows[k].dirty = false;
}

int sup_bank_acct_get(const sup_bank *b, const char *campaign, int64_t now_ms, sup_bank_acct *out) {
    int pos = locate(b, campaign);
    if (pos < 0) return -ENOENT;
    int k = b->order[pos];
    const account *x = &b->a[k];
    *out = (sup_bank_acct){.budget_cpm = x->budget_cpm,
                           .spend_cpm = x->spend_cpm,
                           .released_cpm = x->released_cpm,
                           .allowed_cpm = x->alloc_cpm,
                           .committed_cpm = committed(x),
                           .live_nodes = live_nodes(b, k, now_ms),
                           .daily_stops = x->daily_stops};
    /* Today as the next grant would see it (rolled on a copy: a status
     * read changes nothing). */
    beat_daily d = x->day;
    beat_day day;
    if (x->in_set && x->day_c.daily_budget_micros > 0 &&
        beat_daily_roll(&x->day_c, &d, beat_engine_of_wall_ms(now_ms),
                        committed(x) - unused_lease(b, k), 1000) >= 0 &&
        beat_daily_day(&x->day_c, d.start_ms, &day) == 0) {
        out->has_day = true;
        out->day_start_ms = day.start_ms;
        out->day_end_ms = day.end_ms;
        out->day_budget_cpm = beat_daily_budget(&x->day_c, &d, 1000);
        out->day_committed_cpm = committed(x) - d.base;
    }
    return 0;
}
