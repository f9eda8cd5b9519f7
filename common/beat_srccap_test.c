/* The per-source connection cap: counting up to the cap and back down,
 * exempt networks, IPv4 / IPv6 / IPv4-mapped peers, a table that stays
 * bounded through churn, and threads admitting at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "beat_srccap.h"
#include "beat_test.h"

static struct sockaddr_storage addr(const char *ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) a4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) a6->sin6_family = AF_INET6;
    return ss;
}
#define SA(ss) ((const struct sockaddr *)&(ss))

static int t_cap_and_release(void) {
    int err = 0;
    beat_srccap *s = beat_srccap_new(3, 100, NULL, &err);
    CHECK(s != NULL);
    struct sockaddr_storage a = addr("127.0.0.2"), b = addr("127.0.0.1");
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(beat_srccap_admit(s, SA(a)), 1);
    CHECK_EQ_INT(beat_srccap_admit(s, SA(a)), -EBUSY); /* the fourth from one address */
    CHECK_EQ_INT(beat_srccap_admit(s, SA(b)), 1);      /* another address is not affected */
    CHECK_EQ_INT(beat_srccap_count(s, SA(a)), 3);
    CHECK_EQ_INT(beat_srccap_sources(s), 2);
    beat_srccap_release(s, SA(a));
    CHECK_EQ_INT(beat_srccap_admit(s, SA(a)), 1); /* a close makes room for one */
    for (int i = 0; i < 3; i++) beat_srccap_release(s, SA(a));
    beat_srccap_release(s, SA(b));
    CHECK_EQ_INT(beat_srccap_sources(s), 0);
    CHECK_EQ_INT(beat_srccap_count(s, SA(a)), 0);
    beat_srccap_release(s, SA(a)); /* more releases than admits: ignored */
    CHECK_EQ_INT(beat_srccap_sources(s), 0);
    beat_srccap_free(s);
    return 0;
}

static int t_off(void) {
    int err = 0;
    beat_srccap *s = beat_srccap_new(0, 10, NULL, &err);
    CHECK(s != NULL);
    struct sockaddr_storage a = addr("10.0.0.1");
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(beat_srccap_admit(s, SA(a)), 0);
    CHECK_EQ_INT(beat_srccap_sources(s), 0);
    CHECK_EQ_INT(beat_srccap_max(s), 0);
    beat_srccap_free(s);
    CHECK_EQ_INT(beat_srccap_admit(NULL, SA(a)), 0);
    beat_srccap_free(NULL);
    return 0;
}

static int t_exempt(void) {
    int err = 0;
    beat_srccap *s = beat_srccap_new(1, 10, " 10.1.0.0/16, 2001:db8::/32,192.0.2.7", &err);
    CHECK(s != NULL);
    const char *in[] = {"10.1.200.3", "2001:db8:5::1", "192.0.2.7", "::ffff:10.1.0.9"};
    for (size_t k = 0; k < sizeof in / sizeof *in; k++) {
        struct sockaddr_storage a = addr(in[k]);
        CHECK(beat_srccap_exempt(s, SA(a)));
        for (int i = 0; i < 5; i++) CHECK_EQ_INT(beat_srccap_admit(s, SA(a)), 0);
    }
    const char *out[] = {"10.2.0.1", "2001:db9::1", "192.0.2.8"};
    for (size_t k = 0; k < sizeof out / sizeof *out; k++) {
        struct sockaddr_storage a = addr(out[k]);
        CHECK(!beat_srccap_exempt(s, SA(a)));
        CHECK_EQ_INT(beat_srccap_admit(s, SA(a)), 1);
        CHECK_EQ_INT(beat_srccap_admit(s, SA(a)), -EBUSY);
    }
    beat_srccap_free(s);
    const char *bad[] = {"10.0.0.1/8", "banana", "10.0.0.0/33", "1.2.3.4,,x"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        err = 0;
        CHECK(beat_srccap_new(1, 10, bad[k], &err) == NULL);
        CHECK_EQ_INT(err, -EINVAL);
    }
    CHECK(beat_srccap_new(-1, 10, NULL, &err) == NULL);
    return 0;
}

