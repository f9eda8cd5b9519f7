/* US privacy signals: the IAB US Privacy string (regs.us_privacy, "1YNN")
 * and the Global Privacy Platform string (regs.gpp, with regs.gpp_sid):
 * its header (the section ids, Fibonacci-coded ranges) and, per section,
 * what a bidder must honour: the US national section (id 7) and the state
 * sections 8-12 (usca, usva, usco, usut, usct) to their sale / sharing /
 * targeted-advertising opt-outs, the embedded US Privacy string (id 6) and
 * where the TCF EU v2 section (id 2) lies, for beat_tcf_decode. Pure
 * functions, any thread, no allocation; every byte is untrusted and an
 * undecodable string is refused with a reason (callers fail closed,
 * docs/privacy.md). */
#ifndef BEAT_GPP_H
#define BEAT_GPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beat_util.h"

#define BEAT_GPP_MAX_LEN 16384   /* longer strings are refused */
#define BEAT_GPP_SECTIONS_MAX 32 /* section ids kept from a header */
#define BEAT_GPP_ID_MAX 64       /* ids above this are refused (known ones are < 30) */

/* regs.us_privacy: version '1', then notice, opt-out of sale and LSPA
 * coverage, each 'Y', 'N' or '-' (not applicable). */
typedef struct beat_usp {
    char notice, opt_out_sale, lspa;
} beat_usp;
/* 0 and *out, or -EINVAL with why (anything but "1" + three of Y/N/-, any
 * case). */
int beat_usp_decode(const char *s, size_t len, beat_usp *out, beat_reason *why);

/* One US section's opt-outs: the 2-bit fields' values (0 not applicable,
 * 1 opted out, 2 did not opt out); -1 where the section has no such field
 * (California has no targeted-advertising field, the states but California
 * no sharing field). */
typedef struct beat_gpp_us {
    int id; /* 7..12 */
    int version;
    int sale, sharing, targeted;
} beat_gpp_us;

typedef struct beat_gpp {
    int n_ids; /* header section ids, ascending */
    uint8_t ids[BEAT_GPP_SECTIONS_MAX];
    int n_us; /* decoded US sections (7..12) */
    beat_gpp_us us[6];
    bool has_usp; /* section 6 (uspv1) */
    beat_usp usp;
    size_t tcf_off, tcf_len; /* section 2 (tcfeuv2) text, len 0 = none */
} beat_gpp;

/* Decodes s[0..len): header type 3 version 1, one '~'-separated section per
 * header id in order; sections 6..12 are decoded (a malformed one refuses
 * the whole string), others are skipped. 0 and *out, or -EINVAL with why. */
int beat_gpp_decode(const char *s, size_t len, beat_gpp *out, beat_reason *why);

/* Does the header list id? */
bool beat_gpp_has(const beat_gpp *g, int id);

#endif
