/* Pre-keyed notice signing for the bid path. beat_notice_sign calls
 * OpenSSL's one-shot HMAC(), which fetches the digest and keys HMAC on every
 * call (~4 µs); an EVP_MAC_CTX re-initialised with the same key still
 * allocates twice per signature (its digest contexts are duplicated). Here
 * the signer hashes key⊕ipad and key⊕opad once (RFC 2104) and each
 * signature starts from copies of those two SHA-256 states: no allocation,
 * no lock, OpenSSL's own SHA-256 code. The signed text comes from
 * beat_notice_text, so there is one definition of it; since it starts with
 * the type, win, bill and loss each need their own signature. Must produce
 * byte-identical URLs to beat_notice_url: notice_test.c compares them. */
/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP,
 * whose context copies allocate; they remain the allocation-free way to
 * resume a hash from a saved state, which is all HMAC needs. */
#define OPENSSL_API_COMPAT 10101
#include "notice.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((inf_signer *)0)->inner),
               "inf_signer's state slots must hold a SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= 8, "inf_signer's state slots are 8-byte aligned");

void inf_signer_init(inf_signer *s, const void *secret, size_t secret_len) {
    s->secret = secret;
    s->secret_len = secret_len;
    /* A key longer than the block is hashed first; shorter ones are padded
     * with zeros (an empty key is all zeros). */
    unsigned char key[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK];
    if (secret_len > SHA256_CBLOCK) SHA256(secret, secret_len, key);
    else if (secret_len) memcpy(key, secret, secret_len);
    SHA256_CTX in, out;
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = key[i] ^ 0x36;
    s->keyed = SHA256_Init(&in) && SHA256_Update(&in, pad, sizeof pad);
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = key[i] ^ 0x5c;
    s->keyed = s->keyed && SHA256_Init(&out) && SHA256_Update(&out, pad, sizeof pad);
    memcpy(s->inner, &in, sizeof in);
    memcpy(s->outer, &out, sizeof out);
}

int inf_notice_sign(const inf_signer *s, const beat_notice_fields *f, char sig[BEAT_SIG_HEX + 1]) {
    char msg[BEAT_NOTICE_TEXT_MAX];
    int n = beat_notice_text(f, msg, sizeof msg);
    if (n < 0) return n;
    if (!s->keyed) /* OpenSSL trouble: the slow path still gives the right answer */
        return beat_notice_sign(s->secret, s->secret_len, f, sig);
    unsigned char mac[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
    memcpy(&c, s->inner, sizeof c);
    if (!SHA256_Update(&c, msg, (size_t)n) || !SHA256_Final(mac, &c)) return -EIO;
    memcpy(&c, s->outer, sizeof c);
    if (!SHA256_Update(&c, mac, sizeof mac) || !SHA256_Final(mac, &c)) return -EIO;
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
