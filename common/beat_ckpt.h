/* Model checkpoints (lighttrainer → supervisor → inference), see
 * docs/contracts.md "Checkpoints".
 * Byte layout, all integers little-endian:
 *   0   magic "BEATCKPT" (8 bytes)
 *   8   u32 format version (1)
 *   12  u32 header_len
 *   16  header JSON (header_len bytes, UTF-8)
 *   …   u64 n_weights, then n_weights × f32 weights
 *   …   u64 private_len, then private_len bytes (trainer-private, opaque)
 *   …   u32 CRC32 (zlib) over every preceding byte
 * Header JSON: {"kind":"logreg","trainer":"beat-lighttrainer","hash_bits":20,
 *   "hash_seed":"…hex…","dim":1048576,"rank":8,"factor_bits":16,
 *   "n_weights":…,"samples_seen":…,"auc":…,"logloss":…,"avg_ctr":…,"ts":…}
 * Weight layout for kind "logreg", F = 2^factor_bits:
 *   w[0..dim)            hashed linear weights (index = hash & (dim-1))
 *   w[dim]               the bias
 *   V = next F × rank    context-feature embeddings, row-major: row r =
 *                        base request-feature hash & (F-1), r*rank + k
 *   U = next F × rank    campaign embeddings: row = campaign hash & (F-1)
 * so n_weights = dim + 1 + 2·F·rank (rank 0: no V/U, factor_bits 0).
 * pCTR = sigmoid(w[dim] + Σ w[idx] + U[c] · Σ_f V[f]) where idx are the
 * beat_feat_indices of (request, campaign) and f the request's base
 * features. rank ≤ 256; factor_bits = 0 when rank is 0, else in
 * [4, hash_bits] (so a row is also index & (F-1)); absent = 0 (older rank-0
 * checkpoints decode unchanged). hash_bits in [10, 26].
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
    uint32_t factor_bits; /* 0 when rank is 0 */
} beat_ckpt_header;

typedef struct beat_ckpt {
    beat_ckpt_header h;
    float *w;      /* n = h.n_weights; owned */
    uint8_t *priv; /* owned, may be NULL */
    uint64_t n_priv;
} beat_ckpt;

uint32_t beat_crc32(const void *p, size_t n);

/* Serialises c (header JSON written from c->h) and appends it to out. */
int beat_ckpt_encode(const beat_ckpt *c, beat_buf *out);
/* Validates magic, version, lengths, CRC, header fields (dim == 1<<hash_bits,
 * n_weights consistent with dim and rank, kind known), every weight finite,
 * total ≤ max_bytes. On success out owns copies (beat_ckpt_fini). */
int beat_ckpt_decode(const void *p, size_t n, size_t max_bytes, beat_ckpt *out, beat_reason *why);
void beat_ckpt_fini(beat_ckpt *c);
/* Offsets of the factor blocks in w (valid when rank > 0). */
static inline uint64_t beat_ckpt_v_at(const beat_ckpt_header *h) { return (uint64_t)h->dim + 1; }
static inline uint64_t beat_ckpt_u_at(const beat_ckpt_header *h) {
    return (uint64_t)h->dim + 1 + ((uint64_t)h->rank << h->factor_bits);
}
/* n_weights a kind/dim/rank/factor_bits implies: dim + 1 + 2·2^fb·rank. */
uint64_t beat_ckpt_expected_weights(const beat_ckpt_header *h);

#endif
