/* Unit tests for beat_cfg: precedence default < env < flag, bounds, bad
 * values (beat_cfg_set in-process; the exit-64 paths in a forked child),
 * STRLIST semantics, --help / --help-md output. */
#include "beat_cfg.h"
#include "beat_test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char *o_listen;
static char *o_secret;
static char *o_unset;
static int64_t o_n;
static double o_ratio;
static bool o_flag;
static beat_strlist o_urls;

/* One option per entry, its fields named: a table, laid out by hand. */
/* clang-format off */
static const beat_opt opts[] = {
    {.name = "listen", .env = "BT_LISTEN", .type = BEAT_OPT_STR, .dst = &o_listen,
     .def = "127.0.0.1:8080", .help = "address to listen on"},
    {.name = "secret", .env = "BT_SECRET", .type = BEAT_OPT_STR, .dst = &o_secret,
     .def = "dev-secret", .help = "shared secret", .secret = true},
    {.name = "unset", .type = BEAT_OPT_STR, .dst = &o_unset, .help = "no default"},
    {.name = "n", .env = "BT_N", .type = BEAT_OPT_INT, .dst = &o_n, .def = "5", .min = 1,
     .max = 100, .help = "a count | with pipe"},
    {.name = "ratio", .env = "BT_RATIO", .type = BEAT_OPT_DBL, .dst = &o_ratio, .def = "0.5",
     .min = 0, .max = 1, .help = "a ratio"},
    {.name = "flag", .env = "BT_FLAG", .type = BEAT_OPT_BOOL, .dst = &o_flag, .def = "false",
     .help = "a flag"},
    {.name = "url", .env = "BT_URLS", .type = BEAT_OPT_STRLIST, .dst = &o_urls,
     .def = "http://a,http://b", .help = "peers"},
    BEAT_OPT_END,
};
/* clang-format on */

static void clear_env(void) {
    unsetenv("BT_LISTEN");
    unsetenv("BT_SECRET");
    unsetenv("BT_N");
    unsetenv("BT_RATIO");
    unsetenv("BT_FLAG");
    unsetenv("BT_URLS");
}

static void parse(int argc, char **argv, int *first) {
    beat_cfg_parse("cfgtest", "test program", opts, argc, argv, first);
}

static int t_defaults(void) {
    clear_env();
    char *argv[] = {"cfgtest", NULL};
    parse(1, argv, NULL);
    CHECK_EQ_STR(o_listen, "127.0.0.1:8080");
    CHECK(o_unset == NULL);
    CHECK_EQ_INT(o_n, 5);
    CHECK(o_ratio == 0.5);
    CHECK(!o_flag);
    CHECK_EQ_INT(o_urls.n, 2);
    CHECK_EQ_STR(o_urls.v[0], "http://a");
    CHECK_EQ_STR(o_urls.v[1], "http://b");
    return 0;
}

static int t_env_then_flag(void) {
    clear_env();
    setenv("BT_LISTEN", ":9000", 1);
    setenv("BT_N", "7", 1);
    setenv("BT_FLAG", "yes", 1);
    setenv("BT_URLS", "http://e1, http://e2,,http://e3", 1);
    char *argv[] = {"cfgtest", NULL};
    parse(1, argv, NULL);
    CHECK_EQ_STR(o_listen, ":9000");
    CHECK_EQ_INT(o_n, 7);
    CHECK(o_flag);
    CHECK_EQ_INT(o_urls.n, 3);
    CHECK_EQ_STR(o_urls.v[1], "http://e2");
    CHECK_EQ_STR(o_urls.v[2], "http://e3");
    /* empty env: unset for numbers/bools, a value for strings and lists */
    setenv("BT_N", "", 1);
    setenv("BT_LISTEN", "", 1);
    setenv("BT_URLS", "", 1);
    parse(1, argv, NULL);
    CHECK_EQ_INT(o_n, 5);
    CHECK_EQ_STR(o_listen, "");
    CHECK_EQ_INT(o_urls.n, 0);
    setenv("BT_N", "7", 1);
    setenv("BT_LISTEN", ":9000", 1);

    /* flags beat env; a repeated list flag replaces the env list */
    char *argv2[] = {
        "cfgtest",         "--listen=:9100", "--n", "9", "--flag=false", "--url", "http://f1",
        "--url=http://f2", "--ratio",        "1",   NULL};
    parse(10, argv2, NULL);
    CHECK_EQ_STR(o_listen, ":9100");
    CHECK_EQ_INT(o_n, 9);
    CHECK(!o_flag);
    CHECK(o_ratio == 1.0);
    CHECK_EQ_INT(o_urls.n, 2);
    CHECK_EQ_STR(o_urls.v[0], "http://f1");
    CHECK_EQ_STR(o_urls.v[1], "http://f2");

    /* bare bool flag = true; positional args handed back */
    char *argv3[] = {"cfgtest", "--flag", "pos1", "pos2", NULL};
    int first = -1;
    parse(4, argv3, &first);
    CHECK(o_flag);
    CHECK(first >= 1 && first < 4);
    CHECK_EQ_STR(argv3[first], "pos1");
    clear_env();
    return 0;
}

