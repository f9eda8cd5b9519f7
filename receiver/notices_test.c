/* Notice checks of the receiver without HTTP: signature, age, future,
 * price-over-bid, landing schemes, and the event built from a notice. The
 * HTTP answers themselves are exercised by tests/test_receiver.py. */
#include "notices.h"

#include <inttypes.h>
#include <stdio.h>

#include "beat_test.h"

static const char SECRET[] = "unit-secret";
static const int64_t NOW = 1700000000000LL;
static rcv_notice_cfg CFG = {SECRET, sizeof SECRET - 1, 3600 * 1000, 300 * 1000, 10};

/* Builds a signed query (as an exchange would send it after substituting
 * the macros). p/l/u NULL = absent; sig_override replaces the signature. */
static void query(char *out, size_t n, const char *a, int64_t b, int64_t t,
                  const char *p, const char *l, const char *u_raw,
                  const char *u_enc, const char *sig_override) {
    char sig[BEAT_SIG_HEX + 1];
    beat_notice_sign(SECRET, sizeof SECRET - 1, a, "1", "c1", b, t, u_raw, sig);
    int k = snprintf(out, n, "a=%s&i=1&c=c1&cr=cr9&b=%" PRId64 "&t=%" PRId64, a,
                     b, t);
    if (p) k += snprintf(out + k, n - k, "&p=%s&cur=USD", p);
    if (l) k += snprintf(out + k, n - k, "&l=%s", l);
    if (u_enc) k += snprintf(out + k, n - k, "&u=%s", u_enc);
    snprintf(out + k, n - k, "&s=%s", sig_override ? sig_override : sig);
}

static rcv_reject check(beat_event_type t, const char *q, beat_notice *n) {
    beat_reason why = {{0}};
    return rcv_notice_check(&CFG, t, q, NOW, n, &why);
}

static int t_valid_win_and_event(void) {
    char q[1024];
    beat_notice n;
    query(q, sizeof q, "A1", 2500000, NOW - 1000, "1.2345", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_OK);
    beat_event ev;
    rcv_notice_to_event(&n, NOW + 5, &ev);
    CHECK_EQ_INT(ev.type, BEAT_EV_WIN);
    CHECK_EQ_STR(ev.auction, "A1");
    CHECK_EQ_STR(ev.imp, "1");
    CHECK_EQ_STR(ev.campaign, "c1");
    CHECK_EQ_STR(ev.crid, "cr9");
    CHECK_EQ_INT(ev.price_cpm_micros, 1234500);
    CHECK_EQ_INT(ev.bid_cpm_micros, 2500000);
    CHECK_EQ_INT(ev.notice_ts_ms, NOW - 1000);
    CHECK_EQ_INT(ev.ts_ms, NOW + 5);
    CHECK_EQ_INT(ev.loss_code, 0);
    /* Price equal to the bid is fine (first-price auctions). */
    query(q, sizeof q, "A1", 2500000, NOW, "2.5", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_BILL, q, &n), RCV_OK);
    return 0;
}

static int t_signature(void) {
    char q[1024];
    beat_notice n;
    query(q, sizeof q, "A1", 2500000, NOW, "1.0", NULL, NULL, NULL,
          "00000000000000000000000000000000");
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_FORGED);
    /* Missing s: unsigned, so forbidden rather than malformed. */
    CHECK_EQ_INT(check(BEAT_EV_WIN, "a=A1&i=1&c=c1&b=1&t=1&p=1.0", &n), RCV_FORGED);
    CHECK_EQ_INT(check(BEAT_EV_WIN, "", &n), RCV_FORGED);
    CHECK_EQ_INT(check(BEAT_EV_WIN, NULL, &n), RCV_FORGED);
    /* Uppercase / short signatures are not signatures. */
    CHECK_EQ_INT(check(BEAT_EV_WIN, "a=A1&i=1&c=c1&b=1&t=1&p=1&s=ABC", &n), RCV_FORGED);
    /* Changing a signed field breaks it. */
    query(q, sizeof q, "A1", 2500000, NOW, "1.0", NULL, NULL, NULL, NULL);
    q[2] = 'B';
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_FORGED);
    /* The same notice under another key is forged. */
    rcv_notice_cfg other = CFG;
    other.secret = "x";
    other.secret_len = 1;
    query(q, sizeof q, "A1", 2500000, NOW, "1.0", NULL, NULL, NULL, NULL);
    beat_reason why;
    CHECK_EQ_INT(rcv_notice_check(&other, BEAT_EV_WIN, q, NOW, &n, &why), RCV_FORGED);
    return 0;
}

