/* Notice URLs: the v2 signed text, sign/verify, tampering (a re-typed
 * notice, the creative, exchange and flags included), v1 verifying only as
 * v1, build → exchange substitution → parse → verify round trips, price
 * parsing and malformed queries. */
#include "beat_notice.h"
#include "beat_test.h"

#include <errno.h>
#include <stdlib.h>

static const char SECRET[] = "test-secret";
#define SL (sizeof SECRET - 1)

static beat_notice_fields F(beat_event_type t) {
    return (beat_notice_fields){.type = t,
                                .exchange = "",
                                .flags = 0,
                                .auction = "A1",
                                .imp = "1",
                                .campaign = "c1",
                                .crid = "cr1",
                                .bid_cpm_micros = 1500000,
                                .ts_ms = 1700000000123LL,
                                .landing = NULL};
}

static int t_sign_known_shape(void) {
    char a[BEAT_SIG_HEX + 1], b[BEAT_SIG_HEX + 1];
    beat_notice_fields f = F(BEAT_EV_WIN);
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, a), 0);
    CHECK_EQ_INT(strlen(a), BEAT_SIG_HEX);
    for (int i = 0; i < BEAT_SIG_HEX; i++)
        CHECK((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
    /* Pinned: HMAC-SHA256("test-secret",
     * "v2\nwin\n\n0\nA1\n1\nc1\ncr1\n1500000\n1700000000123\n")[:16], computed
     * independently with Python's hmac module. */
    CHECK_EQ_STR(a, "5eff04709250c431edf1cd10a2841e8a");
    f.exchange = NULL; /* NULL exchange == "", and a landing is ignored but on clicks */
    f.landing = "https://ignored.example/";
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, b), 0);
    CHECK_EQ_STR(a, b);
    /* Pinned: "v2\nclick\nx-1\n1\nA1\n1\nc1\ncr1\n1500000\n1700000000123\n"
     * "https://l.example/?a=1". */
    f = F(BEAT_EV_CLICK);
    f.exchange = "x-1";
    f.flags = BEAT_NOTICE_F_TEST;
    f.landing = "https://l.example/?a=1";
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, b), 0);
    CHECK_EQ_STR(b, "0eecdfc7e2c24b5a5705bf77067c8284");
    /* Field boundaries are unambiguous: moving a char between ids changes it. */
    f = F(BEAT_EV_WIN);
    f.auction = "A";
    f.imp = "11";
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, b), 0);
    CHECK(strcmp(a, b) != 0);
    f = F(BEAT_EV_WIN);
    CHECK_EQ_INT(beat_notice_sign(SECRET, SL, &f, NULL), -EINVAL);
    char longid[BEAT_ID_MAX + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    f.auction = longid;
    CHECK(beat_notice_sign(SECRET, SL, &f, b) < 0);
    /* v1, kept for the upgrade window: its pinned value is unchanged.
     * HMAC-SHA256("test-secret", "v1\nA1\n1\nc1\n1500000\n1700000000123\n")[:16] */
    CHECK_EQ_INT(
        beat_notice_sign_v1(SECRET, SL, "A1", "1", "c1", 1500000, 1700000000123LL, NULL, a), 0);
    CHECK_EQ_STR(a, "8093dae4b3bb8fe3ac8408d9890cb29c");
    CHECK_EQ_INT(beat_notice_sign_v1(SECRET, SL, "A1", "1", "c1", 1, 2, NULL, NULL), -EINVAL);
    return 0;
}

