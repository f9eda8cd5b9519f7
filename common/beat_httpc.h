/* Blocking HTTP client on libcurl with hard timeouts, for the pull/push
 * links of actuator and lighttrainer (and tests/tools). One beat_httpc per
 * thread; it keeps connections alive between calls. A transport failure is
 * returned, never retried here: the caller counts it and tries next tick. */
#ifndef BEAT_HTTPC_H
#define BEAT_HTTPC_H

#include <stddef.h>
#include "beat_util.h"

typedef struct beat_httpc beat_httpc;

/* timeout_ms bounds a whole call (connect included). Returns NULL on OOM. */
beat_httpc *beat_httpc_new(long timeout_ms);
void beat_httpc_free(beat_httpc *c); /* NULL is a no-op */

/* Returns 0 when an HTTP response arrived (any status, in *status) with its
 * body in resp (reset first; bounded by resp->max: -EMSGSIZE). Otherwise
 * -ETIMEDOUT, -ECONNREFUSED or -EIO; beat_httpc_error() has curl's text.
 * bearer may be NULL. content_type may be NULL for GET. */
int beat_httpc_get(beat_httpc *c, const char *url, beat_buf *resp, long *status);
int beat_httpc_send(beat_httpc *c, const char *method, const char *url, const char *content_type,
                    const void *body, size_t len, const char *bearer, beat_buf *resp, long *status);
const char *beat_httpc_error(const beat_httpc *c);

#endif