static int t_set_bounds(void) {
    char err[128];
    const beat_opt *n = &opts[3], *r = &opts[4], *f = &opts[5], *u = &opts[6];
    CHECK_EQ_INT(beat_cfg_set(n, "100", err, sizeof err), 0);
    CHECK_EQ_INT(o_n, 100);
    CHECK_EQ_INT(beat_cfg_set(n, "101", err, sizeof err), -EINVAL);
    CHECK(strstr(err, "range"));
    CHECK_EQ_INT(o_n, 100); /* unchanged on error */
    CHECK_EQ_INT(beat_cfg_set(n, "0", err, sizeof err), -EINVAL);
    CHECK_EQ_INT(beat_cfg_set(n, "5x", err, sizeof err), -EINVAL);
    CHECK(strstr(err, "integer"));
    CHECK_EQ_INT(beat_cfg_set(n, "", err, sizeof err), -EINVAL);
    CHECK_EQ_INT(beat_cfg_set(r, "1.5", err, sizeof err), -EINVAL);
    CHECK_EQ_INT(beat_cfg_set(r, "nan", err, sizeof err), -EINVAL);
    CHECK_EQ_INT(beat_cfg_set(r, "0.25", err, sizeof err), 0);
    CHECK(o_ratio == 0.25);
    CHECK_EQ_INT(beat_cfg_set(f, "maybe", err, sizeof err), -EINVAL);
    CHECK_EQ_INT(beat_cfg_set(f, "TRUE", err, sizeof err), 0);
    CHECK(o_flag);
    CHECK_EQ_INT(beat_cfg_set(f, "0", err, sizeof err), 0);
    CHECK(!o_flag);
    CHECK_EQ_INT(beat_cfg_set(u, "x,y", err, sizeof err), 0);
    CHECK_EQ_INT(o_urls.n, 2);
    CHECK_EQ_INT(beat_cfg_set(u, "", err, sizeof err), 0);
    CHECK_EQ_INT(o_urls.n, 0);
    /* err may be NULL */
    CHECK_EQ_INT(beat_cfg_set(n, "x", NULL, 0), -EINVAL);
    /* A designated initializer that leaves min and max out is unbounded. */
    int64_t any = 0;
    const beat_opt free_int = {.name = "any", .type = BEAT_OPT_INT, .dst = &any, .help = "h"};
    CHECK_EQ_INT(beat_cfg_set(&free_int, "-7", err, sizeof err), 0);
    CHECK_EQ_INT(any, -7);
    /* So is one whose min is above its max. */
    const beat_opt inverted = {
        .name = "inv", .type = BEAT_OPT_INT, .dst = &any, .min = 0, .max = -1, .help = "h"};
    CHECK_EQ_INT(beat_cfg_set(&inverted, "-9", err, sizeof err), 0);
    CHECK_EQ_INT(any, -9);
    CHECK_EQ_INT(beat_cfg_set(&free_int, "123456789", err, sizeof err), 0);
    CHECK_EQ_INT(any, 123456789);
    return 0;
}