static int t_signed_text(void) {
    char buf[BEAT_NOTICE_TEXT_MAX];
    beat_notice_fields f = F(BEAT_EV_LOSS);
    f.exchange = "xch";
    f.flags = 1;
    int n = beat_notice_text(&f, buf, sizeof buf);
    static const char want[] = "v2\nloss\nxch\n1\nA1\n1\nc1\ncr1\n1500000\n1700000000123\n";
    CHECK_EQ_INT(n, (int)sizeof want - 1);
    CHECK(memcmp(buf, want, sizeof want - 1) == 0);
    f.crid = NULL; /* no creative: an empty line */
    n = beat_notice_text(&f, buf, sizeof buf);
    CHECK(n > 0 && memmem(buf, (size_t)n, "\nc1\n\n1500000\n", 13) != NULL);
    /* A '\n' inside a field would let its neighbours move: refused. */
    f = F(BEAT_EV_WIN);
    f.auction = "A\n1";
    CHECK_EQ_INT(beat_notice_text(&f, buf, sizeof buf), -EINVAL);
    f = F(BEAT_EV_WIN);
    f.exchange = "x\n";
    CHECK_EQ_INT(beat_notice_text(&f, buf, sizeof buf), -EINVAL);
    f = F(BEAT_EV_WIN);
    f.auction = "";
    CHECK_EQ_INT(beat_notice_text(&f, buf, sizeof buf), -EINVAL);
    f = F(BEAT_EV_BID); /* not a notice */
    CHECK_EQ_INT(beat_notice_text(&f, buf, sizeof buf), -EINVAL);
    f = F(BEAT_EV_WIN);
    CHECK_EQ_INT(beat_notice_text(&f, buf, 10), -EMSGSIZE);
    /* The longest text fits BEAT_NOTICE_TEXT_MAX. */
    char id[BEAT_ID_MAX + 1], land[BEAT_URL_MAX];
    memset(id, 'i', BEAT_ID_MAX);
    id[BEAT_ID_MAX] = 0;
    memset(land, 'u', sizeof land - 1);
    land[sizeof land - 1] = 0;
    f = (beat_notice_fields){BEAT_EV_CLICK, id,        UINT32_MAX, id,   id, id, id,
                             INT64_MIN,     INT64_MIN, land,       NULL, 0};
    CHECK(beat_notice_text(&f, buf, sizeof buf) > 0);
    return 0;
}

/* A parsed-looking notice of type t, signed v2 (or v1) over its fields. */
static void fill(beat_notice *n, beat_event_type t, int version) {
    memset(n, 0, sizeof *n);
    n->type = t;
    n->version = version;
    strcpy(n->auction, "auc-42");
    strcpy(n->imp, "1");
    strcpy(n->campaign, "camp 7");
    strcpy(n->crid, "cr7");
    n->bid_cpm_micros = 2500000;
    n->ts_ms = 1700000000999LL;
    n->price_cpm_micros = -1;
    n->loss_code = -1;
    if (t == BEAT_EV_CLICK) strcpy(n->landing, "https://shop.example/p?x=1&y=2");
    if (version == 1) {
        beat_notice_sign_v1(SECRET, SL, n->auction, n->imp, n->campaign, n->bid_cpm_micros,
                            n->ts_ms, t == BEAT_EV_CLICK ? n->landing : NULL, n->sig);
        return;
    }
    strcpy(n->exchange, "exch-1");
    beat_notice_fields f = {t,        n->exchange, n->flags,        n->auction,
                            n->imp,   n->campaign, n->crid,         n->bid_cpm_micros,
                            n->ts_ms, n->landing,  n->bid_currency, n->conv_window_s};
    beat_notice_sign(SECRET, SL, &f, n->sig);
}

/* Changes the k-th signed field of m and names it; NULL past the last.
 * Each must make a notice fail to verify. Fields 0..TAMPER_V1-1 are signed
 * by v1 too; then come what only v2 signs, and the version (a v2 notice is
 * checked with its own version only). */
#define TAMPER_V1 7
#define TAMPER_CRID 7
static const char *tamper(beat_notice *m, int k) {
    switch (k) {
        case 0: m->auction[0] ^= 1; return "auction";
        case 1: strcat(m->imp, "0"); return "imp";
        case 2: m->campaign[1] = 'X'; return "campaign";
        case 3: m->bid_cpm_micros++; return "bid";
        case 4: m->ts_ms--; return "ts";
        case 5: m->sig[31] = m->sig[31] == '0' ? '1' : '0'; return "sig digit";
        case 6: m->sig[5] = 0; return "sig cut short";
        case TAMPER_CRID: strcpy(m->crid, "other"); return "crid";
        case 8: m->crid[0] = 0; return "crid emptied";
        case 9: strcpy(m->exchange, "exch-2"); return "exchange";
        case 10: m->exchange[0] = 0; return "exchange emptied";
        case 11: m->flags = BEAT_NOTICE_F_TEST; return "flags";
        case 12: m->version = 1; return "version 1";
        case 13: m->version = 3; return "version 3";
    }
    return NULL;
}

