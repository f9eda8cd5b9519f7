/* The privacy gate: once per request, after parsing, decide from its
 * signals (COPPA, GDPR with its TCF v2 string, US Privacy, GPP) whether
 * personal data may be used, and clear what may not (user and device ids,
 * segments, precise geo) so that no later stage (frequency caps, features,
 * targeting, bid logs) can see it. The request still gets a contextual bid.
 * docs/privacy.md states the rules. Called on the HTTP workers through
 * inf_req_parse; no allocation, no locks (configuration is set at start-up
 * and read-only afterwards; counters are atomics). */
#ifndef INF_PRIVACY_H
#define INF_PRIVACY_H

#include <stdint.h>
#include "beat_util.h"
#include "openrtb.h"

struct inf_jv;

/* Why a request's personal data may or may not be used (metric label). */
typedef enum {
    INF_PRIV_NONE = 0,    /* no regulation signalled: personal */
    INF_PRIV_CONSENT,     /* GDPR applies and the TCF string consents: personal */
    INF_PRIV_COPPA,       /* regs.coppa=1 */
    INF_PRIV_TCF_MISSING, /* GDPR applies, no TCF string */
    INF_PRIV_TCF_INVALID, /* the TCF string does not decode as v2 */
    INF_PRIV_TCF_PURPOSE, /* a required purpose lacks consent (or is restricted) */
    INF_PRIV_TCF_VENDOR,  /* no consent for our vendor id (or none configured) */
    INF_PRIV_USP_OPT_OUT, /* us_privacy opt-out of sale = Y */
    INF_PRIV_USP_INVALID,
    INF_PRIV_GPP_OPT_OUT, /* a GPP US section: sale, sharing or targeted ads opt-out */
    INF_PRIV_GPP_INVALID,
    INF_PRIV_N
} inf_privacy_reason;
const char *inf_privacy_reason_name(inf_privacy_reason r);

/* Our IAB vendor id (0 = none: no TCF string can consent to us) and the
 * purposes we need consent for, "1,3,4" (1..24). Call before any parse
 * (start-up). -EINVAL with why on a bad list (config unchanged). */
int inf_privacy_config(int vendor_id, const char *purposes, beat_reason *why);

/* Registers beat_inference_privacy_total{outcome,reason} (start-up); until
 * then nothing is counted (unit tests). */
void inf_privacy_metrics_init(void);

/* Reads the identity and privacy fields of root into r (wrongly typed
 * fields are absent), then gates them: sets r->personal_ok, r->privacy and
 * r->cap_key, and clears what may not be used. user_id, consent, gdpr and
 * coppa must already be parsed. */
void inf_privacy_apply(const struct inf_jv *root, inf_req *r);
/* The gate alone, on fields already read into r (inf_privacy_apply's
 * second half; the fuzz oracle reads them its own way). */
void inf_privacy_gate(inf_req *r);

#endif
