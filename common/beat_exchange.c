/* Exchange sets (beat_exchange.h): the operator's JSON validated field by
 * field, the caller matching inference does before it reads a request's
 * body, and the lock-free token bucket of the per-node QPS cap. Input comes
 * from operators and the network: never assert on it. A plain key is hashed
 * at decode and forgotten, so no encoder can ever write it back. */
#include "beat_exchange.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "beat_campaign_fields.h"
#include "beat_json.h"
#include "beat_sha.h"

#define FAIL(...) beat_reasonf(why, -EBADMSG, __VA_ARGS__)
#define QPS_MAX 10000000
#define TMAX_RESERVE_MAX 10000

/* ---- networks -------------------------------------------------------------- */

int beat_cidr_parse(const char *s, beat_cidr *out) {
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf) return -EINVAL;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        if (!slash[1] || slash[1] < '0' || slash[1] > '9') return -EINVAL;
        prefix = strtol(slash + 1, &end, 10);
        if (*end || end - (slash + 1) > 3) return -EINVAL;
    }
    beat_cidr c = {0};
    if (inet_pton(AF_INET, buf, c.addr) == 1) c.family = 4;
    else if (inet_pton(AF_INET6, buf, c.addr) == 1) c.family = 6;
    else return -EINVAL;
    int bits = c.family == 4 ? 32 : 128;
    if (prefix < 0) prefix = bits;
    if (prefix > bits) return -EINVAL;
    c.prefix = (int)prefix;
    for (int b = c.prefix; b < bits; b++) /* host bits must be zero: a typo guard */
        if (c.addr[b / 8] & (0x80 >> (b % 8))) return -EINVAL;
    *out = c;
    return 0;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *net, int prefix) {
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, (size_t)full) != 0) return false;
    if (!rest) return true;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (a[full] & m) == (net[full] & m);
}

bool beat_cidr_contains(const beat_cidr *c, const struct sockaddr *peer) {
    if (!peer) return false;
    const uint8_t *a = NULL;
    int fam = 0;
    if (peer->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
        fam = 4;
    } else if (peer->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) a = a6->s6_addr + 12, fam = 4;
        else a = a6->s6_addr, fam = 6;
    }
    return fam && fam == c->family && prefix_eq(a, c->addr, c->prefix);
}

/* ---- decode ---------------------------------------------------------------- */

enum { X_ID, X_KEY, X_KEYH, X_NETS, X_QPS, X_BURST, X_RESERVE, X_AT, X_CUR, X_NOTICES, X_N };
static const char *const x_names[X_N] = {"id",  "key",    "key_sha256",      "networks",
                                         "qps", "burst",  "tmax_reserve_ms", "at",
                                         "cur", "notices"};
enum { N_NURL, N_BURL, N_LURL, N_PRICE, N_CUR, N_LOSS, N_N };
static const char *const n_names[N_N] = {"nurl",        "burl",           "lurl",
                                         "price_macro", "currency_macro", "loss_macro"};

/* A macro is "${NAME}" with NAME in [A-Z0-9_:]: it goes into a URL verbatim
 * and the exchange replaces it, so nothing else may appear in it. */
static int macro_from(const cJSON *v, const char *ctx, const char *name, const char *def,
                      char out[BEAT_EXCH_MACRO_MAX + 1], beat_reason *why) {
    if (!v) {
        strcpy(out, def);
        return 0;
    }
    char tmp[BEAT_EXCH_MACRO_MAX + 1];
    int rc = beat_json_text(v, ctx, name, BEAT_EXCH_MACRO_MAX, BEAT_JSON_NONEMPTY, tmp, why);
    if (rc) return rc;
    size_t n = strlen(tmp);
    bool ok = n > 3 && tmp[0] == '$' && tmp[1] == '{' && tmp[n - 1] == '}';
    for (size_t i = 2; ok && i + 1 < n; i++)
        ok = (tmp[i] >= 'A' && tmp[i] <= 'Z') || (tmp[i] >= '0' && tmp[i] <= '9') ||
             tmp[i] == '_' || tmp[i] == ':';
    if (!ok) return FAIL("%s.%s: must look like ${NAME} with NAME in [A-Z0-9_:]", ctx, name);
    strcpy(out, tmp);
    return 0;
}

