/* Notice checks of the receiver without HTTP: signature (a re-typed notice,
 * a tampered creative, exchange or flag), v1 refused unless the upgrade
 * window is open, age, future, price-over-bid, landing schemes, the event
 * built from a notice, and test notices producing nothing. The HTTP answers
 * themselves are exercised by tests/test_receiver.py. */
#include "notices.h"

#include <inttypes.h>
#include <stdio.h>

#include "beat_fx.h"
#include "beat_test.h"

static const char SECRET[] = "unit-secret";
static const int64_t NOW = 1700000000000LL;
static rcv_notice_cfg CFG = {
    SECRET, sizeof SECRET - 1, 3600 * 1000, 300 * 1000, false, 10, NULL, NULL, 0};

/* Builds a v2 query signed for type t (as an exchange would send it after
 * substituting the macros), flags f. p/l/u NULL = absent; sig_override
 * replaces the signature. */
static void query_f(char *out, size_t n, beat_event_type t, uint32_t f, const char *a, int64_t b,
                    int64_t ts, const char *p, const char *l, const char *u_raw, const char *u_enc,
                    const char *sig_override) {
    char sig[BEAT_SIG_HEX + 1];
    beat_notice_fields nf = {t, "ex1", f, a, "1", "c1", "cr9", b, ts, u_raw, NULL, 0};
    beat_notice_sign(SECRET, sizeof SECRET - 1, &nf, sig);
    int k = snprintf(out, n, "v=2&x=ex1&a=%s&i=1&c=c1&cr=cr9&b=%" PRId64 "&t=%" PRId64 "&f=%u", a,
                     b, ts, f);
    if (p) k += snprintf(out + k, n - k, "&p=%s&cur=USD", p);
    if (l) k += snprintf(out + k, n - k, "&l=%s", l);
    if (u_enc) k += snprintf(out + k, n - k, "&u=%s", u_enc);
    snprintf(out + k, n - k, "&s=%s", sig_override ? sig_override : sig);
}

static void query(char *out, size_t n, beat_event_type t, const char *a, int64_t b, int64_t ts,
                  const char *p, const char *l, const char *u_raw, const char *u_enc,
                  const char *sig_override) {
    query_f(out, n, t, 0, a, b, ts, p, l, u_raw, u_enc, sig_override);
}

/* The same notice as inference signed it before v2: no v, x, f; the
 * signature covers neither the type nor the creative. */
static void query_v1(char *out, size_t n, const char *a, int64_t b, int64_t ts, const char *p,
                     const char *l) {
    char sig[BEAT_SIG_HEX + 1];
    beat_notice_sign_v1(SECRET, sizeof SECRET - 1, a, "1", "c1", b, ts, NULL, sig);
    int k = snprintf(out, n, "a=%s&i=1&c=c1&cr=cr9&b=%" PRId64 "&t=%" PRId64, a, b, ts);
    if (p) k += snprintf(out + k, n - k, "&p=%s&cur=USD", p);
    if (l) k += snprintf(out + k, n - k, "&l=%s", l);
    snprintf(out + k, n - k, "&s=%s", sig);
}

static rcv_reject check_why(const rcv_notice_cfg *cfg, beat_event_type t, const char *q,
                            beat_notice *n, beat_reason *why) {
    memset(why, 0, sizeof *why);
    return rcv_notice_check(cfg, t, q, NOW, n, why);
}

static rcv_reject check(beat_event_type t, const char *q, beat_notice *n) {
    beat_reason why;
    return check_why(&CFG, t, q, n, &why);
}

static int t_valid_win_and_event(void) {
    char q[1024];
    beat_notice n;
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW - 1000, "1.2345", NULL, NULL, NULL, NULL);
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
    query(q, sizeof q, BEAT_EV_BILL, "A1", 2500000, NOW, "2.5", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_BILL, q, &n), RCV_OK);
    return 0;
}

