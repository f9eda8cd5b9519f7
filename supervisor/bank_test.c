/* The banker's arithmetic: the budget bound holds under random reports and
 * ledger updates, goodbyes free what was not bid, restore gives back the
 * same accounts, and nothing is granted to a paused, finished or held
 * campaign. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "beat_test.h"

#define T0 1700000000000LL

static beat_campaign_set set_of(int n, int64_t budget_micros) {
    beat_campaign_set cs = {.n = n, .c = calloc((size_t)n, sizeof(beat_campaign))};
    for (int i = 0; i < n; i++) {
        snprintf(cs.c[i].id, sizeof cs.c[i].id, "c%d", i);
        cs.c[i].budget_micros = budget_micros;
        cs.c[i].start_ms = T0 - 1000;
        cs.c[i].end_ms = T0 + 3600000;
        cs.c[i].max_bid_cpm_micros = 5000000; /* $5 CPM */
    }
    return cs;
}

static beat_lease_msg report(const char *node, uint64_t inc, int n, const int64_t *used) {
    beat_lease_msg m = {
        .tag = 'L', .inc = inc, .n = n, .rows = calloc((size_t)n, sizeof(beat_lease_row))};
    snprintf(m.node, sizeof m.node, "%s", node);
    for (int i = 0; i < n; i++) {
        snprintf(m.rows[i].id, sizeof m.rows[i].id, "c%d", i);
        m.rows[i].cpm = used[i];
    }
    return m;
}

static int64_t granted_of(const beat_lease_msg *g, int i) { return g->rows[i].cpm; }

/* Random nodes bid random shares of what they hold; the ledger settles a
 * random part of what was bid at a clearing price ≤ the bid. After every
 * step, per campaign: committed ≤ budget, and what the nodes could have
 * been charged (spend counted + every unsettled bid at its price) ≤
 * committed. */
static int t_bound_under_random_load(void) {
    enum { C = 3, N = 4, STEPS = 3000 };
    sup_bank *b = sup_bank_new(&(sup_bank_cfg){.horizon_s = 120, .min_lease_bids = 50});
    beat_campaign_set cs = set_of(C, 2000000); /* $2 each: 2e9 CPM micros */
    CHECK(b && sup_bank_set_campaigns(b, &cs) == 0);
    int64_t held[N][C] = {{0}}, used[N][C] = {{0}};
    int64_t bid_total[C] = {0}, spend[C] = {0}, released[C] = {0};
    uint64_t rng = 42;
    int64_t now = T0;
    int64_t granted_any = 0;
    for (int step = 0; step < STEPS; step++) {
        now += 100;
        int n = (int)(rng % N);
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        for (int c = 0; c < C; c++) {
            /* bid some of what is held */
            int64_t left = held[n][c] - used[n][c];
            int64_t bid = left > 0 ? (int64_t)((rng >> 33) % (uint64_t)(left + 1)) : 0;
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            used[n][c] += bid;
            bid_total[c] += bid;
            /* the pipeline settles part of the unsettled bids */
            int64_t unsettled = bid_total[c] - released[c];
            int64_t settle = unsettled / (int64_t)(1 + (rng >> 60));
            released[c] += settle;
            spend[c] += settle / 3; /* clearing below the bid */
            CHECK_EQ_INT(sup_bank_set_ledger(b, cs.c[c].id, spend[c], released[c]), 0);
        }
        char node[16];
        snprintf(node, sizeof node, "inf-%d", n);
        beat_lease_msg rep = report(node, (uint64_t)n + 1, C, used[n]), g;
        CHECK_EQ_INT(sup_bank_report(b, &rep, now, &g), 0);
        for (int c = 0; c < C; c++) {
            CHECK(granted_of(&g, c) >= held[n][c]); /* never taken back */
            granted_any += granted_of(&g, c) - held[n][c];
            held[n][c] = granted_of(&g, c);
            sup_bank_acct a;
            CHECK_EQ_INT(sup_bank_acct_get(b, cs.c[c].id, now, &a), 0);
            CHECK(a.committed_cpm <= a.budget_cpm);
            int64_t worst = spend[c] + bid_total[c] - released[c];
            CHECK(worst <= a.committed_cpm);
        }
        beat_lease_fini(&rep);
        beat_lease_fini(&g);
    }
    CHECK(granted_any > 0);
    /* budgets are used: settled bids free headroom for more grants */
    sup_bank_acct a;
    CHECK_EQ_INT(sup_bank_acct_get(b, "c0", now, &a), 0);
    CHECK(a.allowed_cpm > a.budget_cpm);
    beat_campaigns_fini(&cs);
    sup_bank_free(b);
    return 0;
}

static int collect(void *arg, const sup_bank_row *r) {
    sup_bank *to = arg;
    return sup_bank_restore(to, r);
}

