/* The X-Beat-Explain header as beat-exsim reads it (explain.h): a bounded
 * hand parser over the raw bytes, since the header comes from the engine
 * under test and must never crash or mislead the grader. A header that is
 * not exactly of the expected shape counts as no pCTRs for that auction. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"

static bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

static size_t skip_sp(const char *s, size_t i, size_t len) {
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    return i;
}

/* A decimal number of at most 31 characters from s[*i]; false if none. */
static bool number(const char *s, size_t *i, size_t len, double *out) {
    char buf[32];
    size_t k = 0;
    while (*i + k < len && k < sizeof buf - 1 && strchr("0123456789.eE+-", s[*i + k]) &&
           s[*i + k] != '\0')
        buf[k] = s[*i + k], k++;
    if (k == 0 || k == sizeof buf - 1) return false;
    buf[k] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + k || !isfinite(v)) return false;
    *i += k;
    *out = v;
    return true;
}

int exs_explain_parse(const char *hdr, size_t len, exs_explain_find_fn find, void *arg, float *pctr,
                      int nc, int64_t *value) {
    for (int c = 0; c < nc; c++) pctr[c] = NAN;
    *value = 0;
    if (!hdr || len > EXS_EXPLAIN_MAX) return -EINVAL;
    size_t i = skip_sp(hdr, 0, len);
    double v;
    if (len - i < 2 || hdr[i] != 'v' || hdr[i + 1] != '=') return -EINVAL;
    i += 2;
    if (!number(hdr, &i, len, &v) || v < 0 || v > 1e12) return -EINVAL;
    i = skip_sp(hdr, i, len);
    if (i == len) goto done; /* nothing listed: no candidate */
    if (hdr[i++] != ';') return -EINVAL;
    int set = 0;
    for (bool first = true;; first = false) {
        i = skip_sp(hdr, i, len);
        if (i == len) {
            if (!first) goto bad; /* a trailing comma */
            break;
        }
        size_t id = i;
        while (i < len && id_char(hdr[i])) i++;
        if (i == id || i - id > 64 || i == len || hdr[i] != '=') goto bad;
        size_t idn = i - id;
        i++;
        double p;
        if (!number(hdr, &i, len, &p) || p < 0 || p > 1) goto bad;
        int c = find(arg, hdr + id, idn);
        if (c >= 0 && c < nc) {
            if (isnan(pctr[c])) set++;
            pctr[c] = (float)p;
        }
        i = skip_sp(hdr, i, len);
        if (i == len) break;
        if (hdr[i++] != ',') goto bad;
    }
    *value = (int64_t)v;
    return set;
done:
    *value = (int64_t)v;
    return 0;
bad:
    for (int c = 0; c < nc; c++) pctr[c] = NAN;
    return -EINVAL;
}
