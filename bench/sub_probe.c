/* Benchmark probe for bench/bench_supervisor.py: N nng subscribers (one
 * socket and thread each) on a supervisor's pub URL, decoding every frame
 * as inference would (beat_snapshot_decode / beat_ckpt_decode) and printing
 * "S|C <idx> <version> <CLOCK_MONOTONIC us>" when done. Not a daemon. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "beat_campaign.h"
#include "beat_ckpt.h"
#include "beat_nng.h"
#include "beat_wire.h"

static const char *url;
static size_t recvmax;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *sub_main(void *arg) {
    int idx = (int)(intptr_t)arg;
    nng_socket s;
    if (beat_nng_sub_open(&s, url, recvmax) != 0) {
        fprintf(stderr, "sub_probe: cannot open %s\n", url);
        exit(1);
    }
    for (;;) {
        char *buf = NULL;
        size_t sz = 0;
        if (nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC) != 0) continue;
        char tag = sz ? buf[0] : 0;
        int64_t v = -1;
        beat_reason why = {{0}};
        if (tag == BEAT_FRAME_SNAPSHOT) {
            beat_campaign_set cs = {0};
            beat_state st = {0};
            if (beat_snapshot_decode(buf, sz, &cs, &st, NULL, &why) == 0) v = st.version;
            beat_campaigns_fini(&cs);
            beat_state_fini(&st);
        } else if (tag == BEAT_FRAME_CHECKPOINT) {
            beat_ckpt ck = {0};
            int64_t fv;
            if (beat_ckpt_frame_version(buf, sz, &fv) == 0 &&
                beat_ckpt_decode(buf + BEAT_CKPT_FRAME_HEAD, sz - BEAT_CKPT_FRAME_HEAD, recvmax,
                                 &ck, &why) == 0)
                v = fv;
            beat_ckpt_fini(&ck);
        }
        int64_t t = mono_us();
        nng_free(buf, sz);
        if (v < 0) continue;
        pthread_mutex_lock(&out_mu);
        printf("%c %d %" PRId64 " %" PRId64 "\n", tag, idx, v, t);
        fflush(stdout);
        pthread_mutex_unlock(&out_mu);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: sub_probe URL N RECVMAX\n");
        return 64;
    }
    url = argv[1];
    int n = atoi(argv[2]);
    recvmax = (size_t)strtoull(argv[3], NULL, 10);
    pthread_t t;
    for (int i = 0; i < n; i++) pthread_create(&t, NULL, sub_main, (void *)(intptr_t)i);
    pthread_exit(NULL);
}
