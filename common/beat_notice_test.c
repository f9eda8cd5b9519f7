/* Notice signatures: the v2 signed text (the bid currency included),
 * sign/verify, tampering (a re-typed notice, the creative, exchange and
 * flags included) and v1 verifying only as v1. The URLs themselves are
 * beat_notice_url_test.c's. */
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
    static const beat_test_case tests[] = {
        {"bid_currency", t_bid_currency},
        {"sign_known_shape", t_sign_known_shape},
        {"signed_text", t_signed_text},
        {"tamper_fails", t_tamper_fails},
        {"v1_still_verifies", t_v1_still_verifies},
        {NULL, NULL},
    };
    return beat_test_main("beat_notice", tests, argc, argv);
}
