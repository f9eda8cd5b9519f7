/* Conversion tokens (beat_conv.h): made by the receiver when a click
 * redirects, parsed and verified when the advertiser calls /conv. What
 * comes back is untrusted: the token is decoded strictly, its text must be
 * the one canonical text of its fields (so one conversion has one token),
 * and only then is its HMAC compared, in constant time
 * (docs/contracts.md "Conversions"). */
#include "beat_conv.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "beat_notice.h"

#define CONV_QUERY_MAX 4096
#define CONV_PARAMS_MAX 32
#define CONV_LINES 10

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* base64url without padding; -EMSGSIZE when out (cap, NUL included) is short. */
static int b64_encode(const unsigned char *in, size_t n, char *out, size_t cap) {
    size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
    if (need + 1 > cap) return -EMSGSIZE;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[k++] = b64[v >> 18 & 63];
        out[k++] = b64[v >> 12 & 63];
        if (i + 1 < n) out[k++] = b64[v >> 6 & 63];
        if (i + 2 < n) out[k++] = b64[v & 63];
    }
    out[k] = '\0';
    return (int)k;
}

/* Strict: no padding, no stray bits, a length that is not 1 mod 4. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t cap) {
    if (n % 4 == 1) return -EINVAL;
    size_t k = 0;
    uint32_t v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int d = b64_val((unsigned char)s[i]);
        if (d < 0) return -EINVAL;
        v = v << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k >= cap) return -EMSGSIZE;
            out[k++] = (unsigned char)(v >> bits);
        }
    }
    if (v & ((1u << bits) - 1)) return -EINVAL; /* non-zero leftover bits */
    return (int)k;
}

static int put_line(char *buf, size_t cap, size_t *n, const char *s, bool last) {
    size_t l = strlen(s);
    if (l > BEAT_ID_MAX || memchr(s, '\n', l)) return -EINVAL;
    if (*n + l + 1 > cap) return -EMSGSIZE;
    memcpy(buf + *n, s, l);
    *n += l;
    if (!last) buf[(*n)++] = '\n';
    return 0;
}

static int put_num(char *buf, size_t cap, size_t *n, int64_t v, bool last) {
    char t[BEAT_I64_CHARS];
    beat_fmt_i64(t, v);
    return put_line(buf, cap, n, t, last);
}

/* The signed text of t: its length in buf, or a negative errno. */
static int conv_text(const beat_conv_token *t, char *buf, size_t cap) {
    if (!t->auction[0] || !t->imp[0] || !t->campaign[0] || t->window_s < 1 ||
        t->window_s > BEAT_CONV_WINDOW_MAX_S || t->click_ts_ms <= 0)
        return -EINVAL;
    size_t n = 0;
    int rc;
    if ((rc = put_line(buf, cap, &n, "v2", false)) < 0 ||
        (rc = put_line(buf, cap, &n, "conv", false)) < 0 ||
        (rc = put_line(buf, cap, &n, t->exchange, false)) < 0 ||
        (rc = put_num(buf, cap, &n, t->flags, false)) < 0 ||
        (rc = put_line(buf, cap, &n, t->auction, false)) < 0 ||
        (rc = put_line(buf, cap, &n, t->imp, false)) < 0 ||
        (rc = put_line(buf, cap, &n, t->campaign, false)) < 0 ||
        (rc = put_line(buf, cap, &n, t->crid, false)) < 0 ||
        (rc = put_num(buf, cap, &n, t->click_ts_ms, false)) < 0 ||
        (rc = put_num(buf, cap, &n, t->window_s, true)) < 0)
        return rc;
    return (int)n;
}

static int sign_text(const void *secret, size_t secret_len, const char *msg, size_t n,
                     char sig[33]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    static const unsigned char empty_key[1];
    if (secret_len > INT32_MAX) return -EINVAL;
    if (!HMAC(EVP_sha256(), secret_len ? secret : empty_key, (int)secret_len,
              (const unsigned char *)msg, n, mac, &mac_len) ||
        mac_len < 16)
        return -EIO;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        sig[2 * i] = hex[mac[i] >> 4];
        sig[2 * i + 1] = hex[mac[i] & 15];
    }
    sig[32] = '\0';
    return 0;
}

int beat_conv_token_make(const void *secret, size_t secret_len, const beat_conv_token *t, char *out,
                         size_t cap) {
    char text[BEAT_CONV_TEXT_MAX], sig[33];
    int n = conv_text(t, text, sizeof text);
    if (n < 0) return n;
    int rc = sign_text(secret, secret_len, text, (size_t)n, sig);
    if (rc < 0) return rc;
    int k = b64_encode((const unsigned char *)text, (size_t)n, out, cap);
    if (k < 0) return k;
    if ((size_t)k + 1 + 32 + 1 > cap) return -EMSGSIZE;
    out[k] = '.';
    memcpy(out + k + 1, sig, 33);
    return k + 33;
}

bool beat_conv_verify(const void *secret, size_t secret_len, const beat_conv *c) {
    char text[BEAT_CONV_TEXT_MAX], want[33];
    int n = conv_text(&c->tok, text, sizeof text);
    if (n < 0 || strlen(c->sig) != 32) return false;
    if (sign_text(secret, secret_len, text, (size_t)n, want) < 0) return false;
    return CRYPTO_memcmp(want, c->sig, 32) == 0;
}

