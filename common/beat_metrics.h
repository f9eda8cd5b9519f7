/* Metrics registry rendered in Prometheus text format at /metrics.
 * Names follow beat_<daemon>_<what>_<unit>; counters end in _total. A name
 * may carry a label set: "beat_actuator_link_failures_total{peer=\"ds1\"}";
 * HELP/TYPE are emitted once per base name. Updates are lock-free atomics,
 * safe from any thread; registration takes a lock (do it at start-up, or
 * rarely). Metrics live until exit: the registry owns them. */
#ifndef BEAT_METRICS_H
#define BEAT_METRICS_H

#include <stdint.h>
#include "beat_util.h"

typedef struct beat_counter beat_counter;
typedef struct beat_gauge beat_gauge;
typedef struct beat_histogram beat_histogram;

/* Registering the same full name twice returns the existing metric. Returns
 * NULL only on a malformed name or out of memory (the program's bug). */
beat_counter *beat_counter_new(const char *name, const char *help);
/* base{label="value"}: value is escaped per Prometheus rules (\\, \", \n),
 * so any text (a peer URL) can be a label value. NULL as beat_counter_new,
 * or when label is not a valid label name. */
beat_counter *beat_counter_labeled(const char *base, const char *help, const char *label,
                                   const char *value);
void beat_counter_add(beat_counter *c, uint64_t n);
static inline void beat_counter_inc(beat_counter *c) { beat_counter_add(c, 1); }
uint64_t beat_counter_get(const beat_counter *c);

beat_gauge *beat_gauge_new(const char *name, const char *help);
void beat_gauge_set(beat_gauge *g, double v);
void beat_gauge_add(beat_gauge *g, double d);
double beat_gauge_get(const beat_gauge *g);
/* A gauge computed at scrape time; fn runs on the scraping thread, so it
 * must be thread-safe. */
beat_gauge *beat_gauge_fn_new(const char *name, const char *help, double (*fn)(void *arg),
                              void *arg);

/* bounds: ascending upper bounds (le), n of them (max 32); +Inf is implied.
 * The bounds array is copied. */
beat_histogram *beat_histogram_new(const char *name, const char *help, const double *bounds, int n);
void beat_histogram_observe(beat_histogram *h, double v);
/* Latency buckets in seconds from 50 µs to 5 s, for *_seconds histograms. */
extern const double beat_latency_bounds[];
extern const int beat_latency_nbounds;

/* Appends the whole registry in Prometheus text format 0.0.4. */
int beat_metrics_render(beat_buf *out);

#endif
