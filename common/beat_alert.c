/* Alert rules → webhook posts. Daemons call beat_alert_set() from their
 * tick (any thread); it only updates a small table under a mutex and, on
 * a change worth telling, enqueues a ready-made JSON body. One sender thread
 * per beat_alert posts them with libcurl (beat_httpc). It must never make
 * the caller wait for the network: the queue is bounded, overflow and
 * failed posts are dropped and counted, and there are no retries. */
#include "beat_alert.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat_httpc.h"
#include "beat_log.h"
#include "beat_metrics.h"
#include "beat_util.h"

#define MAX_RULES 64
#define MAX_MSG 400

typedef struct rule {
    char name[64];
    bool firing;            /* as last reported by the caller */
    beat_alert_level level; /* level last reported */
    bool notified;          /* the last post of this rule said "firing" */
    beat_alert_level notified_level;
    bool ever_posted;
    int64_t last_post_ms;  /* monotonic */
    char msg[MAX_MSG + 1]; /* last message while firing */
    beat_gauge *gauge;
} rule;

struct beat_alert {
    char *source, *webhook;
    int64_t min_interval_ms, repeat_ms;
    long timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    rule rules[MAX_RULES];
    int n_rules;
    char **q; /* ring of JSON bodies, owned */
    int q_max, q_head, q_len;
    bool inflight, stop, has_thread;
    pthread_t thread;
    uint64_t sent, dropped;
};

static beat_counter *m_sent, *m_dropped;

static void metrics_init(void) {
    m_sent =
        beat_counter_new("beat_alerts_sent_total", "alert posts accepted by the webhook (2xx)");
    m_dropped = beat_counter_new("beat_alerts_dropped_total",
                                 "alert posts lost: queue full, failed post or left at stop");
}

static void count_drop(beat_alert *a, uint64_t n) { /* under mu */
    a->dropped += n;
    beat_counter_add(m_dropped, n);
}

static bool rule_name_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static const char *level_tag(beat_alert_level l) {
    return l == BEAT_ALERT_ERROR ? "ERROR" : "WARN";
}

/* Builds {"text":"[TAG] beat/src rule: msg"} and queues it; under mu. */
static void enqueue(beat_alert *a, const char *tag, const rule *r, const char *msg) {
    if (!a->webhook) return;
    char text[MAX_MSG + 256];
    snprintf(text, sizeof text, "[%s] beat/%s %s: %s", tag, a->source, r->name,
             msg && *msg ? msg : "(no detail)");
    beat_buf b;
    beat_buf_init(&b, 0);
    int rc = beat_buf_puts(&b, "{\"text\":");
    if (rc == 0) rc = beat_buf_json_str(&b, text, strlen(text));
    if (rc == 0) rc = beat_buf_puts(&b, "}");
    if (rc != 0 || a->q_len >= a->q_max) {
        beat_buf_fini(&b);
        count_drop(a, 1);
        beat_log_rl(10000, BEAT_WARN, "alert_dropped", "rule=%s reason=%s", r->name,
                    rc != 0 ? "oom" : "queue_full");
        return;
    }
    a->q[(a->q_head + a->q_len) % a->q_max] = b.data; /* ownership moves to the queue */
    a->q_len++;
    pthread_cond_signal(&a->wake);
}

static void *sender(void *arg) {
    beat_alert *a = arg;
    beat_httpc *c = beat_httpc_new(a->timeout_ms);
    beat_buf resp;
    beat_buf_init(&resp, 4096);
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->q_len == 0 && !a->stop) pthread_cond_wait(&a->wake, &a->mu);
        if (a->stop) break;
        char *body = a->q[a->q_head];
        a->q_head = (a->q_head + 1) % a->q_max;
        a->q_len--;
        a->inflight = true;
        pthread_mutex_unlock(&a->mu);

        long status = 0;
        int rc = c ? beat_httpc_send(c, "POST", a->webhook, "application/json", body, strlen(body),
                                     NULL, &resp, &status)
                   : -ENOMEM;
        free(body);
        bool ok = rc == 0 && status >= 200 && status < 300;
        if (!ok)
            beat_log_rl(10000, BEAT_WARN, "alert_post_failed", "rc=%d status=%ld err=%s", rc,
                        status, c ? beat_httpc_error(c) : "oom");

        pthread_mutex_lock(&a->mu);
        a->inflight = false;
        if (ok) {
            a->sent++;
            beat_counter_inc(m_sent);
        } else {
            count_drop(a, 1);
        }
        pthread_cond_broadcast(&a->idle);
    }
    pthread_mutex_unlock(&a->mu);
    beat_buf_fini(&resp);
    beat_httpc_free(c);
    return NULL;
}

