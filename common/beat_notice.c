/* Signed notice URLs: inference builds them into bid responses, the receiver
 * parses and verifies what the exchange calls back. Everything parsed here
 * is untrusted network input: validate, never assert, say why. A v2
 * signature binds the notice type, exchange, flags, auction, imp, campaign,
 * creative, bid price, timestamp and (for clicks) the landing URL, so a
 * forged click cannot redirect anywhere and a loss cannot be billed
 * (docs/contracts.md "Notice URLs"). */
#include "beat_notice.h"

#include "beat_conv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define NOTICE_QUERY_MAX 8192            /* whole query string, bytes */
#define NOTICE_PARAMS_MAX 32             /* key=value pairs, unknown ones included */
#define PRICE_MAX_MICROS 1000000000000LL /* 1e6 CPM */

const char *beat_notice_type_name(beat_event_type t) {
    switch (t) {
        case BEAT_EV_WIN: return "win";
        case BEAT_EV_BILL: return "bill";
        case BEAT_EV_LOSS: return "loss";
        case BEAT_EV_IMP: return "imp";
        case BEAT_EV_CLICK: return "click";
        default: return NULL;
    }
}

/* Appends s (at most max bytes, no '\n') to buf at *n. */
static int put_field(char *buf, size_t cap, size_t *n, const char *s, size_t max) {
    size_t l = strlen(s);
    if (l > max || memchr(s, '\n', l)) return -EINVAL;
    if (*n + l + 1 > cap) return -EMSGSIZE;
    memcpy(buf + *n, s, l);
    *n += l;
    buf[(*n)++] = '\n';
    return 0;
}

static int put_num(char *buf, size_t cap, size_t *n, int64_t v) {
    if (*n + BEAT_I64_CHARS + 1 > cap) return -EMSGSIZE;
    *n += (size_t)beat_fmt_i64(buf + *n, v);
    buf[(*n)++] = '\n';
    return 0;
}

/* A bid currency other than USD is a line of its own after b; USD adds
 * none, so USD notices sign exactly what they always did. The line cannot
 * be mistaken for t (digits only) or the landing (always last). */
static bool bid_cur_signed(const char *c) { return c && *c && strcmp(c, "USD") != 0; }

/* A click's conversion window is a line of its own before t, tagged "cw="
 * so that it can be mistaken for neither t (digits only) nor a bc line;
 * clicks without one sign exactly what they did before it existed. */
static bool cw_signed(const beat_notice_fields *f) {
    return f->type == BEAT_EV_CLICK && f->conv_window_s != 0;
}

static int put_cw(char *buf, size_t cap, size_t *n, int32_t cw) {
    if (cw < 1 || cw > BEAT_CONV_WINDOW_MAX_S) return -EINVAL;
    if (*n + 3 > cap) return -EMSGSIZE;
    memcpy(buf + *n, "cw=", 3);
    *n += 3;
    return put_num(buf, cap, n, cw);
}

int beat_notice_text(const beat_notice_fields *f, char *buf, size_t cap) {
    const char *type = f ? beat_notice_type_name(f->type) : NULL;
    if (!type || !buf || !f->auction || !f->imp || !f->campaign || !*f->auction || !*f->imp ||
        !*f->campaign)
        return -EINVAL;
    const char *landing = f->type == BEAT_EV_CLICK && f->landing ? f->landing : "";
    size_t n = 0, ll = strlen(landing);
    int rc;
    if ((rc = put_field(buf, cap, &n, "v2", 2)) < 0 ||
        (rc = put_field(buf, cap, &n, type, 8)) < 0 ||
        (rc = put_field(buf, cap, &n, f->exchange ? f->exchange : "", BEAT_ID_MAX)) < 0 ||
        (rc = put_num(buf, cap, &n, f->flags)) < 0 ||
        (rc = put_field(buf, cap, &n, f->auction, BEAT_ID_MAX)) < 0 ||
        (rc = put_field(buf, cap, &n, f->imp, BEAT_ID_MAX)) < 0 ||
        (rc = put_field(buf, cap, &n, f->campaign, BEAT_ID_MAX)) < 0 ||
        (rc = put_field(buf, cap, &n, f->crid ? f->crid : "", BEAT_ID_MAX)) < 0 ||
        (rc = put_num(buf, cap, &n, f->bid_cpm_micros)) < 0 ||
        (bid_cur_signed(f->bid_cur) && (rc = put_field(buf, cap, &n, f->bid_cur, 3)) < 0) ||
        (cw_signed(f) && (rc = put_cw(buf, cap, &n, f->conv_window_s)) < 0) ||
        (rc = put_num(buf, cap, &n, f->ts_ms)) < 0)
        return rc;
    /* The landing is last: it may hold anything but must fit. */
    if (ll >= BEAT_URL_MAX) return -EMSGSIZE;
    if (n + ll > cap) return -EMSGSIZE;
    memcpy(buf + n, landing, ll);
    return (int)(n + ll);
}

