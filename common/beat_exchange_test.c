/* Exchange sets: validation with reasons, the key never written back, peer
 * networks, caller matching and the shared QPS token bucket. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "beat_exchange.h"
#include "beat_test.h"

#define KEY_A "a-secret-key-of-32-bytes-0000000"
#define SET                                                                                        \
    "{\"v\":1,\"exchanges\":["                                                                     \
    "{\"id\":\"exA\",\"key\":\"" KEY_A "\",\"qps\":50,\"tmax_reserve_ms\":12,\"at\":1,"            \
    "\"cur\":\"EUR\",\"notices\":{\"lurl\":false,\"price_macro\":\"${AUCTION_PRICE:X}\"}},"        \
    "{\"id\":\"exB\",\"networks\":[\"10.0.0.0/8\",\"2001:db8::/32\"],\"qps\":0}]}"

static int decode(const char *json, unsigned flags, beat_exchange_set *s, beat_reason *why) {
    return beat_exchanges_decode(json, strlen(json), flags, s, why);
}

static int t_decode_defaults(void) {
    beat_exchange_set s;
    beat_reason why = {{0}};
    CHECK_EQ_INT(decode(SET, BEAT_EXCHANGES_STRICT, &s, &why), 0);
    CHECK_EQ_INT(s.n, 2);
    const beat_exchange *a = &s.x[0], *b = &s.x[1];
    CHECK(a->has_key && a->n_nets == 0 && a->qps == 50 && a->burst == 50);
    CHECK(a->tmax_reserve_ms == 12 && a->at == 1 && a->nurl && a->burl && !a->lurl);
    CHECK_EQ_STR(a->cur, "EUR");
    CHECK_EQ_STR(a->price_macro, "${AUCTION_PRICE:X}");
    CHECK_EQ_STR(a->loss_macro, "${AUCTION_LOSS}");
    CHECK(!b->has_key && b->n_nets == 2 && b->qps == 0 && b->burst == 1);
    CHECK(b->tmax_reserve_ms == -1 && b->at == 2);
    CHECK_EQ_STR(b->cur, "USD");
    CHECK_EQ_INT(beat_exchanges_find(&s, "exB"), 1);
    CHECK_EQ_INT(beat_exchanges_find(&s, "exC"), -1);
    beat_exchanges_fini(&s);
    return 0;
}

/* What the store and snapshot hold has the key's hash, never the key, and
 * reads back identically; what GET serves has neither. */
static int t_encode_no_secret(void) {
    beat_exchange_set s, s2;
    beat_reason why = {{0}};
    CHECK_EQ_INT(decode(SET, BEAT_EXCHANGES_STRICT, &s, &why), 0);
    beat_buf full, full2, pub;
    beat_buf_init(&full, 1 << 20);
    beat_buf_init(&full2, 1 << 20);
    beat_buf_init(&pub, 1 << 20);
    CHECK_EQ_INT(beat_exchanges_encode(&s, &full), 0);
    CHECK(!strstr(full.data, KEY_A) && strstr(full.data, "\"key_sha256\":\""));
    CHECK_EQ_INT(decode(full.data, BEAT_EXCHANGES_STRICT, &s2, &why), 0);
    CHECK(memcmp(s2.x[0].key_sha256, s.x[0].key_sha256, 32) == 0);
    CHECK_EQ_INT(beat_exchanges_encode(&s2, &full2), 0);
    CHECK_EQ_STR(full.data, full2.data);
    CHECK(strstr(full.data, "\"networks\":[\"10.0.0.0/8\",\"2001:db8::/32\"]"));
    CHECK_EQ_INT(beat_exchanges_encode_public(&s, &pub), 0);
    CHECK(!strstr(pub.data, KEY_A) && !strstr(pub.data, "key_sha256"));
    CHECK(strstr(pub.data, "\"key\":true,\"key_fingerprint\":\""));
    beat_buf_fini(&full);
    beat_buf_fini(&full2);
    beat_buf_fini(&pub);
    beat_exchanges_fini(&s);
    beat_exchanges_fini(&s2);
    return 0;
}

