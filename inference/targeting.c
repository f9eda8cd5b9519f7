/* Campaign targeting rules and the per-world index over them (targeting.h).
 * The index maps (dimension, value) keys to posting lists of campaign
 * numbers. A request's candidates are the live set, narrowed per dimension
 * to "campaigns without a constraint there ∪ postings of the request's
 * values", minus the postings its own block lists hit. Keys are compared the
 * way the rules compare: ASCII case-folded (strcasecmp) except bundles
 * against bapp (exact); a domain rule matches on a dot-suffix of the host,
 * so the host's suffixes are looked up; a category rule on a '-'-prefix. */
#include "targeting.h"
#include "beat_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the rules ---------------------------------------------------------------- */

/* host equals entry or is a subdomain of it ("www.a.com" matches "a.com"). */
static bool host_match(const char *host, const char *entry) {
    size_t hl = strlen(host), el = strlen(entry);
    if (hl == el) return strcasecmp(host, entry) == 0;
    return hl > el && host[hl - el - 1] == '.' && strcasecmp(host + hl - el, entry) == 0;
}

/* IAB categories: "IAB3-1" is inside "IAB3". */
static bool cat_match(const char *cat, const char *entry) {
    size_t el = strlen(entry);
    return strncasecmp(cat, entry, el) == 0 && (cat[el] == '\0' || cat[el] == '-');
}

static bool list_has(const beat_strv *l, const char *v,
                     bool (*eq)(const char *v, const char *entry)) {
    if (!v) return false;
    for (int i = 0; i < l->n; i++)
        if (eq(v, l->v[i])) return true;
    return false;
}

static bool str_eq(const char *v, const char *e) { return strcasecmp(v, e) == 0; }

/* Allow lists constrain their own channel: a campaign with any allow list
 * bids only where its channel's list matches (a site whitelist does not
 * open up every app). */
bool inf_targeting_ok(const beat_campaign *c, const inf_req *r) {
    if (c->countries.n && !list_has(&c->countries, r->country, str_eq)) return false;
    if (c->os.n && !list_has(&c->os, r->os, str_eq)) return false;
    if (c->n_device_types) {
        bool ok = false;
        for (int i = 0; i < c->n_device_types; i++)
            if (c->device_types[i] == r->devicetype) ok = true;
        if (!ok) return false;
    }
    if (r->domain && list_has(&c->domains_block, r->domain, host_match)) return false;
    if (r->bundle && list_has(&c->bundles_block, r->bundle, str_eq)) return false;
    if (c->domains_allow.n || c->bundles_allow.n) {
        bool ok =
            (r->chan == INF_CHAN_SITE && list_has(&c->domains_allow, r->domain, host_match)) ||
            (r->chan == INF_CHAN_APP && list_has(&c->bundles_allow, r->bundle, str_eq));
        if (!ok) return false;
    }
    if (c->site_cat.n) {
        bool ok = false;
        for (int i = 0; i < r->n_cats && !ok; i++)
            ok = list_has(&c->site_cat, r->cats[i], cat_match);
        if (!ok) return false;
    }
    return true;
}

bool inf_blocked(const beat_campaign *c, const inf_req *r) {
    if (c->bundle)
        for (int i = 0; i < r->n_bapp; i++)
            if (strcmp(c->bundle, r->bapp[i]) == 0) return true;
    for (int i = 0; i < r->n_bcat; i++)
        for (int k = 0; k < c->cat.n; k++)
            if (cat_match(c->cat.v[k], r->bcat[i])) return true;
    for (int i = 0; i < r->n_badv; i++)
        for (int k = 0; k < c->adomain.n; k++)
            if (host_match(c->adomain.v[k], r->badv[i])) return true;
    return false;
}

/* The strings a rule can be equal to, for a value: host_match(host, e)
 * needs e to be the host or a suffix of it after a '.' (next_suffix walks
 * them from the host itself); cat_match(cat, e) needs e to be cat cut at a
 * '-' or whole (prefix_end gives each cut, ending at the whole). */
