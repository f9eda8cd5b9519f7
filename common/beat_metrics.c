/* Process-wide metrics registry rendered as Prometheus text format 0.0.4
 * for /metrics. Updates are lock-free atomics callable from any thread
 * (including the bid path); only registration takes the mutex. Metrics are
 * never freed: the registry owns them until exit. Rendering must never
 * produce text promtool would reject, so names are validated at
 * registration and HELP text is escaped. */
#include "beat_metrics.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_MAX_BOUNDS 32

typedef enum { M_COUNTER, M_GAUGE, M_GAUGE_FN, M_HISTOGRAM } mtype;

typedef struct metric {
    mtype type;
    char *name;   /* full name as registered, labels included */
    char *base;   /* name without the label set */
    char *labels; /* inside of {...} without braces, "" when none */
    char *help;
} metric;

struct beat_counter {
    metric m;
    atomic_uint_fast64_t v;
};

struct beat_gauge {
    metric m;
    _Atomic uint64_t bits; /* double bit pattern */
    double (*fn)(void *);
    void *arg;
};

struct beat_histogram {
    metric m;
    int n;
    double bounds[HIST_MAX_BOUNDS];
    atomic_uint_fast64_t buckets[HIST_MAX_BOUNDS + 1]; /* not cumulative */
    _Atomic uint64_t sum_bits;
};

const double beat_latency_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};
const int beat_latency_nbounds = (int)(sizeof beat_latency_bounds / sizeof beat_latency_bounds[0]);

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static metric **reg;
static int reg_n, reg_cap;

