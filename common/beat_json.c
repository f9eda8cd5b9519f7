/* Strict cJSON field access with reasons (beat_json.h), internal to common/:
 * called by the wire, campaign and checkpoint codecs, which decode untrusted
 * bytes from peers, operators and disk. It must never assert, never read
 * past a length, and must word a refusal the same way for every codec,
 * because tests and operators match on those reasons. */
#include "beat_json.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)
#define DOT(ctx) beat_json_dot(ctx)

/* ---- decoding ------------------------------------------------------------ */

int beat_json_parse(const char *p, size_t len, cJSON **out, beat_reason *why) {
    char stack[4096]; /* most bodies are small: no allocation for them */
    char *buf = len < sizeof stack ? stack : malloc(len + 1);
    if (!buf) return beat_reasonf(why, -ENOMEM, "out of memory");
    if (len) memcpy(buf, p, len);
    buf[len] = 0;
    const char *end = NULL;
    int rc = 0;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        rc = FAIL("invalid JSON at byte %zu", end && end >= buf ? (size_t)(end - buf) : (size_t)0);
    } else {
        while (end < buf + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++;
        if (end != buf + len) {
            rc = FAIL("trailing bytes after JSON at byte %zu", (size_t)(end - buf));
            cJSON_Delete(root);
        }
    }
    if (buf != stack) free(buf);
    if (rc == 0) *out = root;
    return rc;
}

int beat_json_fields(const cJSON *obj, const char *ctx, const char *const *names, int n,
                     const cJSON **slot, bool strict, beat_reason *why) {
    if (!cJSON_IsObject(obj)) return FAIL("%s: must be an object", *ctx ? ctx : "body");
    for (int i = 0; i < n; i++) slot[i] = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        int i = 0;
        while (i < n && strcmp(c->string, names[i]) != 0) i++;
        if (i == n) {
            if (strict) return FAIL("%s%s%.40s: unknown field", ctx, DOT(ctx), c->string);
            continue;
        }
        if (slot[i]) return FAIL("%s%s%s: duplicate key", ctx, DOT(ctx), names[i]);
        slot[i] = c;
    }
    return 0;
}

int beat_json_unique_keys(const cJSON *obj, const char *ctx, beat_reason *why) {
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                return FAIL("%s%s%.32s: duplicate key", ctx, DOT(ctx), a->string);
    return 0;
}

int beat_json_int(const cJSON *v, const char *ctx, const char *name, int64_t lo, int64_t hi,
                  int64_t *out, beat_reason *why) {
    if (!v) return FAIL("%s%s%s: missing", ctx, DOT(ctx), name);
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || !isfinite(d) || fabs(d) > (double)BEAT_JSON_I53 || d != trunc(d))
        return FAIL("%s%s%s: must be an integer", ctx, DOT(ctx), name);
    int64_t x = (int64_t)d;
    if (x < lo && (lo == 0 || lo == 1))
        return FAIL("%s%s%s: must be %s 0", ctx, DOT(ctx), name, lo ? ">" : ">=");
    if (x < lo) return FAIL("%s%s%s: must be >= %" PRId64, ctx, DOT(ctx), name, lo);
    if (x > hi) return FAIL("%s%s%s: must be <= %" PRId64, ctx, DOT(ctx), name, hi);
    *out = x;
    return 0;
}

int beat_json_int32(const cJSON *v, const char *ctx, const char *name, int lo, int hi, int *out,
                    beat_reason *why) {
    int64_t x;
    int rc = beat_json_int(v, ctx, name, lo, hi, &x, why);
    if (rc == 0) *out = (int)x;
    return rc;
}

int beat_json_double(const cJSON *v, const char *ctx, const char *name, double lo, double hi,
                     double *out, beat_reason *why) {
    if (!v) return FAIL("%s%s%s: missing", ctx, DOT(ctx), name);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return FAIL("%s%s%s: must be a finite number", ctx, DOT(ctx), name);
    /* An open-ended range reads better without its huge upper bound. */
    if (v->valuedouble < lo && hi >= FLT_MAX)
        return FAIL("%s%s%s: must be >= %g", ctx, DOT(ctx), name, lo);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return FAIL("%s%s%s: must be in [%g, %g]", ctx, DOT(ctx), name, lo, hi);
    *out = v->valuedouble;
    return 0;
}

int beat_json_bool(const cJSON *v, const char *ctx, const char *name, bool *out, beat_reason *why) {
    if (!v) return FAIL("%s%s%s: missing", ctx, DOT(ctx), name);
    if (!cJSON_IsBool(v)) return FAIL("%s%s%s: must be true or false", ctx, DOT(ctx), name);
    *out = cJSON_IsTrue(v);
    return 0;
}

int beat_json_count(const cJSON *v, const char *ctx, const char *name, int64_t *out,
                    beat_reason *why) {
    return beat_json_int(v, ctx, name, 0, BEAT_JSON_I53, out, why);
}

int beat_json_version(const cJSON *v, const char *ctx, int64_t want, beat_reason *why) {
    int64_t x;
    int rc = beat_json_int(v, ctx, "v", INT64_MIN, INT64_MAX, &x, why);
    if (rc) return rc;
    if (x != want) return FAIL("%s%sv: unsupported version %" PRId64, ctx, DOT(ctx), x);
    return 0;
}