static int t_goodbye_and_restore(void) {
    sup_bank *b = sup_bank_new(&(sup_bank_cfg){0});
    beat_campaign_set cs = set_of(1, 1000000);
    CHECK(sup_bank_set_campaigns(b, &cs) == 0);
    int64_t used = 0;
    beat_lease_msg rep = report("inf-1", 7, 1, &used), g;
    CHECK_EQ_INT(sup_bank_report(b, &rep, T0, &g), 0);
    int64_t first = granted_of(&g, 0);
    CHECK_EQ_INT(first, 50 * 5000000LL); /* the floor: 50 bids at the max bid */
    beat_lease_fini(&g);
    /* a second node shares the rest */
    beat_lease_msg rep2 = report("inf-2", 9, 1, &used);
    CHECK_EQ_INT(sup_bank_report(b, &rep2, T0 + 10, &g), 0);
    beat_lease_fini(&g);
    sup_bank_acct a;
    CHECK_EQ_INT(sup_bank_acct_get(b, "c0", T0 + 10, &a), 0);
    CHECK_EQ_INT(a.allowed_cpm, 2 * first);
    CHECK_EQ_INT(a.live_nodes, 2);
    /* inf-1 bids 1/5 of its lease, then says goodbye: the rest is free */
    rep.rows[0].cpm = first / 5;
    rep.final = true;
    CHECK_EQ_INT(sup_bank_report(b, &rep, T0 + 20, &g), 0);
    beat_lease_fini(&g);
    CHECK_EQ_INT(sup_bank_acct_get(b, "c0", T0 + 20, &a), 0);
    CHECK_EQ_INT(a.allowed_cpm, first + first / 5);
    /* after goodbye, a report of that incarnation is refused */
    rep.final = false;
    CHECK_EQ_INT(sup_bank_report(b, &rep, T0 + 30, &g), -EINVAL);
    /* the stored rows rebuild the same accounts */
    sup_bank *b2 = sup_bank_new(&(sup_bank_cfg){0});
    CHECK_EQ_INT(sup_bank_flush(b, collect, b2), 0);
    sup_bank_clean(b);
    CHECK(sup_bank_set_campaigns(b2, &cs) == 0);
    sup_bank_acct a2;
    CHECK_EQ_INT(sup_bank_acct_get(b2, "c0", T0 + 20, &a2), 0);
    CHECK_EQ_INT(a2.allowed_cpm, a.allowed_cpm);
    /* nothing left dirty: a second flush writes nothing */
    CHECK_EQ_INT(sup_bank_flush(b, collect, NULL), 0);
    beat_lease_fini(&rep);
    beat_lease_fini(&rep2);
    beat_campaigns_fini(&cs);
    sup_bank_free(b);
    sup_bank_free(b2);
    return 0;
}

static int t_no_grant_when_ineligible(void) {
    sup_bank *b = sup_bank_new(&(sup_bank_cfg){0});
    beat_campaign_set cs = set_of(3, 1000000);
    cs.c[0].paused = true;
    cs.c[1].end_ms = T0 - 1; /* finished */
    CHECK(sup_bank_set_campaigns(b, &cs) == 0);
    int64_t used[3] = {0};
    beat_lease_msg rep = report("inf-1", 1, 3, used), g;
    CHECK_EQ_INT(sup_bank_report(b, &rep, T0, &g), 0);
    CHECK(granted_of(&g, 0) == 0 && granted_of(&g, 1) == 0 && granted_of(&g, 2) > 0);
    beat_lease_fini(&g);
    /* held (store full, ledger unknown): a new node gets nothing */
    sup_bank_hold(b, true);
    beat_lease_msg rep2 = report("inf-2", 2, 3, used);
    CHECK_EQ_INT(sup_bank_report(b, &rep2, T0 + 5, &g), 0);
    CHECK(granted_of(&g, 2) == 0);
    beat_lease_fini(&g);
    /* an unknown campaign is answered with nothing */
    snprintf(rep2.rows[0].id, sizeof rep2.rows[0].id, "nope");
    sup_bank_hold(b, false);
    CHECK_EQ_INT(sup_bank_report(b, &rep2, T0 + 6, &g), 0);
    CHECK(granted_of(&g, 0) == 0);
    beat_lease_fini(&g);
    /* a node that bid past its allowance: committed takes it all */
    used[2] = 900000000000LL; /* $900, far past any grant */
    beat_lease_msg rep3 = report("inf-3", 3, 3, used);
    CHECK_EQ_INT(sup_bank_report(b, &rep3, T0 + 7, &g), 0);
    CHECK(granted_of(&g, 2) >= used[2]);
    sup_bank_acct a;
    CHECK_EQ_INT(sup_bank_acct_get(b, "c2", T0 + 7, &a), 0);
    CHECK(a.committed_cpm >= used[2]);
    beat_lease_fini(&g);
    beat_lease_fini(&rep);
    beat_lease_fini(&rep2);
    beat_lease_fini(&rep3);
    beat_campaigns_fini(&cs);
    sup_bank_free(b);
    return 0;
}

static const beat_test_case cases[] = {
    {"bound_under_random_load", t_bound_under_random_load},
    {"goodbye_and_restore", t_goodbye_and_restore},
    {"no_grant_when_ineligible", t_no_grant_when_ineligible},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("bank", cases, argc, argv); }
