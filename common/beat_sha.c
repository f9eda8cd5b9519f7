/* SHA-256 and hex (beat_sha.h). A separate object from beat_util so that
 * only the binaries that hash link OpenSSL's digest code. */
#include "beat_sha.h"

#include <errno.h>
#include <openssl/evp.h>

int beat_sha256(const void *p, size_t n, uint8_t out[BEAT_SHA256_LEN]) {
    unsigned int len = 0;
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != BEAT_SHA256_LEN) return -EIO;
    return 0;
}

void beat_hex(const uint8_t *p, size_t n, char *out) {
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void beat_sha256_hex(const void *p, size_t n, char hex[2 * BEAT_SHA256_LEN + 1]) {
    uint8_t md[BEAT_SHA256_LEN];
    if (beat_sha256(p, n, md) != 0) hex[0] = '\0';
    else beat_hex(md, sizeof md, hex);
}
