/* TCF v2 core segment decoder (beat_tcf.h). The layout is the IAB's "TC
 * string" core segment; offsets are bits, most significant first, over the
 * base64url text (beat_bits.h):
 *   Version 6, Created 36, LastUpdated 36, CmpId 12, CmpVersion 12,
 *   ConsentScreen 6, ConsentLanguage 12, VendorListVersion 12,
 *   TcfPolicyVersion 6, IsServiceSpecific 1, UseNonStandardTexts 1,
 *   SpecialFeatureOptIns 12, PurposesConsent 24, PurposesLITransparency 24,
 *   PurposeOneTreatment 1, PublisherCC 12,
 *   vendor consents: MaxVendorId 16, IsRangeEncoding 1, then a bit field of
 *     MaxVendorId bits or NumEntries 12 × (IsARange 1, Start 16[, End 16]),
 *   vendor legitimate interests: the same,
 *   NumPubRestrictions 12 × (PurposeId 6, RestrictionType 2, NumEntries 12,
 *     ranges as above).
 * Work is linear in the string's length, which is bounded. */
#include "beat_tcf.h"
#include "beat_bits.h"

#include <errno.h>
#include <string.h>

#define FAIL(...) beat_reasonf(why, -EINVAL, __VA_ARGS__)

static void letters(beat_bits *b, char out[3]) {
    for (int i = 0; i < 2; i++) out[i] = (char)('A' + beat_bits_int(b, 6));
    out[2] = '\0';
}

/* One vendor section: is vendor in it? Ranges must lie in 1..max. */
static int vendor_section(beat_bits *b, int vendor, int *max_out, bool *range_out, bool *has,
                          const char *what, beat_reason *why) {
    int max = (int)beat_bits_int(b, 16);
    bool range = beat_bits_int(b, 1);
    *has = false;
    if (b->bad) return FAIL("tcf: %s section cut short", what);
    if (!range) {
        size_t at = b->pos;
        beat_bits_skip(b, (size_t)max);
        if (b->bad) return FAIL("tcf: %s bit field cut short", what);
        if (vendor >= 1 && vendor <= max) {
            beat_bits probe = *b;
            probe.pos = at + (size_t)(vendor - 1);
            *has = beat_bits_bit(&probe);
        }
    } else {
        int n = (int)beat_bits_int(b, 12);
        for (int i = 0; i < n && !b->bad; i++) {
            bool is_range = beat_bits_int(b, 1);
            int lo = (int)beat_bits_int(b, 16);
            int hi = is_range ? (int)beat_bits_int(b, 16) : lo;
            if (b->bad) break;
            if (lo < 1 || hi < lo || hi > max)
                return FAIL("tcf: %s range %d-%d outside 1..%d", what, lo, hi, max);
            if (vendor >= lo && vendor <= hi) *has = true;
        }
        if (b->bad) return FAIL("tcf: %s ranges cut short", what);
    }
    *max_out = max;
    *range_out = range;
    return 0;
}

/* Publisher restrictions: parsed past (they are the core segment's tail)
 * and kept only as "purpose not allowed" for the vendor asked about. */
static int restrictions(beat_bits *b, int vendor, beat_tcf *t, beat_reason *why) {
    if (b->pos + 12 > b->nbits) return 0; /* some writers end before the count */
    int n = (int)beat_bits_int(b, 12);
    t->n_restrictions = n;
    for (int i = 0; i < n && !b->bad; i++) {
        int purpose = (int)beat_bits_int(b, 6);
        int type = (int)beat_bits_int(b, 2);
        int entries = (int)beat_bits_int(b, 12);
        for (int k = 0; k < entries && !b->bad; k++) {
            bool is_range = beat_bits_int(b, 1);
            int lo = (int)beat_bits_int(b, 16);
            int hi = is_range ? (int)beat_bits_int(b, 16) : lo;
            if (b->bad) break;
            if (lo < 1 || hi < lo) return FAIL("tcf: publisher restriction range %d-%d", lo, hi);
            if (type == 0 && purpose >= 1 && purpose <= 24 && vendor >= lo && vendor <= hi)
                t->restricted |= 1u << (purpose - 1);
        }
    }
    if (b->bad) return FAIL("tcf: publisher restrictions cut short");
    return 0;
}

int beat_tcf_decode(const char *s, size_t len, int vendor, beat_tcf *out, beat_reason *why) {
    if (!s || len == 0) return FAIL("tcf: empty");
    if (len > BEAT_TCF_MAX_LEN) return FAIL("tcf: longer than %d bytes", BEAT_TCF_MAX_LEN);
    const char *dot = memchr(s, '.', len);
    size_t core = dot ? (size_t)(dot - s) : len;
    beat_bits b;
    if (core == 0 || !beat_bits_init(&b, s, core))
        return FAIL("tcf: core segment is not base64url");
    beat_tcf t;
    memset(&t, 0, sizeof t);
    t.version = (int)beat_bits_int(&b, 6);
    if (b.bad || t.version != 2) return FAIL("tcf: version %d, not 2", t.version);
    t.created_ds = (int64_t)beat_bits_int(&b, 36);
    t.updated_ds = (int64_t)beat_bits_int(&b, 36);
    t.cmp_id = (int)beat_bits_int(&b, 12);
    t.cmp_version = (int)beat_bits_int(&b, 12);
    t.consent_screen = (int)beat_bits_int(&b, 6);
    letters(&b, t.language);
    t.vendor_list_version = (int)beat_bits_int(&b, 12);
    t.policy_version = (int)beat_bits_int(&b, 6);
    t.service_specific = beat_bits_int(&b, 1);
    t.non_standard_stacks = beat_bits_int(&b, 1);
    t.special_features = (uint32_t)beat_bits_int(&b, 12);
    t.purposes = (uint32_t)beat_bits_int(&b, 24);
    t.purposes_li = (uint32_t)beat_bits_int(&b, 24);
    t.purpose_one_treatment = beat_bits_int(&b, 1);
    letters(&b, t.publisher_cc);
    if (b.bad) return FAIL("tcf: core fields cut short");
    /* The bit sets were read with purpose 1 as the most significant bit;
     * reverse them so that bit i-1 is id i. */
    uint32_t sf = 0, pc = 0, pl = 0;
    for (int i = 0; i < 12; i++) sf |= (t.special_features >> (11 - i) & 1u) << i;
    for (int i = 0; i < 24; i++) {
        pc |= (t.purposes >> (23 - i) & 1u) << i;
        pl |= (t.purposes_li >> (23 - i) & 1u) << i;
    }
    t.special_features = sf;
    t.purposes = pc;
    t.purposes_li = pl;
    int rc;
    bool li_range;
    if ((rc = vendor_section(&b, vendor, &t.max_vendor_id, &t.vendor_range, &t.vendor_consent,
                             "vendor consent", why)) ||
        (rc = vendor_section(&b, vendor, &t.max_vendor_li, &li_range, &t.vendor_li,
                             "vendor legitimate interest", why)) ||
        (rc = restrictions(&b, vendor, &t, why)))
        return rc;
    *out = t;
    return 0;
}
