/* Sampled per-phase CPU counters of the bid handler (see prof.h). Each
 * worker owns its inf_prof; the counters are atomics shared by all. */
#include "prof.h"

#include <time.h>

#include "beat_metrics.h"

static beat_counter *ph_ns[INF_PH_N], *sampled;

/* Thread CPU clock: a real system call, hence only on sampled requests. */
static int64_t thread_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void inf_prof_metrics_init(void) {
    if (sampled) return;
    static const char *names[INF_PH_N] = {"parse", "auction", "response", "event"};
    for (int i = 0; i < INF_PH_N; i++)
        ph_ns[i] = beat_counter_labeled("beat_inference_handler_cpu_nanos_total",
                                        "Worker CPU nanoseconds in each phase of the bid handler, "
                                        "summed over the sampled requests",
                                        "phase", names[i]);
    sampled = beat_counter_new("beat_inference_handler_sampled_total",
                               "Bid requests whose handler phases were timed (1 in 64)");
}

void inf_prof_begin(inf_prof *p) {
    p->on = sampled && ++p->n % INF_PROF_EVERY == 0;
    if (!p->on) return;
    beat_counter_inc(sampled);
    p->t_ns = thread_ns();
}

void inf_prof_mark(inf_prof *p, int phase) {
    if (!p->on) return;
    int64_t t = thread_ns();
    beat_counter_add(ph_ns[phase], (uint64_t)(t - p->t_ns));
    p->t_ns = t;
}
