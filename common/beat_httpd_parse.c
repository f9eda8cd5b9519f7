/* Request-head parsing of the daemons' HTTP server (beat_http.h): the
 * request line and headers of one request, in place, on bytes straight from
 * the network. Pure byte work called by beat_httpd_conn.c; every length is
 * bounded before use and anything odd is refused with a status and a
 * reason, never guessed at (fuzz/fuzz_httpd.c). */
#include "beat_httpd_int.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

size_t httpd_head_end(const char *s, size_t len, size_t *scan) {
    size_t i = *scan;
    while (i < len) {
        const char *nl = memchr(s + i, '\n', len - i);
        if (!nl) {
            *scan = len;
            return 0;
        }
        size_t k = (size_t)(nl - s) + 1; /* just past this line */
        if (k < len && s[k] == '\n') return k + 1;
        if (k + 1 < len && s[k] == '\r' && s[k + 1] == '\n') return k + 2;
        if (k >= len || (k + 1 >= len && s[k] == '\r')) {
            *scan = k - 1; /* undecided: look again with more bytes */
            return 0;
        }
        i = k;
    }
    *scan = len;
    return 0;
}

static bool token_char(unsigned char ch) {
    return ch > 0x20 && ch < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

static bool name_is(const char *n, size_t nl, const char *lit) {
    size_t ll = strlen(lit);
    return nl == ll && strncasecmp(n, lit, ll) == 0;
}

static beat_http_method method_of(const char *m, size_t n) {
    static const struct {
        const char *s;
        beat_http_method m;
    } t[] = {{"GET", BEAT_HTTP_GET},
             {"HEAD", BEAT_HTTP_HEAD},
             {"POST", BEAT_HTTP_POST},
             {"PUT", BEAT_HTTP_PUT},
             {"DELETE", BEAT_HTTP_DELETE}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].s) == n && memcmp(t[i].s, m, n) == 0) return t[i].m;
    return BEAT_HTTP_OTHER;
}

#define FAIL(code, reason)                                                                         \
    do {                                                                                           \
        *why = reason;                                                                             \
        return code;                                                                               \
    } while (0)

