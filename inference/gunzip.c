/* Bounded gzip inflation for request bodies, called by the bid handler when
 * the exchange sends Content-Encoding: gzip. The z_stream and the output
 * buffer are made once per worker and reset per request (zlib keeps its
 * window across inflateReset), so the hot path does not allocate. It must
 * never write past max: the bound is the defence against gzip bombs. */
#include "gunzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct inf_gunzip {
    z_stream zs;
    size_t max;
    char *buf; /* max + 1 bytes: one spare detects "more than max" */
};

inf_gunzip *inf_gunzip_new(size_t max) {
    inf_gunzip *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->max = max;
    g->buf = malloc(max + 1);
    /* 32 + MAX_WBITS: gzip or zlib header, detected automatically. */
    if (!g->buf || inflateInit2(&g->zs, 32 + MAX_WBITS) != Z_OK) {
        free(g->buf);
        free(g);
        return NULL;
    }
    return g;
}

void inf_gunzip_free(inf_gunzip *g) {
    if (!g) return;
    inflateEnd(&g->zs);
    free(g->buf);
    free(g);
}

int inf_gunzip_run(inf_gunzip *g, const void *in, size_t len, const char **out, size_t *out_len) {
    if (inflateReset(&g->zs) != Z_OK) return -EBADMSG;
    if (len > UINT32_MAX) return -EMSGSIZE;
    g->zs.next_in = (Bytef *)(uintptr_t)in;
    g->zs.avail_in = (uInt)len;
    g->zs.next_out = (Bytef *)g->buf;
    g->zs.avail_out = (uInt)(g->max + 1);
    int zr = inflate(&g->zs, Z_FINISH);
    size_t n = (size_t)(g->zs.next_out - (Bytef *)g->buf);
    if (n > g->max) return -EMSGSIZE;
    /* Z_BUF_ERROR with output room left = the input ended early. */
    if (zr != Z_STREAM_END) return -EBADMSG;
    if (g->zs.avail_in) return -EBADMSG; /* trailing bytes or a 2nd member */
    *out = g->buf;
    *out_len = n;
    return 0;
}