static int t_tamper_fails(void) {
    for (int t = BEAT_EV_WIN; t <= BEAT_EV_CLICK; t++) {
        beat_notice n, m;
        fill(&n, (beat_event_type)t, 2);
        CHECK(beat_notice_verify(SECRET, SL, &n));
        CHECK(!beat_notice_verify("other", 5, &n));
        const char *what;
        for (int k = 0; (m = n, what = tamper(&m, k)); k++)
            if (beat_notice_verify(SECRET, SL, &m)) {
                fprintf(stderr, "  type %d, %s changed: still verifies\n", t, what);
                return 1;
            }
        if (t == BEAT_EV_CLICK) {
            m = n;
            strcpy(m.landing, "https://evil.example/");
            CHECK(!beat_notice_verify(SECRET, SL, &m));
        }
        /* The type is signed: a notice moved to any other path is forged. */
        for (int u = BEAT_EV_WIN; u <= BEAT_EV_CLICK; u++) {
            if (u == t) continue;
            m = n;
            m.type = (beat_event_type)u;
            CHECK(!beat_notice_verify(SECRET, SL, &m));
        }
        /* Only what the exchange substitutes (p, cur, l) may differ. */
        m = n;
        m.price_cpm_micros = 5;
        strcpy(m.currency, "EUR");
        m.loss_code = 7;
        CHECK(beat_notice_verify(SECRET, SL, &m));
    }
    /* The cases the upgrade is for, spelt out. */
    static const int retype[][2] = {
        {BEAT_EV_WIN, BEAT_EV_BILL}, {BEAT_EV_LOSS, BEAT_EV_BILL}, {BEAT_EV_WIN, BEAT_EV_IMP}};
    for (size_t k = 0; k < sizeof retype / sizeof retype[0]; k++) {
        beat_notice n;
        fill(&n, (beat_event_type)retype[k][0], 2);
        CHECK(beat_notice_verify(SECRET, SL, &n));
        n.type = (beat_event_type)retype[k][1];
        CHECK(!beat_notice_verify(SECRET, SL, &n));
    }
    return 0;
}

/* v1 notices (signed before the upgrade) verify as v1 and only as v1; v1
 * never covered the type or the creative, which is why it is refused by
 * default at the receiver. */
static int t_v1_still_verifies(void) {
    for (int t = BEAT_EV_WIN; t <= BEAT_EV_CLICK; t++) {
        beat_notice n, m;
        fill(&n, (beat_event_type)t, 1);
        CHECK(beat_notice_verify(SECRET, SL, &n));
        m = n;
        m.version = 2;
        CHECK(!beat_notice_verify(SECRET, SL, &m));
        for (int k = 0; k < TAMPER_V1; k++) {
            m = n;
            const char *what = tamper(&m, k);
            if (beat_notice_verify(SECRET, SL, &m)) {
                fprintf(stderr, "  v1 type %d, %s changed: still verifies\n", t, what);
                return 1;
            }
        }
        /* the weaknesses v2 removes */
        m = n;
        tamper(&m, TAMPER_CRID);
        CHECK(beat_notice_verify(SECRET, SL, &m));
        if (t != BEAT_EV_CLICK) {
            m = n;
            m.type = BEAT_EV_BILL;
            CHECK(beat_notice_verify(SECRET, SL, &m));
        }
    }
    /* A v1 URL as inference used to write it parses as v1 and verifies. */
    char sig[BEAT_SIG_HEX + 1], q[512];
    CHECK_EQ_INT(
        beat_notice_sign_v1(SECRET, SL, "A-1", "2", "c1", 1234567, 1700000000001LL, NULL, sig), 0);
    snprintf(q, sizeof q,
             "a=A-1&i=2&c=c1&cr=cr1&b=1234567&t=1700000000001&p=1.5&cur=USD"
             "&s=%s",
             sig);
    beat_notice n;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, q, &n, &why), 0);
    CHECK_EQ_INT(n.version, 1);
    CHECK(beat_notice_verify(SECRET, SL, &n));
    /* The same query claiming v=2 does not. */
    char q2[600];
    snprintf(q2, sizeof q2, "v=2&%s", q);
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, q2, &n, &why), 0);
    CHECK_EQ_INT(n.version, 2);
    CHECK(!beat_notice_verify(SECRET, SL, &n));
    return 0;
}