static uint64_t d2u(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static double u2d(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static bool name_ok(const char *s, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

/* Validates `k="v",k2="v2"` (value escapes \\ \" \n only). */
static bool labels_ok(const char *s) {
    size_t i = 0, n = strlen(s);
    while (i < n) {
        size_t ks = i;
        while (i < n && s[i] != '=') i++;
        if (i >= n || !name_ok(s + ks, i - ks) || memchr(s + ks, ':', i - ks)) return false;
        if (i - ks == 2 && memcmp(s + ks, "le", 2) == 0) return false;
        i++;
        if (i >= n || s[i] != '"') return false;
        i++;
        while (i < n && s[i] != '"') {
            if (s[i] == '\n') return false;
            if (s[i] == '\\') {
                if (i + 1 >= n || !strchr("\\\"n", s[i + 1])) return false;
                i++;
            }
            i++;
        }
        if (i >= n) return false;
        i++; /* closing quote */
        if (i < n) {
            if (s[i] != ',' || i + 1 >= n) return false;
            i++;
        }
    }
    return true;
}

/* Fills base/labels from a full name; false if malformed. */
static bool split_name(const char *name, char **base, char **labels) {
    const char *br = strchr(name, '{');
    size_t bl = br ? (size_t)(br - name) : strlen(name);
    if (!name_ok(name, bl)) return false;
    const char *ls = "";
    size_t ll = 0;
    if (br) {
        size_t n = strlen(br);
        if (n < 2 || br[n - 1] != '}') return false;
        ls = br + 1;
        ll = n - 2;
    }
    *base = strndup(name, bl);
    *labels = strndup(ls, ll);
    if (!*base || !*labels || !labels_ok(*labels)) {
        free(*base);
        free(*labels);
        return false;
    }
    return true;
}

static bool same_family(mtype a, mtype b) {
    bool ga = a == M_GAUGE || a == M_GAUGE_FN, gb = b == M_GAUGE || b == M_GAUGE_FN;
    return a == b || (ga && gb);
}

/* Registers m (allocated by the caller, size bytes) or returns the
 * existing metric with that name; NULL on a clash or bad name. Takes
 * ownership of m either way. */
static metric *reg_add(metric *m, mtype type, const char *name, const char *help) {
    if (!name || !split_name(name, &m->base, &m->labels)) {
        free(m);
        return NULL;
    }
    m->type = type;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    metric *ret = NULL;
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < reg_n; i++) {
        metric *o = reg[i];
        if (strcmp(o->name, name) == 0) {
            ret = o->type == type ? o : NULL;
            goto drop;
        }
        /* One base name is one family with one type. */
        if (strcmp(o->base, m->base) == 0 && !same_family(o->type, type)) goto drop;
    }
    if (!m->name || !m->help) goto drop;
    if (reg_n == reg_cap) {
        int nc = reg_cap ? reg_cap * 2 : 64;
        metric **nr = realloc(reg, (size_t)nc * sizeof *nr);
        if (!nr) goto drop;
        reg = nr;
        reg_cap = nc;
    }
    reg[reg_n++] = m;
    pthread_mutex_unlock(&reg_mu);
    return m;
drop:
    pthread_mutex_unlock(&reg_mu);
    free(m->name);
    free(m->base);
    free(m->labels);
    free(m->help);
    free(m);
    return ret;
}

beat_counter *beat_counter_new(const char *name, const char *help) {
    beat_counter *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    return (beat_counter *)reg_add(&c->m, M_COUNTER, name, help);
}

beat_counter *beat_counter_labeled(const char *base, const char *help, const char *label,
                                   const char *value) {
    /* Worst case every byte of value doubles; malformed base or label
     * names are left to the registry's own check. */
    size_t n = strlen(base) + strlen(label) + 2 * strlen(value) + 6;
    char *name = malloc(n), *p = name;
    if (!name) return NULL;
    p += sprintf(p, "%s{%s=\"", base, label);
    for (const char *v = value; *v; v++) {
        if (*v == '\\' || *v == '"') *p++ = '\\';
        if (*v == '\n') {
            *p++ = '\\';
            *p++ = 'n';
            continue;
        }
        *p++ = *v;
    }
    strcpy(p, "\"}");
    beat_counter *c = beat_counter_new(name, help);
    free(name);
    return c;
}

void beat_counter_add(beat_counter *c, uint64_t n) {
    if (c) atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

uint64_t beat_counter_get(const beat_counter *c) {
    return c ? atomic_load_explicit(&((beat_counter *)c)->v, memory_order_relaxed) : 0;
}

beat_gauge *beat_gauge_new(const char *name, const char *help) {
    beat_gauge *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    atomic_init(&g->bits, d2u(0.0));
    return (beat_gauge *)reg_add(&g->m, M_GAUGE, name, help);
}

beat_gauge *beat_gauge_fn_new(const char *name, const char *help, double (*fn)(void *arg),
                              void *arg) {
    if (!fn) return NULL;
    beat_gauge *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->fn = fn;
    g->arg = arg;
    return (beat_gauge *)reg_add(&g->m, M_GAUGE_FN, name, help);
}

void beat_gauge_set(beat_gauge *g, double v) {
    if (g) atomic_store_explicit(&g->bits, d2u(v), memory_order_relaxed);
}

static void atomic_add_double(_Atomic uint64_t *bits, double d) {
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, d2u(u2d(old) + d),
                                                  memory_order_relaxed, memory_order_relaxed)) {}
}

void beat_gauge_add(beat_gauge *g, double d) {
    if (g) atomic_add_double(&g->bits, d);
}

double beat_gauge_get(const beat_gauge *g) {
    if (!g) return 0.0;
    if (g->fn) return g->fn(g->arg);
    return u2d(atomic_load_explicit(&((beat_gauge *)g)->bits, memory_order_relaxed));
}

beat_histogram *beat_histogram_new(const char *name, const char *help, const double *bounds,
                                   int n) {
    if (n < 0 || n > HIST_MAX_BOUNDS || (n && !bounds)) return NULL;
    for (int i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1])) return NULL;
    beat_histogram *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->n = n;
    if (n) memcpy(h->bounds, bounds, (size_t)n * sizeof *bounds);
    atomic_init(&h->sum_bits, d2u(0.0));
    beat_histogram *r = (beat_histogram *)reg_add(&h->m, M_HISTOGRAM, name, help);
    /* Same name again with different buckets is a programmer error. */
    if (r && (r->n != n || (n && memcmp(r->bounds, bounds, (size_t)n * sizeof *bounds))))
        return NULL;
    return r;
}

void beat_histogram_observe(beat_histogram *h, double v) {
    if (!h || isnan(v)) return; /* a NaN would poison _sum forever */
    int lo = 0, hi = h->n;      /* first bound >= v, or n (+Inf) */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v <= h->bounds[mid]) hi = mid;
        else lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

/* ---- rendering --------------------------------------------------------- */

