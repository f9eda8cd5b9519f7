/* GPP and US Privacy decoders (beat_gpp.h). A GPP string is
 * "HEADER~SECTION~SECTION…": the header is base64url bits Type 6 (= 3),
 * Version 6 (= 1), then the section ids as a Fibonacci range: NumEntries 12
 * × (IsRange 1, offset from the previous id as a Fibonacci integer[, the
 * group's length as another]). Sections follow in the order of their ids;
 * a section may carry sub-sections after '.' (the GPC flag), which are
 * ignored. US sections start with Version 6 and a run of 2-bit fields; the
 * offsets of the opt-outs we read differ per section:
 *   usnat (7): SharingNotice, SaleOptOutNotice, SharingOptOutNotice,
 *              TargetedAdvertisingOptOutNotice, SensitiveDataProcessing-
 *              OptOutNotice, SensitiveDataLimitUseNotice, SaleOptOut,
 *              SharingOptOut, TargetedAdvertisingOptOut, …
 *   usca (8):  SaleOptOutNotice, SharingOptOutNotice, SensitiveDataLimit-
 *              UseNotice, SaleOptOut, SharingOptOut, …
 *   usva (9), usco (10), usct (12): SharingNotice, SaleOptOutNotice,
 *              TargetedAdvertisingOptOutNotice, SaleOptOut,
 *              TargetedAdvertisingOptOut, …
 *   usut (11): SharingNotice, SaleOptOutNotice, TargetedAdvertisingOpt-
 *              OutNotice, SensitiveDataProcessingOptOutNotice, SaleOptOut,
 *              TargetedAdvertisingOptOut, … */
#include "beat_gpp.h"
#include "beat_bits.h"

#include <errno.h>
#include <string.h>

#define FAIL(...) beat_reasonf(why, -EINVAL, __VA_ARGS__)

static bool usp_char(char c, char *out) {
    if (c == 'y') c = 'Y';
    if (c == 'n') c = 'N';
    if (c != 'Y' && c != 'N' && c != '-') return false;
    *out = c;
    return true;
}

int beat_usp_decode(const char *s, size_t len, beat_usp *out, beat_reason *why) {
    beat_usp u;
    if (!s || len != 4 || s[0] != '1' || !usp_char(s[1], &u.notice) ||
        !usp_char(s[2], &u.opt_out_sale) || !usp_char(s[3], &u.lspa))
        /* s need not be NUL-terminated (a GPP section): print at most len
         * bytes of it. Found by fuzz_tcf. */
        return FAIL("us_privacy: \"%.*s\" is not 1 + three of Y/N/-",
                    s ? (int)(len < 8 ? len : 8) : 0, s ? s : "");
    *out = u;
    return 0;
}

bool beat_gpp_has(const beat_gpp *g, int id) {
    for (int i = 0; i < g->n_ids; i++)
        if (g->ids[i] == id) return true;
    return false;
}

static int header(const char *s, size_t len, beat_gpp *g, beat_reason *why) {
    beat_bits b;
    if (len == 0 || !beat_bits_init(&b, s, len)) return FAIL("gpp: header is not base64url");
    int type = (int)beat_bits_int(&b, 6), version = (int)beat_bits_int(&b, 6);
    if (b.bad || type != 3) return FAIL("gpp: header type %d, not 3", type);
    if (version != 1) return FAIL("gpp: header version %d, not 1", version);
    int n = (int)beat_bits_int(&b, 12);
    uint32_t last = 0;
    for (int i = 0; i < n && !b.bad; i++) {
        bool group = beat_bits_bit(&b);
        uint32_t lo = last + beat_bits_fib(&b, BEAT_GPP_ID_MAX);
        uint32_t hi = group ? lo + beat_bits_fib(&b, BEAT_GPP_ID_MAX) : lo;
        if (b.bad) break;
        if (lo <= last && i > 0) return FAIL("gpp: section ids out of order");
        if (hi > BEAT_GPP_ID_MAX) return FAIL("gpp: section id %u too large", hi);
        for (uint32_t id = lo; id <= hi; id++) {
            if (g->n_ids == BEAT_GPP_SECTIONS_MAX) return FAIL("gpp: too many sections");
            g->ids[g->n_ids++] = (uint8_t)id;
        }
        last = hi;
    }
    if (b.bad) return FAIL("gpp: header section ids cut short");
    if (g->n_ids == 0) return FAIL("gpp: header lists no section");
    return 0;
}

/* Bit offsets (after Version) of sale, sharing and targeted opt-outs per
 * US section id 7..12; -1 = the section has no such field. */
static const int us_off[6][3] = {
    {12, 14, 16}, /* usnat */
    {6, 8, -1},   /* usca */
    {6, -1, 8},   /* usva */
    {6, -1, 8},   /* usco */
    {8, -1, 10},  /* usut */
    {6, -1, 8},   /* usct */
};

static int us_section(int id, const char *s, size_t len, beat_gpp_us *u, beat_reason *why) {
    const char *dot = memchr(s, '.', len);
    size_t core = dot ? (size_t)(dot - s) : len;
    beat_bits b;
    if (core == 0 || !beat_bits_init(&b, s, core))
        return FAIL("gpp: section %d is not base64url", id);
    u->id = id;
    u->version = (int)beat_bits_int(&b, 6);
    if (u->version < 1) return FAIL("gpp: section %d version %d", id, u->version);
    int *field[3] = {&u->sale, &u->sharing, &u->targeted};
    for (int k = 0; k < 3; k++) {
        int off = us_off[id - 7][k];
        if (off < 0) {
            *field[k] = -1;
            continue;
        }
        beat_bits p = b;
        p.pos = 6 + (size_t)off;
        *field[k] = (int)beat_bits_int(&p, 2);
        if (p.bad) return FAIL("gpp: section %d cut short", id);
    }
    return 0;
}

int beat_gpp_decode(const char *s, size_t len, beat_gpp *out, beat_reason *why) {
    if (!s || len == 0) return FAIL("gpp: empty");
    if (len > BEAT_GPP_MAX_LEN) return FAIL("gpp: longer than %d bytes", BEAT_GPP_MAX_LEN);
    beat_gpp g;
    memset(&g, 0, sizeof g);
    const char *end = s + len, *p = memchr(s, '~', len);
    size_t hl = p ? (size_t)(p - s) : len;
    int rc = header(s, hl, &g, why);
    if (rc) return rc;
    p = p ? p + 1 : end;
    for (int i = 0; i < g.n_ids; i++) {
        if (p > end || (p == end && i < g.n_ids))
            return FAIL("gpp: %d sections listed, %d present", g.n_ids, i);
        const char *q = memchr(p, '~', (size_t)(end - p));
        size_t sl = q ? (size_t)(q - p) : (size_t)(end - p);
        int id = g.ids[i];
        if (sl == 0) return FAIL("gpp: section %d empty", id);
        if (id == 2) {
            g.tcf_off = (size_t)(p - s);
            g.tcf_len = sl;
        } else if (id == 6) {
            if ((rc = beat_usp_decode(p, sl, &g.usp, why))) return rc;
            g.has_usp = true;
        } else if (id >= 7 && id <= 12) {
            if ((rc = us_section(id, p, sl, &g.us[g.n_us], why))) return rc;
            g.n_us++;
        }
        p = q ? q + 1 : end;
        if (!q && i + 1 < g.n_ids)
            return FAIL("gpp: %d sections listed, %d present", g.n_ids, i + 1);
    }
    *out = g;
    return 0;
}
