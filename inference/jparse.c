/* One-pass schema-driven JSON parser (jparse.h). Each step mirrors the
 * corresponding one of cJSON 1.7's recursive descent — including where the
 * offset stands when it fails, which is the byte a 400 names — so the two
 * accept the same texts; only what is kept differs. Skipped numbers are
 * measured, not converted; kept ones take a short exact path or strtod. */
#include "jparse.h"
#include "arena.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#define NESTING_MAX 1000 /* cJSON's CJSON_NESTING_LIMIT */

/* ---- memory ----------------------------------------------------------- */

typedef struct jblock {
    struct jblock *next;
    size_t cap;
} jblock;

struct inf_jmem {
    jblock *head;
    char *cur, *end;
};

#define ALIGN 16
#define HDR ((sizeof(jblock) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static bool jmem_grow(inf_jmem *m, size_t need) {
    size_t cap = m->head ? m->head->cap * 2 : 4096;
    while (cap < need + HDR) cap *= 2;
    jblock *b = inf_arena_alloc(cap);
    if (!b) return false;
    b->next = m->head;
    b->cap = cap;
    m->head = b;
    m->cur = (char *)b + HDR;
    m->end = (char *)b + cap;
    return true;
}

void *inf_jmem_alloc(inf_jmem *m, size_t n) {
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n) return NULL;
    if ((size_t)(m->end - m->cur) < need && !jmem_grow(m, need)) return NULL;
    void *p = m->cur;
    m->cur += need;
    return p;
}

inf_jmem *inf_jmem_new(void) {
    inf_jmem tmp = {0};
    if (!jmem_grow(&tmp, sizeof tmp)) return NULL;
    inf_jmem *m = (inf_jmem *)tmp.cur;
    *m = tmp;
    m->cur += (sizeof *m + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    return m;
}

void inf_jmem_free(inf_jmem *m) {
    if (!m) return;
    jblock *b = m->head; /* m itself lives in the first (last listed) block */
    while (b) {
        jblock *next = b->next;
        inf_arena_free(b);
        b = next;
    }
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct {
    unsigned char *c;
    size_t len, off;
    int depth;
    bool oom;
    inf_jmem *m;
} jp;

/* cJSON's buffer_skip_whitespace, quirk included: running off the end
 * leaves the offset on the last byte. */
static void ws(jp *p) {
    if (p->off >= p->len) return;
    while (p->off < p->len && p->c[p->off] <= 32) p->off++;
    if (p->off == p->len) p->off--;
}

static unsigned hex4(const unsigned char *h) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned d;
        if (h[i] >= '0' && h[i] <= '9') d = h[i] - '0';
        else if (h[i] >= 'A' && h[i] <= 'F') d = 10u + h[i] - 'A';
        else if (h[i] >= 'a' && h[i] <= 'f') d = 10u + h[i] - 'a';
        else return 0; /* cJSON: an invalid digit reads as U+0000 */
        v = v << 4 | d;
    }
    return v;
}

/* A \u escape at s (string ends at e): bytes consumed (6 or 12), 0 when
 * invalid. Writes its UTF-8 at *w when w is set (never past s: in place). */
static int utf16(const unsigned char *s, const unsigned char *e, unsigned char **w) {
    if (e - s < 6) return 0;
    unsigned a = hex4(s + 2);
    unsigned long cp;
    int used = 6;
    if (a >= 0xDC00 && a <= 0xDFFF) return 0;
    if (a >= 0xD800 && a <= 0xDBFF) {
        if (e - (s + 6) < 6 || s[6] != '\\' || s[7] != 'u') return 0;
        unsigned b = hex4(s + 8);
        if (b < 0xDC00 || b > 0xDFFF) return 0;
        cp = 0x10000 + (((unsigned long)(a & 0x3FF) << 10) | (b & 0x3FF));
        used = 12;
    } else {
        cp = a;
    }
    if (!w) return used;
    unsigned char *o = *w;
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | cp >> 6);
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xE0 | cp >> 12);
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | cp >> 18);
        *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *w = o;
    return used;
}

/* A string whose opening quote is at p->off. out set: unescaped in place
 * and NUL-terminated there; else only checked. cJSON finds the closing
 * quote first (a backslash skips one byte), then decodes; a failure in
 * the first phase leaves the offset after the opening quote, in the
 * second on the offending backslash. */
