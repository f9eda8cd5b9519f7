/* Signed notice URLs (inference builds them, the receiver verifies them),
 * signature v2 (docs/contracts.md "Notice URLs"):
 *   {base}/win?v=2&x=EXCHANGE&a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&c=CAMPAIGN
 *            &cr=CRID&b=BID_CPM_MICROS[&bc=BID_CUR]&t=TS_MS&f=FLAGS
 *            &p=${AUCTION_PRICE}&cur=${AUCTION_CURRENCY}&s=SIG
 *   /bill same as /win; /loss adds &l=${AUCTION_LOSS}; /imp has no p/cur;
 *   /click adds [&cw=CONV_WINDOW_S] and &u=URL-ENCODED-LANDING.
 * SIG = first 16 bytes of HMAC-SHA256(secret, "v2\n" TYPE "\n" x "\n" f "\n"
 * a "\n" i "\n" c "\n" cr "\n" b "\n" [bc "\n"] ["cw=" cw "\n"] t "\n" u),
 * lowercase hex (32 chars), the cw line only on a click with a window,
 * TYPE the notice type's name ("win", "bill", …) and u the landing (clicks
 * only, "" otherwise). Everything the receiver debits or builds an event
 * from is signed, the type included (a loss URL re-typed to /bill does not
 * verify), except the macros the exchange substitutes (p, cur, l). b is
 * always USD micros; bc, the currency the bid was made in, is there (and
 * signed) only when that is not USD: the currency of a p that comes without
 * cur (docs/contracts.md "Currencies").
 * Signature v1 (no type, x, f or cr: "v1\n" a "\n" i "\n" c "\n" b "\n" t
 * "\n" u) is still parsed and verified, for the upgrade window only. */
#ifndef BEAT_NOTICE_H
#define BEAT_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define BEAT_SIG_HEX 32
#define BEAT_URL_MAX 2048
#define BEAT_NOTICE_V 2 /* the signature version beat_notice_url writes */
/* The development notice secret: public, so only --dev accepts it
 * (beat_cfg_secret; docs/deploy.md "Secrets and --dev"). */
#define BEAT_NOTICE_DEV_SECRET "beat-dev-secret"

/* Bits of f. A reader refuses bits it does not know (a new flag may change
 * what a notice means, as this one does): receivers first, then writers. */
#define BEAT_NOTICE_F_TEST 1u /* OpenRTB test=1: answered, never billed or learnt */
#define BEAT_NOTICE_F_KNOWN BEAT_NOTICE_F_TEST

/* Longest signed text: the ids, the landing, three numbers and the rest. */
#define BEAT_NOTICE_TEXT_MAX (5 * BEAT_ID_MAX + BEAT_URL_MAX + 4 * BEAT_I64_CHARS + 48)

/* What a v2 signature covers, as the signer has it. */
typedef struct beat_notice_fields {
    beat_event_type type; /* win, bill, loss, imp or click */
    const char *exchange; /* x: the exchange id; NULL = "" (--open) */
    uint32_t flags;       /* f: BEAT_NOTICE_F_* */
    const char *auction, *imp, *campaign;
    const char *crid;       /* NULL = "" */
    int64_t bid_cpm_micros; /* USD */
    int64_t ts_ms;          /* signing time */
    const char *landing;    /* click: required; other types: ignored */
    const char *bid_cur;    /* bc: 3 upper-case letters; NULL, "" or "USD" = USD
                                 (then neither written nor signed) */
    int32_t conv_window_s;  /* cw, clicks only: the campaign's conversion window
                               (s, ≤ BEAT_CONV_WINDOW_MAX_S); 0 = none (then
                               neither written nor signed: the default applies) */
} beat_notice_fields;

typedef struct beat_notice {
    beat_event_type type;           /* from the URL path, never from the query */
    int version;                    /* v: 1 or 2 (absent = 1) */
    char exchange[BEAT_ID_MAX + 1]; /* x (absent = "") */
    uint32_t flags;                 /* f (absent = 0) */
    char auction[BEAT_ID_MAX + 1];
    char imp[BEAT_ID_MAX + 1];
    char campaign[BEAT_ID_MAX + 1];
    char crid[BEAT_ID_MAX + 1];
    int64_t bid_cpm_micros;     /* USD */
    char bid_currency[4];       /* bc (absent = "": USD) */
    int64_t ts_ms;              /* signed timestamp */
    int64_t price_cpm_micros;   /* -1 when absent; in currency, or bid_currency */
    char currency[8];           /* cur (absent or empty = "") */
    int32_t loss_code;          /* -1 when absent */
    char landing[BEAT_URL_MAX]; /* click only */
    int32_t conv_window_s;      /* cw (click only; absent = 0) */
    char sig[BEAT_SIG_HEX + 1];
} beat_notice;

/* The v2 signed text of f into buf (cap bytes; BEAT_NOTICE_TEXT_MAX is
 * always enough), not NUL-terminated: its length, or -EINVAL (not a notice
 * type, a missing id, a '\n' inside an id, which would make the text
 * ambiguous), -EMSGSIZE. No printf: inference signs with it on the bid path. */
int beat_notice_text(const beat_notice_fields *f, char *buf, size_t cap);

/* sig_out gets the v2 signature: BEAT_SIG_HEX hex chars + NUL. */
int beat_notice_sign(const void *secret, size_t secret_len, const beat_notice_fields *f,
                     char *sig_out);
/* The v1 signature (landing NULL or ""). Only to verify notices signed
 * before the upgrade and to test that; nothing signs v1 any more. */
int beat_notice_sign_v1(const void *secret, size_t secret_len, const char *auction, const char *imp,
                        const char *campaign, int64_t bid_cpm_micros, int64_t ts_ms,
                        const char *landing, char *sig_out);
/* Constant-time check of n->sig against the fields of n, with the
 * signature version n->version says (whether v1 is still welcome is the
 * caller's decision). */
bool beat_notice_verify(const void *secret, size_t secret_len, const beat_notice *n);

/* Appends the v2 notice URL for f to out, with the macros left in place for
 * the exchange and auction/imp written as the macro text
 * (${AUCTION_ID}/${AUCTION_IMP_ID}). The signature covers the real auction
 * and imp ids in f. base = "http://127.0.0.1:8081". On error out is left as
 * it was. */
int beat_notice_url(beat_buf *out, const char *base, const void *secret, size_t secret_len,
                    const beat_notice_fields *f);

/* Parses a query string (the part after '?', URL-encoded) of a notice of
 * the given type (the URL path's). Converts p (decimal CPM, e.g. "1.2345")
 * to CPM micros, rounding half up; an unsubstituted macro, an unknown
 * version or flag bit, or garbage → -EINVAL with reason. Does not verify
 * the signature. */
int beat_notice_parse(beat_event_type type, const char *query, beat_notice *out, beat_reason *why);

/* Decodes the URL-encoded query value s[0..n) ('+' is a space) into out
 * (cap bytes, NUL included). -EMSGSIZE when too long, -EINVAL on a bad
 * escape or an embedded NUL. Shared by notice and conversion parsing. */
int beat_url_decode(const char *s, size_t n, char *out, size_t cap);

/* Decimal CPM text ("2.5", "0.000123") → CPM micros. -EINVAL on junk,
 * negatives, > 1e6 CPM or more than 9 decimals. */
int beat_price_parse(const char *s, int64_t *cpm_micros);

/* "win", "bill", "loss", "imp", "click"; NULL for anything else. */
const char *beat_notice_type_name(beat_event_type t);

#endif
