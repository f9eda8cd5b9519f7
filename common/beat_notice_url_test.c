/* Notice URLs: build → exchange substitution → parse → verify round
 * trips, price parsing, malformed queries and the variants accepted. */
#include "beat_notice.h"
#include "beat_test.h"

#include <errno.h>
#include <stdlib.h>

static const char SECRET[] = "test-secret";
#define SL (sizeof SECRET - 1)

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

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"round_trip", t_round_trip},
        {"price_parse", t_price_parse},
        {"malformed", t_malformed},
        {"accepted_variants", t_accepted_variants},
        {NULL, NULL},
    };
    return beat_test_main("beat_notice_url", tests, argc, argv);
}
