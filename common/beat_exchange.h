/* Exchanges: the partners allowed to send bid requests, as an operator
 * loads them into the supervisor (--exchanges FILE or PUT /v1/exchanges),
 * validated field by field; how inference recognises a caller as one of
 * them (beat_exchange_match); and the per-node QPS cap (beat_tbucket).
 *
 * {"v":1,"exchanges":[{
 *   "id":"adx-eu",                       -- [A-Za-z0-9_.:-]{1,64}
 *   "key":"<16..256 bytes>",             -- X-Beat-Key secret, or instead
 *   "key_sha256":"<64 hex>",             --   its SHA-256 (what is stored)
 *   "networks":["10.1.0.0/16","2001:db8::/32"], -- allowed peer addresses
 *   "qps":5000, "burst":5000,            -- cap per inference node; 0 = paused
 *   "tmax_reserve_ms":15,                -- optional; else --tmax-reserve-ms
 *   "at":2, "cur":"USD",                 -- defaults when the request has none
 *   "notices":{"nurl":true,"burl":true,"lurl":true,
 *              "price_macro":"${AUCTION_PRICE}",
 *              "currency_macro":"${AUCTION_CURRENCY}",
 *              "loss_macro":"${AUCTION_LOSS}"}}]}
 * At least one of key / networks. A key is never kept: decode turns it into
 * key_sha256, which is what the store, the snapshot and inference hold, so
 * neither the database nor the supervisor → inference link carries it.
 * docs/exchanges.md is the operator's guide, docs/contracts.md the table. */
#ifndef BEAT_EXCHANGE_H
#define BEAT_EXCHANGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "beat_util.h"
#include "beat_wire.h"

#define BEAT_EXCHANGES_V 1 /* the set's "v"; bump rules in beat_wire.h */
#define BEAT_EXCHANGES_MAX 256
#define BEAT_EXCH_NETS_MAX 64
#define BEAT_EXCH_KEY_MIN 16
#define BEAT_EXCH_KEY_MAX 256
#define BEAT_EXCH_MACRO_MAX 48
#define BEAT_EXCH_HDR_ID "X-Beat-Exchange"
#define BEAT_EXCH_HDR_KEY "X-Beat-Key"

typedef struct beat_cidr {
    int family;       /* 4 or 6 */
    int prefix;       /* 0..32 / 0..128 */
    uint8_t addr[16]; /* network address, host bits zero */
} beat_cidr;

typedef struct beat_exchange {
    char id[BEAT_ID_MAX + 1];
    bool has_key;
    uint8_t key_sha256[32];
    int n_nets;
    beat_cidr nets[BEAT_EXCH_NETS_MAX];
    int64_t qps, burst;    /* burst: bucket size, default max(qps, 1) */
    int tmax_reserve_ms;   /* -1: the node's --tmax-reserve-ms */
    int at;                /* 1 or 2 */
    char cur[4];           /* ISO 4217, upper case */
    bool nurl, burl, lurl; /* which notice URLs the bid carries */
    char price_macro[BEAT_EXCH_MACRO_MAX + 1];
    char currency_macro[BEAT_EXCH_MACRO_MAX + 1];
    char loss_macro[BEAT_EXCH_MACRO_MAX + 1];
} beat_exchange;

typedef struct beat_exchange_set {
    int64_t version; /* assigned by the supervisor; 0 if none yet */
    int n;
    beat_exchange *x; /* owned */
} beat_exchange_set;

/* Validates every field (reasons name it: "exchanges[1].qps: must be an
 * integer in [0, 10000000]"); ids unique. flags as campaigns:
 * BEAT_EXCHANGES_STRICT refuses unknown keys (operator input). On success
 * out owns everything (beat_exchanges_fini). -EBADMSG with why. */
#define BEAT_EXCHANGES_STRICT 1u
int beat_exchanges_decode(const char *json, size_t len, unsigned flags, beat_exchange_set *out,
                          beat_reason *why);
/* The whole set with key_sha256 (store, snapshot). */
int beat_exchanges_encode(const beat_exchange_set *s, beat_buf *out);
/* As served by GET /v1/exchanges: no key material, only "key":true and a
 * "key_fingerprint" (the first 12 hex digits of SHA-256 over key_sha256). */
int beat_exchanges_encode_public(const beat_exchange_set *s, beat_buf *out);
void beat_exchanges_fini(beat_exchange_set *s);
/* Index of id in s, or -1. */
int beat_exchanges_find(const beat_exchange_set *s, const char *id);

/* "10.0.0.0/8", "2001:db8::/32", or a bare address (/32, /128). Host bits
 * must be zero. 0 or -EINVAL. */
int beat_cidr_parse(const char *s, beat_cidr *out);
/* Whether peer (AF_INET or AF_INET6; IPv4-mapped IPv6 is matched as IPv4)
 * is inside c. A NULL or other-family peer matches nothing. */
struct sockaddr;
bool beat_cidr_contains(const beat_cidr *c, const struct sockaddr *peer);

/* Why a caller is not an exchange (docs/exchanges.md "Refusals"). */
typedef enum {
    BEAT_XM_OK = 0,
    BEAT_XM_NO_CREDENTIALS, /* no X-Beat-Exchange and no network matched */
    BEAT_XM_UNKNOWN,        /* X-Beat-Exchange names no configured exchange */
    BEAT_XM_KEY,            /* key missing or wrong for that exchange */
    BEAT_XM_NETWORK,        /* peer outside that exchange's networks */
    BEAT_XM_NONE,           /* no exchange configured at all */
    BEAT_XM_N
} beat_xmatch;
const char *beat_xmatch_name(beat_xmatch m);   /* metric label */
const char *beat_xmatch_reason(beat_xmatch m); /* 403 body text */

/* Which exchange sent a request, from its headers and peer address alone.
 * id / key: the X-Beat-Exchange / X-Beat-Key values (NULL when absent).
 * With an id: that exchange, whose key (if it has one) must match — SHA-256
 * of the presented key compared in constant time — and whose networks (if
 * any) must hold the peer. Without: the first keyless exchange whose
 * networks hold the peer. BEAT_XM_OK and *idx, or the refusal. */
beat_xmatch beat_exchange_match(const beat_exchange_set *s, const char *id, const char *key,
                                const struct sockaddr *peer, int *idx);

/* Token bucket for a QPS cap shared by every worker thread of a node, as
 * one atomic (GCRA: the "theoretical arrival time" of the next request).
 * Lock-free; a refused take costs one load. */
typedef struct beat_tbucket {
    _Atomic int64_t tat_ns;
} beat_tbucket;
/* Takes one token at now_ns (a monotonic clock) for a rate of qps per
 * second and a bucket of burst tokens: true if allowed. qps 0 refuses all. */
bool beat_tbucket_take(beat_tbucket *b, int64_t now_ns, int64_t qps, int64_t burst);

#endif
