/* Unit tests for beat_wire_state.c: the pacing state and the supervisor's
 * heartbeat frame round-trip exactly, and malformed ones are refused with
 * the reason a peer's log would show. */
#include "beat_wire.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "beat_wire_testlib.h"

/* ---- state ---- */

static int t_state_roundtrip(void) {
    const char *in = "{\"v\":1,\"actuator\":\"beat-actuator\",\"ts\":1700000000000,\"version\":12,"
                     "\"campaigns\":{\"c1\":{\"multiplier\":1.2,\"paused\":false,\"spent\":5},"
                     "\"c2\":{\"multiplier\":0,\"paused\":true}},"
                     "\"private\":{ \"pid\" : {\"i\": [1, 2.5, \"x\"]}, \"n\":null }}";
    beat_state st, back;
    beat_reason why;
    CHECK_EQ_INT(beat_state_decode(in, strlen(in), 10, &st, &why), 0);
    CHECK_EQ_STR(st.actuator, "beat-actuator");
    CHECK_EQ_INT(st.version, 12);
    CHECK_EQ_INT(st.n, 2);
    CHECK_EQ_STR(st.private_json, "{\"pid\":{\"i\":[1,2.5,\"x\"]},\"n\":null}");
    const beat_state_campaign *c = beat_state_find(&st, "c1");
    CHECK(c && c->multiplier == 1.2 && !c->paused);
    c = beat_state_find(&st, "c2");
    CHECK(c && c->multiplier == 0 && c->paused);
    CHECK(beat_state_find(&st, "c3") == NULL);

    beat_buf b;
    beat_buf_init(&b, 1 << 16);
    CHECK_EQ_INT(beat_state_encode(&st, true, &b), 0);
    CHECK_EQ_INT(beat_state_decode(b.data, b.len, 10, &back, &why), 0);
    CHECK_EQ_STR(back.actuator, st.actuator);
    CHECK(back.ts_ms == st.ts_ms && back.version == st.version && back.n == st.n);
    CHECK(memcmp(back.c, st.c, sizeof *st.c * (size_t)st.n) == 0);
    CHECK_EQ_STR(back.private_json, st.private_json);
    beat_state_fini(&back);
    /* without private: what inference is sent */
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_state_encode(&st, false, &b), 0);
    CHECK(!strstr(b.data, "private"));
    CHECK_EQ_INT(beat_state_decode(b.data, b.len, 10, &back, &why), 0);
    CHECK(back.private_json == NULL);
    beat_state_fini(&back);
    beat_state_fini(&st);
    CHECK(st.c == NULL && st.private_json == NULL && st.n == 0);

    /* minimal: no actuator, no version, no campaigns */
    const char *min = "{\"v\":1,\"ts\":0,\"campaigns\":{},\"private\":null}";
    CHECK_EQ_INT(beat_state_decode(min, strlen(min), 0, &st, &why), 0);
    CHECK(st.n == 0 && st.version == 0 && st.private_json == NULL && st.actuator[0] == 0);
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_state_encode(&st, true, &b), 0);
    CHECK_EQ_STR(b.data, "{\"v\":1,\"ts\":0,\"campaigns\":{}}");
    beat_state_fini(&st);
    beat_buf_fini(&b);
    return 0;
}