beat_alert *beat_alert_new(const beat_alert_cfg *cfg) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, metrics_init);
    if (!cfg || !cfg->source || !*cfg->source) return NULL;
    beat_alert *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    const char *hook = cfg->webhook ? cfg->webhook : getenv("BEAT_ALERT_WEBHOOK");
    a->source = strdup(cfg->source);
    a->webhook = hook && *hook ? strdup(hook) : NULL;
    a->min_interval_ms = cfg->min_interval_ms > 0 ? cfg->min_interval_ms : 60000;
    a->repeat_ms = cfg->repeat_ms > 0 ? cfg->repeat_ms : 0;
    a->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 3000;
    a->q_max = cfg->queue_max > 0 ? cfg->queue_max : 64;
    a->q = calloc((size_t)a->q_max, sizeof *a->q);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->idle, NULL);
    if (!a->source || !a->q || (hook && *hook && !a->webhook)) {
        beat_alert_free(a);
        return NULL;
    }
    if (a->webhook) {
        if (pthread_create(&a->thread, NULL, sender, a) != 0) {
            beat_alert_free(a);
            return NULL;
        }
        a->has_thread = true;
    }
    return a;
}

void beat_alert_free(beat_alert *a) {
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->wake);
    pthread_mutex_unlock(&a->mu);
    if (a->has_thread) pthread_join(a->thread, NULL);
    for (int i = 0; i < a->q_len; i++) free(a->q[(a->q_head + i) % a->q_max]);
    if (a->q_len > 0) count_drop(a, (uint64_t)a->q_len);
    for (int i = 0; i < a->n_rules; i++)
        if (a->rules[i].gauge) beat_gauge_set(a->rules[i].gauge, 0);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mu);
    free(a->q);
    free(a->source);
    free(a->webhook);
    free(a);
}

static rule *find(beat_alert *a, const char *name) { /* under mu */
    for (int i = 0; i < a->n_rules; i++)
        if (strcmp(a->rules[i].name, name) == 0) return &a->rules[i];
    return NULL;
}

int beat_alert_set(beat_alert *a, const char *rule_name, beat_alert_level level, bool firing,
                   const char *message) {
    if (!a || !rule_name_ok(rule_name) || (level != BEAT_ALERT_WARN && level != BEAT_ALERT_ERROR))
        return -EINVAL;
    pthread_mutex_lock(&a->mu);
    rule *r = find(a, rule_name);
    if (!r) {
        if (a->n_rules >= MAX_RULES) {
            pthread_mutex_unlock(&a->mu);
            beat_log_rl(60000, BEAT_ERROR, "alert_rules_full", "rule=%s max=%d", rule_name,
                        MAX_RULES);
            return -ENOSPC;
        }
        r = &a->rules[a->n_rules++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", rule_name);
        /* A new rule is rare (start-up), so registering under mu is fine. */
        char gname[128];
        snprintf(gname, sizeof gname, "beat_alert_firing{rule=\"%s\"}", rule_name);
        r->gauge = beat_gauge_new(gname, "1 while the alert rule is firing");
    }
    r->firing = firing;
    r->level = level;
    if (firing) snprintf(r->msg, sizeof r->msg, "%s", message ? message : "");
    if (r->gauge) beat_gauge_set(r->gauge, firing ? 1 : 0);

    int64_t now = beat_mono_ms();
    bool may = !r->ever_posted || now - r->last_post_ms >= a->min_interval_ms;
    const char *tag = NULL;
    if (firing && (!r->notified || r->notified_level != level)) {
        if (may) tag = level_tag(level);
    } else if (!firing && r->notified) {
        if (may) tag = "RESOLVED";
    } else if (firing && a->repeat_ms > 0 && now - r->last_post_ms >= a->repeat_ms) {
        tag = level_tag(level); /* reminder */
    }
    if (tag) {
        enqueue(a, tag, r, firing ? r->msg : (message && *message ? message : r->msg));
        r->notified = firing;
        r->notified_level = level;
        r->ever_posted = true;
        r->last_post_ms = now;
        beat_log(firing ? BEAT_WARN : BEAT_INFO, firing ? "alert_firing" : "alert_resolved",
                 "rule=%s level=%s msg=\"%s\"", r->name, level_tag(level), r->msg);
    }
    pthread_mutex_unlock(&a->mu);
    return 0;
}

bool beat_alert_firing(beat_alert *a, const char *rule_name) {
    if (!a || !rule_name) return false;
    pthread_mutex_lock(&a->mu);
    rule *r = find(a, rule_name);
    bool f = r && r->firing;
    pthread_mutex_unlock(&a->mu);
    return f;
}

int beat_alert_level_of(beat_alert *a, const char *rule_name) {
    if (!a || !rule_name) return 0;
    pthread_mutex_lock(&a->mu);
    rule *r = find(a, rule_name);
    int l = r && r->firing ? (int)r->level : 0;
    pthread_mutex_unlock(&a->mu);
    return l;
}

void beat_alert_stats(beat_alert *a, uint64_t *sent, uint64_t *dropped) {
    pthread_mutex_lock(&a->mu);
    if (sent) *sent = a->sent;
    if (dropped) *dropped = a->dropped;
    pthread_mutex_unlock(&a->mu);
}

bool beat_alert_flush(beat_alert *a, int64_t timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&a->mu);
    int rc = 0;
    while ((a->q_len > 0 || a->inflight) && a->has_thread && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&a->idle, &a->mu, &ts);
    bool done = a->q_len == 0 && !a->inflight;
    pthread_mutex_unlock(&a->mu);
    return done;
}
