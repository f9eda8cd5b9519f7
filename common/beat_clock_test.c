/* The simulated engine clock: spec parsing (refusals leave the clock as it
 * was) and the linear map from wall time. */
#include <errno.h>
#include <stdlib.h>
#include "beat_clock.h"
#include "beat_test.h"

static int t_wall_by_default(void) {
    CHECK(!beat_clock_simulated());
    CHECK(beat_engine_of_wall_ms(123456) == 123456);
    CHECK(beat_clock_rate() == 1.0);
    int64_t a = beat_now_ms(), e = beat_engine_ms(), b = beat_now_ms();
    CHECK(e >= a && e <= b);
    return 0;
}

static int t_map(void) {
    beat_reason why = {{0}};
    CHECK(beat_clock_configure("1000000:5000000:720", &why) == 0);
    CHECK(beat_clock_simulated());
    CHECK(beat_engine_of_wall_ms(1000000) == 5000000);
    CHECK(beat_engine_of_wall_ms(1001000) == 5000000 + 720000);
    CHECK(beat_clock_rate() == 720.0);
    /* and back: the wall time at which the engine shows a time */
    CHECK(beat_wall_of_engine_ms(5000000 + 720000) == 1001000);
    CHECK(beat_wall_of_engine_ms(5000000 - 3 * 86400000LL) == 1000000 - 360000);
    for (int64_t w = 999000; w < 1003000; w += 7)
        CHECK(llabs(beat_wall_of_engine_ms(beat_engine_of_wall_ms(w)) - w) <= 1);
    CHECK(beat_clock_configure("", &why) == 0);
    CHECK(beat_wall_of_engine_ms(42) == 42);
    CHECK(!beat_clock_simulated() && beat_engine_of_wall_ms(42) == 42);
    return 0;
}

static int t_refusals(void) {
    beat_reason why = {{0}};
    const char *bad[] = {"1:2",          "1:2:3:4",          "0:5:10", "5:0:10",
                         "1000:2000:0",  "1000:2000:100001", "a:b:c",  "1000:2000:nan",
                         "1000:2000:5x", "-1:2000:5",        " 1:2:3 "};
    CHECK(beat_clock_configure("1000:2000:10", &why) == 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why.msg[0] = 0;
        CHECK(beat_clock_configure(bad[i], &why) == -EINVAL);
        CHECK(why.msg[0] != 0);
        /* the clock configured before is kept */
        CHECK(beat_engine_of_wall_ms(1100) == 3000);
    }
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"wall_by_default", t_wall_by_default},
        {"map", t_map},
        {"refusals", t_refusals},
        {0},
    };
    return beat_test_main("beat_clock", tests, argc, argv);
}