static int t_signature(void) {
    char q[1024];
    beat_notice n;
    beat_reason why;
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW, "1.0", NULL, NULL, NULL,
          "00000000000000000000000000000000");
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_FORGED);
    /* Missing s: unsigned, so forbidden rather than malformed. */
    CHECK_EQ_INT(check(BEAT_EV_WIN, "v=2&a=A1&i=1&c=c1&b=1&t=1&p=1.0", &n), RCV_FORGED);
    CHECK_EQ_INT(check(BEAT_EV_WIN, "", &n), RCV_FORGED);
    CHECK_EQ_INT(check(BEAT_EV_WIN, NULL, &n), RCV_FORGED);
    /* Uppercase / short signatures are not signatures. */
    CHECK_EQ_INT(check(BEAT_EV_WIN, "v=2&a=A1&i=1&c=c1&b=1&t=1&p=1&s=ABC", &n), RCV_FORGED);
    /* Changing a signed field breaks it: the auction, the creative, the
     * exchange, the flags. */
    static const char *const tamper[][2] = {{"a=A1&", "a=B1&"}, {"cr=cr9&", "cr=cr8&"},
                                            {"cr=cr9&", ""},    {"x=ex1&", "x=ex2&"},
                                            {"x=ex1&", ""},     {"f=0&", "f=1&"}};
    for (size_t k = 0; k < sizeof tamper / sizeof tamper[0]; k++) {
        query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW, "1.0", NULL, NULL, NULL, NULL);
        char t[1024], *at = strstr(q, tamper[k][0]);
        CHECK(at != NULL);
        snprintf(t, sizeof t, "%.*s%s%s", (int)(at - q), q, tamper[k][1],
                 at + strlen(tamper[k][0]));
        CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_OK);
        if (check_why(&CFG, BEAT_EV_WIN, t, &n, &why) != RCV_FORGED) {
            fprintf(stderr, "  tampered %s accepted: %s\n", tamper[k][1], t);
            return 1;
        }
        CHECK_REASON(why, "bad signature");
    }
    /* The same notice under another key is forged. */
    rcv_notice_cfg other = CFG;
    other.secret = "x";
    other.secret_len = 1;
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW, "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(rcv_notice_check(&other, BEAT_EV_WIN, q, NOW, &n, &why), RCV_FORGED);
    return 0;
}

/* "Signed means typed": a notice is accepted only under the path it was
 * signed for. A lost auction's lurl sent to /bill, a win to /imp or /bill,
 * are forgeries (403), whatever the price. */
static int t_retyped(void) {
    static const int cases[][2] = {{BEAT_EV_LOSS, BEAT_EV_BILL}, {BEAT_EV_LOSS, BEAT_EV_WIN},
                                   {BEAT_EV_WIN, BEAT_EV_BILL},  {BEAT_EV_WIN, BEAT_EV_IMP},
                                   {BEAT_EV_BILL, BEAT_EV_WIN},  {BEAT_EV_IMP, BEAT_EV_CLICK}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char q[1024];
        beat_notice n;
        beat_reason why;
        beat_event_type from = (beat_event_type)cases[k][0], to = (beat_event_type)cases[k][1];
        bool priced = from != BEAT_EV_IMP;
        query(q, sizeof q, from, "A1", 2500000, NOW, priced ? "1.0" : NULL,
              from == BEAT_EV_LOSS ? "102" : NULL, NULL, NULL, NULL);
        CHECK_EQ_INT(check(from, q, &n), RCV_OK);
        rcv_reject r = check_why(&CFG, to, q, &n, &why);
        if (r != RCV_FORGED && r != RCV_MALFORMED) return 1;
        if (to != BEAT_EV_CLICK) { /* a click without u is malformed first */
            CHECK_EQ_INT(r, RCV_FORGED);
            CHECK_REASON(why, "bad signature");
        }
    }
    return 0;
}

/* v1 notices: refused (403) unless the upgrade window is open; then the
 * old rules apply, including what v1 could not protect. */