/* Replaces every occurrence of macro in s (in place, s has room). */
static void subst(char *s, size_t cap, const char *macro, const char *val) {
    char tmp[BEAT_URL_MAX * 2];
    char *p;
    while ((p = strstr(s, macro))) {
        snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(p - s), s, val, p + strlen(macro));
        snprintf(s, cap, "%s", tmp);
    }
}

static int t_round_trip(void) {
    static const char *const paths[] = {"", "", "/win?", "/bill?", "/loss?", "/imp?", "/click?"};
    for (int t = BEAT_EV_WIN; t <= BEAT_EV_CLICK; t++) {
        for (int test = 0; test < 2; test++) {
            beat_buf b;
            beat_buf_init(&b, 4096);
            const char *landing = "https://shop.example/p?x=1&y=a b/ü";
            beat_notice_fields f = {(beat_event_type)t,
                                    test ? "ex&1" : "",
                                    test ? 1u : 0u,
                                    "A-1",
                                    "2",
                                    "c/1&x",
                                    "cr 1",
                                    1234567,
                                    1700000000001LL,
                                    landing,
                                    NULL,
                                    0};
            CHECK_EQ_INT(beat_notice_url(&b, "http://127.0.0.1:8081/", SECRET, SL, &f), 0);
            CHECK(strstr(b.data, "http://127.0.0.1:8081/") == b.data);
            CHECK(strstr(b.data, paths[t]) != NULL);
            CHECK(strstr(b.data, test ? "?v=2&x=ex%261&a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&c="
                                      : "?v=2&x=&a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&c=") != NULL);
            CHECK(strstr(b.data, test ? "&t=1700000000001&f=1" : "&t=1700000000001&f=0") != NULL);
            CHECK((strstr(b.data, "${AUCTION_PRICE}") != NULL) ==
                  (t == BEAT_EV_WIN || t == BEAT_EV_BILL || t == BEAT_EV_LOSS));
            CHECK((strstr(b.data, "${AUCTION_LOSS}") != NULL) == (t == BEAT_EV_LOSS));
            char url[BEAT_URL_MAX * 2];
            snprintf(url, sizeof url, "%s", b.data);
            /* What the exchange does. */
            subst(url, sizeof url, "${AUCTION_ID}", "A-1");
            subst(url, sizeof url, "${AUCTION_IMP_ID}", "2");
            subst(url, sizeof url, "${AUCTION_PRICE}", "1.2345675");
            subst(url, sizeof url, "${AUCTION_CURRENCY}", "USD");
            subst(url, sizeof url, "${AUCTION_LOSS}", "102");
            CHECK(!strstr(url, "${"));
            const char *q = strchr(url, '?');
            CHECK(q != NULL);
            beat_notice n;
            beat_reason why = {{0}};
            int rc = beat_notice_parse((beat_event_type)t, q + 1, &n, &why);
            if (rc) fprintf(stderr, "  parse: %s (%s)\n", why.msg, url);
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(n.version, 2);
            CHECK_EQ_STR(n.exchange, test ? "ex&1" : "");
            CHECK_EQ_INT(n.flags, test ? BEAT_NOTICE_F_TEST : 0);
            CHECK_EQ_STR(n.auction, "A-1");
            CHECK_EQ_STR(n.imp, "2");
            CHECK_EQ_STR(n.campaign, "c/1&x");
            CHECK_EQ_STR(n.crid, "cr 1");
            CHECK_EQ_INT(n.bid_cpm_micros, 1234567);
            CHECK_EQ_INT(n.ts_ms, 1700000000001LL);
            if (t == BEAT_EV_WIN || t == BEAT_EV_BILL || t == BEAT_EV_LOSS) {
                CHECK_EQ_INT(n.price_cpm_micros, 1234568);
                CHECK_EQ_STR(n.currency, "USD");
            } else {
                CHECK_EQ_INT(n.price_cpm_micros, -1);
            }
            CHECK_EQ_INT(n.loss_code, t == BEAT_EV_LOSS ? 102 : -1);
            CHECK_EQ_STR(n.landing, t == BEAT_EV_CLICK ? landing : "");
            CHECK(beat_notice_verify(SECRET, SL, &n));
            /* A different substituted auction id does not verify. */
            n.auction[0] = 'B';
            CHECK(!beat_notice_verify(SECRET, SL, &n));
            /* Nor does the same query under another path (a loss billed). */
            if (t != BEAT_EV_CLICK) {
                beat_event_type other = t == BEAT_EV_BILL ? BEAT_EV_WIN : BEAT_EV_BILL;
                if (beat_notice_parse(other, q + 1, &n, &why) == 0)
                    CHECK(!beat_notice_verify(SECRET, SL, &n));
            }
            beat_buf_fini(&b);
        }
    }
    /* Bad args leave the buffer unchanged. */
    beat_buf b;
    beat_buf_init(&b, 64);
    beat_notice_fields f = {BEAT_EV_WIN, "", 0, "a", "1", "c", "cr", 1, 2, NULL, NULL, 0};
    CHECK(beat_notice_url(&b, "http://x", SECRET, SL, &f) < 0); /* over 64 bytes */
    CHECK_EQ_INT(b.len, 0);
    f.type = BEAT_EV_CLICK;
    f.landing = "";
    CHECK(beat_notice_url(&b, "http://x", SECRET, SL, &f) < 0);
    f.landing = "http://l/?x=${AUCTION_ID}";
    CHECK(beat_notice_url(&b, "http://x", SECRET, SL, &f) < 0);
    f.type = BEAT_EV_BID;
    CHECK(beat_notice_url(&b, "http://x", SECRET, SL, &f) < 0);
    CHECK(beat_notice_url(&b, "http://x", SECRET, SL, NULL) < 0);
    beat_buf_fini(&b);
    return 0;
}

