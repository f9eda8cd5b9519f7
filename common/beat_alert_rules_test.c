/* The rule evaluator driven tick by tick with a fake clock and fake
 * inputs: each kind fires at warn, escalates at error and clears; bad
 * tables are refused; the thread mode evaluates by itself and stops. */
#include "beat_alert_rules.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beat_log.h"
#include "beat_test.h"
#include "beat_util.h"

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double in_v, in_t; /* fake inputs, set by the cases */
static double fv(void *arg) {
    (void)arg;
    return in_v;
}
static double ft(void *arg) {
    (void)arg;
    return in_t;
}

static beat_alert *no_hook(void) {
    beat_alert_cfg c = {.source = "t", .webhook = ""};
    return beat_alert_new(&c);
}

static int t_value(void) {
    beat_alert *a = no_hook();
    beat_alert_rule rule = {.name = "disk_full",
                            .what = "disk",
                            .unit = "%",
                            .kind = BEAT_RULE_VALUE,
                            .value = fv,
                            .warn = 90,
                            .error = 97};
    beat_alert_rules *r = beat_alert_rules_start(a, &rule, 1, 0);
    CHECK(r != NULL);
    in_v = 50;
    beat_alert_rules_tick(r, 1000);
    CHECK_EQ_INT(beat_alert_level_of(a, "disk_full"), 0);
    in_v = 91;
    beat_alert_rules_tick(r, 2000);
    CHECK_EQ_INT(beat_alert_level_of(a, "disk_full"), BEAT_ALERT_WARN);
    in_v = 98;
    beat_alert_rules_tick(r, 3000);
    CHECK_EQ_INT(beat_alert_level_of(a, "disk_full"), BEAT_ALERT_ERROR);
    in_v = -1; /* unknown: clears */
    beat_alert_rules_tick(r, 4000);
    CHECK_EQ_INT(beat_alert_level_of(a, "disk_full"), 0);
    in_v = NAN;
    beat_alert_rules_tick(r, 5000);
    CHECK_EQ_INT(beat_alert_level_of(a, "disk_full"), 0);
    beat_alert_rules_stop(r);
    beat_alert_free(a);
    return 0;
}

static int t_ratio(void) {
    beat_alert *a = no_hook();
    beat_alert_rule rule = {.name = "drops",
                            .what = "drops",
                            .unit = "%",
                            .kind = BEAT_RULE_RATIO,
                            .value = fv,
                            .total = ft,
                            .total_is_rest = true,
                            .warn = 1,
                            .error = 10,
                            .window_ms = 10000,
                            .min_events = 10};
    beat_alert_rules *r = beat_alert_rules_start(a, &rule, 1, 0);
    CHECK(r != NULL);
    in_v = 0, in_t = 0;
    int64_t t = 0;
    for (int i = 0; i < 10; i++) { /* 100 ok events a second, no drops */
        in_t += 100;
        beat_alert_rules_tick(r, t += 1000);
    }
    CHECK_EQ_INT(beat_alert_level_of(a, "drops"), 0);
    CHECK(beat_alert_rules_value(r, 0) == 0);
    for (int i = 0; i < 3; i++) { /* 5 dropped of 100 each second */
        in_v += 5, in_t += 95;
        beat_alert_rules_tick(r, t += 1000);
    }
    CHECK_EQ_INT(beat_alert_level_of(a, "drops"), BEAT_ALERT_WARN);
    double p = beat_alert_rules_value(r, 0);
    CHECK(p > 1 && p < 5);
    for (int i = 0; i < 10; i++) { /* half dropped: error over the window */
        in_v += 50, in_t += 50;
        beat_alert_rules_tick(r, t += 1000);
    }
    CHECK_EQ_INT(beat_alert_level_of(a, "drops"), BEAT_ALERT_ERROR);
    CHECK(fabs(beat_alert_rules_value(r, 0) - 50) < 6);
    for (int i = 0; i < 12; i++) { /* no traffic: too few events, clears */
        beat_alert_rules_tick(r, t += 1000);
    }
    CHECK_EQ_INT(beat_alert_level_of(a, "drops"), 0);
    beat_alert_rules_stop(r);
    beat_alert_free(a);
    return 0;
}

