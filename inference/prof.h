/* Sampled CPU profile of the bid handler by phase: one request in
 * INF_PROF_EVERY per worker reads the thread's CPU clock at each phase
 * boundary and adds the deltas to counters
 * (beat_inference_handler_cpu_seconds_total{phase=...}), so the bench and
 * an operator can see where a worker's CPU goes without a profiler, at the
 * price of a few clock reads on 1 request in 64. CPU time, not wall time:
 * a preempted worker's waiting is not counted. */
#ifndef INF_PROF_H
#define INF_PROF_H

#include <stdbool.h>
#include <stdint.h>

#define INF_PROF_EVERY 64

enum { INF_PH_PARSE, INF_PH_AUCTION, INF_PH_RESPONSE, INF_PH_EVENT, INF_PH_N };

typedef struct inf_prof {
    uint32_t n;   /* requests seen by this worker */
    bool on;      /* this request is sampled */
    int64_t t_ns; /* thread CPU time at the last mark */
} inf_prof;

/* Registers the counters (idempotent; call before the workers start). */
void inf_prof_metrics_init(void);
/* At the handler's entry: decides whether this request is sampled. */
void inf_prof_begin(inf_prof *p);
/* End of a phase: adds its CPU time when sampled. */
void inf_prof_mark(inf_prof *p, int phase);

#endif
