/* Unit tests for beat_metrics: registration rules, atomic updates from
 * several threads, and the Prometheus text rendering (HELP/TYPE once per
 * base name, labels merged with le, cumulative buckets, +Inf). The
 * rendering is also fed to promtool when it is installed (or named by
 * BEAT_PROMTOOL; BEAT_PROMTOOL= disables). */
#include "beat_metrics.h"
#include "beat_test.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static int count_substr(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) n++;
    return n;
}

static char *render(void) {
    beat_buf b;
    beat_buf_init(&b, 1 << 20);
    if (beat_metrics_render(&b)) return NULL;
    char *s = strdup(b.data);
    beat_buf_fini(&b);
    return s;
}

static int t_register(void) {
    beat_counter *a = beat_counter_new("beat_t_reqs_total", "requests");
    CHECK(a);
    CHECK(beat_counter_new("beat_t_reqs_total", "again") == a);
    CHECK(!beat_gauge_new("beat_t_reqs_total", "wrong type"));
    CHECK(!beat_counter_new("1bad", "x"));
    CHECK(!beat_counter_new("", "x"));
    CHECK(!beat_counter_new("bad-name", "x"));
    CHECK(!beat_counter_new("beat_t_x{peer=\"a\"", "x"));
    CHECK(!beat_counter_new("beat_t_x{peer=a}", "x"));
    CHECK(!beat_counter_new("beat_t_x{1p=\"a\"}", "x"));
    CHECK(!beat_counter_new("beat_t_x{p=\"a\",}", "x"));
    CHECK(
        !beat_histogram_new("beat_t_h{le=\"1\"}", "x", beat_latency_bounds, beat_latency_nbounds));
    double bad[] = {1, 0.5};
    CHECK(!beat_histogram_new("beat_t_badh", "x", bad, 2));
    CHECK(!beat_histogram_new("beat_t_badh", "x", beat_latency_bounds, 33));
    /* same base, different labels: a distinct metric of the same family */
    beat_counter *p1 = beat_counter_new("beat_t_fail_total{peer=\"a\"}", "f");
    beat_counter *p2 = beat_counter_new("beat_t_fail_total{peer=\"b\",kind=\"x\\\"y\"}", "f");
    CHECK(p1 && p2 && p1 != p2);
    CHECK(!beat_gauge_new("beat_t_fail_total{peer=\"c\"}", "wrong family"));
    return 0;
}

/* Any text can be a label value: escaped, and the same value finds the
 * same counter again. */
static int t_labeled(void) {
    const char *url = "http://h:1/a\"b\\c\nd";
    beat_counter *c = beat_counter_labeled("beat_t_link_total", "l", "peer", url);
    CHECK(c);
    CHECK(beat_counter_new("beat_t_link_total{peer=\"http://h:1/a\\\"b\\\\c\\nd\"}", "l") == c);
    CHECK(beat_counter_labeled("beat_t_link_total", "l", "peer", url) == c);
    CHECK(beat_counter_labeled("beat_t_link_total", "l", "peer", "") != NULL);
    CHECK(!beat_counter_labeled("beat_t_link_total", "l", "1peer", "x"));
    CHECK(!beat_counter_labeled("bad-base", "l", "peer", "x"));
    beat_counter_inc(c);
    char *s = render();
    CHECK(s);
    CHECK(strstr(s, "beat_t_link_total{peer=\"http://h:1/a\\\"b\\\\c\\nd\"} 1\n"));
    free(s);
    return 0;
}

static int t_latency_bounds(void) {
    CHECK(beat_latency_nbounds >= 10 && beat_latency_nbounds <= 32);
    CHECK(fabs(beat_latency_bounds[0] - 0.00005) < 1e-12);
    CHECK(fabs(beat_latency_bounds[beat_latency_nbounds - 1] - 5.0) < 1e-12);
    for (int i = 1; i < beat_latency_nbounds; i++)
        CHECK(beat_latency_bounds[i] > beat_latency_bounds[i - 1]);
    return 0;
}

typedef struct {
    beat_counter *c;
    beat_gauge *g;
    beat_histogram *h;
} thr_arg;

static void *hammer(void *p) {
    thr_arg *a = p;
    for (int i = 0; i < 100000; i++) {
        beat_counter_inc(a->c);
        beat_gauge_add(a->g, 1.0);
        beat_histogram_observe(a->h, 0.001);
    }
    return NULL;
}

static int t_threads(void) {
    thr_arg a = {
        beat_counter_new("beat_t_thr_total", "t"), beat_gauge_new("beat_t_thr_inflight", "t"),
        beat_histogram_new("beat_t_thr_seconds", "t", beat_latency_bounds, beat_latency_nbounds)};
    CHECK(a.c && a.g && a.h);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, hammer, &a);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECK_EQ_INT(beat_counter_get(a.c), 400000);
    CHECK(beat_gauge_get(a.g) == 400000.0);
    char *s = render();
    CHECK(s);
    CHECK(strstr(s, "beat_t_thr_seconds_count 400000\n"));
    CHECK(strstr(s, "beat_t_thr_seconds_bucket{le=\"+Inf\"} 400000\n"));
    CHECK(strstr(s, "beat_t_thr_seconds_bucket{le=\"0.0005\"} 0\n"));
    CHECK(strstr(s, "beat_t_thr_seconds_bucket{le=\"0.001\"} 400000\n"));
    free(s);
    return 0;
}

