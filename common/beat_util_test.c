/* Unit tests for beat_util: bounded buffers, JSON escaping, parsing, rate
 * limiting and the stop flag. */
#include "beat_test.h"
#include "beat_util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int t_buf_basic(void) {
    beat_buf b;
    beat_buf_init(&b, 16);
    CHECK(b.data && b.data[0] == '\0');
    CHECK_EQ_INT(beat_buf_puts(&b, "hello"), 0);
    CHECK_EQ_INT(beat_buf_printf(&b, " %d", 42), 0);
    CHECK_EQ_STR(b.data, "hello 42");
    CHECK_EQ_INT(b.len, 8);
    /* 8 + 9 > 16: refused, unchanged */
    CHECK_EQ_INT(beat_buf_puts(&b, "123456789"), -EMSGSIZE);
    CHECK_EQ_STR(b.data, "hello 42");
    CHECK_EQ_INT(beat_buf_printf(&b, "%s", "123456789"), -EMSGSIZE);
    CHECK_EQ_STR(b.data, "hello 42");
    CHECK_EQ_INT(beat_buf_puts(&b, "12345678"), 0); /* exactly max */
    CHECK_EQ_INT(b.len, 16);
    CHECK_EQ_INT(beat_buf_append(&b, "x", 1), -EMSGSIZE);
    beat_buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_STR(b.data, "");
    beat_buf_fini(&b);
    beat_buf_fini(&b); /* idempotent */
    return 0;
}

static int t_buf_printf_big(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ_INT(beat_buf_printf(&b, "<%s>", big), 0);
    CHECK_EQ_INT(b.len, sizeof big + 1);
    CHECK(b.data[0] == '<' && b.data[b.len - 1] == '>' && b.data[b.len] == 0);
    beat_buf_fini(&b);
    return 0;
}

/* Escapes s and parses the result back with cJSON; returns the decoded
 * string (caller frees) or NULL if the output was not valid JSON. */
static char *roundtrip(const char *s, size_t n) {
    beat_buf b;
    beat_buf_init(&b, 0);
    if (beat_buf_json_str(&b, s, n)) return NULL;
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    char *r = NULL;
    if (j && cJSON_IsString(j)) r = strdup(j->valuestring);
    cJSON_Delete(j);
    beat_buf_fini(&b);
    return r;
}

/* The printf-free integer writers agree with printf on edges and on
 * pseudo-random values of every magnitude. */
static int t_fmt_int(void) {
    static const int64_t edge[] = {
        0, 1, -1, 9, 10, -10, 99, 100, INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000, -999999999};
    char a[BEAT_I64_CHARS], b[64];
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        int n = beat_fmt_i64(a, edge[i]);
        snprintf(b, sizeof b, "%" PRId64, edge[i]);
        CHECK_EQ_STR(a, b);
        CHECK_EQ_INT(n, (int)strlen(b));
    }
    CHECK_EQ_INT(beat_fmt_u64(a, UINT64_MAX), 20);
    CHECK_EQ_STR(a, "18446744073709551615");
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t v = x >> (i % 64);
        beat_fmt_u64(a, v);
        snprintf(b, sizeof b, "%" PRIu64, v);
        CHECK_EQ_STR(a, b);
        int64_t sv = (int64_t)(v >> 1) * (i % 2 ? -1 : 1);
        beat_fmt_i64(a, sv);
        snprintf(b, sizeof b, "%" PRId64, sv);
        CHECK_EQ_STR(a, b);
    }
    beat_buf o;
    beat_buf_init(&o, 0);
    CHECK_EQ_INT(beat_buf_put_i64(&o, -42), 0);
    CHECK_EQ_INT(beat_buf_put_u64(&o, 7), 0);
    CHECK_EQ_STR(o.data, "-427");
    beat_buf_fini(&o);
    return 0;
}

