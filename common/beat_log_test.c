/* Unit tests for beat_log: every line is one valid JSON object whatever the
 * arguments hold; logfmt fields become typed JSON fields; levels filter;
 * counts and suppressed work. stderr is captured into a temporary file. */
#include "beat_log.h"
#include "beat_test.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static int saved_fd = -1;
static FILE *cap;

static void capture_begin(void) {
    fflush(stderr);
    cap = tmpfile();
    saved_fd = dup(STDERR_FILENO);
    dup2(fileno(cap), STDERR_FILENO);
}

/* Returns what was written to stderr since capture_begin (caller frees). */
static char *capture_end(void) {
    fflush(stderr);
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    long n = ftell(cap);
    char *s = malloc((size_t)n + 1);
    rewind(cap);
    size_t got = fread(s, 1, (size_t)n, cap);
    s[got] = '\0';
    fclose(cap);
    return s;
}

/* Parses the single line in s (must end in exactly one newline). */
static cJSON *one_line(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || s[n - 1] != '\n' || memchr(s, '\n', n - 1)) return NULL;
    cJSON *j = cJSON_ParseWithLength(s, n - 1);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static const char *jstr(const cJSON *j, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *j, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int t_basic_fields(void) {
    beat_log_init("tsvc", BEAT_INFO);
    capture_begin();
    beat_log(BEAT_WARN, "peer_down", "peer=%s err=%d ratio=%.2f", "http://x:1/a", -111, 0.5);
    char *s = capture_end();
    cJSON *j = one_line(s);
    CHECK(j);
    /* fixed fields first, in order */
    CHECK(strncmp(s, "{\"ts\":", 6) == 0);
    CHECK(strstr(s, "\"lvl\":\"warn\",\"svc\":\"tsvc\",\"ev\":\"peer_down\""));
    CHECK(jnum(j, "ts") > 1600000000000.0);
    CHECK_EQ_STR(jstr(j, "peer"), "http://x:1/a");
    CHECK(jnum(j, "err") == -111);
    CHECK(jnum(j, "ratio") == 0.5);
    CHECK(!cJSON_GetObjectItem(j, "suppressed"));
    CHECK(!cJSON_GetObjectItem(j, "msg"));
    CHECK_EQ_STR(beat_log_svc(), "tsvc");
    cJSON_Delete(j);
    free(s);
    return 0;
}

static int t_quoted_and_msg(void) {
    capture_begin();
    beat_log(BEAT_INFO, "x",
             "starting up name=\"a b \\\"c\\\"\" n=007 v=1e999 "
             "z=-0 h=0x10 t=true empty=");
    char *s = capture_end();
    cJSON *j = one_line(s);
    CHECK(j);
    CHECK_EQ_STR(jstr(j, "msg"), "starting up");
    CHECK_EQ_STR(jstr(j, "name"), "a b \"c\"");
    CHECK_EQ_STR(jstr(j, "n"), "007");   /* not a JSON number */
    CHECK_EQ_STR(jstr(j, "v"), "1e999"); /* not finite */
    CHECK(jnum(j, "z") == 0);
    CHECK_EQ_STR(jstr(j, "h"), "0x10");
    CHECK_EQ_STR(jstr(j, "t"), "true");
    CHECK_EQ_STR(jstr(j, "empty"), "");
    cJSON_Delete(j);
    free(s);
    return 0;
}

static int t_reserved_keys(void) {
    capture_begin();
    beat_log(BEAT_INFO, "real", "ev=fake ts=1 lvl=x svc=y");
    char *s = capture_end();
    cJSON *j = one_line(s);
    CHECK(j);
    CHECK_EQ_STR(jstr(j, "ev"), "real");
    CHECK_EQ_STR(jstr(j, "_ev"), "fake");
    CHECK_EQ_STR(jstr(j, "svc"), "tsvc");
    CHECK(jnum(j, "_ts") == 1);
    cJSON_Delete(j);
    free(s);
    return 0;
}

static int t_nasty_inputs(void) {
    static const char *nasty[] = {
        "a\"b",
        "\"",
        "\\",
        "\\\"",
        "x\ny",
        "\r\n\t\b\f",
        "\x01\x02\x1f\x7f",
        "\xff\xfe",
        "\xc3",
        "\xe2\x82",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "k=\"unterminated",
        "=",
        "==",
        "a=b=c",
        "}",
        "{\"x\":1}",
        "",
        "\xc0\xaf",
        "caf\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
        capture_begin();
        beat_log(BEAT_ERROR, nasty[i], "v=%s q=\"%s\" %s k%s=1", nasty[i], nasty[i], nasty[i],
                 nasty[i]);
        char *s = capture_end();
        cJSON *j = one_line(s);
        if (!j) fprintf(stderr, "  input %zu gave: %s", i, s);
        CHECK(j);
        CHECK_EQ_STR(jstr(j, "lvl"), "error");
        cJSON_Delete(j);
        free(s);
    }
    /* a NULL-free but odd format and a NULL ev */
    capture_begin();
    beat_log(BEAT_INFO, NULL, "%s", "   ");
    char *s = capture_end();
    cJSON *j = one_line(s);
    CHECK(j);
    CHECK_EQ_STR(jstr(j, "ev"), "");
    cJSON_Delete(j);
    free(s);
    return 0;
}

static int t_huge_value(void) {
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) big[i] = (char)(i % 7 == 0 ? '\n' : '"');
    big[n] = '\0';
    capture_begin();
    beat_log(BEAT_INFO, "big", "v=%s w=%d", big, 5);
    char *s = capture_end();
    cJSON *j = one_line(s);
    CHECK(j);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
    CHECK(strlen(s) < 200 * 1024);
    cJSON_Delete(j);
    free(s);
    /* a value just over the small stack buffer is not truncated */
    memset(big, 'z', 3000);
    big[3000] = '\0';
    capture_begin();
    beat_log(BEAT_INFO, "mid", "v=%s w=%d", big, 5);
    s = capture_end();
    j = one_line(s);
    CHECK(j);
    CHECK(strlen(jstr(j, "v")) == 3000);
    CHECK(jnum(j, "w") == 5);
    CHECK(!cJSON_GetObjectItem(j, "truncated"));
    cJSON_Delete(j);
    free(s);
    free(big);
    return 0;
}

