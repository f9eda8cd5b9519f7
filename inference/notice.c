/* Pre-keyed notice signing for the bid path. beat_notice_sign calls
 * OpenSSL's one-shot HMAC(), which fetches the digest and keys HMAC on every
 * call (~2 µs); here each worker thread keeps an EVP_MAC_CTX keyed once and
 * re-initialised with the same key per signature (~0.3 µs). The signed text
 * comes from beat_notice_text, so there is one definition of it; since it
 * starts with the type, win, bill and loss each need their own signature.
 * Must produce byte-identical URLs to beat_notice_url: notice_test.c
 * compares them. */
#include "notice.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static _Atomic uint64_t next_gen = 1;

/* One per thread: workers live as long as the process. */
static _Thread_local struct {
    uint64_t gen;
    EVP_MAC_CTX *ctx;
} tl;

void inf_signer_init(inf_signer *s, const void *secret, size_t secret_len) {
    s->secret = secret;
    s->secret_len = secret_len;
    s->gen = atomic_fetch_add(&next_gen, 1);
}

static EVP_MAC_CTX *keyed_ctx(const inf_signer *s) {
    if (tl.ctx && tl.gen == s->gen) {
        if (EVP_MAC_init(tl.ctx, NULL, 0, NULL)) return tl.ctx; /* same key */
        return NULL;
    }
    if (!tl.ctx) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (!mac) return NULL;
        tl.ctx = EVP_MAC_CTX_new(mac);
        EVP_MAC_free(mac); /* the context holds its own reference */
        if (!tl.ctx) return NULL;
    }
    static const unsigned char empty_key[1];
    char digest[] = "SHA256";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                      OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(tl.ctx, s->secret_len ? s->secret : empty_key, s->secret_len, p)) {
        tl.gen = 0;
        return NULL;
    }
    tl.gen = s->gen;
    return tl.ctx;
}

int inf_notice_sign(const inf_signer *s, const beat_notice_fields *f, char sig[BEAT_SIG_HEX + 1]) {
    char msg[BEAT_NOTICE_TEXT_MAX];
    int n = beat_notice_text(f, msg, sizeof msg);
    if (n < 0) return n;
    EVP_MAC_CTX *c = keyed_ctx(s);
    if (!c) /* OpenSSL trouble: the slow path still gives the right answer */
        return beat_notice_sign(s->secret, s->secret_len, f, sig);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    if (!EVP_MAC_update(c, (const unsigned char *)msg, (size_t)n) ||
        !EVP_MAC_final(c, mac, &mac_len, sizeof mac) || mac_len < BEAT_SIG_HEX / 2)
        return -EIO;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < BEAT_SIG_HEX / 2; i++) {
        sig[2 * i] = hex[mac[i] >> 4];
        sig[2 * i + 1] = hex[mac[i] & 15];
    }
    sig[BEAT_SIG_HEX] = '\0';
    return 0;
}

/* As beat_notice.c: RFC 3986 unreserved bytes verbatim, the rest %XX. */
static int url_encode(beat_buf *out, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            continue;
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        int rc;
        if ((s > run && (rc = beat_buf_append(out, run, (size_t)(s - run))) < 0) ||
            (rc = beat_buf_append(out, e, 3)) < 0)
            return rc;
        run = s + 1;
    }
    return s > run ? beat_buf_append(out, run, (size_t)(s - run)) : 0;
}

int inf_notice_url(beat_buf *out, const char *base, const beat_notice_fields *f, const char *sig) {
    return inf_notice_url_m(out, base, f, sig, NULL);
}

int inf_notice_url_m(beat_buf *out, const char *base, const beat_notice_fields *f, const char *sig,
                     const inf_notice_macros *m) {
    const char *mp = m && m->price ? m->price : "${AUCTION_PRICE}";
    const char *mc = m && m->currency ? m->currency : "${AUCTION_CURRENCY}";
    const char *ml = m && m->loss ? m->loss : "${AUCTION_LOSS}";
    const char *path = !f                         ? NULL
                       : f->type == BEAT_EV_WIN   ? "/win"
                       : f->type == BEAT_EV_BILL  ? "/bill"
                       : f->type == BEAT_EV_LOSS  ? "/loss"
                       : f->type == BEAT_EV_CLICK ? "/click"
                                                  : NULL;
    if (!path || !base || !sig) return -EINVAL;
    bool click = f->type == BEAT_EV_CLICK;
    const char *landing = f->landing;
    /* as beat_notice_url: a click needs a landing without macros */
    if (click && (!landing || !*landing || strstr(landing, "${"))) return -EINVAL;
    size_t start = out->len, bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') bl--;
    int rc;
    if ((rc = beat_buf_append(out, base, bl)) < 0 || (rc = beat_buf_puts(out, path)) < 0 ||
        (rc = beat_buf_puts(out, "?v=2&x=")) < 0 ||
        (rc = url_encode(out, f->exchange ? f->exchange : "")) < 0 ||
        (rc = beat_buf_puts(out, "&a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&c=")) < 0 ||
        (rc = url_encode(out, f->campaign)) < 0 || (rc = beat_buf_puts(out, "&cr=")) < 0 ||
        (rc = url_encode(out, f->crid ? f->crid : "")) < 0 ||
        (rc = beat_buf_puts(out, "&b=")) < 0 ||
        (rc = beat_buf_put_i64(out, f->bid_cpm_micros)) < 0 ||
        (f->bid_cur && *f->bid_cur && strcmp(f->bid_cur, "USD") != 0 &&
         ((rc = beat_buf_puts(out, "&bc=")) < 0 || (rc = url_encode(out, f->bid_cur)) < 0)) ||
        (click && f->conv_window_s &&
         ((rc = beat_buf_puts(out, "&cw=")) < 0 ||
          (rc = beat_buf_put_i64(out, f->conv_window_s)) < 0)) ||
        (rc = beat_buf_puts(out, "&t=")) < 0 || (rc = beat_buf_put_i64(out, f->ts_ms)) < 0 ||
        (rc = beat_buf_puts(out, "&f=")) < 0 || (rc = beat_buf_put_i64(out, f->flags)) < 0 ||
        (!click && ((rc = beat_buf_puts(out, "&p=")) < 0 || (rc = beat_buf_puts(out, mp)) < 0 ||
                    (rc = beat_buf_puts(out, "&cur=")) < 0 || (rc = beat_buf_puts(out, mc)) < 0)) ||
        (f->type == BEAT_EV_LOSS &&
         ((rc = beat_buf_puts(out, "&l=")) < 0 || (rc = beat_buf_puts(out, ml)) < 0)) ||
        (click && ((rc = beat_buf_puts(out, "&u=")) < 0 || (rc = url_encode(out, landing)) < 0)) ||
        (rc = beat_buf_puts(out, "&s=")) < 0 || (rc = beat_buf_puts(out, sig)) < 0) {
        out->len = start;
        if (out->data) out->data[start] = '\0';
        return rc;
    }
    return 0;
}