static int notices_from(const cJSON *nj, const char *xctx, bool strict, beat_exchange *x,
                        beat_reason *why) {
    x->nurl = x->burl = x->lurl = true;
    char ctx[48];
    snprintf(ctx, sizeof ctx, "%s.notices", xctx);
    const cJSON *f[N_N] = {0};
    int rc = 0;
    if (nj && !cJSON_IsObject(nj)) return FAIL("%s: must be an object", ctx);
    if (nj && (rc = beat_json_fields(nj, ctx, n_names, N_N, f, strict, why))) return rc;
    bool *flags[3] = {&x->nurl, &x->burl, &x->lurl};
    for (int i = 0; i < 3; i++)
        if (f[i] && (rc = beat_json_bool(f[i], ctx, n_names[i], flags[i], why))) return rc;
    if ((rc =
             macro_from(f[N_PRICE], ctx, "price_macro", "${AUCTION_PRICE}", x->price_macro, why)) ||
        (rc = macro_from(f[N_CUR], ctx, "currency_macro", "${AUCTION_CURRENCY}", x->currency_macro,
                         why)) ||
        (rc = macro_from(f[N_LOSS], ctx, "loss_macro", "${AUCTION_LOSS}", x->loss_macro, why)))
        return rc;
    return 0;
}

static int hex_decode(const char *s, uint8_t *out, size_t n) {
    if (strlen(s) != 2 * n) return -EINVAL;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -EINVAL;
        if (i % 2 == 0) out[i / 2] = (uint8_t)(d << 4);
        else out[i / 2] |= (uint8_t)d;
    }
    return 0;
}

static int exchange_from(const cJSON *j, const char *ctx, bool strict, beat_exchange *x,
                         beat_reason *why) {
    if (!cJSON_IsObject(j)) return FAIL("%s: must be an object", ctx);
    const cJSON *f[X_N];
    int rc = beat_json_fields(j, ctx, x_names, X_N, f, strict, why);
    if (rc || (rc = beat_campaign_j_id(f[X_ID], ctx, "id", x->id, why))) return rc;
    if (f[X_KEY] && f[X_KEYH]) return FAIL("%s: key and key_sha256 are exclusive", ctx);
    if (f[X_KEY]) {
        char *k = NULL;
        if ((rc = beat_json_strdup(f[X_KEY], ctx, "key", BEAT_EXCH_KEY_MAX, BEAT_JSON_NONEMPTY, &k,
                                   why)))
            return rc;
        size_t kl = strlen(k);
        rc = kl < BEAT_EXCH_KEY_MIN
                 ? FAIL("%s.key: must be at least %d bytes", ctx, BEAT_EXCH_KEY_MIN)
             : beat_sha256(k, kl, x->key_sha256) ? beat_reasonf(why, -EIO, "sha256 failed")
                                                 : 0;
        OPENSSL_cleanse(k, kl);
        free(k);
        if (rc) return rc;
        x->has_key = true;
    } else if (f[X_KEYH]) {
        if (!cJSON_IsString(f[X_KEYH]) ||
            hex_decode(f[X_KEYH]->valuestring, x->key_sha256, 32) != 0)
            return FAIL("%s.key_sha256: must be 64 hex digits", ctx);
        x->has_key = true;
    }
    if (f[X_NETS]) {
        if (!cJSON_IsArray(f[X_NETS])) return FAIL("%s.networks: must be an array", ctx);
        for (const cJSON *nj = f[X_NETS]->child; nj; nj = nj->next) {
            if (x->n_nets == BEAT_EXCH_NETS_MAX)
                return FAIL("%s.networks: too many (> %d)", ctx, BEAT_EXCH_NETS_MAX);
            if (!cJSON_IsString(nj) || beat_cidr_parse(nj->valuestring, &x->nets[x->n_nets]) != 0)
                return FAIL("%s.networks[%d]: must be an IPv4 or IPv6 CIDR with zero host "
                            "bits (\"10.0.0.0/8\")",
                            ctx, x->n_nets);
            x->n_nets++;
        }
    }
    if (!x->has_key && x->n_nets == 0)
        return FAIL("%s: needs key (or key_sha256) or networks to authenticate it", ctx);
    if ((rc = beat_json_int(f[X_QPS], ctx, "qps", 0, QPS_MAX, &x->qps, why))) return rc;
    x->burst = x->qps > 0 ? x->qps : 1;
    if (f[X_BURST] && (rc = beat_json_int(f[X_BURST], ctx, "burst", 1, QPS_MAX, &x->burst, why)))
        return rc;
    x->tmax_reserve_ms = -1;
    if (f[X_RESERVE] && (rc = beat_json_int32(f[X_RESERVE], ctx, "tmax_reserve_ms", 0,
                                              TMAX_RESERVE_MAX, &x->tmax_reserve_ms, why)))
        return rc;
    x->at = 2;
    if (f[X_AT] && (rc = beat_json_int32(f[X_AT], ctx, "at", 1, 2, &x->at, why))) return rc;
    strcpy(x->cur, "USD");
    if (f[X_CUR]) {
        const char *c = cJSON_IsString(f[X_CUR]) ? f[X_CUR]->valuestring : "";
        bool ok = strlen(c) == 3;
        for (int i = 0; ok && i < 3; i++) ok = c[i] >= 'A' && c[i] <= 'Z';
        if (!ok) return FAIL("%s.cur: must be an ISO 4217 code in upper case (\"USD\")", ctx);
        memcpy(x->cur, c, 4);
    }
    return notices_from(f[X_NOTICES], ctx, strict, x, why);
}