static const char *next_suffix(const char *s) {
    s = strchr(s, '.');
    return s ? s + 1 : NULL;
}

static size_t prefix_end(const char *cat, size_t from) {
    while (cat[from] && cat[from] != '-') from++;
    return from;
}

/* DT keys: the device type as decimal text. */
static int dt_key(char out[BEAT_I64_CHARS], int v) { return beat_fmt_i64(out, v); }

/* ---- the index ------------------------------------------------------------------ */

enum {
    D_COUNTRY,
    D_OS,
    D_DT,
    D_DOM_ALLOW,
    D_BUN_ALLOW,
    D_DOM_BLOCK,
    D_BUN_BLOCK,
    D_SITE_CAT,
    D_CAT,     /* '-'-prefixes of the campaign's own categories (bcat) */
    D_ADOMAIN, /* dot-suffixes of its advertiser domains (badv) */
    D_BUNDLE,  /* its advertised app, exact (bapp) */
    D_SIZE,    /* banner creative w×h, 8 raw bytes */
    D_N
};
static const bool dim_fold[D_N] = {[D_COUNTRY] = true,   [D_OS] = true,        [D_DOM_ALLOW] = true,
                                   [D_BUN_ALLOW] = true, [D_DOM_BLOCK] = true, [D_BUN_BLOCK] = true,
                                   [D_SITE_CAT] = true,  [D_CAT] = true,       [D_ADOMAIN] = true};

/* Fixed sets: campaigns without a constraint in a dimension, and formats. */
enum {
    S_LIVE,
    S_ANY_COUNTRY,
    S_ANY_OS,
    S_ANY_DT,
    S_NO_ALLOW,
    S_ANY_SITE_CAT,
    S_VIDEO,
    S_NATIVE,
    S_N
};

typedef struct entry {
    uint64_t h;
    uint32_t key, klen;   /* into keys */
    uint32_t post, npost; /* into post */
    int dim;
    int64_t bits; /* long postings also as a bit set: offset into
                           bitsets, or -1 */
} entry;

struct inf_tindex {
    int n, words;
    uint64_t *sets; /* S_N × words */
    entry *e;
    uint32_t ne;
    uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
    uint32_t mask;
    char *keys;
    uint32_t *post;
    uint64_t *bitsets; /* words per long posting (entry.bits) */
    bool used[D_N];    /* some campaign has a key in the dimension */
};

