/* Notice URLs for bids, signed with a pre-keyed HMAC: the same URLs and
 * signatures as common/beat_notice.h (whose layout and signed text are the
 * wire contract with the receiver), built without re-keying HMAC per URL.
 * Called by response.c on the worker threads. */
#ifndef INF_NOTICE_H
#define INF_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_notice.h"
#include "beat_util.h"

typedef struct inf_signer {
    const void *secret;
    size_t secret_len;
    /* SHA-256 states after key⊕ipad and key⊕opad (notice.c); read-only
       once initialised, so any number of threads sign with one signer */
    _Alignas(8) unsigned char inner[128], outer[128];
    bool keyed; /* false: OpenSSL failed, signing takes the slow path */
} inf_signer;

/* secret must outlive the signer. No allocation. */
void inf_signer_init(inf_signer *s, const void *secret, size_t secret_len);

/* The signature beat_notice_sign would give for f, from the signer's
 * precomputed HMAC states (no allocation, thread-safe). The type is signed, so each of a bid's URLs needs its
 * own. 0 or negative errno. */
int inf_notice_sign(const inf_signer *s, const beat_notice_fields *f, char sig[BEAT_SIG_HEX + 1]);

/* Appends the URL beat_notice_url would give for f (win, bill, loss, or
 * click with its landing) with sig, which must have been computed for
 * exactly f. On error out is left as it was. */
int inf_notice_url(beat_buf *out, const char *base, const beat_notice_fields *f, const char *sig);

/* The macros an exchange substitutes in win/bill/loss URLs (unsigned: p,
 * cur, l). NULL members: the OpenRTB defaults ${AUCTION_PRICE},
 * ${AUCTION_CURRENCY}, ${AUCTION_LOSS}. */
typedef struct inf_notice_macros {
    const char *price, *currency, *loss;
} inf_notice_macros;
/* inf_notice_url with the exchange's own macro names (m may be NULL). */
int inf_notice_url_m(beat_buf *out, const char *base, const beat_notice_fields *f, const char *sig,
                     const inf_notice_macros *m);

#endif