static int t_price_parse(void) {
    static const struct {
        const char *s;
        int rc;
        int64_t v;
    } T[] = {
        {"1", 0, 1000000},
        {"1.5", 0, 1500000},
        {"0.000001", 0, 1},
        {"2.5", 0, 2500000},
        {"0.000123", 0, 123},
        {"0", 0, 0},
        {"0.0000005", 0, 1},
        {"0.00000049", 0, 0},
        {"1.2345675", 0, 1234568},
        {"1.2345674", 0, 1234567},
        {"1.999999999", 0, 2000000},
        {"007.25", 0, 7250000},
        {".5", 0, 500000},
        {"1000000", 0, 1000000000000LL},
        {"1000000.0000004", 0, 1000000000000LL},
        {"1000000.0000005", -EINVAL, 0},
        {"1000000.1", -EINVAL, 0},
        {"1000001", -EINVAL, 0},
        {"99999999999999999999999", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"1e3", -EINVAL, 0},
        {"abc", -EINVAL, 0},
        {"1.2.3", -EINVAL, 0},
        {"1.0000000001", -EINVAL, 0},
        {"1.", -EINVAL, 0},
        {".", -EINVAL, 0},
        {"+1", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},
        {"0x10", -EINVAL, 0},
        {"${AUCTION_PRICE}", -EINVAL, 0},
        {"nan", -EINVAL, 0},
        {"inf", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        int64_t v = -77;
        int rc = beat_price_parse(T[i].s, &v);
        if (rc != T[i].rc || (rc == 0 && v != T[i].v)) {
            fprintf(stderr, "  price \"%s\": rc=%d v=%lld\n", T[i].s, rc, (long long)v);
            return 1;
        }
        if (rc) CHECK_EQ_INT(v, -77); /* untouched on error */
    }
    CHECK_EQ_INT(beat_price_parse(NULL, NULL), -EINVAL);
    return 0;
}

#define SIG "s=0123456789abcdef0123456789abcdef"
#define OK_WIN "a=A&i=1&c=c1&cr=x&b=100&t=5&p=1.5&cur=USD&" SIG

static int t_malformed(void) {
    static const struct {
        int type;
        const char *q;
        const char *why;
    } T[] = {
        {BEAT_EV_WIN, "", "missing a"},
        {BEAT_EV_WIN, "i=1&c=c1&b=1&t=5&p=1&" SIG, "missing a"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&" SIG, "missing p"},
        {BEAT_EV_BILL, "a=A&i=1&c=c1&b=1&t=5&" SIG, "missing p"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=1", "missing s"},
        {BEAT_EV_CLICK, "a=A&i=1&c=c1&b=1&t=5&" SIG, "missing u"},
        {BEAT_EV_WIN, OK_WIN "&a=B", "duplicate parameter a"},
        {BEAT_EV_WIN, "a=${AUCTION_ID}&i=1&c=c1&b=1&t=5&p=1&" SIG, "unsubstituted macro in a"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=${AUCTION_PRICE}&" SIG, "unsubstituted macro in p"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=%24%7BAUCTION_PRICE%7D&" SIG,
         "unsubstituted macro in p"},
        {BEAT_EV_LOSS, "a=A&i=1&c=c1&b=1&t=5&l=${AUCTION_LOSS}&" SIG, "unsubstituted macro in l"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=-1&" SIG, "bad price"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=1e3&" SIG, "bad price"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=x&t=5&p=1&" SIG, "bad b"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=-5&t=5&p=1&" SIG, "bad b"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=99999999999999999999&p=1&" SIG, "bad t"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=1&s=XYZ", "bad signature format"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=1&s=0123456789ABCDEF0123456789abcdef",
         "bad signature format"},
        {BEAT_EV_WIN, "a=A%2&i=1&c=c1&b=1&t=5&p=1&" SIG, "bad escape in a"},
        {BEAT_EV_WIN, "a=A%zz&i=1&c=c1&b=1&t=5&p=1&" SIG, "bad escape in a"},
        {BEAT_EV_WIN, "a=A%00B&i=1&c=c1&b=1&t=5&p=1&" SIG, "bad escape in a"},
        {BEAT_EV_WIN, "a=&i=1&c=c1&b=1&t=5&p=1&" SIG, "empty a"},
        {BEAT_EV_WIN, "a&i=1&c=c1&b=1&t=5&p=1&" SIG, "parameter without '='"},
        {BEAT_EV_WIN,
         "a=0123456789012345678901234567890123456789012345678901234567890123X&i=1&c=c1&b=1&t=5&p="
         "1&" SIG,
         "a too long"},
        {BEAT_EV_WIN, OK_WIN "&u=http%3A%2F%2Fx", "u only allowed on click"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=1&cur=US1&" SIG, "bad cur"},
        {BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=1&cur=USDUSDUSD&" SIG, "cur too long"},
        {BEAT_EV_LOSS, "a=A&i=1&c=c1&b=1&t=5&l=-1&" SIG, "bad loss code"},
        {BEAT_EV_BID, OK_WIN, "not a notice type"},
        {BEAT_EV_WIN, "v=3&x=&f=0&" OK_WIN, "unsupported notice version 3"},
        {BEAT_EV_WIN, "v=0&" OK_WIN, "unsupported notice version 0"},
        {BEAT_EV_WIN, "v=2a&" OK_WIN, "unsupported notice version 2a"},
        {BEAT_EV_WIN, "v=2&v=2&" OK_WIN, "duplicate parameter v"},
        {BEAT_EV_WIN, "v=2&f=x&" OK_WIN, "bad f"},
        {BEAT_EV_WIN, "v=2&f=-1&" OK_WIN, "bad f"},
        {BEAT_EV_WIN, "v=2&f=4294967296&" OK_WIN, "bad f"},
        {BEAT_EV_WIN, "v=2&f=2&" OK_WIN, "unknown flags in f=2"},
        {BEAT_EV_WIN, "v=2&f=3&" OK_WIN, "unknown flags in f=3"},
        {BEAT_EV_WIN, "v=2&x=${EXCHANGE}&" OK_WIN, "unsubstituted macro in x"},
        {BEAT_EV_WIN,
         "v=2&x=0123456789012345678901234567890123456789012345678901234567890123X&" OK_WIN,
         "x too long"},
        /* v1 signed neither: they cannot ride along on a v1 URL */
        {BEAT_EV_WIN, "f=1&" OK_WIN, "x and f need v=2"},
        {BEAT_EV_WIN, "v=1&x=e&" OK_WIN, "x and f need v=2"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        beat_notice n;
        beat_reason why = {{0}};
        int rc = beat_notice_parse((beat_event_type)T[i].type, T[i].q, &n, &why);
        if (rc != -EINVAL || strcmp(why.msg, T[i].why) != 0) {
            fprintf(stderr, "  case %zu \"%s\": rc=%d why=\"%s\" want \"%s\"\n", i, T[i].q, rc,
                    why.msg, T[i].why);
            return 1;
        }
    }
    /* Oversized query and too many params. */
    char big[9000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    beat_notice n;
    beat_reason why;
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, big, &n, &why), -EINVAL);
    char many[600] = OK_WIN;
    for (int k = 0; k < 40; k++) strcat(many, "&z=1");
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, many, &n, &why), -EINVAL);
    CHECK_EQ_STR(why.msg, "too many parameters");
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, NULL, &n, &why), -EINVAL);
    return 0;
}

static int t_accepted_variants(void) {
    beat_notice n;
    beat_reason why;
    /* Unknown keys ignored, empty pieces skipped, '+' is a space, loss
     * without l and p, cr optional. */
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, "&" OK_WIN "&&zz=9&", &n, &why), 0);
    CHECK_EQ_INT(n.price_cpm_micros, 1500000);
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_LOSS, "a=A+B&i=1&c=c1&b=1&t=5&" SIG, &n, &why), 0);
    CHECK_EQ_STR(n.auction, "A B");
    CHECK_EQ_INT(n.loss_code, -1);
    CHECK_EQ_INT(n.price_cpm_micros, -1);
    CHECK_EQ_STR(n.crid, "");
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_LOSS, "a=A&i=1&c=c1&b=1&t=5&p=&l=&cur=&" SIG, &n, &why),
                 0);
    CHECK_EQ_INT(n.loss_code, -1);
    CHECK_EQ_INT(n.price_cpm_micros, -1);
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_LOSS, "a=A&i=1&c=c1&b=1&t=5&p=0.5&l=102&" SIG, &n, &why),
                 0);
    CHECK_EQ_INT(n.loss_code, 102);
    CHECK_EQ_INT(n.price_cpm_micros, 500000);
    /* ... but an empty price on a win is still an error. */
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, "a=A&i=1&c=c1&b=1&t=5&p=&" SIG, &n, &why), -EINVAL);
    CHECK_EQ_STR(why.msg, "bad price");
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_IMP, "a=A&i=1&c=c1&b=1&t=5&" SIG, &n, &why), 0);
    CHECK_EQ_INT(n.type, BEAT_EV_IMP);
    /* Absent v = 1, absent x = "", absent f = 0; x may be empty, in any order. */
    CHECK_EQ_INT(n.version, 1);
    CHECK_EQ_STR(n.exchange, "");
    CHECK_EQ_INT(n.flags, 0);
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, OK_WIN "&v=2", &n, &why), 0);
    CHECK_EQ_INT(n.version, 2);
    CHECK_EQ_STR(n.exchange, "");
    CHECK_EQ_INT(n.flags, 0);
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, "v=2&x=&f=0&" OK_WIN, &n, &why), 0);
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, "f=1&x=ex%201&" OK_WIN "&v=2", &n, &why), 0);
    CHECK_EQ_STR(n.exchange, "ex 1");
    CHECK_EQ_INT(n.flags, BEAT_NOTICE_F_TEST);
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, "v=1&" OK_WIN, &n, &why), 0);
    CHECK_EQ_INT(n.version, 1);
    return 0;
}