static inline unsigned char fold(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* FNV-1a over the (folded) bytes, dimension mixed in, then a finaliser so
 * the low bits used for the slot are well spread. */
static uint64_t key_hash(int dim, const char *s, size_t n) {
    bool f = dim_fold[dim];
    uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)(dim + 1) * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        h = (h ^ (f ? fold(c) : c)) * 0x100000001b3ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

static const entry *find(const inf_tindex *x, int dim, const char *s, size_t n) {
    if (!x->used[dim] || !s) return NULL;
    uint64_t h = key_hash(dim, s, n);
    bool f = dim_fold[dim];
    for (uint32_t i = (uint32_t)h & x->mask;; i = (i + 1) & x->mask) {
        uint32_t slot = x->slots[i];
        if (!slot) return NULL;
        const entry *e = &x->e[slot - 1];
        if (e->h != h || e->dim != dim || e->klen != n) continue;
        const unsigned char *k = (const unsigned char *)x->keys + e->key;
        size_t j = 0;
        while (j < n && k[j] == (f ? fold((unsigned char)s[j]) : (unsigned char)s[j])) j++;
        if (j == n) return e;
    }
}

static inline uint64_t *set_of(const inf_tindex *x, int s) {
    return x->sets + (size_t)s * (size_t)x->words;
}

static inline void bit_set(uint64_t *set, uint32_t i) { set[i >> 6] |= 1ULL << (i & 63); }

/* A posting of a common value (a size most campaigns have) is merged as
 * words; a short one bit by bit. */
static void or_post(uint64_t *set, const inf_tindex *x, const entry *e) {
    if (!e) return;
    if (e->bits >= 0) {
        const uint64_t *b = x->bitsets + e->bits;
        for (int i = 0; i < x->words; i++) set[i] |= b[i];
        return;
    }
    for (uint32_t i = 0; i < e->npost; i++) bit_set(set, x->post[e->post + i]);
}

static void clear_post(uint64_t *set, const inf_tindex *x, const entry *e) {
    if (!e) return;
    if (e->bits >= 0) {
        const uint64_t *b = x->bitsets + e->bits;
        for (int i = 0; i < x->words; i++) set[i] &= ~b[i];
        return;
    }
    for (uint32_t i = 0; i < e->npost; i++) {
        uint32_t c = x->post[e->post + i];
        set[c >> 6] &= ~(1ULL << (c & 63));
    }
}

/* ---- building ---------------------------------------------------------------------- */

typedef struct pair {
    uint64_t h;
    uint32_t key, klen, camp;
    int dim;
} pair;

typedef struct builder {
    pair *p;
    size_t np, cap;
    char *keys;
    size_t klen, kcap;
    int err;
} builder;

static void add(builder *b, int dim, const char *s, size_t n, uint32_t camp) {
    if (b->err) return;
    if (b->np == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        pair *p = realloc(b->p, cap * sizeof *p);
        if (!p) {
            b->err = -ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (b->klen + n + 1 > b->kcap || b->klen + n >= UINT32_MAX) {
        size_t cap = b->kcap ? 2 * b->kcap : 4096;
        while (cap < b->klen + n + 1) cap *= 2;
        char *k = cap < UINT32_MAX ? realloc(b->keys, cap) : NULL;
        if (!k) {
            b->err = -ENOMEM;
            return;
        }
        b->keys = k;
        b->kcap = cap;
    }
    char *k = b->keys + b->klen;
    for (size_t i = 0; i < n; i++) k[i] = dim_fold[dim] ? (char)fold((unsigned char)s[i]) : s[i];
    b->p[b->np++] = (pair){key_hash(dim, s, n), (uint32_t)b->klen, (uint32_t)n, camp, dim};
    b->klen += n;
}

static void add_str(builder *b, int dim, const char *s, uint32_t camp) {
    add(b, dim, s, strlen(s), camp);
}

static void add_suffixes(builder *b, int dim, const char *host, uint32_t camp) {
    for (const char *s = host; s; s = next_suffix(s)) add_str(b, dim, s, camp);
}

static void add_prefixes(builder *b, int dim, const char *cat, uint32_t camp) {
    for (size_t n = prefix_end(cat, 0);; n = prefix_end(cat, n + 1)) {
        add(b, dim, cat, n, camp);
        if (!cat[n]) break;
    }
}

static int cmp_pair(const void *a, const void *b, void *keys) {
    const pair *x = a, *y = b;
    if (x->dim != y->dim) return x->dim < y->dim ? -1 : 1;
    if (x->klen != y->klen) return x->klen < y->klen ? -1 : 1;
    int c = memcmp((char *)keys + x->key, (char *)keys + y->key, x->klen);
    if (c) return c;
    return x->camp < y->camp ? -1 : x->camp > y->camp;
}

static void collect(builder *b, const beat_campaign *c, uint32_t i) {
    for (int k = 0; k < c->countries.n; k++) add_str(b, D_COUNTRY, c->countries.v[k], i);
    for (int k = 0; k < c->os.n; k++) add_str(b, D_OS, c->os.v[k], i);
    for (int k = 0; k < c->n_device_types && k < 16; k++) {
        char t[BEAT_I64_CHARS];
        add(b, D_DT, t, (size_t)dt_key(t, c->device_types[k]), i);
    }
    for (int k = 0; k < c->domains_allow.n; k++) add_str(b, D_DOM_ALLOW, c->domains_allow.v[k], i);
    for (int k = 0; k < c->bundles_allow.n; k++) add_str(b, D_BUN_ALLOW, c->bundles_allow.v[k], i);
    for (int k = 0; k < c->domains_block.n; k++) add_str(b, D_DOM_BLOCK, c->domains_block.v[k], i);
    for (int k = 0; k < c->bundles_block.n; k++) add_str(b, D_BUN_BLOCK, c->bundles_block.v[k], i);
    for (int k = 0; k < c->site_cat.n; k++) add_str(b, D_SITE_CAT, c->site_cat.v[k], i);
    for (int k = 0; k < c->cat.n; k++) add_prefixes(b, D_CAT, c->cat.v[k], i);
    for (int k = 0; k < c->adomain.n; k++) add_suffixes(b, D_ADOMAIN, c->adomain.v[k], i);
    if (c->bundle) add_str(b, D_BUNDLE, c->bundle, i);
    int nc = c->n_creatives < BEAT_CREATIVES_MAX ? c->n_creatives : BEAT_CREATIVES_MAX;
    for (int k = 0; k < nc; k++) {
        const beat_creative *cr = &c->creatives[k];
        if (cr->format != BEAT_FMT_BANNER) continue;
        int32_t wh[2] = {cr->w, cr->h};
        add(b, D_SIZE, (const char *)wh, sizeof wh, i);
    }
}

static void fixed_sets(inf_tindex *x, const beat_campaign *c, bool live, uint32_t i) {
    if (live) bit_set(set_of(x, S_LIVE), i);
    if (!c->countries.n) bit_set(set_of(x, S_ANY_COUNTRY), i);
    if (!c->os.n) bit_set(set_of(x, S_ANY_OS), i);
    if (!c->n_device_types) bit_set(set_of(x, S_ANY_DT), i);
    if (!c->domains_allow.n && !c->bundles_allow.n) bit_set(set_of(x, S_NO_ALLOW), i);
    if (!c->site_cat.n) bit_set(set_of(x, S_ANY_SITE_CAT), i);
    int nc = c->n_creatives < BEAT_CREATIVES_MAX ? c->n_creatives : BEAT_CREATIVES_MAX;
    for (int k = 0; k < nc; k++) {
        if (c->creatives[k].format == BEAT_FMT_VIDEO) bit_set(set_of(x, S_VIDEO), i);
        if (c->creatives[k].format == BEAT_FMT_NATIVE) bit_set(set_of(x, S_NATIVE), i);
    }
}

/* Bit sets for postings longer than a bit set's words: then merging the
 * words is cheaper than setting the bits, and the memory is at most the
 * posting's own (64 campaigns per word ≥ 8 bytes per 2 campaigns). */
static int long_postings(inf_tindex *x) {
    size_t nl = 0;
    for (uint32_t i = 0; i < x->ne; i++) nl += x->e[i].npost > (uint32_t)x->words;
    if (!nl) return 0;
    x->bitsets = calloc(nl * (size_t)x->words, sizeof *x->bitsets);
    if (!x->bitsets) return -ENOMEM;
    int64_t off = 0;
    for (uint32_t i = 0; i < x->ne; i++) {
        entry *e = &x->e[i];
        if (e->npost <= (uint32_t)x->words) continue;
        for (uint32_t k = 0; k < e->npost; k++) bit_set(x->bitsets + off, x->post[e->post + k]);
        e->bits = off;
        off += x->words;
    }
    return 0;
}

/* Sorted pairs → one entry per distinct key with its (deduplicated)
 * posting list, hashed into slots at most half full. */
static int finish(inf_tindex *x, builder *b) {
    if (b->np) qsort_r(b->p, b->np, sizeof *b->p, cmp_pair, b->keys);
    x->e = malloc((b->np ? b->np : 1) * sizeof *x->e);
    x->post = malloc((b->np ? b->np : 1) * sizeof *x->post);
    uint32_t nslots = 16;
    while (nslots < 2 * b->np + 2) nslots *= 2;
    x->slots = calloc(nslots, sizeof *x->slots);
    if (!x->e || !x->post || !x->slots) return -ENOMEM;
    x->mask = nslots - 1;
    uint32_t np = 0;
    for (size_t i = 0; i < b->np; i++) {
        const pair *p = &b->p[i];
        bool same = i > 0 && cmp_pair(&b->p[i - 1], p, b->keys) == 0;
        bool same_key = i > 0 && p->dim == b->p[i - 1].dim && p->klen == b->p[i - 1].klen &&
                        memcmp(b->keys + p->key, b->keys + b->p[i - 1].key, p->klen) == 0;
        if (same) continue; /* the campaign listed the value twice */
        if (!same_key) {
            x->e[x->ne] = (entry){p->h, p->key, p->klen, np, 0, p->dim, -1};
            x->used[p->dim] = true;
            uint32_t s = (uint32_t)p->h & x->mask;
            while (x->slots[s]) s = (s + 1) & x->mask;
            x->slots[s] = ++x->ne;
        }
        x->post[np++] = p->camp;
        x->e[x->ne - 1].npost++;
    }
    x->keys = b->keys; /* taken: entries point into it */
    b->keys = NULL;
    return long_postings(x);
}

inf_tindex *inf_tindex_build(const beat_campaign *camps, const bool *live, int n) {
    if (n < 0 || n > BEAT_CAMPAIGNS_MAX) return NULL;
    inf_tindex *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->n = n;
    x->words = (n + 63) / 64;
    x->sets = calloc((size_t)S_N * (size_t)(x->words ? x->words : 1), sizeof *x->sets);
    builder b = {0};
    if (x->sets)
        for (int i = 0; i < n; i++) {
            fixed_sets(x, &camps[i], live[i], (uint32_t)i);
            collect(&b, &camps[i], (uint32_t)i);
        }
    int rc = !x->sets ? -ENOMEM : b.err ? b.err : finish(x, &b);
    free(b.p);
    free(b.keys);
    if (rc < 0) {
        inf_tindex_free(x);
        return NULL;
    }
    return x;
}

void inf_tindex_free(inf_tindex *x) {
    if (!x) return;
    free(x->sets);
    free(x->e);
    free(x->slots);
    free(x->keys);
    free(x->post);
    free(x->bitsets);
    free(x);
}

int inf_tindex_words(const inf_tindex *x) { return x->words; }

/* ---- queries ----------------------------------------------------------------------- */

static void and_set(uint64_t *out, const uint64_t *s, int words) {
    for (int i = 0; i < words; i++) out[i] &= s[i];
}

/* out &= any ∪ posting(key): a single-valued dimension (key NULL: the
 * request has no value there). */
static void narrow(const inf_tindex *x, uint64_t *out, int any, int dim, const char *key,
                   size_t n) {
    if (!x->used[dim]) return; /* nobody constrains it: any is everyone */
    uint64_t tmp[INF_SET_WORDS];
    memcpy(tmp, set_of(x, any), (size_t)x->words * sizeof *tmp);
    if (key) or_post(tmp, x, find(x, dim, key, n));
    and_set(out, tmp, x->words);
}

static size_t len_or_0(const char *s) { return s ? strlen(s) : 0; }

/* The postings of host and of each of its suffixes after a '.' (what a
 * host_match rule can name), OR-ed into set or, with clear, removed. */
static void host_posts(const inf_tindex *x, int dim, const char *host, uint64_t *set, bool clear) {
    if (!x->used[dim]) return;
    for (const char *s = host; s; s = next_suffix(s)) {
        const entry *e = find(x, dim, s, strlen(s));
        if (clear) clear_post(set, x, e);
        else or_post(set, x, e);
    }
}

/* out &= the campaigns whose targeting and blocks admit r. */
static void request_narrow(const inf_tindex *x, const inf_req *r, uint64_t *out) {
    int W = x->words;
    narrow(x, out, S_ANY_COUNTRY, D_COUNTRY, r->country, len_or_0(r->country));
    narrow(x, out, S_ANY_OS, D_OS, r->os, len_or_0(r->os));
    char t[BEAT_I64_CHARS];
    narrow(x, out, S_ANY_DT, D_DT, t, (size_t)dt_key(t, r->devicetype));
    if (x->used[D_DOM_ALLOW] || x->used[D_BUN_ALLOW]) {
        uint64_t tmp[INF_SET_WORDS];
        memcpy(tmp, set_of(x, S_NO_ALLOW), (size_t)W * sizeof *tmp);
        if (r->chan == INF_CHAN_SITE && r->domain)
            host_posts(x, D_DOM_ALLOW, r->domain, tmp, false);
        if (r->chan == INF_CHAN_APP && r->bundle)
            or_post(tmp, x, find(x, D_BUN_ALLOW, r->bundle, strlen(r->bundle)));
        and_set(out, tmp, W);
    }
    if (r->domain) host_posts(x, D_DOM_BLOCK, r->domain, out, true);
    if (r->bundle) clear_post(out, x, find(x, D_BUN_BLOCK, r->bundle, strlen(r->bundle)));
    if (x->used[D_SITE_CAT]) {
        uint64_t tmp[INF_SET_WORDS];
        memcpy(tmp, set_of(x, S_ANY_SITE_CAT), (size_t)W * sizeof *tmp);
        for (int i = 0; i < r->n_cats; i++) {
            const char *cat = r->cats[i];
            for (size_t n = prefix_end(cat, 0);; n = prefix_end(cat, n + 1)) {
                or_post(tmp, x, find(x, D_SITE_CAT, cat, n));
                if (!cat[n]) break;
            }
        }
        and_set(out, tmp, W);
    }
    for (int i = 0; i < r->n_bcat; i++)
        clear_post(out, x, find(x, D_CAT, r->bcat[i], strlen(r->bcat[i])));
    for (int i = 0; i < r->n_badv; i++)
        clear_post(out, x, find(x, D_ADOMAIN, r->badv[i], strlen(r->badv[i])));
    for (int i = 0; i < r->n_bapp; i++)
        clear_post(out, x, find(x, D_BUNDLE, r->bapp[i], strlen(r->bapp[i])));
}

void inf_tindex_request(const inf_tindex *x, const inf_req *r, uint64_t *out) {
    memcpy(out, set_of(x, S_LIVE), (size_t)x->words * sizeof *out);
    request_narrow(x, r, out);
}

void inf_tindex_request_all(const inf_tindex *x, const inf_req *r, uint64_t *out) {
    memset(out, 0, (size_t)x->words * sizeof *out);
    for (int i = 0; i < x->n; i++) bit_set(out, (uint32_t)i);
    request_narrow(x, r, out);
}

void inf_tindex_imp(const inf_tindex *x, const inf_imp *im, uint64_t *cand) {
    int W = x->words;
    uint64_t tmp[INF_SET_WORDS];
    memset(tmp, 0, (size_t)W * sizeof *tmp);
    if (im->formats & INF_FMT_BANNER)
        for (int s = 0; s < im->n_sizes; s++) {
            int32_t wh[2] = {im->sizes[s].w, im->sizes[s].h};
            or_post(tmp, x, find(x, D_SIZE, (const char *)wh, sizeof wh));
        }
    if (im->formats & INF_FMT_VIDEO)
        for (int i = 0; i < W; i++) tmp[i] |= set_of(x, S_VIDEO)[i];
    if (im->formats & INF_FMT_NATIVE)
        for (int i = 0; i < W; i++) tmp[i] |= set_of(x, S_NATIVE)[i];
    and_set(cand, tmp, W);
}
