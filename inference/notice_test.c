/* Pre-keyed notice URLs are byte-identical to common's beat_notice_url for
 * win/bill/loss/click (the receiver contract), real and test traffic, with
 * and without an exchange id, across signers with different keys used
 * alternately on one thread (re-keying); each type has its own signature,
 * and every URL verifies with the receiver's parser under its own path. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat_test.h"
#include "notice.h"

/* What an exchange does to a notice URL: the macros filled in; the query. */
static void fill_macros(const char *url, const char *auction, const char *imp, char *q,
                        size_t cap) {
    const char *qs = strchr(url, '?') + 1;
    size_t n = 0;
    for (const char *p = qs; *p && n + 64 < cap;) {
        const char *from[] = {"${AUCTION_ID}", "${AUCTION_IMP_ID}", "${AUCTION_PRICE}",
                              "${AUCTION_CURRENCY}", "${AUCTION_LOSS}"};
        const char *to[] = {auction, imp, "1.5", "USD", "102"};
        int hit = -1;
        for (int m = 0; m < 5; m++)
            if (strncmp(p, from[m], strlen(from[m])) == 0) hit = m;
        if (hit < 0) {
            q[n++] = *p++;
            continue;
        }
        n += (size_t)snprintf(q + n, cap - n, "%s", to[hit]);
        p += strlen(from[hit]);
    }
    q[n] = '\0';
}

static const char *g_bid_cur; /* the bid currency of the fields below */
static int32_t g_cw;          /* a click's signed conversion window (0: none) */

static int same_as_common(const inf_signer *s, const char *base, const char *exchange,
                          uint32_t flags, const char *auction, const char *imp, const char *camp,
                          const char *crid, int64_t bid, int64_t ts) {
    static beat_buf a, b;
    beat_buf_init(&a, 1 << 16);
    beat_buf_init(&b, 1 << 16);
    char sig[BEAT_SIG_HEX + 1], sig2[BEAT_SIG_HEX + 1], prev[BEAT_SIG_HEX + 1] = "";
    beat_event_type t[] = {BEAT_EV_WIN, BEAT_EV_BILL, BEAT_EV_LOSS, BEAT_EV_CLICK};
    for (int k = 0; k < 4; k++) {
        beat_notice_fields f = {
            t[k],
            exchange,
            flags,
            auction,
            imp,
            camp,
            crid,
            bid,
            ts,
            t[k] == BEAT_EV_CLICK ? "https://www.acme.example/landing?src=beat&x=1 2" : NULL,
            g_bid_cur,
            t[k] == BEAT_EV_CLICK ? g_cw : 0};
        CHECK_EQ_INT(inf_notice_sign(s, &f, sig), 0);
        CHECK_EQ_INT(beat_notice_sign(s->secret, s->secret_len, &f, sig2), 0);
        CHECK_EQ_STR(sig, sig2);
        CHECK(strcmp(sig, prev) != 0); /* the type is signed: one signature each */
        memcpy(prev, sig, sizeof prev);
        beat_buf_reset(&a);
        beat_buf_reset(&b);
        CHECK_EQ_INT(inf_notice_url(&a, base, &f, sig), 0);
        CHECK_EQ_INT(beat_notice_url(&b, base, s->secret, s->secret_len, &f), 0);
        if (strcmp(a.data, b.data) != 0) fprintf(stderr, "  %s\n  %s\n", a.data, b.data);
        CHECK_EQ_STR(a.data, b.data);
        /* and the receiver accepts it once the exchange fills the macros */
        char q[4096];
        fill_macros(a.data, auction, imp, q, sizeof q);
        beat_notice nt;
        beat_reason why = {{0}};
        CHECK_EQ_INT(beat_notice_parse(t[k], q, &nt, &why), 0);
        CHECK_EQ_INT(nt.version, 2);
        CHECK_EQ_INT(nt.flags, flags);
        CHECK_EQ_STR(nt.bid_currency, g_bid_cur && strcmp(g_bid_cur, "USD") ? g_bid_cur : "");
        CHECK_EQ_STR(nt.exchange, exchange);
        CHECK_EQ_INT(nt.conv_window_s, t[k] == BEAT_EV_CLICK ? g_cw : 0);
        CHECK(beat_notice_verify(s->secret, s->secret_len, &nt));
        /* ...under its own path only */
        if (t[k] != BEAT_EV_BILL && t[k] != BEAT_EV_CLICK &&
            beat_notice_parse(BEAT_EV_BILL, q, &nt, &why) == 0)
            CHECK(!beat_notice_verify(s->secret, s->secret_len, &nt));
    }
    beat_buf_fini(&a);
    beat_buf_fini(&b);
    return 0;
}