static int t_refusals(void) {
    static const struct {
        const char *json, *reason;
    } bad[] = {
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"qps\":1}]}",
         "exchanges[0]: needs key (or key_sha256) or networks"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a b\",\"key\":\"" KEY_A "\",\"qps\":1}]}",
         "exchanges[0].id: must match"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"short\",\"qps\":1}]}",
         "exchanges[0].key: must be at least 16 bytes"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\"}]}",
         "exchanges[0].qps: missing"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\",\"qps\":-1}]}",
         "exchanges[0].qps"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"networks\":[\"10.0.0.1/8\"],\"qps\":1}]}",
         "exchanges[0].networks[0]: must be an IPv4 or IPv6 CIDR"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"networks\":[\"10.0.0.0/33\"],\"qps\":1}]}",
         "exchanges[0].networks[0]"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\",\"qps\":1,\"at\":3}]}",
         "exchanges[0].at"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\",\"qps\":1,\"cur\":\"usd\"}]}",
         "exchanges[0].cur: must be an ISO 4217 code"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\",\"qps\":1,"
         "\"notices\":{\"price_macro\":\"${X}&p=1\"}}]}",
         "exchanges[0].notices.price_macro: must look like ${NAME}"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\",\"qps\":1,\"kee\":1}]}",
         "kee: unknown field"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\",\"key_sha256\":\"00\","
         "\"qps\":1}]}",
         "exchanges[0]: key and key_sha256 are exclusive"},
        {"{\"v\":1,\"exchanges\":[{\"id\":\"a\",\"key\":\"" KEY_A "\",\"qps\":1},"
         "{\"id\":\"a\",\"networks\":[\"::1\"],\"qps\":1}]}",
         "exchanges[1].id: duplicate id a"},
        {"{\"v\":2,\"exchanges\":[]}", "unsupported version 2"},
        {"[]", "must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        beat_exchange_set s;
        beat_reason why = {{0}};
        if (decode(bad[i].json, BEAT_EXCHANGES_STRICT, &s, &why) != -EBADMSG ||
            !strstr(why.msg, bad[i].reason)) {
            fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", i, why.msg, bad[i].reason);
            return 1;
        }
    }
    return 0;
}

static struct sockaddr_in6 peer6(const char *a) {
    struct sockaddr_in6 s = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, a, &s.sin6_addr);
    return s;
}

static struct sockaddr_in peer4(const char *a) {
    struct sockaddr_in s = {.sin_family = AF_INET};
    inet_pton(AF_INET, a, &s.sin_addr);
    return s;
}

static int t_cidr(void) {
    beat_cidr c;
    CHECK_EQ_INT(beat_cidr_parse("10.0.0.0/8", &c), 0);
    struct sockaddr_in in = peer4("10.200.1.2"), out = peer4("11.0.0.1");
    struct sockaddr_in6 mapped = peer6("::ffff:10.1.2.3"), v6 = peer6("2001:db8::1");
    CHECK(beat_cidr_contains(&c, (struct sockaddr *)&in));
    CHECK(!beat_cidr_contains(&c, (struct sockaddr *)&out));
    CHECK(beat_cidr_contains(&c, (struct sockaddr *)&mapped));
    CHECK(!beat_cidr_contains(&c, (struct sockaddr *)&v6));
    CHECK(!beat_cidr_contains(&c, NULL));
    CHECK_EQ_INT(beat_cidr_parse("2001:db8::/33", &c), 0);
    CHECK(beat_cidr_contains(&c, (struct sockaddr *)&v6));
    CHECK_EQ_INT(beat_cidr_parse("127.0.0.1", &c), 0);
    CHECK(c.prefix == 32);
    CHECK_EQ_INT(beat_cidr_parse("0.0.0.0/0", &c), 0);
    CHECK(beat_cidr_contains(&c, (struct sockaddr *)&out));
    CHECK_EQ_INT(beat_cidr_parse("10.0.0.0/", &c), -EINVAL);
    CHECK_EQ_INT(beat_cidr_parse("10.0.0.0/8x", &c), -EINVAL);
    CHECK_EQ_INT(beat_cidr_parse("example.com/8", &c), -EINVAL);
    CHECK_EQ_INT(beat_cidr_parse("", &c), -EINVAL);
    return 0;
}

