/* libFuzzer target for the time-zone readers campaigns use: TZif images
 * (what beat_tz_get reads from zoneinfo) and fixed-offset names. Byte 0
 * picks (% 2: image, name). Checks: no crash or read past the input, the
 * verdict is deterministic, and a name that is accepted yields an offset
 * within 14 hours and calendar fields in their ranges. Seeds in
 * fuzz/corpus/tz/ are real zoneinfo files and names. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "beat_tz.h"
#include "fuzz.h"

static void check_name(const char *s) {
    /* Only fixed offsets: an IANA name would read the filesystem and fill
     * the process's zone table. */
    if (s[0] != '+' && s[0] != '-') return;
    beat_reason why;
    memset(&why, 0, sizeof why);
    const beat_tz *z = beat_tz_get(s, &why);
    if (!z) {
        FUZZ_CHECK(why.msg[0] != '\0');
        return;
    }
    int32_t off = beat_tz_offset_s(z, 0);
    FUZZ_CHECK(off >= -14 * 3600 && off <= 14 * 3600);
    beat_civil c;
    beat_tz_civil(z, 1700000000000LL, &c);
    FUZZ_CHECK(c.month >= 1 && c.month <= 12 && c.mday >= 1 && c.mday <= 31);
    FUZZ_CHECK(c.hour >= 0 && c.hour < 24 && c.wday >= 0 && c.wday < 7);
    FUZZ_CHECK(c.day_end_ms - c.day_start_ms == 86400000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 300000) return 0;
    if (data[0] % 2 == 0) {
        int a = beat_tz_parse_tzif(data + 1, size - 1);
        FUZZ_CHECK(a == 0 || a == -EINVAL || a == -ENOMEM);
        FUZZ_CHECK(beat_tz_parse_tzif(data + 1, size - 1) == a);
        return 0;
    }
    if (size - 1 > 80) return 0;
    char name[81];
    memcpy(name, data + 1, size - 1);
    name[size - 1] = '\0';
    check_name(name);
    return 0;
}
