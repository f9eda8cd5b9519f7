/* Internal to common/: strict cJSON field access with reasons, shared by the
 * wire, campaign and checkpoint codecs (beat_wire.c, beat_wire_state.c,
 * beat_campaign.c, beat_ckpt.c) so they agree byte for byte on what they
 * accept and on how a refusal is worded. Daemons never include this header. Input is
 * untrusted: nothing here asserts, and out-parameters are written only on
 * success. Reasons name the field as "<ctx>.<name>" ("campaigns[2].w"). */
#ifndef BEAT_JSON_H
#define BEAT_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

#define BEAT_JSON_I53 ((int64_t)1 << 53) /* JSON integers are exact up to 2^53 */

/* Separator between a context path and a field name: none at the top level. */
static inline const char *beat_json_dot(const char *ctx) { return *ctx ? "." : ""; }

/* ---- decoding ------------------------------------------------------------ */

/* Parses len bytes that need not be NUL-terminated and refuses anything but
 * whitespace after the value. On success *out is owned by the caller
 * (cJSON_Delete); -EBADMSG or -ENOMEM with a reason otherwise. */
int beat_json_parse(const char *p, size_t len, cJSON **out, beat_reason *why);

/* Collects the members of obj named names[0..n) into slot[i] (NULL when
 * absent). Duplicate named keys are refused, since two parsers may read them
 * differently; unknown keys are refused when strict, else ignored for
 * forward compatibility. */
int beat_json_fields(const cJSON *obj, const char *ctx, const char *const *names, int n,
                     const cJSON **slot, bool strict, beat_reason *why);
/* Refuses any key that appears twice in obj, named or not (quadratic: only
 * for small, already size-bounded objects). */
int beat_json_unique_keys(const cJSON *obj, const char *ctx, beat_reason *why);

/* Getters: v == NULL means the field is missing, which is an error; callers
 * with optional fields test for NULL first. */
int beat_json_int(const cJSON *v, const char *ctx, const char *name, int64_t lo, int64_t hi,
                  int64_t *out, beat_reason *why);
int beat_json_int32(const cJSON *v, const char *ctx, const char *name, int lo, int hi, int *out,
                    beat_reason *why);
int beat_json_double(const cJSON *v, const char *ctx, const char *name, double lo, double hi,
                     double *out, beat_reason *why);
int beat_json_bool(const cJSON *v, const char *ctx, const char *name, bool *out, beat_reason *why);
/* Counts, versions, timestamps and money: an integer in [0, 2^53]. */
int beat_json_count(const cJSON *v, const char *ctx, const char *name, int64_t *out,
                    beat_reason *why);
/* A format version "v": any integer is read, one other than want is
 * refused as unsupported. */
int beat_json_version(const cJSON *v, const char *ctx, int64_t want, beat_reason *why);
/* 64-bit values (epochs, seeds) travel as 1-16 hex digit strings: JSON
 * numbers stop being exact at 2^53. */
int beat_json_hex64(const cJSON *v, const char *ctx, const char *name, uint64_t *out,
                    beat_reason *why);

#define BEAT_JSON_NONEMPTY 1u /* "" is refused */
#define BEAT_JSON_WS 2u       /* '\n', '\r', '\t' allowed (HTML markup) */
/* Checks text (a value or an object key): at most max bytes, no control
 * characters (beyond BEAT_JSON_WS), valid UTF-8. */
int beat_json_text_check(const char *s, const char *ctx, const char *name, size_t max,
                         unsigned flags, beat_reason *why);
/* A checked string copied into out, which holds max + 1 bytes. */
int beat_json_text(const cJSON *v, const char *ctx, const char *name, size_t max, unsigned flags,
                   char *out, beat_reason *why);
/* A checked string as a heap copy: on success *out is the caller's (free). */
int beat_json_strdup(const cJSON *v, const char *ctx, const char *name, size_t max, unsigned flags,
                     char **out, beat_reason *why);

/* ---- encoding ------------------------------------------------------------ */

/* Encoders check their own fixed-size text fields with this: true if s has
 * at most max bytes before its NUL (reading at most max + 1) and is not
 * empty when required. */
bool beat_json_len_ok(const char *s, size_t max, bool required);

/* Appends with the first error sticky, so an encoder is a flat list of puts;
 * beat_json_enc_done puts the buffer back as it was if any put failed. */
typedef struct beat_json_enc {
    beat_buf *b;
    size_t start;
    int rc;
} beat_json_enc;

static inline beat_json_enc beat_json_enc_start(beat_buf *b) {
    return (beat_json_enc){b, b->len, 0};
}
int beat_json_enc_done(beat_json_enc *e);
void beat_json_put_raw(beat_json_enc *e, const char *s);
void beat_json_put_str(beat_json_enc *e, const char *s); /* quoted; NULL as "" */
/* Short fragments only (numbers, keys): output over 255 bytes is -EINVAL. */
void beat_json_put_printf(beat_json_enc *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void beat_json_put_i64(beat_json_enc *e, int64_t v);
void beat_json_put_double(beat_json_enc *e, double d); /* d must be finite */
/* A probability: 9 significant digits in fixed notation ("0.0123"), which
 * is more than any estimate carries, without printf (bid logs). Values
 * outside [1e-12, 1) go through beat_json_put_double. */
void beat_json_put_prob(beat_json_enc *e, double p);
void beat_json_put_float(beat_json_enc *e, float f); /* f must be finite */
/* Shortest "%.*g" text that reads back as exactly d (d finite). */
void beat_json_fmt_double(double d, char out[40]);

#endif