/* Shortest text that reads back as the same double; Prometheus spellings
 * for the non-finite values. */
static void fmt_double(char *out, size_t n, double v) {
    if (isnan(v)) snprintf(out, n, "NaN");
    else if (isinf(v)) snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(out, n, "%.15g", v);
        if (strtod(out, NULL) != v) snprintf(out, n, "%.17g", v);
    }
}

static int put_help(beat_buf *out, const metric *m) {
    int rc = beat_buf_printf(out, "# HELP %s ", m->base);
    for (const char *p = m->help; !rc && *p; p++) {
        if (*p == '\\') rc = beat_buf_puts(out, "\\\\");
        else if (*p == '\n') rc = beat_buf_puts(out, "\\n");
        else rc = beat_buf_append(out, p, 1);
    }
    static const char *const tn[] = {"counter", "gauge", "gauge", "histogram"};
    static_assert(sizeof tn / sizeof tn[0] == M_HISTOGRAM + 1, "one TYPE per mtype");
    if (!rc) rc = beat_buf_printf(out, "\n# TYPE %s %s\n", m->base, tn[m->type]);
    return rc;
}

static int put_sample(beat_buf *out, const metric *m, const char *suffix, const char *extra_label,
                      const char *value) {
    bool lab = m->labels[0] || extra_label;
    return beat_buf_printf(out, "%s%s%s%s%s%s%s %s\n", m->base, suffix, lab ? "{" : "", m->labels,
                           m->labels[0] && extra_label ? "," : "", extra_label ? extra_label : "",
                           lab ? "}" : "", value);
}

static int render_one(beat_buf *out, const metric *m) {
    char v[64];
    switch (m->type) {
        case M_COUNTER:
            snprintf(v, sizeof v, "%llu",
                     (unsigned long long)beat_counter_get((const beat_counter *)m));
            return put_sample(out, m, "", NULL, v);
        case M_GAUGE:
        case M_GAUGE_FN:
            fmt_double(v, sizeof v, beat_gauge_get((const beat_gauge *)m));
            return put_sample(out, m, "", NULL, v);
        case M_HISTOGRAM: {
            beat_histogram *h = (beat_histogram *)m;
            uint64_t cum = 0;
            int rc = 0;
            char le[80], num[64];
            for (int i = 0; i <= h->n && !rc; i++) {
                cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
                if (i < h->n) fmt_double(num, sizeof num, h->bounds[i]);
                else snprintf(num, sizeof num, "+Inf");
                snprintf(le, sizeof le, "le=\"%s\"", num);
                snprintf(v, sizeof v, "%llu", (unsigned long long)cum);
                rc = put_sample(out, m, "_bucket", le, v);
            }
            if (rc) return rc;
            fmt_double(v, sizeof v, u2d(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
            rc = put_sample(out, m, "_sum", NULL, v);
            /* _count is the +Inf bucket read above, so the two always agree. */
            snprintf(v, sizeof v, "%llu", (unsigned long long)cum);
            if (!rc) rc = put_sample(out, m, "_count", NULL, v);
            return rc;
        }
    }
    return 0;
}

int beat_metrics_render(beat_buf *out) {
    /* Snapshot the list so gauge callbacks run without the lock held. */
    pthread_mutex_lock(&reg_mu);
    int n = reg_n;
    metric **snap = n ? malloc((size_t)n * sizeof *snap) : NULL;
    if (snap) memcpy(snap, reg, (size_t)n * sizeof *snap);
    pthread_mutex_unlock(&reg_mu);
    if (n && !snap) return -ENOMEM;
    bool *done = n ? calloc((size_t)n, sizeof *done) : NULL;
    if (n && !done) {
        free(snap);
        return -ENOMEM;
    }
    int rc = 0;
    /* Families in first-registration order, each family's samples
     * together even when registered apart. */
    for (int i = 0; i < n && !rc; i++) {
        if (done[i]) continue;
        rc = put_help(out, snap[i]);
        for (int j = i; j < n && !rc; j++) {
            if (done[j] || strcmp(snap[j]->base, snap[i]->base) != 0) continue;
            done[j] = true;
            rc = render_one(out, snap[j]);
        }
    }
    free(done);
    free(snap);
    return rc;
}