static int hmac_hex(const void *secret, size_t secret_len, const char *msg, size_t n,
                    char *sig_out) {
    if (secret_len > INT32_MAX) return -EINVAL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    static const unsigned char empty_key[1];
    if (!HMAC(EVP_sha256(), secret_len ? secret : empty_key, (int)secret_len,
              (const unsigned char *)msg, n, mac, &mac_len) ||
        mac_len < BEAT_SIG_HEX / 2)
        return -EIO;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < BEAT_SIG_HEX / 2; i++) {
        sig_out[2 * i] = hex[mac[i] >> 4];
        sig_out[2 * i + 1] = hex[mac[i] & 15];
    }
    sig_out[BEAT_SIG_HEX] = '\0';
    return 0;
}

int beat_notice_sign(const void *secret, size_t secret_len, const beat_notice_fields *f,
                     char *sig_out) {
    if (!sig_out) return -EINVAL;
    char msg[BEAT_NOTICE_TEXT_MAX];
    int n = beat_notice_text(f, msg, sizeof msg);
    if (n < 0) return n;
    return hmac_hex(secret, secret_len, msg, (size_t)n, sig_out);
}

int beat_notice_sign_v1(const void *secret, size_t secret_len, const char *auction, const char *imp,
                        const char *campaign, int64_t bid_cpm_micros, int64_t ts_ms,
                        const char *landing, char *sig_out) {
    if (!auction || !imp || !campaign || !sig_out) return -EINVAL;
    if (!landing) landing = "";
    if (strlen(auction) > BEAT_ID_MAX || strlen(imp) > BEAT_ID_MAX ||
        strlen(campaign) > BEAT_ID_MAX)
        return -EINVAL;
    if (strlen(landing) >= BEAT_URL_MAX) return -EMSGSIZE;
    char msg[3 * BEAT_ID_MAX + BEAT_URL_MAX + 64];
    int n = snprintf(msg, sizeof msg, "v1\n%s\n%s\n%s\n%" PRId64 "\n%" PRId64 "\n%s", auction, imp,
                     campaign, bid_cpm_micros, ts_ms, landing);
    if (n < 0 || (size_t)n >= sizeof msg) return -EMSGSIZE;
    return hmac_hex(secret, secret_len, msg, (size_t)n, sig_out);
}

bool beat_notice_verify(const void *secret, size_t secret_len, const beat_notice *n) {
    char want[BEAT_SIG_HEX + 1];
    if (strlen(n->sig) != BEAT_SIG_HEX) return false;
    const char *landing = n->type == BEAT_EV_CLICK ? n->landing : "";
    int rc;
    if (n->version == 1) {
        rc = beat_notice_sign_v1(secret, secret_len, n->auction, n->imp, n->campaign,
                                 n->bid_cpm_micros, n->ts_ms, landing, want);
    } else if (n->version == 2) {
        beat_notice_fields f = {.type = n->type,
                                .exchange = n->exchange,
                                .flags = n->flags,
                                .auction = n->auction,
                                .imp = n->imp,
                                .campaign = n->campaign,
                                .crid = n->crid,
                                .bid_cpm_micros = n->bid_cpm_micros,
                                .bid_cur = n->bid_currency,
                                .ts_ms = n->ts_ms,
                                .landing = landing,
                                .conv_window_s = n->conv_window_s};
        rc = beat_notice_sign(secret, secret_len, &f, want);
    } else {
        return false;
    }
    return rc == 0 && CRYPTO_memcmp(want, n->sig, BEAT_SIG_HEX) == 0;
}