static int t_silent(void) {
    beat_alert *a = no_hook();
    beat_alert_rule rule = {.name = "hb",
                            .what = "heartbeats",
                            .unit = "s",
                            .kind = BEAT_RULE_SILENT,
                            .value = fv,
                            .warn = 3,
                            .error = 6};
    in_v = 7; /* a counter already past 0: the first sight is no change */
    beat_alert_rules *r = beat_alert_rules_start(a, &rule, 1, 0);
    CHECK(r != NULL);
    int64_t t0 = beat_mono_ms(); /* silence counts from the start */
    beat_alert_rules_tick(r, t0 + 1000);
    CHECK_EQ_INT(beat_alert_level_of(a, "hb"), 0);
    beat_alert_rules_tick(r, t0 + 3500);
    CHECK_EQ_INT(beat_alert_level_of(a, "hb"), BEAT_ALERT_WARN);
    in_v = 8;
    beat_alert_rules_tick(r, t0 + 4000);
    CHECK_EQ_INT(beat_alert_level_of(a, "hb"), 0);
    beat_alert_rules_tick(r, t0 + 10500);
    CHECK_EQ_INT(beat_alert_level_of(a, "hb"), BEAT_ALERT_ERROR);
    in_v = 9;
    beat_alert_rules_tick(r, t0 + 11000);
    CHECK_EQ_INT(beat_alert_level_of(a, "hb"), 0);
    beat_alert_rules_stop(r);
    beat_alert_free(a);
    return 0;
}

static int t_failing(void) {
    beat_alert *a = no_hook();
    beat_alert_rule rules[] = {
        {.name = "with_ok",
         .what = "peer",
         .unit = "s",
         .kind = BEAT_RULE_FAILING,
         .value = fv,
         .total = ft,
         .warn = 3,
         .error = 10,
         .window_ms = 2500},
        {.name = "no_ok",
         .what = "peer",
         .unit = "s",
         .kind = BEAT_RULE_FAILING,
         .value = fv,
         .warn = 3,
         .window_ms = 2500},
    };
    beat_alert_rules *r = beat_alert_rules_start(a, rules, 2, 0);
    CHECK(r != NULL);
    in_v = 4, in_t = 100;
    int64_t t = 0;
    beat_alert_rules_tick(r, t += 1000); /* first sight: no failure yet */
    in_t++;
    beat_alert_rules_tick(r, t += 1000);
    CHECK(beat_alert_rules_value(r, 0) == 0);
    for (int i = 0; i < 4; i++) { /* one failure every second */
        in_v++;
        beat_alert_rules_tick(r, t += 1000);
    }
    CHECK_EQ_INT(beat_alert_level_of(a, "with_ok"), BEAT_ALERT_WARN);
    CHECK_EQ_INT(beat_alert_level_of(a, "no_ok"), BEAT_ALERT_WARN);
    CHECK(fabs(beat_alert_rules_value(r, 0) - 3) < 0.01);
    /* a call every 2 s still counts as failing all along (window 2.5 s) */
    for (int i = 0; i < 8; i++) {
        if (i % 2) in_v++;
        beat_alert_rules_tick(r, t += 1000);
    }
    CHECK_EQ_INT(beat_alert_level_of(a, "with_ok"), BEAT_ALERT_ERROR);
    in_t++; /* a success ends it at once where successes are counted */
    beat_alert_rules_tick(r, t += 1000);
    CHECK_EQ_INT(beat_alert_level_of(a, "with_ok"), 0);
    CHECK_EQ_INT(beat_alert_level_of(a, "no_ok"), BEAT_ALERT_WARN);
    beat_alert_rules_tick(r, t += 1000);
    beat_alert_rules_tick(r, t += 1000); /* quiet beyond the window: over */
    CHECK_EQ_INT(beat_alert_level_of(a, "no_ok"), 0);
    beat_alert_rules_stop(r);
    beat_alert_free(a);
    return 0;
}