#define ST "{\"v\":1,\"actuator\":\"a\",\"ts\":1,"
static const bad_case bad_states[] = {
    {"{\"v\":1,\"actuator\":\"a\",\"ts\":1}", "campaigns: missing"},
    {ST "\"campaigns\":[]}", "campaigns: must be an object"},
    {"{\"v\":1,\"actuator\":\"a\",\"campaigns\":{}}", "ts: missing"},
    {"{\"v\":3,\"ts\":1,\"campaigns\":{}}", "unsupported version"},
    {ST "\"version\":-1,\"campaigns\":{}}", "version: must be >= 0"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":-1}}}", "campaigns.c1.multiplier: must be >= 0"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1e999}}}",
     "campaigns.c1.multiplier: must be a finite number"},
    {ST "\"campaigns\":{\"c1\":{\"paused\":true}}}", "campaigns.c1.multiplier: missing"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1,\"paused\":\"yes\"}}}",
     "campaigns.c1.paused: must be true or false"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1},\"c1\":{\"multiplier\":2}}}",
     "campaigns.c1: duplicate campaign"},
    {ST "\"campaigns\":{\"c1\":{\"multiplier\":1},\"c2\":{\"multiplier\":2},\"c3\":{\"multiplier\":"
        "2}}}",
     "campaigns: too many (3 > 2)"},
    {ST "\"campaigns\":{\"0123456789012345678901234567890123456789012345678901234567890123X\":{"
        "\"multiplier\":1}}}",
     "longer than 64"},
    {ST "\"campaigns\":{\"\":{\"multiplier\":1}}}", "must not be empty"},
    {ST "\"campaigns\":{\"c1\":5}}", "campaigns.c1: must be an object"},
    {"{\"v\":1,\"actuator\":7,\"ts\":1,\"campaigns\":{}}", "actuator: must be a string"},
    {ST "\"campaigns\":{}", "invalid JSON"},
};

static int decode_state(const char *json, size_t len, void *out, beat_reason *why) {
    return beat_state_decode(json, len, 2, out, why);
}

static int t_state_bad(void) {
    beat_state st;
    return ALL_REFUSED(bad_states, decode_state, st);
}

/* ---- heartbeat ---- */

static int t_heartbeat(void) {
    beat_heartbeat hb = {.ts_ms = 1700000000000,
                         .campaigns_version = 3,
                         .state_version = 9007199254740992,
                         .model_version = 0,
                         .snapshot_crc = 0xffffffffu,
                         .model_crc = 12345},
                   back;
    beat_buf b;
    beat_reason why;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(beat_heartbeat_encode(&hb, &b), 0);
    CHECK(b.data[0] == BEAT_FRAME_HEARTBEAT);
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, b.len, &back, &why), 0);
    CHECK(memcmp(&hb, &back, sizeof hb) == 0);
    /* segments_version: written only when there are lists, read back */
    CHECK(!strstr(b.data, "segments_version"));
    hb.segments_version = 12;
    beat_buf_reset(&b);
    CHECK_EQ_INT(beat_heartbeat_encode(&hb, &b), 0);
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, b.len, &back, &why), 0);
    CHECK_EQ_INT(back.segments_version, 12);
    /* refused: wrong tag, empty, missing field, crc beyond 32 bits */
    b.data[0] = 'S';
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, b.len, &back, &why), -EBADMSG);
    CHECK_REASON(why, "not a heartbeat");
    CHECK_EQ_INT(beat_heartbeat_decode(b.data, 0, &back, &why), -EBADMSG);
    const char *m = "H{\"v\":1,\"ts\":1,\"campaigns_version\":1,\"state_version\":1,\"model_"
                    "version\":1,\"snapshot_crc\":1}";
    CHECK_EQ_INT(beat_heartbeat_decode(m, strlen(m), &back, &why), -EBADMSG);
    CHECK_REASON(why, "model_crc: missing");
    m = "H{\"v\":1,\"ts\":1,\"campaigns_version\":1,\"state_version\":1,\"model_version\":1,"
        "\"snapshot_crc\":4294967296,\"model_crc\":0}";
    CHECK_EQ_INT(beat_heartbeat_decode(m, strlen(m), &back, &why), -EBADMSG);
    CHECK_REASON(why, "snapshot_crc: must be <=");
    beat_buf_fini(&b);
    return 0;
}

static const beat_test_case cases[] = {
    {"state_roundtrip", t_state_roundtrip},
    {"state_bad", t_state_bad},
    {"heartbeat", t_heartbeat},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_wire_state", cases, argc, argv); }
