/* Budget leases on the bid path: a campaign bids while its price fits what
 * it was granted and never past it — also with workers racing for the last
 * of a lease — test traffic needs no lease, an exhausted campaign leaves
 * the imp to the next one, and grants only ever raise a lease. */
#include <pthread.h>
#include <stdatomic.h>

#include "bidder_testlib.h"
#include "lease.h"

static inf_leases *table(void) {
    int err = 0;
    inf_lease_cfg cfg = {.node = "inf-test", .max_campaigns = 64};
    return inf_leases_start(&cfg, &err); /* no url: no thread, no link */
}

static void grant(inf_lease_slot *s, int64_t cpm) { atomic_store(&s->granted_cpm, cpm); }

typedef struct racer {
    inf_lease_slot *s;
    int64_t taken;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    while (inf_lease_take(r->s, 7)) r->taken += 7;
    return NULL;
}

static int t_take_never_exceeds(void) {
    inf_leases *t = table();
    CHECK(t);
    inf_lease_slot *s = inf_leases_slot(t, "c1");
    CHECK(s && s == inf_leases_slot(t, "c1")); /* stable */
    CHECK(!inf_lease_take(s, 1));              /* nothing granted yet */
    grant(s, 100003);
    racer r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){.s = s};
        CHECK(pthread_create(&th[i], NULL, race, &r[i]) == 0);
    }
    int64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        sum += r[i].taken;
    }
    CHECK(sum <= 100003 && sum > 100003 - 4 * 7);
    CHECK_EQ_INT(atomic_load(&s->used_cpm), sum);
    inf_leases_stop(t);
    return 0;
}

static int t_bidder_respects_leases(void) {
    inf_leases *t = table();
    inf_bidder *b = make_bidder();
    inf_world *w = make_world(NULL, 0, T0);
    CHECK(t && b && w);
    for (int i = 0; i < w->n; i++) w->camps[i].lease = inf_leases_slot(t, w->camps[i].c->id);
    inf_result res;
    static char req[16384]; /* req_json's buffer is reused by the next call */
    snprintf(req, sizeof req, "%s", req_json(BANNER, "0.03", "news.example", "u1", NULL));
    /* nothing granted: nobody bids, and the reason says why */
    CHECK_EQ_INT(run(b, w, req, T0 + 1000, &res), 0);
    CHECK(res.n == 0 && res.reason == INF_NB_LEASE);
    /* test traffic spends nothing, so it needs no lease */
    const char *test_req = req_json(BANNER, "0.03", "news.example", "u1", ",\"test\":1");
    CHECK_EQ_INT(run(b, w, test_req, T0 + 1000, &res), 0);
    CHECK(res.n == 1);
    int boosted = -1;
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->camps[i].c->id, BOOSTED) == 0) boosted = i;
    CHECK(boosted >= 0 && atomic_load(&w->camps[boosted].lease->used_cpm) == 0);
    /* the boosted campaign's price on this request, its lease unbounded */
    inf_camp *cb = &w->camps[boosted];
    for (int i = 0; i < w->n; i++) grant(w->camps[i].lease, 1000 * cb->max_bid_cpm_micros);
    CHECK_EQ_INT(run(b, w, req, T0 + 1000, &res), 0);
    CHECK(res.n == 1 && res.bids[0].camp == boosted);
    int64_t price = res.bids[0].price_cpm_micros;
    CHECK(price > 0 && price < cb->max_bid_cpm_micros); /* else the next check says nothing */
    /* it holds three of its prices, less than a max bid: it wins exactly
     * while its price fits, then the imp goes to another campaign */
    atomic_store(&cb->lease->used_cpm, 0);
    grant(cb->lease, 3 * price);
    int won = 0;
    for (int k = 0; k < 10; k++) {
        CHECK_EQ_INT(run(b, w, req, T0 + 1000, &res), 0);
        CHECK(res.n == 1);
        if (res.bids[0].camp == boosted) won++;
        int64_t used = atomic_load(&cb->lease->used_cpm);
        CHECK(used <= atomic_load(&cb->lease->granted_cpm));
    }
    CHECK_EQ_INT(won, 3);
    CHECK(atomic_load(&cb->lease->granted_cpm) == atomic_load(&cb->lease->used_cpm));
    inf_world_free(w);
    inf_bidder_free(b);
    inf_req_fini(&R);
    inf_leases_stop(t);
    return 0;
}

/* Beyond the table's size a campaign gets a slot that is never granted:
 * it does not bid, rather than bid unbounded. */
static int t_full_table_closes(void) {
    int err = 0;
    inf_lease_cfg cfg = {.node = "inf-test", .max_campaigns = 2};
    inf_leases *t = inf_leases_start(&cfg, &err);
    CHECK(t);
    inf_lease_slot *a = inf_leases_slot(t, "a"), *b2 = inf_leases_slot(t, "b");
    inf_lease_slot *c = inf_leases_slot(t, "c");
    CHECK(a && b2 && c && c != a && c != b2);
    CHECK(!inf_lease_open(c, 1) && !inf_lease_take(c, 1));
    inf_leases_stop(t);
    return 0;
}

static const beat_test_case cases[] = {
    {"take_never_exceeds", t_take_never_exceeds},
    {"bidder_respects_leases", t_bidder_respects_leases},
    {"full_table_closes", t_full_table_closes},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("lease", cases, argc, argv); }