static int t_bad_tables(void) {
    beat_alert *a = no_hook();
    beat_alert_rule bad_name = {.name = "Bad Name", .kind = BEAT_RULE_VALUE, .value = fv};
    CHECK(beat_alert_rules_start(a, &bad_name, 1, 0) == NULL);
    beat_alert_rule no_value = {.name = "x", .kind = BEAT_RULE_VALUE};
    CHECK(beat_alert_rules_start(a, &no_value, 1, 0) == NULL);
    beat_alert_rule ratio_no_total = {.name = "y", .kind = BEAT_RULE_RATIO, .value = fv};
    CHECK(beat_alert_rules_start(a, &ratio_no_total, 1, 0) == NULL);
    CHECK(beat_alert_rules_start(NULL, &bad_name, 1, 0) == NULL);
    beat_alert_rules *r = beat_alert_rules_start(a, NULL, 0, 0); /* empty is fine */
    CHECK(r != NULL);
    beat_alert_rules_tick(r, 1);
    beat_alert_rules_stop(r);
    beat_alert_rules_stop(NULL);
    beat_alert_free(a);
    return 0;
}

static _Atomic int calls;
static double counting(void *arg) {
    (void)arg;
    atomic_fetch_add(&calls, 1);
    return 99;
}

static int t_thread(void) {
    beat_alert *a = no_hook();
    /* strings are copied: the table may live on the stack */
    char name[16];
    snprintf(name, sizeof name, "%s", "level");
    beat_alert_rule rule = {.name = name,
                            .what = "x",
                            .unit = "%",
                            .kind = BEAT_RULE_VALUE,
                            .value = counting,
                            .warn = 50};
    beat_alert_rules *r = beat_alert_rules_start(a, &rule, 1, 20);
    CHECK(r != NULL);
    memset(name, 0, sizeof name);
    int64_t deadline = beat_mono_ms() + 5000;
    while (beat_alert_level_of(a, "level") != BEAT_ALERT_WARN && beat_mono_ms() < deadline)
        nap_ms(5);
    CHECK_EQ_INT(beat_alert_level_of(a, "level"), BEAT_ALERT_WARN);
    int64_t t0 = beat_mono_ms();
    beat_alert_rules_stop(r);
    CHECK(beat_mono_ms() - t0 < 1000);
    int n = atomic_load(&calls);
    nap_ms(60);
    CHECK_EQ_INT(atomic_load(&calls), n); /* stopped means stopped */
    beat_alert_free(a);
    return 0;
}

static beat_counter *c_ok;
static int t_metric_inputs(void) {
    c_ok = beat_counter_new("beat_test_rules_ok_total", "test");
    beat_gauge *g = beat_gauge_new("beat_test_rules_level", "test");
    beat_counter_add(c_ok, 5);
    beat_gauge_set(g, 2.5);
    CHECK(beat_alert_counter_fn(c_ok) == 5);
    CHECK(beat_alert_gauge_fn(g) == 2.5);
    CHECK(isnan(beat_alert_counter_fn(NULL)));
    CHECK(isnan(beat_alert_gauge_fn(NULL)));
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("beat_alert_rules_test", BEAT_FATAL); /* bad tables log errors */
    static const beat_test_case cases[] = {
        {"value_levels", t_value},          {"ratio_over_window", t_ratio},
        {"silent_counter", t_silent},       {"failing_peer", t_failing},
        {"bad_tables", t_bad_tables},       {"evaluator_thread", t_thread},
        {"metric_inputs", t_metric_inputs}, {NULL, NULL},
    };
    return beat_test_main("beat_alert_rules", cases, argc, argv);
}
