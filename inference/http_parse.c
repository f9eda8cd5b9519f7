/* Request parsing of inference's HTTP server (see http.h): the request
 * line and headers, and chunked bodies decoded in place. Pure byte work on
 * a connection slot's input buffer, called by http.c's process(); every
 * length is bounded before use, since every byte comes from the network. */
#include <string.h>
#include <strings.h>

#include "http_int.h"

static bool name_is(const char *n, size_t nl, const char *lit) {
    size_t ll = strlen(lit);
    return nl == ll && strncasecmp(n, lit, ll) == 0;
}

static bool token_char(unsigned char ch) {
    return ch > 0x20 && ch < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

/* Parses the request line and headers in in[0..hdr_end), NUL-terminating
 * the values we keep. 0, or an HTTP status for the error reply. */
int inf_http_parse_head(inf_http_conn *c) {
    char *s = c->in, *end = c->in + c->hdr_end;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl) return 400;
    char *le = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
    /* METHOD SP target SP HTTP/x.y */
    char *sp1 = memchr(s, ' ', (size_t)(le - s));
    if (!sp1 || sp1 == s) return 400;
    for (char *q = s; q < sp1; q++)
        if (!token_char((unsigned char)*q)) return 400;
    char *tgt = sp1 + 1;
    char *sp2 = memchr(tgt, ' ', (size_t)(le - tgt));
    if (!sp2 || sp2 == tgt) return 400;
    size_t ml = (size_t)(sp1 - s), vl = (size_t)(le - sp2 - 1);
    const char *ver = sp2 + 1;
    if (vl != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.') return 400;
    if (ver[5] != '1') return 505;
    c->ka = ver[7] != '0';
    c->post = ml == 4 && memcmp(s, "POST", 4) == 0;
    c->head = ml == 4 && memcmp(s, "HEAD", 4) == 0;
    /* absolute-form (proxies): skip scheme://authority */
    if (tgt[0] != '/') {
        char *sl = NULL;
        if ((size_t)(sp2 - tgt) > 8 &&
            (strncasecmp(tgt, "http://", 7) == 0 || strncasecmp(tgt, "https://", 8) == 0))
            sl = memchr(tgt + 8, '/', (size_t)(sp2 - tgt - 8));
        if (!sl) return tgt[0] == '*' ? 404 : 400;
        tgt = sl;
    }
    char *qm = memchr(tgt, '?', (size_t)(sp2 - tgt));
    size_t pl = (size_t)((qm ? qm : sp2) - tgt);
    if (pl == 13 && memcmp(tgt, "/openrtb2/bid", 13) == 0) c->route = R_BID;
    else if (pl == 8 && memcmp(tgt, "/healthz", 8) == 0) c->route = R_HEALTH;
    else if (pl == 8 && memcmp(tgt, "/metrics", 8) == 0) c->route = R_METRICS;
    else c->route = R_NOTFOUND;

    int nh = 0;
    bool conn_ka = false, conn_close_hdr = false;
    for (char *line = nl + 1; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) return 400;
        le = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
        if (le == line) break; /* the blank line */
        if (++nh > HEADERS_MAX) return 431;
        if (*line == ' ' || *line == '\t') return 400; /* obsolete folding */
        char *colon = memchr(line, ':', (size_t)(le - line));
        if (!colon || colon == line) return 400;
        for (char *q = line; q < colon; q++)
            if (!token_char((unsigned char)*q)) return 400;
        char *v = colon + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t nlen = (size_t)(colon - line), vlen = (size_t)(ve - v);
        for (char *q = v; q < ve; q++) /* no CR, NUL...: values may be echoed */
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) return 400;
        if (name_is(line, nlen, "content-length")) {
            if (vlen == 0 || vlen > 18) return vlen > 18 ? 413 : 400;
            int64_t x = 0;
            for (char *q = v; q < ve; q++) {
                if (*q < '0' || *q > '9') return 400;
                x = x * 10 + (*q - '0');
            }
            if (c->clen >= 0 && c->clen != x) return 400;
            c->clen = x;
        } else if (name_is(line, nlen, "transfer-encoding")) {
            if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0) return 501;
            c->chunked = true;
        } else if (name_is(line, nlen, "connection")) {
            *ve = '\0';
            if (strcasestr(v, "close")) conn_close_hdr = true;
            if (strcasestr(v, "keep-alive")) conn_ka = true;
        } else if (name_is(line, nlen, "expect")) {
            if (vlen == 12 && strncasecmp(v, "100-continue", 12) == 0) c->expect = true;
        } else if (name_is(line, nlen, "content-encoding")) {
            *ve = '\0';
            c->ce_pos = (size_t)(v - c->in);
        } else if (name_is(line, nlen, "x-openrtb-version")) {
            *ve = '\0';
            c->ov_pos = (size_t)(v - c->in);
        } else if (name_is(line, nlen, "x-beat-exchange")) {
            *ve = '\0';
            c->xe_pos = (size_t)(v - c->in);
        } else if (name_is(line, nlen, "x-beat-key")) {
            *ve = '\0';
            c->xk_pos = (size_t)(v - c->in);
        }
    }
    if (conn_close_hdr) c->ka = false;
    else if (conn_ka) c->ka = true;
    if (c->chunked && c->clen >= 0) return 400; /* request smuggling shape */
    if (c->clen > (int64_t)c->h->cfg.max_body) return 413;
    return 0;
}

