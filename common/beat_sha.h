/* SHA-256 through OpenSSL's EVP, and lowercase hex: the one digest of
 * exchange keys (beat_exchange.c) and of the config files and bodies the
 * supervisor remembers having applied. */
#ifndef BEAT_SHA_H
#define BEAT_SHA_H

#include <stddef.h>
#include <stdint.h>

#define BEAT_SHA256_LEN 32

/* out gets the digest of p[0..n); -EIO if OpenSSL fails (out undefined). */
int beat_sha256(const void *p, size_t n, uint8_t out[BEAT_SHA256_LEN]);
/* out gets 2n hex digits and a NUL (2n + 1 bytes). */
void beat_hex(const uint8_t *p, size_t n, char *out);
/* The digest as 64 hex digits; "" if hashing failed. */
void beat_sha256_hex(const void *p, size_t n, char hex[2 * BEAT_SHA256_LEN + 1]);

#endif
