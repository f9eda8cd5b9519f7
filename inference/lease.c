/* Lease table and lease thread (lease.h). Slots are appended by the sync
 * thread and published with a release store of the count and of their
 * index entry, so the lease thread and the workers read them without locks.
 * The thread reports every slot's used amount and raises granted to what
 * the supervisor answers (never lowers it: the supervisor's allowances only
 * grow, and a stale or reordered reply must not take back a lease). */
#include "lease.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <xxhash.h>

#include <nng/nng.h>

#include "beat_campaign.h"
#include "beat_lease.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_nng.h"
#include "beat_util.h"

#define GRANT_RECVMAX (1 << 20) /* a grant for 10k campaigns is ~300 KB */

struct inf_leases {
    inf_lease_cfg cfg;
    uint64_t inc;
    inf_lease_slot *slots; /* cfg.max_campaigns, 64-byte aligned */
    _Atomic int n;
    inf_lease_slot closed;  /* for campaigns beyond the table: never granted */
    _Atomic int32_t *index; /* slot + 1, 0 = empty; open addressing */
    uint32_t index_mask;
    bool full_logged;
    bool have_sock;
    nng_socket req;
    pthread_t thr;
    bool have_thr;
    atomic_bool stop;
    atomic_bool kick;       /* a new slot: report now, not at the next tick */
    _Atomic int reported_n; /* slots covered by the last answered report */
    _Atomic int64_t last_ok_ms;
    beat_buf out;
    beat_counter *rounds, *failures, *refused;
    beat_gauge *slots_used;
};

uint64_t inf_leases_incarnation(const inf_leases *t) { return t->inc; }
int64_t inf_leases_last_ok_ms(const inf_leases *t) {
    return atomic_load(&((inf_leases *)t)->last_ok_ms);
}
bool inf_leases_ready(const inf_leases *t) {
    inf_leases *m = (inf_leases *)t;
    return !m->have_sock ||
           (atomic_load(&m->last_ok_ms) > 0 && atomic_load(&m->reported_n) == atomic_load(&m->n));
}

static uint32_t h_id(const char *id) { return (uint32_t)XXH3_64bits(id, strlen(id)); }

/* Lock-free lookup: any thread. */
static inf_lease_slot *find(const inf_leases *t, const char *id) {
    for (uint32_t i = h_id(id) & t->index_mask;; i = (i + 1) & t->index_mask) {
        int32_t v = atomic_load_explicit(&t->index[i], memory_order_acquire);
        if (v == 0) return NULL;
        if (strcmp(t->slots[v - 1].id, id) == 0) return &t->slots[v - 1];
    }
}

inf_lease_slot *inf_leases_slot(inf_leases *t, const char *id) {
    inf_lease_slot *s = find(t, id);
    if (s) return s;
    int n = atomic_load_explicit(&t->n, memory_order_relaxed);
    if (n >= t->cfg.max_campaigns) {
        if (!t->full_logged)
            beat_log(BEAT_ERROR, "lease_table_full", "max=%d campaign=%s", t->cfg.max_campaigns,
                     id);
        t->full_logged = true;
        return &t->closed;
    }
    s = &t->slots[n];
    snprintf(s->id, sizeof s->id, "%s", id);
    atomic_store_explicit(&t->n, n + 1, memory_order_release);
    uint32_t i = h_id(id) & t->index_mask;
    while (atomic_load_explicit(&t->index[i], memory_order_relaxed)) i = (i + 1) & t->index_mask;
    atomic_store_explicit(&t->index[i], n + 1, memory_order_release);
    atomic_store(&t->kick, true);
    beat_gauge_set(t->slots_used, (double)(n + 1));
    return s;
}