static int test_matches_common(void) {
    inf_signer s1, s2, s3;
    inf_signer_init(&s1, "secret-one", 10);
    inf_signer_init(&s2, "another-secret", 14);
    inf_signer_init(&s3, "", 0);
    CHECK(s1.keyed && s2.keyed && s3.keyed);
    for (int round = 0; round < 2; round++) { /* alternate: re-key each time */
        CHECK_EQ_INT(same_as_common(&s1, "http://127.0.0.1:8081", "", 0, "auc-1", "1", "acme-shoes",
                                    "acme-300x250", 1234567, 1700000000000LL),
                     0);
        CHECK_EQ_INT(same_as_common(&s2, "http://rcv.example:8081//", "ex/1 é", BEAT_NOTICE_F_TEST,
                                    "a.b-c~", "imp_2", "camp+x", "cr id~é", 1, 0),
                     0);
        CHECK_EQ_INT(
            same_as_common(&s3, "https://r", "", BEAT_NOTICE_F_TEST, "x", "y", "z", NULL, 0, 5), 0);
    }
    /* a click with a conversion window: cw written and signed */
    g_cw = 86400;
    CHECK_EQ_INT(same_as_common(&s1, "http://127.0.0.1:8081", "x1", 0, "auc-1", "1", "acme-shoes",
                                "acme-300x250", 1234567, 1700000000000LL),
                 0);
    g_cw = 0;
    /* a bid in EUR: bc written and signed; USD writes nothing extra */
    for (int k = 0; k < 2; k++) {
        g_bid_cur = k ? "EUR" : "USD";
        CHECK_EQ_INT(same_as_common(&s1, "http://127.0.0.1:8081", "", 0, "auc-1", "1", "acme-shoes",
                                    "acme-300x250", 1234567, 1700000000000LL),
                     0);
    }
    g_bid_cur = NULL;
    char sig[BEAT_SIG_HEX + 1];
    char long_id[BEAT_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    beat_notice_fields f = {BEAT_EV_WIN, "", 0, long_id, "1", "c", "cr", 1, 1, NULL, NULL, 0};
    CHECK_EQ_INT(inf_notice_sign(&s1, &f, sig), -EINVAL);
    f.auction = "a\nb"; /* would make the signed text ambiguous */
    CHECK_EQ_INT(inf_notice_sign(&s1, &f, sig), -EINVAL);
    f.auction = "a";
    beat_buf b;
    beat_buf_init(&b, 64);
    f.type = BEAT_EV_IMP; /* inference writes no imp URLs */
    CHECK_EQ_INT(inf_notice_url(&b, "http://x", &f, "s"), -EINVAL);
    f.type = BEAT_EV_CLICK;
    CHECK_EQ_INT(inf_notice_url(&b, "http://x", &f, "s"), -EINVAL);
    f.landing = "h${X}";
    CHECK_EQ_INT(inf_notice_url(&b, "http://x", &f, "s"), -EINVAL);
    f.type = BEAT_EV_WIN;
    CHECK(inf_notice_url(&b, "http://127.0.0.1:8081", &f, "0123456789abcdef0123456789abcdef") <
          0); /* over 64 bytes */
    CHECK_EQ_INT((int)b.len, 0);
    CHECK_EQ_INT(inf_notice_url(&b, "http://x", NULL, "s"), -EINVAL);
    beat_buf_fini(&b);
    return 0;
}

/* An exchange's own macro names replace the unsigned p, cur and l only:
 * once filled in, the notice verifies as any other. */
static int test_exchange_macros(void) {
    inf_signer s;
    inf_signer_init(&s, "secret-one", 10);
    beat_notice_fields f = {BEAT_EV_LOSS, "adx-eu",        0,    "auc", "1", "c1", "cr",
                            2000000,      1700000000000LL, NULL, NULL,  0};
    char sig[BEAT_SIG_HEX + 1];
    CHECK_EQ_INT(inf_notice_sign(&s, &f, sig), 0);
    const inf_notice_macros m = {"${WIN_PRICE}", "${WIN_CUR}", "${LOSS_CODE}"};
    beat_buf b;
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(inf_notice_url_m(&b, "http://r", &f, sig, &m), 0);
    CHECK(strstr(b.data, "x=adx-eu&") && strstr(b.data, "&p=${WIN_PRICE}&cur=${WIN_CUR}") &&
          strstr(b.data, "&l=${LOSS_CODE}&s="));
    CHECK(!strstr(b.data, "AUCTION_PRICE"));
    char q[4096];
    size_t n = 0;
    for (const char *p = strchr(b.data, '?') + 1; *p && n + 8 < sizeof q;) {
        static const char *const from[] = {"${AUCTION_ID}", "${AUCTION_IMP_ID}", "${WIN_PRICE}",
                                           "${WIN_CUR}", "${LOSS_CODE}"};
        static const char *const to[] = {"auc", "1", "1.5", "USD", "102"};
        int hit = -1;
        for (int k = 0; k < 5; k++)
            if (strncmp(p, from[k], strlen(from[k])) == 0) hit = k;
        if (hit < 0) {
            q[n++] = *p++;
            continue;
        }
        n += (size_t)snprintf(q + n, sizeof q - n, "%s", to[hit]);
        p += strlen(from[hit]);
    }
    q[n] = '\0';
    beat_notice nt;
    beat_reason why = {{0}};
    int prc = beat_notice_parse(BEAT_EV_LOSS, q, &nt, &why);
    if (prc) fprintf(stderr, "  %s: %s\n", q, why.msg);
    beat_buf_fini(&b);
    CHECK_EQ_INT(prc, 0);
    CHECK_EQ_STR(nt.exchange, "adx-eu");
    CHECK(nt.loss_code == 102 && nt.price_cpm_micros == 1500000);
    CHECK(beat_notice_verify(s.secret, s.secret_len, &nt));
    beat_buf_init(&b, 4096);
    CHECK_EQ_INT(inf_notice_url_m(&b, "http://r", &f, sig, NULL), 0); /* NULL: OpenRTB names */
    CHECK(strstr(b.data, "&p=${AUCTION_PRICE}&cur=${AUCTION_CURRENCY}&l=${AUCTION_LOSS}&s="));
    beat_buf_fini(&b);
    return 0;
}

/* The precomputed HMAC states against OpenSSL's one-shot HMAC (through
 * beat_notice_sign) over secrets around the block size (64 bytes: longer
 * ones are hashed first) and signed texts of many lengths (1 to 4 SHA-256
 * blocks, so padding falls at every offset of a block). */
static int test_many_inputs(void) {
    unsigned char secret[200];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < sizeof secret; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        secret[i] = (unsigned char)(x >> 56);
    }
    static const size_t lens[] = {0, 1, 31, 32, 63, 64, 65, 100, 128, 200};
    static const beat_event_type types[] = {BEAT_EV_WIN, BEAT_EV_BILL, BEAT_EV_LOSS, BEAT_EV_CLICK};
    char auction[BEAT_ID_MAX + 1], landing[300];
    int checked = 0;
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        inf_signer s;
        inf_signer_init(&s, secret, lens[k]);
        CHECK(s.keyed);
        for (int len = 0; len < 200; len++) {
            int alen = len % BEAT_ID_MAX + 1;
            for (int i = 0; i < alen; i++) auction[i] = (char)('a' + (i * 7 + len) % 26);
            auction[alen] = '\0';
            int llen = len * 3 % 290;
            for (int i = 0; i < llen; i++) landing[i] = (char)('A' + (i + len) % 26);
            landing[llen] = '\0';
            beat_notice_fields f = {types[len % 4],
                                    len % 3 ? "ex" : "",
                                    (uint32_t)(len & 1),
                                    auction,
                                    "1",
                                    "camp",
                                    "cr",
                                    len * 1000003LL,
                                    1700000000000LL + len,
                                    landing,
                                    len % 5 ? NULL : "EUR",
                                    len % 7 ? 0 : 86400};
            char a[BEAT_SIG_HEX + 1], b[BEAT_SIG_HEX + 1];
            int ra = inf_notice_sign(&s, &f, a), rb = beat_notice_sign(secret, lens[k], &f, b);
            CHECK_EQ_INT(ra, rb);
            if (ra == 0) {
                CHECK_EQ_STR(a, b);
                checked++;
            }
        }
    }
    CHECK(checked > 1500);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"matches_common", test_matches_common},
        {"exchange_macros", test_exchange_macros},
        {"many_inputs", test_many_inputs},
        {NULL, NULL},
    };
    return beat_test_main("notice", cases, argc, argv);
}
