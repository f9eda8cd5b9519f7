/* Notice URLs for bids, signed once per bid with a pre-keyed HMAC: the
 * same URLs and signatures as common/beat_notice.h (whose layout and
 * signature format are the wire contract with the receiver), built without
 * re-keying HMAC per URL. Called by bidder.c on the worker threads. */
#ifndef INF_NOTICE_H
#define INF_NOTICE_H

#include <stddef.h>
#include <stdint.h>
#include "beat_notice.h"
#include "beat_util.h"

typedef struct inf_signer {
    const void *secret;
    size_t secret_len;
    uint64_t gen; /* unique per signer: keys the per-thread HMAC context */
} inf_signer;

/* secret must outlive the signer. */
void inf_signer_init(inf_signer *s, const void *secret, size_t secret_len);

/* The signature beat_notice_sign would give (landing NULL or ""), using a
 * per-thread HMAC context keyed once per signer (one small allocation per
 * thread, kept for the thread's life). 0 or negative errno. */
int inf_notice_sign(const inf_signer *s, const char *auction, const char *imp,
                    const char *campaign, int64_t bid_cpm_micros, int64_t ts_ms,
                    const char *landing, char sig[BEAT_SIG_HEX + 1]);

/* Appends the URL beat_notice_url would give for type (win, bill, loss, or
 * click with its landing, which sig must cover) with the precomputed sig.
 * On error out is left as it was. */
int inf_notice_url(beat_buf *out, const char *base, beat_event_type type,
                   const char *campaign, const char *crid, int64_t bid_cpm_micros,
                   int64_t ts_ms, const char *landing, const char *sig);

#endif
