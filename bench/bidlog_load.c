/* Bid-log load for bench/bench_stream.py: pushes N bid events (beat_event
 * JSON, as inference sends them) to the receiver's nng pull address as fast
 * as the link takes them (blocking sends, so the receiver's intake is the
 * limit, not a local drop). Built by `make bench-probes`
 * into $BUILD/bench/. Usage: bidlog_load URL N [campaigns]
 * Prints "sent N in S s" on stdout. */
#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_util.h"
#include "beat_wire.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bidlog_load URL N [campaigns]\n");
        return 64;
    }
    long n = atol(argv[2]);
    int ncamp = argc > 3 ? atoi(argv[3]) : 4;
    if (n <= 0 || ncamp <= 0) return 64;
    nng_socket s;
    int rv = nng_push0_open(&s);
    if (rv == 0) rv = nng_socket_set_int(s, NNG_OPT_SENDBUF, 1024);
    if (rv == 0) rv = nng_dial(s, argv[1], NULL, 0); /* blocking: peer must be up */
    if (rv != 0) {
        fprintf(stderr, "bidlog_load: %s: %s\n", argv[1], nng_strerror(rv));
        return 1;
    }
    beat_buf b;
    beat_buf_init(&b, 65536);
    beat_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = BEAT_EV_BID;
    snprintf(ev.imp, sizeof ev.imp, "1");
    snprintf(ev.crid, sizeof ev.crid, "cr1");
    snprintf(ev.node, sizeof ev.node, "inference-bench");
    ev.price_cpm_micros = 2500000;
    ev.pctr = 0.0123;
    ev.n_feat = 24; /* about what inference's hashed features come to */
    int64_t t0 = beat_mono_us();
    for (long i = 0; i < n; i++) {
        snprintf(ev.auction, sizeof ev.auction, "bench-%ld", i);
        snprintf(ev.campaign, sizeof ev.campaign, "c%ld", i % ncamp);
        ev.ts_ms = beat_now_ms();
        for (uint32_t f = 0; f < ev.n_feat; f++)
            ev.feat[f] = (uint32_t)(i * 2654435761u + f * 40503u) & 0xfffff;
        beat_buf_reset(&b);
        if (beat_event_encode(&ev, &b) != 0) {
            fprintf(stderr, "bidlog_load: encode failed\n");
            return 1;
        }
        if ((rv = nng_send(s, b.data, b.len, 0)) != 0) {
            fprintf(stderr, "bidlog_load: send: %s\n", nng_strerror(rv));
            return 1;
        }
    }
    double secs = (double)(beat_mono_us() - t0) / 1e6;
    printf("sent %ld in %.3f s\n", n, secs);
    fflush(stdout);
    /* Give nng a moment to flush its send buffer before closing. */
    nng_msleep(500);
    nng_close(s);
    beat_buf_fini(&b);
    return 0;
}
