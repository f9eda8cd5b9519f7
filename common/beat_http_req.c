/* The request side of the daemons' HTTP server (beat_http.h): accessors
 * for a parsed request and the helpers handlers use (body copy, query
 * parameters, bearer token). Called from handlers on the server's loop;
 * every input is from the network, so every length is bounded. */
#include "beat_httpd_int.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- the request ----------------------------------------------------------- */

beat_http_method beat_http_req_method(const beat_http_req *req) { return req->c->hd.method; }

const char *beat_http_req_path(const beat_http_req *req) { return req->base + req->c->hd.path; }

const char *beat_http_req_query(const beat_http_req *req) {
    return req->c->hd.query ? req->base + req->c->hd.query : NULL;
}

const char *beat_http_req_header(const beat_http_req *req, const char *name) {
    const httpd_head *hd = &req->c->hd;
    for (int i = 0; i < hd->nhdr; i++)
        if (strcasecmp(req->base + hd->hname[i], name) == 0) return req->base + hd->hval[i];
    return NULL;
}

const char *beat_http_req_body(const beat_http_req *req, size_t *len) {
    if (len) *len = req->body_len;
    return req->body;
}

const char *beat_http_req_peer(const beat_http_req *req) { return req->c->peer; }

/* ---- request helpers --------------------------------------------------- */

int beat_http_body(beat_http_req *req, beat_buf *out) {
    beat_buf_reset(out);
    if (req->body_len == 0) return 0;
    size_t max = out->max ? out->max : SIZE_MAX - 1;
    if (req->body_len > max) return -EMSGSIZE;
    return beat_buf_append(out, req->body, req->body_len);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (+ is a space); returns the length, or
 * -EMSGSIZE if it would not fit in out_len-1 bytes. */
static int query_decode(const char *s, size_t n, char *out, size_t out_len) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') c = ' ';
        else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (m + 1 >= out_len) return -EMSGSIZE;
        out[m++] = (char)c;
    }
    out[m] = '\0';
    return (int)m;
}

int beat_http_query(beat_http_req *req, const char *key, char *val, size_t val_len) {
    const char *q = beat_http_req_query(req);
    if (!q || !key || !val || !val_len) return -ENOENT;
    size_t klen = strlen(key);
    char kbuf[256];
    while (*q) {
        size_t pl = strcspn(q, "&;");
        const char *eq = memchr(q, '=', pl);
        size_t kl = eq ? (size_t)(eq - q) : pl;
        int dk = query_decode(q, kl, kbuf, sizeof kbuf);
        if (dk >= 0 && (size_t)dk == klen && memcmp(kbuf, key, klen) == 0) {
            const char *v = eq ? eq + 1 : q + pl;
            size_t vl = eq ? pl - kl - 1 : 0;
            int dv = query_decode(v, vl, val, val_len);
            if (dv < 0) return dv;
            /* An embedded NUL (%00) would silently cut the value. */
            if ((size_t)dv != strlen(val)) return -EINVAL;
            return 0;
        }
        q += pl;
        if (*q) q++;
    }
    return -ENOENT;
}

int beat_http_query_i64(beat_http_req *req, const char *key, int64_t def, int64_t min, int64_t max,
                        int64_t *out) {
    char v[32];
    int rc = beat_http_query(req, key, v, sizeof v);
    if (rc == -ENOENT) {
        *out = def;
        return 0;
    }
    int64_t x;
    if (rc || beat_parse_i64(v, &x) || x < min || x > max) return -EINVAL;
    *out = x;
    return 0;
}

bool beat_http_bearer_match(const char *h, const char *token) {
    if (!token || !*token) return true;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ') h++;
    size_t hl = strlen(h), tl = strlen(token);
    while (hl && (h[hl - 1] == ' ' || h[hl - 1] == '\t')) hl--;
    /* Constant time in the token's content; the length is not secret. */
    if (hl != tl) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < tl; i++) diff |= (unsigned char)h[i] ^ (unsigned char)token[i];
    return diff == 0;
}

bool beat_http_bearer_ok(beat_http_req *req, const char *token) {
    return beat_http_bearer_match(beat_http_req_header(req, "Authorization"), token);
}
