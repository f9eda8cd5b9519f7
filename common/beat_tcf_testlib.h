/* Test helpers: a tiny encoder of TCF v2 core segments and GPP strings with
 * chosen purposes, special features, vendors and US opt-outs, so tests can
 * make the exact string a case needs (beat_tcf_test.c, beat_gpp_test.c,
 * inference's privacy tests), and beat-exsim its GDPR users' strings.
 * Written from the layouts in beat_tcf.c and beat_gpp.c; the real strings
 * in the tests check it against other encoders. Header-only: tests and the
 * simulator, never a daemon. */
#ifndef BEAT_TCF_TESTLIB_H
#define BEAT_TCF_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct tl_bits {
    unsigned char b[80000]; /* one bit per byte: simple, and big enough for
                               a 65535-vendor bit field */
    size_t n;
} tl_bits;

static inline void tl_put(tl_bits *w, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) w->b[w->n++] = (unsigned char)(v >> i & 1u);
}

static inline void tl_fib(tl_bits *w, uint32_t v) {
    uint32_t f[32];
    int k = 0;
    f[0] = 1;
    f[1] = 2;
    for (k = 2; k < 32; k++) f[k] = f[k - 1] + f[k - 2];
    unsigned char bits[32] = {0};
    int top = 0;
    for (int i = 31; i >= 0; i--)
        if (f[i] <= v) {
            bits[i] = 1;
            v -= f[i];
            if (i > top) top = i;
        }
    for (int i = 0; i <= top; i++) w->b[w->n++] = bits[i];
    w->b[w->n++] = 1;
}

/* base64url of the bits, zero-padded to a multiple of 6. */
static inline void tl_b64(tl_bits *w, char *out) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    while (w->n % 6) w->b[w->n++] = 0;
    size_t k = 0;
    for (size_t i = 0; i < w->n; i += 6) {
        int v = 0;
        for (int j = 0; j < 6; j++) v = v << 1 | w->b[i + j];
        out[k++] = A[v];
    }
    out[k] = '\0';
}

typedef struct tl_tcf {
    int version;       /* 0 → 2 */
    uint32_t purposes; /* bit i-1 = purpose i */
    uint32_t special;  /* bit i-1 = special feature i */
    int max_vendor;
    const int *vendors; /* consented vendor ids */
    int n_vendors;
    bool range;           /* range-encode the consent section */
    int restrict_purpose; /* > 0: one type-0 restriction on it for */
    int restrict_vendor;  /* this vendor */
} tl_tcf;

static inline bool tl_in(const int *v, int n, int id) {
    for (int i = 0; i < n; i++)
        if (v[i] == id) return true;
    return false;
}

/* out: room for (bits/6 + 2) characters. */
static inline void tl_tcf_encode(const tl_tcf *s, char *out) {
    static tl_bits w;
    w.n = 0;
    tl_put(&w, s->version ? (uint64_t)s->version : 2, 6);
    tl_put(&w, 16000000000ULL, 36);
    tl_put(&w, 16000000000ULL, 36);
    tl_put(&w, 92, 12); /* CmpId */
    tl_put(&w, 1, 12);  /* CmpVersion */
    tl_put(&w, 1, 6);   /* ConsentScreen */
    tl_put(&w, 'E' - 'A', 6);
    tl_put(&w, 'N' - 'A', 6);
    tl_put(&w, 150, 12); /* VendorListVersion */
    tl_put(&w, 4, 6);    /* TcfPolicyVersion */
    tl_put(&w, 0, 1);
    tl_put(&w, 0, 1);
    for (int i = 1; i <= 12; i++) tl_put(&w, s->special >> (i - 1) & 1u, 1);
    for (int i = 1; i <= 24; i++) tl_put(&w, s->purposes >> (i - 1) & 1u, 1);
    for (int i = 1; i <= 24; i++) tl_put(&w, 0, 1); /* LI transparency */
    tl_put(&w, 0, 1);
    tl_put(&w, 'D' - 'A', 6);
    tl_put(&w, 'E' - 'A', 6);
    tl_put(&w, (uint64_t)s->max_vendor, 16);
    tl_put(&w, s->range, 1);
    if (!s->range) {
        for (int id = 1; id <= s->max_vendor; id++)
            tl_put(&w, tl_in(s->vendors, s->n_vendors, id), 1);
    } else {
        tl_put(&w, (uint64_t)s->n_vendors, 12);
        for (int i = 0; i < s->n_vendors; i++) {
            tl_put(&w, 0, 1);
            tl_put(&w, (uint64_t)s->vendors[i], 16);
        }
    }
    tl_put(&w, 0, 16); /* LI section: MaxVendorId 0, bit field */
    tl_put(&w, 0, 1);
    if (s->restrict_purpose > 0) {
        tl_put(&w, 1, 12);
        tl_put(&w, (uint64_t)s->restrict_purpose, 6);
        tl_put(&w, 0, 2);
        tl_put(&w, 1, 12);
        tl_put(&w, 0, 1);
        tl_put(&w, (uint64_t)s->restrict_vendor, 16);
    } else {
        tl_put(&w, 0, 12);
    }
    tl_b64(&w, out);
}

/* A GPP header listing ids[0..n) (ascending), as single entries. */
static inline void tl_gpp_header(const int *ids, int n, char *out) {
    static tl_bits w;
    w.n = 0;
    tl_put(&w, 3, 6);
    tl_put(&w, 1, 6);
    tl_put(&w, (uint64_t)n, 12);
    int last = 0;
    for (int i = 0; i < n; i++) {
        tl_put(&w, 0, 1);
        tl_fib(&w, (uint32_t)(ids[i] - last));
        last = ids[i];
    }
    tl_b64(&w, out);
}

/* A US section (id 7..12) whose 2-bit fields are all 0 but the opt-outs
 * at the given bit offsets after Version (see beat_gpp.c), each 0..2
 * (-1: field absent, left 0). nfields 2-bit fields in all. */
static inline void tl_gpp_us(int off_sale, int sale, int off_sharing, int sharing, int off_targeted,
                             int targeted, int nfields, char *out) {
    static tl_bits w;
    w.n = 0;
    tl_put(&w, 1, 6);
    size_t base = w.n;
    for (int i = 0; i < nfields; i++) tl_put(&w, 0, 2);
    int offs[3] = {off_sale, off_sharing, off_targeted}, vals[3] = {sale, sharing, targeted};
    for (int k = 0; k < 3; k++)
        if (offs[k] >= 0 && vals[k] >= 0) {
            w.b[base + (size_t)offs[k]] = (unsigned char)(vals[k] >> 1 & 1);
            w.b[base + (size_t)offs[k] + 1] = (unsigned char)(vals[k] & 1);
        }
    tl_b64(&w, out);
}

#endif