/* Request line: METHOD SP target SP HTTP/1.x; NUL-terminates path and query. */
static int parse_line(char *s, char *le, httpd_head *hd, const char **why) {
    if (le - s > BEAT_HTTP_MAX_LINE) FAIL(414, "request line too long");
    char *sp1 = memchr(s, ' ', (size_t)(le - s));
    if (!sp1 || sp1 == s) FAIL(400, "malformed request line");
    for (char *q = s; q < sp1; q++)
        if (!token_char((unsigned char)*q)) FAIL(400, "malformed method");
    hd->method = method_of(s, (size_t)(sp1 - s));
    char *tgt = sp1 + 1;
    char *sp2 = memchr(tgt, ' ', (size_t)(le - tgt));
    if (!sp2 || sp2 == tgt) FAIL(400, "malformed request line");
    const char *ver = sp2 + 1;
    if (le - ver != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1'))
        FAIL(400, "only HTTP/1.0 and HTTP/1.1 are served");
    hd->ka = ver[7] == '1';
    for (char *q = tgt; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            FAIL(400, "malformed request target");
    if (*tgt != '/') { /* absolute-form (proxies): skip scheme://authority */
        char *sl = NULL;
        if (sp2 - tgt > 8 &&
            (strncasecmp(tgt, "http://", 7) == 0 || strncasecmp(tgt, "https://", 8) == 0))
            sl = memchr(tgt + 8, '/', (size_t)(sp2 - tgt - 8));
        if (!sl) FAIL(400, "request target must be a path");
        tgt = sl;
    }
    *sp2 = '\0';
    char *qm = memchr(tgt, '?', (size_t)(sp2 - tgt));
    if (qm) {
        *qm = '\0';
        hd->query = (uint32_t)(qm + 1 - s);
    }
    hd->path = (uint32_t)(tgt - s);
    return 0;
}

int httpd_parse_head(char *s, size_t head_len, httpd_head *hd, const char **why) {
    memset(hd, 0, sizeof *hd);
    hd->clen = -1;
    char *end = s + head_len;
    char *nl = memchr(s, '\n', head_len);
    if (!nl) FAIL(400, "malformed request line");
    char *le = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
    int rc = parse_line(s, le, hd, why);
    if (rc) return rc;
    if (head_len > BEAT_HTTP_MAX_HEADER) FAIL(431, "request headers too large");
    bool conn_close = false, conn_ka = false;
    for (char *line = nl + 1; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) FAIL(400, "malformed header");
        le = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
        if (le == line) break; /* the blank line */
        if (hd->nhdr >= BEAT_HTTP_MAX_HEADERS) FAIL(431, "too many request headers");
        if (*line == ' ' || *line == '\t') FAIL(400, "obsolete header folding");
        char *colon = memchr(line, ':', (size_t)(le - line));
        if (!colon || colon == line) FAIL(400, "malformed header");
        for (char *q = line; q < colon; q++)
            if (!token_char((unsigned char)*q)) FAIL(400, "malformed header name");
        char *v = colon + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        for (char *q = v; q < ve; q++) /* no CR, NUL...: values may be echoed */
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
                FAIL(400, "control character in a header value");
        size_t nlen = (size_t)(colon - line), vlen = (size_t)(ve - v);
        *colon = '\0';
        *ve = '\0';
        hd->hname[hd->nhdr] = (uint32_t)(line - s);
        hd->hval[hd->nhdr] = (uint32_t)(v - s);
        hd->nhdr++;
        if (name_is(line, nlen, "content-length")) {
            if (vlen == 0) FAIL(400, "empty Content-Length");
            if (vlen > 18) FAIL(413, "Content-Length too large");
            int64_t x = 0;
            for (char *q = v; q < ve; q++) {
                if (*q < '0' || *q > '9') FAIL(400, "malformed Content-Length");
                x = x * 10 + (*q - '0');
            }
            if (hd->clen >= 0 && hd->clen != x) FAIL(400, "conflicting Content-Length");
            hd->clen = x;
        } else if (name_is(line, nlen, "transfer-encoding")) {
            if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
                FAIL(400, "unsupported Transfer-Encoding");
            hd->chunked = true;
        } else if (name_is(line, nlen, "connection")) {
            if (strcasestr(v, "close")) conn_close = true;
            if (strcasestr(v, "keep-alive")) conn_ka = true;
        } else if (name_is(line, nlen, "expect")) {
            if (vlen != 12 || strncasecmp(v, "100-continue", 12) != 0)
                FAIL(417, "only Expect: 100-continue");
            hd->expect = true;
        } else if (name_is(line, nlen, "content-type")) {
            if (!hd->ctype) hd->ctype = (uint32_t)(v - s);
        } else if (name_is(line, nlen, "authorization")) {
            if (!hd->auth) hd->auth = (uint32_t)(v - s);
        }
    }
    if (conn_close) hd->ka = false;
    else if (conn_ka) hd->ka = true;
    if (hd->chunked && hd->clen >= 0) FAIL(400, "both Content-Length and chunked");
    return 0;
}

bool httpd_type_in(const char *ctype, const char *list) {
    if (!ctype || !list) return false;
    size_t tl = strcspn(ctype, ";");
    while (tl && (ctype[tl - 1] == ' ' || ctype[tl - 1] == '\t')) tl--;
    while (*list) {
        while (*list == ' ' || *list == ',') list++;
        size_t ll = strcspn(list, ",");
        size_t e = ll;
        while (e && list[e - 1] == ' ') e--;
        if (e && e == tl && strncasecmp(ctype, list, tl) == 0) return true;
        list += ll;
    }
    return false;
}

bool httpd_method_in(beat_http_method m, const char *list) {
    static const char *const names[] = {"", "GET", "HEAD", "POST", "PUT", "DELETE"};
    static_assert(sizeof names / sizeof names[0] == BEAT_HTTP_DELETE + 1 && BEAT_HTTP_OTHER == 0,
                  "one name per beat_http_method");
    if (m == BEAT_HTTP_OTHER || !list) return false;
    return httpd_type_in(names[m], list);
}