static double gfn(void *arg) { return *(double *)arg; }

static int t_render(void) {
    beat_counter *c1 =
        beat_counter_new("beat_r_fail_total{peer=\"ds1\"}", "link failures\nper peer \\ x");
    beat_gauge *g = beat_gauge_new("beat_r_queue_len", "queue length");
    beat_counter *c2 = beat_counter_new("beat_r_fail_total{peer=\"ds2\"}", "link failures");
    static double fv = 2.5;
    CHECK(beat_gauge_fn_new("beat_r_fn", "computed", gfn, &fv));
    static const double b[] = {0.1, 1, 10};
    beat_histogram *h = beat_histogram_new("beat_r_lat_seconds{path=\"/bid\"}", "latency", b, 3);
    beat_histogram *h2 = beat_histogram_new("beat_r_plain_seconds", "p", b, 3);
    beat_gauge *gn = beat_gauge_new("beat_r_nan", "nan");
    CHECK(c1 && g && c2 && h && h2 && gn);
    beat_counter_add(c1, 3);
    beat_counter_add(c2, 18446744073709551615ULL);
    beat_gauge_set(g, 12);
    beat_gauge_set(gn, NAN);
    beat_histogram_observe(h, 0.05);
    beat_histogram_observe(h, 0.1); /* le is inclusive */
    beat_histogram_observe(h, 5);
    beat_histogram_observe(h, 50);
    beat_histogram_observe(h, NAN); /* ignored */
    beat_histogram_observe(h2, -1);
    char *s = render();
    CHECK(s);
    CHECK_EQ_INT(count_substr(s, "# HELP beat_r_fail_total "), 1);
    CHECK_EQ_INT(count_substr(s, "# TYPE beat_r_fail_total counter\n"), 1);
    CHECK(strstr(s, "# HELP beat_r_fail_total link failures\\nper peer \\\\ x\n"));
    /* both samples follow the family header, together */
    const char *hdr = strstr(s, "# TYPE beat_r_fail_total counter\n");
    CHECK(hdr);
    const char *body = hdr + strlen("# TYPE beat_r_fail_total counter\n");
    CHECK(strncmp(body,
                  "beat_r_fail_total{peer=\"ds1\"} 3\n"
                  "beat_r_fail_total{peer=\"ds2\"} 18446744073709551615\n",
                  83) == 0);
    CHECK(strstr(s, "# TYPE beat_r_queue_len gauge\nbeat_r_queue_len 12\n"));
    CHECK(strstr(s, "# TYPE beat_r_fn gauge\nbeat_r_fn 2.5\n"));
    CHECK(strstr(s, "beat_r_nan NaN\n"));
    CHECK(strstr(s, "# TYPE beat_r_lat_seconds histogram\n"
                    "beat_r_lat_seconds_bucket{path=\"/bid\",le=\"0.1\"} 2\n"
                    "beat_r_lat_seconds_bucket{path=\"/bid\",le=\"1\"} 2\n"
                    "beat_r_lat_seconds_bucket{path=\"/bid\",le=\"10\"} 3\n"
                    "beat_r_lat_seconds_bucket{path=\"/bid\",le=\"+Inf\"} 4\n"
                    "beat_r_lat_seconds_sum{path=\"/bid\"} 55.15\n"
                    "beat_r_lat_seconds_count{path=\"/bid\"} 4\n"));
    CHECK(strstr(s, "beat_r_plain_seconds_bucket{le=\"0.1\"} 1\n"
                    "beat_r_plain_seconds_bucket{le=\"1\"} 1\n"));
    CHECK(strstr(s, "beat_r_plain_seconds_sum -1\n"
                    "beat_r_plain_seconds_count 1\n"));
    /* every line is a comment or "name[{labels}] value" */
    for (char *line = s, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        CHECK(nl);
        if (line[0] == '#') continue;
        char *sp = memchr(line, ' ', (size_t)(nl - line));
        CHECK(sp && sp > line && sp + 1 < nl);
    }
    /* promtool when installed (scripts/deps.sh test installs prometheus). */
    const char *tool = getenv("BEAT_PROMTOOL");
    if (!tool && access("/usr/bin/promtool", X_OK) == 0) tool = "/usr/bin/promtool";
    if (tool && *tool) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s check metrics >/dev/null", tool);
        FILE *p = popen(cmd, "w");
        CHECK(p);
        fputs(s, p);
        int st = pclose(p);
        if (st) fprintf(stderr, "  promtool said no:\n%s", s);
        CHECK(st == 0);
    }
    free(s);
    return 0;
}

static int t_render_bounded(void) {
    beat_buf b;
    beat_buf_init(&b, 64);
    CHECK(beat_metrics_render(&b) < 0);
    beat_buf_fini(&b);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"register", t_register},
        {"labeled", t_labeled},
        {"latency_bounds", t_latency_bounds},
        {"threads", t_threads},
        {"render", t_render},
        {"render_bounded", t_render_bounded},
        {0},
    };
    return beat_test_main("beat_metrics", tests, argc, argv);
}