static int t_time_and_price(void) {
    char q[1024];
    beat_notice n;
    query(q, sizeof q, "A1", 2500000, NOW - 3600 * 1000 - 1, "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_EXPIRED);
    query(q, sizeof q, "A1", 2500000, NOW - 3600 * 1000, "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_OK);
    query(q, sizeof q, "A1", 2500000, NOW + 300 * 1000 + 1, "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    query(q, sizeof q, "A1", 2500000, NOW, "2.500001", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_PRICE);
    CHECK_EQ_INT(check(BEAT_EV_BILL, q, &n), RCV_PRICE);
    /* A loss notice carries the winner's price: above our bid is normal. */
    query(q, sizeof q, "A1", 2500000, NOW, "9.0", "102", NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_LOSS, q, &n), RCV_OK);
    beat_event ev;
    rcv_notice_to_event(&n, NOW, &ev);
    CHECK_EQ_INT(ev.loss_code, 102);
    /* Unparsable price with a valid-looking signature: malformed. */
    query(q, sizeof q, "A1", 2500000, NOW, "abc", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    query(q, sizeof q, "A1", 2500000, NOW, "${AUCTION_PRICE}", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    /* A win without a price is malformed (parse requires p). */
    query(q, sizeof q, "A1", 2500000, NOW, NULL, NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    /* A bid outside the schema's range, even if signed. */
    query(q, sizeof q, "A1", 1000000000001LL, NOW, "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    return 0;
}

static int t_click_landing(void) {
    char q[2048];
    beat_notice n;
    query(q, sizeof q, "A1", 1, NOW, NULL, NULL, "https://shop.example/p?x=1",
          "https%3A%2F%2Fshop.example%2Fp%3Fx%3D1", NULL);
    CHECK_EQ_INT(check(BEAT_EV_CLICK, q, &n), RCV_OK);
    CHECK_EQ_STR(n.landing, "https://shop.example/p?x=1");
    query(q, sizeof q, "A1", 1, NOW, NULL, NULL, "HTTP://shop.example/", "HTTP%3A%2F%2Fshop.example%2F", NULL);
    CHECK_EQ_INT(check(BEAT_EV_CLICK, q, &n), RCV_OK);
    static const char *const bad[][2] = {
        {"javascript:alert(1)", "javascript%3Aalert(1)"},
        {"data:text/html,x", "data%3Atext%2Fhtml%2Cx"},
        {"//evil.example/", "%2F%2Fevil.example%2F"},
        {"http:///nohost", "http%3A%2F%2F%2Fnohost"},
        {"https://a.example/\r\nSet-Cookie: x", "https%3A%2F%2Fa.example%2F%0D%0ASet-Cookie%3A%20x"},
        {"ftp://a.example/", "ftp%3A%2F%2Fa.example%2F"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        query(q, sizeof q, "A1", 1, NOW, NULL, NULL, bad[i][0], bad[i][1], NULL);
        if (check(BEAT_EV_CLICK, q, &n) != RCV_MALFORMED) {
            fprintf(stderr, "  landing %s accepted\n", bad[i][0]);
            return 1;
        }
    }
    /* The landing is signed: changing it is forgery. */
    query(q, sizeof q, "A1", 1, NOW, NULL, NULL, "https://shop.example/",
          "https%3A%2F%2Fevil.example%2F", NULL);
    CHECK_EQ_INT(check(BEAT_EV_CLICK, q, &n), RCV_FORGED);
    return 0;
}

/* Ids travel as JSON text: bytes that are not UTF-8 would be replaced in
 * the event, merging distinct auctions, so they are refused (400). */
static int t_ids_utf8(void) {
    char q[1024], sig[BEAT_SIG_HEX + 1];
    beat_notice n;
    beat_notice_sign(SECRET, sizeof SECRET - 1, "\xff\xfe", "1", "c1", 2500000, NOW,
                     "", sig);
    snprintf(q, sizeof q, "a=%%FF%%FE&i=1&c=c1&b=2500000&t=%" PRId64 "&p=1&s=%s",
             NOW, sig);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    beat_notice_sign(SECRET, sizeof SECRET - 1, "\xc3\xa9t\xc3\xa9", "1", "c1",
                     2500000, NOW, "", sig);
    snprintf(q, sizeof q, "a=%%C3%%A9t%%C3%%A9&i=1&c=c1&b=2500000&t=%" PRId64
             "&p=1&s=%s", NOW, sig);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_OK);
    CHECK_EQ_STR(n.auction, "\xc3\xa9t\xc3\xa9");
    beat_notice_sign(SECRET, sizeof SECRET - 1, "A\x11", "1", "c1", 2500000, NOW,
                     "", sig);
    snprintf(q, sizeof q, "a=A%%11&i=1&c=c1&b=2500000&t=%" PRId64 "&p=1&s=%s",
             NOW, sig);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    return 0;
}

static int t_status_names(void) {
    CHECK_EQ_INT(rcv_reject_status(RCV_FORGED), 403);
    CHECK_EQ_INT(rcv_reject_status(RCV_EXPIRED), 410);
    CHECK_EQ_INT(rcv_reject_status(RCV_MALFORMED), 400);
    CHECK_EQ_INT(rcv_reject_status(RCV_PRICE), 400);
    CHECK_EQ_STR(rcv_reject_name(RCV_FORGED), "forged");
    CHECK_EQ_STR(rcv_reject_name(RCV_PRICE), "price");
    CHECK_EQ_STR(rcv_reject_name((rcv_reject)99), "unknown");
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"valid_win_and_event", t_valid_win_and_event},
        {"signature", t_signature},
        {"time_and_price", t_time_and_price},
        {"click_landing", t_click_landing},
        {"ids_utf8", t_ids_utf8},
        {"status_names", t_status_names},
        {NULL, NULL},
    };
    return beat_test_main("receiver_notices", cases, argc, argv);
}
