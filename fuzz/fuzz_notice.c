/* libFuzzer target for the receiver's notice parser: the query string of
 * /win /bill /loss /imp /click comes straight from the network. Byte 0 picks
 * the notice type, the rest is the query. Checks that the parser never
 * crashes, only fills bounded fields, and that prices re-parse identically.
 * Build: clang -fsanitize=fuzzer,address,undefined -Icommon fuzz/fuzz_notice.c
 *        common/beat_notice.c common/beat_util.c common/beat_log.c -lcrypto
 * With -DBEAT_FUZZ_REPLAY it is a plain program replaying files given as
 * arguments (for `make test` without libFuzzer). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_notice.h"
#include "fuzz.h"

static const char SECRET[] = "fuzz-secret";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 16384) return 0;
    beat_event_type type = (beat_event_type)(BEAT_EV_BID + data[0] % 6);
    char *q = malloc(size);
    if (!q) return 0;
    memcpy(q, data + 1, size - 1);
    q[size - 1] = '\0';

    beat_notice n;
    beat_reason why;
    memset(&why, 0, sizeof why);
    int rc = beat_notice_parse(type, q, &n, &why);
    if (rc == 0) {
        FUZZ_CHECK(type != BEAT_EV_BID);
        FUZZ_CHECK(strlen(n.auction) > 0 && strlen(n.auction) <= BEAT_ID_MAX);
        FUZZ_CHECK(strlen(n.imp) > 0 && strlen(n.imp) <= BEAT_ID_MAX);
        FUZZ_CHECK(strlen(n.campaign) > 0 && strlen(n.campaign) <= BEAT_ID_MAX);
        FUZZ_CHECK(strlen(n.crid) <= BEAT_ID_MAX);
        FUZZ_CHECK(strlen(n.sig) == BEAT_SIG_HEX);
        FUZZ_CHECK(n.bid_cpm_micros >= 0 && n.ts_ms >= 0);
        FUZZ_CHECK(n.price_cpm_micros >= -1 && n.price_cpm_micros <= 1000000000000LL);
        FUZZ_CHECK((type == BEAT_EV_CLICK) == (n.landing[0] != '\0'));
        FUZZ_CHECK(n.type == type && (n.version == 1 || n.version == 2));
        FUZZ_CHECK(strlen(n.exchange) <= BEAT_ID_MAX);
        FUZZ_CHECK((n.flags & ~BEAT_NOTICE_F_KNOWN) == 0);
        if (n.version == 1) FUZZ_CHECK(n.exchange[0] == '\0' && n.flags == 0);
        if (type == BEAT_EV_WIN || type == BEAT_EV_BILL) FUZZ_CHECK(n.price_cpm_micros >= 0);
        /* A random signature essentially never verifies; re-signing the
         * parsed fields with their version always does (v2: unless an id
         * holds a '\n', which the signer refuses), and never for another
         * type. */
        (void)beat_notice_verify(SECRET, sizeof SECRET - 1, &n);
        int src;
        if (n.version == 1) {
            src = beat_notice_sign_v1(SECRET, sizeof SECRET - 1, n.auction, n.imp, n.campaign,
                                      n.bid_cpm_micros, n.ts_ms, n.landing, n.sig);
            FUZZ_CHECK(src == 0);
        } else {
            beat_notice_fields f = {n.type,  n.exchange, n.flags,        n.auction,
                                    n.imp,   n.campaign, n.crid,         n.bid_cpm_micros,
                                    n.ts_ms, n.landing,  n.bid_currency, n.conv_window_s};
            src = beat_notice_sign(SECRET, sizeof SECRET - 1, &f, n.sig);
            bool nl = strchr(n.exchange, '\n') || strchr(n.auction, '\n') || strchr(n.imp, '\n') ||
                      strchr(n.campaign, '\n') || strchr(n.crid, '\n');
            FUZZ_CHECK(nl ? src == -EINVAL : src == 0);
        }
        if (src == 0) {
            FUZZ_CHECK(beat_notice_verify(SECRET, sizeof SECRET - 1, &n));
            if (n.version == 2) {
                beat_notice m = n;
                m.type = type == BEAT_EV_BILL ? BEAT_EV_WIN : BEAT_EV_BILL;
                FUZZ_CHECK(!beat_notice_verify(SECRET, sizeof SECRET - 1, &m));
            }
        }
    } else {
        FUZZ_CHECK(rc < 0 && why.msg[0] != '\0');
    }

    /* The whole input as a price: anything accepted must survive a format
     * and re-parse unchanged. */
    int64_t v;
    if (beat_price_parse(q, &v) == 0) {
        FUZZ_CHECK(v >= 0 && v <= 1000000000000LL);
        char txt[40];
        snprintf(txt, sizeof txt, "%" PRId64 ".%06" PRId64, v / 1000000, v % 1000000);
        int64_t w = -1;
        FUZZ_CHECK(beat_price_parse(txt, &w) == 0 && w == v);
    }
    free(q);
    return 0;
}

#ifdef BEAT_FUZZ_REPLAY
int main(int argc, char **argv) {
    int done = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t buf[16384];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        done++;
    }
    printf("fuzz_notice: replayed %d inputs\n", done);
    return 0;
}
#endif