static int set_from(const cJSON *root, bool strict, beat_exchange_set *s, beat_reason *why) {
    static const char *const names[] = {"v", "version", "exchanges"};
    const cJSON *f[3];
    int rc;
    if (!cJSON_IsObject(root)) return FAIL("must be a JSON object");
    if ((rc = beat_json_fields(root, "", names, 3, f, strict, why)) ||
        (rc = beat_json_version(f[0], "", BEAT_EXCHANGES_V, why)))
        return rc;
    if (f[1] && (rc = beat_json_count(f[1], "", "version", &s->version, why))) return rc;
    if (!f[2]) return FAIL("exchanges: missing");
    if (!cJSON_IsArray(f[2])) return FAIL("exchanges: must be an array");
    int n = cJSON_GetArraySize(f[2]);
    if (n > BEAT_EXCHANGES_MAX) return FAIL("exchanges: too many (%d > %d)", n, BEAT_EXCHANGES_MAX);
    if (n && !(s->x = calloc((size_t)n, sizeof *s->x)))
        return beat_reasonf(why, -ENOMEM, "out of memory");
    for (const cJSON *xj = f[2]->child; xj; xj = xj->next) {
        char ctx[32];
        snprintf(ctx, sizeof ctx, "exchanges[%d]", s->n);
        if ((rc = exchange_from(xj, ctx, strict, &s->x[s->n++], why))) return rc;
        for (int k = 0; k + 1 < s->n; k++)
            if (strcmp(s->x[k].id, s->x[s->n - 1].id) == 0)
                return FAIL("%s.id: duplicate id %s", ctx, s->x[k].id);
    }
    return 0;
}