static int t_levels_and_counts(void) {
    beat_log_level l;
    CHECK_EQ_INT(beat_log_level_parse("debug", &l), 0);
    CHECK_EQ_INT(l, BEAT_DEBUG);
    CHECK_EQ_INT(beat_log_level_parse("WARN", &l), 0);
    CHECK_EQ_INT(l, BEAT_WARN);
    CHECK_EQ_INT(beat_log_level_parse("error", &l), 0);
    CHECK_EQ_INT(l, BEAT_ERROR);
    CHECK(beat_log_level_parse("loud", &l) < 0);
    CHECK(beat_log_level_parse(NULL, &l) < 0);

    beat_log_init("tsvc", BEAT_WARN);
    uint64_t w0 = beat_log_count(BEAT_WARN), i0 = beat_log_count(BEAT_INFO);
    uint64_t f0 = beat_log_count(BEAT_FATAL);
    capture_begin();
    beat_log(BEAT_INFO, "hidden", "a=1");
    beat_log(BEAT_DEBUG, "hidden", "a=1");
    beat_log(BEAT_WARN, "shown", "a=1");
    beat_log(BEAT_FATAL, "dying", "a=1");
    char *s = capture_end();
    CHECK(!strstr(s, "hidden"));
    CHECK(strstr(s, "\"ev\":\"shown\""));
    CHECK(strstr(s, "\"lvl\":\"fatal\""));
    CHECK_EQ_INT(beat_log_count(BEAT_WARN), w0 + 1);
    CHECK_EQ_INT(beat_log_count(BEAT_INFO), i0);
    CHECK_EQ_INT(beat_log_count(BEAT_FATAL), f0 + 1);
    free(s);
    beat_log_init("tsvc", BEAT_INFO);
    return 0;
}

static int t_suppressed(void) {
    capture_begin();
    for (int i = 0; i < 5; i++) beat_log_rl(100000, BEAT_WARN, "flaky", "i=%d", i);
    beat_log_suppressed(BEAT_WARN, "direct", 7, "x=%d", 1);
    char *s = capture_end();
    /* exactly one rate-limited line, then the direct one */
    char *nl = strchr(s, '\n');
    CHECK(nl);
    *nl = '\0';
    cJSON *j = cJSON_Parse(s);
    CHECK(j);
    CHECK(jnum(j, "i") == 0);
    CHECK(!cJSON_GetObjectItem(j, "suppressed"));
    cJSON_Delete(j);
    j = one_line(nl + 1);
    CHECK(j);
    CHECK(jnum(j, "suppressed") == 7);
    CHECK_EQ_STR(jstr(j, "ev"), "direct");
    cJSON_Delete(j);
    free(s);
    return 0;
}

/* A reason quoting input stays one value once made safe. */
static int t_value_safe(void) {
    char why[] = "bad \"x\\\" y\"";
    beat_log_value_safe(why);
    CHECK_EQ_STR(why, "bad 'x'' y'");
    beat_log_value_safe(NULL); /* nothing to do */
    capture_begin();
    beat_log(BEAT_INFO, "x", "reason=\"%s\" n=1", why);
    char *s = capture_end();
    cJSON *j = one_line(s);
    CHECK(j);
    CHECK_EQ_STR(jstr(j, "reason"), "bad 'x'' y'");
    CHECK(jnum(j, "n") == 1);
    cJSON_Delete(j);
    free(s);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"basic_fields", t_basic_fields},
        {"quoted_and_msg", t_quoted_and_msg},
        {"reserved_keys", t_reserved_keys},
        {"nasty_inputs", t_nasty_inputs},
        {"huge_value", t_huge_value},
        {"levels_and_counts", t_levels_and_counts},
        {"suppressed", t_suppressed},
        {"value_safe", t_value_safe},
        {0},
    };
    beat_log_init("tsvc", BEAT_INFO);
    return beat_test_main("beat_log", tests, argc, argv);
}