static int t_json_str(void) {
    char *r = roundtrip("a\"b\\c\n\t\x01", 8);
    CHECK(r);
    CHECK_EQ_STR(r, "a\"b\\c\n\t\x01");
    free(r);
    /* valid UTF-8 passes through */
    r = roundtrip("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15);
    CHECK(r);
    CHECK_EQ_STR(r, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    free(r);
    /* invalid bytes become U+FFFD */
    r = roundtrip("x\xff\xc0\xafy\xed\xa0\x80", 8);
    CHECK(r);
    CHECK(strncmp(r, "x\xef\xbf\xbd", 4) == 0);
    CHECK(strchr(r, 'y'));
    free(r);
    /* truncated sequence at the end */
    r = roundtrip("ab\xe2\x82", 4);
    CHECK(r);
    CHECK_EQ_STR(r, "ab\xef\xbf\xbd\xef\xbf\xbd");
    free(r);
    /* embedded NUL is escaped */
    beat_buf b;
    beat_buf_init(&b, 0);
    CHECK_EQ_INT(beat_buf_json_str(&b, "a\0b", 3), 0);
    CHECK_EQ_STR(b.data, "\"a\\u0000b\"");
    beat_buf_fini(&b);
    /* over max: unchanged */
    beat_buf_init(&b, 8);
    CHECK_EQ_INT(beat_buf_puts(&b, "ab"), 0);
    CHECK_EQ_INT(beat_buf_json_str(&b, "\n\n\n", 3), -EMSGSIZE);
    CHECK_EQ_STR(b.data, "ab");
    beat_buf_fini(&b);
    return 0;
}

static int t_reasonf(void) {
    beat_reason why;
    CHECK_EQ_INT(beat_reasonf(&why, -EINVAL, "bad %s", "x"), -EINVAL);
    CHECK_EQ_STR(why.msg, "bad x");
    CHECK_EQ_INT(beat_reasonf(NULL, -ENOENT, "x"), -ENOENT);
    return 0;
}

static int t_clocks(void) {
    int64_t w = beat_now_ms();
    CHECK(w > 1600000000000LL);
    int64_t a = beat_mono_us();
    int64_t b = beat_mono_us();
    CHECK(b >= a);
    CHECK(beat_mono_ms() >= a / 1000);
    return 0;
}

static int t_parse_numbers(void) {
    int64_t i;
    double d;
    CHECK_EQ_INT(beat_parse_i64("123", &i), 0);
    CHECK_EQ_INT(i, 123);
    CHECK_EQ_INT(beat_parse_i64("-9223372036854775808", &i), 0);
    CHECK(i == INT64_MIN);
    CHECK_EQ_INT(beat_parse_i64("9223372036854775808", &i), -EINVAL);
    CHECK_EQ_INT(beat_parse_i64("12x", &i), -EINVAL);
    CHECK_EQ_INT(beat_parse_i64("", &i), -EINVAL);
    CHECK_EQ_INT(beat_parse_i64(" 1", &i), -EINVAL);
    CHECK_EQ_INT(beat_parse_i64("1 ", &i), -EINVAL);
    CHECK_EQ_INT(beat_parse_i64(NULL, &i), -EINVAL);
    CHECK_EQ_INT(beat_parse_double("1.5e3", &d), 0);
    CHECK(d == 1500.0);
    CHECK_EQ_INT(beat_parse_double("-0.25", &d), 0);
    CHECK(d == -0.25);
    CHECK_EQ_INT(beat_parse_double("nan", &d), -EINVAL);
    CHECK_EQ_INT(beat_parse_double("inf", &d), -EINVAL);
    CHECK_EQ_INT(beat_parse_double("1e999", &d), -EINVAL);
    CHECK_EQ_INT(beat_parse_double("1.0x", &d), -EINVAL);
    CHECK_EQ_INT(beat_parse_double("", &d), -EINVAL);
    return 0;
}

static int t_hostport(void) {
    char h[64];
    int p;
    CHECK_EQ_INT(beat_parse_hostport("127.0.0.1:8080", h, sizeof h, &p), 0);
    CHECK_EQ_STR(h, "127.0.0.1");
    CHECK_EQ_INT(p, 8080);
    CHECK_EQ_INT(beat_parse_hostport(":81", h, sizeof h, &p), 0);
    CHECK_EQ_STR(h, "");
    CHECK_EQ_INT(p, 81);
    CHECK_EQ_INT(beat_parse_hostport("[::1]:80", h, sizeof h, &p), 0);
    CHECK_EQ_STR(h, "::1");
    CHECK_EQ_INT(p, 80);
    CHECK_EQ_INT(beat_parse_hostport("localhost:0", h, sizeof h, &p), 0);
    CHECK_EQ_INT(p, 0);
    CHECK_EQ_INT(beat_parse_hostport("host", h, sizeof h, &p), -EINVAL);
    CHECK_EQ_INT(beat_parse_hostport("host:", h, sizeof h, &p), -EINVAL);
    CHECK_EQ_INT(beat_parse_hostport("host:65536", h, sizeof h, &p), -EINVAL);
    CHECK_EQ_INT(beat_parse_hostport("host:-1", h, sizeof h, &p), -EINVAL);
    CHECK_EQ_INT(beat_parse_hostport("host:+1", h, sizeof h, &p), -EINVAL);
    CHECK_EQ_INT(beat_parse_hostport("::1:80", h, sizeof h, &p), -EINVAL);
    CHECK_EQ_INT(beat_parse_hostport("[::1]80", h, sizeof h, &p), -EINVAL);
    CHECK_EQ_INT(beat_parse_hostport("averyveryverylonghostname:1", h, 8, &p), -EINVAL);
    return 0;
}

static int t_ratelimit(void) {
    beat_ratelimit rl = {0};
    uint64_t sup = 99;
    CHECK(beat_ratelimit_ok(&rl, 100000, &sup));
    CHECK_EQ_INT(sup, 0);
    CHECK(!beat_ratelimit_ok(&rl, 100000, &sup));
    CHECK(!beat_ratelimit_ok(&rl, 100000, &sup));
    CHECK(!beat_ratelimit_ok(&rl, 100000, NULL));
    /* Force the window open: the next allowed call reports 3 suppressed. */
    rl.next_ms = 0;
    CHECK(beat_ratelimit_ok(&rl, 100000, &sup));
    CHECK_EQ_INT(sup, 3);
    return 0;
}

static int t_random(void) {
    uint64_t a = beat_random_u64(), b = beat_random_u64();
    CHECK(a != b);
    return 0;
}

static void *stopper(void *arg) {
    (void)arg;
    usleep(50 * 1000);
    raise(SIGTERM); /* goes through the installed handler */
    return NULL;
}

/* Must run last: the stop flag cannot be cleared. */
static int t_stop(void) {
    beat_stop_install();
    CHECK(!beat_stop_requested());
    int64_t t0 = beat_mono_ms();
    CHECK(!beat_stop_sleep_ms(30));
    CHECK(beat_mono_ms() - t0 >= 30);
    /* SIGPIPE is ignored: a write to a closed pipe returns EPIPE. */
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    CHECK(write(fds[1], "x", 1) == -1 && errno == EPIPE);
    close(fds[1]);
    pthread_t th;
    pthread_create(&th, NULL, stopper, NULL);
    t0 = beat_mono_ms();
    CHECK(beat_stop_sleep_ms(10000));
    CHECK(beat_mono_ms() - t0 < 5000);
    pthread_join(th, NULL);
    CHECK(beat_stop_requested());
    /* Every later sleeper returns at once. */
    CHECK(beat_stop_sleep_ms(10000));
    beat_stop_request();
    CHECK(beat_stop_requested());
    return 0;
}

/* Little-endian packing: fixed byte order whatever the host's, and the
 * reads give back what was written at the extremes. */
static int t_le(void) {
    uint8_t b[8];
    beat_put_le32(b, 0x11223344u);
    CHECK(b[0] == 0x44 && b[1] == 0x33 && b[2] == 0x22 && b[3] == 0x11);
    beat_put_le64(b, 0x0102030405060708ULL);
    CHECK(b[0] == 0x08 && b[7] == 0x01);
    CHECK(beat_get_le64(b) == 0x0102030405060708ULL);
    beat_put_le64(b, UINT64_MAX);
    CHECK(beat_get_le64(b) == UINT64_MAX && beat_get_le32(b + 4) == UINT32_MAX);
    return 0;
}

/* The name rule: letters, digits and _.:- only, 1..max bytes; the length
 * is the caller's (no NUL needed). */
static int t_id_ok(void) {
    CHECK(beat_id_ok("camp-1_a.b:c", 12, 64));
    CHECK(beat_id_ok("abcdef", 3, 3)); /* only the first n bytes count */
    CHECK(!beat_id_ok("", 0, 64));
    CHECK(!beat_id_ok("abcd", 4, 3));
    static const char *const bad[] = {"a b", "a/b", "a\"b", "caf\xc3\xa9", "a\n", "a%2f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!beat_id_ok(bad[i], strlen(bad[i]), 64));
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"buf_basic", t_buf_basic},
        {"le", t_le},
        {"buf_printf_big", t_buf_printf_big},
        {"fmt_int", t_fmt_int},
        {"json_str", t_json_str},
        {"reasonf", t_reasonf},
        {"clocks", t_clocks},
        {"parse_numbers", t_parse_numbers},
        {"hostport", t_hostport},
        {"ratelimit", t_ratelimit},
        {"random", t_random},
        {"stop", t_stop},
        {"id_ok", t_id_ok},
        {0},
    };
    return beat_test_main("beat_util", tests, argc, argv);
}
