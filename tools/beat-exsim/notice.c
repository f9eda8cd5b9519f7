/* Notices as an exchange sends them: now (nurl, lurl) or later (burl when
 * the ad renders, clicks seconds after, repeated calls as real exchanges
 * retry). A bounded min-heap keyed by due time, drained from the schedule
 * tick; full → dropped and counted. What is counted as spend and clicks is
 * what was actually sent (and bills due but dropped, below), so the summary
 * equals the raw --events log (one line per first win, bill and click
 * notice charged; repeats are not logged).
 * Test traffic's notices are sent all the same, but like a real exchange we
 * never charge for them: they are counted as test notices and nothing else.
 * A failed call (no connection, a timeout or a 5xx; never a 4xx) is called
 * again up to --notice-retries times through the same heap, backing off
 * from --notice-retry-ms, doubling; it is charged once, at its first call.
 * Off by default, as at many exchanges: one call, answered or lost.
 * A real bill the exchange could not even send (its own queue full) is
 * charged all the same, like one sent and never answered.
 * Replays (the same URL called again minutes later) and forgeries (a URL
 * re-typed to another notice path) are never charged and are counted on
 * their own (exsim.h, exs_stats), so a test can tell what they did. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "beat_log.h"
#include "exsim.h"

typedef struct dnotice {
    int64_t due_us;
    int kind;
    int how; /* enum exs_call_how */
    bool test;
    int attempt; /* 0: the first call; n: the n-th retry */
    int64_t price;
    char *url, *camp, *auction;        /* owned */
    int64_t conv_delay_ms, conv_value; /* a click whose user converts: delay > 0 */
} dnotice;

struct exs_delayq {
    dnotice *h;
    int64_t n, max;
};

/* One call in flight: what a retry needs. */
typedef struct notice_call {
    exs_sim *sim;
    int kind, how, attempt;
    char *url; /* owned */
    bool test;
    /* a converting click: when, its value, and for whom (owned) */
    int64_t conv_delay_ms, conv_value;
    char *camp, *auction;
} notice_call;

static const char *const KIND[EXS_N_KINDS] = {"win", "bill", "loss", "click", "conv"};

exs_delayq *exs_delayq_new(int64_t max) {
    exs_delayq *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->max = max;
    q->h = calloc((size_t)(max > 0 ? max : 1), sizeof *q->h);
    if (!q->h) {
        free(q);
        return NULL;
    }
    return q;
}

static void dn_free(dnotice *d) {
    free(d->url);
    free(d->camp);
    free(d->auction);
}

void exs_delayq_free(exs_delayq *q) {
    if (!q) return;
    for (int64_t i = 0; i < q->n; i++) dn_free(&q->h[i]);
    free(q->h);
    free(q);
}

static void sift_up(exs_delayq *q, int64_t i) {
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (q->h[p].due_us <= q->h[i].due_us) break;
        dnotice t = q->h[p];
        q->h[p] = q->h[i];
        q->h[i] = t;
        i = p;
    }
}

static void sift_down(exs_delayq *q, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && q->h[l].due_us < q->h[m].due_us) m = l;
        if (r < q->n && q->h[r].due_us < q->h[m].due_us) m = r;
        if (m == i) return;
        dnotice t = q->h[m];
        q->h[m] = q->h[i];
        q->h[i] = t;
        i = m;
    }
}

static void call_free(notice_call *c) {
    free(c->url);
    free(c->camp);
    free(c->auction);
    free(c);
}

static int push(exs_delayq *q, dnotice d) {
    if (q->n >= q->max) return -ENOSPC;
    q->h[q->n] = d;
    sift_up(q, q->n++);
    return 0;
}

