/* gzip request bodies (Content-Encoding: gzip) inflated into a per-worker
 * buffer of fixed size: bounded output (a decompression bomb stops at the
 * bound and is refused), no allocation per request. One inf_gunzip per
 * worker thread; not thread-safe. */
#ifndef INF_GUNZIP_H
#define INF_GUNZIP_H

#include <stddef.h>

typedef struct inf_gunzip inf_gunzip;

/* max: largest inflated body accepted. NULL on out of memory. */
inf_gunzip *inf_gunzip_new(size_t max);
void inf_gunzip_free(inf_gunzip *g);

/* Inflates in[0..len) (one gzip member; zlib-wrapped data also accepted).
 * On success *out points into g (valid until the next call) and *out_len
 * is its length. -EMSGSIZE when the output exceeds max, -EBADMSG when the
 * input is not valid or is truncated. */
int inf_gunzip_run(inf_gunzip *g, const void *in, size_t len, const char **out, size_t *out_len);

#endif
