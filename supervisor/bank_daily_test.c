/* The bank's daily limit: a node that bids everything it is allowed (what a
 * swapped actuator ignoring daily budgets amounts to) still commits no more
 * than each day's budget; each roll-over rule opens the next day with its
 * amount; the day's frozen base survives a supervisor restart; status
 * shows the day. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "beat_test.h"

#define JAN1 1767225600000LL /* 2026-01-01T00:00Z */
#define DAY 86400000LL
#define D_MICROS 1000000LL /* daily budget: $1 */
#define D_CPM (D_MICROS * 1000)

typedef struct sim {
    sup_bank *b;
    beat_campaign_set cs;
    int64_t held, used, spend; /* CPM micros: one node, one campaign */
    int64_t now;
} sim;

static int sim_init(sim *s, beat_rollover r) {
    memset(s, 0, sizeof *s);
    s->b = sup_bank_new(&(sup_bank_cfg){.horizon_s = 120, .min_lease_bids = 50});
    s->cs = (beat_campaign_set){.n = 1, .c = calloc(1, sizeof(beat_campaign))};
    CHECK(s->b && s->cs.c);
    beat_campaign *c = &s->cs.c[0];
    snprintf(c->id, sizeof c->id, "c0");
    c->budget_micros = 10 * D_MICROS;
    c->daily_budget_micros = D_MICROS;
    c->rollover = r;
    c->start_ms = JAN1;
    c->end_ms = JAN1 + 3 * DAY;
    c->max_bid_cpm_micros = 5000000;
    CHECK_EQ_INT(sup_bank_set_campaigns(s->b, &s->cs), 0);
    s->now = JAN1;
    return 0;
}

static void sim_fini(sim *s) {
    sup_bank_free(s->b);
    free(s->cs.c);
}

/* One report a minute until until_ms: the node bids what it holds, up to want
 * CPM micros over the run, and every bid settles at its own price (the
 * worst case: clearing = bid). Returns the run's spend; checks at every
 * grant that committed − the day's base stays within the day's budget. */
static int64_t sim_run(sim *s, int64_t until_ms, int64_t want, int *fail) {
    int64_t spend0 = s->spend;
    for (; s->now < until_ms; s->now += 60000) {
        int64_t bid = s->held - s->used;
        if (bid > want - (s->spend - spend0)) bid = want - (s->spend - spend0);
        s->used += bid;
        s->spend += bid;
        sup_bank_set_ledger(s->b, "c0", s->spend, s->spend);
        beat_lease_msg rep = {.tag = 'L', .inc = 1, .n = 1, .rows = calloc(1, sizeof *rep.rows)}, g;
        snprintf(rep.node, sizeof rep.node, "inf-1");
        snprintf(rep.rows[0].id, sizeof rep.rows[0].id, "c0");
        rep.rows[0].cpm = s->used;
        if (sup_bank_report(s->b, &rep, s->now, &g) != 0) *fail = 1;
        else s->held = g.rows[0].cpm;
        beat_lease_fini(&rep);
        beat_lease_fini(&g);
        sup_bank_acct a;
        if (sup_bank_acct_get(s->b, "c0", s->now, &a) != 0 || !a.has_day ||
            a.day_committed_cpm > a.day_budget_cpm || a.committed_cpm > a.budget_cpm)
            *fail = 1;
    }
    return s->spend - spend0;
}

/* Day 1 spends 40% (the market was thin); days 2 and 3 face a node that
 * bids without limit. */
static int check_rule(beat_rollover r, int64_t want2, int64_t want3) {
    sim s;
    int fail = 0;
    CHECK_EQ_INT(sim_init(&s, r), 0);
    CHECK(sim_run(&s, JAN1 + DAY, D_CPM * 4 / 10, &fail) == D_CPM * 4 / 10);
    int64_t d2 = sim_run(&s, JAN1 + 2 * DAY, INT64_MAX / 4, &fail);
    int64_t d3 = sim_run(&s, JAN1 + 3 * DAY, INT64_MAX / 4, &fail);
    CHECK(!fail);
    if (d2 != want2 || d3 != want3)
        fprintf(stderr, "%s: day 2 %lld (want %lld), day 3 %lld (want %lld)\n",
                beat_rollover_name(r), (long long)d2, (long long)want2, (long long)d3,
                (long long)want3);
    CHECK(d2 == want2);
    CHECK(d3 == want3);
    CHECK(sup_bank_daily_stops(s.b) > 0);
    sim_fini(&s);
    return 0;
}

