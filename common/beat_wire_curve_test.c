/* The pacing state's optional per-campaign "win_curve" (beat_wire.h): it
 * round-trips through the supervisor's and inference's codec, bad curves are
 * refused with a reason, and the interpolation inference shades with
 * (beat_land_win) follows its stated shape. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "beat_wire.h"
#include "beat_wire_testlib.h"

#define CURVE "[0,0,0,0.01,0.05,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95,1,1,1,1,1]"

static int t_curve_roundtrip(void) {
    const char *in = "{\"v\":1,\"actuator\":\"a\",\"ts\":5,\"campaigns\":{"
                     "\"c1\":{\"multiplier\":1.5,\"paused\":false,\"win_curve\":" CURVE "},"
                     "\"c2\":{\"multiplier\":1,\"win_curve\":null},"
                     "\"c3\":{\"multiplier\":1}},\"private\":{\"x\":1}}";
    beat_state st, back;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_state_decode(in, strlen(in), 10, &st, &why), 0);
    const beat_state_campaign *c = beat_state_find(&st, "c1");
    CHECK(c && c->has_curve);
    CHECK(c->win_curve[0] == 0 && c->win_curve[4] == 0.05f && c->win_curve[19] == 1);
    CHECK(!beat_state_find(&st, "c2")->has_curve);
    CHECK(!beat_state_find(&st, "c3")->has_curve);
    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    /* with_private=false is what the snapshot carries to inference */
    for (int priv = 0; priv < 2; priv++) {
        beat_buf_reset(&b);
        CHECK_EQ_INT(beat_state_encode(&st, priv, &b), 0);
        CHECK(strstr(b.data, "\"win_curve\":[0,0,0,0.01,0.05,0.1,") != NULL);
        CHECK_EQ_INT(beat_state_decode(b.data, b.len, 10, &back, &why), 0);
        CHECK(back.n == st.n);
        CHECK(memcmp(back.c, st.c, sizeof *st.c * (size_t)st.n) == 0);
        beat_state_fini(&back);
    }
    /* the same text again: encode(decode(encode(x))) == encode(x) */
    beat_buf b2;
    beat_buf_init(&b2, 1 << 16);
    CHECK_EQ_INT(beat_state_decode(b.data, b.len, 10, &back, &why), 0);
    CHECK_EQ_INT(beat_state_encode(&back, true, &b2), 0);
    CHECK_EQ_STR(b2.data, b.data);
    beat_state_fini(&back);
    /* no curve: no key, so states without one read exactly as before */
    CHECK(strstr(strstr(b.data, "\"c3\""), "win_curve") == NULL);
    /* the encoder refuses what the decoder would */
    st.c[0].win_curve[7] = 0.01f;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_state_encode(&st, true, &b), -EINVAL);
    beat_buf_fini(&b);
    beat_buf_fini(&b2);
    beat_state_fini(&st);
    return 0;
}

#define ST "{\"v\":1,\"ts\":1,\"campaigns\":{\"c1\":{\"multiplier\":1,\"win_curve\":"
static const bad_case bad[] = {
    {ST "[0.5]}}}", "campaigns.c1.win_curve: must be an array of 20 numbers"},
    {ST "{}}}}", "campaigns.c1.win_curve: must be an array of 20 numbers"},
    {ST "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}}",
     "campaigns.c1.win_curve: must be an array of 20 numbers"},
    {ST "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1.5]}}}",
     "campaigns.c1.win_curve[19]: must be a number in [0, 1]"},
    {ST "[-0.1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}}",
     "campaigns.c1.win_curve[0]: must be a number in [0, 1]"},
    {ST "[0,0,\"0.1\",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}}",
     "campaigns.c1.win_curve[2]: must be a number in [0, 1]"},
    {ST "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1e999,1]}}}",
     "campaigns.c1.win_curve[18]: must be a number in [0, 1]"},
    {ST "[0,0,0,0,0,0.5,0.4,0.6,0.7,0.8,0.9,1,1,1,1,1,1,1,1,1]}}}",
     "campaigns.c1.win_curve[6]: below the one before (must be non-decreasing)"},
};

static int decode_state(const char *json, size_t len, void *out, beat_reason *why) {
    return beat_state_decode(json, len, 2, out, why);
}

static int t_curve_bad(void) {
    beat_state st;
    return ALL_REFUSED(bad, decode_state, st);
}

static int t_curve_shape(void) {
    float w[BEAT_LAND_N];
    for (int i = 0; i < BEAT_LAND_N; i++) w[i] = (float)i / (BEAT_LAND_N - 1);
    w[0] = 0.5f;
    w[1] = 0.5f;
    /* bucket centres: position i, between edges i and i + 1 in log price */
    for (int i = 0; i < BEAT_LAND_N; i++) {
        double p = beat_land_price(i);
        CHECK(p > (double)beat_land_edges[i] && p < (double)beat_land_edges[i + 1]);
        CHECK(fabs(beat_land_pos(p) - i) < 1e-9);
        CHECK(beat_land_bucket((int64_t)p) == i);
    }
    CHECK(beat_land_pos(0) == -HUGE_VAL && beat_land_win(w, beat_land_pos(0)) == 0);
    CHECK(beat_land_win(w, -1.0) == 0);
    CHECK(fabs(beat_land_win(w, -0.5) - 0.25) < 1e-9); /* down to 0 one step below */
    CHECK(fabs(beat_land_win(w, 0) - 0.5) < 1e-9);
    CHECK(fabs(beat_land_win(w, 9.5) - 0.5 * (w[9] + w[10])) < 1e-7);
    CHECK(beat_land_win(w, 19) == 1 && beat_land_win(w, 40) == 1); /* flat above */
    CHECK(beat_land_win(w, NAN) == 0);
    return 0;
}

static const beat_test_case cases[] = {
    {"curve_roundtrip", t_curve_roundtrip},
    {"curve_bad", t_curve_bad},
    {"curve_shape", t_curve_shape},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_wire_curve", cases, argc, argv); }
