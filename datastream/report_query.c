/* The GET /v1/reports query parser (report_query.h). Percent-decoding,
 * keys, values and times are all bounded and checked here; the reader
 * (report_read.c) only ever sees a valid dst_rq. */
#include "report_query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const COLS[DST_RQ_NCOLS] = {"hour", "campaign", "exchange", "creative"};

const char *dst_rq_col_name(dst_rq_col c) { return c >= 0 && c < DST_RQ_NCOLS ? COLS[c] : "?"; }

/* Days since 1970-01-01 of a proleptic Gregorian date (civil-from-days'
 * inverse, era arithmetic). */
static int64_t days_of(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at s into *v; false if any is not a digit. */
static bool digits(const char *s, int n, int64_t *v) {
    int64_t x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

static int iso(const char *s, int64_t *ms, beat_reason *why) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return beat_reasonf(why, -EINVAL, "expected YYYY-MM-DD[THH[:MM[:SS]]][Z] or unix ms");
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap))
        return beat_reasonf(why, -EINVAL, "no such date (years 1970-9999)");
    const char *p = s + 10;
    if (*p == 'T') {
        if (!digits(p + 1, 2, &h) || h > 23) return beat_reasonf(why, -EINVAL, "bad hour");
        p += 3;
        if (*p == ':') {
            if (!digits(p + 1, 2, &mi) || mi > 59) return beat_reasonf(why, -EINVAL, "bad minute");
            p += 3;
            if (*p == ':') {
                if (!digits(p + 1, 2, &se) || se > 59)
                    return beat_reasonf(why, -EINVAL, "bad second");
                p += 3;
                if (*p == '.') {
                    if (!digits(p + 1, 3, &frac)) return beat_reasonf(why, -EINVAL, "bad fraction");
                    p += 4;
                }
            }
        }
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 && *p)
        return beat_reasonf(why, -EINVAL, "only UTC times (Z or +00:00)");
    *ms = ((days_of(y, mo, d) * 24 + h) * 60 + mi) * 60000 + se * 1000 + frac;
    return 0;
}

int dst_rq_time(const char *s, int64_t *ms, beat_reason *why) {
    size_t n = strlen(s);
    if (n == 0) return beat_reasonf(why, -EINVAL, "empty time");
    if (strspn(s, "0123456789") == n) {
        int64_t v = 0;
        if (n > 15 || !digits(s, (int)n, &v) || v > DST_RQ_TIME_MAX)
            return beat_reasonf(why, -EINVAL, "unix ms beyond year 9999");
        *ms = v;
        return 0;
    }
    int64_t v = 0;
    int rc = iso(s, &v, why);
    if (rc) return rc;
    *ms = v;
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into out (cap bytes with NUL); '+' is a space.
 * A NUL or control byte, a bad escape or an overlong value is refused. */
static int decode(const char *s, size_t n, char *out, size_t cap, beat_reason *why) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') c = ' ';
        else if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) return beat_reasonf(why, -EINVAL, "bad %%-escape");
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) return beat_reasonf(why, -EINVAL, "control byte in a value");
        if (o + 1 >= cap) return beat_reasonf(why, -EINVAL, "value too long");
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int group_by(const char *v, dst_rq *q, beat_reason *why) {
    q->n_group = 0;
    if (!*v) return 0;
    unsigned seen = 0;
    for (const char *p = v;;) {
        size_t n = strcspn(p, ",");
        int c = 0;
        while (c < DST_RQ_NCOLS && !(strlen(COLS[c]) == n && memcmp(COLS[c], p, n) == 0)) c++;
        if (c == DST_RQ_NCOLS)
            return beat_reasonf(why, -EINVAL,
                                "group_by: expected a comma list of hour, campaign, exchange, "
                                "creative");
        if (seen & (1u << c)) return beat_reasonf(why, -EINVAL, "group_by: %s twice", COLS[c]);
        seen |= 1u << c;
        q->group[q->n_group++] = (dst_rq_col)c;
        if (!p[n]) return 0;
        p += n + 1;
    }
}

int dst_rq_parse(const char *query, const char *accept, dst_rq *out, beat_reason *why) {
    dst_rq q = {.from_ms = 0, .to_ms = DST_RQ_TIME_MAX + 1, .n_group = DST_RQ_NCOLS};
    for (int c = 0; c < DST_RQ_NCOLS; c++) q.group[c] = (dst_rq_col)c;
    q.csv = accept && strstr(accept, "text/csv") != NULL;
    enum { P_FROM, P_TO, P_GROUP, P_FORMAT, P_CAMPAIGN, P_N };
    static const char *const KEYS[P_N] = {"from", "to", "group_by", "format", "campaign"};
    unsigned seen = 0;
    const char *p = query ? query : "";
    if (strlen(p) > 4096) return beat_reasonf(why, -EINVAL, "query longer than 4096 bytes");
    while (*p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t kn = eq ? (size_t)(eq - p) : n;
        char key[32], val[256];
        int rc = decode(p, kn, key, sizeof key, why);
        if (rc) return rc;
        beat_reason vr = {{0}};
        rc = eq ? decode(eq + 1, n - kn - 1, val, sizeof val, &vr) : (val[0] = '\0', 0);
        if (rc) return beat_reasonf(why, rc, "%s: %s", key, vr.msg);
        int k = 0;
        while (k < P_N && strcmp(KEYS[k], key) != 0) k++;
        if (n == 0) { /* "a=1&&b=2": an empty piece */
        } else if (k == P_N) {
            return beat_reasonf(
                why, -EINVAL, "unknown parameter \"%.31s\" (from, to, group_by, format, campaign)",
                key);
        } else if (seen & (1u << k)) {
            return beat_reasonf(why, -EINVAL, "%s given twice", KEYS[k]);
        } else {
            seen |= 1u << k;
            beat_reason r = {{0}};
            switch (k) {
                case P_FROM:
                case P_TO:
                    if (dst_rq_time(val, k == P_FROM ? &q.from_ms : &q.to_ms, &r))
                        return beat_reasonf(why, -EINVAL, "%s: %s", KEYS[k], r.msg);
                    break;
                case P_GROUP:
                    if (group_by(val, &q, &r)) return beat_reasonf(why, -EINVAL, "%s", r.msg);
                    break;
                case P_FORMAT:
                    if (strcmp(val, "csv") != 0 && strcmp(val, "json") != 0)
                        return beat_reasonf(why, -EINVAL, "format: expected json or csv");
                    q.csv = val[0] == 'c';
                    break;
                default:
                    if (!*val || strlen(val) > BEAT_ID_MAX || !beat_id_text_ok(val))
                        return beat_reasonf(why, -EINVAL, "campaign: not a campaign id");
                    memcpy(q.campaign, val, strlen(val) + 1);
            }
        }
        p += n;
        if (*p == '&') p++;
    }
    q.from_ms -= q.from_ms % 3600000;
    if (q.from_ms >= q.to_ms)
        return beat_reasonf(why, -EINVAL,
                            "from must be before to (the hour of from is in, to is "
                            "exclusive)");
    *out = q;
    return 0;
}
