/* Evaluator of declarative alert rules (beat_alert_rules.h). One thread per
 * daemon wakes every eval period, reads each rule's inputs through its
 * callbacks, judges them against the warn/error thresholds and reports to
 * beat_alert, which alone decides what to post. Rule state (samples,
 * failure start) is private to the evaluating thread. It must never block
 * on the daemon: inputs are atomics, posting is beat_alert's queue. */
#include "beat_alert_rules.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat_log.h"
#include "beat_pull.h"
#include "beat_util.h"

#define RING 64 /* ratio samples kept per rule */

typedef struct sample {
    int64_t t;
    double v, tot;
} sample;

typedef struct rstate {
    beat_alert_rule r; /* strings owned (copies) */
    double last;       /* last judged value, NaN before the first tick */
    /* RATIO */
    sample ring[RING];
    int head, len;
    /* SILENT / FAILING */
    bool seen;
    double prev_v, prev_tot;
    int64_t changed_ms; /* SILENT: last change of value */
    bool failing;
    int64_t fail_since_ms, fail_last_ms;
} rstate;

struct beat_alert_rules {
    beat_alert *a;
    rstate *rs;
    int n;
    int64_t eval_ms, start_ms;
    pthread_t thr;
    bool has_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool owns_alert; /* beat_alert_rules_run */
};

double beat_alert_counter_fn(void *counter) {
    return counter ? (double)beat_counter_get(counter) : NAN;
}

double beat_alert_gauge_fn(void *gauge) { return gauge ? beat_gauge_get(gauge) : NAN; }

static double call(beat_rule_fn fn, void *arg) { return fn ? fn(arg) : NAN; }

/* Percent over the window: the newest sample against the oldest one that is
 * still inside it (or the oldest kept). */
static double judge_ratio(rstate *s, int64_t now) {
    double v = call(s->r.value, s->r.value_arg), tot = call(s->r.total, s->r.total_arg);
    if (isnan(v) || isnan(tot)) return NAN;
    if (s->r.total_is_rest) tot += v;
    int64_t win = s->r.window_ms > 0 ? s->r.window_ms : 60000;
    /* Keep at most RING samples spread over the window. */
    int64_t gap = win / (RING - 2);
    if (s->len == 0 || now - s->ring[(s->head + s->len - 1) % RING].t >= gap) {
        if (s->len == RING) {
            s->head = (s->head + 1) % RING;
            s->len--;
        }
        s->ring[(s->head + s->len) % RING] = (sample){now, v, tot};
        s->len++;
    }
    while (s->len > 1 && now - s->ring[s->head].t > win) {
        s->head = (s->head + 1) % RING;
        s->len--;
    }
    const sample *o = &s->ring[s->head];
    double dv = v - o->v, dt = tot - o->tot;
    double min = s->r.min_events > 0 ? s->r.min_events : 20;
    if (dv < 0 || dt < min) return 0; /* reset counters or too few events */
    double pct = 100.0 * dv / dt;
    return pct > 100 ? 100 : pct;
}

static double judge_silent(rstate *s, int64_t now) {
    double v = call(s->r.value, s->r.value_arg);
    if (!s->seen || (!isnan(v) && v != s->prev_v)) {
        /* The first sight is not a change: silence counts from the start. */
        if (s->seen) s->changed_ms = now;
        s->seen = true;
        s->prev_v = v;
    }
    return (double)(now - s->changed_ms) / 1000.0;
}

static double judge_failing(rstate *s, int64_t now) {
    double v = call(s->r.value, s->r.value_arg), ok = call(s->r.total, s->r.total_arg);
    int64_t win = s->r.window_ms > 0 ? s->r.window_ms : 10000;
    if (!s->seen) {
        s->seen = true;
        s->prev_v = v;
        s->prev_tot = ok;
        return 0;
    }
    bool failed = !isnan(v) && v > s->prev_v;
    bool succeeded = !isnan(ok) && ok > s->prev_tot;
    if (!isnan(v)) s->prev_v = v;
    if (!isnan(ok)) s->prev_tot = ok;
    if (succeeded) {
        s->failing = false;
    } else if (failed) {
        if (!s->failing) s->fail_since_ms = now;
        s->failing = true;
        s->fail_last_ms = now;
    } else if (s->failing && now - s->fail_last_ms > win) {
        s->failing = false;
    }
    return s->failing ? (double)(now - s->fail_since_ms) / 1000.0 : 0;
}