/* Finds the end of the header block from c->scan on. */
bool inf_http_find_head_end(inf_http_conn *c) {
    size_t i = c->scan;
    while (i < c->in_len) {
        char *nl = memchr(c->in + i, '\n', c->in_len - i);
        if (!nl) {
            c->scan = c->in_len;
            return false;
        }
        size_t k = (size_t)(nl - c->in) + 1;
        if (k < c->in_len && c->in[k] == '\n') {
            c->hdr_end = k + 1;
            return true;
        }
        if (k + 1 < c->in_len && c->in[k] == '\r' && c->in[k + 1] == '\n') {
            c->hdr_end = k + 2;
            return true;
        }
        if (k >= c->in_len || (k + 1 >= c->in_len && c->in[k] == '\r')) {
            c->scan = k - 1; /* undecided: look again with more bytes */
            return false;
        }
        i = k;
    }
    c->scan = c->in_len;
    return false;
}

/* Decodes a chunked body in place (decoded bytes never overtake raw ones).
 * 1 done, 0 need more, or an HTTP status. */
int inf_http_dechunk(inf_http_conn *c) {
    if (!c->ch_raw) c->ch_raw = c->ch_dec = c->hdr_end;
    for (;;) {
        size_t avail = c->in_len - c->ch_raw;
        switch (c->ch_state) {
            case CH_SIZE:
            case CH_TRAILER: {
                char *line = c->in + c->ch_raw;
                char *nl = memchr(line, '\n', avail);
                if (!nl) {
                    if (avail > CHUNK_LINE_MAX) return 400;
                    return 0;
                }
                size_t ll = (size_t)(nl - line);
                c->ch_raw += ll + 1;
                if (ll && line[ll - 1] == '\r') ll--;
                if (c->ch_state == CH_TRAILER) {
                    if (ll == 0) {
                        c->ch_state = CH_DONE;
                        return 1;
                    }
                    if (c->ch_raw - c->ch_dec > c->h->cfg.max_header) return 431;
                    continue;
                }
                uint64_t sz = 0;
                size_t k = 0;
                for (; k < ll; k++) {
                    char ch = line[k];
                    int d = ch >= '0' && ch <= '9'   ? ch - '0'
                            : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                            : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                     : -1;
                    if (d < 0) break;
                    if (k >= 15) return 413;
                    sz = sz * 16 + (uint64_t)d;
                }
                if (k == 0 || (k < ll && line[k] != ';' && line[k] != ' ' && line[k] != '\t'))
                    return 400;
                if (sz == 0) {
                    c->ch_state = CH_TRAILER;
                    continue;
                }
                if (c->ch_dec - c->hdr_end + sz > c->h->cfg.max_body) return 413;
                c->ch_left = sz;
                c->ch_state = CH_DATA;
                continue;
            }
            case CH_DATA: {
                size_t n = avail < c->ch_left ? avail : (size_t)c->ch_left;
                if (n == 0) return 0;
                memmove(c->in + c->ch_dec, c->in + c->ch_raw, n);
                c->ch_dec += n;
                c->ch_raw += n;
                c->ch_left -= n;
                if (c->ch_left == 0) c->ch_state = CH_DATA_END;
                continue;
            }
            case CH_DATA_END:
                if (avail == 0) return 0;
                if (c->in[c->ch_raw] == '\n') {
                    c->ch_raw += 1;
                } else {
                    if (avail < 2) return 0;
                    if (c->in[c->ch_raw] != '\r' || c->in[c->ch_raw + 1] != '\n') return 400;
                    c->ch_raw += 2;
                }
                c->ch_state = CH_SIZE;
                continue;
            default: return 1;
        }
    }
}
