/* libFuzzer target for the privacy-string decoders that inference runs on
 * every bid request's regs and user.consent: TCF v2 (beat_tcf_decode), GPP
 * (beat_gpp_decode, and TCF on its section 2) and US Privacy
 * (beat_usp_decode). Byte 0 picks the decoder (% 3: TCF, GPP, USP); for TCF
 * bytes 1-2 are the vendor id asked about; the rest is the string. Checks:
 * no crash or read past the input, a refusal carries a reason, decoded
 * values stay in their fields' ranges, and decoding is deterministic.
 * Seeds in fuzz/corpus/tcf/ are real strings of each kind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "beat_gpp.h"
#include "beat_tcf.h"
#include "fuzz.h"

static void check_tcf(const char *s, size_t n, int vendor) {
    beat_tcf a, b;
    beat_reason why;
    memset(&why, 0, sizeof why);
    int rc = beat_tcf_decode(s, n, vendor, &a, &why);
    if (rc != 0) {
        FUZZ_CHECK(why.msg[0] != '\0');
        return;
    }
    FUZZ_CHECK(a.version == 2);
    FUZZ_CHECK(a.purposes < (1u << 24) && a.purposes_li < (1u << 24));
    FUZZ_CHECK(a.special_features < (1u << 12) && a.restricted < (1u << 24));
    FUZZ_CHECK(a.max_vendor_id >= 0 && a.max_vendor_id <= 65535);
    FUZZ_CHECK(!a.vendor_consent || (vendor >= 1 && vendor <= a.max_vendor_id));
    FUZZ_CHECK(!a.vendor_li || (vendor >= 1 && vendor <= a.max_vendor_li));
    FUZZ_CHECK(a.language[2] == '\0' && a.publisher_cc[2] == '\0');
    FUZZ_CHECK(beat_tcf_decode(s, n, vendor, &b, NULL) == 0);
    FUZZ_CHECK(a.purposes == b.purposes && a.vendor_consent == b.vendor_consent &&
               a.restricted == b.restricted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 20000) return 0;
    int which = data[0] % 3;
    /* an exact-size copy: ASan then flags any read past the string */
    size_t n = size - 1;
    const uint8_t *p = data + 1;
    int vendor = 0;
    if (which == 0 && n >= 2) {
        vendor = p[0] << 8 | p[1];
        p += 2;
        n -= 2;
    }
    char *s = malloc(n ? n : 1);
    if (!s) return 0;
    memcpy(s, p, n);
    beat_reason why;
    memset(&why, 0, sizeof why);
    if (which == 0) {
        check_tcf(s, n, vendor);
    } else if (which == 1) {
        beat_gpp g;
        int rc = beat_gpp_decode(s, n, &g, &why);
        if (rc != 0) {
            FUZZ_CHECK(why.msg[0] != '\0');
        } else {
            FUZZ_CHECK(g.n_ids >= 1 && g.n_ids <= BEAT_GPP_SECTIONS_MAX);
            for (int i = 1; i < g.n_ids; i++) FUZZ_CHECK(g.ids[i] > g.ids[i - 1]);
            FUZZ_CHECK(g.n_us >= 0 && g.n_us <= 6);
            for (int i = 0; i < g.n_us; i++) {
                const beat_gpp_us *u = &g.us[i];
                FUZZ_CHECK(u->id >= 7 && u->id <= 12 && beat_gpp_has(&g, u->id));
                FUZZ_CHECK(u->sale >= -1 && u->sale <= 3 && u->sharing >= -1 && u->sharing <= 3 &&
                           u->targeted >= -1 && u->targeted <= 3);
            }
            FUZZ_CHECK(g.tcf_off + g.tcf_len <= n);
            if (g.tcf_len) check_tcf(s + g.tcf_off, g.tcf_len, 755);
        }
    } else {
        beat_usp u;
        int rc = beat_usp_decode(s, n, &u, &why);
        FUZZ_CHECK(rc != 0 || (n == 4 && strchr("YN-", u.opt_out_sale)));
        if (rc != 0) FUZZ_CHECK(why.msg[0] != '\0');
    }
    free(s);
    return 0;
}