static int t_rules(void) {
    CHECK_EQ_INT(check_rule(BEAT_ROLLOVER_NONE, D_CPM, D_CPM), 0);
    CHECK_EQ_INT(check_rule(BEAT_ROLLOVER_NEXT_DAY, D_CPM * 16 / 10, D_CPM), 0);
    /* 60% over the two days left: 30% each */
    CHECK_EQ_INT(check_rule(BEAT_ROLLOVER_EVEN, D_CPM * 13 / 10, D_CPM * 13 / 10), 0);
    return 0;
}

typedef struct saved {
    sup_bank_row rows[4];
    char nodes[4][BEAT_ID_MAX + 1], camps[4][BEAT_ID_MAX + 1];
    int n;
    beat_daily day;
    int n_days;
} saved;

static int save_row(void *arg, const sup_bank_row *r) {
    saved *sv = arg;
    if (sv->n == 4) return -ENOSPC;
    sv->rows[sv->n] = *r;
    snprintf(sv->nodes[sv->n], sizeof sv->nodes[0], "%s", r->node);
    snprintf(sv->camps[sv->n], sizeof sv->camps[0], "%s", r->campaign);
    sv->rows[sv->n].node = sv->nodes[sv->n];
    sv->rows[sv->n].campaign = sv->camps[sv->n];
    sv->n++;
    return 0;
}

static int save_day(void *arg, const char *campaign, const beat_daily *d) {
    saved *sv = arg;
    if (strcmp(campaign, "c0") != 0) return -EINVAL;
    sv->day = *d;
    sv->n_days++;
    return 0;
}

/* A supervisor restarted mid-day keeps the day's base: the day does not
 * start over at the committed amount of the restart (which would grant a
 * second day's budget). */
static int t_restart_keeps_base(void) {
    sim s;
    int fail = 0;
    CHECK_EQ_INT(sim_init(&s, BEAT_ROLLOVER_NONE), 0);
    CHECK(sim_run(&s, JAN1 + DAY / 2, D_CPM / 2, &fail) == D_CPM / 2);
    CHECK(!fail);
    saved sv = {0};
    CHECK_EQ_INT(sup_bank_flush(s.b, save_row, &sv), 0);
    CHECK_EQ_INT(sup_bank_flush_days(s.b, save_day, &sv), 0);
    CHECK(sv.n_days == 1 && sv.day.set && sv.day.base == 0);
    sup_bank_clean(s.b);
    sup_bank_free(s.b);
    s.b = sup_bank_new(&(sup_bank_cfg){.horizon_s = 120, .min_lease_bids = 50});
    for (int i = 0; i < sv.n; i++) CHECK_EQ_INT(sup_bank_restore(s.b, &sv.rows[i]), 0);
    CHECK_EQ_INT(sup_bank_restore_day(s.b, "c0", &sv.day), 0);
    CHECK_EQ_INT(sup_bank_set_campaigns(s.b, &s.cs), 0);
    /* the rest of day 1, bidding without limit: only the other half */
    CHECK(sim_run(&s, JAN1 + DAY, INT64_MAX / 4, &fail) == D_CPM / 2);
    CHECK(!fail);
    sup_bank_acct a;
    CHECK_EQ_INT(sup_bank_acct_get(s.b, "c0", JAN1 + DAY - 1, &a), 0);
    CHECK(a.has_day && a.day_start_ms == JAN1 && a.day_end_ms == JAN1 + DAY);
    CHECK(a.day_budget_cpm == D_CPM && a.day_committed_cpm == D_CPM);
    sim_fini(&s);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"rules", t_rules},
        {"restart_keeps_base", t_restart_keeps_base},
        {0},
    };
    return beat_test_main("bank_daily", tests, argc, argv);
}
