/* Model checkpoints (lighttrainer → supervisor → inference), DESIGN §3.
 * Byte layout, all integers little-endian:
 *   0   magic "BEATCKPT" (8 bytes)
 *   8   u32 format version (1)
 *   12  u32 header_len
 *   16  header JSON (header_len bytes, UTF-8)
 *   …   u64 n_weights, then n_weights × f32 weights
 *   …   u64 private_len, then private_len bytes (trainer-private, opaque)
 *   …   u32 CRC32 (zlib) over every preceding byte
 * Header JSON: {"kind":"logreg","trainer":"beat-lighttrainer","hash_bits":20,
 *   "hash_seed":"…hex…","dim":1048576,"rank":0,"n_weights":1048577,
 *   "samples_seen":…,"auc":…,"logloss":…,"avg_ctr":…,"ts":…}
 * Weight layout for kind "logreg": w[0..dim) hashed linear weights, w[dim]
 * the bias, then rank-dependent factor blocks (rank 0: none), so
 * n_weights = dim + 1 + factor_len. pCTR = sigmoid(w[dim] + Σ w[idx]).
 * factor_len = 0 for rank 0, rank * dim for rank > 0 (provisional: the
 * trainer issue may refine it; rank ≤ 256). hash_bits in [10, 26].
 * Decode refuses anything else, and trailing bytes after the CRC.
 * hash_seed is a 1–16 hex digit string (64-bit). auc/logloss are null when
 * unknown (decoded as NaN); avg_ctr is a finite number in [0, 1]. */
#ifndef BEAT_CKPT_H
#define BEAT_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

#define BEAT_CKPT_MAGIC "BEATCKPT"
#define BEAT_CKPT_VERSION 1

typedef struct beat_ckpt_header {
    char kind[32];
    char trainer[64];
    uint32_t hash_bits;
    uint64_t hash_seed;
    uint32_t dim;
    uint32_t rank;
    uint64_t n_weights;
    int64_t samples_seen;
    double auc, logloss, avg_ctr;
    int64_t ts_ms;
} beat_ckpt_header;

typedef struct beat_ckpt {
    beat_ckpt_header h;
    float *w;        /* n = h.n_weights; owned */
    uint8_t *priv;   /* owned, may be NULL */
    uint64_t n_priv;
} beat_ckpt;

uint32_t beat_crc32(const void *p, size_t n);

/* Serialises c (header JSON written from c->h) and appends it to out. */
int beat_ckpt_encode(const beat_ckpt *c, beat_buf *out);
/* Validates magic, version, lengths, CRC, header fields (dim == 1<<hash_bits,
 * n_weights consistent with dim and rank, kind known), every weight finite,
 * total ≤ max_bytes. On success out owns copies (beat_ckpt_fini). */
int beat_ckpt_decode(const void *p, size_t n, size_t max_bytes, beat_ckpt *out,
                     beat_reason *why);
void beat_ckpt_fini(beat_ckpt *c);
/* n_weights a kind/dim/rank implies (the factor block size for rank > 0 is
 * fixed by the trainer issue; rank 0 → dim + 1). */
uint64_t beat_ckpt_expected_weights(const beat_ckpt_header *h);

#endif