static bool string(jp *p, char **out) {
    unsigned char *c = p->c;
    size_t start = p->off + 1, i = start;
    bool esc = false;
    while (i < p->len && c[i] != '"') {
        if (c[i] == '\\') {
            if (i + 1 >= p->len) break;
            esc = true;
            i++;
        }
        i++;
    }
    if (i >= p->len || c[i] != '"') {
        p->off = start;
        return false;
    }
    size_t end = i;
    if (esc) {
        unsigned char *r = c + start, *e = c + end, *w = c + start;
        while (r < e) {
            if (*r != '\\') {
                if (out) *w = *r;
                w++, r++;
                continue;
            }
            unsigned char x = 0;
            switch (r[1]) {
                case 'b': x = '\b'; break;
                case 'f': x = '\f'; break;
                case 'n': x = '\n'; break;
                case 'r': x = '\r'; break;
                case 't': x = '\t'; break;
                case '"':
                case '\\':
                case '/': x = r[1]; break;
                case 'u': {
                    unsigned char *wp = w;
                    int used = utf16(r, e, out ? &wp : NULL);
                    if (!used) {
                        p->off = (size_t)(r - c);
                        return false;
                    }
                    r += used;
                    w = out ? wp : w;
                    continue;
                }
                default: p->off = (size_t)(r - c); return false;
            }
            if (out) *w = x;
            w++;
            r += 2;
        }
        if (out) *w = 0;
    } else if (out) {
        c[end] = 0;
    }
    if (out) *out = (char *)c + start;
    p->off = end + 1;
    return true;
}