int beat_exchanges_decode(const char *json, size_t len, unsigned flags, beat_exchange_set *out,
                          beat_reason *why) {
    cJSON *root;
    if (beat_json_parse(json, len, &root, why)) return -EBADMSG;
    beat_exchange_set s = {0};
    int rc = set_from(root, (flags & BEAT_EXCHANGES_STRICT) != 0, &s, why);
    cJSON_Delete(root);
    if (rc) {
        beat_exchanges_fini(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void beat_exchanges_fini(beat_exchange_set *s) {
    if (!s) return;
    free(s->x);
    s->x = NULL;
    s->n = 0;
}

int beat_exchanges_find(const beat_exchange_set *s, const char *id) {
    for (int i = 0; s && id && i < s->n; i++)
        if (strcmp(s->x[i].id, id) == 0) return i;
    return -1;
}

/* ---- encode ---------------------------------------------------------------- */

static void exchange_encode(beat_json_enc *e, const beat_exchange *x, bool pub) {
    beat_json_put_raw(e, "{\"id\":");
    beat_json_put_str(e, x->id);
    char hex[65];
    if (x->has_key && !pub) {
        beat_hex(x->key_sha256, 32, hex);
        beat_json_put_printf(e, ",\"key_sha256\":\"%s\"", hex);
    } else if (x->has_key) {
        uint8_t fp[32];
        if (beat_sha256(x->key_sha256, 32, fp) == 0) beat_hex(fp, 6, hex);
        else strcpy(hex, "");
        beat_json_put_printf(e, ",\"key\":true,\"key_fingerprint\":\"%s\"", hex);
    }
    if (x->n_nets) {
        beat_json_put_raw(e, ",\"networks\":[");
        for (int i = 0; i < x->n_nets; i++) {
            char a[INET6_ADDRSTRLEN];
            const beat_cidr *c = &x->nets[i];
            if (!inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof a))
                strcpy(a, "?");
            beat_json_put_printf(e, "%s\"%s/%d\"", i ? "," : "", a, c->prefix);
        }
        beat_json_put_raw(e, "]");
    }
    beat_json_put_printf(e, ",\"qps\":%" PRId64 ",\"burst\":%" PRId64, x->qps, x->burst);
    if (x->tmax_reserve_ms >= 0)
        beat_json_put_printf(e, ",\"tmax_reserve_ms\":%d", x->tmax_reserve_ms);
    beat_json_put_printf(e, ",\"at\":%d,\"cur\":\"%s\"", x->at, x->cur);
    beat_json_put_printf(e, ",\"notices\":{\"nurl\":%s,\"burl\":%s,\"lurl\":%s",
                         x->nurl ? "true" : "false", x->burl ? "true" : "false",
                         x->lurl ? "true" : "false");
    beat_json_put_raw(e, ",\"price_macro\":");
    beat_json_put_str(e, x->price_macro);
    beat_json_put_raw(e, ",\"currency_macro\":");
    beat_json_put_str(e, x->currency_macro);
    beat_json_put_raw(e, ",\"loss_macro\":");
    beat_json_put_str(e, x->loss_macro);
    beat_json_put_raw(e, "}}");
}

static int encode(const beat_exchange_set *s, beat_buf *out, bool pub) {
    beat_json_enc e = beat_json_enc_start(out);
    beat_json_put_printf(&e, "{\"v\":%d", BEAT_EXCHANGES_V);
    if (s->version > 0) beat_json_put_printf(&e, ",\"version\":%" PRId64, s->version);
    beat_json_put_raw(&e, ",\"exchanges\":[");
    for (int i = 0; i < s->n && !e.rc; i++) {
        if (i) beat_json_put_raw(&e, ",");
        exchange_encode(&e, &s->x[i], pub);
    }
    beat_json_put_raw(&e, "]}");
    return beat_json_enc_done(&e);
}

int beat_exchanges_encode(const beat_exchange_set *s, beat_buf *out) {
    return encode(s, out, false);
}

int beat_exchanges_encode_public(const beat_exchange_set *s, beat_buf *out) {
    return encode(s, out, true);
}

/* ---- matching -------------------------------------------------------------- */

const char *beat_xmatch_name(beat_xmatch m) {
    static const char *const n[BEAT_XM_N] = {"ok",        "no_credentials", "unknown_exchange",
                                             "wrong_key", "network",        "no_exchanges"};
    return m >= 0 && m < BEAT_XM_N ? n[m] : "?";
}

const char *beat_xmatch_reason(beat_xmatch m) {
    static const char *const r[BEAT_XM_N] = {
        "ok",
        ("not an exchange: send X-Beat-Exchange and X-Beat-Key, or call from a "
         "configured network"),
        "X-Beat-Exchange names no configured exchange",
        "X-Beat-Key missing or wrong for this exchange",
        "source address not allowed for this exchange",
        "no exchanges configured on this engine"};
    return m >= 0 && m < BEAT_XM_N ? r[m] : "forbidden";
}

static bool in_nets(const beat_exchange *x, const struct sockaddr *peer) {
    for (int i = 0; i < x->n_nets; i++)
        if (beat_cidr_contains(&x->nets[i], peer)) return true;
    return false;
}

beat_xmatch beat_exchange_match(const beat_exchange_set *s, const char *id, const char *key,
                                const struct sockaddr *peer, int *idx) {
    if (!s || s->n == 0) return BEAT_XM_NONE;
    if (!id || !*id) {
        for (int i = 0; i < s->n; i++)
            if (!s->x[i].has_key && in_nets(&s->x[i], peer)) {
                *idx = i;
                return BEAT_XM_OK;
            }
        return BEAT_XM_NO_CREDENTIALS;
    }
    int i = beat_exchanges_find(s, id);
    if (i < 0) return BEAT_XM_UNKNOWN;
    const beat_exchange *x = &s->x[i];
    if (x->has_key) {
        uint8_t h[32];
        /* Hash first, then compare digests in constant time: the time taken
         * says nothing about how much of a guessed key was right. */
        if (!key || beat_sha256(key, strlen(key), h) != 0 || CRYPTO_memcmp(h, x->key_sha256, 32))
            return BEAT_XM_KEY;
    }
    if (x->n_nets && !in_nets(x, peer)) return BEAT_XM_NETWORK;
    *idx = i;
    return BEAT_XM_OK;
}

/* ---- token bucket ---------------------------------------------------------- */

/* GCRA: each request moves the theoretical arrival time (tat) on by one
 * emission interval; a request is allowed while tat stays within burst
 * intervals of now. Equivalent to a bucket of burst tokens refilled at qps,
 * in one word, so every worker of a node shares it with a CAS loop. */
bool beat_tbucket_take(beat_tbucket *b, int64_t now_ns, int64_t qps, int64_t burst) {
    if (qps <= 0) return false;
    if (burst < 1) burst = 1;
    int64_t interval = 1000000000LL / qps;
    if (interval < 1) interval = 1;
    int64_t limit = interval * burst; /* ≤ 1e9 × 1e7: fits */
    int64_t tat = atomic_load_explicit(&b->tat_ns, memory_order_relaxed);
    for (;;) {
        int64_t base = tat > now_ns ? tat : now_ns;
        int64_t next = base + interval;
        if (next - now_ns > limit) return false;
        if (atomic_compare_exchange_weak_explicit(&b->tat_ns, &tat, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    }
}