/* Queues the next attempt of a failed call; 0, or negative (not queued). */
static int retry_later(notice_call *c) {
    int shift = c->attempt < 16 ? c->attempt : 16;
    int64_t wait_us = ((int64_t)c->sim->notice_retry_ms << shift) * 1000;
    dnotice d = {beat_mono_us() + wait_us,
                 c->kind,
                 c->how,
                 c->test,
                 c->attempt + 1,
                 0,
                 c->url,
                 strdup(c->camp ? c->camp : ""),
                 strdup(c->auction ? c->auction : ""),
                 c->conv_delay_ms,
                 c->conv_value};
    if (!d.camp || !d.auction) {
        free(d.camp);
        free(d.auction);
        return -ENOMEM;
    }
    if (push(c->sim->delayq, d) != 0) {
        free(d.camp);
        free(d.auction);
        c->sim->stats.delayed_dropped++;
        return -ENOSPC;
    }
    c->url = NULL; /* the queue owns it now */
    return 0;
}

int exs_conv_url(const char *click_url, const char *location, int64_t value_micros, char *out,
                 size_t cap) {
    const char *p = location ? strstr(location, "beat_cv=") : NULL;
    while (p && p != location && p[-1] != '?' && p[-1] != '&') p = strstr(p + 1, "beat_cv=");
    const char *scheme = strstr(click_url, "://");
    if (!p || !scheme) return -EINVAL;
    p += 8;
    size_t tl = strcspn(p, "&#");
    const char *path = strchr(scheme + 3, '/');
    size_t ol = path ? (size_t)(path - click_url) : strlen(click_url);
    if (!tl) return -EINVAL;
    int n = snprintf(out, cap, "%.*s/conv?cv=%.*s&val=%" PRId64 ".%06" PRId64, (int)ol, click_url,
                     (int)tl, p, value_micros / 1000000, value_micros % 1000000);
    return n > 0 && (size_t)n < cap ? 0 : -EMSGSIZE;
}

/* The user of a converting click reached the landing page: its server
 * reports the conversion later with the token the redirect handed over. */
static void convert(notice_call *c) {
    char url[EXS_URL_MAX];
    if (exs_conv_url(c->url, exs_answer_header("Location"), c->conv_value, url, sizeof url) < 0) {
        c->sim->stats.conv_no_token++;
        return;
    }
    exs_notice(c->sim, EXS_N_CONV, url, c->conv_delay_ms, c->camp, c->auction, c->conv_value,
               EXS_FIRST, c->test);
}

static void on_notice(void *arg, int status, const char *body, size_t len, int64_t lat_us) {
    (void)body, (void)len, (void)lat_us;
    notice_call *c = arg;
    exs_stats *s = &c->sim->stats;
    bool ok =
        c->kind == EXS_N_CLICK ? (status >= 300 && status < 400) : (status >= 200 && status < 300);
    /* A converting click that never redirected reached no landing page. */
    if (c->kind == EXS_N_CLICK && c->conv_delay_ms > 0 && !ok && status != -ECANCELED &&
        !(status < 0 || status >= 500))
        c->sim->stats.conv_no_token++;
    /* No answer, a timeout or a server error may pass; a 4xx will not. */
    bool retriable = status != -ECANCELED && (status < 0 || status >= 500);
    if (c->how == EXS_FORGED) { /* called once: what did the receiver say? */
        if (status == 403) {
            s->forged_refused++;
        } else if (status >= 200 && status < 300) {
            s->forged_accepted++;
            beat_log_rl(5000, BEAT_WARN, "forgery_accepted", "status=%d url=\"%.200s\"", status,
                        c->url);
        } else {
            s->forged_failed++;
        }
        call_free(c);
        return;
    }
    if (c->how == EXS_REPLAY) {
        if (ok) s->replay_ok++;
        else if (!(retriable && c->attempt < c->sim->notice_retries && retry_later(c) == 0))
            s->replay_failed++;
        call_free(c);
        return;
    }
    if (status == -ECANCELED) {
        if (c->attempt) s->notice_failed[c->kind]++; /* it was answered badly before */
        else s->notice_dropped[c->kind]++;
    } else if (ok) {
        s->notice_ok[c->kind]++;
        if (c->kind == EXS_N_CLICK && c->conv_delay_ms > 0) convert(c);
    } else if (!(retriable && c->attempt < c->sim->notice_retries && retry_later(c) == 0)) {
        s->notice_failed[c->kind]++;
        beat_log_rl(5000, BEAT_WARN, "notice_failed", "kind=%s status=%d attempt=%d", KIND[c->kind],
                    status, c->attempt);
    }
    call_free(c);
}

