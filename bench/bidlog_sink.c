/* Bid-log sink for bench/bench.py: listens where inference pushes its bid
 * logs (nng pull), receives and discards every message, so the inference
 * bench pays the real cost of sending bid logs over TCP without the
 * receiver → Kafka pipeline competing for the same two cores. Built by
 * `make bench-probes` into $BUILD/bench/. Usage: bidlog_sink URL. On stdin EOF prints
 * "messages N events E bytes B" (a batched message holds '\n'-separated
 * events) and exits. */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong msgs, events, bytes;

static void *pull_main(void *arg) {
    nng_socket s = *(nng_socket *)arg;
    for (;;) {
        nng_msg *m;
        if (nng_recvmsg(s, &m, 0) != 0) break;
        atomic_fetch_add(&msgs, 1);
        size_t len = nng_msg_len(m);
        const char *p = nng_msg_body(m), *end = p + len;
        unsigned long n = len ? 1 : 0;
        while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) n++, p++;
        atomic_fetch_add(&events, n);
        atomic_fetch_add(&bytes, len);
        nng_msg_free(m);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: bidlog_sink URL\n");
        return 64;
    }
    nng_socket s;
    int rv = nng_pull0_open(&s);
    if (rv == 0) rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 1 << 20);
    if (rv == 0) rv = nng_listen(s, argv[1], NULL, 0);
    if (rv != 0) {
        fprintf(stderr, "bidlog_sink: %s: %s\n", argv[1], nng_strerror(rv));
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    pthread_t th;
    pthread_create(&th, NULL, pull_main, &s);
    while (getchar() != EOF) {}
    printf("messages %lu events %lu bytes %lu\n", atomic_load(&msgs), atomic_load(&events),
           atomic_load(&bytes));
    fflush(stdout);
    _exit(0); /* nng_close with a receive in flight can hang in nng 1.5.2 */
}
