/* IAB TCF v2 consent strings (the GDPR "TC string" exchanges put in
 * user.consent): the core segment decoded into the fields a bidder decides
 * on, for one vendor id given by the caller (ours), so nothing is stored
 * per vendor and nothing is allocated. Pure functions, any thread; every
 * byte is untrusted: a string that is not a well-formed v2 core segment is
 * refused with a reason, and callers treat that as no consent
 * (docs/privacy.md). Segments after the first '.' (disclosed vendors,
 * publisher TC) are ignored. */
#ifndef BEAT_TCF_H
#define BEAT_TCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

#define BEAT_TCF_MAX_LEN 16384 /* longer strings are refused, bounding the work */

typedef struct beat_tcf {
    int version;                    /* always 2 on success */
    int64_t created_ds, updated_ds; /* deciseconds since the epoch */
    int cmp_id, cmp_version, consent_screen;
    char language[3]; /* ConsentLanguage, two letters */
    int vendor_list_version;
    int policy_version; /* TcfPolicyVersion */
    bool service_specific, non_standard_stacks, purpose_one_treatment;
    char publisher_cc[3];
    uint32_t special_features; /* bit i-1: special feature i opted in (1..12) */
    uint32_t purposes;         /* bit i-1: consent to purpose i (1..24) */
    uint32_t purposes_li;      /* bit i-1: legitimate interest for purpose i */
    int max_vendor_id;         /* of the vendor consent section */
    bool vendor_range;         /* that section used range encoding */
    int max_vendor_li;         /* of the legitimate-interest section */
    int n_restrictions;        /* publisher restrictions present */
    /* For the vendor asked about: */
    bool vendor_consent, vendor_li;
    uint32_t restricted; /* bit i-1: publisher restriction type 0 (purpose
                                not allowed) on purpose i for the vendor */
} beat_tcf;

/* Decodes s[0..len) for vendor (1..65535; 0: no vendor, vendor_* false).
 * 0 and *out filled, or -EINVAL with why set (out untouched): not
 * base64url, version not 2, a section running past the end, a vendor range
 * out of order or past MaxVendorId, longer than BEAT_TCF_MAX_LEN. */
int beat_tcf_decode(const char *s, size_t len, int vendor, beat_tcf *out, beat_reason *why);

static inline bool beat_tcf_purpose(const beat_tcf *t, int p) {
    return p >= 1 && p <= 24 && (t->purposes >> (p - 1) & 1u);
}
static inline bool beat_tcf_special_feature(const beat_tcf *t, int f) {
    return f >= 1 && f <= 12 && (t->special_features >> (f - 1) & 1u);
}

#endif