static int t_v1_window(void) {
    char q[1024];
    beat_notice n;
    beat_reason why;
    query_v1(q, sizeof q, "A1", 2500000, NOW, "1.0", NULL);
    CHECK_EQ_INT(check_why(&CFG, BEAT_EV_WIN, q, &n, &why), RCV_FORGED);
    CHECK_REASON(why, "signature v1 not accepted");
    rcv_notice_cfg old = CFG;
    old.accept_v1 = true;
    CHECK_EQ_INT(check_why(&old, BEAT_EV_WIN, q, &n, &why), RCV_OK);
    CHECK_EQ_INT(n.version, 1);
    CHECK_EQ_INT(n.flags, 0);
    /* tampering is still caught */
    q[2] = 'B';
    CHECK_EQ_INT(check_why(&old, BEAT_EV_WIN, q, &n, &why), RCV_FORGED);
    CHECK_REASON(why, "bad signature");
    /* expiry, price, v1 with a (then unsigned) f: as before */
    query_v1(q, sizeof q, "A1", 2500000, NOW - 3600 * 1000 - 1, "1.0", NULL);
    CHECK_EQ_INT(check_why(&old, BEAT_EV_WIN, q, &n, &why), RCV_EXPIRED);
    query_v1(q, sizeof q, "A1", 2500000, NOW, "2.6", NULL);
    CHECK_EQ_INT(check_why(&old, BEAT_EV_WIN, q, &n, &why), RCV_PRICE);
    query_v1(q, sizeof q, "A1", 2500000, NOW, "1.0", NULL);
    char t[1100];
    snprintf(t, sizeof t, "f=1&%s", q);
    CHECK_EQ_INT(check_why(&old, BEAT_EV_WIN, t, &n, &why), RCV_MALFORMED);
    /* The risk that remains while v1 is accepted: v1 never signed the type,
     * so a v1 lurl re-typed to /bill still verifies (bounded by the signed
     * bid and the max age). */
    query_v1(q, sizeof q, "A1", 2500000, NOW, "1.0", "102");
    CHECK_EQ_INT(check_why(&old, BEAT_EV_LOSS, q, &n, &why), RCV_OK);
    CHECK_EQ_INT(check_why(&old, BEAT_EV_BILL, q, &n, &why), RCV_OK);
    CHECK_EQ_INT(check_why(&CFG, BEAT_EV_BILL, q, &n, &why), RCV_FORGED);
    return 0;
}

/* What an accepted notice becomes: real ones go to Kafka (here: no
 * producer, so every send shows up as a drop), test ones go nowhere and
 * only move their own counter; v1 ones are counted. */
