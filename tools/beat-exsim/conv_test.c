/* The simulator's side of conversions: the /conv URL built from a click
 * URL's origin and its redirect's beat_cv token (only a parameter of that
 * exact name counts), and the hidden conversion rate's range. */
#include <errno.h>
#include <string.h>

#include "beat_test.h"
#include "exsim.h"

static int t_conv_url(void) {
    char out[512];
    CHECK_EQ_INT(exs_conv_url("http://127.0.0.1:8081/click?v=2&a=A",
                              "https://shop.example/p?x=1&beat_cv=abc.def#top", 12500000, out,
                              sizeof out),
                 0);
    CHECK_EQ_STR(out, "http://127.0.0.1:8081/conv?cv=abc.def&val=12.500000");
    CHECK_EQ_INT(exs_conv_url("http://r:1/click", "https://s/?beat_cv=t&y=2", 0, out, sizeof out),
                 0);
    CHECK_EQ_STR(out, "http://r:1/conv?cv=t&val=0.000000");
    /* no token, an empty one, or one under another name */
    CHECK_EQ_INT(exs_conv_url("http://r/click", "https://s/p", 1, out, sizeof out), -EINVAL);
    CHECK_EQ_INT(exs_conv_url("http://r/click", "https://s/p?beat_cv=", 1, out, sizeof out),
                 -EINVAL);
    CHECK_EQ_INT(exs_conv_url("http://r/click", "https://s/p?xbeat_cv=t", 1, out, sizeof out),
                 -EINVAL);
    CHECK_EQ_INT(exs_conv_url("http://r/click", NULL, 1, out, sizeof out), -EINVAL);
    CHECK_EQ_INT(exs_conv_url("http://r/click", "https://s/?beat_cv=t", 1, out, 10), -EMSGSIZE);
    return 0;
}

static int t_true_cvr(void) {
    exs_world w;
    memset(&w, 0, sizeof w);
    exs_req r;
    memset(&r, 0, sizeof r);
    static const char *const camps[] = {"acme-shoes", "globex-travel", "c1", ""};
    for (int i = 0; i < 4; i++) {
        r.segs = 0;
        double lo = exs_true_cvr(&w, &r, camps[i]);
        r.segs = 1;
        double hi = exs_true_cvr(&w, &r, camps[i]);
        CHECK(lo >= 0.05 * 0.85 && lo <= 0.15 * 0.85 && hi > lo && hi <= 0.15 * 1.25);
    }
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"conv_url", t_conv_url}, {"true_cvr", t_true_cvr}, {NULL, NULL}};
    return beat_test_main("exsim_conv", tests, argc, argv);
}
