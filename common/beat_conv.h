/* Conversion tokens (docs/contracts.md "Conversions"). The receiver's
 * /click hands one to the advertiser's landing page (beat_cv=TOKEN in the
 * 302's Location); the advertiser calls the receiver's /conv with it:
 *   GET  {receiver}/conv?cv=TOKEN[&val=12.50]   → 1×1 GIF
 *   POST {receiver}/conv  cv=TOKEN[&val=12.50]  → 204
 * TOKEN = base64url(TEXT) "." SIG, without padding, where
 *   TEXT = "v2\nconv\n" x "\n" f "\n" a "\n" i "\n" c "\n" cr "\n" t "\n" w
 * names the click (exchange, flags, auction, imp, campaign, creative: the
 * click URL's signed fields), t is the click URL's signed time (ms) and w
 * the conversion window (s) signed into it (cw, else the default), and SIG
 * is the first 16 bytes of HMAC-SHA256(BEAT_NOTICE_SECRET, TEXT) in
 * lowercase hex — the notice signature v2 with its own type line, so a
 * token verifies as nothing but a conversion and no notice as a token.
 * The token is a function of the click URL alone: a click called twice
 * hands out the same token, and its conversion has one dedup key.
 * Everything here parses untrusted input: validate, never assert. */
#ifndef BEAT_CONV_H
#define BEAT_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define BEAT_CONV_WINDOW_DEFAULT_S 604800 /* 7 days: a click URL without cw */
#define BEAT_CONV_WINDOW_MAX_S 2592000    /* 30 days: the most cw may say */
/* Longest token: base64 of the longest text, '.', the signature, NUL. */
#define BEAT_CONV_TEXT_MAX (6 * (BEAT_ID_MAX + 1) + 3 * BEAT_I64_CHARS + 16)
#define BEAT_CONV_TOKEN_MAX ((BEAT_CONV_TEXT_MAX + 2) / 3 * 4 + 2 + 32 + 1)

typedef struct beat_conv_token {
    char exchange[BEAT_ID_MAX + 1]; /* "" = none */
    uint32_t flags;                 /* BEAT_NOTICE_F_* of the click */
    char auction[BEAT_ID_MAX + 1];
    char imp[BEAT_ID_MAX + 1];
    char campaign[BEAT_ID_MAX + 1];
    char crid[BEAT_ID_MAX + 1]; /* "" = none */
    int64_t click_ts_ms;        /* the click URL's signed t */
    int32_t window_s;           /* 1 … BEAT_CONV_WINDOW_MAX_S */
} beat_conv_token;

/* The token for t into out (cap bytes, NUL-terminated): its length, or
 * -EINVAL (an empty auction, imp or campaign, a '\n' in an id, a window
 * out of range), -EMSGSIZE. */
int beat_conv_token_make(const void *secret, size_t secret_len, const beat_conv_token *t, char *out,
                         size_t cap);

/* One /conv call as parsed from its query (or form body). */
typedef struct beat_conv {
    beat_conv_token tok;
    char sig[33];
    int64_t value_micros; /* val (decimal, account currency); 0 = absent */
} beat_conv;

/* Parses a /conv query: cv (required), val (optional); unknown keys are
 * ignored. Does not verify the signature. -ENOENT when there is no cv at
 * all (an unsigned call), -EACCES when the token is of another type (a
 * signature moved from elsewhere), -EINVAL for anything else malformed;
 * each with a reason. */
int beat_conv_parse(const char *query, beat_conv *out, beat_reason *why);
/* Constant-time check of c->sig against c->tok. */
bool beat_conv_verify(const void *secret, size_t secret_len, const beat_conv *c);

#endif