int beat_json_hex64(const cJSON *v, const char *ctx, const char *name, uint64_t *out,
                    beat_reason *why) {
    if (!v) return FAIL("%s%s%s: missing", ctx, DOT(ctx), name);
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    size_t n = s ? strlen(s) : 0;
    if (!s || n == 0 || n > 16) return FAIL("%s%s%s: must be 1-16 hex digits", ctx, DOT(ctx), name);
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return FAIL("%s%s%s: must be 1-16 hex digits", ctx, DOT(ctx), name);
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return 0;
}

int beat_json_text_check(const char *s, const char *ctx, const char *name, size_t max,
                         unsigned flags, beat_reason *why) {
    size_t n = strlen(s);
    if ((flags & BEAT_JSON_NONEMPTY) && n == 0)
        return FAIL("%s%s%s: must not be empty", ctx, DOT(ctx), name);
    if (n > max) return FAIL("%s%s%s: longer than %zu bytes", ctx, DOT(ctx), name, max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 || c == 0x7f) &&
            !((flags & BEAT_JSON_WS) && (c == '\n' || c == '\r' || c == '\t')))
            return FAIL("%s%s%s: control character", ctx, DOT(ctx), name);
    }
    if (!beat_utf8_valid(s)) return FAIL("%s%s%s: invalid UTF-8", ctx, DOT(ctx), name);
    return 0;
}

/* The string of v once it passed the checks, else NULL with a reason. */
static const char *text_of(const cJSON *v, const char *ctx, const char *name, size_t max,
                           unsigned flags, int *rc, beat_reason *why) {
    if (!v) *rc = FAIL("%s%s%s: missing", ctx, DOT(ctx), name);
    else if (!cJSON_IsString(v) || !v->valuestring)
        *rc = FAIL("%s%s%s: must be a string", ctx, DOT(ctx), name);
    else *rc = beat_json_text_check(v->valuestring, ctx, name, max, flags, why);
    return *rc ? NULL : v->valuestring;
}

int beat_json_text(const cJSON *v, const char *ctx, const char *name, size_t max, unsigned flags,
                   char *out, beat_reason *why) {
    int rc;
    const char *s = text_of(v, ctx, name, max, flags, &rc, why);
    if (s) memcpy(out, s, strlen(s) + 1);
    return rc;
}

int beat_json_strdup(const cJSON *v, const char *ctx, const char *name, size_t max, unsigned flags,
                     char **out, beat_reason *why) {
    int rc;
    const char *s = text_of(v, ctx, name, max, flags, &rc, why);
    if (!s) return rc;
    char *copy = strdup(s);
    if (!copy) return beat_reasonf(why, -ENOMEM, "out of memory");
    *out = copy;
    return 0;
}

/* ---- encoding ------------------------------------------------------------ */

bool beat_json_len_ok(const char *s, size_t max, bool required) {
    size_t n = strnlen(s, max + 1);
    return n <= max && (n > 0 || !required);
}

int beat_json_enc_done(beat_json_enc *e) {
    if (e->rc) {
        e->b->len = e->start;
        if (e->b->data) e->b->data[e->start] = 0;
    }
    return e->rc;
}

void beat_json_put_raw(beat_json_enc *e, const char *s) {
    if (e->rc) return;
    int rc = beat_buf_append(e->b, s, strlen(s));
    if (rc < 0) e->rc = rc;
}

void beat_json_put_str(beat_json_enc *e, const char *s) {
    if (e->rc) return;
    int rc = beat_buf_json_str(e->b, s ? s : "", s ? strlen(s) : 0);
    if (rc < 0) e->rc = rc;
}

void beat_json_put_printf(beat_json_enc *e, const char *fmt, ...) {
    if (e->rc) return;
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        e->rc = -EINVAL; /* a programmer error: only short fragments come here */
        return;
    }
    int rc = beat_buf_append(e->b, tmp, (size_t)n);
    if (rc < 0) e->rc = rc;
}

void beat_json_put_i64(beat_json_enc *e, int64_t v) {
    if (e->rc) return;
    int rc = beat_buf_put_i64(e->b, v);
    if (rc < 0) e->rc = rc;
}

void beat_json_fmt_double(double d, char out[40]) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, d);
        if (strtod(out, NULL) == d) break;
    }
}

void beat_json_put_double(beat_json_enc *e, double d) {
    char tmp[40];
    beat_json_fmt_double(d, tmp);
    beat_json_put_raw(e, tmp);
}

void beat_json_put_prob(beat_json_enc *e, double p) {
    if (!(p >= 1e-12 && p < 1)) {
        beat_json_put_double(e, p);
        return;
    }
    int lead = 0; /* zeros between the point and the first digit */
    while (p < 0.1) {
        p *= 10;
        lead++;
    }
    uint64_t m = (uint64_t)llround(p * 1e9); /* [1e8, 1e9] */
    if (m >= 1000000000) {                   /* rounded up to the next power of ten */
        if (lead == 0) {
            beat_json_put_raw(e, "1");
            return;
        }
        m /= 10;
        lead--;
    }
    char t[48];
    int n = 0;
    t[n++] = '0';
    t[n++] = '.';
    for (int i = 0; i < lead; i++) t[n++] = '0';
    char d[10];
    for (int i = 8; i >= 0; i--, m /= 10) d[i] = (char)('0' + m % 10);
    int k = 9;
    while (k > 1 && d[k - 1] == '0') k--;
    memcpy(t + n, d, (size_t)k);
    t[n + k] = '\0';
    beat_json_put_raw(e, t);
}

void beat_json_put_float(beat_json_enc *e, float f) {
    char tmp[40];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
        if ((float)strtod(tmp, NULL) == f) break;
    }
    beat_json_put_raw(e, tmp);
}
