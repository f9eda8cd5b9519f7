/* Signed notice URLs (inference builds them, the receiver verifies them).
 *   {base}/win?a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&c=CAMPAIGN&cr=CRID
 *            &b=BID_CPM_MICROS&t=TS_MS&p=${AUCTION_PRICE}&cur=${AUCTION_CURRENCY}&s=SIG
 *   /bill same as /win; /loss adds &l=${AUCTION_LOSS}; /imp has no p/cur;
 *   /click adds &u=URL-ENCODED-LANDING (covered by the signature, so the
 *   receiver is not an open redirect).
 * SIG = first 16 bytes of HMAC-SHA256(secret, "v1\n" a "\n" i "\n" c "\n" b
 * "\n" t "\n" u), lowercase hex (32 chars). The exchange substitutes the
 * macros; ${AUCTION_PRICE} arrives as a decimal CPM in currency units. */
#ifndef BEAT_NOTICE_H
#define BEAT_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define BEAT_SIG_HEX 32
#define BEAT_URL_MAX 2048

typedef struct beat_notice {
    beat_event_type type;
    char auction[BEAT_ID_MAX + 1];
    char imp[BEAT_ID_MAX + 1];
    char campaign[BEAT_ID_MAX + 1];
    char crid[BEAT_ID_MAX + 1];
    int64_t bid_cpm_micros;
    int64_t ts_ms;            /* signed timestamp */
    int64_t price_cpm_micros; /* -1 when absent */
    char currency[8];
    int32_t loss_code;        /* -1 when absent */
    char landing[BEAT_URL_MAX]; /* click only */
    char sig[BEAT_SIG_HEX + 1];
} beat_notice;

/* sig_out gets BEAT_SIG_HEX hex chars + NUL. landing may be NULL/"". */
int beat_notice_sign(const void *secret, size_t secret_len,
                     const char *auction, const char *imp,
                     const char *campaign, int64_t bid_cpm_micros,
                     int64_t ts_ms, const char *landing, char *sig_out);
/* Constant-time check of n->sig against the fields of n. */
bool beat_notice_verify(const void *secret, size_t secret_len,
                        const beat_notice *n);

/* Appends the notice URL for type to out, with the macros left in place for
 * the exchange and auction/imp taken as the macro text
 * (${AUCTION_ID}/${AUCTION_IMP_ID}). The signature is computed over the real
 * auction and imp ids given here. base = "http://127.0.0.1:8081". */
int beat_notice_url(beat_buf *out, const char *base, beat_event_type type,
                    const void *secret, size_t secret_len, const char *auction,
                    const char *imp, const char *campaign, const char *crid,
                    int64_t bid_cpm_micros, int64_t ts_ms, const char *landing);

/* Parses a query string (the part after '?', URL-encoded) of a notice of
 * the given type. Converts p (decimal CPM, e.g. "1.2345") to CPM micros,
 * rounding half up; an unsubstituted macro or garbage → -EINVAL with reason.
 * Does not verify the signature. */
int beat_notice_parse(beat_event_type type, const char *query,
                      beat_notice *out, beat_reason *why);

/* Decimal CPM text ("2.5", "0.000123") → CPM micros. -EINVAL on junk,
 * negatives, > 1e6 CPM or more than 9 decimals. */
int beat_price_parse(const char *s, int64_t *cpm_micros);

#endif