static int t_accept_test_produces_nothing(void) {
    static rcv_events events;
    static rcv_notices s;
    rcv_events_init(&events, NULL);
    rcv_notices_init(&s, &CFG, &events);
    beat_buf scratch;
    beat_buf_init(&scratch, RCV_EVENT_MAX);
    /* Counters are process-wide (registered by name): compare deltas. */
    uint64_t sent0 = beat_counter_get(events.dropped) + beat_counter_get(events.encode_errors);
    uint64_t real0 = rcv_notices_accepted(&s), test0 = rcv_notices_test(&s);
    uint64_t tbill0 = beat_counter_get(s.test[BEAT_EV_BILL]);
    uint64_t v10 = beat_counter_get(s.v1);
    char q[2048];
    beat_notice n;
    beat_event_type types[] = {BEAT_EV_WIN, BEAT_EV_BILL, BEAT_EV_LOSS, BEAT_EV_IMP, BEAT_EV_CLICK};
    for (int k = 0; k < 5; k++) {
        beat_event_type t = types[k];
        bool priced = t == BEAT_EV_WIN || t == BEAT_EV_BILL || t == BEAT_EV_LOSS;
        bool click = t == BEAT_EV_CLICK;
        query_f(q, sizeof q, t, BEAT_NOTICE_F_TEST, "T1", 2500000, NOW, priced ? "1.0" : NULL, NULL,
                click ? "https://shop.example/" : NULL,
                click ? "https%3A%2F%2Fshop.example%2F" : NULL, NULL);
        CHECK_EQ_INT(check(t, q, &n), RCV_OK); /* answered exactly as a real one */
        CHECK_EQ_INT(n.flags, BEAT_NOTICE_F_TEST);
        CHECK_EQ_INT(rcv_notice_accept(&s, &n, NOW, &scratch), 0);
    }
    CHECK_EQ_INT(beat_counter_get(events.dropped) + beat_counter_get(events.encode_errors),
                 sent0); /* nothing was offered to Kafka */
    CHECK_EQ_INT(rcv_notices_test(&s), test0 + 5);
    CHECK_EQ_INT(beat_counter_get(s.test[BEAT_EV_BILL]), tbill0 + 1);
    CHECK_EQ_INT(rcv_notices_accepted(&s), real0);
    /* The same bill as real traffic is offered to Kafka. */
    query(q, sizeof q, BEAT_EV_BILL, "R1", 2500000, NOW, "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_BILL, q, &n), RCV_OK);
    CHECK(rcv_notice_accept(&s, &n, NOW, &scratch) < 0); /* no producer: not queued */
    CHECK_EQ_INT(beat_counter_get(events.dropped), sent0 + 1);
    CHECK_EQ_INT(rcv_notices_accepted(&s), real0); /* accepted = queued for Kafka */
    CHECK_EQ_INT(rcv_notices_test(&s), test0 + 5);
    CHECK_EQ_INT(beat_counter_get(s.v1), v10);
    /* A v1 notice accepted in the upgrade window is counted as such. */
    rcv_notice_cfg old = CFG;
    old.accept_v1 = true;
    beat_reason why;
    query_v1(q, sizeof q, "V1", 2500000, NOW, "1.0", NULL);
    CHECK_EQ_INT(check_why(&old, BEAT_EV_WIN, q, &n, &why), RCV_OK);
    rcv_notice_accept(&s, &n, NOW, &scratch);
    CHECK_EQ_INT(beat_counter_get(s.v1), v10 + 1);
    CHECK_EQ_INT(beat_counter_get(events.dropped), sent0 + 2);
    beat_buf_fini(&scratch);
    return 0;
}

static int t_time_and_price(void) {
    char q[1024];
    beat_notice n;
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW - 3600 * 1000 - 1, "1.0", NULL, NULL, NULL,
          NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_EXPIRED);
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW - 3600 * 1000, "1.0", NULL, NULL, NULL,
          NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_OK);
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW + 300 * 1000 + 1, "1.0", NULL, NULL, NULL,
          NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW, "2.500001", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_PRICE);
    query(q, sizeof q, BEAT_EV_BILL, "A1", 2500000, NOW, "2.500001", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_BILL, q, &n), RCV_PRICE);
    /* Test traffic gets the same answers. */
    query_f(q, sizeof q, BEAT_EV_BILL, BEAT_NOTICE_F_TEST, "A1", 2500000, NOW, "2.500001", NULL,
            NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_BILL, q, &n), RCV_PRICE);
    query_f(q, sizeof q, BEAT_EV_BILL, BEAT_NOTICE_F_TEST, "A1", 2500000, NOW - 3600 * 1000 - 1,
            "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_BILL, q, &n), RCV_EXPIRED);
    /* A loss notice carries the winner's price: above our bid is normal. */
    query(q, sizeof q, BEAT_EV_LOSS, "A1", 2500000, NOW, "9.0", "102", NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_LOSS, q, &n), RCV_OK);
    beat_event ev;
    rcv_notice_to_event(&n, NOW, &ev);
    CHECK_EQ_INT(ev.loss_code, 102);
    /* Unparsable price with a valid-looking signature: malformed. */
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW, "abc", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW, "${AUCTION_PRICE}", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    /* A win without a price is malformed (parse requires p). */
    query(q, sizeof q, BEAT_EV_WIN, "A1", 2500000, NOW, NULL, NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    /* A bid outside the schema's range, even if signed. */
    query(q, sizeof q, BEAT_EV_WIN, "A1", 1000000000001LL, NOW, "1.0", NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), RCV_MALFORMED);
    return 0;
}