/* RFC 3986 unreserved characters pass; everything else becomes %XX. */
static int url_encode(beat_buf *out, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int rc;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rc = beat_buf_append(out, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = beat_buf_append(out, e, 3);
        }
        if (rc < 0) return rc;
    }
    return 0;
}

int beat_notice_url(beat_buf *out, const char *base, const void *secret, size_t secret_len,
                    const beat_notice_fields *f) {
    const char *path = f ? beat_notice_type_name(f->type) : NULL;
    if (!path || !base) return -EINVAL;
    const char *landing = "";
    if (f->type == BEAT_EV_CLICK) {
        landing = f->landing;
        if (!landing || !*landing) return -EINVAL;
        /* The parser rejects "${" in any value, so such a click could never
         * be accepted: refuse it here, where the campaign can be blamed. */
        if (strstr(landing, "${")) return -EINVAL;
    }
    char sig[BEAT_SIG_HEX + 1];
    int rc = beat_notice_sign(secret, secret_len, f, sig);
    if (rc < 0) return rc;
    size_t start = out->len;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') bl--;
    if ((rc = beat_buf_append(out, base, bl)) < 0 ||
        (rc = beat_buf_printf(out, "/%s?v=2&x=", path)) < 0 ||
        (rc = url_encode(out, f->exchange ? f->exchange : "")) < 0 ||
        (rc = beat_buf_puts(out, "&a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&c=")) < 0 ||
        (rc = url_encode(out, f->campaign)) < 0 || (rc = beat_buf_puts(out, "&cr=")) < 0 ||
        (rc = url_encode(out, f->crid ? f->crid : "")) < 0 ||
        (rc = beat_buf_printf(out, "&b=%" PRId64, f->bid_cpm_micros)) < 0 ||
        (bid_cur_signed(f->bid_cur) && (rc = beat_buf_printf(out, "&bc=%s", f->bid_cur)) < 0) ||
        (cw_signed(f) && (rc = beat_buf_printf(out, "&cw=%" PRId32, f->conv_window_s)) < 0) ||
        (rc = beat_buf_printf(out, "&t=%" PRId64 "&f=%" PRIu32, f->ts_ms, f->flags)) < 0)
        goto fail;
    if (f->type == BEAT_EV_WIN || f->type == BEAT_EV_BILL || f->type == BEAT_EV_LOSS) {
        if ((rc = beat_buf_puts(out, "&p=${AUCTION_PRICE}&cur=${AUCTION_CURRENCY}")) < 0) goto fail;
    }
    if (f->type == BEAT_EV_LOSS && (rc = beat_buf_puts(out, "&l=${AUCTION_LOSS}")) < 0) goto fail;
    if (f->type == BEAT_EV_CLICK &&
        ((rc = beat_buf_puts(out, "&u=")) < 0 || (rc = url_encode(out, landing)) < 0))
        goto fail;
    if ((rc = beat_buf_printf(out, "&s=%s", sig)) < 0) goto fail;
    return 0;
fail:
    /* Leave the buffer as it was: a half URL is worse than none. */
    out->len = start;
    if (out->data) out->data[start] = '\0';
    return rc;
}

/* ---- parsing ------------------------------------------------------------ */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int beat_url_decode(const char *s, size_t n, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') c = ' ';
        else if (c == '%') {
            if (i + 2 >= n) return -EINVAL;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return -EINVAL;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == '\0') return -EINVAL;
        if (k + 1 >= cap) return -EMSGSIZE;
        out[k++] = c;
    }
    out[k] = '\0';
    return 0;
}