/* One round trip: the report of every slot, then the grants applied. */
int inf_leases_sync_once(inf_leases *t, bool final) {
    if (!t->have_sock) return -ENOTCONN;
    int n = atomic_load_explicit(&t->n, memory_order_acquire);
    beat_lease_row *rows = n ? malloc((size_t)n * sizeof *rows) : NULL;
    if (n && !rows) return -ENOMEM;
    for (int i = 0; i < n; i++) {
        memcpy(rows[i].id, t->slots[i].id, sizeof rows[i].id);
        rows[i].cpm = atomic_load_explicit(&t->slots[i].used_cpm, memory_order_relaxed);
        if (rows[i].cpm < 0) rows[i].cpm = 0;
    }
    beat_lease_msg m = {.tag = BEAT_FRAME_LEASE_REPORT,
                        .inc = t->inc,
                        .ts_ms = beat_now_ms(),
                        .final = final,
                        .n = n,
                        .rows = rows};
    snprintf(m.node, sizeof m.node, "%s", t->cfg.node);
    beat_buf_reset(&t->out);
    int rc = beat_lease_encode(&m, &t->out);
    free(rows);
    if (rc) return rc;
    void *reply = NULL;
    size_t len = 0;
    beat_counter_inc(t->rounds);
    if ((rc = beat_nng_call(t->req, t->out.data, t->out.len, &reply, &len)) != 0) {
        beat_counter_inc(t->failures);
        beat_log_rl(5000, BEAT_WARN, "lease_link_failed", "url=%s err=%d", t->cfg.url, rc);
        return rc;
    }
    beat_lease_msg g;
    beat_reason why = {{0}};
    rc = beat_lease_decode(reply, len, BEAT_FRAME_LEASE_GRANT, t->cfg.max_campaigns, &g, &why);
    if (rc) {
        beat_counter_inc(t->refused);
        const char *p = reply;
        if (len > 0 && p[0] == BEAT_FRAME_ERROR)
            beat_log_rl(5000, BEAT_WARN, "lease_refused", "reason=\"%.*s\"",
                        (int)(len - 1 > 200 ? 200 : len - 1), p + 1);
        else beat_log_rl(5000, BEAT_WARN, "lease_garbage", "reason=\"%s\"", why.msg);
        free(reply);
        return -EBADMSG;
    }
    free(reply);
    if (g.inc != t->inc) { /* an answer meant for another incarnation */
        beat_lease_fini(&g);
        beat_counter_inc(t->refused);
        return -ESTALE;
    }
    for (int i = 0; i < g.n; i++) {
        inf_lease_slot *s = find(t, g.rows[i].id);
        if (!s) continue; /* not ours (yet): nothing can bid it */
        int64_t old = atomic_load_explicit(&s->granted_cpm, memory_order_relaxed);
        while (g.rows[i].cpm > old &&
               !atomic_compare_exchange_weak_explicit(&s->granted_cpm, &old, g.rows[i].cpm,
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
    }
    beat_lease_fini(&g);
    atomic_store(&t->reported_n, n);
    atomic_store(&t->last_ok_ms, beat_now_ms());
    return 0;
}

static void *run(void *arg) {
    inf_leases *t = arg;
    pthread_setname_np(pthread_self(), "inf-lease");
    while (!atomic_load(&t->stop)) {
        int64_t t0 = beat_now_ms();
        inf_leases_sync_once(t, false);
        int64_t left = t->cfg.every_ms - (beat_now_ms() - t0);
        /* Sleep in short steps so a stop is prompt. */
        while (left > 0 && !atomic_load(&t->stop) && !atomic_exchange(&t->kick, false)) {
            int64_t step = left > 50 ? 50 : left;
            nanosleep(&(struct timespec){.tv_nsec = step * 1000000L}, NULL);
            left -= 50;
        }
    }
    return NULL;
}

inf_leases *inf_leases_start(const inf_lease_cfg *cfg, int *err) {
    *err = 0;
    inf_leases *t = calloc(1, sizeof *t);
    if (!t) {
        *err = -ENOMEM;
        return NULL;
    }
    t->cfg = *cfg;
    if (t->cfg.max_campaigns <= 0) t->cfg.max_campaigns = 2 * BEAT_CAMPAIGNS_MAX;
    if (t->cfg.every_ms <= 0) t->cfg.every_ms = 1000;
    if (t->cfg.timeout_ms <= 0) t->cfg.timeout_ms = 500;
    uint32_t cap = 1;
    while (cap < (uint32_t)t->cfg.max_campaigns * 2) cap <<= 1;
    t->index_mask = cap - 1;
    t->slots = aligned_alloc(64, (size_t)t->cfg.max_campaigns * sizeof *t->slots);
    t->index = calloc(cap, sizeof *t->index);
    if (!t->slots || !t->index || getrandom(&t->inc, sizeof t->inc, 0) != sizeof t->inc) {
        *err = -ENOMEM;
        inf_leases_stop(t);
        return NULL;
    }
    memset(t->slots, 0, (size_t)t->cfg.max_campaigns * sizeof *t->slots);
    beat_buf_init(&t->out, (size_t)64 + (size_t)t->cfg.max_campaigns * (BEAT_ID_MAX + 32));
    t->rounds = beat_counter_new("beat_inference_lease_rounds_total",
                                 "Lease reports sent to the supervisor.");
    t->failures = beat_counter_new("beat_inference_lease_failures_total",
                                   "Lease reports without an answer (link down or slow).");
    t->refused = beat_counter_new("beat_inference_lease_refused_total",
                                  "Lease answers refused or unreadable.");
    t->slots_used = beat_gauge_new("beat_inference_lease_slots", "Campaigns with a lease slot.");
    if (cfg->url && *cfg->url) {
        int rc = beat_nng_req_open(&t->req, cfg->url, t->cfg.timeout_ms, GRANT_RECVMAX);
        if (rc) {
            *err = rc;
            inf_leases_stop(t);
            return NULL;
        }
        t->have_sock = true;
        if (pthread_create(&t->thr, NULL, run, t) != 0) {
            *err = -EAGAIN;
            inf_leases_stop(t);
            return NULL;
        }
        t->have_thr = true;
    }
    return t;
}

void inf_leases_stop(inf_leases *t) {
    if (!t) return;
    atomic_store(&t->stop, true);
    if (t->have_thr) pthread_join(t->thr, NULL);
    /* The final report frees what this incarnation was granted and did not
     * bid: without it the supervisor must hold the rest as spent. */
    if (t->have_thr) {
        /* A link that is still reconnecting (a supervisor just restarted)
         * times out once; two more tries bound the shutdown at three
         * timeouts. An answer, even a refusal, ends it: the supervisor
         * heard us. */
        int rc = -ETIMEDOUT;
        for (int tries = 0; tries < 3 && (rc == -ETIMEDOUT || rc == -ECONNREFUSED); tries++)
            rc = inf_leases_sync_once(t, true);
        if (rc == 0) beat_log(BEAT_INFO, "lease_final_report", "inc=%016" PRIx64, t->inc);
    }
    if (t->have_sock) nng_close(t->req);
    beat_buf_fini(&t->out);
    free(t->slots);
    free(t->index);
    free(t);
}