/* Counts what a real auction's first call stands for: a bill's price as
 * spend, a click; logs it to --events (wins are counted by the auction). */
static void charge(exs_sim *sim, int kind, const char *camp, const char *auction, int64_t price) {
    exs_stats *s = &sim->stats;
    exs_campaign_stats *c = exs_stats_campaign(s, camp && *camp ? camp : "?");
    if (kind == EXS_N_BILL) {
        s->spend_cpm_micros += price;
        if (c) c->spend_cpm_micros += price;
    } else if (kind == EXS_N_CLICK) {
        s->clicks++;
        if (c) c->clicks++;
    } else if (kind == EXS_N_CONV) { /* price: the conversion's value */
        s->convs++;
        s->conv_value_micros += price;
        if (c) {
            c->convs++;
            c->conv_value_micros += price;
        }
    } else if (kind != EXS_N_WIN) {
        return;
    }
    if (sim->events) {
        fprintf(sim->events,
                "{\"ev\":\"%s\",\"auction\":\"%s\",\"campaign\":\"%s\","
                "\"price_cpm_micros\":%" PRId64 ",\"ts\":%" PRId64 "}\n",
                KIND[kind], auction ? auction : "", camp ? camp : "", price, beat_now_ms());
    }
}

/* A real auction's bill that the exchange could not even send (its own
 * queue full, no memory) is charged all the same: the exchange bills from
 * its own records, whoever hears of it. */
static void charge_unsent(exs_sim *sim, int kind, const char *camp, const char *auction,
                          int64_t price, int how, bool test) {
    if (kind == EXS_N_BILL && how == EXS_FIRST && !test) charge(sim, kind, camp, auction, price);
}

/* Sends one notice GET now; counts what it stands for once it is first sent
 * (a retry only counts as a retry). */
static void send_now(exs_sim *sim, int kind, const char *url, const char *camp, const char *auction,
                     int64_t price, int how, bool test, int attempt, int64_t conv_delay_ms,
                     int64_t conv_value) {
    exs_stats *s = &sim->stats;
    notice_call *call = calloc(1, sizeof *call);
    if (call) {
        *call = (notice_call){sim,  kind,          how,        attempt, strdup(url),
                              test, conv_delay_ms, conv_value, NULL,    NULL};
        if (conv_delay_ms > 0) {
            call->camp = strdup(camp ? camp : "");
            call->auction = strdup(auction ? auction : "");
        }
    }
    int rc = !call || !call->url ? -ENOMEM : exs_notifier_get(sim->notifier, url, on_notice, call);
    if (how == EXS_FORGED || how == EXS_REPLAY) { /* never charged, counted apart */
        if (rc != 0) {
            if (call) call_free(call);
            if (how == EXS_FORGED) s->forged_failed++;
            else s->replay_failed++;
        }
        if (attempt == 0) {
            if (how == EXS_FORGED) s->forged_sent++;
            else s->replay_sent++;
        } else if (rc == 0) {
            s->notice_retried[kind]++;
        }
        return;
    }
    bool dup = how == EXS_REPEAT;
    if (rc != 0) {
        if (call) call_free(call);
        if (attempt) s->notice_failed[kind]++; /* sent before, never answered well */
        else s->notice_dropped[kind]++;
        if (!attempt) charge_unsent(sim, kind, camp, auction, price, how, test);
        beat_log_rl(5000, BEAT_WARN, "notice_dropped", "kind=%s err=%d attempt=%d", KIND[kind], rc,
                    attempt);
        return;
    }
    if (attempt) {
        s->notice_retried[kind]++;
        return;
    }
    s->notice_sent[kind]++;
    if (test) {
        s->test_notices[kind]++;
        if (dup) s->notice_dupes++;
        return;
    }
    if (dup) {
        s->notice_dupes++;
        return;
    }
    charge(sim, kind, camp, auction, price);
}