/* A bid made in another currency carries bc, signed on its own line after
 * b; USD adds nothing (USD notices sign what they always did). Removing,
 * adding or changing bc breaks the signature. */
static int t_bid_currency(void) {
    char buf[BEAT_NOTICE_TEXT_MAX];
    beat_notice_fields f = F(BEAT_EV_WIN);
    f.bid_cur = "EUR";
    int n = beat_notice_text(&f, buf, sizeof buf);
    static const char want[] = "v2\nwin\n\n0\nA1\n1\nc1\ncr1\n1500000\nEUR\n1700000000123\n";
    CHECK_EQ_INT(n, (int)sizeof want - 1);
    CHECK(memcmp(buf, want, sizeof want - 1) == 0);
    char usd[BEAT_NOTICE_TEXT_MAX], none[BEAT_NOTICE_TEXT_MAX];
    f.bid_cur = "USD";
    int nu = beat_notice_text(&f, usd, sizeof usd);
    f.bid_cur = NULL;
    int nn = beat_notice_text(&f, none, sizeof none);
    CHECK(nu == nn && memcmp(usd, none, (size_t)nn) == 0);

    beat_buf b;
    beat_buf_init(&b, 4096);
    f.bid_cur = "EUR";
    CHECK_EQ_INT(beat_notice_url(&b, "http://r", SECRET, SL, &f), 0);
    CHECK(strstr(b.data, "&b=1500000&bc=EUR&t=") != NULL);
    char q[4096];
    snprintf(q, sizeof q, "%s", strchr(b.data, '?') + 1);
    beat_buf_fini(&b);
    /* the exchange fills the macros: an EUR price, and again with no cur */
    char *a = strstr(q, "${AUCTION_ID}"), filled[3 * 4096 + 16];
    CHECK(a != NULL);
    *a = '\0';
    const char *rest = strstr(a + 1, "&i=${AUCTION_IMP_ID}") + strlen("&i=${AUCTION_IMP_ID}");
    char *pm = strstr((char *)rest, "&p=");
    CHECK(pm != NULL);
    *pm = '\0';
    const char *sig = strstr(pm + 1, "&s=");
    snprintf(filled, sizeof filled, "%sA1&i=1%s&p=1.2%s", q, rest, sig);
    beat_notice nt;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN, filled, &nt, &why), 0);
    CHECK_EQ_STR(nt.bid_currency, "EUR");
    CHECK_EQ_STR(nt.currency, "");
    CHECK_EQ_INT(nt.price_cpm_micros, 1200000);
    CHECK(beat_notice_verify(SECRET, SL, &nt));
    beat_notice m = nt;
    m.bid_currency[0] = '\0'; /* stripped: would count the price as USD */
    CHECK(!beat_notice_verify(SECRET, SL, &m));
    m = nt;
    memcpy(m.bid_currency, "GBP", 4);
    CHECK(!beat_notice_verify(SECRET, SL, &m));
    static const char *const bad[] = {"bc=eur&", "bc=EURO&", "bc=E1R&", "bc=&"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char t2[sizeof filled + 16];
        snprintf(t2, sizeof t2, "%s%s", bad[i], filled);
        CHECK(beat_notice_parse(BEAT_EV_WIN, t2, &nt, &why) != 0);
    }
    CHECK_EQ_INT(beat_notice_parse(BEAT_EV_WIN,
                                   "bc=EUR&a=A1&i=1&c=c1&b=1&t=5&p=1&"
                                   "s=0123456789abcdef0123456789abcdef",
                                   &nt, &why),
                 -EINVAL);
    CHECK_REASON(why, "bc needs v=2");
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {{"bid_currency", t_bid_currency},
                                           {"sign_known_shape", t_sign_known_shape},
                                           {"signed_text", t_signed_text},
                                           {"tamper_fails", t_tamper_fails},
                                           {"v1_still_verifies", t_v1_still_verifies},
                                           {"round_trip", t_round_trip},
                                           {"price_parse", t_price_parse},
                                           {"malformed", t_malformed},
                                           {"accepted_variants", t_accepted_variants},
                                           {NULL, NULL}};
    return beat_test_main("beat_notice", tests, argc, argv);
}