/* An IPv4 peer and the same address seen on a dual-stack socket as
 * ::ffff:a.b.c.d are one source; a real IPv6 address is another. */
static int t_families(void) {
    int err = 0;
    beat_srccap *s = beat_srccap_new(2, 10, NULL, &err);
    CHECK(s != NULL);
    struct sockaddr_storage v4 = addr("198.51.100.4"), mapped = addr("::ffff:198.51.100.4"),
                            v6 = addr("2001:db8::4"), unix_ = {.ss_family = AF_UNIX};
    CHECK_EQ_INT(beat_srccap_admit(s, SA(v4)), 1);
    CHECK_EQ_INT(beat_srccap_admit(s, SA(mapped)), 1);
    CHECK_EQ_INT(beat_srccap_admit(s, SA(v4)), -EBUSY);
    CHECK_EQ_INT(beat_srccap_admit(s, SA(v6)), 1);
    CHECK_EQ_INT(beat_srccap_admit(s, SA(v6)), 1);
    CHECK_EQ_INT(beat_srccap_admit(s, SA(v6)), -EBUSY);
    CHECK_EQ_INT(beat_srccap_admit(s, SA(unix_)), 0); /* not an IP peer: not counted */
    CHECK_EQ_INT(beat_srccap_admit(s, NULL), 0);
    CHECK_EQ_INT(beat_srccap_sources(s), 2);
    beat_srccap_free(s);
    return 0;
}

/* Thousands of addresses come and go through a table sized for 64: every
 * count stays right (deletions keep the probe runs intact), and past the
 * capacity new addresses are let in uncounted rather than growing it. */
static int t_bounded_churn(void) {
    int err = 0;
    beat_srccap *s = beat_srccap_new(2, 64, NULL, &err);
    CHECK(s != NULL);
    char ip[64];
    struct sockaddr_storage live[64];
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 64; k++) {
            snprintf(ip, sizeof ip, "2001:db8::%x:%x", round, k);
            live[k] = addr(ip);
            CHECK_EQ_INT(beat_srccap_admit(s, SA(live[k])), 1);
            CHECK_EQ_INT(beat_srccap_admit(s, SA(live[k])), 1);
        }
        CHECK_EQ_INT(beat_srccap_sources(s), 64);
        struct sockaddr_storage extra = addr("203.0.113.1");
        CHECK_EQ_INT(beat_srccap_admit(s, SA(extra)), 0); /* full: uncounted */
        for (int k = 0; k < 64; k += 2) {                 /* every other goes: holes mid-run */
            beat_srccap_release(s, SA(live[k]));
            beat_srccap_release(s, SA(live[k]));
        }
        for (int k = 1; k < 64; k += 2) {
            CHECK_EQ_INT(beat_srccap_count(s, SA(live[k])), 2);
            CHECK_EQ_INT(beat_srccap_admit(s, SA(live[k])), -EBUSY);
        }
        for (int k = 1; k < 64; k += 2) {
            beat_srccap_release(s, SA(live[k]));
            beat_srccap_release(s, SA(live[k]));
        }
        CHECK_EQ_INT(beat_srccap_sources(s), 0);
    }
    beat_srccap_free(s);
    return 0;
}

/* Workers accept on their own threads into one table: exactly the cap
 * of one address's connections get in. */
static beat_srccap *shared;
static _Atomic int shared_in;
static void *admitter(void *arg) {
    struct sockaddr_storage a = addr("127.0.0.2");
    (void)arg;
    for (int i = 0; i < 1000; i++)
        if (beat_srccap_admit(shared, SA(a)) == 1) atomic_fetch_add(&shared_in, 1);
    return NULL;
}

static int t_threads(void) {
    int err = 0;
    shared = beat_srccap_new(512, 4096, NULL, &err);
    CHECK(shared != NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(pthread_create(&t[i], NULL, admitter, NULL), 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(atomic_load(&shared_in), 512);
    beat_srccap_free(shared);
    return 0;
}

static const beat_test_case cases[] = {
    {"cap_and_release", t_cap_and_release},
    {"off", t_off},
    {"exempt", t_exempt},
    {"families", t_families},
    {"bounded_churn", t_bounded_churn},
    {"threads", t_threads},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_srccap", cases, argc, argv); }