static int t_click_landing(void) {
    char q[2048];
    beat_notice n;
    query(q, sizeof q, BEAT_EV_CLICK, "A1", 1, NOW, NULL, NULL, "https://shop.example/p?x=1",
          "https%3A%2F%2Fshop.example%2Fp%3Fx%3D1", NULL);
    CHECK_EQ_INT(check(BEAT_EV_CLICK, q, &n), RCV_OK);
    CHECK_EQ_STR(n.landing, "https://shop.example/p?x=1");
    query(q, sizeof q, BEAT_EV_CLICK, "A1", 1, NOW, NULL, NULL, "HTTP://shop.example/",
          "HTTP%3A%2F%2Fshop.example%2F", NULL);
    CHECK_EQ_INT(check(BEAT_EV_CLICK, q, &n), RCV_OK);
    static const char *const bad[][2] = {
        {"javascript:alert(1)", "javascript%3Aalert(1)"},
        {"data:text/html,x", "data%3Atext%2Fhtml%2Cx"},
        {"//evil.example/", "%2F%2Fevil.example%2F"},
        {"http:///nohost", "http%3A%2F%2F%2Fnohost"},
        {"https://a.example/\r\nSet-Cookie: x",
         "https%3A%2F%2Fa.example%2F%0D%0ASet-Cookie%3A%20x"},
        {"ftp://a.example/", "ftp%3A%2F%2Fa.example%2F"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        query(q, sizeof q, BEAT_EV_CLICK, "A1", 1, NOW, NULL, NULL, bad[i][0], bad[i][1], NULL);
        if (check(BEAT_EV_CLICK, q, &n) != RCV_MALFORMED) {
            fprintf(stderr, "  landing %s accepted\n", bad[i][0]);
            return 1;
        }
    }
    /* The landing is signed: changing it is forgery. */
    query(q, sizeof q, BEAT_EV_CLICK, "A1", 1, NOW, NULL, NULL, "https://shop.example/",
          "https%3A%2F%2Fevil.example%2F", NULL);
    CHECK_EQ_INT(check(BEAT_EV_CLICK, q, &n), RCV_FORGED);
    return 0;
}

/* Ids travel as JSON text: bytes that are not UTF-8 would be replaced in
 * the event, merging distinct auctions, so they are refused (400). */
static int t_ids_utf8(void) {
    char q[1024];
    beat_notice n;
    /* each signed over the decoded bytes, so only id_ok can refuse it */
    static const struct {
        const char *enc, *raw;
        rcv_reject want;
    } T[] = {
        {"%FF%FE", "\xff\xfe", RCV_MALFORMED},
        {"%C3%A9t%C3%A9", "\xc3\xa9t\xc3\xa9", RCV_OK},
        {"A%11", "A\x11", RCV_MALFORMED},
    };
    for (size_t k = 0; k < sizeof T / sizeof T[0]; k++) {
        char sig[BEAT_SIG_HEX + 1];
        beat_notice_fields f = {BEAT_EV_WIN, "",      0,   T[k].raw, "1",  "c1",
                                "",          2500000, NOW, NULL,     NULL, 0};
        CHECK_EQ_INT(beat_notice_sign(SECRET, sizeof SECRET - 1, &f, sig), 0);
        snprintf(q, sizeof q, "v=2&a=%s&i=1&c=c1&b=2500000&t=%" PRId64 "&p=1&s=%s", T[k].enc, NOW,
                 sig);
        CHECK_EQ_INT(check(BEAT_EV_WIN, q, &n), T[k].want);
        if (T[k].want == RCV_OK) CHECK_EQ_STR(n.auction, T[k].raw);
    }
    /* The exchange id is held to the same rule (events will carry it). */
    char sig[BEAT_SIG_HEX + 1];
    beat_notice_fields f = {BEAT_EV_WIN, "x\x01", 0,   "A1", "1",  "c1",
                            "",          2500000, NOW, NULL, NULL, 0};
    CHECK_EQ_INT(beat_notice_sign(SECRET, sizeof SECRET - 1, &f, sig), 0);
    snprintf(q, sizeof q, "v=2&x=x%%01&a=A1&i=1&c=c1&b=2500000&t=%" PRId64 "&p=1&s=%s", NOW, sig);
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

/* A price is counted in USD micros: converted from cur, or without one from
 * the currency the bid was made in (bc, signed; absent: USD). A currency
 * with no rate is refused (400 "currency"), never counted as if USD. */
static int t_currency(void) {
    beat_fx fx;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_fx_parse("EUR=1.08,GBP=1.27", &fx, &why), 0);
    rcv_notice_cfg cfg = CFG;
    cfg.fx = &fx;
    char q[2048], sig[BEAT_SIG_HEX + 1];
    beat_notice n;
    static const struct {
        const char *cur;
        const char *p;
        int64_t usd;
        rcv_reject r;
    } T[] = {
        {"USD", "2", 2000000, RCV_OK}, {"EUR", "2", 2160000, RCV_OK},
        {"eur", "2", 2160000, RCV_OK}, {"GBP", "1.5", 1905000, RCV_OK},
        {"", "2", 2000000, RCV_OK}, /* no cur, bid in USD: USD */
        {"XYZ", "2", 0, RCV_CURRENCY}, {"EURO", "2", 0, RCV_CURRENCY},
        {"EUR", "2.5", 0, RCV_PRICE}, /* 2.70 USD: above the 2.5 USD bid */
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        beat_notice_fields nf = {BEAT_EV_WIN, "",      0,   "A1", "1",  "c1",
                                 "",          2500000, NOW, NULL, NULL, 0};
        beat_notice_sign(SECRET, sizeof SECRET - 1, &nf, sig);
        snprintf(q, sizeof q, "v=2&a=A1&i=1&c=c1&b=2500000&t=%" PRId64 "&p=%s&cur=%s&s=%s", NOW,
                 T[i].p, T[i].cur, sig);
        rcv_reject r = check_why(&cfg, BEAT_EV_WIN, q, &n, &why);
        if (r != T[i].r) fprintf(stderr, "  case %zu: %s\n", i, why.msg);
        CHECK_EQ_INT(r, T[i].r);
        if (r == RCV_OK) {
            CHECK_EQ_INT(n.price_cpm_micros, T[i].usd);
            CHECK_EQ_STR(n.currency, "USD");
        }
        if (r == RCV_CURRENCY) CHECK_REASON(why, "unknown currency");
    }
    CHECK_EQ_INT(rcv_reject_status(RCV_CURRENCY), 400);
    CHECK_EQ_STR(rcv_reject_name(RCV_CURRENCY), "currency");
    /* no table at all: USD only, EUR refused */
    snprintf(q, sizeof q, "v=2&a=A1&i=1&c=c1&b=2500000&t=%" PRId64 "&p=2&cur=EUR&s=%s", NOW, sig);
    CHECK_EQ_INT(check_why(&CFG, BEAT_EV_WIN, q, &n, &why), RCV_CURRENCY);
    /* a bid made in EUR (bc signed), the price without cur: EUR */
    beat_notice_fields nf = {BEAT_EV_BILL, "",      0,   "A1", "1",   "c1",
                             "",           2500000, NOW, NULL, "EUR", 0};
    beat_notice_sign(SECRET, sizeof SECRET - 1, &nf, sig);
    snprintf(q, sizeof q, "v=2&a=A1&i=1&c=c1&b=2500000&bc=EUR&t=%" PRId64 "&p=2&s=%s", NOW, sig);
    CHECK_EQ_INT(check_why(&cfg, BEAT_EV_BILL, q, &n, &why), RCV_OK);
    CHECK_EQ_INT(n.price_cpm_micros, 2160000);
    /* ...with bc removed the signature fails: no silent USD */
    snprintf(q, sizeof q, "v=2&a=A1&i=1&c=c1&b=2500000&t=%" PRId64 "&p=2&s=%s", NOW, sig);
    CHECK_EQ_INT(check_why(&cfg, BEAT_EV_BILL, q, &n, &why), RCV_FORGED);
    /* a loss in an unknown currency with a price is refused; without one, fine */
    nf.type = BEAT_EV_LOSS;
    nf.bid_cur = NULL;
    beat_notice_sign(SECRET, sizeof SECRET - 1, &nf, sig);
    snprintf(q, sizeof q, "v=2&a=A1&i=1&c=c1&b=2500000&t=%" PRId64 "&p=9&cur=XYZ&l=102&s=%s", NOW,
             sig);
    CHECK_EQ_INT(check_why(&cfg, BEAT_EV_LOSS, q, &n, &why), RCV_CURRENCY);
    snprintf(q, sizeof q, "v=2&a=A1&i=1&c=c1&b=2500000&t=%" PRId64 "&p=&cur=XYZ&l=102&s=%s", NOW,
             sig);
    CHECK_EQ_INT(check_why(&cfg, BEAT_EV_LOSS, q, &n, &why), RCV_OK);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"valid_win_and_event", t_valid_win_and_event},
        {"signature", t_signature},
        {"retyped", t_retyped},
        {"v1_window", t_v1_window},
        {"accept_test_produces_nothing", t_accept_test_produces_nothing},
        {"time_and_price", t_time_and_price},
        {"click_landing", t_click_landing},
        {"ids_utf8", t_ids_utf8},
        {"status_names", t_status_names},
        {"currency", t_currency},
        {NULL, NULL},
    };
    return beat_test_main("receiver_notices", cases, argc, argv);
}
