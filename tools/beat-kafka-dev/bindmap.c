/* Stable broker ports for beat-kafka-dev (docs/architecture.md "Library
 * facts"). librdkafka's mock cluster binds each broker listener to
 * 127.0.0.1:0, so a restarted dev broker would come back on new ports and
 * clients would never reconnect. This executable therefore defines bind():
 * while kdev_bindmap_begin() is in effect, an AF_INET bind to port 0 is given
 * base, base+1, … (one per broker, in creation order) with SO_REUSEADDR so a
 * restart right after a kill rebinds despite TIME_WAIT. Every other bind
 * passes through untouched to the real one (dlsym RTLD_NEXT). It must never
 * remap outside the window, and never fail a bind that would have succeeded
 * (see below). */
#include "bindmap.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static bind_fn real_bind;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static atomic_bool active;
static atomic_int base_port;
static atomic_int next_idx;
static atomic_int remapped;
static atomic_int last_errno;

static void find_real(void) { real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind"); }

void kdev_bindmap_begin(int port) {
    atomic_store(&base_port, port);
    atomic_store(&next_idx, 0);
    atomic_store(&remapped, 0);
    atomic_store(&last_errno, 0);
    atomic_store(&active, true);
}

int kdev_bindmap_end(int *last_err) {
    atomic_store(&active, false);
    if (last_err) *last_err = atomic_load(&last_errno);
    return atomic_load(&remapped);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    pthread_once(&real_once, find_real);
    if (!real_bind) {
        errno = ENOSYS;
        return -1;
    }
    if (!atomic_load(&active) || !addr || addr->sa_family != AF_INET ||
        len < (socklen_t)sizeof(struct sockaddr_in))
        return real_bind(fd, addr, len);
    struct sockaddr_in sin;
    memcpy(&sin, addr, sizeof sin);
    if (sin.sin_port != 0) return real_bind(fd, addr, len);
    int port = atomic_load(&base_port) + atomic_fetch_add(&next_idx, 1);
    if (port > 65535) {
        errno = EADDRNOTAVAIL;
        atomic_store(&last_errno, errno);
        return -1;
    }
    sin.sin_port = htons((uint16_t)port);
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (real_bind(fd, (const struct sockaddr *)&sin, sizeof sin) == 0) {
        atomic_fetch_add(&remapped, 1);
        return 0;
    }
    /* Port taken: record why, then bind the ephemeral port the caller
     * asked for. Failing here instead would make librdkafka 2.0.2 abort
     * (rd_kafka_mock_cluster_new's error path trips an assertion); the
     * caller sees the short remap count and tears the cluster down. */
    atomic_store(&last_errno, errno);
    return real_bind(fd, addr, len);
}