/* Canonical decimal in [min, max]: no sign, no leading zero. */
static int dec(const char *s, int64_t min, int64_t max, int64_t *out) {
    if (!*s || (s[0] == '0' && s[1])) return -EINVAL;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -EINVAL;
        if (v > (INT64_MAX - (*s - '0')) / 10) return -EINVAL;
        v = v * 10 + (*s - '0');
    }
    if (v < min || v > max) return -EINVAL;
    *out = v;
    return 0;
}

static int id_copy(char *dst, const char *s, bool need) {
    size_t l = strlen(s);
    if (l > BEAT_ID_MAX || (need && !l) || (l && !beat_id_text_ok(s))) return -EINVAL;
    memcpy(dst, s, l + 1);
    return 0;
}

/* The token's fields from cv (base64url "." 32 hex). */
static int token_parse(const char *cv, beat_conv *c, beat_reason *why) {
    const char *dot = strrchr(cv, '.');
    if (!dot || strlen(dot + 1) != 32) return beat_reasonf(why, -EINVAL, "bad token format");
    for (const char *p = dot + 1; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return beat_reasonf(why, -EINVAL, "bad token signature format");
    memcpy(c->sig, dot + 1, 33);
    unsigned char text[BEAT_CONV_TEXT_MAX + 1];
    int n = b64_decode(cv, (size_t)(dot - cv), text, BEAT_CONV_TEXT_MAX);
    if (n < 0) return beat_reasonf(why, -EINVAL, "bad token encoding");
    if (memchr(text, '\0', (size_t)n)) return beat_reasonf(why, -EINVAL, "bad token text");
    text[n] = '\0';
    char *line[CONV_LINES];
    int k = 0;
    char *p = (char *)text;
    for (; k < CONV_LINES; k++) {
        line[k] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    if (k != CONV_LINES - 1 || strcmp(line[0], "v2") != 0)
        return beat_reasonf(why, -EINVAL, "bad token text");
    /* Signed for another type: a signature moved here from elsewhere. */
    if (strcmp(line[1], "conv") != 0) return beat_reasonf(why, -EACCES, "not a conversion token");
    beat_conv_token *t = &c->tok;
    int64_t f, ts, w;
    if (id_copy(t->exchange, line[2], false) || dec(line[3], 0, UINT32_MAX, &f) ||
        id_copy(t->auction, line[4], true) || id_copy(t->imp, line[5], true) ||
        id_copy(t->campaign, line[6], true) || id_copy(t->crid, line[7], false) ||
        dec(line[8], 1, ((int64_t)1 << 53), &ts) || dec(line[9], 1, BEAT_CONV_WINDOW_MAX_S, &w))
        return beat_reasonf(why, -EINVAL, "bad token field");
    if (f & ~(int64_t)BEAT_NOTICE_F_KNOWN)
        return beat_reasonf(why, -EINVAL, "unknown flags in token");
    t->flags = (uint32_t)f;
    t->click_ts_ms = ts;
    t->window_s = (int32_t)w;
    return 0;
}

int beat_conv_parse(const char *query, beat_conv *out, beat_reason *why) {
    if (!query) query = "";
    size_t qlen = strlen(query);
    if (qlen > CONV_QUERY_MAX) return beat_reasonf(why, -EINVAL, "query too long");
    beat_conv c;
    memset(&c, 0, sizeof c);
    bool have_cv = false, have_val = false;
    char val[BEAT_CONV_TOKEN_MAX];
    int params = 0;
    const char *p = query, *end = query + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        if (pe == p) {
            p = pe + 1;
            continue;
        }
        if (++params > CONV_PARAMS_MAX) return beat_reasonf(why, -EINVAL, "too many parameters");
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        size_t klen = eq ? (size_t)(eq - p) : (size_t)(pe - p);
        bool is_cv = klen == 2 && memcmp(p, "cv", 2) == 0;
        bool is_val = klen == 3 && memcmp(p, "val", 3) == 0;
        if (is_cv || is_val) {
            if (!eq) return beat_reasonf(why, -EINVAL, "parameter without '='");
            if ((is_cv && have_cv) || (is_val && have_val))
                return beat_reasonf(why, -EINVAL, "duplicate parameter %s", is_cv ? "cv" : "val");
            if (beat_url_decode(eq + 1, (size_t)(pe - eq - 1), val, sizeof val) < 0)
                return beat_reasonf(why, -EINVAL, "bad %s", is_cv ? "cv" : "val");
            if (is_cv) {
                have_cv = true;
                int rc = token_parse(val, &c, why);
                if (rc < 0) return rc;
            } else {
                have_val = true;
                /* Decimal in the account currency, as a notice price:
                 * at most 6 decimals kept, up to 1e6. */
                if (val[0] && beat_price_parse(val, &c.value_micros) < 0)
                    return beat_reasonf(why, -EINVAL, "bad val");
            }
        }
        p = pe + 1;
    }
    if (!have_cv) return beat_reasonf(why, -ENOENT, "missing conversion token (cv)");
    *out = c;
    return 0;
}