/* Strict decimal integer in [min, max]. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
    const char *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (!*p) return -EINVAL;
    int64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return -EINVAL;
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10) return -ERANGE;
        v = v * 10 + d;
    }
    if (neg) v = -v;
    if (v < min || v > max) return -ERANGE;
    *out = v;
    return 0;
}

int beat_price_parse(const char *s, int64_t *cpm_micros) {
    if (!s || !*s) return -EINVAL;
    const char *p = s;
    int64_t ip = 0;
    int int_digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, int_digits++) {
        ip = ip * 10 + (*p - '0');
        if (ip > PRICE_MAX_MICROS / 1000000) return -EINVAL;
    }
    int64_t frac = 0; /* first 6 decimals */
    int frac_digits = 0, round_digit = 0;
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, frac_digits++) {
            if (frac_digits >= 9) return -EINVAL;
            if (frac_digits < 6) frac = frac * 10 + (*p - '0');
            else if (frac_digits == 6) round_digit = *p - '0';
        }
        if (frac_digits == 0) return -EINVAL;
    }
    if (*p || (int_digits == 0 && frac_digits == 0)) return -EINVAL;
    for (int i = frac_digits; i < 6; i++) frac *= 10;
    int64_t v = ip * 1000000 + frac + (round_digit >= 5 ? 1 : 0);
    if (v > PRICE_MAX_MICROS) return -EINVAL;
    *cpm_micros = v;
    return 0;
}

enum { F_V, F_X, F_F, F_A, F_I, F_C, F_CR, F_B, F_BC, F_T, F_P, F_CUR, F_L, F_U, F_S, F_CW, F_N };
static const char *const field_names[F_N] = {"v",  "x", "f", "a",   "i", "c", "cr", "b",
                                             "bc", "t", "p", "cur", "l", "u", "s",  "cw"};