static int queue_notice(exs_sim *sim, int kind, const char *url, int64_t delay_ms, const char *camp,
                        const char *auction, int64_t price, int how, bool test,
                        int64_t conv_delay_ms, int64_t conv_value);

int exs_notice(exs_sim *sim, int kind, const char *url, int64_t delay_ms, const char *camp,
               const char *auction, int64_t price, int how, bool test) {
    return queue_notice(sim, kind, url, delay_ms, camp, auction, price, how, test, 0, 0);
}

int exs_notice_click(exs_sim *sim, const char *url, int64_t delay_ms, const char *camp,
                     const char *auction, int64_t price, bool test, int64_t conv_delay_ms,
                     int64_t value_micros) {
    if (conv_delay_ms > 0) sim->stats.conv_decided++;
    return queue_notice(sim, EXS_N_CLICK, url, delay_ms, camp, auction, price, EXS_FIRST, test,
                        conv_delay_ms, value_micros);
}

static int queue_notice(exs_sim *sim, int kind, const char *url, int64_t delay_ms, const char *camp,
                        const char *auction, int64_t price, int how, bool test,
                        int64_t conv_delay_ms, int64_t conv_value) {
    if (delay_ms <= 0) {
        send_now(sim, kind, url, camp, auction, price, how, test, 0, conv_delay_ms, conv_value);
        return 0;
    }
    exs_delayq *q = sim->delayq;
    if (q->n >= q->max) {
        sim->stats.delayed_dropped++;
        if (how == EXS_REPLAY) sim->stats.replay_failed++;
        else if (how == EXS_FORGED) sim->stats.forged_failed++;
        else sim->stats.notice_dropped[kind]++;
        charge_unsent(sim, kind, camp, auction, price, how, test);
        beat_log_rl(5000, BEAT_WARN, "delayed_notice_dropped", "kind=%s queued=%" PRId64,
                    KIND[kind], q->n);
        return -ENOSPC;
    }
    dnotice d = {beat_mono_us() + delay_ms * 1000,
                 kind,
                 how,
                 test,
                 0,
                 price,
                 strdup(url),
                 strdup(camp ? camp : ""),
                 strdup(auction ? auction : ""),
                 conv_delay_ms,
                 conv_value};
    if (!d.url || !d.camp || !d.auction) {
        dn_free(&d);
        if (how == EXS_REPLAY) sim->stats.replay_failed++;
        else if (how == EXS_FORGED) sim->stats.forged_failed++;
        else sim->stats.notice_dropped[kind]++;
        charge_unsent(sim, kind, camp, auction, price, how, test);
        return -ENOMEM;
    }
    return push(q, d);
}

int64_t exs_delayq_run(exs_sim *sim, bool flush) {
    exs_delayq *q = sim->delayq;
    int64_t now = beat_mono_us();
    while (q->n > 0 && (flush || q->h[0].due_us <= now)) {
        dnotice d = q->h[0];
        q->h[0] = q->h[--q->n];
        if (q->n) sift_down(q, 0);
        send_now(sim, d.kind, d.url, d.camp, d.auction, d.price, d.how, d.test, d.attempt,
                 d.conv_delay_ms, d.conv_value);
        dn_free(&d);
    }
    return q->n;
}

void exs_delayq_abandon(exs_sim *sim) {
    exs_delayq *q = sim->delayq;
    for (int64_t i = 0; i < q->n; i++) {
        dnotice *d = &q->h[i];
        if (d->how == EXS_REPLAY) sim->stats.replay_failed++;
        else if (d->how == EXS_FORGED) sim->stats.forged_failed++;
        else if (d->attempt) sim->stats.notice_failed[d->kind]++;
        else sim->stats.notice_dropped[d->kind]++;
        if (!d->attempt)
            charge_unsent(sim, d->kind, d->camp, d->auction, d->price, d->how, d->test);
        dn_free(d);
    }
    q->n = 0;
}