static void fmt_num(char *out, size_t n, double v) {
    if (fabs(v) >= 100 || v == floor(v)) snprintf(out, n, "%.0f", v);
    else if (fabs(v) < 0.1) snprintf(out, n, "%.2g", v);
    else snprintf(out, n, "%.1f", v);
}

static void eval_one(beat_alert_rules *r, rstate *s, int64_t now) {
    double v = NAN;
    switch (s->r.kind) {
        case BEAT_RULE_VALUE: v = call(s->r.value, s->r.value_arg); break;
        case BEAT_RULE_RATIO: v = judge_ratio(s, now); break;
        case BEAT_RULE_SILENT: v = judge_silent(s, now); break;
        case BEAT_RULE_FAILING: v = judge_failing(s, now); break;
    }
    s->last = v;
    bool known = !isnan(v) && v >= 0;
    bool err = known && s->r.error > 0 && v >= s->r.error;
    bool warn = known && s->r.warn > 0 && v >= s->r.warn;
    char val[32], w[32], e[32], msg[400];
    fmt_num(val, sizeof val, known ? v : 0);
    fmt_num(w, sizeof w, s->r.warn);
    fmt_num(e, sizeof e, s->r.error);
    const char *u = s->r.unit;
    if (err || warn)
        snprintf(msg, sizeof msg, "%s: %s %s (warn at %s %s, error at %s %s)", s->r.what, val, u, w,
                 u, e, u);
    else
        snprintf(msg, sizeof msg, "%s: %s %s now, under the warning level (%s %s)", s->r.what, val,
                 u, w, u);
    beat_alert_set(r->a, s->r.name, err ? BEAT_ALERT_ERROR : BEAT_ALERT_WARN, err || warn, msg);
}

void beat_alert_rules_tick(beat_alert_rules *r, int64_t now_ms) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) eval_one(r, &r->rs[i], now_ms);
}

double beat_alert_rules_value(beat_alert_rules *r, int i) {
    return r && i >= 0 && i < r->n ? r->rs[i].last : NAN;
}