static bool is_hex_lower(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

int beat_notice_parse(beat_event_type type, const char *query, beat_notice *out, beat_reason *why) {
    if (!beat_notice_type_name(type)) return beat_reasonf(why, -EINVAL, "not a notice type");
    if (!query) return beat_reasonf(why, -EINVAL, "missing query");
    size_t qlen = strlen(query);
    if (qlen > NOTICE_QUERY_MAX) return beat_reasonf(why, -EINVAL, "query too long");

    beat_notice n;
    memset(&n, 0, sizeof n);
    n.type = type;
    n.version = 1; /* v1 URLs carry no v */
    n.price_cpm_micros = -1;
    n.loss_code = -1;
    bool seen[F_N] = {false};
    char val[BEAT_URL_MAX];
    int params = 0;

    const char *p = query, *end = query + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        if (pe == p) {
            p = pe + 1;
            continue;
        } /* "&&" or trailing '&' */
        if (++params > NOTICE_PARAMS_MAX) return beat_reasonf(why, -EINVAL, "too many parameters");
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        if (!eq) return beat_reasonf(why, -EINVAL, "parameter without '='");
        size_t klen = (size_t)(eq - p);
        int f = -1;
        for (int k = 0; k < F_N; k++)
            if (strlen(field_names[k]) == klen && memcmp(field_names[k], p, klen) == 0) f = k;
        if (f < 0) {
            p = pe + 1;
            continue;
        } /* unknown keys are ignored */
        const char *name = field_names[f];
        if (seen[f]) return beat_reasonf(why, -EINVAL, "duplicate parameter %s", name);
        seen[f] = true;
        int rc = beat_url_decode(eq + 1, (size_t)(pe - eq - 1), val, sizeof val);
        if (rc == -EMSGSIZE) return beat_reasonf(why, -EINVAL, "%s too long", name);
        if (rc < 0) return beat_reasonf(why, -EINVAL, "bad escape in %s", name);
        if (strstr(val, "${")) return beat_reasonf(why, -EINVAL, "unsubstituted macro in %s", name);
        size_t vlen = strlen(val);
        int64_t iv;
        /* A loss may come without a price or reason: exchanges that do not
         * know them substitute an empty string. Treat as absent. */
        if (type == BEAT_EV_LOSS && vlen == 0 && (f == F_P || f == F_L)) {
            p = pe + 1;
            continue;
        }
        switch (f) {
            case F_V:
                /* Say which: an operator reading the 400 needs the number. */
                if (parse_int(val, 1, 2, &iv) < 0)
                    return beat_reasonf(why, -EINVAL, "unsupported notice version %.16s", val);
                n.version = (int)iv;
                break;
            case F_X:
                if (vlen > BEAT_ID_MAX) return beat_reasonf(why, -EINVAL, "x too long");
                memcpy(n.exchange, val, vlen + 1);
                break;
            case F_F:
                if (parse_int(val, 0, UINT32_MAX, &iv) < 0)
                    return beat_reasonf(why, -EINVAL, "bad f");
                if (iv & ~(int64_t)BEAT_NOTICE_F_KNOWN)
                    return beat_reasonf(why, -EINVAL, "unknown flags in f=%" PRId64, iv);
                n.flags = (uint32_t)iv;
                break;
            case F_A:
            case F_I:
            case F_C:
            case F_CR: {
                if (vlen > BEAT_ID_MAX) return beat_reasonf(why, -EINVAL, "%s too long", name);
                if (vlen == 0 && f != F_CR) return beat_reasonf(why, -EINVAL, "empty %s", name);
                char *dst = f == F_A   ? n.auction
                            : f == F_I ? n.imp
                            : f == F_C ? n.campaign
                                       : n.crid;
                memcpy(dst, val, vlen + 1);
                break;
            }
            case F_B:
            case F_T:
                if (parse_int(val, 0, INT64_MAX, &iv) < 0)
                    return beat_reasonf(why, -EINVAL, "bad %s", name);
                if (f == F_B) n.bid_cpm_micros = iv;
                else n.ts_ms = iv;
                break;
            case F_P:
                if (beat_price_parse(val, &n.price_cpm_micros) < 0)
                    return beat_reasonf(why, -EINVAL, "bad price");
                break;
            case F_BC: /* as signed: 3 upper-case letters */
                if (vlen != 3) return beat_reasonf(why, -EINVAL, "bad bc");
                for (size_t k = 0; k < vlen; k++)
                    if (val[k] < 'A' || val[k] > 'Z') return beat_reasonf(why, -EINVAL, "bad bc");
                memcpy(n.bid_currency, val, vlen + 1);
                break;
            case F_CUR:
                if (vlen >= sizeof n.currency) return beat_reasonf(why, -EINVAL, "cur too long");
                for (size_t k = 0; k < vlen; k++)
                    if (!((val[k] >= 'A' && val[k] <= 'Z') || (val[k] >= 'a' && val[k] <= 'z')))
                        return beat_reasonf(why, -EINVAL, "bad cur");
                memcpy(n.currency, val, vlen + 1);
                break;
            case F_L:
                if (parse_int(val, 0, INT32_MAX, &iv) < 0)
                    return beat_reasonf(why, -EINVAL, "bad loss code");
                n.loss_code = (int32_t)iv;
                break;
            case F_U:
                if (type != BEAT_EV_CLICK)
                    return beat_reasonf(why, -EINVAL, "u only allowed on click");
                if (vlen == 0) return beat_reasonf(why, -EINVAL, "empty u");
                memcpy(n.landing, val, vlen + 1);
                break;
            case F_CW: /* signed (a cw= line): the click's conversion window */
                if (type != BEAT_EV_CLICK)
                    return beat_reasonf(why, -EINVAL, "cw only allowed on click");
                if (parse_int(val, 1, BEAT_CONV_WINDOW_MAX_S, &iv) < 0)
                    return beat_reasonf(why, -EINVAL, "bad cw");
                n.conv_window_s = (int32_t)iv;
                break;
            case F_S:
                if (vlen != BEAT_SIG_HEX || !is_hex_lower(val, vlen))
                    return beat_reasonf(why, -EINVAL, "bad signature format");
                memcpy(n.sig, val, vlen + 1);
                break;
        }
        p = pe + 1;
    }

    static const int required[] = {F_A, F_I, F_C, F_B, F_T, F_S};
    for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
        if (!seen[required[k]])
            return beat_reasonf(why, -EINVAL, "missing %s", field_names[required[k]]);
    if ((type == BEAT_EV_WIN || type == BEAT_EV_BILL) && !seen[F_P])
        return beat_reasonf(why, -EINVAL, "missing p");
    if (type == BEAT_EV_CLICK && !seen[F_U]) return beat_reasonf(why, -EINVAL, "missing u");
    /* v1 signed neither x nor f: honouring them would let anyone who holds
     * a v1 URL mark it as test traffic (and so unbilled). */
    if (n.version == 1 && (seen[F_X] || seen[F_F]))
        return beat_reasonf(why, -EINVAL, "x and f need v=2");
    if (n.version == 1 && seen[F_BC]) return beat_reasonf(why, -EINVAL, "bc needs v=2");
    if (n.version == 1 && seen[F_CW]) return beat_reasonf(why, -EINVAL, "cw needs v=2");
    *out = n;
    return 0;
}
