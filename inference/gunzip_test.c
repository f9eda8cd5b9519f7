/* gzip bodies: round trip, the bound (exactly max passes, max + 1 and a
 * bomb are refused), truncated and garbage input, reuse across calls. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "beat_test.h"
#include "gunzip.h"

/* gzip-compresses in[0..n) into out (cap bytes); returns the length. */
static size_t gz(const void *in, size_t n, unsigned char *out, size_t cap) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int zr = deflate(&zs, Z_FINISH);
    size_t len = cap - zs.avail_out;
    deflateEnd(&zs);
    return zr == Z_STREAM_END ? len : 0;
}

static int test_round_trip(void) {
    static unsigned char z[1 << 16];
    const char *body = "{\"id\":\"a\",\"imp\":[{\"id\":\"1\"}]}";
    inf_gunzip *g = inf_gunzip_new(4096);
    CHECK(g != NULL);
    size_t zn = gz(body, strlen(body), z, sizeof z);
    CHECK(zn > 0);
    for (int round = 0; round < 3; round++) { /* reuse: reset per call */
        const char *out = NULL;
        size_t n = 0;
        CHECK_EQ_INT(inf_gunzip_run(g, z, zn, &out, &n), 0);
        CHECK_EQ_INT((int)n, (int)strlen(body));
        CHECK(memcmp(out, body, n) == 0);
    }
    inf_gunzip_free(g);
    return 0;
}

static int test_bounds(void) {
    static unsigned char z[1 << 16];
    static char big[1 << 20];
    memset(big, ' ', sizeof big);
    inf_gunzip *g = inf_gunzip_new(4096);
    const char *out;
    size_t n, zn = gz(big, 4096, z, sizeof z);
    CHECK_EQ_INT(inf_gunzip_run(g, z, zn, &out, &n), 0); /* exactly max */
    CHECK_EQ_INT((int)n, 4096);
    zn = gz(big, 4097, z, sizeof z);
    CHECK_EQ_INT(inf_gunzip_run(g, z, zn, &out, &n), -EMSGSIZE);
    zn = gz(big, sizeof big, z, sizeof z); /* 1 MiB of spaces: ~1 KiB gz */
    CHECK(zn > 0 && zn < 4096);
    CHECK_EQ_INT(inf_gunzip_run(g, z, zn, &out, &n), -EMSGSIZE);
    /* truncated, garbage, empty, trailing bytes */
    zn = gz("{\"id\":1}", 8, z, sizeof z);
    CHECK_EQ_INT(inf_gunzip_run(g, z, zn - 4, &out, &n), -EBADMSG);
    CHECK_EQ_INT(inf_gunzip_run(g, "not gzip at all", 15, &out, &n), -EBADMSG);
    CHECK_EQ_INT(inf_gunzip_run(g, "", 0, &out, &n), -EBADMSG);
    z[zn] = 'x';
    CHECK_EQ_INT(inf_gunzip_run(g, z, zn + 1, &out, &n), -EBADMSG);
    CHECK_EQ_INT(inf_gunzip_run(g, z, zn, &out, &n), 0); /* still usable */
    CHECK_EQ_INT((int)n, 8);
    inf_gunzip_free(g);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"round_trip", test_round_trip},
        {"bounds", test_bounds},
        {NULL, NULL},
    };
    return beat_test_main("gunzip", cases, argc, argv);
}
