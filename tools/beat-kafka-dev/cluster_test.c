/* Stable ports of the dev broker: the bind() override remaps only inside
 * its window and only port-0 AF_INET binds; a whole mock cluster comes up on
 * the chosen ports, comes back on the same ones right after being torn
 * down, and refuses (after its bind wait) when they are taken. Also the
 * atomic bootstrap file. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "beat_log.h"
#include "beat_test.h"
#include "bindmap.h"
#include "cluster.h"

static int bound_port(int fd) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &l) != 0) return -1;
    return ntohs(a.sin_port);
}

static int bind_any(int fd, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr = {htonl(INADDR_LOOPBACK)}};
    return bind(fd, (struct sockaddr *)&a, sizeof a);
}

/* A base port with base and base+1 free right now (best effort). */
static int free_pair(void) {
    for (int tries = 0; tries < 50; tries++) {
        int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
        int p = -1;
        if (bind_any(a, 0) == 0) {
            p = bound_port(a);
            if (p >= 65535 || bind_any(b, p + 1) != 0) p = -1;
        }
        close(a);
        close(b);
        if (p > 0) return p;
    }
    return -1;
}

static int t_window(void) {
    int base = free_pair();
    CHECK(base > 0);
    int s1 = socket(AF_INET, SOCK_STREAM, 0), s2 = socket(AF_INET, SOCK_STREAM, 0);
    int s3 = socket(AF_INET, SOCK_STREAM, 0), s4 = socket(AF_INET, SOCK_STREAM, 0);
    /* Outside the window: untouched. */
    CHECK_EQ_INT(bind_any(s1, 0), 0);
    CHECK(bound_port(s1) != base);
    kdev_bindmap_begin(base);
    CHECK_EQ_INT(bind_any(s2, 0), 0);
    CHECK_EQ_INT(bind_any(s3, 0), 0);
    int err = -1;
    int remapped = kdev_bindmap_end(&err);
    CHECK_EQ_INT(remapped, 2);
    CHECK_EQ_INT(err, 0);
    CHECK_EQ_INT(bound_port(s2), base);
    CHECK_EQ_INT(bound_port(s3), base + 1);
    int on = 0;
    socklen_t l = sizeof on;
    CHECK_EQ_INT(getsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &on, &l), 0);
    CHECK(on != 0);
    /* Window closed again. */
    CHECK_EQ_INT(bind_any(s4, 0), 0);
    CHECK(bound_port(s4) != base + 2);
    close(s1), close(s2), close(s3), close(s4);

    /* A taken port falls back to an ephemeral one (librdkafka must not see
     * a failure) and the errno is reported. */
    int t1 = socket(AF_INET, SOCK_STREAM, 0), t2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ_INT(bind_any(t1, base), 0);
    CHECK_EQ_INT(listen(t1, 1), 0);
    kdev_bindmap_begin(base);
    CHECK_EQ_INT(bind_any(t2, 0), 0);
    CHECK(bound_port(t2) != base);
    CHECK_EQ_INT(kdev_bindmap_end(&err), 0);
    CHECK_EQ_INT(err, EADDRINUSE);
    close(t1), close(t2);
    return 0;
}

static int t_cluster_same_ports_after_restart(void) {
    int base = free_pair();
    CHECK(base > 0);
    kdev_cluster c;
    CHECK_EQ_INT(kdev_cluster_init(&c, base, 2, 3, "t.events", 0), 0);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d,127.0.0.1:%d", base, base + 1);
    CHECK_EQ_STR(c.bootstraps, want);
    /* While it runs, a second one cannot take the ports (bounded wait). */
    kdev_cluster d;
    int64_t t0 = beat_mono_ms();
    CHECK(kdev_cluster_init(&d, base, 1, 1, "t.events", 300) < 0);
    CHECK(beat_mono_ms() - t0 >= 250);
    kdev_cluster_fini(&c);
    /* Right after teardown: the same ports again. */
    CHECK_EQ_INT(kdev_cluster_init(&c, base, 2, 3, "t.events", 2000), 0);
    CHECK_EQ_STR(c.bootstraps, want);
    kdev_cluster_fini(&c);
    return 0;
}

static int t_bootstrap_file(void) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/beat-kdev-test-%d.boot", (int)getpid());
    CHECK_EQ_INT(kdev_write_bootstrap(path, "127.0.0.1:9092"), 0);
    CHECK_EQ_INT(kdev_write_bootstrap(path, "127.0.0.1:9093,127.0.0.1:9094"), 0);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char buf[128] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    unlink(path);
    buf[n] = '\0';
    CHECK_EQ_STR(buf, "127.0.0.1:9093,127.0.0.1:9094\n");
    CHECK(kdev_write_bootstrap("/nonexistent-dir/x", "a") < 0);
    return 0;
}

int main(int argc, char **argv) {
    beat_log_init("kafka-dev-test", BEAT_ERROR);
    static const beat_test_case cases[] = {
        {"window", t_window},
        {"cluster_same_ports_after_restart", t_cluster_same_ports_after_restart},
        {"bootstrap_file", t_bootstrap_file},
        {NULL, NULL},
    };
    return beat_test_main("kafka_dev_cluster", cases, argc, argv);
}