/* Runs parse in a child with stdout/stderr captured; returns exit status. */
static int run_child(char **argv, int argc, char *out, size_t out_len) {
    int p[2];
    if (pipe(p)) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        parse(argc, argv, NULL);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], out + n, out_len - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int t_exit_paths(void) {
    static char out[65536];
    clear_env();
    char *a1[] = {"cfgtest", "--n", "1000", NULL};
    CHECK_EQ_INT(run_child(a1, 3, out, sizeof out), 64);
    CHECK(strstr(out, "cfgtest: --n: "));
    char *a2[] = {"cfgtest", "--bogus", NULL};
    CHECK_EQ_INT(run_child(a2, 2, out, sizeof out), 64);
    CHECK(strstr(out, "cfgtest: --bogus: unknown option"));
    char *a3[] = {"cfgtest", "--n", NULL};
    CHECK_EQ_INT(run_child(a3, 2, out, sizeof out), 64);
    CHECK(strstr(out, "cfgtest: --n: missing value"));
    char *a4[] = {"cfgtest", "stray", NULL};
    CHECK_EQ_INT(run_child(a4, 2, out, sizeof out), 64);
    setenv("BT_RATIO", "2", 1);
    char *a5[] = {"cfgtest", NULL};
    CHECK_EQ_INT(run_child(a5, 1, out, sizeof out), 64);
    CHECK(strstr(out, "cfgtest: --ratio: "));
    CHECK(strstr(out, "BT_RATIO"));
    clear_env();
    char *a6[] = {"cfgtest", "--flag=perhaps", NULL};
    CHECK_EQ_INT(run_child(a6, 2, out, sizeof out), 64);

    char *h[] = {"cfgtest", "--help", NULL};
    CHECK_EQ_INT(run_child(h, 2, out, sizeof out), 0);
    CHECK(strstr(out, "--listen"));
    CHECK(strstr(out, "BT_LISTEN"));
    CHECK(strstr(out, "127.0.0.1:8080"));
    CHECK(strstr(out, "[1, 100]"));
    CHECK(!strstr(out, "dev-secret"));
    char *md[] = {"cfgtest", "--help-md", NULL};
    CHECK_EQ_INT(run_child(md, 2, out, sizeof out), 0);
    CHECK(strstr(out, "| Flag | Env |"));
    CHECK(strstr(out, "| `--n` | `BT_N` |"));
    CHECK(strstr(out, "a count \\| with pipe"));
    CHECK(!strstr(out, "dev-secret"));
    return 0;
}

static int t_cfg_log(void) {
    clear_env();
    char *argv[] = {"cfgtest", NULL};
    parse(1, argv, NULL);
    int p[2];
    CHECK(pipe(p) == 0);
    int saved = dup(2);
    dup2(p[1], 2);
    beat_cfg_log(opts);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    char out[8192];
    ssize_t n = read(p[0], out, sizeof out - 1);
    close(p[0]);
    CHECK(n > 0);
    out[n] = '\0';
    CHECK(strstr(out, "\"ev\":\"config\""));
    CHECK(strstr(out, "\"listen\":\"127.0.0.1:8080\""));
    CHECK(strstr(out, "\"secret\":\"***\""));
    CHECK(!strstr(out, "dev-secret"));
    CHECK(strstr(out, "\"n\":5"));
    CHECK(strstr(out, "\"url\":\"http://a,http://b\""));
    return 0;
}

/* Secrets outside --dev (docs/deploy.md "Secrets and --dev"): empty and the
 * public development value are refused with 64; --dev accepts them and
 * substitutes the development value for an empty one. */
static int t_secret(void) {
    static char real[] = "s3cret", empty[] = "", dev[] = "dev-secret";
    char *v = real;
    CHECK_EQ_INT(beat_cfg_secret("cfgtest", "secret", "BT_SECRET", &v, "dev-secret", false), 0);
    CHECK(v == real);
    v = NULL;
    CHECK_EQ_INT(beat_cfg_secret("cfgtest", "secret", "BT_SECRET", &v, "dev-secret", false), 64);
    v = empty;
    CHECK_EQ_INT(beat_cfg_secret("cfgtest", "secret", "BT_SECRET", &v, NULL, false), 64);
    v = dev;
    CHECK_EQ_INT(beat_cfg_secret("cfgtest", "secret", "BT_SECRET", &v, "dev-secret", false), 64);
    CHECK(v == dev);
    v = empty;
    CHECK_EQ_INT(beat_cfg_secret("cfgtest", "secret", "BT_SECRET", &v, "dev-secret", true), 0);
    CHECK_EQ_STR(v, "dev-secret");
    v = empty; /* no development value (a token): empty stays empty */
    CHECK_EQ_INT(beat_cfg_secret("cfgtest", "token", "BT_TOKEN", &v, NULL, true), 0);
    CHECK_EQ_STR(v, "");
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"defaults", t_defaults},
        {"env_then_flag", t_env_then_flag},
        {"set_bounds", t_set_bounds},
        {"exit_paths", t_exit_paths},
        {"cfg_log", t_cfg_log},
        {"secret", t_secret},
        {0},
    };
    return beat_test_main("beat_cfg", tests, argc, argv);
}