static int t_match(void) {
    beat_exchange_set s;
    beat_reason why = {{0}};
    CHECK_EQ_INT(decode(SET, BEAT_EXCHANGES_STRICT, &s, &why), 0);
    struct sockaddr_in lo = peer4("127.0.0.1"), ten = peer4("10.9.9.9");
    const struct sockaddr *L = (struct sockaddr *)&lo, *T = (struct sockaddr *)&ten;
    int idx = -1;
    CHECK_EQ_INT(beat_exchange_match(&s, "exA", KEY_A, L, &idx), BEAT_XM_OK);
    CHECK_EQ_INT(idx, 0);
    CHECK_EQ_INT(beat_exchange_match(&s, "exA", KEY_A "x", L, &idx), BEAT_XM_KEY);
    CHECK_EQ_INT(beat_exchange_match(&s, "exA", NULL, L, &idx), BEAT_XM_KEY);
    CHECK_EQ_INT(beat_exchange_match(&s, "exZ", KEY_A, L, &idx), BEAT_XM_UNKNOWN);
    CHECK_EQ_INT(beat_exchange_match(&s, NULL, NULL, L, &idx), BEAT_XM_NO_CREDENTIALS);
    /* exA's key names exB: exB authenticates by network only */
    CHECK_EQ_INT(beat_exchange_match(&s, "exB", KEY_A, L, &idx), BEAT_XM_NETWORK);
    idx = -1;
    CHECK_EQ_INT(beat_exchange_match(&s, "exB", NULL, T, &idx), BEAT_XM_OK);
    CHECK_EQ_INT(idx, 1);
    idx = -1;
    CHECK_EQ_INT(beat_exchange_match(&s, NULL, NULL, T, &idx), BEAT_XM_OK);
    CHECK_EQ_INT(idx, 1);
    beat_exchange_set none = {0};
    CHECK_EQ_INT(beat_exchange_match(&none, "exA", KEY_A, L, &idx), BEAT_XM_NONE);
    beat_exchanges_fini(&s);
    return 0;
}

static int t_tbucket(void) {
    beat_tbucket b = {0};
    const int64_t s = 1000000000LL, t0 = 1000 * s;
    int ok = 0;
    for (int i = 0; i < 100; i++) ok += beat_tbucket_take(&b, t0, 10, 5);
    CHECK_EQ_INT(ok, 5); /* a full bucket, then nothing at the same instant */
    ok = 0;
    for (int i = 0; i < 1000; i++) /* 10 s at 100 tries/s: the rate, plus the burst */
        ok += beat_tbucket_take(&b, t0 + (int64_t)i * s / 100, 10, 5);
    CHECK(ok >= 99 && ok <= 101);
    ok = 0;
    for (int i = 0; i < 10; i++) ok += beat_tbucket_take(&b, t0 + 100 * s, 0, 5);
    CHECK_EQ_INT(ok, 0); /* qps 0: paused */
    /* A long idle time refills to the burst, never beyond. */
    ok = 0;
    for (int i = 0; i < 100; i++) ok += beat_tbucket_take(&b, t0 + 1000 * s, 10, 5);
    CHECK_EQ_INT(ok, 5);
    return 0;
}

/* Several threads take from one bucket at one instant: exactly burst pass. */
static beat_tbucket shared;
static _Atomic int shared_ok;
static void *taker(void *arg) {
    (void)arg;
    for (int i = 0; i < 10000; i++)
        if (beat_tbucket_take(&shared, 5000000000LL, 1000, 777)) atomic_fetch_add(&shared_ok, 1);
    return NULL;
}

static int t_tbucket_threads(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(pthread_create(&t[i], NULL, taker, NULL), 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(atomic_load(&shared_ok), 777);
    return 0;
}

static const beat_test_case cases[] = {
    {"decode_defaults", t_decode_defaults},
    {"encode_no_secret", t_encode_no_secret},
    {"refusals", t_refusals},
    {"cidr", t_cidr},
    {"match", t_match},
    {"tbucket", t_tbucket},
    {"tbucket_threads", t_tbucket_threads},
    {NULL, NULL},
};

int main(int argc, char **argv) { return beat_test_main("beat_exchange", cases, argc, argv); }