static inline bool num_byte(unsigned char b) {
    return (b >= '0' && b <= '9') || b == '+' || b == '-' || b == 'e' || b == 'E' || b == '.';
}
static inline bool digit(unsigned char b) { return b >= '0' && b <= '9'; }

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A number at p->off: cJSON copies the run of [0-9+-eE.] bytes (whole:
 * Debian's 1.7.15 has the fix for CVE-2023-26819, upstream's 1.7.19) and
 * lets strtod take what it can, failing when it takes nothing. Here strtod's
 * grammar over that run gives the length; the value (when wanted) is
 * exact without strtod for up to 15 digits and no exponent (both operands
 * exact, one correctly rounded division: strtod's answer), else strtod's. */
static bool number(jp *p, double *out) {
    const unsigned char *s = p->c + p->off;
    size_t avail = p->len - p->off, run = 0;
    while (run < avail && num_byte(s[run])) run++;
    size_t i = 0;
    bool neg = false;
    if (i < run && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    size_t d0 = i;
    while (i < run && digit(s[i])) i++;
    size_t nint = i - d0, nfrac = 0;
    if (i < run && s[i] == '.') {
        size_t j = i + 1;
        while (j < run && digit(s[j])) j++;
        nfrac = j - i - 1;
        if (nint + nfrac) i = j;
    }
    if (nint + nfrac == 0) return false;
    bool expo = false;
    if (i < run && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < run && (s[j] == '+' || s[j] == '-')) j++;
        size_t e0 = j;
        while (j < run && digit(s[j])) j++;
        if (j > e0) i = j, expo = true;
    }
    if (out) {
        if (!expo && nint + nfrac <= 15) {
            uint64_t mant = 0;
            for (size_t k = d0; k < d0 + nint; k++) mant = mant * 10 + (s[k] - '0');
            for (size_t k = d0 + nint + 1; k < d0 + nint + 1 + nfrac; k++)
                mant = mant * 10 + (s[k] - '0');
            double v = (double)mant / pow10_exact[nfrac];
            *out = neg ? -v : v;
        } else {
            char small[64], *after = NULL;
            char *buf = run < sizeof small ? small : inf_jmem_alloc(p->m, run + 1);
            if (!buf) return p->oom = true, false;
            char dp = localeconv()->decimal_point[0];
            for (size_t k = 0; k < run; k++) buf[k] = s[k] == '.' ? dp : (char)s[k];
            buf[run] = 0;
            *out = strtod(buf, &after);
            if (after == buf) return false;
            i = (size_t)(after - buf);
        }
    }
    p->off += i;
    return true;
}

static bool value(jp *p, const inf_jschema *s, inf_jv *v);

static inf_jv *node(jp *p) {
    inf_jv *v = inf_jmem_alloc(p->m, sizeof *v);
    if (v) memset(v, 0, sizeof *v);
    else p->oom = true;
    return v;
}

/* Steps into an array or object at its opening byte, as cJSON does: 1
 * when close follows at once (empty), 0 when members follow (off back on
 * the opening byte, so each member's loop turn steps past its separator),
 * -1 on too deep a nesting or the end of the input. */
static int enter(jp *p, char close) {
    if (p->depth >= NESTING_MAX) return -1;
    p->depth++;
    p->off++;
    ws(p);
    if (p->off < p->len && p->c[p->off] == close) return 1;
    if (p->off >= p->len) {
        p->off--;
        return -1;
    }
    p->off--;
    return 0;
}

static bool array(jp *p, const inf_jschema *s, inf_jv *v) {
    int e = enter(p, ']');
    if (e < 0) return false;
    bool keep = v && s && s->items;
    inf_jv **tail = v ? &v->child : NULL;
    int n = 0;
    if (e) goto done;
    do {
        p->off++;
        ws(p);
        inf_jv *it = NULL;
        if (keep && (!s->max_items || n < s->max_items)) {
            if (!(it = node(p))) return false;
            *tail = it;
            tail = &it->next;
        }
        if (!value(p, keep ? s->item : NULL, it)) return false;
        n++;
        ws(p);
    } while (p->off < p->len && p->c[p->off] == ',');
    if (p->off >= p->len || p->c[p->off] != ']') return false;
done:
    p->depth--;
    p->off++;
    if (v) {
        v->type = INF_J_ARR;
        v->n = n;
    }
    return true;
}

/* The schema's index of key k (NUL-terminated), -1 when not kept. */
static int key_index(const inf_jschema *s, const char *k) {
    for (int i = 0; i < s->n_keys; i++)
        if (inf_jkey_eq(s->keys[i].name, k)) return i;
    return -1;
}

static bool object(jp *p, const inf_jschema *s, inf_jv *v) {
    int e = enter(p, '}');
    if (e < 0) return false;
    bool keep = v && s && s->n_keys;
    inf_jv **tail = v ? &v->child : NULL;
    uint32_t seen = 0;
    if (e) goto done;
    do {
        p->off++;
        ws(p);
        if (p->off >= p->len || p->c[p->off] != '"') { /* cJSON's parse_string */
            p->off++;
            return false;
        }
        char *k = NULL;
        if (!string(p, keep ? &k : NULL)) return false;
        ws(p);
        if (p->off >= p->len || p->c[p->off] != ':') return false;
        p->off++;
        ws(p);
        inf_jv *it = NULL;
        int ki = keep ? key_index(s, k) : -1;
        if (ki >= 0 && !(seen >> ki & 1u)) {
            seen |= 1u << ki;
            if (!(it = node(p))) return false;
            it->key = s->keys[ki].name;
            *tail = it;
            tail = &it->next;
        }
        if (!value(p, it ? s->keys[ki].sub : NULL, it)) return false;
        ws(p);
    } while (p->off < p->len && p->c[p->off] == ',');
    if (p->off >= p->len || p->c[p->off] != '}') return false;
done:
    p->depth--;
    p->off++;
    if (v) v->type = INF_J_OBJ;
    return true;
}

/* cJSON's parse_value tries the literals (whole words, nothing after them
 * checked here) before the first byte decides; no other value starts
 * with n, f or t, so dispatching on that byte first is the same. v NULL:
 * check and skip. */
static bool literal(jp *p, const char *word, size_t n, inf_jtype t, inf_jv *v) {
    if (p->off + n > p->len || memcmp(p->c + p->off, word, n) != 0) return false;
    if (v) v->type = (uint8_t)t;
    p->off += n;
    return true;
}

static bool value(jp *p, const inf_jschema *s, inf_jv *v) {
    if (p->off >= p->len) return false;
    unsigned char c = p->c[p->off];
    switch (c) {
        case 'n': return literal(p, "null", 4, INF_J_NULL, v);
        case 'f': return literal(p, "false", 5, INF_J_FALSE, v);
        case 't': return literal(p, "true", 4, INF_J_TRUE, v);
        case '"': {
            char *str = NULL;
            if (!string(p, v ? &str : NULL)) return false;
            if (v) v->type = INF_J_STR, v->s = str;
            return true;
        }
        case '[': return array(p, s, v);
        case '{': return object(p, s, v);
        default:
            if (c != '-' && !digit(c)) return false;
            if (!number(p, v ? &v->d : NULL)) return false;
            if (v) v->type = INF_J_NUM;
            return true;
    }
}

int inf_jparse(inf_jmem *m, char *text, size_t len, const inf_jschema *s, inf_jv **root,
               size_t *end) {
    jp p = {.c = (unsigned char *)text, .len = len, .m = m};
    *root = NULL;
    *end = 0;
    if (!text || len == 0) return -EBADMSG;
    if (len >= 5 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) p.off = 3;
    ws(&p);
    inf_jv *v = node(&p);
    if (!v) return -ENOMEM;
    if (!value(&p, s, v)) {
        *end = p.off < len ? p.off : len - 1;
        return p.oom ? -ENOMEM : -EBADMSG;
    }
    *root = v;
    *end = p.off;
    return 0;
}
