/* Currency table (beat_fx.h): parsed once from a flag at start-up, then only
 * read. The rate text comes from an operator, the currency codes from
 * requests and notices: both are validated, nothing is assumed. */
#include "beat_fx.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RATE_MAX 1e6
#define USD_MICROS_MAX 1000000000000LL /* 1e6 CPM, as beat_price_parse */

/* Copies a 3-letter code upper-cased into out; false if s is not one. */
static bool code3(const char *s, size_t n, char out[4]) {
    if (n != 3) return false;
    for (int i = 0; i < 3; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
        out[i] = (char)(c & ~0x20);
    }
    out[3] = '\0';
    return true;
}

int beat_fx_parse(const char *spec, beat_fx *out, beat_reason *why) {
    beat_fx t;
    memset(&t, 0, sizeof t);
    const char *p = spec ? spec : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item)
            return beat_reasonf(why, -EINVAL, "currency rates: bad entry at \"%.20s\"", p);
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '='), *num_end = NULL;
        double v = eq ? strtod(eq + 1, &num_end) : 0;
        if (!eq || !num_end || num_end == eq + 1 || *num_end || !(v > 0 && v <= RATE_MAX))
            return beat_reasonf(why, -EINVAL, "currency rates: \"%s\" is not CUR=usd_per_unit",
                                item);
        char c[4];
        if (!code3(item, (size_t)(eq - item), c))
            return beat_reasonf(why, -EINVAL, "currency rates: bad code \"%.8s\"", item);
        if (strcmp(c, "USD") == 0)
            return beat_reasonf(why, -EINVAL, "currency rates: USD is 1 by definition");
        for (int i = 0; i < t.n; i++)
            if (strcmp(t.cur[i], c) == 0)
                return beat_reasonf(why, -EINVAL, "currency rates: %s twice", c);
        if (t.n == BEAT_FX_MAX)
            return beat_reasonf(why, -EINVAL, "currency rates: more than %d", BEAT_FX_MAX);
        memcpy(t.cur[t.n], c, 4);
        t.usd_per_unit[t.n++] = v;
        p += len;
        if (*p == ',') p++;
    }
    *out = t;
    return 0;
}

double beat_fx_rate(const beat_fx *fx, const char *cur) {
    char c[4];
    if (!cur || !code3(cur, strlen(cur), c)) return 0;
    if (strcmp(c, "USD") == 0) return 1.0;
    for (int i = 0; fx && i < fx->n; i++)
        if (strcmp(fx->cur[i], c) == 0) return fx->usd_per_unit[i];
    return 0;
}

/* Down: floor, but a quotient a rounding error short of a whole micro
 * (2160000 / 1.08 = 1999999.9999999998) is that micro, or a bid converted
 * from a floor's exact USD value would land one micro under the floor. */
static int convert(double v, bool down, int64_t *out) {
    v = down ? floor(v + 1e-6) : round(v);
    if (!(fabs(v) <= (double)USD_MICROS_MAX)) return -ERANGE;
    *out = (int64_t)v;
    return 0;
}

int beat_fx_to_usd(const beat_fx *fx, const char *cur, int64_t micros, int64_t *usd_micros) {
    double r = beat_fx_rate(fx, cur);
    if (r <= 0) return -ENOENT;
    return convert((double)micros * r, false, usd_micros);
}

int beat_fx_from_usd(const beat_fx *fx, const char *cur, int64_t usd_micros, int64_t *micros) {
    double r = beat_fx_rate(fx, cur);
    if (r <= 0) return -ENOENT;
    return convert((double)usd_micros / r, true, micros);
}
