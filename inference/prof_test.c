/* Sampled handler phases (prof.h): one request in INF_PROF_EVERY is timed,
 * each phase's CPU lands in its own counter, an unsampled request adds
 * nothing, and nothing is counted before the metrics exist. */
#include "prof.h"

#include "beat_metrics.h"
#include "beat_test.h"

static volatile uint64_t sink;

static void burn(void) { /* a few hundred µs of CPU */
    for (int i = 0; i < 300000; i++) sink += (uint64_t)i * 7;
}

static uint64_t phase_ns(const char *ph) {
    char name[128];
    snprintf(name, sizeof name, "beat_inference_handler_cpu_nanos_total{phase=\"%s\"}", ph);
    return beat_counter_get(beat_counter_new(name, "")); /* same name: the same counter */
}

static int test_one_in_every(void) {
    inf_prof p = {0};
    inf_prof_begin(&p); /* before the metrics: never sampled */
    CHECK(!p.on);
    inf_prof_metrics_init();
    inf_prof_metrics_init(); /* idempotent */
    beat_counter *sampled = beat_counter_new("beat_inference_handler_sampled_total", "");
    p.n = 0;
    for (int i = 1; i <= 3 * INF_PROF_EVERY; i++) {
        inf_prof_begin(&p);
        CHECK(p.on == (i % INF_PROF_EVERY == 0));
        burn();
        inf_prof_mark(&p, INF_PH_PARSE);
        if (i == INF_PROF_EVERY) {
            burn();
            inf_prof_mark(&p, INF_PH_AUCTION);
        }
    }
    CHECK_EQ_INT((int)beat_counter_get(sampled), 3);
    CHECK(phase_ns("parse") > 0);
    CHECK(phase_ns("auction") > 0);
    CHECK(phase_ns("response") == 0 && phase_ns("event") == 0);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case t[] = {
        {"one_in_every", test_one_in_every},
        {NULL, NULL},
    };
    return beat_test_main("prof", t, argc, argv);
}
