/* The exchange's load balancer in front of the inference nodes: round-robin
 * over nodes in rotation, ejection of a failing node with exponential
 * back-off, half-open probing when the ejection ends, and a per-try timeout
 * (Envoy's per_try_timeout with hedging): a try unanswered after
 * --per-try-timeout-ms gets one more try on another node within the same
 * tmax, and the first answer wins (the other try is abandoned). A hung node
 * is ejected after EXS_EJECT_SLOW such timeouts in a row, a refusing one at
 * once; the last node in rotation is never ejected. Never waits: a request
 * no node can take is refused (-EBUSY) and the caller counts it. */
#include <errno.h>
#include <stdlib.h>

#include "beat_log.h"
#include "exsim.h"

#define EJECT_US 1000000       /* first ejection of a failing node; doubles to 8× */
#define RETRY_MIN_LEFT_US 5000 /* no retry with less than this left of tmax */

static void on_answer(void *arg, int status, const char *body, size_t len, int64_t lat_us);
static void on_per_try(evutil_socket_t fd, short ev, void *arg);

static bool ejected(const exs_sim *sim, int t, int64_t now) {
    return sim->down_until_us[t] > now || sim->probing[t];
}

static void node_failed(exs_sim *sim, int t, int64_t now) {
    int *streak = &sim->fail_streak[t];
    /* Like Envoy's max_ejection_percent: never eject the last node in
     * rotation (a slow node beats none; it stops flapping under load). */
    int live = 0;
    for (int k = 0; k < sim->n_targets; k++) live += k != t && !ejected(sim, k, now);
    if (live == 0) return;
    if (sim->down_until_us[t] <= now) sim->stats.ejections++;
    sim->down_until_us[t] = now + ((int64_t)EJECT_US << *streak);
    if (*streak < 3) (*streak)++;
    sim->slow_streak[t] = 0;
    beat_log_rl(5000, BEAT_WARN, "node_ejected", "node=%d streak=%d", t, *streak);
}

/* Starts try number ctx->tries on a node other than `skip` (-1: none):
 * nodes in rotation first, then ejected ones when allow_ejected (all down
 * beats none tried). */
static int try_send(exs_sim *sim, exs_bid_ctx *ctx, int skip, bool allow_ejected) {
    if (ctx->tries >= 2) return -EBUSY;
    exs_try *tr = &ctx->t[ctx->tries];
    int rc = -EBUSY;
    int64_t now = beat_mono_us();
    const char *ver = ctx->req.ver == 26 ? "2.6" : "2.5";
    for (int pass = 0; pass < (allow_ejected ? 2 : 1) && rc == -EBUSY; pass++)
        for (int k = 0; k < sim->n_targets && rc == -EBUSY; k++) {
            int t = (int)((ctx->req.seq + (uint64_t)k) % (uint64_t)sim->n_targets);
            if (t == skip || ejected(sim, t, now) != (pass == 1)) continue;
            bool probe = sim->fail_streak[t] > 0;
            tr->ctx = ctx;
            rc = exs_pool_request(sim->targets[t], true, sim->paths[t], ctx->body, ctx->len, ver,
                                  on_answer, tr, &tr->call);
            if (rc == 0) {
                tr->target = t;
                if (probe) sim->probing[t] = true;
            }
        }
    if (rc != 0) return rc;
    ctx->tries++;
    /* Arm the per-try timer on the first try when a second could happen. */
    if (sim->per_try_ms > 0 && ctx->tries == 1 && sim->n_targets > 1) {
        if (!ctx->per_try) ctx->per_try = evtimer_new(sim->base, on_per_try, ctx);
        if (ctx->per_try) {
            struct timeval tv = {sim->per_try_ms / 1000, (sim->per_try_ms % 1000) * 1000};
            evtimer_add(ctx->per_try, &tv);
        }
    }
    return 0;
}

int exs_lb_send(exs_sim *sim, exs_bid_ctx *ctx) {
    ctx->tries = 0;
    ctx->t[0].call = ctx->t[1].call = NULL;
    ctx->t[0].target = ctx->t[1].target = -1;
    return try_send(sim, ctx, -1, true);
}

static bool time_left(const exs_sim *sim, const exs_bid_ctx *ctx, int64_t now) {
    return now - ctx->t0_us < (int64_t)sim->tmax_ms * 1000 - RETRY_MIN_LEFT_US;
}

static void on_per_try(evutil_socket_t fd, short ev, void *arg) {
    (void)fd, (void)ev;
    exs_bid_ctx *ctx = arg;
    exs_sim *sim = ctx->sim;
    int64_t now = beat_mono_us();
    exs_try *first = &ctx->t[0];
    if (!first->call || ctx->tries != 1) return;
    sim->stats.per_try_timeouts++;
    int t = first->target;
    bool probe = sim->probing[t];
    sim->probing[t] = false;
    /* A hung node times out every try: eject it after EXS_EJECT_SLOW in a
     * row (its few tries meanwhile are hedged elsewhere), or at once when
     * this was the probe after an ejection. */
    if (probe || ++sim->slow_streak[t] >= EXS_EJECT_SLOW) node_failed(sim, t, now);
    /* Hedge: the first try keeps running; the first answer wins. */
    if (time_left(sim, ctx, now) && try_send(sim, ctx, t, true) == 0) sim->stats.retries++;
}

static void finish(exs_bid_ctx *ctx, int status, const char *body, size_t len) {
    for (int i = 0; i < ctx->tries; i++)
        if (ctx->t[i].call) { /* the slower try: abandoned */
            ctx->sim->probing[ctx->t[i].target] = false;
            exs_call_cancel(ctx->t[i].call);
            ctx->t[i].call = NULL;
        }
    if (ctx->per_try) {
        event_free(ctx->per_try);
        ctx->per_try = NULL;
    }
    exs_auction_answer(ctx, status, body, len);
}

static void on_answer(void *arg, int status, const char *body, size_t len, int64_t lat_us) {
    (void)lat_us;
    exs_try *tr = arg;
    exs_bid_ctx *ctx = tr->ctx;
    exs_sim *sim = ctx->sim;
    int64_t now = beat_mono_us();
    int t = tr->target;
    tr->call = NULL;
    sim->probing[t] = false;
    if (status != -ECANCELED) {
        if (status < 0) node_failed(sim, t, now); /* transport error or http timeout */
        else sim->fail_streak[t] = sim->slow_streak[t] = 0;
    }
    bool other_running = false;
    for (int i = 0; i < ctx->tries; i++) other_running |= ctx->t[i].call != NULL;
    if (status < 0 && status != -ECANCELED) {
        if (other_running) return; /* the other try may still answer */
        /* A connection failure is retried once on another node while the
         * deadline allows (nginx's proxy_next_upstream). */
        if (status != -ETIMEDOUT && time_left(sim, ctx, now) && try_send(sim, ctx, t, true) == 0) {
            sim->stats.retries++;
            return;
        }
    }
    finish(ctx, status, body, len);
}
