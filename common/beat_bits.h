/* Internal to common/: a bit reader straight over base64url text, shared by
 * the TCF and GPP decoders (beat_tcf.c, beat_gpp.c). Reading from the text
 * itself needs no decoded copy, so those decoders allocate nothing; a read
 * past the end or over a character outside the base64url alphabet sets
 * bad and returns 0, so a caller checks once after a group of reads.
 * Daemons never include this header. */
#ifndef BEAT_BITS_H
#define BEAT_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct beat_bits {
    const char *s;
    size_t nbits; /* 6 per character */
    size_t pos;
    bool bad;
} beat_bits;

/* The 6-bit value of a base64url character, -1 for any other byte. Some
 * writers use the standard alphabet ('+', '/'); they are accepted too. */
static inline int beat_bits_b64(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}

/* s[0..len) must be base64url only (checked here: false otherwise). */
static inline bool beat_bits_init(beat_bits *b, const char *s, size_t len) {
    *b = (beat_bits){s, len * 6, 0, false};
    for (size_t i = 0; i < len; i++)
        if (beat_bits_b64((unsigned char)s[i]) < 0) return false;
    return true;
}

static inline unsigned beat_bits_bit(beat_bits *b) {
    if (b->pos >= b->nbits) {
        b->bad = true;
        return 0;
    }
    size_t i = b->pos++;
    int v = beat_bits_b64((unsigned char)b->s[i / 6]);
    return ((unsigned)v >> (5 - i % 6)) & 1u;
}

/* n ≤ 36 bits, most significant first. */
static inline uint64_t beat_bits_int(beat_bits *b, int n) {
    if (b->pos + (size_t)n > b->nbits) {
        b->bad = true;
        b->pos = b->nbits;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 1) | beat_bits_bit(b);
    return v;
}

static inline void beat_bits_skip(beat_bits *b, size_t n) {
    if (b->pos + n > b->nbits) {
        b->bad = true;
        b->pos = b->nbits;
        return;
    }
    b->pos += n;
}

/* A Fibonacci-coded positive integer (GPP): bit k adds the k-th term of
 * 1, 2, 3, 5, 8, …, and two 1 bits in a row end it. Values are bounded
 * by max (more → bad), which also bounds the bits read. */
static inline uint32_t beat_bits_fib(beat_bits *b, uint32_t max) {
    uint64_t f1 = 1, f2 = 2, v = 0;
    unsigned prev = 0;
    for (;;) {
        unsigned bit = beat_bits_bit(b);
        if (b->bad) return 0;
        if (bit && prev) return (uint32_t)v;
        if (bit) v += f1;
        if (v > max) {
            b->bad = true;
            return 0;
        }
        uint64_t f3 = f1 + f2;
        f1 = f2;
        f2 = f3;
        prev = bit;
        if (f1 > (uint64_t)max + 1 && !bit) { /* no later term can be added */
            /* the next bit may only be the terminator of a 1 just read */
            b->bad = true;
            return 0;
        }
    }
}

#endif