static void *eval_main(void *arg) {
    beat_alert_rules *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += r->eval_ms / 1000;
        ts.tv_nsec += (r->eval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!r->stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (r->stop) break;
        pthread_mutex_unlock(&r->mu);
        beat_alert_rules_tick(r, beat_mono_ms());
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void free_rules(beat_alert_rules *r) {
    for (int i = 0; r->rs && i < r->n; i++) {
        free((char *)r->rs[i].r.name);
        free((char *)r->rs[i].r.what);
        free((char *)r->rs[i].r.unit);
    }
    free(r->rs);
    free(r);
}

beat_alert_rules *beat_alert_rules_start(beat_alert *a, const beat_alert_rule *rules, int n,
                                         int64_t eval_ms) {
    if (!a || n < 0 || (n > 0 && !rules) || eval_ms < 0) return NULL;
    beat_alert_rules *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->a = a;
    r->eval_ms = eval_ms;
    r->start_ms = beat_mono_ms();
    r->rs = calloc((size_t)(n > 0 ? n : 1), sizeof *r->rs);
    if (!r->rs) {
        free(r);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        rstate *s = &r->rs[i];
        const beat_alert_rule *in = &rules[i];
        s->r = *in;
        s->r.name = strdup(in->name ? in->name : "");
        s->r.what = strdup(in->what ? in->what : in->name ? in->name : "");
        s->r.unit = strdup(in->unit ? in->unit : "");
        s->last = NAN;
        s->changed_ms = r->start_ms;
        r->n = i + 1;
        if (!s->r.name || !s->r.what || !s->r.unit) {
            free_rules(r);
            return NULL;
        }
        bool needs_total = in->kind == BEAT_RULE_RATIO;
        if (!in->value || (needs_total && !in->total) || in->kind > BEAT_RULE_FAILING ||
            beat_alert_set(a, s->r.name, BEAT_ALERT_WARN, false, "") != 0) {
            beat_log(BEAT_ERROR, "alert_rule_invalid", "rule=%s kind=%d", s->r.name, (int)in->kind);
            free_rules(r);
            return NULL;
        }
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (eval_ms > 0) {
        if (pthread_create(&r->thr, NULL, eval_main, r) != 0) {
            beat_alert_rules_stop(r);
            return NULL;
        }
        r->has_thread = true;
    }
    return r;
}

void beat_alert_rules_stop(beat_alert_rules *r) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->has_thread) pthread_join(r->thr, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free_rules(r);
}

beat_alert *beat_alert_opts_new(const beat_alert_opts *o, const char *source) {
    beat_alert_cfg c = {.source = source,
                        .webhook = o && o->webhook ? o->webhook : NULL,
                        .min_interval_ms = o ? o->interval_ms : 0};
    return beat_alert_new(&c);
}

beat_alert_rules *beat_alert_rules_run(const beat_alert_opts *o, const char *source,
                                       const beat_alert_rule *rules, int n) {
    beat_alert *a = beat_alert_opts_new(o, source);
    beat_alert_rules *r =
        a ? beat_alert_rules_start(a, rules, n, o->eval_ms > 0 ? o->eval_ms : 1000) : NULL;
    if (!r) {
        beat_alert_free(a);
        beat_log(BEAT_ERROR, "alerts_unavailable", "msg=\"alert rules not started\"");
        return NULL;
    }
    r->owns_alert = true;
    return r;
}

void beat_alert_rules_end(beat_alert_rules *r) {
    if (!r) return;
    beat_alert *a = r->owns_alert ? r->a : NULL;
    beat_alert_rules_stop(r);
    if (a) {
        beat_alert_flush(a, 2000);
        beat_alert_free(a);
    }
}

beat_alert_rules *beat_alert_pull_rules_run(const beat_alert_opts *o, const char *source,
                                            const char *daemon, const char *supervisor,
                                            beat_counter *sup_ok, int64_t sup_window_ms,
                                            const beat_strlist *datastreams, int64_t ds_window_ms) {
    int n_ds = datastreams ? datastreams->n : 0;
    if (n_ds > 32) n_ds = 32; /* MAX_RULES of beat_alert, with room to spare */
    beat_alert_rule *rules = calloc((size_t)n_ds + 1, sizeof *rules);
    char(*names)[64] = calloc((size_t)n_ds + 1, sizeof *names);
    char(*whats)[BEAT_PULL_URL_MAX + 64] = calloc((size_t)n_ds + 1, sizeof *whats);
    beat_alert_rules *r = NULL;
    if (rules && names && whats) {
        /* Same daemon, URL, label and fallback as the links: the registry
         * hands back the very counters they increment. */
        beat_pull_peer p;
        beat_pull_peer_init(&p, daemon, supervisor ? supervisor : "", "supervisor", NULL);
        snprintf(whats[0], sizeof whats[0], "supervisor %s failing", p.url);
        rules[0] = (beat_alert_rule){.name = "supervisor_unreachable",
                                     .what = whats[0],
                                     .unit = "s",
                                     .kind = BEAT_RULE_FAILING,
                                     .value = beat_alert_counter_fn,
                                     .value_arg = p.failures,
                                     .total = sup_ok ? beat_alert_counter_fn : NULL,
                                     .total_arg = sup_ok,
                                     .warn = o->peer_warn_s,
                                     .error = o->peer_error_s,
                                     .window_ms = sup_window_ms};
        for (int i = 0; i < n_ds; i++) {
            char fallback[32];
            snprintf(fallback, sizeof fallback, "datastream%d", i);
            beat_pull_peer_init(&p, daemon, datastreams->v[i], NULL, fallback);
            snprintf(names[i + 1], sizeof names[i + 1], "datastream_%d_unreachable", i + 1);
            snprintf(whats[i + 1], sizeof whats[i + 1], "datastream %s failing", p.url);
            rules[i + 1] = (beat_alert_rule){.name = names[i + 1],
                                             .what = whats[i + 1],
                                             .unit = "s",
                                             .kind = BEAT_RULE_FAILING,
                                             .value = beat_alert_counter_fn,
                                             .value_arg = p.failures,
                                             .warn = o->peer_warn_s,
                                             .error = o->peer_error_s,
                                             .window_ms = ds_window_ms};
        }
        r = beat_alert_rules_run(o, source, rules, n_ds + 1);
    }
    free(rules);
    free(names);
    free(whats);
    return r;
}
